//! Helpers shared by the C ABI's unit tests.

use std::ffi::{CStr, c_char};
use std::ptr;

use super::error::{
    mailport_error, mailport_error_code, mailport_error_free, mailport_error_message,
    mailport_result,
};

/// Run `call` with an error out-parameter; return its code and the error's message. Checks the
/// out-parameter convention on the way: NULL on success, an object with the same code otherwise.
pub(crate) fn run(
    call: impl FnOnce(*mut *mut mailport_error) -> mailport_result,
) -> (mailport_result, String) {
    let mut err: *mut mailport_error = ptr::dangling_mut();
    let rc = call(&mut err);
    if rc == mailport_result::MAILPORT_OK {
        assert!(err.is_null(), "error_out must be NULL on success");
        return (rc, String::new());
    }
    assert!(!err.is_null());
    // SAFETY: `err` was just produced by mailport.
    unsafe {
        assert_eq!(mailport_error_code(err), rc);
        let message = text(mailport_error_message(err));
        mailport_error_free(err);
        (rc, message)
    }
}

/// A string mailport returned, copied.
pub(crate) fn text(p: *const c_char) -> String {
    assert!(!p.is_null());
    // SAFETY: mailport returns valid NUL-terminated UTF-8.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string()
}
