"""Config: server, security, credentials, trust, timeouts and logging for a Client."""

from __future__ import annotations

from typing import Callable, Iterable, Optional, Union

from . import _ffi, _oauth
from ._constants import PORT_AUTO, SECURITY_NAMES, LogKind, Security
from ._ffi import call, call_out, enc, enc_opt, enc_path, invalid_argument

LogFunction = Callable[[Union[LogKind, int], str], None]

_UNSET = object()


class Config(_ffi.Handle):
    """Everything a Client needs: the server, security, credentials, trust, timeouts, logging.

    ``Config(host="smtp.example.com", username="me@example.com", password="…")`` gives the safe
    defaults for the rest: port 587 with STARTTLS required, certificates verified against the
    system's trust store (Mozilla's roots where it has none), credentials never sent over
    plaintext. Every keyword
    calls the matching C setter, which checks the value at once (``InvalidArgumentError`` names
    it). ``Config.from_url("smtps://user:pass@host")`` parses a URL and takes the same keywords.

    Keywords (all optional; timeouts in seconds):

    - ``host``; ``port``: 1-65535, or ``"auto"`` (:data:`PORT_AUTO`): try 587, 465 and 2525 on
      first use and keep the one that works; ``security``: ``"auto"`` (by port), ``"starttls"``,
      ``"tls"`` (implicit, port 465), ``"opportunistic"``, ``"none"``, or a :class:`Security`.
    - ``username`` with one way to log in: ``password`` (AUTH PLAIN/LOGIN); ``oauth2_token``, a
      fixed OAuth 2.0 access token (XOAUTH2, or OAUTHBEARER where only it is offered); an OAuth
      2.0 refresh grant, whose keywords are given together in one call: ``oauth_provider``
      (``"google"``, ``"microsoft"`` or ``"custom"``), ``oauth_client_id``,
      ``oauth_client_secret`` (none for a public client), ``oauth_refresh_token``,
      ``oauth_tenant`` (Microsoft; default ``"common"``), ``oauth_token_url`` (required for
      ``"custom"``; overrides a preset), ``oauth_scope`` (overrides the preset) and
      ``oauth_rotation_callback(username, refresh_token)``, which receives each new refresh
      token the endpoint rotates (store it: the old one stops working); or
      ``oauth_token_callback(username, previous_refused)`` returning an access token or
      ``(token, expires_in_seconds)``. See the README's OAuth section.
    - ``auth_mechanism``: ``"auto"`` (the default), ``"xoauth2"``, ``"oauthbearer"``,
      ``"plain"`` or ``"login"``.
    - ``helo_name``; ``connect_timeout``, ``command_timeout``, ``data_timeout``,
      ``send_timeout`` (defaults 10, 30, 40 and 45 s, so a send made in a web request ends
      before the web server's own 60 s limit; raise them for batch work).
    - ``ca_file`` / ``ca_files`` (PEM files of a private CA), ``ca_pem`` (PEM bytes or str, or a
      list of them), ``webpki_roots``, ``system_roots`` (bool), ``tls_server_name``.
    - ``allow_partial_recipients``, ``allow_relay``, ``transcript_bodies`` (bool).
    - ``persistent`` (bool) and ``pool_idle_timeout`` (seconds, default 60): keep the
      authenticated session in a process-wide pool for the next client with the same settings.
    - ``dangerous_accept_invalid_certs``, ``dangerous_allow_plaintext_auth``: for tests against
      throwaway servers only.
    - ``log``: a function ``log(kind, line)`` called with each transcript line (already
      redacted) while a client made from this config works; see :meth:`set_log`.

    Thread safety: a Config may be read by many threads at once (several ``Client(config)``),
    but must not be changed (``update``, ``set_log``, ``add_ca_*``) while anyone reads it.
    """

    _free_name = "mailport_config_free"

    def __init__(self, host: Optional[str] = None, port=None, **options) -> None:
        super().__init__(_ffi.invoke("mailport_config_new"))
        self._log = None  # (function, CFUNCTYPE object) while a log callback is set
        self._oauth = {}  # "rotation"/"token" -> (function, CFUNCTYPE object) while set
        _declare_python(self)
        self.update(host=host, port=port, **options)

    @classmethod
    def from_url(cls, url: str, **options) -> "Config":
        """Parse ``smtp://``, ``smtps://``, ``smtp+starttls://`` or ``smtp+plain://`` URLs,
        optionally with ``user[:password]@`` (percent-encoded) and the port ``auto``; then apply
        ``options`` as in the constructor. A ``password=`` without ``username=`` is the
        password of the URL's user (``smtp://me%40example.com@host``), so the password need not
        be written into the URL."""
        out = call_out("mailport_config_from_url", enc(url, "url"))
        self = cls.__new__(cls)
        _ffi.Handle.__init__(self, out)
        self._log = None
        self._oauth = {}
        _declare_python(self)
        self.update(**options)
        return self

    def update(
        self,
        host: Optional[str] = None,
        port=None,
        *,
        security=None,
        username: Optional[str] = None,
        password: Optional[str] = None,
        oauth2_token: Optional[str] = None,
        oauth_provider: Optional[str] = None,
        oauth_client_id: Optional[str] = None,
        oauth_client_secret: Optional[str] = None,
        oauth_refresh_token: Optional[str] = None,
        oauth_tenant: Optional[str] = None,
        oauth_token_url: Optional[str] = None,
        oauth_scope: Optional[str] = None,
        oauth_rotation_callback: Optional[_oauth.RotationFunction] = None,
        oauth_token_callback: Optional[_oauth.TokenFunction] = None,
        auth_mechanism: Optional[str] = None,
        helo_name: Optional[str] = None,
        connect_timeout: Optional[float] = None,
        command_timeout: Optional[float] = None,
        data_timeout: Optional[float] = None,
        send_timeout: Optional[float] = None,
        ca_file=None,
        ca_files: Iterable = (),
        ca_pem=None,
        webpki_roots: Optional[bool] = None,
        system_roots: Optional[bool] = None,
        tls_server_name: Optional[str] = None,
        allow_partial_recipients: Optional[bool] = None,
        allow_relay: Optional[bool] = None,
        transcript_bodies: Optional[bool] = None,
        persistent: Optional[bool] = None,
        pool_idle_timeout: Optional[float] = None,
        dangerous_accept_invalid_certs: Optional[bool] = None,
        dangerous_allow_plaintext_auth: Optional[bool] = None,
        log=_UNSET,
    ) -> "Config":
        """Change settings; takes the constructor's keywords. ``None`` leaves a setting as it
        is. Returns self.

        The way to log in is replaced as a whole: a password, an ``oauth2_token``, a refresh
        grant (all its ``oauth_*`` keywords in one call) or an ``oauth_token_callback``."""
        local = locals()
        refresh = {k: local[k] for k in _oauth.REFRESH_KEYWORDS if local[k] is not None}
        source = _oauth.check_sources(password, oauth2_token, refresh, oauth_token_callback)
        if username is not None and source is None:
            # Most often os.environ.get() of a variable that is not set.
            raise invalid_argument(
                f"the password is missing (password=None) for username={username!r}: was the "
                "environment variable that should hold it set?",
                "os.environ.get() returns None for a variable that is not set: set it where the "
                "program runs (for a service, in its unit or pool configuration, not only in your "
                "shell), or log in with OAuth (oauth_refresh_token= and its provider and client, "
                "oauth_token_callback= or oauth2_token=) instead of a password",
            )
        cfg = self._handle()
        if host is not None:
            call("mailport_config_set_host", cfg, enc(host, "host"))
        if port is not None:
            call("mailport_config_set_port", cfg, _port_value(port))
        if security is not None:
            call("mailport_config_set_security", cfg, _security_value(security))
        if source == "refresh":
            rotation = _oauth.set_refresh_grant(cfg, username, refresh)
            self._oauth = {} if rotation is None else {"rotation": rotation}
        elif source == "callback":
            self._oauth = {"token": _oauth.set_token_callback(cfg, username, oauth_token_callback)}
        elif oauth2_token is not None:
            call(
                "mailport_config_set_oauth2_token",
                cfg,
                enc_opt(username, "username"),
                enc(oauth2_token, "oauth2_token"),
            )
        elif password is not None and username is None:
            # The password of the user the config already has (from a URL): the library says
            # when there is none.
            call("mailport_config_set_password", cfg, enc(password, "password"))
        elif username is not None:
            call(
                "mailport_config_set_credentials",
                cfg,
                enc(username, "username"),
                enc(password, "password"),
            )
        if source in ("password", "oauth2_token"):
            # The library dropped the callbacks with the credentials they belonged to; clients
            # made before keep their own references.
            self._oauth = {}
        if auth_mechanism is not None:
            _oauth.set_auth_mechanism(cfg, auth_mechanism)
        if helo_name is not None:
            call("mailport_config_set_helo_name", cfg, enc(helo_name, "helo_name"))
        for value, setter, name in (
            (connect_timeout, "mailport_config_set_connect_timeout_ms", "connect_timeout"),
            (command_timeout, "mailport_config_set_command_timeout_ms", "command_timeout"),
            (data_timeout, "mailport_config_set_data_timeout_ms", "data_timeout"),
            (send_timeout, "mailport_config_set_send_timeout_ms", "send_timeout"),
        ):
            if value is not None:
                call(setter, cfg, _ffi.seconds_to_ms(value, name))
        if ca_file is not None:
            self.add_ca_file(ca_file)
        for path in ca_files:
            self.add_ca_file(path)
        if ca_pem is not None:
            pems = ca_pem if isinstance(ca_pem, (list, tuple)) else [ca_pem]
            for pem in pems:
                self.add_ca_pem(pem)
        for value, setter in (
            (webpki_roots, "mailport_config_set_webpki_roots"),
            (system_roots, "mailport_config_set_system_roots"),
            (allow_partial_recipients, "mailport_config_set_allow_partial_recipients"),
            (allow_relay, "mailport_config_set_allow_relay"),
            (transcript_bodies, "mailport_config_set_transcript_bodies"),
            (dangerous_accept_invalid_certs, "mailport_config_dangerous_accept_invalid_certs"),
            (dangerous_allow_plaintext_auth, "mailport_config_dangerous_allow_plaintext_auth"),
        ):
            if value is not None:
                call(setter, cfg, bool(value))
        if persistent is not None or pool_idle_timeout is not None:
            call(
                "mailport_config_set_persistent",
                cfg,
                bool(persistent),
                _ffi.seconds_to_ms(60 if pool_idle_timeout is None else pool_idle_timeout,
                                   "pool_idle_timeout"),
            )
        if tls_server_name is not None:
            call(
                "mailport_config_set_tls_server_name",
                cfg,
                enc(tls_server_name, "tls_server_name"),
            )
        if log is not _UNSET:
            self.set_log(log)
        return self

    def add_ca_file(self, path) -> "Config":
        """Also trust the certificates in a PEM file (read when a Client is made)."""
        call("mailport_config_add_ca_file", self._handle(), enc_path(path, "ca_file"))
        return self

    def add_ca_pem(self, pem) -> "Config":
        """Also trust the certificates in PEM data (bytes or str)."""
        data = _ffi.data_bytes(pem, "ca_pem")
        call("mailport_config_add_ca_pem", self._handle(), data, len(data))
        return self

    def set_log(self, function: Optional[LogFunction]) -> "Config":
        """Call ``function(kind, line)`` with each transcript line of clients made from now on
        (``None`` turns it off). ``kind`` is a :class:`LogKind` (INFO, SENT "C:", RECEIVED
        "S:"); ``line`` has no line ending and never holds passwords or AUTH payloads.

        It runs on the thread calling the client, during the call. An exception it raises does
        not interrupt the call: it is kept and raised when the call returns (after the message
        was sent, for ``send``). It must not call methods of the client that is logging."""
        cfg = self._handle()
        if function is not None and not callable(function):
            raise TypeError(f"log must be callable, not {type(function).__name__}")
        trampoline = _ffi.make_log_trampoline(function)
        call("mailport_config_set_log_callback", cfg, trampoline, None)
        # Clients copy the C function pointer: each Client keeps this object alive too.
        self._log = None if function is None else (function, trampoline)
        return self

    @property
    def log(self) -> Optional[LogFunction]:
        return self._log[0] if self._log else None

    @property
    def oauth_rotation_callback(self) -> Optional[_oauth.RotationFunction]:
        entry = self._oauth.get("rotation")
        return entry[0] if entry else None

    @property
    def oauth_token_callback(self) -> Optional[_oauth.TokenFunction]:
        entry = self._oauth.get("token")
        return entry[0] if entry else None

    def _callbacks(self) -> tuple:
        """The ctypes callback objects whose C pointers the library copied into this config:
        a Client or Outbox made from it keeps them alive until it is freed, as the copies it
        holds may be called until then (even after this config changed or was closed)."""
        return (self._log, *self._oauth.values())


def _port_value(port) -> int:
    if isinstance(port, str):
        if port.lower() == "auto":
            return PORT_AUTO
        try:
            port = int(port)
        except ValueError:
            raise invalid_argument(f'port must be 1-65535 or "auto", not {port!r}') from None
    if isinstance(port, bool) or not isinstance(port, int):
        raise TypeError(f"port must be an int or 'auto', not {type(port).__name__}")
    if port < 0 or port > 0xFFFFFFFF:
        raise invalid_argument(f'port must be 1-65535 or "auto", not {port}')
    return port  # the library refuses values above 65535 with its own message


def _security_value(security) -> int:
    if isinstance(security, str):
        try:
            return int(SECURITY_NAMES[security.lower()])
        except KeyError:
            raise invalid_argument(
                "security must be one of " + ", ".join(SECURITY_NAMES) + f", not {security!r}"
            ) from None
    if isinstance(security, bool) or not isinstance(security, int):
        raise TypeError(f"security must be a str or Security, not {type(security).__name__}")
    if security < 0 or security > 0xFFFFFFFF:
        raise invalid_argument(f"security {security} is not a mailport security mode")
    return int(security)  # unknown numbers are refused by the library


__all__ = ["Config", "PORT_AUTO", "Security"]


def _declare_python(config: Config) -> None:
    """Have the library's hints name settings as this binding spells them (``ca_file=``,
    ``security="tls"``) rather than as C functions."""
    call("mailport_config_set_binding", config._handle(), b"python")
