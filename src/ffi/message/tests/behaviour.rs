//! Building, rendering and cloning messages, and panics at the boundary.

use super::*;

#[test]
fn a_message_is_built_rendered_and_cloned() {
    let msg = Msg::new();
    let m = msg.0;
    // SAFETY: `m` is live; strings are NUL-terminated; data readable for its length.
    unsafe {
        let ok = |rc: mailport_result| assert_eq!(rc, MAILPORT_OK);
        let e = ptr::null_mut();
        ok(mailport_message_set_from_parts(
            m,
            c"Zo\xc3\xab, Sender".as_ptr(),
            c"zoe@example.org".as_ptr(),
            e,
        ));
        ok(mailport_message_add_to(
            m,
            c"A <a@example.org>, b@example.org".as_ptr(),
            e,
        ));
        ok(mailport_message_add_cc(m, c"c@example.org".as_ptr(), e));
        ok(mailport_message_add_bcc(
            m,
            c"hidden@example.org".as_ptr(),
            e,
        ));
        ok(mailport_message_add_reply_to(
            m,
            c"replies@example.org".as_ptr(),
            e,
        ));
        ok(mailport_message_set_sender(
            m,
            c"app@example.org".as_ptr(),
            e,
        ));
        ok(mailport_message_set_envelope_from(
            m,
            c"bounces@example.org".as_ptr(),
            e,
        ));
        ok(mailport_message_set_subject(
            m,
            c"Gr\xc3\xbc\xc3\x9fe".as_ptr(),
            e,
        ));
        ok(mailport_message_set_date(m, 1_700_000_000, e));
        ok(mailport_message_set_message_id(
            m,
            c"fixed-1@example.org".as_ptr(),
            e,
        ));
        ok(mailport_message_add_header(
            m,
            c"X-Tag".as_ptr(),
            c"one".as_ptr(),
            e,
        ));
        ok(mailport_message_add_header(
            m,
            c"x-tag".as_ptr(),
            c"two".as_ptr(),
            e,
        ));
        ok(mailport_message_add_header(
            m,
            c"X-Keep".as_ptr(),
            c"yes".as_ptr(),
            e,
        ));
        assert_eq!(mailport_message_remove_header(m, c"X-TAG".as_ptr()), 2);
        assert_eq!(mailport_message_remove_header(m, c"X-TAG".as_ptr()), 0);
        ok(mailport_message_set_text(m, c"Hello".as_ptr(), e));
        ok(mailport_message_set_html(
            m,
            c"<p>Hello <img src=\"cid:logo\"></p>".as_ptr(),
            e,
        ));
        ok(mailport_message_attach_bytes(
            m,
            c"notes.txt".as_ptr(),
            ptr::null(),
            b"abc".as_ptr().cast(),
            3,
            e,
        ));
        ok(mailport_message_attach_bytes(
            m,
            c"empty.bin".as_ptr(),
            c"".as_ptr(),
            ptr::null(),
            0,
            e,
        ));
        ok(mailport_message_embed_bytes(
            m,
            c"<logo>".as_ptr(),
            c"logo.png".as_ptr(),
            ptr::null(),
            b"\x89PNG".as_ptr().cast(),
            4,
            e,
        ));

        let mut out = ptr::null_mut();
        let (rc, _) = run(|e| mailport_message_clone(m, &mut out, e));
        assert_eq!(rc, MAILPORT_OK);
        let copy = Msg(out);
        let (rc, text) = run(|e| mailport_message_clone(m, ptr::null_mut(), e));
        assert_eq!(
            (rc, text.as_str()),
            (MAILPORT_ERR_NULL_ARGUMENT, "message_out must not be NULL")
        );
        ok(mailport_message_add_to(
            copy.0,
            c"only-in-copy@example.org".as_ptr(),
            e,
        ));
        assert_eq!(msg.get().to().len(), 2, "the original is unchanged");
        assert_eq!(copy.get().to().len(), 3);

        let bytes = msg.render();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with("Date: "), "{text}");
        assert!(
            text.contains("Message-ID: <fixed-1@example.org>\r\n"),
            "{text}"
        );
        assert!(
            text.contains("Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n"),
            "encoded subject: {text}"
        );
        assert!(
            text.contains("From: =?UTF-8?") && text.contains("<zoe@example.org>\r\n"),
            "encoded display name: {text}"
        );
        assert!(
            text.contains("X-Keep: yes\r\n") && !text.contains("X-Tag"),
            "{text}"
        );
        assert!(
            !text.contains("hidden@example.org"),
            "Bcc never appears: {text}"
        );
        assert!(
            !text.contains("bounces@"),
            "the envelope sender is not a header"
        );
        assert!(text.contains("multipart/"), "{text}");
        assert!(
            text.contains("notes.txt") && text.contains("Content-ID: <logo>"),
            "{text}"
        );
        assert!(!text.contains("only-in-copy"), "{text}");
        assert!(
            String::from_utf8(copy.render())
                .unwrap()
                .contains("only-in-copy@example.org")
        );
    }
}

#[test]
fn render_copies_out_bytes_without_a_nul() {
    let msg = Msg::new();
    let m = msg.0;
    // SAFETY: `m` is live; buffers are writable for the lengths passed.
    unsafe {
        // No From: nothing to render, and *out_n says 0.
        let mut n = 99;
        let (rc, text) = run(|e| mailport_message_render(m, ptr::null_mut(), 0, &mut n, e));
        assert_eq!((rc, n), (MAILPORT_ERR_INVALID_ARGUMENT, 0));
        assert!(text.contains("no From"), "{text}");

        let e = ptr::null_mut();
        assert_eq!(
            mailport_message_set_from(m, c"a@example.org".as_ptr(), e),
            MAILPORT_OK
        );
        assert_eq!(
            mailport_message_add_to(m, c"b@example.org".as_ptr(), e),
            MAILPORT_OK
        );
        assert_eq!(mailport_message_set_date(m, 0, e), MAILPORT_OK);
        assert_eq!(
            mailport_message_set_message_id(m, c"<x@example.org>".as_ptr(), e),
            MAILPORT_OK
        );
        assert_eq!(mailport_message_set_text(m, c"Hi".as_ptr(), e), MAILPORT_OK);

        // A NULL buffer with a length is refused by name.
        let (rc, text) = run(|e| mailport_message_render(m, ptr::null_mut(), 10, &mut n, e));
        assert_eq!(
            (rc, text.as_str()),
            (MAILPORT_ERR_NULL_ARGUMENT, "buf must not be NULL")
        );

        // The sizing call.
        let (rc, text) = run(|e| mailport_message_render(m, ptr::null_mut(), 0, &mut n, e));
        assert_eq!(rc, MAILPORT_ERR_BUFFER_TOO_SMALL);
        assert!(n > 100, "{n}");
        assert!(
            text.contains(&format!("is {n} bytes, buf holds 0")),
            "{text}"
        );

        // Too small by one: the start is written, the length reported.
        let mut small = vec![0x55u8; n - 1];
        let mut n2 = 0;
        let (rc, _) = run(|e| mailport_message_render(m, small.as_mut_ptr(), n - 1, &mut n2, e));
        assert_eq!((rc, n2), (MAILPORT_ERR_BUFFER_TOO_SMALL, n));
        assert!(small.starts_with(b"Date: "));

        // Exactly the length: success, and nothing written past it (no NUL).
        let mut buf = vec![0x55u8; n + 1];
        let (rc, _) = run(|e| mailport_message_render(m, buf.as_mut_ptr(), n, &mut n2, e));
        assert_eq!((rc, n2), (MAILPORT_OK, n));
        assert_eq!(buf[n], 0x55, "no terminating NUL is written");
        assert_eq!(&buf[..n - 1], &small[..], "the truncated copy is a prefix");
        assert!(buf[..n].ends_with(b"\r\n"));
        // With the Date and Message-ID fixed, rendering is repeatable except for the MIME
        // boundaries, which this single-part message has none of.
        assert_eq!(msg.render(), &buf[..n]);

        // out_n may be NULL.
        let rc = mailport_message_render(m, buf.as_mut_ptr(), n, ptr::null_mut(), ptr::null_mut());
        assert_eq!(rc, MAILPORT_OK);
    }
}

#[test]
fn panics_never_escape_and_leave_the_message_usable() {
    let msg = Msg::new();
    let m = msg.0;
    // SAFETY: `m` is live; strings are NUL-terminated.
    unsafe {
        PANIC_IN_NEXT_CALL.with(|p| p.set(true));
        let (rc, text) = run(|e| mailport_message_set_subject(m, c"x".as_ptr(), e));
        assert_eq!(rc, MAILPORT_ERR_PANIC);
        assert!(
            text.contains("test-only panic inside a message call"),
            "{text}"
        );
        assert!(msg.get().subject().is_none());

        PANIC_IN_NEXT_CALL.with(|p| p.set(true));
        let mut n = 5;
        let (rc, _) = run(|e| mailport_message_render(m, ptr::null_mut(), 0, &mut n, e));
        assert_eq!((rc, n), (MAILPORT_ERR_PANIC, 0));

        PANIC_IN_NEXT_CALL.with(|p| p.set(true));
        let mut out: *mut mailport_message = ptr::dangling_mut();
        let (rc, _) = run(|e| mailport_message_clone(m, &mut out, e));
        assert_eq!(rc, MAILPORT_ERR_PANIC);
        assert!(out.is_null());

        PANIC_IN_NEXT_CALL.with(|p| p.set(true));
        assert_eq!(mailport_message_remove_header(m, c"X-A".as_ptr()), 0);

        // Without an error object the code still comes back.
        PANIC_IN_NEXT_CALL.with(|p| p.set(true));
        let rc = mailport_message_add_to(m, c"a@example.org".as_ptr(), ptr::null_mut());
        assert_eq!(rc, MAILPORT_ERR_PANIC);

        let (rc, _) = run(|e| mailport_message_set_subject(m, c"after".as_ptr(), e));
        assert_eq!(rc, MAILPORT_OK);
        assert_eq!(msg.get().subject(), Some("after"));
    }
}

#[test]
fn every_setter_succeeds_with_good_values() {
    // Guards the list in `every_setter`: each entry must be a real setter, so the NULL test
    // above covers them all. Here each is called with a value that suits it.
    let msg = Msg::new();
    let m = msg.0;
    let dir = std::env::temp_dir().join(format!("mailport-ffi-ok-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("a.txt");
    std::fs::write(&file, b"file contents").unwrap();
    let path = std::ffi::CString::new(file.to_str().unwrap()).unwrap();
    let p = path.as_ptr();
    let a = c"a@example.org".as_ptr();
    let d = b"x".as_ptr();
    // SAFETY: `m` is live; strings NUL-terminated; `d` readable for 1 byte.
    let calls: Vec<Call> = unsafe {
        vec![
            Box::new(move |e| mailport_message_set_from(m, a, e)),
            Box::new(move |e| mailport_message_set_from_parts(m, ptr::null(), a, e)),
            Box::new(move |e| mailport_message_set_sender(m, a, e)),
            Box::new(move |e| mailport_message_add_reply_to(m, a, e)),
            Box::new(move |e| mailport_message_add_to(m, a, e)),
            Box::new(move |e| mailport_message_add_cc(m, a, e)),
            Box::new(move |e| mailport_message_add_bcc(m, a, e)),
            Box::new(move |e| mailport_message_add_mailbox_parts(m, 1, ptr::null(), a, e)),
            Box::new(move |e| mailport_message_set_envelope_from(m, c"".as_ptr(), e)),
            Box::new(move |e| mailport_message_set_subject(m, c"s".as_ptr(), e)),
            Box::new(move |e| mailport_message_set_date(m, -2_208_988_800, e)),
            Box::new(move |e| mailport_message_set_message_id(m, c"<i@d>".as_ptr(), e)),
            Box::new(move |e| mailport_message_add_header(m, c"X-A".as_ptr(), c"b".as_ptr(), e)),
            Box::new(move |e| mailport_message_set_text(m, c"t".as_ptr(), e)),
            Box::new(move |e| {
                mailport_message_set_text_as(m, c"text/markdown".as_ptr(), c"*t*".as_ptr(), e)
            }),
            Box::new(move |e| mailport_message_set_html(m, c"<b>h</b>".as_ptr(), e)),
            Box::new(move |e| {
                mailport_message_set_mime_body(m, c"text/plain".as_ptr(), d.cast(), 1, e)
            }),
            Box::new(move |e| mailport_message_set_charset(m, c"US-ASCII".as_ptr(), e)),
            Box::new(move |e| mailport_message_attach_file(m, p, ptr::null(), ptr::null(), e)),
            Box::new(move |e| {
                mailport_message_attach_file(m, p, c"b.csv".as_ptr(), c"text/csv".as_ptr(), e)
            }),
            Box::new(move |e| {
                mailport_message_attach_bytes(m, c"c.bin".as_ptr(), ptr::null(), d.cast(), 1, e)
            }),
            Box::new(move |e| mailport_message_embed_file(m, c"img1".as_ptr(), p, ptr::null(), e)),
            Box::new(move |e| {
                mailport_message_embed_bytes(
                    m,
                    c"img2".as_ptr(),
                    c"i.png".as_ptr(),
                    ptr::null(),
                    d.cast(),
                    1,
                    e,
                )
            }),
        ]
    };
    assert_eq!(calls.len(), every_setter(ptr::null_mut(), a).len() + 1);
    for (i, call) in calls.into_iter().enumerate() {
        let (rc, text) = run(call);
        assert_eq!(rc, MAILPORT_OK, "call {i}: {text}");
    }
    let rendered = String::from_utf8(msg.render()).unwrap();
    assert!(
        rendered.contains("filename=\"a.txt\"") || rendered.contains("a.txt"),
        "{rendered}"
    );
    assert!(rendered.contains("b.csv"), "{rendered}");
    std::fs::remove_dir_all(&dir).unwrap();
}
