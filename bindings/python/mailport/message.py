"""Message: an email with addresses, subject, bodies, headers, attachments and inline images."""

from __future__ import annotations

import datetime
import io
import os
import socket
from typing import Iterable, Optional, Tuple, Union

from . import _ffi
from ._constants import AddressField
from ._ffi import call, call_out, data_bytes, enc, enc_opt, enc_path

#: An address argument: "a@example.org", "Name <a@example.org>", a comma-separated list of
#: those, a ``(name, address)`` pair (the name may hold commas, quotes or any Unicode), or a
#: list of any of these.
Addresses = Union[str, Tuple[str, str], Iterable[Union[str, Tuple[str, str]]]]


def _address_items(values) -> list:
    """Flatten address arguments into ``str`` (a mailbox or a list, for the text setters) and
    ``(name, address)`` pairs (for ``mailport_message_add_mailbox_parts``, which needs no
    quoting)."""
    items = []
    for value in values:
        if isinstance(value, (str, bytes)):
            items.append(value)
        elif (
            isinstance(value, tuple)
            and len(value) == 2
            and all(isinstance(part, str) or part is None for part in value)
        ):
            items.append(value)
        elif isinstance(value, Iterable):
            items.extend(_address_items(value))
        else:
            raise TypeError(
                "an address must be a str, a (name, address) pair or a list of them, "
                f"not {type(value).__name__}"
            )
    return items


class Message(_ffi.Handle):
    """An email message, built with chainable methods that each return ``self``::

        msg = (Message().from_("Alice <alice@example.com>").to("bob@example.org")
               .subject("Report").text("Attached.").attach_file("q3.pdf"))

    Each method checks its value at once (a bad address raises ``InvalidAddressError`` in
    ``to()``, a line break in a header ``InvalidArgumentError`` in ``header()``); only what
    concerns the whole message (a From, a recipient) is checked by ``render()`` and sends.
    Keywords of the constructor call the methods of the same name: ``Message(from_=...,
    to=..., subject=..., text=...)``.

    Thread safety: a Message may be sent or rendered by several threads at once, but must not be
    changed while anyone reads it.
    """

    _free_name = "mailport_message_free"

    def __init__(
        self,
        *,
        from_=None,
        to=None,
        cc=None,
        bcc=None,
        reply_to=None,
        subject: Optional[str] = None,
        text: Optional[str] = None,
        html: Optional[str] = None,
        headers=None,
        attachments: Iterable = (),
    ) -> None:
        super().__init__(_ffi.invoke("mailport_message_new"))
        if from_ is not None:
            self.from_(from_)
        for method, value in ((self.to, to), (self.cc, cc), (self.bcc, bcc)):
            if value is not None:
                method(value)
        if reply_to is not None:
            self.reply_to(reply_to)
        if subject is not None:
            self.subject(subject)
        if text is not None:
            self.text(text)
        if html is not None:
            self.html(html)
        if headers:
            items = headers.items() if hasattr(headers, "items") else headers
            for name, value in items:
                self.header(name, value)
        for attachment in attachments:
            self._attach_any(attachment)

    @classmethod
    def _from_ptr(cls, ptr) -> "Message":
        """Wrap a ``mailport_message *`` the caller owns (from clone or wp_mail_build)."""
        self = cls.__new__(cls)
        _ffi.Handle.__init__(self, ptr)
        return self

    # -- addresses -------------------------------------------------------------------------

    def from_(self, mailbox, name: Optional[str] = None) -> "Message":
        """Set the author: ``"a@example.org"``, ``"Name <a@example.org>"``, or an address with
        ``name=`` (or a ``(name, address)`` pair), where the name needs no quoting. Also the
        envelope sender unless :meth:`envelope_from` says otherwise."""
        if isinstance(mailbox, tuple) and name is None:
            name, mailbox = mailbox
        if name is not None:
            call(
                "mailport_message_set_from_parts",
                self._handle(),
                enc(name, "from name"),
                enc(mailbox, "from"),
            )
        else:
            call("mailport_message_set_from", self._handle(), enc(mailbox, "from"))
        return self

    def to(self, *addresses: Addresses) -> "Message":
        """Add To recipients (see :data:`Addresses`). Also recipients of the envelope."""
        return self._add("mailport_message_add_to", AddressField.TO, "to", addresses)

    def cc(self, *addresses: Addresses) -> "Message":
        """Add Cc recipients."""
        return self._add("mailport_message_add_cc", AddressField.CC, "cc", addresses)

    def bcc(self, *addresses: Addresses) -> "Message":
        """Add Bcc recipients: they get the message but appear in no header."""
        return self._add("mailport_message_add_bcc", AddressField.BCC, "bcc", addresses)

    def reply_to(self, *addresses: Addresses) -> "Message":
        """Add Reply-To addresses."""
        return self._add(
            "mailport_message_add_reply_to", AddressField.REPLY_TO, "reply_to", addresses
        )

    def _add(self, function: str, field: AddressField, name: str, addresses) -> "Message":
        ptr = self._handle()
        for item in _address_items(addresses):
            if isinstance(item, tuple):
                display, address = item
                call(
                    "mailport_message_add_mailbox_parts",
                    ptr,
                    field,
                    enc_opt(display or None, name + " name"),
                    enc(address, name),
                )
            else:
                call(function, ptr, enc(item, name))
        return self

    def sender(self, mailbox: str) -> "Message":
        """Set the Sender header: who sent the message on the author's behalf."""
        call("mailport_message_set_sender", self._handle(), enc(mailbox, "sender"))
        return self

    def envelope_from(self, address: str) -> "Message":
        """Set the envelope sender (MAIL FROM, where bounces go) when it differs from From; ""
        is the null sender."""
        call(
            "mailport_message_set_envelope_from",
            self._handle(),
            enc(address, "envelope_from"),
        )
        return self

    # -- headers ---------------------------------------------------------------------------

    def subject(self, subject: str) -> "Message":
        """Set the Subject (any Unicode; encoded and folded when rendered)."""
        call("mailport_message_set_subject", self._handle(), enc(subject, "subject"))
        return self

    def date(self, when: Union[int, float, datetime.datetime]) -> "Message":
        """Set the Date: seconds since the epoch or a datetime (naive means local time).
        Without it, the time of sending."""
        if isinstance(when, datetime.datetime):
            seconds = int(when.timestamp())
        elif isinstance(when, (int, float)) and not isinstance(when, bool):
            seconds = int(when)
        else:
            raise TypeError(f"date must be a datetime or a number, not {type(when).__name__}")
        call("mailport_message_set_date", self._handle(), seconds)
        return self

    def message_id(self, message_id: str) -> "Message":
        """Set the Message-ID (``<unique@domain>``; brackets optional). Without it a random one
        is made at each send; the receipt says which."""
        call(
            "mailport_message_set_message_id",
            self._handle(),
            enc(message_id, "message_id"),
        )
        return self

    def header(self, name: str, value: str) -> "Message":
        """Add a header of your own (``X-Campaign``, ``List-Unsubscribe``, ``In-Reply-To``).
        Headers mailport writes itself (From, To, Subject, ...) are refused: use their methods."""
        call(
            "mailport_message_add_header",
            self._handle(),
            enc(name, "header name"),
            enc(value, f"header {name}"),
        )
        return self

    def remove_header(self, name: str) -> int:
        """Remove every header added under ``name`` (any case); return how many were removed."""
        return int(
            _ffi.invoke("mailport_message_remove_header", self._handle(), enc(name, "header name"))
        )

    # -- bodies ----------------------------------------------------------------------------

    def text(self, text: str, media_type: Optional[str] = None) -> "Message":
        """Set the plain-text body, or a body of another text type with ``media_type``
        (``"text/calendar"``). With an HTML body too, both are sent as alternatives."""
        if media_type is None:
            call("mailport_message_set_text", self._handle(), enc(text, "text"))
        else:
            call(
                "mailport_message_set_text_as",
                self._handle(),
                enc(media_type, "media_type"),
                enc(text, "text"),
            )
        return self

    def html(self, html: str) -> "Message":
        """Set the HTML body; inline images are added with :meth:`embed_file` /
        :meth:`embed_bytes` and shown as ``<img src="cid:ID">``."""
        call("mailport_message_set_html", self._handle(), enc(html, "html"))
        return self

    def mime_body(self, content_type: str, body) -> "Message":
        """Set a body already in MIME form, sent as is under ``content_type`` (replaces the text
        and HTML bodies)."""
        data = data_bytes(body, "body")
        call(
            "mailport_message_set_mime_body",
            self._handle(),
            enc(content_type, "content_type"),
            data,
            len(data),
        )
        return self

    def charset(self, label: str) -> "Message":
        """Set the charset of the text and HTML bodies: "UTF-8" (default), "US-ASCII" or
        "ISO-8859-1"."""
        call("mailport_message_set_charset", self._handle(), enc(label, "charset"))
        return self

    # -- attachments -----------------------------------------------------------------------

    def attach_file(
        self, path, filename: Optional[str] = None, content_type: Optional[str] = None
    ) -> "Message":
        """Attach a file by path: checked now, read (in chunks) while sending. ``filename``
        defaults to the file's name, ``content_type`` to a guess from the extension."""
        call(
            "mailport_message_attach_file",
            self._handle(),
            enc_path(path, "path"),
            enc_opt(filename, "filename"),
            enc_opt(content_type, "content_type"),
        )
        return self

    def attach_bytes(self, data, filename: str, content_type: Optional[str] = None) -> "Message":
        """Attach bytes held in memory under ``filename``."""
        payload = data_bytes(data, "data")
        call(
            "mailport_message_attach_bytes",
            self._handle(),
            enc(filename, "filename"),
            enc_opt(content_type, "content_type"),
            payload,
            len(payload),
        )
        return self

    def embed_file(self, content_id: str, path, content_type: Optional[str] = None) -> "Message":
        """Add a file the HTML body shows inline as ``<img src="cid:CONTENT_ID">``."""
        call(
            "mailport_message_embed_file",
            self._handle(),
            enc(content_id, "content_id"),
            enc_path(path, "path"),
            enc_opt(content_type, "content_type"),
        )
        return self

    def embed_bytes(
        self, content_id: str, data, filename: str, content_type: Optional[str] = None
    ) -> "Message":
        """Add bytes the HTML body shows inline as ``<img src="cid:CONTENT_ID">``."""
        payload = data_bytes(data, "data")
        call(
            "mailport_message_embed_bytes",
            self._handle(),
            enc(content_id, "content_id"),
            enc(filename, "filename"),
            enc_opt(content_type, "content_type"),
            payload,
            len(payload),
        )
        return self

    def _attach_any(self, attachment) -> None:
        """A path, or a ``(filename, data)`` / ``(filename, data, content_type)`` tuple."""
        if isinstance(attachment, tuple):
            self.attach_bytes(attachment[1], attachment[0], *attachment[2:])
        else:
            self.attach_file(attachment)

    # -- output ----------------------------------------------------------------------------

    def render(self) -> bytes:
        """The message as RFC 5322 bytes (CRLF line endings), as it would be sent to a server
        without SMTPUTF8; Bcc does not appear. For dry runs, tests and ``.eml`` files.

        Rendered once, by mailport, straight into the storage of the ``bytes`` returned (on
        CPython; elsewhere into a native buffer copied once): memory peaks at the message's
        size. To write a large message to a file or a socket, ``render_to`` streams it in
        bounded memory instead."""
        return _ffi.render_bytes(self._handle())

    def render_to(self, file) -> int:
        """Write the message (the bytes ``render()`` gives) to ``file`` and return how many
        bytes were written. Memory stays bounded whatever the attachments' size: they are read
        and encoded a chunk at a time.

        ``file`` may be:

        - a path (``str`` or ``os.PathLike``): created or truncated, written, closed;
        - a binary file opened for writing (``open(path, "wb")``, a ``socket.socket``): its
          buffer is flushed, then mailport writes straight to its file descriptor with
          ``write(2)``, with no Python call per chunk; the position advances;
        - any other object with ``write(bytes)`` (``io.BytesIO``, ``gzip.GzipFile``, a hash
          wrapper): called with each piece (``bytes`` of at most about 80 KB), copied once per
          piece so it may keep them. An exception it raises stops the rendering and propagates.

        A text-mode file is refused (``TypeError``): the message is bytes. Write errors raise
        ``NetworkError`` (an ``OSError``) whose message names the descriptor and the errno, such
        as ``writing to fd 5 failed with ENOSPC``; a pipe whose reader is gone gives ``EPIPE``,
        never a SIGPIPE.
        """
        return _render_to(self._handle(), file)

    def rendered_size(self) -> int:
        """The exact length of ``render()``'s bytes for the message as it is now, measured
        without reading any attachment (base64 of a known length has a known length). Date,
        Message-ID and boundaries have fixed widths, so the length holds until the message or
        an attachment file changes."""
        return _ffi.rendered_size(self._handle())

    def render_into(self, buffer) -> int:
        """Render the message straight into a writable buffer the caller owns (a
        ``bytearray``, an ``mmap``, a writable ``memoryview``), with no copy at all, and return
        its length: with ``rendered_size()`` this is the zero-copy path, e.g.
        ``buf = bytearray(msg.rendered_size()); msg.render_into(buf)``.

        Raises ``InvalidArgumentError`` (a ``ValueError``) naming both sizes when the buffer
        is too small (it then holds the start of the message), ``TypeError`` when it is
        read-only or not a contiguous buffer."""
        return _ffi.render_into(self._handle(), buffer)

    def copy(self) -> "Message":
        """An independent copy, e.g. to send variants."""
        return Message._from_ptr(call_out("mailport_message_clone", self._handle()))

    __copy__ = copy

    def __deepcopy__(self, memo) -> "Message":
        return self.copy()


def _render_to(handle, file) -> int:
    if isinstance(file, (str, bytes, os.PathLike)):
        with open(file, "wb") as f:
            return _ffi.render_to_fd(handle, f.fileno())
    if isinstance(file, io.TextIOBase):
        raise TypeError(
            "render_to needs a binary file: the message is bytes; open it with mode 'wb' "
            "(or pass its .buffer)"
        )
    # Only objects whose descriptor *is* the destination: a GzipFile or a TextIOWrapper also
    # have fileno(), but writing past them would skip their compression or encoding.
    if isinstance(file, (io.FileIO, io.BufferedWriter, io.BufferedRandom, socket.socket)):
        if isinstance(file, (io.BufferedWriter, io.BufferedRandom)):
            file.flush()  # what was written before must come first
        return _ffi.render_to_fd(handle, file.fileno())
    write = getattr(file, "write", None)
    if not callable(write):
        raise TypeError(
            "render_to needs a path, a binary file or an object with a write(bytes) method, "
            f"not {type(file).__name__}"
        )
    return _ffi.render_to_writer(handle, write)


__all__ = ["Message", "Addresses"]
