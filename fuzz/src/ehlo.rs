//! EHLO capabilities: the reply parser's output, and any lines at all, read as a 250 reply to
//! EHLO.

use mailport::smtp::extensions::Extensions;
use mailport::smtp::reply::{Reply, parse_reply};

pub fn check(data: &[u8]) {
    if let Ok(Some((reply, _))) = parse_reply(data) {
        check_reply(&reply);
    }
    // The same bytes as the lines of a reply, so the capability reader sees text the reply
    // parser would have refused (or that a future parser may let through).
    let text = String::from_utf8_lossy(data);
    let lines: Vec<String> = text
        .split('\n')
        .map(|l| l.trim_end_matches('\r').to_string())
        .collect();
    check_reply(&Reply::new(250, lines));
}

fn check_reply(reply: &Reply) {
    let ext = Extensions::from_ehlo(reply);
    let helo = Extensions::from_helo(reply);
    assert_eq!(helo.server_name, ext.server_name);
    assert!(!helo.pipelining && !helo.starttls && helo.auth.is_empty());
    for (i, m) in ext.auth.iter().enumerate() {
        assert!(!ext.auth[..i].contains(m), "duplicate AUTH mechanism {m:?}");
    }
    for (i, m) in ext.auth_other.iter().enumerate() {
        assert!(
            !ext.auth_other[..i].contains(m),
            "duplicate other AUTH mechanism {m:?}"
        );
        // SASL names are ASCII (RFC 4422 §3.1): other bytes are kept as the server sent them.
        assert_eq!(
            *m,
            m.to_ascii_uppercase(),
            "other AUTH mechanisms are upper-cased"
        );
    }
    if let Some(limit) = ext.max_size() {
        assert_eq!(ext.size, Some(limit), "max_size is SIZE with a limit");
        assert!(limit > 0);
    }
    let names = ext.names();
    assert!(
        ext.pipelining <= names.iter().any(|n| n == "PIPELINING"),
        "{names:?}"
    );
    assert!(
        ext.starttls <= names.iter().any(|n| n == "STARTTLS"),
        "{names:?}"
    );
    // Capabilities are re-read from the same reply after STARTTLS: the same result.
    assert_eq!(Extensions::from_ehlo(reply), ext);
}
