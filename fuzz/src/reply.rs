//! The SMTP reply parser on arbitrary bytes: single and multi-line replies, pipelined replies
//! one after another, and the limits (line, line count, reply size) on complete and
//! incomplete input.

use mailport::Kind;
use mailport::smtp::reply::{MAX_LINE, MAX_LINES, MAX_REPLY, parse_reply};

pub fn check(data: &[u8]) {
    // Pipelining: the server's bytes hold several replies; parse them one after another as
    // the session does.
    let mut rest = data;
    for _ in 0..64 {
        let Some(used) = check_one(rest) else { return };
        rest = &rest[used..];
    }
}

/// Check the first reply in `buf`; the bytes it used, when it is complete.
fn check_one(buf: &[u8]) -> Option<usize> {
    match parse_reply(buf) {
        Err(e) => {
            assert_eq!(e.kind(), Kind::Protocol, "{e}");
            assert!(!e.message().is_empty());
            // Whatever the server sent, the message quotes it without control characters.
            assert!(
                !e.message().contains(|c: char| c.is_control()),
                "error message with a control character: {:?}",
                e.message()
            );
            None
        }
        Ok(None) => {
            // More input could still make a reply: within the limits, and no line end yet in
            // a line the parser would have to refuse.
            assert!(
                buf.len() < MAX_REPLY + MAX_LINE,
                "{} bytes wait for more",
                buf.len()
            );
            None
        }
        Ok(Some((reply, used))) => {
            assert!(
                used > 0 && used <= buf.len() && used <= MAX_REPLY,
                "used {used}"
            );
            assert_eq!(buf[used - 1], b'\n', "a reply ends at a line end");
            assert!((200..=559).contains(&reply.code()), "code {}", reply.code());
            assert!(!reply.lines().is_empty() && reply.lines().len() <= MAX_LINES);
            for line in reply.lines() {
                assert!(
                    !line.contains(|c: char| c.is_control()),
                    "reply line with a control character: {line:?}"
                );
                assert_eq!(line.trim_end(), line, "trailing whitespace is trimmed");
            }
            let count = buf[..used].iter().filter(|&&b| b == b'\n').count();
            assert_eq!(count, reply.lines().len(), "one line per line end");
            // The same bytes alone give the same reply: nothing after them was looked at.
            let (again, used_again) = parse_reply(&buf[..used])
                .expect("the reply alone parses")
                .expect("the reply alone is complete");
            assert_eq!(
                (again.code(), again.lines(), used_again),
                (reply.code(), reply.lines(), used)
            );
            // Any shorter prefix is a reply still arriving, never an error: a server that
            // sends its reply a byte at a time is as good as one that sends it at once.
            let mut ends: Vec<usize> = buf[..used]
                .iter()
                .enumerate()
                .filter(|&(_, &b)| b == b'\n')
                .flat_map(|(i, _)| [i, i + 1])
                .collect();
            ends.push(used / 2);
            for end in ends.into_iter().filter(|&e| e < used) {
                match parse_reply(&buf[..end]) {
                    Ok(None) => {}
                    other => panic!("prefix of {end} bytes of a valid reply gave {other:?}"),
                }
            }
            let _ = (
                reply.text(),
                reply.one_line(),
                reply.to_string(),
                reply.enhanced(),
            );
            let _ = (
                reply.is_positive(),
                reply.is_transient(),
                reply.is_permanent(),
            );
            Some(used)
        }
    }
}
