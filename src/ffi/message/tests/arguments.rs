//! Bad arguments: NULL, invalid UTF-8, line breaks, invalid values, each named in the error.

use super::*;

#[test]
fn a_null_message_is_named_by_every_function() {
    let null = ptr::null_mut();
    for (name, call) in every_setter(null, c"x".as_ptr()) {
        let (rc, m) = run(call);
        assert_eq!(
            (rc, m.as_str()),
            (MAILPORT_ERR_NULL_ARGUMENT, "message must not be NULL"),
            "{name}"
        );
        // Without an error object, the code still comes back.
    }
    // SAFETY: NULL message and NULL error_out are the cases under test.
    unsafe {
        let rc = mailport_message_set_subject(null, c"x".as_ptr(), ptr::null_mut());
        assert_eq!(rc, MAILPORT_ERR_NULL_ARGUMENT);
        let mut n = 7;
        let (rc, m) = run(|e| mailport_message_render(ptr::null(), ptr::null_mut(), 0, &mut n, e));
        assert_eq!(
            (rc, m.as_str(), n),
            (MAILPORT_ERR_NULL_ARGUMENT, "message must not be NULL", 0)
        );
        let mut out: *mut mailport_message = ptr::dangling_mut();
        let (rc, m) = run(|e| mailport_message_clone(ptr::null(), &mut out, e));
        assert_eq!(
            (rc, m.as_str()),
            (MAILPORT_ERR_NULL_ARGUMENT, "message must not be NULL")
        );
        assert!(out.is_null(), "message_out is NULLed on entry");
        assert_eq!(mailport_message_remove_header(null, c"X-A".as_ptr()), 0);
        mailport_message_free(null);
    }
}

#[test]
fn null_and_non_utf8_strings_are_named() {
    let msg = Msg::new();
    let m = msg.0;
    let ok = c"ok@example.org".as_ptr();
    let null = ptr::null();
    let bad = c"b\xffd".as_ptr();
    // SAFETY: `m` is live; strings are NUL-terminated or NULL; data readable for 1 byte.
    let cases: Vec<(&str, Call)> = unsafe {
        let d = b"x".as_ptr();
        vec![
            (
                "mailbox",
                Box::new(move |e| mailport_message_set_from(m, null, e)),
            ),
            (
                "mailbox",
                Box::new(move |e| mailport_message_set_from(m, bad, e)),
            ),
            (
                "name",
                Box::new(move |e| mailport_message_set_from_parts(m, bad, ok, e)),
            ),
            (
                "address",
                Box::new(move |e| mailport_message_set_from_parts(m, ok, null, e)),
            ),
            (
                "mailbox",
                Box::new(move |e| mailport_message_set_sender(m, null, e)),
            ),
            (
                "mailboxes",
                Box::new(move |e| mailport_message_add_reply_to(m, bad, e)),
            ),
            (
                "mailboxes",
                Box::new(move |e| mailport_message_add_to(m, null, e)),
            ),
            (
                "mailboxes",
                Box::new(move |e| mailport_message_add_to(m, bad, e)),
            ),
            (
                "mailboxes",
                Box::new(move |e| mailport_message_add_cc(m, null, e)),
            ),
            (
                "mailboxes",
                Box::new(move |e| mailport_message_add_bcc(m, bad, e)),
            ),
            (
                "address",
                Box::new(move |e| mailport_message_set_envelope_from(m, null, e)),
            ),
            (
                "subject",
                Box::new(move |e| mailport_message_set_subject(m, null, e)),
            ),
            (
                "subject",
                Box::new(move |e| mailport_message_set_subject(m, bad, e)),
            ),
            (
                "id",
                Box::new(move |e| mailport_message_set_message_id(m, null, e)),
            ),
            (
                "name",
                Box::new(move |e| mailport_message_add_header(m, null, ok, e)),
            ),
            (
                "value",
                Box::new(move |e| mailport_message_add_header(m, ok, bad, e)),
            ),
            (
                "text",
                Box::new(move |e| mailport_message_set_text(m, null, e)),
            ),
            (
                "media_type",
                Box::new(move |e| mailport_message_set_text_as(m, null, ok, e)),
            ),
            (
                "text",
                Box::new(move |e| mailport_message_set_text_as(m, ok, bad, e)),
            ),
            (
                "html",
                Box::new(move |e| mailport_message_set_html(m, bad, e)),
            ),
            (
                "content_type",
                Box::new(move |e| mailport_message_set_mime_body(m, null, d.cast(), 1, e)),
            ),
            (
                "body",
                Box::new(move |e| mailport_message_set_mime_body(m, ok, ptr::null(), 3, e)),
            ),
            (
                "label",
                Box::new(move |e| mailport_message_set_charset(m, null, e)),
            ),
            (
                "path",
                Box::new(move |e| mailport_message_attach_file(m, null, null, null, e)),
            ),
            (
                "filename",
                Box::new(move |e| mailport_message_attach_file(m, ok, bad, null, e)),
            ),
            (
                "content_type",
                Box::new(move |e| mailport_message_attach_file(m, ok, null, bad, e)),
            ),
            (
                "filename",
                Box::new(move |e| mailport_message_attach_bytes(m, null, null, d.cast(), 1, e)),
            ),
            (
                "data",
                Box::new(move |e| mailport_message_attach_bytes(m, ok, null, ptr::null(), 1, e)),
            ),
            (
                "content_id",
                Box::new(move |e| mailport_message_embed_file(m, null, ok, null, e)),
            ),
            (
                "path",
                Box::new(move |e| mailport_message_embed_file(m, ok, bad, null, e)),
            ),
            (
                "filename",
                Box::new(move |e| mailport_message_embed_bytes(m, ok, null, null, d.cast(), 1, e)),
            ),
            (
                "data",
                Box::new(move |e| mailport_message_embed_bytes(m, ok, ok, null, ptr::null(), 2, e)),
            ),
        ]
    };
    let before = msg.state();
    for (i, (name, call)) in cases.into_iter().enumerate() {
        let (rc, text) = run(call);
        match rc {
            MAILPORT_ERR_NULL_ARGUMENT => {
                assert_eq!(text, format!("{name} must not be NULL"), "case {i}")
            }
            MAILPORT_ERR_INVALID_ARGUMENT => assert!(
                text.starts_with(&format!("{name} is not valid UTF-8")),
                "case {i}: {text}"
            ),
            other => panic!("case {i} ({name}): unexpected {other:?}: {text}"),
        }
        assert_eq!(msg.state(), before, "case {i} ({name}) changed the message");
    }
    // SAFETY: `m` is live; the name is NULL or not UTF-8: nothing to remove.
    unsafe {
        assert_eq!(mailport_message_remove_header(m, ptr::null()), 0);
        assert_eq!(mailport_message_remove_header(m, bad), 0);
    }
}

#[test]
fn line_breaks_are_refused_by_every_setter_naming_the_field() {
    let msg = Msg::new();
    let m = msg.0;
    let dir = std::env::temp_dir().join(format!("mailport-ffi-msg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("report.pdf");
    std::fs::write(&file, b"%PDF-1.4").unwrap();
    let path = std::ffi::CString::new(file.to_str().unwrap()).unwrap();
    let path = path.as_ptr();
    let inject = c"a@example.org\r\nRCPT TO:<x@example.org>".as_ptr();
    let hdr = c"v\r\nBcc: x@example.org".as_ptr();
    let ok = c"ok@example.org".as_ptr();
    let d = b"x".as_ptr();
    // SAFETY: `m` is live; strings are NUL-terminated; `d` readable for 1 byte.
    let cases: Vec<(mailport_result, &str, Call)> = unsafe {
        vec![
            (
                MAILPORT_ERR_INVALID_ADDRESS,
                "From",
                Box::new(move |e| mailport_message_set_from(m, inject, e)),
            ),
            (
                MAILPORT_ERR_INVALID_ADDRESS,
                "From",
                Box::new(move |e| mailport_message_set_from_parts(m, hdr, ok, e)),
            ),
            (
                MAILPORT_ERR_INVALID_ADDRESS,
                "From",
                Box::new(move |e| mailport_message_set_from_parts(m, ptr::null(), inject, e)),
            ),
            (
                MAILPORT_ERR_INVALID_ADDRESS,
                "Cc",
                Box::new(move |e| mailport_message_add_mailbox_parts(m, 2, hdr, ok, e)),
            ),
            (
                MAILPORT_ERR_INVALID_ADDRESS,
                "Reply-To",
                Box::new(move |e| mailport_message_add_mailbox_parts(m, 4, ptr::null(), inject, e)),
            ),
            (
                MAILPORT_ERR_INVALID_ARGUMENT,
                "field",
                Box::new(move |e| mailport_message_add_mailbox_parts(m, 9, ptr::null(), ok, e)),
            ),
            (
                MAILPORT_ERR_INVALID_ADDRESS,
                "Sender",
                Box::new(move |e| mailport_message_set_sender(m, inject, e)),
            ),
            (
                MAILPORT_ERR_INVALID_ADDRESS,
                "Reply-To",
                Box::new(move |e| mailport_message_add_reply_to(m, inject, e)),
            ),
            (
                MAILPORT_ERR_INVALID_ADDRESS,
                "To",
                Box::new(move |e| mailport_message_add_to(m, inject, e)),
            ),
            (
                MAILPORT_ERR_INVALID_ADDRESS,
                "Cc",
                Box::new(move |e| mailport_message_add_cc(m, inject, e)),
            ),
            (
                MAILPORT_ERR_INVALID_ADDRESS,
                "Bcc",
                Box::new(move |e| mailport_message_add_bcc(m, inject, e)),
            ),
            (
                MAILPORT_ERR_INVALID_ADDRESS,
                "envelope sender",
                Box::new(move |e| mailport_message_set_envelope_from(m, inject, e)),
            ),
            (
                MAILPORT_ERR_INVALID_ARGUMENT,
                "Subject",
                Box::new(move |e| mailport_message_set_subject(m, hdr, e)),
            ),
            (
                MAILPORT_ERR_INVALID_ARGUMENT,
                "Message-ID",
                Box::new(move |e| {
                    mailport_message_set_message_id(m, c"<a@b>\r\nBcc: x@y".as_ptr(), e)
                }),
            ),
            (
                MAILPORT_ERR_INVALID_ARGUMENT,
                "X-Tag",
                Box::new(move |e| mailport_message_add_header(m, c"X-Tag".as_ptr(), hdr, e)),
            ),
            (
                MAILPORT_ERR_INVALID_ARGUMENT,
                "header name",
                Box::new(move |e| mailport_message_add_header(m, c"X-A\r\nBcc".as_ptr(), ok, e)),
            ),
            (
                MAILPORT_ERR_INVALID_ARGUMENT,
                "Content-Type",
                Box::new(move |e| {
                    mailport_message_set_mime_body(
                        m,
                        c"text/plain\r\nBcc: x".as_ptr(),
                        d.cast(),
                        1,
                        e,
                    )
                }),
            ),
            (
                MAILPORT_ERR_INVALID_ARGUMENT,
                "content type",
                Box::new(move |e| {
                    mailport_message_set_text_as(m, c"text/plain\r\nBcc: x".as_ptr(), ok, e)
                }),
            ),
            (
                MAILPORT_ERR_INVALID_ARGUMENT,
                "charset",
                Box::new(move |e| mailport_message_set_charset(m, c"utf-8\r\nX: y".as_ptr(), e)),
            ),
            (
                MAILPORT_ERR_INVALID_ARGUMENT,
                "attachment filename",
                Box::new(move |e| mailport_message_attach_file(m, path, hdr, ptr::null(), e)),
            ),
            (
                MAILPORT_ERR_INVALID_ARGUMENT,
                "attachment path",
                Box::new(move |e| {
                    mailport_message_attach_file(
                        m,
                        c"/tmp/a\nb".as_ptr(),
                        ptr::null(),
                        ptr::null(),
                        e,
                    )
                }),
            ),
            (
                MAILPORT_ERR_INVALID_ARGUMENT,
                "content type",
                Box::new(move |e| {
                    mailport_message_attach_file(
                        m,
                        path,
                        ptr::null(),
                        c"text/plain\r\nX: y".as_ptr(),
                        e,
                    )
                }),
            ),
            (
                MAILPORT_ERR_INVALID_ARGUMENT,
                "attachment filename",
                Box::new(move |e| {
                    mailport_message_attach_bytes(m, hdr, ptr::null(), d.cast(), 1, e)
                }),
            ),
            (
                MAILPORT_ERR_INVALID_ARGUMENT,
                "Content-ID",
                Box::new(move |e| mailport_message_embed_file(m, hdr, path, ptr::null(), e)),
            ),
            (
                MAILPORT_ERR_INVALID_ARGUMENT,
                "Content-ID",
                Box::new(move |e| {
                    mailport_message_embed_bytes(
                        m,
                        hdr,
                        c"a.png".as_ptr(),
                        ptr::null(),
                        d.cast(),
                        1,
                        e,
                    )
                }),
            ),
            (
                MAILPORT_ERR_INVALID_ARGUMENT,
                "attachment filename",
                Box::new(move |e| {
                    mailport_message_embed_bytes(
                        m,
                        c"logo".as_ptr(),
                        hdr,
                        ptr::null(),
                        d.cast(),
                        1,
                        e,
                    )
                }),
            ),
        ]
    };
    let before = msg.state();
    for (i, (expected, field, call)) in cases.into_iter().enumerate() {
        let (rc, text) = run(call);
        assert_eq!(rc, expected, "case {i} ({field}): {text}");
        assert!(
            text.to_lowercase().contains(&field.to_lowercase()),
            "case {i}: {text:?} does not name {field:?}"
        );
        assert_eq!(
            msg.state(),
            before,
            "case {i} ({field}) changed the message"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn invalid_list_entries_are_listed_and_nothing_is_added() {
    let msg = Msg::new();
    let mut err = ptr::null_mut();
    // SAFETY: `msg.0` is live; `err` receives the error, freed below.
    unsafe {
        let rc = mailport_message_add_to(
            msg.0,
            c"good@example.org, a@b\r\nRCPT TO:<x@y>, \"Doe, J\" <j@example.org>".as_ptr(),
            &mut err,
        );
        assert_eq!(rc, MAILPORT_ERR_INVALID_ADDRESS);
        assert_eq!(mailport_error_invalid_address_count(err), 1);
        assert_eq!(text(mailport_error_invalid_address_field(err, 0)), "To");
        assert!(text(mailport_error_invalid_address_input(err, 0)).contains("RCPT TO"));
        mailport_error_free(err);
    }
    assert!(msg.get().to().is_empty(), "a failed add_to adds nothing");
}

#[test]
fn other_invalid_values_are_refused() {
    let msg = Msg::new();
    let m = msg.0;
    // SAFETY: `m` is live; strings are NUL-terminated.
    unsafe {
        for bad in [i64::MIN, -2_208_988_801, 253_402_300_800, i64::MAX] {
            let (rc, text) = run(|e| mailport_message_set_date(m, bad, e));
            assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT, "{bad}");
            assert!(text.starts_with("date:"), "{text}");
        }
        let (rc, text) = run(|e| mailport_message_set_charset(m, c"koi8-r".as_ptr(), e));
        assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
        assert!(text.contains("koi8-r"), "{text}");
        let (rc, text) = run(|e| {
            mailport_message_attach_file(
                m,
                c"/nonexistent/mailport.pdf".as_ptr(),
                ptr::null(),
                ptr::null(),
                e,
            )
        });
        assert_eq!(rc, MAILPORT_ERR_ATTACHMENT);
        assert!(text.contains("/nonexistent/mailport.pdf"), "{text}");
        let (rc, text) =
            run(|e| mailport_message_add_header(m, c"Subject".as_ptr(), c"x".as_ptr(), e));
        assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
        assert!(text.contains("set_subject"), "{text}");
        let (rc, _) = run(|e| mailport_message_add_to(m, c"".as_ptr(), e));
        assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
        // Latin-1 cannot hold the euro sign: the charset stays UTF-8.
        assert_eq!(
            run(|e| mailport_message_set_text(m, c"5 \xe2\x82\xac".as_ptr(), e)).0,
            MAILPORT_OK
        );
        let (rc, text) = run(|e| mailport_message_set_charset(m, c"latin1".as_ptr(), e));
        assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT, "{text}");
        assert_eq!(msg.get().charset, Charset::Utf8);
    }
}
