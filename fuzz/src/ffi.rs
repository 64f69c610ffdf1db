//! The C ABI entry points that take strings and buffers, called through their `extern "C"`
//! symbols with NUL-terminated fuzz input (any bytes, invalid UTF-8 included) in an arbitrary
//! order on one config, one message and one `wp_mail` call. Properties: no crash; every call
//! returns OK with no error object, or a known code with an error object that carries the same
//! code and a message; copy-out functions honour their buffer lengths; and everything is freed
//! (LeakSanitizer, on in the fuzz build, reports anything left).
//!
//! Left out: the calls that read files or use the network (attach_file, add_ca_file,
//! wp_mail attachments, clients, probes, outboxes); the fault-injection and NULL-argument
//! tests cover those.

use std::ffi::{CStr, CString, c_char};
use std::ptr;

use arbitrary::{Arbitrary, Unstructured};
use mailport::ffi::*;

#[derive(Arbitrary, Debug)]
enum Op {
    ConfigFromUrl(Vec<u8>),
    ConfigSetHost(Vec<u8>),
    ConfigSetPort(u32),
    ConfigSetSecurity(u32),
    ConfigSetCredentials(Vec<u8>, Vec<u8>),
    ConfigSetPassword(Vec<u8>),
    ConfigSetOauth2Token(Vec<u8>, Vec<u8>),
    ConfigSetOauthRefresh(Vec<u8>, u32, Vec<u8>, Vec<u8>, Vec<u8>),
    ConfigSetOauthTenant(Vec<u8>),
    ConfigSetOauthTokenUrl(Vec<u8>),
    ConfigSetOauthScope(Vec<u8>),
    ConfigSetAuthMechanism(Vec<u8>),
    ConfigSetHeloName(Vec<u8>),
    ConfigSetTlsServerName(Vec<u8>),
    ConfigAddCaPem(Vec<u8>),
    ConfigSetBinding(Vec<u8>),
    MessageSetFrom(Vec<u8>),
    MessageSetFromParts(Vec<u8>, Vec<u8>),
    MessageAddMailboxParts(u32, Vec<u8>, Vec<u8>),
    MessageSetSender(Vec<u8>),
    MessageAddReplyTo(Vec<u8>),
    MessageAddTo(Vec<u8>),
    MessageAddCc(Vec<u8>),
    MessageAddBcc(Vec<u8>),
    MessageSetEnvelopeFrom(Vec<u8>),
    MessageSetSubject(Vec<u8>),
    MessageSetDate(i64),
    MessageSetMessageId(Vec<u8>),
    MessageAddHeader(Vec<u8>, Vec<u8>),
    MessageRemoveHeader(Vec<u8>),
    MessageSetText(Vec<u8>),
    MessageSetTextAs(Vec<u8>, Vec<u8>),
    MessageSetHtml(Vec<u8>),
    MessageSetMimeBody(Vec<u8>, Vec<u8>),
    MessageSetCharset(Vec<u8>),
    MessageAttachBytes(Vec<u8>, Vec<u8>, Vec<u8>),
    MessageEmbedBytes(Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>),
    MessageRender(u16),
    MessageClone,
    WpAddTo(Vec<u8>),
    WpSetSubject(Vec<u8>),
    WpSetMessage(Vec<u8>),
    WpAddHeaders(Vec<u8>),
    WpAddHeader(Vec<u8>),
    WpSetSiteDomain(Vec<u8>),
    WpSetDefaultFrom(Vec<u8>, Vec<u8>),
    WpSetDefaultCharset(Vec<u8>),
    WpSetDefaultContentType(Vec<u8>),
    WpParsedValue(u32, u16),
    WpOverride(u32, Vec<u8>),
    WpBuild(u16),
}

/// The C string a C caller would pass for these bytes: up to the first NUL.
fn c(bytes: &[u8]) -> CString {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    CString::new(&bytes[..end]).expect("no NUL before the end")
}

/// Check one fallible call's result and error object, and free the error.
fn checked(what: &str, result: mailport_result, error: *mut mailport_error) -> mailport_result {
    // SAFETY: `error` is NULL or an error object the call just returned, freed once below;
    // the strings read are borrowed from it while it lives.
    unsafe {
        // SAFETY: any code is accepted and the name is static.
        let name = CStr::from_ptr(mailport_result_name(result as u32));
        assert_ne!(
            name.to_bytes(),
            b"MAILPORT_ERR_UNKNOWN",
            "{what}: unknown result"
        );
        assert_ne!(
            result,
            mailport_result::MAILPORT_ERR_PANIC,
            "{what}: panicked"
        );
        if result == mailport_result::MAILPORT_OK {
            assert!(error.is_null(), "{what}: OK with an error object");
            return result;
        }
        assert!(!error.is_null(), "{what}: {name:?} without an error object");
        assert_eq!(
            mailport_error_code(error),
            result,
            "{what}: the error's code"
        );
        let message = CStr::from_ptr(mailport_error_message(error));
        assert!(
            !message.to_bytes().is_empty(),
            "{what}: {name:?} with an empty message"
        );
        assert!(
            std::str::from_utf8(message.to_bytes()).is_ok(),
            "{what}: the message is not UTF-8"
        );
        let _ = CStr::from_ptr(mailport_error_hint(error));
        mailport_error_free(error);
    }
    result
}

/// Call `f` with a fresh `error_out`, then check what it returned.
macro_rules! call {
    ($what:expr, |$err:ident| $body:expr) => {{
        let mut $err: *mut mailport_error = ptr::null_mut();
        let err_out = &mut $err as *mut *mut mailport_error;
        let $err = err_out;
        // SAFETY: the arguments are live handles of this function and CStrings or slices
        // that outlive the call; `error_out` points at a local.
        let result = unsafe { $body };
        // SAFETY: reads back the local the call may have written.
        checked($what, result, unsafe { *err_out })
    }};
}

pub fn check(data: &[u8]) {
    let mut u = Unstructured::new(data);
    // SAFETY: constructors without arguments; each handle is freed at the end.
    let (mut config, mut message, wp) = unsafe {
        (
            mailport_config_new(),
            mailport_message_new(),
            mailport_wp_mail_new(),
        )
    };
    assert!(!config.is_null() && !message.is_null() && !wp.is_null());
    for _ in 0..32 {
        let Ok(op) = Op::arbitrary(&mut u) else { break };
        run(op, &mut config, &mut message, wp);
    }
    // SAFETY: the handles made above (or replacing them), each freed once.
    unsafe {
        mailport_config_free(config);
        mailport_message_free(message);
        mailport_wp_mail_free(wp);
    }
}

fn run(
    op: Op,
    config: &mut *mut mailport_config,
    message: &mut *mut mailport_message,
    wp: *mut mailport_wp_mail,
) {
    let (cfg, msg) = (*config, *message);
    match op {
        Op::ConfigFromUrl(url) => {
            let url = c(&url);
            let mut out: *mut mailport_config = ptr::null_mut();
            let r = call!("config_from_url", |e| mailport_config_from_url(
                url.as_ptr(),
                &mut out,
                e
            ));
            if r == mailport_result::MAILPORT_OK {
                assert!(!out.is_null());
                // SAFETY: the old config is ours and replaced by the new one.
                unsafe { mailport_config_free(*config) };
                *config = out;
            } else {
                assert!(out.is_null(), "config_from_url failed but gave a config");
            }
        }
        Op::ConfigSetHost(s) => {
            let s = c(&s);
            call!("config_set_host", |e| mailport_config_set_host(
                cfg,
                s.as_ptr(),
                e
            ));
        }
        Op::ConfigSetPort(p) => {
            call!("config_set_port", |e| mailport_config_set_port(cfg, p, e));
        }
        Op::ConfigSetSecurity(s) => {
            call!("config_set_security", |e| mailport_config_set_security(
                cfg, s, e
            ));
        }
        Op::ConfigSetCredentials(u, p) => {
            let (u, p) = (c(&u), c(&p));
            call!("config_set_credentials", |e| {
                mailport_config_set_credentials(cfg, u.as_ptr(), p.as_ptr(), e)
            });
        }
        Op::ConfigSetPassword(p) => {
            let p = c(&p);
            call!("config_set_password", |e| mailport_config_set_password(
                cfg,
                p.as_ptr(),
                e
            ));
        }
        Op::ConfigSetOauth2Token(u, t) => {
            let (u, t) = (c(&u), c(&t));
            call!("config_set_oauth2_token", |e| {
                mailport_config_set_oauth2_token(cfg, u.as_ptr(), t.as_ptr(), e)
            });
        }
        Op::ConfigSetOauthRefresh(u, provider, id, secret, token) => {
            let (u, id, secret, token) = (c(&u), c(&id), c(&secret), c(&token));
            // An empty secret is passed as NULL: public clients have none.
            let secret_ptr: *const c_char = if secret.as_bytes().is_empty() {
                ptr::null()
            } else {
                secret.as_ptr()
            };
            call!("config_set_oauth_refresh", |e| {
                mailport_config_set_oauth_refresh(
                    cfg,
                    u.as_ptr(),
                    provider,
                    id.as_ptr(),
                    secret_ptr,
                    token.as_ptr(),
                    e,
                )
            });
        }
        Op::ConfigSetOauthTenant(s) => {
            let s = c(&s);
            call!("config_set_oauth_tenant", |e| {
                mailport_config_set_oauth_tenant(cfg, s.as_ptr(), e)
            });
        }
        Op::ConfigSetOauthTokenUrl(s) => {
            let s = c(&s);
            call!("config_set_oauth_token_url", |e| {
                mailport_config_set_oauth_token_url(cfg, s.as_ptr(), e)
            });
        }
        Op::ConfigSetOauthScope(s) => {
            let s = c(&s);
            call!("config_set_oauth_scope", |e| {
                mailport_config_set_oauth_scope(cfg, s.as_ptr(), e)
            });
        }
        Op::ConfigSetAuthMechanism(s) => {
            let s = c(&s);
            call!("config_set_auth_mechanism", |e| {
                mailport_config_set_auth_mechanism(cfg, s.as_ptr(), e)
            });
        }
        Op::ConfigSetHeloName(s) => {
            let s = c(&s);
            call!("config_set_helo_name", |e| mailport_config_set_helo_name(
                cfg,
                s.as_ptr(),
                e
            ));
        }
        Op::ConfigSetTlsServerName(s) => {
            let s = c(&s);
            call!("config_set_tls_server_name", |e| {
                mailport_config_set_tls_server_name(cfg, s.as_ptr(), e)
            });
        }
        Op::ConfigAddCaPem(pem) => {
            call!("config_add_ca_pem", |e| mailport_config_add_ca_pem(
                cfg,
                pem.as_ptr().cast(),
                pem.len(),
                e
            ));
        }
        Op::ConfigSetBinding(s) => {
            let s = c(&s);
            call!("config_set_binding", |e| mailport_config_set_binding(
                cfg,
                s.as_ptr(),
                e
            ));
        }
        Op::MessageSetFrom(s) => {
            let s = c(&s);
            call!("message_set_from", |e| mailport_message_set_from(
                msg,
                s.as_ptr(),
                e
            ));
        }
        Op::MessageSetFromParts(n, a) => {
            let (n, a) = (c(&n), c(&a));
            call!("message_set_from_parts", |e| {
                mailport_message_set_from_parts(msg, n.as_ptr(), a.as_ptr(), e)
            });
        }
        Op::MessageAddMailboxParts(field, n, a) => {
            let (n, a) = (c(&n), c(&a));
            call!("message_add_mailbox_parts", |e| {
                mailport_message_add_mailbox_parts(msg, field, n.as_ptr(), a.as_ptr(), e)
            });
        }
        Op::MessageSetSender(s) => {
            let s = c(&s);
            call!("message_set_sender", |e| mailport_message_set_sender(
                msg,
                s.as_ptr(),
                e
            ));
        }
        Op::MessageAddReplyTo(s) => {
            let s = c(&s);
            call!("message_add_reply_to", |e| mailport_message_add_reply_to(
                msg,
                s.as_ptr(),
                e
            ));
        }
        Op::MessageAddTo(s) => {
            let s = c(&s);
            call!("message_add_to", |e| mailport_message_add_to(
                msg,
                s.as_ptr(),
                e
            ));
        }
        Op::MessageAddCc(s) => {
            let s = c(&s);
            call!("message_add_cc", |e| mailport_message_add_cc(
                msg,
                s.as_ptr(),
                e
            ));
        }
        Op::MessageAddBcc(s) => {
            let s = c(&s);
            call!("message_add_bcc", |e| mailport_message_add_bcc(
                msg,
                s.as_ptr(),
                e
            ));
        }
        Op::MessageSetEnvelopeFrom(s) => {
            let s = c(&s);
            call!("message_set_envelope_from", |e| {
                mailport_message_set_envelope_from(msg, s.as_ptr(), e)
            });
        }
        Op::MessageSetSubject(s) => {
            let s = c(&s);
            call!("message_set_subject", |e| mailport_message_set_subject(
                msg,
                s.as_ptr(),
                e
            ));
        }
        Op::MessageSetDate(t) => {
            call!("message_set_date", |e| mailport_message_set_date(msg, t, e));
        }
        Op::MessageSetMessageId(s) => {
            let s = c(&s);
            call!("message_set_message_id", |e| {
                mailport_message_set_message_id(msg, s.as_ptr(), e)
            });
        }
        Op::MessageAddHeader(n, v) => {
            let (n, v) = (c(&n), c(&v));
            call!("message_add_header", |e| mailport_message_add_header(
                msg,
                n.as_ptr(),
                v.as_ptr(),
                e
            ));
        }
        Op::MessageRemoveHeader(n) => {
            let n = c(&n);
            // SAFETY: a live message and a CString that outlives the call.
            unsafe { mailport_message_remove_header(msg, n.as_ptr()) };
        }
        Op::MessageSetText(s) => {
            let s = c(&s);
            call!("message_set_text", |e| mailport_message_set_text(
                msg,
                s.as_ptr(),
                e
            ));
        }
        Op::MessageSetTextAs(t, s) => {
            let (t, s) = (c(&t), c(&s));
            call!("message_set_text_as", |e| mailport_message_set_text_as(
                msg,
                t.as_ptr(),
                s.as_ptr(),
                e
            ));
        }
        Op::MessageSetHtml(s) => {
            let s = c(&s);
            call!("message_set_html", |e| mailport_message_set_html(
                msg,
                s.as_ptr(),
                e
            ));
        }
        Op::MessageSetMimeBody(t, body) => {
            let t = c(&t);
            call!("message_set_mime_body", |e| mailport_message_set_mime_body(
                msg,
                t.as_ptr(),
                body.as_ptr().cast(),
                body.len(),
                e
            ));
        }
        Op::MessageSetCharset(s) => {
            let s = c(&s);
            call!("message_set_charset", |e| mailport_message_set_charset(
                msg,
                s.as_ptr(),
                e
            ));
        }
        Op::MessageAttachBytes(name, ctype, data) => {
            let (name, ctype) = (c(&name), c(&ctype));
            call!("message_attach_bytes", |e| mailport_message_attach_bytes(
                msg,
                name.as_ptr(),
                ctype.as_ptr(),
                data.as_ptr().cast(),
                data.len(),
                e
            ));
        }
        Op::MessageEmbedBytes(cid, name, ctype, data) => {
            let (cid, name, ctype) = (c(&cid), c(&name), c(&ctype));
            call!("message_embed_bytes", |e| mailport_message_embed_bytes(
                msg,
                cid.as_ptr(),
                name.as_ptr(),
                ctype.as_ptr(),
                data.as_ptr().cast(),
                data.len(),
                e
            ));
        }
        Op::MessageRender(len) => render(msg, usize::from(len)),
        Op::MessageClone => {
            let mut out: *mut mailport_message = ptr::null_mut();
            let r = call!("message_clone", |e| mailport_message_clone(
                msg, &mut out, e
            ));
            assert_eq!(r, mailport_result::MAILPORT_OK);
            // SAFETY: the clone replaces the message it was made from, which is freed.
            unsafe { mailport_message_free(*message) };
            *message = out;
        }
        Op::WpAddTo(s) => {
            let s = c(&s);
            call!("wp_mail_add_to", |e| mailport_wp_mail_add_to(
                wp,
                s.as_ptr(),
                e
            ));
        }
        Op::WpSetSubject(s) => {
            let s = c(&s);
            call!("wp_mail_set_subject", |e| mailport_wp_mail_set_subject(
                wp,
                s.as_ptr(),
                e
            ));
        }
        Op::WpSetMessage(s) => {
            let s = c(&s);
            call!("wp_mail_set_message", |e| mailport_wp_mail_set_message(
                wp,
                s.as_ptr(),
                e
            ));
        }
        Op::WpAddHeaders(s) => {
            let s = c(&s);
            call!("wp_mail_add_headers", |e| mailport_wp_mail_add_headers(
                wp,
                s.as_ptr(),
                e
            ));
        }
        Op::WpAddHeader(s) => {
            let s = c(&s);
            call!("wp_mail_add_header", |e| mailport_wp_mail_add_header(
                wp,
                s.as_ptr(),
                e
            ));
        }
        Op::WpSetSiteDomain(s) => {
            let s = c(&s);
            call!("wp_mail_set_site_domain", |e| {
                mailport_wp_mail_set_site_domain(wp, s.as_ptr(), e)
            });
        }
        Op::WpSetDefaultFrom(a, n) => {
            let (a, n) = (c(&a), c(&n));
            call!("wp_mail_set_default_from", |e| {
                mailport_wp_mail_set_default_from(wp, a.as_ptr(), n.as_ptr(), e)
            });
        }
        Op::WpSetDefaultCharset(s) => {
            let s = c(&s);
            call!("wp_mail_set_default_charset", |e| {
                mailport_wp_mail_set_default_charset(wp, s.as_ptr(), e)
            });
        }
        Op::WpSetDefaultContentType(s) => {
            let s = c(&s);
            call!("wp_mail_set_default_content_type", |e| {
                mailport_wp_mail_set_default_content_type(wp, s.as_ptr(), e)
            });
        }
        Op::WpParsedValue(which, len) => {
            let len = usize::from(len % 512);
            // One byte past what the call may write, to catch a write beyond `len`.
            let mut buf = vec![0xAAu8; len + 1];
            let mut n = usize::MAX;
            let r = call!("wp_mail_parsed_value", |e| mailport_wp_mail_parsed_value(
                wp,
                which,
                if len == 0 {
                    ptr::null_mut()
                } else {
                    buf.as_mut_ptr().cast()
                },
                len,
                &mut n,
                e
            ));
            assert_eq!(buf[len], 0xAA, "wp_mail_parsed_value wrote past len");
            if r == mailport_result::MAILPORT_OK {
                assert!(
                    n < len,
                    "OK but the text ({n}) and its NUL do not fit {len}"
                );
                assert_eq!(buf[n], 0, "no NUL after the text");
            }
        }
        Op::WpOverride(which, s) => {
            let s = c(&s);
            call!("wp_mail_override", |e| mailport_wp_mail_override(
                wp,
                which,
                s.as_ptr(),
                e
            ));
        }
        Op::WpBuild(len) => {
            let mut out: *mut mailport_message = ptr::null_mut();
            let r = call!("wp_mail_build", |e| mailport_wp_mail_build(wp, &mut out, e));
            if r == mailport_result::MAILPORT_OK {
                assert!(!out.is_null());
                render(out, usize::from(len));
                // SAFETY: the message the build returned, freed once.
                unsafe { mailport_message_free(out) };
            } else {
                assert!(out.is_null(), "wp_mail_build failed but gave a message");
            }
        }
    }
}

/// Render into a buffer of `len` bytes (NULL when 0), then, when it did not fit, into one of
/// the size the call gave.
fn render(msg: *const mailport_message, len: usize) {
    let len = len % 4096;
    let mut buf = vec![0xAAu8; len + 1];
    let mut n = usize::MAX;
    let r = call!("message_render", |e| mailport_message_render(
        msg,
        if len == 0 {
            ptr::null_mut()
        } else {
            buf.as_mut_ptr()
        },
        len,
        &mut n,
        e
    ));
    assert_eq!(buf[len], 0xAA, "message_render wrote past len");
    match r {
        mailport_result::MAILPORT_OK => assert!(n <= len),
        mailport_result::MAILPORT_ERR_BUFFER_TOO_SMALL => {
            assert!(n > len, "too small, yet the message ({n}) fits {len}");
            let mut full = vec![0u8; n];
            let mut m = 0;
            let r = call!("message_render", |e| mailport_message_render(
                msg,
                full.as_mut_ptr(),
                full.len(),
                &mut m,
                e
            ));
            // The length changes by a byte if the date's second ticks between the calls.
            assert!(
                r == mailport_result::MAILPORT_OK
                    || r == mailport_result::MAILPORT_ERR_BUFFER_TOO_SMALL,
                "render into its own size: {r:?}"
            );
        }
        _ => {}
    }
}
