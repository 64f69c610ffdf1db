"""OAuth 2.0 for :class:`~mailport.Config`: the keywords' checks, the C calls that set a refresh
grant or a token callback, and the ctypes trampolines of the two callbacks.

The library keeps copies of the trampolines' C function pointers in the config and in every
client and outbox made from it; :class:`~mailport.Config` keeps the ctypes objects and hands
them to each of those as their keep-alive, so that no pointer outlives its function.

Nothing a callback raises may unwind into the library (ctypes would print it and return 0). The
token callback's exception fails the token with its text (the library then fails the call with
``MAILPORT_ERR_OAUTH_CALLBACK``) and becomes that error's ``__cause__``; the rotation callback's
is raised when the call returns, like the log callback's, since the call itself succeeded but the
new refresh token may not have been stored.
"""

from __future__ import annotations

import math
import sys
import types
from typing import Callable, Optional, Tuple, Union

from . import _ffi
from ._constants import AUTH_MECHANISMS, OAUTH_PROVIDERS, OAuthProvider
from ._ffi import call, enc, invalid_argument

RotationFunction = Callable[[str, str], None]
TokenFunction = Callable[[str, bool], Union[str, Tuple[str, Optional[float]]]]

#: The keywords of a refresh grant: given in one call, they replace the config's credentials.
REFRESH_KEYWORDS = (
    "oauth_provider",
    "oauth_client_id",
    "oauth_client_secret",
    "oauth_refresh_token",
    "oauth_tenant",
    "oauth_token_url",
    "oauth_scope",
    "oauth_rotation_callback",
)

_LOGIN_HINT = (
    "a refresh token comes from the user's consent: run `mailport oauth login --provider "
    "google|microsoft --client-id ID [--tenant ID] --output FILE` once (or your application's "
    "own consent flow) and pass the file's content as oauth_refresh_token="
)


def check_sources(password, oauth2_token, refresh: dict, token_callback) -> Optional[str]:
    """Refuse two ways of logging in in one call; return the one given ("password",
    "oauth2_token", "refresh", "callback") or None."""
    given = []
    if password is not None:
        given.append(("password", "password="))
    if oauth2_token is not None:
        given.append(("oauth2_token", "oauth2_token="))
    if refresh:
        given.append(("refresh", "a refresh grant (" + ", ".join(k + "=" for k in refresh) + ")"))
    if token_callback is not None:
        given.append(("callback", "oauth_token_callback="))
    if len(given) > 1:
        raise invalid_argument(
            "give one way to log in, not " + " and ".join(words for _, words in given),
            "a config logs in with a password, a fixed oauth2_token=, a refresh grant "
            "(oauth_provider=, oauth_client_id=, oauth_refresh_token=, ...) or an "
            "oauth_token_callback=: keep the one this server needs",
        )
    return given[0][0] if given else None


def set_refresh_grant(cfg, username: Optional[str], refresh: dict):
    """Set a refresh grant from the keywords in ``refresh`` (the non-None ones of
    REFRESH_KEYWORDS); return the rotation trampoline to keep alive, or None."""
    missing = [
        k + "="
        for k in ("oauth_provider", "oauth_client_id", "oauth_refresh_token")
        if k not in refresh
    ]
    if missing:
        raise invalid_argument(
            "the OAuth refresh grant needs " + ", ".join(missing) + " too (in the same call; "
            "oauth_client_secret= is optional: a public client has none)",
            _LOGIN_HINT
            if "oauth_refresh_token=" in missing
            else 'oauth_provider= is "google", "microsoft" or "custom"; oauth_client_id= is '
            "the application (client) id of the app registration the refresh token was issued to",
        )
    if username is None:
        raise invalid_argument(
            "the OAuth refresh grant needs username=: the mailbox to log in as",
            'pass username="me@example.com" (the account that consented) with '
            "oauth_refresh_token=",
        )
    provider = refresh["oauth_provider"]
    if isinstance(provider, OAuthProvider):
        value = provider
    elif isinstance(provider, str):
        value = OAUTH_PROVIDERS.get(provider.lower())
        if value is None:
            raise invalid_argument(
                'oauth_provider must be "google", "microsoft" or "custom", not ' + repr(provider)
            )
    else:
        raise TypeError(
            f"oauth_provider must be a str or OAuthProvider, not {type(provider).__name__}"
        )
    provider = str(value)
    if provider == "custom" and "oauth_token_url" not in refresh:
        raise invalid_argument(
            'oauth_provider="custom" needs oauth_token_url=: the token endpoint of your '
            "identity provider",
            'for example oauth_token_url="https://idp.example.com/oauth2/token"; Google and '
            'Microsoft have theirs preset (oauth_provider="google" or "microsoft")',
        )
    if "oauth_tenant" in refresh and provider != "microsoft":
        raise invalid_argument(
            f"oauth_tenant= is Microsoft's (the directory of the app registration), and "
            f'oauth_provider is "{provider}"',
            'leave oauth_tenant= out, or use oauth_provider="microsoft"',
        )
    rotation = refresh.get("oauth_rotation_callback")
    if rotation is not None and not callable(rotation):
        raise TypeError(f"oauth_rotation_callback must be callable, not {type(rotation).__name__}")
    secret = refresh.get("oauth_client_secret")
    grant = (
        enc(username, "username"),
        int(value),
        enc(refresh["oauth_client_id"], "oauth_client_id"),
        None if secret is None else enc(secret, "oauth_client_secret"),
        enc(refresh["oauth_refresh_token"], "oauth_refresh_token"),
    )
    details = [
        (setter, enc(refresh[keyword], keyword))
        for keyword, setter in (
            ("oauth_tenant", "mailport_config_set_oauth_tenant"),
            ("oauth_token_url", "mailport_config_set_oauth_token_url"),
            ("oauth_scope", "mailport_config_set_oauth_scope"),
        )
        if keyword in refresh
    ]
    # The library checks the tenant, URL and scope only once a grant exists: try them on a
    # scratch config first, so that a refused token URL never leaves this config with a grant
    # that would ask the provider's real endpoint instead.
    scratch = _ffi.invoke("mailport_config_new")
    if not scratch:
        raise MemoryError("mailport could not create a Config")
    try:
        call("mailport_config_set_binding", scratch, b"python")  # hints in Python's words
        call("mailport_config_set_oauth_refresh", scratch, *grant)
        for setter, argument in details:
            call(setter, scratch, argument)
    finally:
        _ffi.invoke("mailport_config_free", scratch)
    call("mailport_config_set_oauth_refresh", cfg, *grant)
    for setter, argument in details:
        call(setter, cfg, argument)
    if rotation is None:
        return None
    trampoline = make_rotation_trampoline(rotation)
    call("mailport_config_set_oauth_rotation_callback", cfg, trampoline, None)
    return (rotation, trampoline)


def set_token_callback(cfg, username: Optional[str], function):
    """Set the token callback; return (function, trampoline) to keep alive."""
    if not callable(function):
        raise TypeError(f"oauth_token_callback must be callable, not {type(function).__name__}")
    if username is None:
        raise invalid_argument(
            "oauth_token_callback= needs username=: the mailbox to log in as",
            'pass username="me@example.com" with oauth_token_callback=',
        )
    trampoline = make_token_trampoline(function)
    call(
        "mailport_config_set_oauth_token_callback",
        cfg,
        enc(username, "username"),
        trampoline,
        None,
    )
    return (function, trampoline)


def set_auth_mechanism(cfg, mechanism) -> None:
    if not isinstance(mechanism, str):
        raise TypeError(f"auth_mechanism must be a str, not {type(mechanism).__name__}")
    name = mechanism.lower()
    if name not in AUTH_MECHANISMS:
        raise invalid_argument(
            "auth_mechanism must be one of "
            + ", ".join(f'"{m}"' for m in AUTH_MECHANISMS)
            + f", not {mechanism!r}",
            '"auto" lets mailport choose from what the server offers',
        )
    call(
        "mailport_config_set_auth_mechanism",
        cfg,
        None if name == "auto" else name.encode("ascii"),
    )


# -- trampolines ----------------------------------------------------------------------------------


class _BadReturn(Exception):
    """The token callback returned something that is not a token (the message says what)."""


def _token_result(result) -> Tuple[bytes, int]:
    """The callback's ``token`` or ``(token, expires_in_seconds)`` as (bytes, whole seconds, 0
    when unknown). Never puts the value itself into a message: it may be a token."""
    expires_in = None
    if isinstance(result, (tuple, list)):
        if len(result) != 2:
            raise _BadReturn(
                f"the oauth_token_callback returned a {type(result).__name__} of "
                f"{len(result)} items; return the access token (str) or (token, "
                "expires_in_seconds)"
            )
        result, expires_in = result
    if not isinstance(result, str):
        raise _BadReturn(
            f"the oauth_token_callback returned {type(result).__name__} as the token; return "
            "the access token (str) or (token, expires_in_seconds)"
        )
    if "\0" in result:
        raise _BadReturn("the oauth_token_callback returned a token with a NUL character")
    seconds = 0
    if expires_in is not None:
        if isinstance(expires_in, bool) or not isinstance(expires_in, (int, float)):
            raise _BadReturn(
                "the oauth_token_callback returned "
                f"{type(expires_in).__name__} as expires_in_seconds; return a number of "
                "seconds, or None when unknown"
            )
        if not math.isfinite(expires_in) or expires_in < 0:
            raise _BadReturn(
                "the oauth_token_callback returned a negative or infinite expires_in_seconds; "
                "return the token's remaining lifetime in seconds, or None when unknown"
            )
        # A token valid for less than a second still counts as having a lifetime.
        seconds = max(1, int(expires_in)) if expires_in > 0 else 0
    try:
        token = result.encode("utf-8")
    except UnicodeEncodeError:
        raise _BadReturn("the oauth_token_callback returned a token that is not valid Unicode")
    return token, seconds


def _reason(text: str) -> bytes:
    return text.replace("\0", "").encode("utf-8", "replace")


def _unraisable(exc: BaseException, message: str) -> None:
    """Report an exception nobody can receive (a callback on a thread the library started),
    as ctypes would, but saying which callback it was."""
    sys.unraisablehook(
        types.SimpleNamespace(
            exc_type=type(exc),
            exc_value=exc,
            exc_traceback=exc.__traceback__,
            err_msg=message,
            object=None,
        )
    )


def make_token_trampoline(function):
    """A ``mailport_oauth_token_callback`` calling ``function(username, previous_refused)``."""
    state = _ffi._log_state
    invoke = _ffi.invoke

    def trampoline(_user_data, username, previous_refused, out):
        try:
            result = function(_ffi._text(username), bool(previous_refused))
            token, seconds = _token_result(result)
        except _BadReturn as exc:
            invoke("mailport_oauth_token_fail", out, _reason(str(exc)))
            return 1
        except BaseException as exc:  # noqa: BLE001 - must not unwind into C
            invoke(
                "mailport_oauth_token_fail",
                out,
                _reason(f"the oauth_token_callback raised {type(exc).__name__}: {exc}"),
            )
            if isinstance(exc, Exception):
                # On a thread the library started (the connection check's), nobody can take
                # the exception; its text travels in the failure all the same.
                if state.in_call:
                    state.store_cause(exc)
            elif state.in_call:
                state.store(exc)  # KeyboardInterrupt, SystemExit: raised as they are
            else:
                _unraisable(exc, "Exception in mailport's oauth_token_callback")
            return 1
        # The library checks the token (empty, spaces) and records why it refused it.
        return 0 if invoke("mailport_oauth_token_set", out, token, seconds) == 0 else 1

    return _ffi.OAUTH_TOKEN_CALLBACK(trampoline)


def make_rotation_trampoline(function):
    """A ``mailport_oauth_rotation_callback`` calling ``function(username, refresh_token)``."""
    state = _ffi._log_state

    def trampoline(_user_data, username, refresh_token):
        try:
            function(_ffi._text(username), _ffi._text(refresh_token))
        except BaseException as exc:  # noqa: BLE001 - must not unwind into C
            _ffi._note(
                exc,
                "raised by the oauth_rotation_callback: the new refresh token it was given may "
                "not have been stored. This process keeps using it; a process started with the "
                "old one will fail with invalid_grant",
            )
            if state.in_call:
                state.store(exc)
            else:
                _unraisable(exc, "Exception in mailport's oauth_rotation_callback")

    return _ffi.OAUTH_ROTATION_CALLBACK(trampoline)
