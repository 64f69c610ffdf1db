use super::events::RUNS;
use super::*;
use crate::ffi::test_support::{run, text};
use crate::ffi::{
    mailport_config_free, mailport_config_new, mailport_message_add_to, mailport_message_free,
    mailport_message_new, mailport_message_set_from, mailport_message_set_subject,
};

use std::path::PathBuf;
use std::ptr;
use std::sync::Mutex;

use mailport_result::*;

/// A spool directory removed on drop.
struct Spool(PathBuf);
impl Spool {
    fn new(name: &str) -> Spool {
        let dir =
            std::env::temp_dir().join(format!("mailport-ffi-outbox-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Spool(dir)
    }
    fn c(&self) -> CString {
        CString::new(self.0.to_str().unwrap()).unwrap()
    }
}
impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An outbox without connections (enough to enqueue and inspect).
fn open(spool: &Spool) -> *mut mailport_outbox {
    let mut outbox = ptr::null_mut();
    let location = spool.c();
    // SAFETY: valid arguments; no connections.
    let (rc, m) =
        run(|e| unsafe { mailport_outbox_open(location.as_ptr(), ptr::null(), 0, &mut outbox, e) });
    assert_eq!(rc, MAILPORT_OK, "{m}");
    outbox
}

fn message() -> *mut mailport_message {
    // SAFETY: plain sequence of valid calls.
    unsafe {
        let m = mailport_message_new();
        let e = ptr::null_mut();
        assert_eq!(
            mailport_message_set_from(m, c"shop@example.com".as_ptr(), e),
            MAILPORT_OK
        );
        assert_eq!(
            mailport_message_add_to(m, c"ann@example.org".as_ptr(), e),
            MAILPORT_OK
        );
        assert_eq!(
            mailport_message_set_subject(m, c"order 1".as_ptr(), e),
            MAILPORT_OK
        );
        m
    }
}

fn enqueue(outbox: *mut mailport_outbox, m: *const mailport_message) -> String {
    let mut id = [0 as c_char; mailport_outbox_id_size::MAILPORT_OUTBOX_ID_SIZE as usize];
    let mut n = 0;
    // SAFETY: `id` is writable for its length.
    let (rc, msg) = run(|e| unsafe {
        mailport_outbox_enqueue(outbox, m, id.as_mut_ptr(), id.len(), &mut n, e)
    });
    assert_eq!(rc, MAILPORT_OK, "{msg}");
    assert_eq!(n, ID_LEN);
    text(id.as_ptr())
}

type Heard = Mutex<Vec<(u32, String, u32, u32, usize, String, String)>>;

unsafe extern "C" fn hear(
    userdata: *mut c_void,
    kind: u32,
    id: *const c_char,
    from_state: u32,
    to_state: u32,
    connection: usize,
    server: *const c_char,
    message: *const c_char,
) {
    // SAFETY: the test passes a `Heard` as userdata and mailport passes valid strings.
    let heard = unsafe { &*(userdata as *const Heard) };
    heard.lock().unwrap().push((
        kind,
        text(id),
        from_state,
        to_state,
        connection,
        text(server),
        text(message),
    ));
}

#[test]
fn null_arguments_are_reported_by_name() {
    let spool = Spool::new("null");
    let outbox = open(&spool);
    let m = message();
    let null_outbox: *mut mailport_outbox = ptr::null_mut();
    let mut id = [0 as c_char; 31];
    let mut record: *mut mailport_outbox_record = ptr::dangling_mut();
    let mut records: *mut mailport_outbox_records = ptr::dangling_mut();
    let mut opened: *mut mailport_outbox = ptr::dangling_mut();
    // SAFETY: NULL arguments are the case under test; the others are valid.
    unsafe {
        let (rc, msg) = run(|e| mailport_outbox_open(ptr::null(), ptr::null(), 0, &mut opened, e));
        assert_eq!(
            (rc, msg.as_str()),
            (MAILPORT_ERR_NULL_ARGUMENT, "location must not be NULL")
        );
        assert!(opened.is_null(), "outbox_out is NULLed on entry");
        let location = spool.c();
        let (rc, msg) =
            run(|e| mailport_outbox_open(location.as_ptr(), ptr::null(), 0, ptr::null_mut(), e));
        assert_eq!(
            (rc, msg.as_str()),
            (MAILPORT_ERR_NULL_ARGUMENT, "outbox_out must not be NULL")
        );
        let (rc, msg) =
            run(|e| mailport_outbox_open(location.as_ptr(), ptr::null(), 2, &mut opened, e));
        assert_eq!(
            (rc, msg.as_str()),
            (MAILPORT_ERR_NULL_ARGUMENT, "connections must not be NULL")
        );
        let configs = [ptr::null::<mailport_config>()];
        let (rc, msg) =
            run(|e| mailport_outbox_open(location.as_ptr(), configs.as_ptr(), 1, &mut opened, e));
        assert_eq!(
            (rc, msg.as_str()),
            (
                MAILPORT_ERR_NULL_ARGUMENT,
                "connections[0] must not be NULL"
            )
        );
        let (rc, msg) = run(|e| {
            mailport_outbox_enqueue(null_outbox, m, id.as_mut_ptr(), 31, ptr::null_mut(), e)
        });
        assert_eq!(
            (rc, msg.as_str()),
            (MAILPORT_ERR_NULL_ARGUMENT, "outbox must not be NULL")
        );
        let (rc, msg) = run(|e| {
            mailport_outbox_enqueue(outbox, ptr::null(), id.as_mut_ptr(), 31, ptr::null_mut(), e)
        });
        assert_eq!(
            (rc, msg.as_str()),
            (MAILPORT_ERR_NULL_ARGUMENT, "message must not be NULL")
        );
        let (rc, msg) = run(|e| mailport_outbox_get(outbox, ptr::null(), &mut record, e));
        assert_eq!(
            (rc, msg.as_str()),
            (MAILPORT_ERR_NULL_ARGUMENT, "id must not be NULL")
        );
        assert!(record.is_null());
        // get has nothing to give but the record; retry and cancel act, so theirs is optional.
        let (rc, msg) = run(|e| mailport_outbox_get(outbox, c"x".as_ptr(), ptr::null_mut(), e));
        assert_eq!(
            (rc, msg.as_str()),
            (MAILPORT_ERR_NULL_ARGUMENT, "record_out must not be NULL")
        );
        let (rc, msg) = run(|e| mailport_outbox_list(outbox, ptr::null(), 1, 0, &mut records, e));
        assert_eq!(
            (rc, msg.as_str()),
            (MAILPORT_ERR_NULL_ARGUMENT, "states must not be NULL")
        );
        assert!(records.is_null());
        let (rc, msg) =
            run(|e| mailport_outbox_list(outbox, ptr::null(), 0, 0, ptr::null_mut(), e));
        assert_eq!(
            (rc, msg.as_str()),
            (MAILPORT_ERR_NULL_ARGUMENT, "records_out must not be NULL")
        );
        for call in [mailport_outbox_retry, mailport_outbox_cancel] {
            let (rc, msg) = run(|e| call(null_outbox, c"x".as_ptr(), ptr::null_mut(), e));
            assert_eq!(
                (rc, msg.as_str()),
                (MAILPORT_ERR_NULL_ARGUMENT, "outbox must not be NULL")
            );
        }
        let mut removed = 7;
        let (rc, _) = run(|e| mailport_outbox_prune(null_outbox, 0, &mut removed, e));
        assert_eq!((rc, removed), (MAILPORT_ERR_NULL_ARGUMENT, 0));
        let (rc, _) = run(|e| mailport_outbox_run(null_outbox, 0, 0, ptr::null_mut(), e));
        assert_eq!(rc, MAILPORT_ERR_NULL_ARGUMENT);
        for setter in [
            mailport_outbox_set_min_backoff_ms,
            mailport_outbox_set_max_backoff_ms,
            mailport_outbox_set_lifetime_ms,
        ] {
            assert_eq!(
                run(|e| setter(null_outbox, 1, e)).0,
                MAILPORT_ERR_NULL_ARGUMENT
            );
        }
        for setter in [
            mailport_outbox_set_retry_unknown,
            mailport_outbox_set_keep_sent,
            mailport_outbox_set_keep_transcripts,
        ] {
            assert_eq!(
                run(|e| setter(null_outbox, true, e)).0,
                MAILPORT_ERR_NULL_ARGUMENT
            );
        }
        let (rc, _) =
            run(|e| mailport_outbox_set_event_callback(null_outbox, None, ptr::null_mut(), e));
        assert_eq!(rc, MAILPORT_ERR_NULL_ARGUMENT);

        // Accessors on NULL are neutral.
        let r = ptr::null();
        assert_eq!(text(mailport_outbox_record_id(r)), "");
        assert_eq!(mailport_outbox_record_state(r), 0);
        assert_eq!(mailport_outbox_record_created(r), 0);
        assert_eq!(mailport_outbox_record_due(r), 0);
        assert_eq!(text(mailport_outbox_record_message_id(r)), "");
        assert_eq!(text(mailport_outbox_record_envelope_from(r)), "");
        assert_eq!(mailport_outbox_record_size(r), 0);
        assert_eq!(mailport_outbox_record_retries(r), 0);
        assert_eq!(text(mailport_outbox_record_reason(r)), "");
        assert!(!mailport_outbox_record_maybe_delivered(r));
        assert_eq!(mailport_outbox_record_delivered_by(r), -1);
        assert_eq!(mailport_outbox_record_recipient_count(r), 0);
        assert!(mailport_outbox_record_recipient_address(r, 0).is_null());
        assert!(mailport_outbox_record_recipient_state(r, 0).is_null());
        assert!(mailport_outbox_record_recipient_reply(r, 0).is_null());
        assert_eq!(mailport_outbox_record_attempt_count(r), 0);
        assert_eq!(mailport_outbox_record_attempt_at(r, 0), 0);
        assert_eq!(mailport_outbox_record_attempt_connection(r, 0), 0);
        assert_eq!(mailport_outbox_record_attempt_reply_code(r, 0), 0);
        for getter in [
            mailport_outbox_record_attempt_server,
            mailport_outbox_record_attempt_outcome,
            mailport_outbox_record_attempt_kind,
            mailport_outbox_record_attempt_message,
            mailport_outbox_record_attempt_enhanced_status,
            mailport_outbox_record_attempt_queue_id,
            mailport_outbox_record_attempt_transcript,
        ] {
            assert!(getter(r, 0).is_null());
        }
        assert_eq!(text(mailport_outbox_record_json(r)), "");
        assert_eq!(mailport_outbox_records_count(ptr::null()), 0);
        assert!(mailport_outbox_records_record(ptr::null(), 0).is_null());
        assert_eq!(text(mailport_outbox_records_json(ptr::null())), "");
        let s = ptr::null();
        assert_eq!(mailport_outbox_summary_sent(s), 0);
        assert_eq!(mailport_outbox_summary_deferred(s), 0);
        assert_eq!(mailport_outbox_summary_failed(s), 0);
        assert_eq!(mailport_outbox_summary_held(s), 0);
        assert_eq!(mailport_outbox_summary_via_backup(s), 0);
        assert_eq!(text(mailport_outbox_summary_json(s)), "");
        mailport_outbox_record_free(ptr::null_mut());
        mailport_outbox_records_free(ptr::null_mut());
        mailport_outbox_summary_free(ptr::null_mut());
        mailport_outbox_free(ptr::null_mut());
        mailport_message_free(m);
        mailport_outbox_free(outbox);
    }
}

#[test]
fn bad_values_are_refused_and_name_what_is_wrong() {
    let spool = Spool::new("bad");
    let outbox = open(&spool);
    // SAFETY: valid handles and strings; the values are what is under test.
    unsafe {
        let mut opened: *mut mailport_outbox = ptr::dangling_mut();
        let (rc, msg) = run(|e| mailport_outbox_open(c"".as_ptr(), ptr::null(), 0, &mut opened, e));
        assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
        assert!(msg.starts_with("location is empty"), "{msg}");
        let cfg = mailport_config_new();
        let configs = [cfg.cast_const()];
        let location = spool.c();
        let (rc, msg) =
            run(|e| mailport_outbox_open(location.as_ptr(), configs.as_ptr(), 1, &mut opened, e));
        assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
        assert!(msg.starts_with("connections[0]: host is not set"), "{msg}");
        assert!(opened.is_null());
        mailport_config_free(cfg);

        let mut record: *mut mailport_outbox_record = ptr::dangling_mut();
        for bad in [
            c"".as_ptr(),
            c"../../etc/passwd".as_ptr(),
            c"1764979200000-0123".as_ptr(),
        ] {
            let (rc, msg) = run(|e| mailport_outbox_get(outbox, bad, &mut record, e));
            assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
            assert!(msg.contains("is not an outbox entry id"), "{msg}");
        }
        let (rc, msg) = run(|e| {
            mailport_outbox_get(
                outbox,
                c"1764979200000-0123456789abcdef".as_ptr(),
                &mut record,
                e,
            )
        });
        assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
        assert!(msg.contains("there is no entry"), "{msg}");
        assert!(record.is_null());

        let states = [3u32, 0];
        let mut records: *mut mailport_outbox_records = ptr::dangling_mut();
        let (rc, msg) =
            run(|e| mailport_outbox_list(outbox, states.as_ptr(), 2, 0, &mut records, e));
        assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
        assert!(
            msg.starts_with("states[1]: 0 is not an entry state"),
            "{msg}"
        );

        // No connection: a run cannot deliver.
        let (rc, msg) = run(|e| mailport_outbox_run(outbox, 0, 0, ptr::null_mut(), e));
        assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
        assert!(msg.contains("no connection"), "{msg}");
        mailport_outbox_free(outbox);
    }
}

#[test]
fn a_small_id_buffer_enqueues_nothing() {
    let spool = Spool::new("small");
    let outbox = open(&spool);
    let m = message();
    // SAFETY: valid handles; the buffers are what is under test.
    unsafe {
        let mut n = 0;
        let (rc, _) = run(|e| mailport_outbox_enqueue(outbox, m, ptr::null_mut(), 0, &mut n, e));
        assert_eq!((rc, n), (MAILPORT_ERR_BUFFER_TOO_SMALL, 30));
        let mut id = [0x55 as c_char; 30];
        let (rc, msg) =
            run(|e| mailport_outbox_enqueue(outbox, m, id.as_mut_ptr(), 30, ptr::null_mut(), e));
        assert_eq!(rc, MAILPORT_ERR_BUFFER_TOO_SMALL);
        assert!(msg.contains("nothing was enqueued"), "{msg}");
        assert_eq!(id[0], 0x55, "nothing written");
        let (rc, _) =
            run(|e| mailport_outbox_enqueue(outbox, m, ptr::null_mut(), 31, ptr::null_mut(), e));
        assert_eq!(rc, MAILPORT_ERR_NULL_ARGUMENT);
        let to = [c"a@example.org".as_ptr()];
        let (rc, _) = run(|e| {
            mailport_outbox_enqueue_raw(
                outbox,
                c"me@example.org".as_ptr(),
                to.as_ptr(),
                1,
                b"x".as_ptr().cast(),
                1,
                id.as_mut_ptr(),
                3,
                ptr::null_mut(),
                e,
            )
        });
        assert_eq!(rc, MAILPORT_ERR_BUFFER_TOO_SMALL);
        let mut records = ptr::null_mut();
        assert_eq!(
            run(|e| mailport_outbox_list(outbox, ptr::null(), 0, 0, &mut records, e)).0,
            MAILPORT_OK
        );
        assert_eq!(
            mailport_outbox_records_count(records),
            0,
            "nothing was enqueued"
        );
        assert_eq!(text(mailport_outbox_records_json(records)), "[]");
        mailport_outbox_records_free(records);
        mailport_message_free(m);
        mailport_outbox_free(outbox);
    }
}

#[test]
fn enqueue_get_list_cancel_and_the_events_they_cause() {
    let spool = Spool::new("cycle");
    let outbox = open(&spool);
    let heard: Heard = Mutex::new(Vec::new());
    let m = message();
    // SAFETY: valid handles; `heard` outlives the outbox.
    unsafe {
        let userdata = &heard as *const Heard as *mut c_void;
        assert_eq!(
            run(|e| mailport_outbox_set_event_callback(outbox, Some(hear), userdata, e)).0,
            MAILPORT_OK
        );
        for setter in [
            mailport_outbox_set_min_backoff_ms,
            mailport_outbox_set_lifetime_ms,
        ] {
            assert_eq!(run(|e| setter(outbox, 0, e)).0, MAILPORT_OK);
        }
        assert_eq!(
            run(|e| mailport_outbox_set_keep_sent(outbox, true, e)).0,
            MAILPORT_OK
        );
        let policy = (*outbox).inner.policy();
        assert_eq!(
            (policy.min_backoff, policy.lifetime),
            (Duration::ZERO, Duration::ZERO)
        );
        assert!(policy.keep_sent);

        let first = enqueue(outbox, m);
        let to = [c"hidden@example.org".as_ptr()];
        let raw = b"Subject: raw\r\n\r\nbody\r\n";
        let mut id = [0 as c_char; 31];
        let (rc, msg) = run(|e| {
            mailport_outbox_enqueue_raw(
                outbox,
                c"bounce@example.com".as_ptr(),
                to.as_ptr(),
                1,
                raw.as_ptr().cast(),
                raw.len(),
                id.as_mut_ptr(),
                id.len(),
                ptr::null_mut(),
                e,
            )
        });
        assert_eq!(rc, MAILPORT_OK, "{msg}");
        let second = text(id.as_ptr());
        assert!(first < second, "ids sort by enqueue order");

        let first_c = CString::new(first.clone()).unwrap();
        let mut record = ptr::null_mut();
        assert_eq!(
            run(|e| mailport_outbox_get(outbox, first_c.as_ptr(), &mut record, e)).0,
            MAILPORT_OK
        );
        assert_eq!(text(mailport_outbox_record_id(record)), first);
        assert_eq!(
            mailport_outbox_record_state(record),
            mailport_outbox_state::MAILPORT_OUTBOX_STATE_QUEUED as u32
        );
        assert!(text(mailport_outbox_record_message_id(record)).starts_with('<'));
        assert_eq!(
            text(mailport_outbox_record_envelope_from(record)),
            "shop@example.com"
        );
        assert_eq!(mailport_outbox_record_recipient_count(record), 1);
        assert_eq!(
            text(mailport_outbox_record_recipient_address(record, 0)),
            "ann@example.org"
        );
        assert_eq!(
            text(mailport_outbox_record_recipient_state(record, 0)),
            "pending"
        );
        assert_eq!(text(mailport_outbox_record_recipient_reply(record, 0)), "");
        assert!(mailport_outbox_record_recipient_address(record, 1).is_null());
        assert_eq!(mailport_outbox_record_attempt_count(record), 0);
        assert_eq!(mailport_outbox_record_delivered_by(record), -1);
        assert!(mailport_outbox_record_size(record) > 0);
        assert!(mailport_outbox_record_created(record) <= mailport_outbox_record_due(record));
        let json: serde_json::Value =
            serde_json::from_str(&text(mailport_outbox_record_json(record))).unwrap();
        assert_eq!(json["id"], first.as_str());
        assert_eq!(json["state"], "queued");
        mailport_outbox_record_free(record);

        // Cancel the first; the second stays queued.
        let mut cancelled = ptr::null_mut();
        assert_eq!(
            run(|e| mailport_outbox_cancel(outbox, first_c.as_ptr(), &mut cancelled, e)).0,
            MAILPORT_OK
        );
        assert_eq!(
            mailport_outbox_record_state(cancelled),
            mailport_outbox_state::MAILPORT_OUTBOX_STATE_CANCELLED as u32
        );
        assert_eq!(text(mailport_outbox_record_reason(cancelled)), "cancelled");
        mailport_outbox_record_free(cancelled);
        let (rc, msg) =
            run(|e| mailport_outbox_cancel(outbox, first_c.as_ptr(), ptr::null_mut(), e));
        assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
        assert!(msg.contains("already cancelled"), "{msg}");
        let (rc, msg) =
            run(|e| mailport_outbox_retry(outbox, first_c.as_ptr(), ptr::null_mut(), e));
        assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
        assert!(msg.contains("nothing to retry"), "{msg}");

        let queued = [mailport_outbox_state::MAILPORT_OUTBOX_STATE_QUEUED as u32];
        let mut records = ptr::null_mut();
        assert_eq!(
            run(|e| mailport_outbox_list(outbox, queued.as_ptr(), 1, 0, &mut records, e)).0,
            MAILPORT_OK
        );
        assert_eq!(mailport_outbox_records_count(records), 1);
        let only = mailport_outbox_records_record(records, 0);
        assert_eq!(text(mailport_outbox_record_id(only)), second);
        assert_eq!(
            text(mailport_outbox_record_envelope_from(only)),
            "bounce@example.com"
        );
        assert_eq!(text(mailport_outbox_record_message_id(only)), "");
        assert!(mailport_outbox_records_record(records, 1).is_null());
        let all: serde_json::Value =
            serde_json::from_str(&text(mailport_outbox_records_json(records))).unwrap();
        assert_eq!(all.as_array().unwrap().len(), 1);
        mailport_outbox_records_free(records);
        assert_eq!(
            run(|e| mailport_outbox_list(outbox, ptr::null(), 0, 1, &mut records, e)).0,
            MAILPORT_OK
        );
        assert_eq!(mailport_outbox_records_count(records), 1, "limit 1");
        assert_eq!(
            text(mailport_outbox_record_id(mailport_outbox_records_record(
                records, 0
            ))),
            first
        );
        mailport_outbox_records_free(records);

        let mut removed = 9;
        assert_eq!(
            run(|e| mailport_outbox_prune(outbox, 3_600_000, &mut removed, e)).0,
            MAILPORT_OK
        );
        assert_eq!(removed, 0, "nothing that old");

        // Off again: later changes are not heard.
        assert_eq!(
            run(|e| mailport_outbox_set_event_callback(outbox, None, ptr::null_mut(), e)).0,
            MAILPORT_OK
        );
        let second_c = CString::new(second.clone()).unwrap();
        assert_eq!(
            run(|e| mailport_outbox_cancel(outbox, second_c.as_ptr(), ptr::null_mut(), e)).0,
            MAILPORT_OK
        );
        mailport_message_free(m);
        mailport_outbox_free(outbox);
    }
    let (queued, cancelled) = (
        mailport_outbox_state::MAILPORT_OUTBOX_STATE_QUEUED as u32,
        mailport_outbox_state::MAILPORT_OUTBOX_STATE_CANCELLED as u32,
    );
    let heard: Vec<(u32, String, u32, u32)> = heard
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|(kind, id, from, to, connection, server, _)| {
            assert_eq!((kind, connection, server.as_str()), (0, 0, ""));
            (kind, id, from, to)
        })
        .collect();
    let ids: Vec<&str> = heard.iter().map(|h| h.1.as_str()).collect();
    assert_eq!(heard.len(), 3, "{heard:?}");
    assert_eq!((heard[0].2, heard[0].3), (0, queued));
    assert_eq!((heard[1].2, heard[1].3), (0, queued));
    assert_eq!((heard[2].2, heard[2].3), (queued, cancelled));
    assert_eq!(ids[0], ids[2]);
}

#[test]
fn events_go_to_the_run_of_their_own_outbox() {
    let event = Event::StateChanged {
        id: EntryId::parse("1764979200000-0123456789abcdef").unwrap(),
        from: Some(State::Queued),
        to: State::Sent,
        message: Some("250 ok".into()),
    };
    let outer = Collecting::start(1);
    Collecting::heard(1, &event);
    Collecting::heard(2, &event);
    {
        let inner = Collecting::start(2);
        Collecting::heard(2, &event);
        assert_eq!(inner.take().len(), 1);
    }
    Collecting::heard(1, &event);
    assert_eq!(outer.take().len(), 2);
    drop(outer);
    RUNS.with(|runs| assert!(runs.borrow().is_empty()));
    let summary = mailport_outbox_summary::new(
        RunSummary {
            sent: 1,
            ..RunSummary::default()
        },
        &[
            event,
            Event::ConnectionFailing {
                connection: 1,
                server: "mx:25".into(),
                message: "refused".into(),
            },
            Event::ConnectionRecovered {
                connection: 1,
                server: "mx:25".into(),
            },
        ],
    );
    let json: serde_json::Value = serde_json::from_str(summary.json.to_str().unwrap()).unwrap();
    assert_eq!(json["sent"], 1);
    assert_eq!(json["events"][0]["kind"], "state_changed");
    assert_eq!(json["events"][0]["from"], "queued");
    assert_eq!(json["events"][0]["to"], "sent");
    assert_eq!(json["events"][1]["kind"], "connection_failing");
    assert_eq!(json["events"][1]["connection"], 1);
    assert_eq!(json["events"][2]["kind"], "connection_recovered");
}
