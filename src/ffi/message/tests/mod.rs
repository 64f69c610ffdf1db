//! Tests of the message functions through their C signatures.

use super::*;
use crate::ffi::boundary::PANIC_IN_NEXT_CALL;
use crate::ffi::test_support::{run, text};
use crate::ffi::{
    mailport_error_free, mailport_error_invalid_address_count,
    mailport_error_invalid_address_field, mailport_error_invalid_address_input,
};
use crate::message::Charset;

use std::ffi::c_char;
use std::ptr;

use mailport_result::*;

/// A message freed on drop.
struct Msg(*mut mailport_message);
impl Msg {
    fn new() -> Msg {
        // SAFETY: no arguments.
        let m = unsafe { mailport_message_new() };
        assert!(!m.is_null());
        Msg(m)
    }
    fn get(&self) -> &Message {
        // SAFETY: the pointer is live until drop.
        unsafe { &(*self.0).0 }
    }
    /// The message's state, to check that a failed setter changed nothing.
    fn state(&self) -> String {
        format!("{:?}", self.get())
    }
    fn render(&self) -> Vec<u8> {
        let mut n = 0;
        // SAFETY: `self.0` is live; the sizing call writes nothing.
        let rc =
            unsafe { mailport_message_render(self.0, ptr::null_mut(), 0, &mut n, ptr::null_mut()) };
        assert_eq!(rc, MAILPORT_ERR_BUFFER_TOO_SMALL);
        let mut buf = vec![0u8; n];
        let mut n2 = 0;
        // SAFETY: `buf` is writable for `n` bytes.
        let (rc, m) =
            run(|e| unsafe { mailport_message_render(self.0, buf.as_mut_ptr(), n, &mut n2, e) });
        assert_eq!(rc, MAILPORT_OK, "{m}");
        assert_eq!(n2, n);
        buf
    }
}
impl Drop for Msg {
    fn drop(&mut self) {
        // SAFETY: made by mailport, freed once.
        unsafe { mailport_message_free(self.0) };
    }
}

type Call<'a> = Box<dyn Fn(*mut *mut mailport_error) -> mailport_result + 'a>;

/// Every fallible setter with `message` and valid other arguments (all strings `s`).
fn every_setter<'a>(message: *mut mailport_message, s: *const c_char) -> Vec<(&'a str, Call<'a>)> {
    let data = b"x".as_ptr();
    // SAFETY: in every closure, the caller passes a live message or NULL, `s` is a
    // NUL-terminated string, `data` is readable for 1 byte.
    unsafe {
        vec![
            (
                "set_from",
                Box::new(move |e| mailport_message_set_from(message, s, e)),
            ),
            (
                "set_from_parts",
                Box::new(move |e| mailport_message_set_from_parts(message, s, s, e)),
            ),
            (
                "set_sender",
                Box::new(move |e| mailport_message_set_sender(message, s, e)),
            ),
            (
                "add_reply_to",
                Box::new(move |e| mailport_message_add_reply_to(message, s, e)),
            ),
            (
                "add_to",
                Box::new(move |e| mailport_message_add_to(message, s, e)),
            ),
            (
                "add_cc",
                Box::new(move |e| mailport_message_add_cc(message, s, e)),
            ),
            (
                "add_bcc",
                Box::new(move |e| mailport_message_add_bcc(message, s, e)),
            ),
            (
                "add_mailbox_parts",
                Box::new(move |e| mailport_message_add_mailbox_parts(message, 1, s, s, e)),
            ),
            (
                "set_envelope_from",
                Box::new(move |e| mailport_message_set_envelope_from(message, s, e)),
            ),
            (
                "set_subject",
                Box::new(move |e| mailport_message_set_subject(message, s, e)),
            ),
            (
                "set_date",
                Box::new(move |e| mailport_message_set_date(message, 0, e)),
            ),
            (
                "set_message_id",
                Box::new(move |e| mailport_message_set_message_id(message, s, e)),
            ),
            (
                "add_header",
                Box::new(move |e| mailport_message_add_header(message, s, s, e)),
            ),
            (
                "set_text",
                Box::new(move |e| mailport_message_set_text(message, s, e)),
            ),
            (
                "set_text_as",
                Box::new(move |e| mailport_message_set_text_as(message, s, s, e)),
            ),
            (
                "set_html",
                Box::new(move |e| mailport_message_set_html(message, s, e)),
            ),
            (
                "set_mime_body",
                Box::new(move |e| mailport_message_set_mime_body(message, s, data.cast(), 1, e)),
            ),
            (
                "set_charset",
                Box::new(move |e| mailport_message_set_charset(message, s, e)),
            ),
            (
                "attach_file",
                Box::new(move |e| mailport_message_attach_file(message, s, s, s, e)),
            ),
            (
                "attach_bytes",
                Box::new(move |e| mailport_message_attach_bytes(message, s, s, data.cast(), 1, e)),
            ),
            (
                "embed_file",
                Box::new(move |e| mailport_message_embed_file(message, s, s, s, e)),
            ),
            (
                "embed_bytes",
                Box::new(move |e| {
                    mailport_message_embed_bytes(message, s, s, s, data.cast(), 1, e)
                }),
            ),
        ]
    }
}

mod arguments;
mod behaviour;
mod render;
