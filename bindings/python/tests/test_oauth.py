"""OAuth 2.0 from Python: refresh grants against a real token endpoint over TLS
(tests/servers/oauth_server.py) whose tokens the SMTP server checks through the endpoint's
introspection (aiosmtpd with --oauth-introspect), so nothing is taken on mailport's word; the
rotation and token callbacks; each failure's exception class, code and hint; settings that
conflict; and that no token, refresh token or secret reaches a transcript or an exception."""

from __future__ import annotations

import gc
import threading

import pytest

import mailport
from mailport import ErrorCode

USER = "site@example.test"
REFRESH = "rt-initial-5f1c2a9d"
CLIENT = "mailport-app"
CLIENT_SECRET = "client-secret-9c1e77"
TO = "ann@example.org"
MESSAGE = b"From: site@example.test\r\nTo: ann@example.org\r\nSubject: oauth\r\n\r\nHi.\r\n"


@pytest.fixture
def endpoint_and_smtp(start_oauth, start_server):
    """``make(*endpoint_flags, smtp=(...))`` -> (endpoint knowing our client and refresh token,
    aiosmtpd accepting the tokens the endpoint says are active)."""

    def make(*flags, smtp=()):
        endpoint = start_oauth(
            "--client", f"{CLIENT}:{CLIENT_SECRET}", "--refresh-token", f"{USER}:{REFRESH}", *flags
        )
        server = start_server(
            "--mode",
            "starttls",
            "--oauth-introspect",
            endpoint.introspect_url,
            "--oauth-ca",
            endpoint.ca,
            *smtp,
        )
        return endpoint, server

    return make


def refresh_config(endpoint, server, **options) -> mailport.Config:
    """A Google refresh grant whose preset token URL points at the local endpoint."""
    settings = dict(
        host="127.0.0.1",
        port=server.port,
        security="starttls",
        ca_files=[server.ca, endpoint.ca],
        command_timeout=10,
        username=USER,
        oauth_provider="google",
        oauth_client_id=CLIENT,
        oauth_client_secret=CLIENT_SECRET,
        oauth_refresh_token=REFRESH,
        oauth_token_url=endpoint.token_url,
    )
    settings.update(options)
    return mailport.Config(**settings)


def secrets(endpoint, *extra) -> list:
    """Every token the endpoint handed out or was given, and our secrets."""
    state = endpoint.state()
    return [REFRESH, CLIENT_SECRET, *state["access_tokens"], *state["refresh_tokens"], *extra]


def assert_no_secret(texts, secret_list) -> None:
    for text in texts:
        for secret in secret_list:
            assert secret not in text, f"a secret leaked into: {text}"


def error_texts(error: mailport.MailportError) -> list:
    return [str(error), repr(error), error.message, error.hint, error.transcript]


def test_a_refresh_grant_sends_and_keeps_every_secret_out_of_the_transcript(endpoint_and_smtp):
    endpoint, server = endpoint_and_smtp()
    with refresh_config(endpoint, server) as config, mailport.Client(config) as client:
        client.send_raw(USER, [TO], MESSAGE)
        transcript = client.transcript()
    assert server.only_message()["auth_user"] == USER
    state = endpoint.state()
    assert state["grants"]["refresh_token"] == 1
    assert state["last_form"]["client_id"] == CLIENT
    assert state["last_form"]["scope"] == "https://mail.google.com/", "the Google preset"
    assert "refreshing the OAuth2 access token" in transcript
    assert "AUTH XOAUTH2 <redacted>" in transcript
    assert_no_secret([transcript], secrets(endpoint))


def test_a_public_client_sends_with_oauthbearer(start_oauth, start_server):
    endpoint = start_oauth("--refresh-token", f"{USER}:{REFRESH}")  # public "mailport-test"
    server = start_server(
        "--mode",
        "starttls",
        "--oauth-introspect",
        endpoint.introspect_url,
        "--oauth-ca",
        endpoint.ca,
    )
    config = refresh_config(
        endpoint,
        server,
        oauth_provider=mailport.OAuthProvider.MICROSOFT,
        oauth_client_id="mailport-test",
        oauth_client_secret=None,
        oauth_tenant="organizations",
        auth_mechanism="oauthbearer",
    )
    with config, mailport.Client(config) as client:
        client.send_raw(USER, [TO], MESSAGE)
    assert "AUTH OAUTHBEARER" in server.events()
    assert server.only_message()["auth_user"] == USER
    form = endpoint.state()["last_form"]
    assert "client_secret" not in form, "a public client sends no secret"
    assert form["scope"] == "https://outlook.office.com/SMTP.Send offline_access"


def test_a_rotated_refresh_token_reaches_the_callback(endpoint_and_smtp):
    endpoint, server = endpoint_and_smtp("--rotate")
    rotated = []
    config = refresh_config(
        endpoint, server, oauth_rotation_callback=lambda user, token: rotated.append((user, token))
    )
    assert config.oauth_rotation_callback is not None
    with config, mailport.Client(config) as client:
        client.send_raw(USER, [TO], MESSAGE)
        transcript = client.transcript()
    live = endpoint.state()["refresh_tokens"]
    assert len(rotated) == 1
    user, new = rotated[0]
    assert user == USER
    assert new != REFRESH and live.get(new) == USER, "the endpoint's current refresh token"
    assert REFRESH not in live, "the old one is retired"
    assert "rotation callback" in transcript
    assert_no_secret([transcript], secrets(endpoint, new))

    # What the callback stored works for a config made from it (as the next process would).
    endpoint.control(expire_access="all")
    again = refresh_config(endpoint, server, oauth_refresh_token=new)
    with again, mailport.Client(again) as client:
        client.send_raw(USER, [TO], MESSAGE)
    assert len(server.messages()) == 2


def test_an_exception_in_the_rotation_callback_is_raised_after_the_send_which_happened(
    endpoint_and_smtp,
):
    endpoint, server = endpoint_and_smtp("--rotate")

    def store(user, token):
        raise OSError("the settings table is read-only")

    config = refresh_config(endpoint, server, oauth_rotation_callback=store)
    with config, mailport.Client(config) as client:
        with pytest.raises(OSError, match="read-only") as caught:
            client.send_raw(USER, [TO], MESSAGE)
        assert len(server.messages()) == 1, "the message was sent all the same"
        notes = "\n".join(getattr(caught.value, "__notes__", []))
        if notes:  # Python 3.11+
            assert "may not have been stored" in notes
            assert_no_secret([notes], secrets(endpoint))
        # This process keeps the new refresh token: the next send still works.
        client.send_raw(USER, [TO], MESSAGE)
    assert len(server.messages()) == 2


@pytest.mark.parametrize(
    "mode, cls, code, hint, transient",
    [
        (
            "invalid_grant",
            mailport.OAuthInvalidGrantError,
            "OAUTH_INVALID_GRANT",
            "oauth_refresh_token=",
            False,
        ),
        (
            "invalid_client",
            mailport.OAuthInvalidClientError,
            "OAUTH_INVALID_CLIENT",
            "oauth_client_id= and oauth_client_secret=",
            False,
        ),
        ("invalid_scope", mailport.OAuthScopeError, "OAUTH_SCOPE", "oauth_scope=", False),
        (
            "error500",
            mailport.OAuthEndpointUnreachableError,
            "OAUTH_ENDPOINT_UNREACHABLE",
            "Trying again later",
            True,
        ),
        (
            "stall",
            mailport.OAuthEndpointUnreachableError,
            "OAUTH_ENDPOINT_UNREACHABLE",
            "Trying again later",
            True,
        ),
    ],
)
def test_each_failure_of_the_token_endpoint_has_its_class_code_and_hint(
    endpoint_and_smtp, mode, cls, code, hint, transient
):
    endpoint, server = endpoint_and_smtp()
    endpoint.control(mode=mode)
    # The stall is bounded by the command timeout.
    config = refresh_config(endpoint, server, command_timeout=2)
    with config, mailport.Client(config) as client:
        with pytest.raises(cls) as caught:
            client.send_raw(USER, [TO], MESSAGE)
        transcript = client.transcript()
    error = caught.value
    assert isinstance(error, mailport.OAuthError)
    assert error.code == ErrorCode[code]
    assert error.name == "MAILPORT_ERR_" + code
    assert hint in error.hint, error.hint
    assert error.transient is transient
    assert endpoint.token_url in error.message
    assert server.messages() == []
    assert_no_secret(error_texts(error) + [transcript], secrets(endpoint))
    if mode == "error500":
        assert isinstance(error, ConnectionError)


def test_invalid_grant_says_how_to_consent_again_in_python_terms(endpoint_and_smtp):
    endpoint, server = endpoint_and_smtp()
    endpoint.control(mode="invalid_grant")
    with refresh_config(endpoint, server) as config:
        with pytest.raises(mailport.OAuthInvalidGrantError) as caught:
            mailport.Client(config).send_raw(USER, [TO], MESSAGE)
    error = caught.value
    assert "AADSTS70008" in error.message, "the endpoint's own words"
    assert "mailport oauth login" in error.hint
    assert "oauth_refresh_token=" in error.hint
    assert "mailport_config_set" not in error.hint, "no C names in a Python hint"
    assert "TokenSource" not in error.hint


def test_a_revoked_refresh_token_is_invalid_grant(endpoint_and_smtp):
    endpoint, server = endpoint_and_smtp()
    endpoint.control(revoke_refresh=REFRESH)
    with refresh_config(endpoint, server) as config, mailport.Client(config) as client:
        with pytest.raises(mailport.OAuthInvalidGrantError) as caught:
            client.send_raw(USER, [TO], MESSAGE)
        transcript = client.transcript()
    assert caught.value.code == ErrorCode.OAUTH_INVALID_GRANT
    assert caught.value.transient is False
    assert_no_secret(error_texts(caught.value) + [transcript], secrets(endpoint))


def test_an_unknown_refresh_token_never_appears_in_the_error(endpoint_and_smtp):
    endpoint, server = endpoint_and_smtp()
    unknown = "rt-never-issued-0000"
    with refresh_config(endpoint, server, oauth_refresh_token=unknown) as config:
        client = mailport.Client(config)
        with pytest.raises(mailport.OAuthInvalidGrantError) as caught:
            client.send_raw(USER, [TO], MESSAGE)
        assert_no_secret(
            error_texts(caught.value) + [client.transcript()], secrets(endpoint, unknown)
        )
        client.close()


def test_a_revoked_access_token_is_refreshed_once_and_the_send_goes_through(endpoint_and_smtp):
    endpoint, server = endpoint_and_smtp()
    with refresh_config(endpoint, server) as config:
        with mailport.Client(config) as client:
            client.send_raw(USER, [TO], MESSAGE)
        (cached,) = endpoint.state()["access_tokens"]
        endpoint.control(revoke_access=cached)
        # The token cache is the process's: a new client uses the cached, now refused, token.
        with mailport.Client(config) as client:
            client.send_raw(USER, [TO], MESSAGE)
            transcript = client.transcript()
    assert endpoint.state()["grants"]["refresh_token"] == 2
    assert len(server.messages()) == 2
    assert_no_secret([transcript], secrets(endpoint, cached))


def test_the_token_callback_is_told_when_its_token_was_refused(start_server):
    server = start_server("--mode", "starttls", "--oauth", f"{USER}:at-good-1")
    calls = []

    def token(user, previous_refused):
        calls.append((user, previous_refused))
        return ("at-good-1", 3600) if previous_refused else "at-stale-0"

    config = mailport.Config(
        host="127.0.0.1",
        port=server.port,
        security="starttls",
        ca_file=server.ca,
        username=USER,
        oauth_token_callback=token,
    )
    assert config.oauth_token_callback is token
    with config, mailport.Client(config) as client:
        client.send_raw(USER, [TO], MESSAGE)
        transcript = client.transcript()
    assert calls == [(USER, False), (USER, True)]
    assert server.only_message()["auth_user"] == USER
    assert_no_secret([transcript], ["at-good-1", "at-stale-0"])


def callback_config(server, function) -> mailport.Config:
    return mailport.Config(
        host="127.0.0.1",
        port=server.port,
        security="starttls",
        ca_file=server.ca,
        username=USER,
        oauth_token_callback=function,
    )


def test_an_exception_in_the_token_callback_fails_the_send_and_is_its_cause(start_server):
    server = start_server("--mode", "starttls", "--oauth", f"{USER}:at-good-1")

    def sealed(user, previous_refused):
        raise LookupError("the vault is sealed")

    with callback_config(server, sealed) as config, mailport.Client(config) as client:
        with pytest.raises(mailport.OAuthCallbackError) as caught:
            client.send_raw(USER, [TO], MESSAGE)
    error = caught.value
    assert error.code == ErrorCode.OAUTH_CALLBACK
    assert "LookupError: the vault is sealed" in error.message
    assert isinstance(error.__cause__, LookupError)
    assert "oauth_token_callback" in error.message + error.hint
    assert server.messages() == []


@pytest.mark.parametrize(
    "returned, words",
    [
        (42, "returned int"),
        ((b"at-good-1", 60), "returned bytes"),
        (("at-good-1", "soon"), "returned str as expires_in_seconds"),
        (("at-good-1", -5), "negative"),
        (("at-good-1", 60, "x"), "3 items"),
        ("", "empty"),
        ("at good", "space"),
        ("at\0good", "NUL"),
        (None, "returned NoneType"),
    ],
)
def test_a_token_callback_returning_no_token_is_a_clear_error(start_server, returned, words):
    server = start_server("--mode", "starttls", "--oauth", f"{USER}:at-good-1")
    with callback_config(server, lambda user, refused: returned) as config:
        with pytest.raises(mailport.OAuthCallbackError) as caught:
            mailport.Client(config).send_raw(USER, [TO], MESSAGE)
    assert words in caught.value.message, caught.value.message
    assert "at-good-1" not in str(caught.value) and "at good" not in str(caught.value)
    assert server.messages() == []


def test_keyboard_interrupt_in_the_token_callback_is_raised_as_it_is(start_server):
    server = start_server("--mode", "starttls", "--oauth", f"{USER}:at-good-1")

    def interrupted(user, refused):
        raise KeyboardInterrupt

    with callback_config(server, interrupted) as config:
        with pytest.raises(KeyboardInterrupt) as caught:
            mailport.Client(config).send_raw(USER, [TO], MESSAGE)
    assert isinstance(caught.value.__cause__, mailport.OAuthCallbackError)


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_a_token_callback_raising_on_the_connection_checks_threads_stays_contained(start_server):
    server = start_server("--mode", "starttls", "--oauth", f"{USER}:at-good-1")
    threads = []

    def sealed(user, refused):
        threads.append(threading.current_thread() is threading.main_thread())
        raise LookupError("the vault is sealed")

    with callback_config(server, sealed) as config:
        report = mailport.probe(config, [server.port])  # a report, not an exception
    # The check tries the ports on threads of its own: the exception cannot be raised to the
    # caller there, and must neither crash nor be printed as unraisable.
    assert threads and not any(threads)
    assert not report.ok
    # The server never saw a token: the finding says the callback failed, not that the
    # server refused the credentials.
    finding = next(f for f in report.findings if f.code == "auth_failed")
    assert "could not log in" in finding.message and "the vault is sealed" in finding.message
    assert "refused the credentials" not in finding.message
    assert server.messages() == []


def test_callbacks_live_as_long_as_the_clients_and_outboxes_made_from_them(start_server, tmp_path):
    server = start_server("--mode", "starttls", "--oauth", f"{USER}:at-good-1")
    calls = []

    def token(user, refused):
        calls.append(user)
        return "at-good-1", 3600

    config = callback_config(server, token)
    client = mailport.Client(config)
    outbox = mailport.Outbox.open(tmp_path / "spool", [config])
    # The config goes, and the caller's own reference to the function: the client's and the
    # outbox's copies of the C pointer must still reach it.
    config.close()
    del config, token
    gc.collect()
    client.send_raw(USER, [TO], MESSAGE)
    client.close()
    outbox.enqueue_raw(USER, [TO], MESSAGE)
    summary = outbox.run()
    outbox.close()
    assert summary.sent == 1
    assert len(calls) == 2
    assert len(server.messages()) == 2


def test_the_callback_is_kept_when_the_config_changes_after_a_client_was_made(start_server):
    server = start_server("--mode", "starttls", "--oauth", f"{USER}:at-good-1")
    with callback_config(server, lambda user, refused: "at-good-1") as config:
        client = mailport.Client(config)
        config.update(username=USER, password="not-a-token")  # drops the callback
        assert config.oauth_token_callback is None
        gc.collect()
        client.send_raw(USER, [TO], MESSAGE)  # still the first callback
        client.close()
    assert len(server.messages()) == 1


def test_threads_sharing_a_config_each_get_their_token(start_server):
    server = start_server("--mode", "starttls", "--oauth", f"{USER}:at-good-1")
    errors = []
    with callback_config(server, lambda user, refused: ("at-good-1", 3600)) as config:

        def send():
            try:
                with mailport.Client(config) as client:
                    client.send_raw(USER, [TO], MESSAGE)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=send) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert len(server.messages()) == 4


def test_the_connection_check_tests_the_refresh_without_sending(endpoint_and_smtp):
    endpoint, server = endpoint_and_smtp()
    with refresh_config(endpoint, server) as config:
        report = mailport.probe(config, [server.port])
        codes = {f.code: f for f in report.findings}
        assert "oauth_refresh_ok" in codes, report.findings
        assert "usable for" in codes["oauth_refresh_ok"].message
        assert server.messages() == []

        endpoint.control(mode="invalid_grant")
        fresh = refresh_config(endpoint, server, oauth_refresh_token="rt-other-1")
        report = mailport.probe(fresh, [server.port])
        fresh.close()
    failed = {f.code: f for f in report.findings}["oauth_refresh_failed"]
    assert "oauth_invalid_grant" in failed.message
    assert "oauth_refresh_token=" in failed.hint, failed.hint
    assert_no_secret([report.json], secrets(endpoint, "rt-other-1"))


# -- settings ------------------------------------------------------------------------------------


def bad(**options) -> mailport.InvalidArgumentError:
    with pytest.raises(mailport.InvalidArgumentError) as caught:
        mailport.Config(host="smtp.example.com", **options)
    return caught.value


GRANT = dict(
    username=USER,
    oauth_provider="google",
    oauth_client_id=CLIENT,
    oauth_refresh_token=REFRESH,
)


def test_conflicting_or_missing_settings_are_named():
    e = bad(password="pw", **GRANT)
    assert "password=" in str(e) and "oauth_refresh_token=" in str(e)
    e = bad(oauth2_token="at", **GRANT)
    assert "oauth2_token=" in str(e)
    e = bad(oauth_token_callback=lambda u, r: "t", **GRANT)
    assert "oauth_token_callback=" in str(e)
    e = bad(username=USER, oauth_refresh_token=REFRESH, oauth_provider="google")
    assert "oauth_client_id=" in str(e)
    e = bad(username=USER, oauth_client_id=CLIENT, oauth_provider="google")
    assert "oauth_refresh_token=" in str(e) and "mailport oauth login" in e.hint
    e = bad(username=USER, oauth_client_id=CLIENT, oauth_refresh_token=REFRESH)
    assert "oauth_provider=" in str(e)
    e = bad(**{**GRANT, "oauth_provider": "custom"})
    assert "oauth_token_url=" in str(e)
    e = bad(**{**GRANT, "oauth_provider": "yahoo"})
    assert '"google", "microsoft" or "custom"' in str(e) and "yahoo" in str(e)
    e = bad(**{**GRANT, "oauth_tenant": "contoso.onmicrosoft.com"})
    assert "Microsoft" in str(e)
    e = bad(username=USER, oauth_scope="https://mail.google.com/")
    assert "oauth_provider=" in str(e)
    e = bad(oauth_provider="google", oauth_client_id=CLIENT, oauth_refresh_token=REFRESH)
    assert "username=" in str(e)
    e = bad(oauth_token_callback=lambda u, r: "t")
    assert "username=" in str(e)
    e = bad(**{**GRANT, "oauth_token_url": "http://idp.example.com/token"})
    assert "https" in str(e)
    e = bad(**{**GRANT, "oauth_tenant": "not a tenant"})
    e = bad(**{**GRANT, "oauth_client_id": ""})
    e = bad(auth_mechanism="cram-md5")
    assert '"xoauth2"' in str(e) and "cram-md5" in str(e)
    for e in [bad(password="pw", **GRANT), bad(**{**GRANT, "oauth_provider": "custom"})]:
        assert REFRESH not in str(e) and REFRESH not in repr(e)


def test_a_refused_setting_leaves_the_previous_credentials_in_place(start_server):
    server = start_server("--mode", "starttls", "--auth", f"{USER}:pw")
    config = mailport.Config(
        host="127.0.0.1",
        port=server.port,
        security="starttls",
        ca_file=server.ca,
        username=USER,
        password="pw",
    )
    with pytest.raises(mailport.InvalidArgumentError, match="https"):
        config.update(**GRANT, oauth_token_url="http://idp.example.com/token")
    with config, mailport.Client(config) as client:
        client.send_raw(USER, [TO], MESSAGE)  # with the password, not half a grant
    assert server.only_message()["auth_user"] == USER


def test_callbacks_must_be_callable():
    with pytest.raises(TypeError, match="oauth_token_callback must be callable"):
        mailport.Config(username=USER, oauth_token_callback="token")
    with pytest.raises(TypeError, match="oauth_rotation_callback must be callable"):
        mailport.Config(**GRANT, oauth_rotation_callback="store")
    with pytest.raises(TypeError, match="oauth_provider must be a str or OAuthProvider"):
        mailport.Config(**{**GRANT, "oauth_provider": 1})


def test_the_mechanism_can_be_chosen_and_reset():
    config = mailport.Config(host="smtp.example.com", **GRANT, auth_mechanism="XOAUTH2")
    config.update(auth_mechanism="auto")
    config.close()
    # PLAIN cannot carry a token: the library says so when a client is made.
    config = mailport.Config(host="smtp.example.com", **GRANT, auth_mechanism="plain")
    with pytest.raises(mailport.InvalidArgumentError, match="PLAIN"):
        mailport.Client(config)
    config.close()


def test_the_new_codes_have_their_names():
    for code in (
        "INVALID_GRANT",
        "INVALID_CLIENT",
        "ENDPOINT_UNREACHABLE",
        "SCOPE",
        "ENDPOINT",
        "CALLBACK",
    ):
        error = mailport._ffi.error_from_code(ErrorCode["OAUTH_" + code])
        assert error.name == "MAILPORT_ERR_OAUTH_" + code
        assert isinstance(error, mailport.OAuthError)
