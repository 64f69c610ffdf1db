//! Tests of `mailport_config_*`.

use super::*;
use crate::ffi::mailport_result;
use crate::ffi::test_support::run;

use std::ptr;

struct Cfg(*mut mailport_config);
impl Cfg {
    fn new() -> Cfg {
        // SAFETY: no arguments.
        Cfg(unsafe { mailport_config_new() })
    }
    fn get(&self) -> &Config {
        // SAFETY: the pointer is live until drop.
        unsafe { &(*self.0).0 }
    }
}
impl Drop for Cfg {
    fn drop(&mut self) {
        // SAFETY: made by mailport_config_new, freed once.
        unsafe { mailport_config_free(self.0) };
    }
}

use mailport_result::*;

#[test]
fn every_setter_refuses_a_null_config() {
    let null = ptr::null_mut();
    let s = c"x".as_ptr();
    // SAFETY: NULL config is the case under test; other arguments are valid.
    let calls: Vec<Box<dyn Fn(*mut *mut mailport_error) -> mailport_result>> = unsafe {
        vec![
            Box::new(move |e| mailport_config_set_host(null, s, e)),
            Box::new(move |e| mailport_config_set_port(null, 25, e)),
            Box::new(move |e| mailport_config_set_security(null, 0, e)),
            Box::new(move |e| mailport_config_set_credentials(null, s, s, e)),
            Box::new(move |e| mailport_config_set_password(null, s, e)),
            Box::new(move |e| mailport_config_set_oauth2_token(null, s, s, e)),
            Box::new(move |e| mailport_config_set_helo_name(null, s, e)),
            Box::new(move |e| mailport_config_set_connect_timeout_ms(null, 1, e)),
            Box::new(move |e| mailport_config_set_command_timeout_ms(null, 1, e)),
            Box::new(move |e| mailport_config_set_data_timeout_ms(null, 1, e)),
            Box::new(move |e| mailport_config_set_send_timeout_ms(null, 1, e)),
            Box::new(move |e| mailport_config_add_ca_file(null, s, e)),
            Box::new(move |e| mailport_config_add_ca_pem(null, s.cast(), 1, e)),
            Box::new(move |e| mailport_config_set_webpki_roots(null, true, e)),
            Box::new(move |e| mailport_config_set_system_roots(null, true, e)),
            Box::new(move |e| mailport_config_set_tls_server_name(null, s, e)),
            Box::new(move |e| mailport_config_dangerous_accept_invalid_certs(null, true, e)),
            Box::new(move |e| mailport_config_dangerous_allow_plaintext_auth(null, true, e)),
            Box::new(move |e| mailport_config_set_allow_partial_recipients(null, true, e)),
            Box::new(move |e| mailport_config_set_transcript_bodies(null, true, e)),
            Box::new(move |e| mailport_config_set_log_callback(null, None, null.cast(), e)),
            Box::new(move |e| mailport_config_set_allow_relay(null, true, e)),
        ]
    };
    for (i, call) in calls.into_iter().enumerate() {
        let (rc, message) = run(call);
        assert_eq!(rc, MAILPORT_ERR_NULL_ARGUMENT, "setter #{i}");
        assert_eq!(message, "cfg must not be NULL", "setter #{i}");
        // Without an error object the code still comes back.
    }
    // SAFETY: NULL config and NULL error_out.
    let rc = unsafe { mailport_config_set_port(null, 25, ptr::null_mut()) };
    assert_eq!(rc, MAILPORT_ERR_NULL_ARGUMENT);
    // SAFETY: NULL is allowed.
    unsafe { mailport_config_free(ptr::null_mut()) };
}

#[test]
fn string_arguments_are_checked_and_named() {
    let cfg = Cfg::new();
    assert_eq!(cfg.get().host, "");
    // SAFETY: `cfg.0` is live; the strings are NUL-terminated or NULL.
    unsafe {
        let (rc, m) = run(|e| mailport_config_set_host(cfg.0, ptr::null(), e));
        assert_eq!(
            (rc, m.as_str()),
            (MAILPORT_ERR_NULL_ARGUMENT, "host must not be NULL")
        );
        let (rc, m) = run(|e| mailport_config_set_host(cfg.0, c"mail\xff.org".as_ptr(), e));
        assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
        assert!(m.starts_with("host is not valid UTF-8"), "{m}");
        let (rc, m) = run(|e| mailport_config_set_host(cfg.0, c"a\r\nb".as_ptr(), e));
        assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
        assert!(m.contains("host") && m.contains("line break"), "{m}");
        let (rc, _) = run(|e| mailport_config_set_host(cfg.0, c"mail.example.org".as_ptr(), e));
        assert_eq!(rc, MAILPORT_OK);
        assert_eq!(cfg.get().host, "mail.example.org");

        // A password alone needs a user name already there.
        let (rc, m) = run(|e| mailport_config_set_password(cfg.0, c"pw".as_ptr(), e));
        assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
        assert!(m.contains("no user name"), "{m}");
        let (rc, m) =
            run(|e| mailport_config_set_credentials(cfg.0, c"me".as_ptr(), ptr::null(), e));
        assert_eq!(rc, MAILPORT_ERR_NULL_ARGUMENT);
        assert_eq!(
            m,
            "the password is missing (password is NULL): was the environment variable \
             that should hold it set?"
        );
        let (rc, m) =
            run(|e| mailport_config_set_credentials(cfg.0, ptr::null(), c"pw".as_ptr(), e));
        assert_eq!(rc, MAILPORT_ERR_NULL_ARGUMENT);
        assert!(
            m.starts_with("the user name is missing (username is NULL)"),
            "{m}"
        );
        let (rc, m) = run(|e| mailport_config_set_password(cfg.0, ptr::null(), e));
        assert_eq!(rc, MAILPORT_ERR_NULL_ARGUMENT);
        assert!(m.starts_with("the password is missing"), "{m}");
        let (rc, m) =
            run(|e| mailport_config_set_oauth2_token(cfg.0, c"me".as_ptr(), ptr::null(), e));
        assert_eq!(rc, MAILPORT_ERR_NULL_ARGUMENT);
        assert!(
            m.starts_with("the OAuth2 token is missing (token is NULL)"),
            "{m}"
        );
        let (rc, m) =
            run(|e| mailport_config_set_credentials(cfg.0, c"me".as_ptr(), c"p\nw".as_ptr(), e));
        assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
        assert!(m.starts_with("password contains a line break"), "{m}");
        assert!(!m.contains("p\nw"));
        let (rc, _) =
            run(|e| mailport_config_set_credentials(cfg.0, c"me".as_ptr(), c"pw".as_ptr(), e));
        assert_eq!(rc, MAILPORT_OK);
        assert_eq!(cfg.get().credentials.as_ref().unwrap().username(), "me");
        let (rc, _) = run(|e| mailport_config_set_password(cfg.0, c"new pw".as_ptr(), e));
        assert_eq!(rc, MAILPORT_OK);
        match &cfg.get().credentials {
            Some(Credentials::Password { username, password }) => {
                assert_eq!((username.as_str(), password.expose()), ("me", "new pw"));
            }
            other => panic!("{other:?}"),
        }
        let (rc, m) = run(|e| mailport_config_set_password(cfg.0, c"a\rb".as_ptr(), e));
        assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
        assert!(m.starts_with("password contains a line break"), "{m}");

        let (rc, m) = run(|e| mailport_config_set_helo_name(cfg.0, c"bad name".as_ptr(), e));
        assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
        assert!(m.contains("helo name"), "{m}");
        let (rc, m) = run(|e| mailport_config_add_ca_file(cfg.0, c"".as_ptr(), e));
        assert_eq!(
            (rc, m.as_str()),
            (MAILPORT_ERR_INVALID_ARGUMENT, "path is empty")
        );
        let (rc, _) = run(|e| mailport_config_add_ca_file(cfg.0, c"/ca.pem".as_ptr(), e));
        assert_eq!(rc, MAILPORT_OK);
        assert_eq!(cfg.get().tls.ca_files, [PathBuf::from("/ca.pem")]);
    }
}

#[test]
fn numbers_and_modes_are_validated() {
    let cfg = Cfg::new();
    // SAFETY: `cfg.0` is live.
    unsafe {
        for bad in [65536, u32::MAX] {
            let (rc, m) = run(|e| mailport_config_set_port(cfg.0, bad, e));
            assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
            assert!(m.starts_with(&format!("port: {bad} ")), "{m}");
        }
        assert_eq!(
            run(|e| mailport_config_set_port(cfg.0, 465, e)).0,
            MAILPORT_OK
        );
        assert_eq!(cfg.get().port, 465);
        let auto = mailport_port::MAILPORT_PORT_AUTO as u32;
        assert_eq!(auto, 0);
        assert_eq!(
            run(|e| mailport_config_set_port(cfg.0, auto, e)).0,
            MAILPORT_OK
        );
        assert_eq!(cfg.get().port, PORT_AUTO);

        assert!(!cfg.get().allow_relay);
        assert_eq!(
            run(|e| mailport_config_set_allow_relay(cfg.0, true, e)).0,
            MAILPORT_OK
        );
        assert!(cfg.get().allow_relay);
        assert_eq!(
            run(|e| mailport_config_set_allow_relay(cfg.0, false, e)).0,
            MAILPORT_OK
        );
        assert!(!cfg.get().allow_relay);
        assert_eq!(
            run(|e| mailport_config_set_port(cfg.0, 465, e)).0,
            MAILPORT_OK
        );

        let (rc, m) = run(|e| mailport_config_set_security(cfg.0, 5, e));
        assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
        assert!(m.contains("security"), "{m}");
        for (value, mode) in [
            (mailport_security::MAILPORT_SECURITY_AUTO, Security::Auto),
            (
                mailport_security::MAILPORT_SECURITY_STARTTLS,
                Security::StartTls,
            ),
            (mailport_security::MAILPORT_SECURITY_TLS, Security::Tls),
            (
                mailport_security::MAILPORT_SECURITY_OPPORTUNISTIC,
                Security::Opportunistic,
            ),
            (mailport_security::MAILPORT_SECURITY_NONE, Security::None),
        ] {
            let (rc, _) = run(|e| mailport_config_set_security(cfg.0, value as u32, e));
            assert_eq!(rc, MAILPORT_OK);
            assert_eq!(cfg.get().security, mode);
            assert_eq!(mailport_security::from_core(mode), value);
        }

        let (rc, m) = run(|e| mailport_config_set_command_timeout_ms(cfg.0, 0, e));
        assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
        assert!(m.starts_with("command timeout"), "{m}");
        assert_eq!(
            run(|e| mailport_config_set_data_timeout_ms(cfg.0, 1500, e)).0,
            MAILPORT_OK
        );
        assert_eq!(cfg.get().timeouts.data_end, Duration::from_millis(1500));

        let (rc, m) = run(|e| mailport_config_add_ca_pem(cfg.0, ptr::null(), 0, e));
        assert_eq!(
            (rc, m.as_str()),
            (MAILPORT_ERR_NULL_ARGUMENT, "pem must not be NULL")
        );
        let pem = b"-----BEGIN CERTIFICATE-----";
        let (rc, _) = run(|e| mailport_config_add_ca_pem(cfg.0, pem.as_ptr().cast(), 0, e));
        assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
        let (rc, _) = run(|e| mailport_config_add_ca_pem(cfg.0, pem.as_ptr().cast(), pem.len(), e));
        assert_eq!(rc, MAILPORT_OK);
        assert_eq!(cfg.get().tls.ca_pem, [pem.to_vec()]);

        assert_eq!(
            run(|e| mailport_config_set_webpki_roots(cfg.0, false, e)).0,
            MAILPORT_OK
        );
        assert!(!cfg.get().tls.webpki_roots);
        let rc = run(|e| mailport_config_dangerous_accept_invalid_certs(cfg.0, true, e)).0;
        assert_eq!(rc, MAILPORT_OK);
        assert!(cfg.get().tls.dangerous_accept_invalid_certs);
    }
}

unsafe extern "C" fn ignore(_: *mut c_void, _: u32, _: *const c_char, _: usize) {}

#[test]
fn log_callback_is_set_and_cleared() {
    let cfg = Cfg::new();
    // SAFETY: `cfg.0` is live; `ignore` honours the callback contract.
    unsafe {
        let rc = run(|e| mailport_config_set_log_callback(cfg.0, Some(ignore), ptr::null_mut(), e));
        assert_eq!(rc.0, MAILPORT_OK);
        assert!(cfg.get().sink.is_some());
        let rc = run(|e| mailport_config_set_log_callback(cfg.0, None, ptr::null_mut(), e));
        assert_eq!(rc.0, MAILPORT_OK);
        assert!(cfg.get().sink.is_none());
    }
}

#[test]
fn from_url_nulls_its_output_and_reports_bad_urls() {
    let mut out: *mut mailport_config = ptr::dangling_mut();
    // SAFETY: valid out locations and strings.
    unsafe {
        let (rc, m) = run(|e| mailport_config_from_url(ptr::null(), &mut out, e));
        assert_eq!(
            (rc, m.as_str()),
            (MAILPORT_ERR_NULL_ARGUMENT, "url must not be NULL")
        );
        assert!(out.is_null());

        out = ptr::dangling_mut();
        let (rc, m) = run(|e| mailport_config_from_url(c"http://x".as_ptr(), &mut out, e));
        assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
        assert!(m.starts_with("url:"), "{m}");
        assert!(out.is_null());

        let url = c"smtp+starttls://me%40x.org:pw@mail.example.org:2525";
        let (rc, m) = run(|e| mailport_config_from_url(url.as_ptr(), ptr::null_mut(), e));
        assert_eq!(
            (rc, m.as_str()),
            (MAILPORT_ERR_NULL_ARGUMENT, "config_out must not be NULL")
        );

        let (rc, _) = run(|e| mailport_config_from_url(url.as_ptr(), &mut out, e));
        assert_eq!(rc, MAILPORT_OK);
        let cfg = Cfg(out);
        let c = cfg.get();
        assert_eq!(
            (c.host.as_str(), c.port, c.security),
            ("mail.example.org", 2525, Security::StartTls)
        );
        assert_eq!(c.credentials.as_ref().unwrap().username(), "me@x.org");
    }
}

#[test]
fn a_binding_changes_the_names_and_an_unknown_one_is_refused() {
    // SAFETY: the config is live until freed at the end; strings are NUL-terminated.
    unsafe {
        let cfg = mailport_config_new();
        assert_eq!((*cfg).0.api, Api::C);
        let (rc, _) = run(|e| mailport_config_set_binding(cfg, c"python".as_ptr(), e));
        assert_eq!(rc, MAILPORT_OK);
        assert_eq!((*cfg).0.api, Api::Python);
        let (rc, m) = run(|e| mailport_config_set_binding(cfg, c"ruby".as_ptr(), e));
        assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
        assert!(
            m.contains("\"ruby\"") && m.contains("\"php\"") && m.contains("\"wordpress\""),
            "{m}"
        );
        assert_eq!((*cfg).0.api, Api::Python, "unchanged after a refusal");
        let (rc, _) = run(|e| mailport_config_set_binding(cfg, c"wordpress".as_ptr(), e));
        assert_eq!(rc, MAILPORT_OK);
        assert_eq!((*cfg).0.api, Api::WordPress);
        let (rc, m) = run(|e| mailport_config_set_binding(cfg, ptr::null(), e));
        assert_eq!(rc, MAILPORT_ERR_NULL_ARGUMENT);
        assert_eq!(m, "binding must not be NULL");
        mailport_config_free(cfg);
    }
}
