//! The panic boundary and the argument helpers every exported function uses.
//!
//! Two forms of `ffi_boundary!`:
//!
//! - `ffi_boundary!(error_out => { body })` for fallible functions. The body evaluates to
//!   `Result<(), mailport_error>`; `*error_out` is set to NULL on entry; an `Err` is boxed into
//!   `*error_out` and its code returned; a panic becomes `MAILPORT_ERR_PANIC` with an error object
//!   whose message carries the panic payload.
//! - `ffi_boundary!({ body })` for infallible functions (getters, `_free`). A panic returns the
//!   type's [`PanicDefault`]: NULL, 0, false, `""` or `MAILPORT_ERR_PANIC`.
//!
//! `getter!` and `setter!` are the whole body of the simple accessors on a handle.
//!
//! The argument macros (`arg_ref!`, `arg_mut!`, `arg_str!`, `arg_bytes!`, `arg_str_array!`,
//! `out_arg!`) turn raw pointers into references, naming the parameter in the error: NULL gives
//! `MAILPORT_ERR_NULL_ARGUMENT`, invalid UTF-8 gives `MAILPORT_ERR_INVALID_ARGUMENT`. They may
//! only be used inside exported functions whose `# Safety` section makes the caller promise that
//! every non-NULL pointer argument is valid as documented; their `// SAFETY:` notes rely on that.

use std::any::Any;
use std::ffi::{CStr, c_char};
use std::fmt::Display;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;

use super::error::{mailport_error, mailport_result};

/// The value an infallible exported function returns when its body panicked.
pub(crate) trait PanicDefault {
    fn panic_default() -> Self;
}

impl PanicDefault for () {
    fn panic_default() {}
}

impl PanicDefault for bool {
    fn panic_default() -> bool {
        false
    }
}

macro_rules! zero_default {
    ($($t:ty),*) => {$(
        impl PanicDefault for $t {
            fn panic_default() -> $t {
                0
            }
        }
    )*};
}
zero_default!(u16, u32, u64, usize, i64);

impl<T> PanicDefault for *mut T {
    fn panic_default() -> *mut T {
        ptr::null_mut()
    }
}

/// Borrowed strings are never NULL, so a panicking string getter returns `""`.
impl PanicDefault for *const c_char {
    fn panic_default() -> *const c_char {
        c"".as_ptr()
    }
}

impl PanicDefault for mailport_result {
    fn panic_default() -> mailport_result {
        mailport_result::MAILPORT_ERR_PANIC
    }
}

/// The fallible form of the boundary; use it through `ffi_boundary!`.
///
/// # Safety
///
/// `error_out` must be NULL or valid for writing one pointer.
pub(crate) unsafe fn fallible(
    error_out: *mut *mut mailport_error,
    body: impl FnOnce() -> Result<(), mailport_error>,
) -> mailport_result {
    if !error_out.is_null() {
        // SAFETY: the caller guarantees a non-NULL `error_out` is valid for writes.
        unsafe { *error_out = ptr::null_mut() };
    }
    let error = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return mailport_result::MAILPORT_OK,
        Ok(Err(error)) => error,
        Err(payload) => mailport_error::panic(&panic_text(payload.as_ref())),
    };
    let code = error.code();
    if !error_out.is_null() {
        // Boxing cannot panic short of an allocation failure, which aborts.
        let boxed = Box::into_raw(Box::new(error));
        // SAFETY: as above; the pointer was NULLed on entry and is written once.
        unsafe { *error_out = boxed };
    }
    code
}

/// The infallible form of the boundary; use it through `ffi_boundary!`.
pub(crate) fn infallible<T: PanicDefault>(body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| T::panic_default())
}

/// The text of a panic payload (`panic!("…")` gives a `&str` or a `String`).
pub(crate) fn panic_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// Wrap the body of an exported function in the panic boundary. See the module docs.
macro_rules! ffi_boundary {
    ($error_out:ident => $body:block) => {{
        // The closure is built outside the `unsafe` block so that its body is not unsafe code.
        let body = || -> ::std::result::Result<(), $crate::ffi::mailport_error> { $body };
        // SAFETY: every fallible exported function's `# Safety` section requires `error_out` to
        // be NULL or valid for writing one pointer.
        unsafe { $crate::ffi::boundary::fallible($error_out, body) }
    }};
    ($body:block) => {
        $crate::ffi::boundary::infallible(|| $body)
    };
}

/// `&T` from a `*const T` argument, or `MAILPORT_ERR_NULL_ARGUMENT` naming it (use with `?`).
///
/// # Safety
///
/// A non-NULL `p` must point to a live `T` that nobody mutates during `'a`.
pub(crate) unsafe fn arg_ref<'a, T>(p: *const T, name: &str) -> Result<&'a T, mailport_error> {
    // SAFETY: forwarded to the caller.
    handle(unsafe { p.as_ref() }, name)
}

/// `&mut T` from a `*mut T` argument, or `MAILPORT_ERR_NULL_ARGUMENT` naming it.
///
/// # Safety
///
/// A non-NULL `p` must point to a live `T` that nothing else accesses during `'a`.
pub(crate) unsafe fn arg_mut<'a, T>(p: *mut T, name: &str) -> Result<&'a mut T, mailport_error> {
    // SAFETY: forwarded to the caller.
    handle(unsafe { p.as_mut() }, name)
}

/// A borrowed handle argument, or `MAILPORT_ERR_NULL_ARGUMENT` naming it.
///
/// Under `cfg(test)` this is also the boundary's panic hook (see `PANIC_IN_NEXT_CALL`): every
/// call on a handle passes here once its out-parameters are cleared and before it changes
/// anything, which is where a panic tells the most.
fn handle<H>(handle: Option<H>, name: &str) -> Result<H, mailport_error> {
    let handle = handle.ok_or_else(|| mailport_error::null_argument(name))?;
    #[cfg(test)]
    test_panic_point(&PANIC_IN_NEXT_CALL, format_args!("a {name} call"));
    Ok(handle)
}

/// `&str` from a NUL-terminated UTF-8 argument; NULL and invalid UTF-8 are errors naming it.
///
/// # Safety
///
/// A non-NULL `p` must point to a NUL-terminated string that stays unchanged during `'a`.
pub(crate) unsafe fn arg_str<'a>(
    p: *const c_char,
    name: impl Display,
) -> Result<&'a str, mailport_error> {
    if p.is_null() {
        return Err(mailport_error::null_argument(name));
    }
    // SAFETY: non-NULL, and the caller guarantees NUL termination and lifetime.
    let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
    std::str::from_utf8(bytes).map_err(|e| {
        mailport_error::invalid_argument(format!(
            "{name} is not valid UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })
}

/// A credential string argument (user name, password, token): like [`arg_str`], but NULL
/// says that the value is missing rather than that a pointer is bad, because a NULL credential
/// almost always comes from `getenv()` of a variable that is not set.
///
/// # Safety
///
/// As [`arg_str`].
pub(crate) unsafe fn arg_credential<'a>(
    p: *const c_char,
    param: &str,
    what: &str,
) -> Result<&'a str, mailport_error> {
    if p.is_null() {
        return Err(mailport_error::missing_credential(param, what));
    }
    // SAFETY: as guaranteed by the caller.
    unsafe { arg_str(p, param) }
}

/// `&[u8]` from a `(pointer, length)` pair. NULL is allowed only with length 0.
///
/// # Safety
///
/// A non-NULL `p` must be valid for reading `len` bytes that stay unchanged during `'a`.
pub(crate) unsafe fn arg_bytes<'a>(
    p: *const std::ffi::c_void,
    len: usize,
    name: &str,
) -> Result<&'a [u8], mailport_error> {
    if p.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(mailport_error::null_argument(name))
        };
    }
    if len > isize::MAX as usize {
        return Err(mailport_error::invalid_argument(format!(
            "{name}: length {len} is too large"
        )));
    }
    // SAFETY: non-NULL, length checked against isize::MAX, validity guaranteed by the caller.
    Ok(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) })
}

/// A `Vec<&str>` from an array of `count` strings; the array may be NULL only when `count` is 0.
/// A bad element is reported as `name[i]`.
///
/// # Safety
///
/// A non-NULL `p` must be valid for reading `count` pointers, each of which must satisfy
/// [`arg_str`]'s contract.
pub(crate) unsafe fn arg_str_array<'a>(
    p: *const *const c_char,
    count: usize,
    name: &str,
) -> Result<Vec<&'a str>, mailport_error> {
    if p.is_null() {
        return if count == 0 {
            Ok(Vec::new())
        } else {
            Err(mailport_error::null_argument(name))
        };
    }
    if count > isize::MAX as usize / size_of::<*const c_char>() {
        return Err(mailport_error::invalid_argument(format!(
            "{name}: count {count} is too large"
        )));
    }
    // SAFETY: non-NULL, size checked, readable for `count` pointers as the caller guarantees.
    let items = unsafe { std::slice::from_raw_parts(p, count) };
    items
        .iter()
        .enumerate()
        // SAFETY: each element satisfies arg_str's contract, guaranteed by the caller.
        .map(|(i, &s)| unsafe { arg_str(s, format_args!("{name}[{i}]")) })
        .collect()
}

/// An `**out` parameter: NULLed on creation, written at most once with a boxed value.
pub(crate) struct Out<T>(*mut *mut T);

impl<T> Out<T> {
    /// Take the parameter and set `*out` to NULL if `out` is not NULL.
    ///
    /// # Safety
    ///
    /// `out` must be NULL or valid for writing one pointer until [`Out::set`] or drop.
    pub(crate) unsafe fn new(out: *mut *mut T) -> Out<T> {
        if !out.is_null() {
            // SAFETY: guaranteed by the caller.
            unsafe { *out = ptr::null_mut() };
        }
        Out(out)
    }

    /// `MAILPORT_ERR_NULL_ARGUMENT` naming the parameter when the caller passed NULL.
    pub(crate) fn require(&self, name: &str) -> Result<(), mailport_error> {
        if self.0.is_null() {
            Err(mailport_error::null_argument(name))
        } else {
            Ok(())
        }
    }

    /// Hand `value` to the caller (boxed); dropped when the caller passed NULL.
    pub(crate) fn set(self, value: T) {
        if !self.0.is_null() {
            let boxed = Box::into_raw(Box::new(value));
            // SAFETY: `new`'s caller guaranteed a non-NULL `out` is valid for writes.
            unsafe { *self.0 = boxed };
        }
    }
}

/// The body of a getter on an immutable object: `$value` computed from `&*$object`, or `$default`
/// when the object pointer is NULL. Only inside exported functions; see the module docs.
macro_rules! getter {
    ($object:expr, $default:expr, |$o:ident| $value:expr) => {
        ffi_boundary!({
            // SAFETY: every getter's `# Safety` section requires the object pointer to be NULL
            // or an object from mailport that has not been freed (and is never mutated).
            match unsafe { $object.as_ref() } {
                Some($o) => $value,
                None => $default,
            }
        })
    };
}

/// The body of a setter on a mutable handle: `$handle` borrowed with `arg_mut!` (its NULL error
/// names the parameter), `$x` bound to it or to its field (`message.0` gives the core `Message`),
/// then `$apply`, then `Ok(())`. Only inside exported functions; see the module docs.
macro_rules! setter {
    ($handle:ident $(.$field:tt)?, $error_out:ident, |$x:ident| $apply:block) => {
        ffi_boundary!($error_out => {
            let $x = &mut (*arg_mut!($handle, stringify!($handle)))$(.$field)?;
            $apply
            Ok(())
        })
    };
}

/// `&T` from a pointer argument (`?` on NULL). Only inside exported functions; see module docs.
macro_rules! arg_ref {
    ($p:expr, $name:expr) => {
        // SAFETY: the exported function's `# Safety` section requires a non-NULL pointer to be
        // a live object of this type, not mutated during the call.
        unsafe { $crate::ffi::boundary::arg_ref($p, $name) }?
    };
}

/// `&mut T` from a pointer argument (`?` on NULL). Only inside exported functions.
macro_rules! arg_mut {
    ($p:expr, $name:expr) => {
        // SAFETY: the exported function's `# Safety` section requires a non-NULL pointer to be
        // a live object of this type that no other thread uses during the call.
        unsafe { $crate::ffi::boundary::arg_mut($p, $name) }?
    };
}

/// `&str` from a C string argument (`?` on NULL or invalid UTF-8). Only inside exported functions.
macro_rules! arg_str {
    ($p:expr, $name:expr) => {
        // SAFETY: the exported function's `# Safety` section requires a non-NULL string to be
        // NUL-terminated and unchanged during the call.
        unsafe { $crate::ffi::boundary::arg_str($p, $name) }?
    };
}

/// A credential from a string argument, `what` naming it in words (NULL means it is missing).
/// Only inside exported functions.
macro_rules! arg_credential {
    ($p:expr, $param:expr, $what:expr) => {
        // SAFETY: the exported function's `# Safety` section requires a non-NULL string to be
        // NUL-terminated and unchanged during the call.
        unsafe { $crate::ffi::boundary::arg_credential($p, $param, $what) }?
    };
}

/// `&[u8]` from a `(pointer, length)` argument pair. Only inside exported functions.
macro_rules! arg_bytes {
    ($p:expr, $len:expr, $name:expr) => {
        // SAFETY: the exported function's `# Safety` section requires a non-NULL pointer to be
        // readable for `len` bytes, unchanged during the call.
        unsafe { $crate::ffi::boundary::arg_bytes($p, $len, $name) }?
    };
}

/// `Vec<&str>` from a `(const char *const *, count)` pair. Only inside exported functions.
macro_rules! arg_str_array {
    ($p:expr, $count:expr, $name:expr) => {
        // SAFETY: the exported function's `# Safety` section requires a non-NULL array to hold
        // `count` readable pointers to NUL-terminated strings, unchanged during the call.
        unsafe { $crate::ffi::boundary::arg_str_array($p, $count, $name) }?
    };
}

/// Take an `**out` parameter, setting `*out` to NULL. Only inside exported functions.
macro_rules! out_arg {
    ($p:expr) => {
        // SAFETY: the exported function's `# Safety` section requires `out` to be NULL or valid
        // for writing one pointer.
        unsafe { $crate::ffi::boundary::Out::new($p) }
    };
}

/// Copy `text` into the caller's buffer: the copy-out convention for mutable handles.
///
/// Writes at most `len` bytes including a terminating NUL (when `len > 0`), cutting at a UTF-8
/// character boundary, always sets `*out_n` (when `out_n` is not NULL) to the full length without
/// the NUL, and returns `MAILPORT_ERR_BUFFER_TOO_SMALL` unless the whole text and its NUL fit.
///
/// # Safety
///
/// A non-NULL `buf` must be valid for writing `len` bytes; a non-NULL `out_n` for one `usize`.
pub(crate) unsafe fn copy_out(
    text: &str,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> mailport_result {
    if buf.is_null() && len != 0 {
        return mailport_result::MAILPORT_ERR_NULL_ARGUMENT;
    }
    if !out_n.is_null() {
        // SAFETY: guaranteed by the caller.
        unsafe { *out_n = text.len() };
    }
    if len == 0 {
        return mailport_result::MAILPORT_ERR_BUFFER_TOO_SMALL;
    }
    let mut n = text.len().min(len - 1);
    while !text.is_char_boundary(n) {
        n -= 1;
    }
    // SAFETY: `buf` is non-NULL (checked above) and writable for `len` > `n` bytes; `text` is a
    // separate Rust allocation, so the regions do not overlap.
    unsafe {
        ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), n);
        *buf.add(n) = 0;
    }
    if n == text.len() {
        mailport_result::MAILPORT_OK
    } else {
        mailport_result::MAILPORT_ERR_BUFFER_TOO_SMALL
    }
}

#[cfg(test)]
thread_local! {
    /// Test-only: make the next exported call on this thread panic inside the boundary, when it
    /// has borrowed its first handle argument (see `handle`).
    pub(crate) static PANIC_IN_NEXT_CALL: std::cell::Cell<bool> =
        const { std::cell::Cell::new(false) };
}

/// Test-only: panic here (inside the boundary) when `armed` is set on this thread, clearing it.
#[cfg(test)]
pub(crate) fn test_panic_point(
    armed: &'static std::thread::LocalKey<std::cell::Cell<bool>>,
    what: impl Display,
) {
    if armed.with(|p| p.replace(false)) {
        panic!("test-only panic inside {what}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::{
        mailport_error_code, mailport_error_free, mailport_error_hint, mailport_error_message,
    };

    unsafe fn panicking(error_out: *mut *mut mailport_error) -> mailport_result {
        ffi_boundary!(error_out => {
            let detail = String::from("test-only boom");
            panic!("{detail} 42");
        })
    }

    unsafe fn failing(
        value: *const c_char,
        out: *mut *mut u32,
        error_out: *mut *mut mailport_error,
    ) -> mailport_result {
        ffi_boundary!(error_out => {
            let out = out_arg!(out);
            out.require("value_out")?;
            let text = arg_str!(value, "value");
            out.set(text.len() as u32);
            Ok(())
        })
    }

    fn cstr_text(p: *const c_char) -> String {
        assert!(!p.is_null());
        // SAFETY: test pointers come from mailport accessors, which return valid C strings.
        unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string()
    }

    #[test]
    fn panic_becomes_an_error_with_the_payload() {
        let mut err: *mut mailport_error = ptr::dangling_mut();
        // SAFETY: `err` is a valid out location.
        let rc = unsafe { panicking(&mut err) };
        assert_eq!(rc, mailport_result::MAILPORT_ERR_PANIC);
        assert!(!err.is_null());
        // SAFETY: `err` was just produced by the boundary.
        unsafe {
            assert_eq!(
                mailport_error_code(err),
                mailport_result::MAILPORT_ERR_PANIC
            );
            let message = cstr_text(mailport_error_message(err));
            assert!(message.contains("test-only boom 42"), "{message}");
            assert!(message.contains("please report"), "{message}");
            assert!(!cstr_text(mailport_error_hint(err)).is_empty());
            mailport_error_free(err);
        }
        // Without an error_out, only the code comes back.
        // SAFETY: NULL error_out is allowed.
        let rc = unsafe { panicking(ptr::null_mut()) };
        assert_eq!(rc, mailport_result::MAILPORT_ERR_PANIC);
    }

    #[test]
    fn infallible_panic_returns_the_default() {
        let p: *const c_char = infallible(|| panic!("x"));
        assert_eq!(cstr_text(p), "");
        assert_eq!(infallible::<u16>(|| panic!("x")), 0);
        assert!(!infallible::<bool>(|| panic!("x")));
        assert!(infallible::<*mut u8>(|| panic!("x")).is_null());
        assert_eq!(
            infallible::<mailport_result>(|| panic!("x")),
            mailport_result::MAILPORT_ERR_PANIC
        );
    }

    #[test]
    fn out_params_are_nulled_on_entry_and_set_on_success() {
        let mut out: *mut u32 = ptr::dangling_mut();
        let mut err: *mut mailport_error = ptr::dangling_mut();
        // SAFETY: valid out locations; NULL value is the case under test.
        let rc = unsafe { failing(ptr::null(), &mut out, &mut err) };
        assert_eq!(rc, mailport_result::MAILPORT_ERR_NULL_ARGUMENT);
        assert!(out.is_null());
        // SAFETY: `err` came from the boundary.
        unsafe {
            assert!(cstr_text(mailport_error_message(err)).contains("value"));
            mailport_error_free(err);
        }

        let bad = c"ab\xffcd";
        err = ptr::dangling_mut();
        // SAFETY: as above.
        let rc = unsafe { failing(bad.as_ptr(), &mut out, &mut err) };
        assert_eq!(rc, mailport_result::MAILPORT_ERR_INVALID_ARGUMENT);
        // SAFETY: `err` came from the boundary.
        unsafe {
            let message = cstr_text(mailport_error_message(err));
            assert!(message.contains("value is not valid UTF-8"), "{message}");
            assert!(message.contains("offset 2"), "{message}");
            mailport_error_free(err);
        }

        err = ptr::dangling_mut();
        // SAFETY: as above.
        let rc = unsafe { failing(c"four".as_ptr(), &mut out, &mut err) };
        assert_eq!(rc, mailport_result::MAILPORT_OK);
        assert!(err.is_null());
        // SAFETY: `out` was boxed by Out::set.
        assert_eq!(*unsafe { Box::from_raw(out) }, 4);

        // A required out parameter that is NULL is reported by name.
        // SAFETY: as above.
        let rc = unsafe { failing(c"x".as_ptr(), ptr::null_mut(), &mut err) };
        assert_eq!(rc, mailport_result::MAILPORT_ERR_NULL_ARGUMENT);
        // SAFETY: `err` came from the boundary.
        unsafe {
            assert!(cstr_text(mailport_error_message(err)).contains("value_out"));
            mailport_error_free(err);
        }
    }

    #[test]
    fn byte_and_array_arguments() {
        // SAFETY: NULL with length 0 is the documented empty case.
        assert_eq!(unsafe { arg_bytes(ptr::null(), 0, "data") }.unwrap(), b"");
        // SAFETY: NULL with a length is refused before any read.
        let e = unsafe { arg_bytes(ptr::null(), 3, "data") }.unwrap_err();
        assert_eq!(e.code(), mailport_result::MAILPORT_ERR_NULL_ARGUMENT);

        let items = [c"a@x.org".as_ptr(), ptr::null()];
        // SAFETY: `items` holds 2 readable pointers.
        let e = unsafe { arg_str_array(items.as_ptr(), 2, "recipients") }.unwrap_err();
        assert_eq!(e.code(), mailport_result::MAILPORT_ERR_NULL_ARGUMENT);
        assert!(
            e.message_text().contains("recipients[1]"),
            "{}",
            e.message_text()
        );
        // SAFETY: as above, reading only the first element.
        let ok = unsafe { arg_str_array(items.as_ptr(), 1, "recipients") }.unwrap();
        assert_eq!(ok, ["a@x.org"]);
        // SAFETY: NULL with count 0 is the documented empty case.
        let empty = unsafe { arg_str_array(ptr::null(), 0, "recipients") };
        assert!(empty.unwrap().is_empty());
        // SAFETY: NULL with a count is refused before any read.
        let e = unsafe { arg_str_array(ptr::null(), 1, "recipients") }.unwrap_err();
        assert_eq!(e.code(), mailport_result::MAILPORT_ERR_NULL_ARGUMENT);
    }

    #[test]
    fn copy_out_sizes_truncates_and_terminates() {
        let text = "héllo"; // 6 bytes: 'é' is two.
        let mut n = usize::MAX;
        // SAFETY: NULL buffer with length 0 is the sizing call.
        let rc = unsafe { copy_out(text, ptr::null_mut(), 0, &mut n) };
        assert_eq!((rc, n), (mailport_result::MAILPORT_ERR_BUFFER_TOO_SMALL, 6));

        let mut buf = [0x55 as c_char; 8];
        // SAFETY: `buf` is writable for 8 bytes.
        let rc = unsafe { copy_out(text, buf.as_mut_ptr(), buf.len(), &mut n) };
        assert_eq!((rc, n), (mailport_result::MAILPORT_OK, 6));
        assert_eq!(cstr_text(buf.as_ptr()), "héllo");

        // Exactly the text without room for the NUL: truncated.
        let mut buf = [0x55 as c_char; 6];
        // SAFETY: as above.
        let rc = unsafe { copy_out(text, buf.as_mut_ptr(), buf.len(), &mut n) };
        assert_eq!((rc, n), (mailport_result::MAILPORT_ERR_BUFFER_TOO_SMALL, 6));
        assert_eq!(cstr_text(buf.as_ptr()), "héll");

        // A cut inside 'é' backs off to the character boundary.
        let mut buf = [0x55 as c_char; 3];
        // SAFETY: as above.
        let rc = unsafe { copy_out(text, buf.as_mut_ptr(), buf.len(), ptr::null_mut()) };
        assert_eq!(rc, mailport_result::MAILPORT_ERR_BUFFER_TOO_SMALL);
        assert_eq!(cstr_text(buf.as_ptr()), "h");

        // SAFETY: a NULL buffer with a length is refused before any write.
        let rc = unsafe { copy_out(text, ptr::null_mut(), 4, &mut n) };
        assert_eq!(rc, mailport_result::MAILPORT_ERR_NULL_ARGUMENT);

        let mut buf = [0x55 as c_char; 1];
        // SAFETY: as above.
        let rc = unsafe { copy_out("", buf.as_mut_ptr(), 1, &mut n) };
        assert_eq!((rc, n, buf[0]), (mailport_result::MAILPORT_OK, 0, 0));
    }
}
