//! `mailport_receipt_*`: what a successful send returns.

use std::ffi::{CString, c_char};
use std::sync::OnceLock;

use super::config::mailport_security;
use super::error::{RejectedC, c_text, reply_parts};
use crate::client::Receipt;

/// What the server said when it accepted a message: reply, accepted and refused recipients, and
/// how the connection was secured.
///
/// Returned by `mailport_client_send` and `mailport_client_send_raw` on success; owned by the
/// caller and freed with `mailport_receipt_free`. Immutable: every accessor may be called from
/// any thread, and the strings it returns are borrowed from the receipt, NUL-terminated UTF-8,
/// and valid until the receipt is freed.
///
/// Functions: mailport_receipt_reply_code, mailport_receipt_enhanced_status,
/// mailport_receipt_server_reply, mailport_receipt_accepted_count, mailport_receipt_accepted,
/// mailport_receipt_rejected_count, mailport_receipt_rejected_address,
/// mailport_receipt_rejected_reply_code, mailport_receipt_rejected_reply, mailport_receipt_port,
/// mailport_receipt_security, mailport_receipt_tls_version, mailport_receipt_tls_cipher,
/// mailport_receipt_tls_resumed, mailport_receipt_size, mailport_receipt_message_id,
/// mailport_receipt_free.
pub struct mailport_receipt {
    receipt: Receipt,
    /// The strings as C reads them, made on the first string read: a sender in a loop that
    /// reads none (or only numbers) does not pay for copying them (docs/performance/cpu-path.md).
    text: OnceLock<ReceiptText>,
}

struct ReceiptText {
    enhanced_status: CString,
    server_reply: CString,
    accepted: Vec<CString>,
    rejected: Vec<RejectedC>,
    tls_version: CString,
    tls_cipher: CString,
    /// The Message-ID of a built message, "" for raw sends.
    message_id: CString,
}

impl From<Receipt> for mailport_receipt {
    fn from(receipt: Receipt) -> mailport_receipt {
        mailport_receipt {
            receipt,
            text: OnceLock::new(),
        }
    }
}

impl mailport_receipt {
    /// The C strings, made once; `OnceLock` lets readers on several threads share them.
    fn text(&self) -> &ReceiptText {
        self.text.get_or_init(|| {
            let receipt = &self.receipt;
            let (_, enhanced_status, server_reply) = reply_parts(&receipt.reply);
            let (tls_version, tls_cipher) = match &receipt.tls {
                Some(tls) => (c_text(&tls.version), c_text(&tls.cipher)),
                None => (CString::default(), CString::default()),
            };
            ReceiptText {
                enhanced_status,
                server_reply,
                accepted: receipt.accepted.iter().map(c_text).collect(),
                rejected: RejectedC::list(&receipt.rejected),
                tls_version,
                tls_cipher,
                message_id: c_text(receipt.message_id.as_deref().unwrap_or("")),
            }
        })
    }
}

/// Return the code of the server's final reply to the message (usually 250).
///
/// **NULL:** `receipt` may be NULL: returns 0.
///
/// # Safety
///
/// `receipt` must be NULL or a receipt from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_receipt_reply_code(receipt: *const mailport_receipt) -> u16 {
    getter!(receipt, 0, |r| r.receipt.reply.code())
}

/// Return the enhanced status code of the final reply (e.g. "2.0.0"), or "".
///
/// **Ownership:** borrowed from `receipt`, valid until `mailport_receipt_free(receipt)`.
///
/// **NULL:** `receipt` may be NULL: returns "". Never returns NULL.
///
/// # Safety
///
/// `receipt` must be NULL or a receipt from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_receipt_enhanced_status(
    receipt: *const mailport_receipt,
) -> *const c_char {
    getter!(receipt, c"".as_ptr(), |r| r.text().enhanced_status.as_ptr())
}

/// Return the text of the final reply, verbatim; it usually carries the server's queue id
/// ("Ok: queued as 4Fx2Q").
///
/// **Ownership:** borrowed from `receipt`, valid until `mailport_receipt_free(receipt)`.
///
/// **NULL:** `receipt` may be NULL: returns "". Never returns NULL.
///
/// # Safety
///
/// `receipt` must be NULL or a receipt from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_receipt_server_reply(
    receipt: *const mailport_receipt,
) -> *const c_char {
    getter!(receipt, c"".as_ptr(), |r| r.text().server_reply.as_ptr())
}

/// Return how many recipients the server accepted.
///
/// **NULL:** `receipt` may be NULL: returns 0.
///
/// # Safety
///
/// `receipt` must be NULL or a receipt from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_receipt_accepted_count(
    receipt: *const mailport_receipt,
) -> usize {
    getter!(receipt, 0, |r| r.receipt.accepted.len())
}

/// Return the `index`-th accepted recipient (0-based), in the order given to the send.
///
/// **Ownership:** borrowed from `receipt`, valid until `mailport_receipt_free(receipt)`.
///
/// **NULL:** returns NULL when `receipt` is NULL or `index` is out of range.
///
/// # Safety
///
/// `receipt` must be NULL or a receipt from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_receipt_accepted(
    receipt: *const mailport_receipt,
    index: usize,
) -> *const c_char {
    getter!(receipt, std::ptr::null(), |r| r
        .text()
        .accepted
        .get(index)
        .map_or(std::ptr::null(), |a| a.as_ptr()))
}

/// Return how many recipients the server refused; non-zero only when partial delivery was
/// allowed (`mailport_config_set_allow_partial_recipients`).
///
/// **NULL:** `receipt` may be NULL: returns 0.
///
/// # Safety
///
/// `receipt` must be NULL or a receipt from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_receipt_rejected_count(
    receipt: *const mailport_receipt,
) -> usize {
    getter!(receipt, 0, |r| r.receipt.rejected.len())
}

/// Return the address of the `index`-th refused recipient (0-based).
///
/// **Ownership:** borrowed from `receipt`, valid until `mailport_receipt_free(receipt)`.
///
/// **NULL:** returns NULL when `receipt` is NULL or `index` is out of range.
///
/// # Safety
///
/// `receipt` must be NULL or a receipt from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_receipt_rejected_address(
    receipt: *const mailport_receipt,
    index: usize,
) -> *const c_char {
    getter!(receipt, std::ptr::null(), |r| r
        .text()
        .rejected
        .get(index)
        .map_or(std::ptr::null(), |x| x.address.as_ptr()))
}

/// Return the reply code the server gave the `index`-th refused recipient (e.g. 550).
///
/// **NULL:** returns 0 when `receipt` is NULL or `index` is out of range.
///
/// # Safety
///
/// `receipt` must be NULL or a receipt from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_receipt_rejected_reply_code(
    receipt: *const mailport_receipt,
    index: usize,
) -> u16 {
    getter!(receipt, 0, |r| r
        .receipt
        .rejected
        .get(index)
        .map_or(0, |x| x.reply.code()))
}

/// Return the reply text the server gave the `index`-th refused recipient, verbatim.
///
/// **Ownership:** borrowed from `receipt`, valid until `mailport_receipt_free(receipt)`.
///
/// **NULL:** returns NULL when `receipt` is NULL or `index` is out of range.
///
/// # Safety
///
/// `receipt` must be NULL or a receipt from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_receipt_rejected_reply(
    receipt: *const mailport_receipt,
    index: usize,
) -> *const c_char {
    getter!(receipt, std::ptr::null(), |r| r
        .text()
        .rejected
        .get(index)
        .map_or(std::ptr::null(), |x| x.reply.as_ptr()))
}

/// Return the TCP port the message was sent to: the port actually used, which with
/// `MAILPORT_PORT_AUTO` is the one chosen automatically.
///
/// **NULL:** `receipt` may be NULL: returns 0.
///
/// # Safety
///
/// `receipt` must be NULL or a receipt from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_receipt_port(receipt: *const mailport_receipt) -> u16 {
    getter!(receipt, 0, |r| r.receipt.port)
}

/// Return the security actually in effect, a `mailport_security` value: never
/// `MAILPORT_SECURITY_AUTO`; `MAILPORT_SECURITY_OPPORTUNISTIC` means STARTTLS was offered and
/// used (check `mailport_receipt_tls_version`).
///
/// **NULL:** `receipt` may be NULL: returns 0.
///
/// # Safety
///
/// `receipt` must be NULL or a receipt from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_receipt_security(receipt: *const mailport_receipt) -> u32 {
    getter!(receipt, 0, |r| {
        mailport_security::from_core(r.receipt.security) as u32
    })
}

/// Return the TLS protocol version used (e.g. "TLSv1.3"), or "" when the connection was not
/// encrypted.
///
/// **Ownership:** borrowed from `receipt`, valid until `mailport_receipt_free(receipt)`.
///
/// **NULL:** `receipt` may be NULL: returns "". Never returns NULL.
///
/// # Safety
///
/// `receipt` must be NULL or a receipt from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_receipt_tls_version(
    receipt: *const mailport_receipt,
) -> *const c_char {
    getter!(receipt, c"".as_ptr(), |r| r.text().tls_version.as_ptr())
}

/// Return the TLS cipher suite used (e.g. "TLS13_AES_256_GCM_SHA384"), or "" when the connection
/// was not encrypted.
///
/// **Ownership:** borrowed from `receipt`, valid until `mailport_receipt_free(receipt)`.
///
/// **NULL:** `receipt` may be NULL: returns "". Never returns NULL.
///
/// # Safety
///
/// `receipt` must be NULL or a receipt from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_receipt_tls_cipher(
    receipt: *const mailport_receipt,
) -> *const c_char {
    getter!(receipt, c"".as_ptr(), |r| r.text().tls_cipher.as_ptr())
}

/// Return whether the TLS session was resumed from an earlier connection of the same process
/// (an abbreviated handshake), false when it was a full handshake or not encrypted.
///
/// **NULL:** `receipt` may be NULL: returns false.
///
/// # Safety
///
/// `receipt` must be NULL or a receipt from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_receipt_tls_resumed(receipt: *const mailport_receipt) -> bool {
    getter!(receipt, false, |r| {
        r.receipt.tls.as_ref().is_some_and(|tls| tls.resumed)
    })
}

/// Return the size of the message in bytes, as submitted.
///
/// **NULL:** `receipt` may be NULL: returns 0.
///
/// # Safety
///
/// `receipt` must be NULL or a receipt from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_receipt_size(receipt: *const mailport_receipt) -> u64 {
    getter!(receipt, 0, |r| r.receipt.size)
}

/// Return the Message-ID the message was sent with, angle brackets included
/// ("<4f1c...@example.org>"): the one set with `mailport_message_set_message_id`, or the one
/// mailport generated. "" for a receipt from `mailport_client_send_raw`, which does not parse the
/// message.
///
/// **Ownership:** borrowed from `receipt`, valid until `mailport_receipt_free(receipt)`.
///
/// **NULL:** `receipt` may be NULL: returns "". Never returns NULL.
///
/// # Safety
///
/// `receipt` must be NULL or a receipt from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_receipt_message_id(
    receipt: *const mailport_receipt,
) -> *const c_char {
    getter!(receipt, c"".as_ptr(), |r| r.text().message_id.as_ptr())
}

/// Free a receipt.
///
/// **Ownership:** takes back the receipt; every string borrowed from it becomes invalid.
///
/// **NULL:** `receipt` may be NULL (nothing happens).
///
/// # Safety
///
/// `receipt` must be NULL or a receipt from mailport that has not been freed. Must not be called
/// twice with the same value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_receipt_free(receipt: *mut mailport_receipt) {
    ffi_boundary!({
        if !receipt.is_null() {
            // SAFETY: the caller passes a receipt mailport boxed and has not freed yet.
            drop(unsafe { Box::from_raw(receipt) });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Security;
    use crate::error::RejectedRecipient;
    use crate::ffi::test_support::text;
    use crate::smtp::reply::Reply;
    use crate::tls::TlsInfo;

    use std::ptr;

    fn reply(code: u16, text: &str) -> Reply {
        Reply::new(code, text.lines().map(String::from).collect())
    }

    fn receipt() -> *mut mailport_receipt {
        Box::into_raw(Box::new(mailport_receipt::from(Receipt {
            reply: reply(250, "2.0.0 Ok: queued as 4Fx2Q\0 (NUL inside)"),
            accepted: vec!["ann@example.org".into(), "bob@exämple.org".into()],
            rejected: vec![RejectedRecipient {
                address: "eve@example.org".into(),
                reply: reply(550, "5.1.1 no such user"),
            }],
            port: 587,
            security: Security::StartTls,
            tls: Some(TlsInfo {
                version: "TLSv1.3".into(),
                cipher: "TLS13_AES_256_GCM_SHA384".into(),
                resumed: true,
            }),
            size: 1234,
            message_id: Some("<1@example.org>".into()),
        })))
    }

    #[test]
    fn every_getter_reads_the_receipt() {
        let r = receipt();
        // SAFETY: `r` is a live receipt until the free at the end.
        unsafe {
            // Numbers first: they need no C strings, so none are made yet.
            assert_eq!(mailport_receipt_reply_code(r), 250);
            assert_eq!(mailport_receipt_accepted_count(r), 2);
            assert_eq!(mailport_receipt_rejected_count(r), 1);
            assert_eq!(mailport_receipt_rejected_reply_code(r, 0), 550);
            assert_eq!(mailport_receipt_rejected_reply_code(r, 1), 0);
            assert_eq!(mailport_receipt_port(r), 587);
            assert_eq!(
                mailport_receipt_security(r),
                mailport_security::MAILPORT_SECURITY_STARTTLS as u32
            );
            assert!(mailport_receipt_tls_resumed(r));
            assert_eq!(mailport_receipt_size(r), 1234);
            assert!((*r).text.get().is_none());

            assert_eq!(text(mailport_receipt_enhanced_status(r)), "2.0.0");
            // A NUL cannot travel in a C string: it is shown as U+FFFD, like in errors.
            assert_eq!(
                text(mailport_receipt_server_reply(r)),
                "2.0.0 Ok: queued as 4Fx2Q\u{FFFD} (NUL inside)"
            );
            assert_eq!(text(mailport_receipt_accepted(r, 1)), "bob@exämple.org");
            assert!(mailport_receipt_accepted(r, 2).is_null());
            assert_eq!(
                text(mailport_receipt_rejected_address(r, 0)),
                "eve@example.org"
            );
            assert_eq!(
                text(mailport_receipt_rejected_reply(r, 0)),
                "5.1.1 no such user"
            );
            assert!(mailport_receipt_rejected_address(r, 1).is_null());
            assert_eq!(text(mailport_receipt_tls_version(r)), "TLSv1.3");
            assert_eq!(
                text(mailport_receipt_tls_cipher(r)),
                "TLS13_AES_256_GCM_SHA384"
            );
            assert_eq!(text(mailport_receipt_message_id(r)), "<1@example.org>");
            mailport_receipt_free(r);
        }
    }

    #[test]
    fn threads_reading_at_once_get_the_same_strings() {
        let r = receipt() as usize;
        let pointers: Vec<(usize, usize)> = std::thread::scope(|s| {
            let readers: Vec<_> = (0..4)
                .map(|_| {
                    // SAFETY: the receipt is freed only after every reader has joined.
                    s.spawn(move || unsafe {
                        let r = r as *const mailport_receipt;
                        (
                            mailport_receipt_server_reply(r) as usize,
                            mailport_receipt_accepted(r, 0) as usize,
                        )
                    })
                })
                .collect();
            readers.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert!(pointers.windows(2).all(|w| w[0] == w[1]), "{pointers:?}");
        // SAFETY: made by `receipt()`, freed once, after the readers.
        unsafe { mailport_receipt_free(r as *mut mailport_receipt) };
    }

    #[test]
    fn getters_on_null_are_neutral() {
        let r = ptr::null();
        // SAFETY: every getter and the free accept NULL.
        unsafe {
            assert_eq!(mailport_receipt_reply_code(r), 0);
            assert_eq!(text(mailport_receipt_enhanced_status(r)), "");
            assert_eq!(text(mailport_receipt_server_reply(r)), "");
            assert_eq!(mailport_receipt_accepted_count(r), 0);
            assert!(mailport_receipt_accepted(r, 0).is_null());
            assert_eq!(mailport_receipt_rejected_count(r), 0);
            assert!(mailport_receipt_rejected_address(r, 0).is_null());
            assert_eq!(mailport_receipt_rejected_reply_code(r, 0), 0);
            assert!(mailport_receipt_rejected_reply(r, 0).is_null());
            assert_eq!(mailport_receipt_port(r), 0);
            assert_eq!(mailport_receipt_security(r), 0);
            assert_eq!(text(mailport_receipt_tls_version(r)), "");
            assert_eq!(text(mailport_receipt_tls_cipher(r)), "");
            assert!(!mailport_receipt_tls_resumed(r));
            assert_eq!(mailport_receipt_size(r), 0);
            assert_eq!(text(mailport_receipt_message_id(r)), "");
            mailport_receipt_free(ptr::null_mut());
        }
    }
}
