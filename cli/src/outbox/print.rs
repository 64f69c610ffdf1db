//! Outbox records for people: the `list` table and the `show` page. Server text is printed with
//! its control characters replaced, so that no reply can drive the terminal.

use std::fmt::Write as _;
use std::io::IsTerminal;

use mailport::outbox::{AttemptOutcome, RecipientState, Record, State};
use mailport::time::CivilTime;

use super::duration::human;
use crate::table::{Cell, Colour, colours_wanted, paint, render};

/// The longest last-attempt text in a `list` row.
const LAST_WORDS_WIDTH: usize = 72;

/// `2026-05-01 12:03:04` (UTC).
pub fn when(unix: i64) -> String {
    let t = CivilTime::from_unix(unix);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// `text` with every control character (a line break included) shown as `?`.
pub fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// `text` cut to `width` characters, with `…` when something was cut.
fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut short: String = text.chars().take(width.saturating_sub(1)).collect();
    short.push('…');
    short
}

fn state_colour(state: State) -> Option<Colour> {
    match state {
        State::Sent => Some(Colour::Green),
        State::Deferred | State::Held => Some(Colour::Yellow),
        State::Failed => Some(Colour::Red),
        _ => None,
    }
}

/// When the next attempt is: `now`, `in 4m 10s`, or why there is none.
fn next_attempt(record: &Record, now: i64) -> String {
    match record.state {
        State::Queued | State::Deferred if record.due <= now => "now".to_string(),
        State::Queued | State::Deferred => {
            format!("in {}", human(u64::try_from(record.due - now).unwrap_or(0)))
        }
        State::Held => "after a retry".to_string(),
        State::Sending => "being sent".to_string(),
        State::Sent | State::Failed | State::Cancelled => "-".to_string(),
    }
}

/// The first recipient, and how many more.
fn recipients(record: &Record) -> String {
    match record.recipients.as_slice() {
        [] => "-".to_string(),
        [only] => clean(&only.address),
        [first, rest @ ..] => format!("{} +{}", clean(&first.address), rest.len()),
    }
}

/// The last attempt's words, or why the entry stands where it does.
fn last_words(record: &Record) -> String {
    record
        .attempts
        .last()
        .map(|a| a.message.as_str())
        .or(record.reason.as_deref())
        .map_or_else(|| "-".to_string(), clean)
}

/// The `list` table.
pub fn table(records: &[Record], now: i64) -> String {
    let rows: Vec<Vec<Cell>> = records
        .iter()
        .map(|r| {
            vec![
                Cell::new(r.id.as_str()),
                Cell::coloured(r.state.as_str(), state_colour(r.state)),
                Cell::new(when(r.created)),
                Cell::new(next_attempt(r, now)),
                Cell::new(recipients(r)),
                Cell::new(cut(&last_words(r), LAST_WORDS_WIDTH)),
            ]
        })
        .collect();
    render(
        &[
            "ID",
            "STATE",
            "CREATED (UTC)",
            "NEXT ATTEMPT",
            "RECIPIENTS",
            "LAST ATTEMPT",
        ],
        &rows,
        colours_wanted(std::io::stdout().is_terminal()),
    )
}

/// The name of connection `index`: the primary, or backup N.
pub fn connection_name(index: usize) -> String {
    if index == 0 {
        "primary".to_string()
    } else {
        format!("backup {index}")
    }
}

fn outcome_name(outcome: AttemptOutcome) -> &'static str {
    match outcome {
        AttemptOutcome::Sent => "sent",
        AttemptOutcome::Transient => "temporary failure",
        AttemptOutcome::Permanent => "refused for good",
        AttemptOutcome::Configuration => "configuration problem",
        AttemptOutcome::Unknown => "answer lost (may have been delivered)",
    }
}

/// The `show` page: every field of the record, its recipients and its attempts.
pub fn record(record: &Record, now: i64) -> String {
    let colour = colours_wanted(std::io::stdout().is_terminal());
    let mut out = String::new();
    let mut field = |name: &str, value: String| {
        let _ = writeln!(out, "{:<14}{value}", format!("{name}:"));
    };
    field("id", record.id.to_string());
    let mut state = paint(record.state.as_str(), state_colour(record.state), colour);
    match record.state {
        State::Queued | State::Deferred => {
            let _ = write!(
                state,
                ", next attempt {} UTC ({})",
                when(record.due),
                next_attempt(record, now)
            );
        }
        State::Held => {
            state.push_str(", until `mailport outbox retry` or other connection settings")
        }
        _ => {}
    }
    field("state", state);
    if let Some(reason) = &record.reason {
        field("reason", clean(reason));
    }
    field("created", format!("{} UTC", when(record.created)));
    if let Some(id) = &record.message_id {
        field("message-id", clean(id));
    }
    let from = if record.envelope_from.is_empty() {
        "<> (null sender)".to_string()
    } else {
        clean(&record.envelope_from)
    };
    field("from", from);
    field("size", format!("{} bytes", record.size));
    field("retries", record.retries.to_string());
    if let Some(index) = record.delivered_by {
        field("delivered by", connection_name(index));
    }
    if record.maybe_delivered {
        field(
            "warning",
            "an attempt lost the server's answer after the whole message went out: it may have \
             been delivered already"
                .to_string(),
        );
    }
    if let Some(lease) = &record.lease {
        field(
            "worker",
            format!(
                "{} (claim until {} UTC)",
                clean(&lease.owner),
                when(lease.expires)
            ),
        );
    }
    if let Some(settings) = &record.held_settings {
        field(
            "held under",
            format!("connection settings {}", clean(settings)),
        );
    }

    let _ = writeln!(out, "recipients:");
    let rows: Vec<Vec<Cell>> = record
        .recipients
        .iter()
        .map(|r| {
            let (state, colour) = match r.state {
                RecipientState::Pending => ("pending", None),
                RecipientState::Sent => ("sent", Some(Colour::Green)),
                RecipientState::Failed => ("failed", Some(Colour::Red)),
            };
            vec![
                Cell::new(clean(&r.address)),
                Cell::coloured(state, colour),
                Cell::new(r.reply.as_deref().map(clean).unwrap_or_default()),
            ]
        })
        .collect();
    for line in render(&["ADDRESS", "STATE", "REPLY"], &rows, colour).lines() {
        let _ = writeln!(out, "  {line}");
    }

    if record.attempts.is_empty() {
        let _ = writeln!(out, "attempts:     none yet");
    } else {
        let _ = writeln!(out, "attempts:");
    }
    for (n, attempt) in record.attempts.iter().enumerate() {
        let mut head = format!(
            "  {}. {} UTC  {} ({})  {}",
            n + 1,
            when(attempt.at),
            connection_name(attempt.connection),
            clean(&attempt.server),
            outcome_name(attempt.outcome)
        );
        if let Some(kind) = &attempt.kind {
            let _ = write!(head, " [{}]", clean(kind));
        }
        let _ = writeln!(out, "{head}");
        let _ = writeln!(out, "     {}", clean(&attempt.message));
        let mut details = Vec::new();
        if let Some(code) = attempt.reply_code {
            details.push(match &attempt.enhanced_status {
                Some(status) => format!("reply {code} {}", clean(status)),
                None => format!("reply {code}"),
            });
        }
        if let Some(queue_id) = &attempt.queue_id {
            details.push(format!("queue id {}", clean(queue_id)));
        }
        if !details.is_empty() {
            let _ = writeln!(out, "     {}", details.join(", "));
        }
        if let Some(transcript) = &attempt.transcript {
            let _ = writeln!(out, "     transcript:");
            for line in transcript.lines() {
                let _ = writeln!(out, "       {}", clean(line));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_text() {
        assert_eq!(when(0), "1970-01-01 00:00:00");
        assert_eq!(when(1_764_979_200), "2025-12-06 00:00:00");
        assert_eq!(clean("a\x1b[31mb\r\n"), "a?[31mb??");
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
    }
}
