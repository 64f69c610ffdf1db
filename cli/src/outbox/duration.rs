//! Durations on the command line (`30s`, `5m`, `1h`, `5d`, `90` = seconds) and in output.

use std::time::Duration;

/// The longest duration accepted: ten years (longer ones are surely a typo).
const MAX_SECONDS: u64 = 3650 * 86_400;

/// A whole number of seconds, minutes, hours or days: `30s`, `5m`, `1h`, `5d`; a bare number is
/// seconds. Zero is allowed (`--min-backoff 0`: retry at the next pass).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "{text:?} is not a duration: give a whole number with a unit s, m, h or d \
             (30s, 5m, 1h, 5d; a bare number is seconds)"
        )
    };
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    if number.is_empty() {
        return Err(bad());
    }
    let scale: u64 = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .filter(|&seconds| seconds <= MAX_SECONDS)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is too long: give at most 3650d"))
}

/// A span of seconds the way people say it, in its two largest units: `45s`, `4m 10s`, `1h`,
/// `2d 3h`.
pub fn human(seconds: u64) -> String {
    const UNITS: [(u64, &str); 4] = [(86_400, "d"), (3600, "h"), (60, "m"), (1, "s")];
    if seconds == 0 {
        return "0s".to_string();
    }
    let mut parts = Vec::new();
    let mut rest = seconds;
    for (size, name) in UNITS {
        if rest >= size {
            parts.push(format!("{}{name}", rest / size));
            rest %= size;
        } else if !parts.is_empty() {
            // Only adjacent units: "1h 0m 5s" reads as "1h".
            break;
        }
        if parts.len() == 2 {
            break;
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let secs = |t: &str| parse_duration(t).map(|d| d.as_secs());
        assert_eq!(secs("90"), Ok(90));
        assert_eq!(secs("30s"), Ok(30));
        assert_eq!(secs("5m"), Ok(300));
        assert_eq!(secs("1h"), Ok(3600));
        assert_eq!(secs("5d"), Ok(432_000));
        assert_eq!(secs("0"), Ok(0));
        assert_eq!(secs(" 2h "), Ok(7200));
        for bad in [
            "", "m", "5x", "1.5h", "-1", "5 m", "5min", "1h30m", "+5", "5M",
        ] {
            let error = parse_duration(bad).unwrap_err();
            assert!(error.contains("not a duration"), "{bad}: {error}");
        }
        assert!(parse_duration("3651d").unwrap_err().contains("too long"));
        assert!(
            parse_duration("99999999999999999999")
                .unwrap_err()
                .contains("too long")
        );
    }

    #[test]
    fn human_spans() {
        assert_eq!(human(0), "0s");
        assert_eq!(human(45), "45s");
        assert_eq!(human(250), "4m 10s");
        assert_eq!(human(3600), "1h");
        assert_eq!(human(3605), "1h");
        assert_eq!(human(5400), "1h 30m");
        assert_eq!(human(2 * 86_400 + 3 * 3600 + 7), "2d 3h");
    }
}
