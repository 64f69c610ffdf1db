"""wp_mail(): WordPress's ``wp_mail()`` arguments and rules, building a :class:`Message`."""

from __future__ import annotations

from typing import Callable, Dict, Iterable, Mapping, Optional, Union

from . import _ffi
from ._constants import WpValue
from ._ffi import call, call_out, enc, enc_opt, enc_path
from .message import Message

#: WordPress filter name -> the value it filters, in the order wp_mail() applies them.
FILTERS = {
    "wp_mail_from": WpValue.FROM_EMAIL,
    "wp_mail_from_name": WpValue.FROM_NAME,
    "wp_mail_content_type": WpValue.CONTENT_TYPE,
    "wp_mail_charset": WpValue.CHARSET,
}


class WpMail(_ffi.Handle):
    """One ``wp_mail()`` call, step by step, for code that runs WordPress-style filters between
    parsing and building: fill it, read :meth:`parsed` values, :meth:`override` them, then
    :meth:`build`. :func:`wp_mail` does all of it in one call."""

    _free_name = "mailport_wp_mail_free"

    def __init__(self) -> None:
        super().__init__(_ffi.invoke("mailport_wp_mail_new"))

    def add_to(self, to: str) -> "WpMail":
        """Add to ``$to``: one address or a comma-separated list (quoted commas do not split)."""
        call("mailport_wp_mail_add_to", self._handle(), enc(to, "to"))
        return self

    def set_subject(self, subject: str) -> "WpMail":
        call("mailport_wp_mail_set_subject", self._handle(), enc(subject, "subject"))
        return self

    def set_message(self, message: str) -> "WpMail":
        call("mailport_wp_mail_set_message", self._handle(), enc(message, "message"))
        return self

    def add_headers(self, headers: str) -> "WpMail":
        """Add ``Name: value`` lines separated by LF or CRLF (WordPress's string form)."""
        call("mailport_wp_mail_add_headers", self._handle(), enc(headers, "headers"))
        return self

    def add_header(self, header: str) -> "WpMail":
        """Add one element of WordPress's list form: exactly one header. A line break inside
        raises ``InvalidArgumentError`` instead of adding headers or recipients."""
        call("mailport_wp_mail_add_header", self._handle(), enc(header, "header"))
        return self

    def add_attachment(self, path, name: Optional[str] = None) -> "WpMail":
        """Add a file, shown as ``name`` or by its own file name."""
        call(
            "mailport_wp_mail_add_attachment",
            self._handle(),
            enc_path(path, "attachment"),
            enc_opt(name, "attachment name"),
        )
        return self

    def add_embed(self, content_id: str, path) -> "WpMail":
        """Add an inline file shown by the HTML body as ``<img src="cid:CONTENT_ID">``."""
        call(
            "mailport_wp_mail_add_embed",
            self._handle(),
            enc(content_id, "embed content id"),
            enc_path(path, "embed"),
        )
        return self

    def set_site_domain(self, domain: str) -> "WpMail":
        """The site's host name: From defaults to ``wordpress@<domain>`` (without "www.")."""
        call("mailport_wp_mail_set_site_domain", self._handle(), enc(domain, "site_domain"))
        return self

    def set_default_from(self, email: Optional[str] = None, name: Optional[str] = None) -> "WpMail":
        """The sender when there is no From header (None: WordPress's defaults)."""
        call(
            "mailport_wp_mail_set_default_from",
            self._handle(),
            enc_opt(email, "default_from"),
            enc_opt(name, "default_from_name"),
        )
        return self

    def set_default_charset(self, charset: str) -> "WpMail":
        call("mailport_wp_mail_set_default_charset", self._handle(), enc(charset, "charset"))
        return self

    def set_default_content_type(self, content_type: str) -> "WpMail":
        call(
            "mailport_wp_mail_set_default_content_type",
            self._handle(),
            enc(content_type, "content_type"),
        )
        return self

    def parsed(self, which: WpValue) -> str:
        """The value WordPress's header parsing gives for ``which`` (what its filter receives)."""
        data = _ffi.copy_out(
            "mailport_wp_mail_parsed_value", self._handle(), int(which), nul=True
        )
        return data.decode("utf-8")

    def override(self, which: WpValue, value: Optional[str]) -> "WpMail":
        """Use ``value`` instead of the parsed value (what the filter returned); None undoes it."""
        call(
            "mailport_wp_mail_override",
            self._handle(),
            int(which),
            enc_opt(value, "override value"),
        )
        return self

    def build(self) -> Message:
        """Build the message as ``wp_mail()`` would; every invalid address of the call is listed
        in one ``InvalidAddressError``."""
        return Message._from_ptr(call_out("mailport_wp_mail_build", self._handle()))


def wp_mail(
    to: Union[str, Iterable[str]],
    subject: str,
    message: str,
    headers: Union[str, Iterable[str]] = "",
    attachments: Union[str, Iterable, Mapping[str, str]] = (),
    embeds: Optional[Mapping[str, str]] = None,
    *,
    site_domain: Optional[str] = None,
    default_from: Optional[str] = None,
    default_from_name: Optional[str] = "WordPress",
    charset: Optional[str] = None,
    content_type: Optional[str] = None,
    filters: Optional[Mapping[Union[str, WpValue], Callable[[str], str]]] = None,
) -> Message:
    """Build a :class:`Message` from WordPress's ``wp_mail()`` arguments, with its rules.

    ``to``: an address, a comma-separated list (``"Doe, John" <j@x>`` stays one recipient) or a
    list. ``headers``: ``"Name: value"`` lines in one string, or a list with one header per item
(an item holding a line break raises ``InvalidArgumentError``, as a contact form's visitor
could otherwise add recipients); From, Cc, Bcc,
    Reply-To and Content-Type (with charset and boundary) are recognised in any case, others
    passed through. ``attachments``: paths (a list, or one string with one path per line), or a
    dict ``{name: path}``. ``embeds``: ``{content_id: path}`` (WordPress 6.9).

    The site's defaults: ``site_domain`` (From is ``wordpress@<domain>`` without a From header;
    default "localhost"), ``default_from`` / ``default_from_name``, ``charset`` (``blog_charset``,
    default "UTF-8") and ``content_type`` (default "text/plain"). ``filters`` maps
    ``"wp_mail_from"``, ``"wp_mail_from_name"``, ``"wp_mail_content_type"`` and
    ``"wp_mail_charset"`` (or a :class:`WpValue`) to a function from the parsed value to the value
    to use, as WordPress's filters do.

    Send the result with ``Client.send``.
    """
    with WpMail() as wp:
        for address in [to] if isinstance(to, str) else to:
            wp.add_to(address)
        wp.set_subject(subject)
        wp.set_message(message)
        if isinstance(headers, str):
            wp.add_headers(headers)
        else:
            for header in headers:
                wp.add_header(header)
        if isinstance(attachments, str):
            attachments = [line for line in attachments.replace("\r\n", "\n").split("\n") if line]
        if isinstance(attachments, Mapping):
            for name, path in attachments.items():
                wp.add_attachment(path, name if isinstance(name, str) else None)
        else:
            for path in attachments:
                wp.add_attachment(path)
        for content_id, path in (embeds or {}).items():
            wp.add_embed(content_id, path)
        if site_domain is not None:
            wp.set_site_domain(site_domain)
        if default_from is not None or default_from_name != "WordPress":
            wp.set_default_from(default_from, default_from_name)
        if charset is not None:
            wp.set_default_charset(charset)
        if content_type is not None:
            wp.set_default_content_type(content_type)
        if filters:
            chosen: Dict[WpValue, Callable[[str], str]] = {}
            for key, function in filters.items():
                if isinstance(key, str):
                    if key not in FILTERS:
                        raise KeyError(
                            f"unknown wp_mail filter {key!r}; known: {', '.join(FILTERS)}"
                        )
                    key = FILTERS[key]
                chosen[WpValue(key)] = function
            for which in FILTERS.values():
                if which in chosen:
                    wp.override(which, chosen[which](wp.parsed(which)))
        return wp.build()


__all__ = ["wp_mail", "WpMail", "WpValue"]
