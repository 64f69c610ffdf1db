//! The rendering functions: owned bytes, a file descriptor, a callback, and their errors.

use super::*;
use std::ffi::{c_int, c_void};
use std::os::fd::AsRawFd;

/// A message without attachments or alternatives (so no random MIME boundary) with a fixed
/// Date and Message-ID: every rendering gives the same bytes.
fn fixed() -> Msg {
    let msg = Msg::new();
    // SAFETY: `msg.0` is live; the strings are NUL-terminated.
    unsafe {
        let e = ptr::null_mut();
        assert_eq!(
            mailport_message_set_from(msg.0, c"a@example.org".as_ptr(), e),
            MAILPORT_OK
        );
        assert_eq!(
            mailport_message_add_to(msg.0, c"b@example.org".as_ptr(), e),
            MAILPORT_OK
        );
        assert_eq!(
            mailport_message_set_date(msg.0, 1_700_000_000, e),
            MAILPORT_OK
        );
        let id = c"<fixed@example.org>".as_ptr();
        assert_eq!(mailport_message_set_message_id(msg.0, id, e), MAILPORT_OK);
        assert_eq!(
            mailport_message_set_text(msg.0, c"hello\n".as_ptr(), e),
            MAILPORT_OK
        );
    }
    msg
}

fn render_bytes(msg: &Msg) -> Vec<u8> {
    let mut bytes = ptr::null_mut();
    // SAFETY: `msg.0` is live; `bytes` is valid for one pointer.
    let (rc, m) = run(|e| unsafe { mailport_message_render_bytes(msg.0, &mut bytes, e) });
    assert_eq!(rc, MAILPORT_OK, "{m}");
    // SAFETY: `bytes` came from mailport; data is readable for len bytes until the free.
    unsafe {
        let out = std::slice::from_raw_parts(mailport_bytes_data(bytes), mailport_bytes_len(bytes))
            .to_vec();
        mailport_bytes_free(bytes);
        out
    }
}

#[test]
fn owned_bytes_equal_the_copied_out_bytes_and_null_is_handled() {
    let msg = fixed();
    let owned = render_bytes(&msg);
    assert_eq!(owned, msg.render());
    assert!(owned.starts_with(b"Date: "));
    // SAFETY: NULL is documented for each.
    unsafe {
        assert!(mailport_bytes_data(ptr::null()).is_null());
        assert_eq!(mailport_bytes_len(ptr::null()), 0);
        mailport_bytes_free(ptr::null_mut());
        let (rc, m) = run(|e| mailport_message_render_bytes(msg.0, ptr::null_mut(), e));
        assert_eq!(rc, MAILPORT_ERR_NULL_ARGUMENT);
        assert!(m.contains("bytes_out"), "{m}");
    }
    // A message that cannot be rendered hands out nothing.
    let empty = Msg::new();
    let mut bytes: *mut mailport_bytes = ptr::dangling_mut();
    // SAFETY: as above.
    let (rc, m) = run(|e| unsafe { mailport_message_render_bytes(empty.0, &mut bytes, e) });
    assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT, "{m}");
    assert!(bytes.is_null());
}

unsafe extern "C" fn collect(user_data: *mut c_void, data: *const u8, len: usize) -> c_int {
    // SAFETY: the test passes a `Vec<u8>` as user_data; mailport passes `len` readable bytes.
    unsafe {
        let out = &mut *user_data.cast::<Vec<u8>>();
        out.extend_from_slice(std::slice::from_raw_parts(data, len));
    }
    0
}

unsafe extern "C" fn refuse(_: *mut c_void, _: *const u8, _: usize) -> c_int {
    7
}

#[test]
fn a_callback_gets_every_byte_and_can_stop_the_rendering() {
    let msg = fixed();
    let mut out: Vec<u8> = Vec::new();
    let mut written = u64::MAX;
    let user_data = (&mut out as *mut Vec<u8>).cast::<c_void>();
    // SAFETY: `collect` matches the callback type and gets the Vec it expects.
    let (rc, m) = run(|e| unsafe {
        mailport_message_render_to_callback(msg.0, Some(collect), user_data, &mut written, e)
    });
    assert_eq!(rc, MAILPORT_OK, "{m}");
    assert_eq!(out, msg.render());
    assert_eq!(written, out.len() as u64);

    // SAFETY: `refuse` ignores its arguments.
    let (rc, m) = run(|e| unsafe {
        mailport_message_render_to_callback(msg.0, Some(refuse), ptr::null_mut(), &mut written, e)
    });
    assert_eq!(rc, MAILPORT_ERR_IO);
    assert!(m.contains("the write callback returned 7"), "{m}");
    assert!(m.contains("after 0 bytes"), "{m}");
    assert_eq!(written, 0);

    // SAFETY: a NULL callback is refused before anything is called.
    let (rc, m) = run(|e| unsafe {
        mailport_message_render_to_callback(msg.0, None, ptr::null_mut(), ptr::null_mut(), e)
    });
    assert_eq!(rc, MAILPORT_ERR_NULL_ARGUMENT);
    assert!(m.contains("callback"), "{m}");
}

#[test]
fn a_file_descriptor_gets_the_message_and_write_errors_name_it() {
    let msg = fixed();
    let path = std::env::temp_dir().join(format!("mailport-ffi-render-{}.eml", std::process::id()));
    let file = std::fs::File::create(&path).unwrap();
    let mut written = 0u64;
    // SAFETY: `msg.0` is live, `written` valid for one u64.
    let (rc, m) =
        run(|e| unsafe { mailport_message_render_to_fd(msg.0, file.as_raw_fd(), &mut written, e) });
    assert_eq!(rc, MAILPORT_OK, "{m}");
    drop(file);
    assert_eq!(std::fs::read(&path).unwrap(), msg.render());
    assert_eq!(written, msg.render().len() as u64);
    std::fs::remove_file(&path).unwrap();

    // SAFETY: as above.
    let (rc, m) = run(|e| unsafe { mailport_message_render_to_fd(msg.0, -3, &mut written, e) });
    assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
    assert!(m.contains("fd is -3"), "{m}");

    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        return;
    };
    // SAFETY: as above.
    let (rc, m) =
        run(|e| unsafe { mailport_message_render_to_fd(msg.0, full.as_raw_fd(), &mut written, e) });
    assert_eq!(rc, MAILPORT_ERR_IO);
    assert!(m.contains(&format!("fd {}", full.as_raw_fd())), "{m}");
    assert!(m.contains("ENOSPC"), "{m}");
    assert_eq!(written, 0);
}

#[test]
fn the_sizing_call_and_a_short_buffer_keep_the_copy_out_contract() {
    let msg = fixed();
    let whole = msg.render();
    let mut n = 0usize;
    let mut small = vec![0u8; 10];
    // SAFETY: `small` is writable for its length.
    let (rc, m) = run(|e| unsafe {
        mailport_message_render(msg.0, small.as_mut_ptr(), small.len(), &mut n, e)
    });
    assert_eq!(rc, MAILPORT_ERR_BUFFER_TOO_SMALL, "{m}");
    assert_eq!(n, whole.len());
    assert_eq!(small, whole[..10]);
    // SAFETY: NULL with a length is refused before any write.
    let (rc, _) = run(|e| unsafe { mailport_message_render(msg.0, ptr::null_mut(), 5, &mut n, e) });
    assert_eq!(rc, MAILPORT_ERR_NULL_ARGUMENT);
}
