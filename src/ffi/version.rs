//! `mailport_version`, `mailport_abi_version`, and `mailport_string_free` for owned strings.
//!
//! Functions: mailport_version, mailport_abi_version, mailport_string_free.

use std::ffi::{CString, c_char};

mod generated {
    include!(concat!(env!("OUT_DIR"), "/version.rs"));
}

/// Return the library's version string, e.g. "mailport/0.1.0 rustls/0.23.46 ring".
///
/// For logs and bug reports; compare `mailport_abi_version()` to check compatibility.
///
/// **Ownership:** static: never freed, valid for the life of the process.
///
/// **NULL:** never returns NULL.
///
/// **Thread safety:** may be called from any thread at any time.
///
/// # Safety
///
/// None.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_version() -> *const c_char {
    ffi_boundary!({ generated::VERSION.as_ptr() })
}

/// Return the ABI generation of the loaded library.
///
/// A program built against `mailport.h` should check that it equals `MAILPORT_ABI_VERSION`;
/// the Python and PHP bindings refuse to load a library whose value differs from theirs. The ABI
/// is not stable before 1.0: any incompatible change increments it.
///
/// **Thread safety:** may be called from any thread at any time.
///
/// # Safety
///
/// None.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_abi_version() -> u32 {
    ffi_boundary!({ generated::ABI_VERSION })
}

/// Free a string that a mailport function handed to the caller as owned (the functions whose
/// documentation says "free with mailport_string_free", e.g. `mailport_client_transcript_copy`).
///
/// **Ownership:** takes back the string. Never pass a borrowed string (from an error or
/// receipt accessor) or one allocated by anything else.
///
/// **NULL:** `s` may be NULL (nothing happens).
///
/// # Safety
///
/// `s` must be NULL or a string returned as owned by mailport that has not been freed. Must not
/// be called twice with the same value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_string_free(s: *mut c_char) {
    ffi_boundary!({
        if !s.is_null() {
            // SAFETY: owned strings are made with `CString::into_raw`, and the caller hands back
            // one that has not been freed.
            drop(unsafe { CString::from_raw(s) });
        }
    })
}

/// Hand `text` to C as an owned string, freed with `mailport_string_free`.
pub(crate) fn owned_string(text: impl AsRef<str>) -> *mut c_char {
    super::error::c_text(text).into_raw()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn version_names_the_crate_and_the_tls_stack() {
        // SAFETY: no arguments.
        let v = unsafe { CStr::from_ptr(mailport_version()) }
            .to_str()
            .unwrap();
        assert!(
            v.starts_with(&format!("mailport/{} ", env!("CARGO_PKG_VERSION"))),
            "{v}"
        );
        assert!(v.contains("rustls") && v.ends_with(" ring"), "{v}");
        // SAFETY: no arguments. (tests/header.rs checks it against MAILPORT_ABI_VERSION.)
        assert!(unsafe { mailport_abi_version() } >= 1);
    }

    #[test]
    fn owned_strings_round_trip() {
        let s = owned_string("hello");
        // SAFETY: `s` is a live owned string.
        unsafe {
            assert_eq!(CStr::from_ptr(s).to_str().unwrap(), "hello");
            mailport_string_free(s);
            mailport_string_free(std::ptr::null_mut());
        }
    }
}
