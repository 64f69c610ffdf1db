use super::*;
use std::os::fd::AsRawFd;

fn message() -> Message {
    let mut m = Message::new();
    m.set_from("a@example.com")
        .unwrap()
        .add_to("b@example.com")
        .unwrap()
        .set_subject("Render once")
        .unwrap()
        .set_message_id("<fixed@example.com>")
        .unwrap();
    m.set_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000));
    m.set_text("héllo\n").unwrap();
    m
}

fn with_attachments(dir: &std::path::Path, len: usize) -> Message {
    let file = dir.join(format!("data-{len}.bin"));
    std::fs::write(&file, (0..len).map(|i| (i % 251) as u8).collect::<Vec<_>>()).unwrap();
    let mut m = message();
    m.attach_file(&file, None, None).unwrap();
    m.attach_bytes("b.bin", None, vec![7u8; len]).unwrap();
    m
}

/// MIME boundaries are random per rendering: replace their random part to compare renderings.
fn normalized(bytes: &[u8]) -> Vec<u8> {
    let marker = b"=_mailport_";
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(marker) {
            out.extend_from_slice(marker);
            i += marker.len();
            while i < bytes.len() && bytes[i].is_ascii_hexdigit() {
                i += 1;
            }
            out.push(b'X');
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mailport-render-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn every_entry_point_gives_the_same_bytes_and_the_size_is_known_before_rendering() {
    let dir = temp_dir("same");
    for len in [0usize, 1, 56, 57, 58, 100_000, 300_001] {
        let m = with_attachments(&dir, len);
        let whole = m.to_bytes().unwrap();
        assert_eq!(whole.len() as u64, m.rendered_size().unwrap(), "len {len}");
        assert_eq!(
            whole.capacity(),
            whole.len(),
            "allocated once, at the final size"
        );

        let mut streamed = Vec::new();
        let n = m.write_to(&mut streamed).unwrap();
        assert_eq!(n, streamed.len() as u64);
        assert_eq!(normalized(&streamed), normalized(&whole), "len {len}");

        let mut exact = vec![0u8; whole.len()];
        assert_eq!(m.render_into(&mut exact).unwrap(), whole.len() as u64);
        assert_eq!(normalized(&exact), normalized(&whole));

        let file = std::fs::File::create(dir.join("out.eml")).unwrap();
        let n = m.write_to_fd(file.as_raw_fd()).unwrap();
        drop(file);
        let on_disk = std::fs::read(dir.join("out.eml")).unwrap();
        assert_eq!(n, on_disk.len() as u64);
        assert_eq!(normalized(&on_disk), normalized(&whole));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_short_buffer_gets_the_start_and_the_full_length() {
    let m = message();
    let whole = m.to_bytes().unwrap();
    let first_boundary = whole
        .windows(11)
        .position(|w| w == b"=_mailport_")
        .unwrap_or(whole.len());
    let mut small = vec![0u8; 40.min(first_boundary)];
    assert_eq!(m.render_into(&mut small).unwrap(), whole.len() as u64);
    assert_eq!(small, whole[..small.len()]);
    assert_eq!(m.render_into(&mut []).unwrap(), whole.len() as u64);
}

#[test]
fn a_full_disk_names_the_descriptor_and_the_errno() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        return; // not Linux
    };
    let fd = full.as_raw_fd();
    let err = message().write_to_fd(fd).unwrap_err();
    assert_eq!(err.kind(), Kind::Io);
    let text = err.message();
    assert!(text.contains(&format!("fd {fd}")), "{text}");
    assert!(text.contains("ENOSPC"), "{text}");
    assert!(text.contains("after 0 bytes"), "{text}");
    assert!(err.hint().contains("full"), "{}", err.hint());
}

#[test]
fn a_bad_descriptor_is_refused_with_its_value() {
    let err = message().write_to_fd(-1).unwrap_err();
    assert_eq!(err.kind(), Kind::InvalidInput);
    assert!(err.message().contains("fd is -1"), "{}", err.message());
    let file = std::fs::File::open(std::env::current_exe().unwrap()).unwrap();
    // Open for reading only: writing is EBADF.
    let err = message().write_to_fd(file.as_raw_fd()).unwrap_err();
    assert!(err.message().contains("EBADF"), "{}", err.message());
}

fn sigpipe_pending() -> bool {
    // SAFETY: sigpending initialises the set that sigismember then reads.
    unsafe {
        let mut pending: libc::sigset_t = std::mem::zeroed();
        libc::sigpending(&mut pending);
        libc::sigismember(&pending, libc::SIGPIPE) == 1
    }
}

#[test]
fn a_closed_pipe_is_an_epipe_error_and_no_sigpipe() {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe() writes.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: the read end is ours and closed once.
    unsafe { libc::close(fds[0]) };
    // The test harness ignores SIGPIPE, so a raised one would go unnoticed; blocked, it would
    // stay pending, where the check below sees it.
    let outer = crate::sigpipe::Blocked::new();
    let err = message().write_to_fd(fds[1]).unwrap_err();
    assert!(!sigpipe_pending(), "the SIGPIPE was left pending");
    drop(outer);
    // SAFETY: the write end is ours and closed once.
    unsafe { libc::close(fds[1]) };
    assert!(err.message().contains("EPIPE"), "{}", err.message());
    assert!(err.hint().contains("pipe"), "{}", err.hint());
}

#[test]
fn a_failing_writer_and_a_changed_attachment_are_told_apart() {
    struct Refuses;
    impl Write for Refuses {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::other("the sink is closed"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let err = message().write_to(&mut Refuses).unwrap_err();
    assert_eq!(err.kind(), Kind::Io);
    assert!(
        err.message()
            .contains("writing the message failed after 0 bytes")
    );
    assert!(err.message().contains("the sink is closed"));

    let dir = temp_dir("changed");
    let m = with_attachments(&dir, 200_000);
    std::fs::write(dir.join("data-200000.bin"), b"short").unwrap();
    let mut sink = Vec::new();
    let err = m.write_to(&mut sink).unwrap_err();
    assert_eq!(err.kind(), Kind::Attachment, "{}", err.message());
    assert!(err.message().contains("shrank"), "{}", err.message());
    assert_eq!(m.to_bytes().unwrap_err().kind(), Kind::Attachment);
    std::fs::remove_dir_all(&dir).unwrap();
}
