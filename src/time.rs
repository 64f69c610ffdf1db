//! Calendar dates: the one conversion between Unix seconds and a date and time of day, for the
//! crate and the `mailport` command (Date headers, certificate validity, report times, the
//! capture server's file names and trace headers). Proleptic Gregorian calendar, with Howard
//! Hinnant's `civil_from_days` and `days_from_civil` algorithms.

use std::time::{SystemTime, UNIX_EPOCH};

/// A date and time of day, in UTC unless a caller says otherwise (a Date header's local time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CivilTime {
    pub year: i64,
    /// 1 = January.
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

const DAY: i64 = 86_400;

impl CivilTime {
    /// The UTC date and time `unix` seconds after 1970-01-01 00:00:00 UTC.
    pub fn from_unix(unix: i64) -> CivilTime {
        let (days, secs) = (unix.div_euclid(DAY), unix.rem_euclid(DAY));
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        // Every value below is in range by construction (day 1..=31, secs 0..86_400).
        let small = |n: i64| n as u32;
        CivilTime {
            year: yoe + era * 400 + i64::from(month <= 2),
            month: small(month),
            day: small(day),
            hour: small(secs / 3_600),
            minute: small(secs % 3_600 / 60),
            second: small(secs % 60),
        }
    }

    /// The UTC date and time of `time`, in whole seconds (rounded down, so a moment just before
    /// the epoch is still in 1969).
    pub fn at(time: SystemTime) -> CivilTime {
        CivilTime::from_unix(unix_seconds(time))
    }

    /// The Unix seconds of this UTC date and time; `None` for a date or time that does not
    /// exist (February 30, hour 24, second 60).
    pub fn to_unix(&self) -> Option<i64> {
        let valid = (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= days_in_month(self.year, self.month)
            && self.hour < 24
            && self.minute < 60
            && self.second < 60;
        valid.then(|| {
            self.days() * DAY
                + i64::from(self.hour) * 3_600
                + i64::from(self.minute) * 60
                + i64::from(self.second)
        })
    }

    /// The day of the week: 0 = Sunday.
    pub fn weekday(&self) -> u32 {
        // 1970-01-01 was a Thursday.
        (self.days() + 4).rem_euclid(7) as u32
    }

    /// RFC 3339 in UTC: `2026-11-30T06:12:44Z`.
    pub fn rfc3339(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// RFC 5322 date-time for a time `offset_minutes` ahead of UTC (0 for UTC):
    /// `Mon, 30 Nov 2026 06:40:12 +0000`.
    pub fn rfc5322(&self, offset_minutes: i64) -> String {
        let mut out = String::with_capacity(31);
        self.write_rfc5322(&mut out, offset_minutes);
        out
    }

    /// [`CivilTime::rfc5322`], appended to `out` (every message's Date field: no `format!`).
    pub fn write_rfc5322(&self, out: &mut String, offset_minutes: i64) {
        const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        /// `n` in at least `width` digits, zero-padded (as `{:0width$}` for these values).
        fn digits(out: &mut String, n: u64, width: usize) {
            if width == 2 && n < 100 {
                out.push(char::from(b'0' + (n / 10) as u8));
                out.push(char::from(b'0' + (n % 10) as u8));
                return;
            }
            let mut buf = [b'0'; 20];
            let mut at = buf.len();
            let mut n = n;
            loop {
                at -= 1;
                buf[at] = b'0' + (n % 10) as u8;
                n /= 10;
                if n == 0 {
                    break;
                }
            }
            at = at.min(buf.len() - width);
            for &b in &buf[at..] {
                out.push(char::from(b));
            }
        }
        out.push_str(DAYS[self.weekday() as usize % 7]);
        out.push_str(", ");
        digits(out, u64::from(self.day), 2);
        out.push(' ');
        out.push_str(MONTHS[(self.month as usize + 11) % 12]);
        out.push(' ');
        if self.year < 0 {
            // `{:04}` counts the sign in the width.
            out.push('-');
            digits(out, self.year.unsigned_abs(), 3);
        } else {
            digits(out, self.year.unsigned_abs(), 4);
        }
        out.push(' ');
        digits(out, u64::from(self.hour), 2);
        out.push(':');
        digits(out, u64::from(self.minute), 2);
        out.push(':');
        digits(out, u64::from(self.second), 2);
        out.push(' ');
        out.push(if offset_minutes < 0 { '-' } else { '+' });
        let offset = offset_minutes.unsigned_abs();
        digits(out, offset / 60, 2);
        digits(out, offset % 60, 2);
    }

    /// Days since 1970-01-01 of the date (`days_from_civil`).
    fn days(&self) -> i64 {
        let month = i64::from(self.month);
        let year = if month <= 2 { self.year - 1 } else { self.year };
        let era = year.div_euclid(400);
        let yoe = year - era * 400;
        let mp = (month + 9) % 12;
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }
}

/// Whole seconds since the epoch, rounded down (negative before 1970).
pub fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => {
            let d = before.duration();
            let whole = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            -whole - i64::from(d.subsec_nanos() > 0)
        }
    }
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_seconds_and_dates_convert_both_ways() {
        for (unix, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (1_764_483_164, "2025-11-30T06:12:44Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (-86_400, "1969-12-31T00:00:00Z"),
            (-1, "1969-12-31T23:59:59Z"),
            (253_402_300_799, "9999-12-31T23:59:59Z"),
        ] {
            let time = CivilTime::from_unix(unix);
            assert_eq!(time.rfc3339(), text);
            assert_eq!(time.to_unix(), Some(unix), "{text}");
        }
    }

    #[test]
    fn rfc5322_dates_are_written_as_format_would() {
        // The writer avoids `format!` on every message's Date; this is the format it replaced.
        fn reference(t: &CivilTime, offset_minutes: i64) -> String {
            const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
            const MONTHS: [&str; 12] = [
                "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
            ];
            let sign = if offset_minutes < 0 { '-' } else { '+' };
            let offset = offset_minutes.abs();
            format!(
                "{}, {:02} {} {:04} {:02}:{:02}:{:02} {sign}{:02}{:02}",
                DAYS[t.weekday() as usize % 7],
                t.day,
                MONTHS[(t.month as usize + 11) % 12],
                t.year,
                t.hour,
                t.minute,
                t.second,
                offset / 60,
                offset % 60,
            )
        }
        let mut unix = -70_000_000_000i64;
        while unix < 400_000_000_000 {
            let t = CivilTime::from_unix(unix);
            for offset in [0, 60, -300, 330, -719, 1439, -1439, 6000] {
                assert_eq!(t.rfc5322(offset), reference(&t, offset), "{unix} {offset}");
            }
            unix += 987_654_321;
        }
        for year in [-12345, -999, -5, 0, 7, 99, 999, 10_000, 123_456] {
            let t = CivilTime {
                year,
                ..CivilTime::from_unix(0)
            };
            assert_eq!(t.rfc5322(-61), reference(&t, -61), "{year}");
        }
    }

    #[test]
    fn impossible_dates_have_no_unix_time() {
        let base = CivilTime::from_unix(0);
        for bad in [
            CivilTime { month: 13, ..base },
            CivilTime { day: 0, ..base },
            CivilTime {
                year: 2023,
                month: 2,
                day: 29,
                ..base
            },
            CivilTime { hour: 24, ..base },
            CivilTime { second: 60, ..base },
        ] {
            assert_eq!(bad.to_unix(), None, "{bad:?}");
        }
    }

    #[test]
    fn weekdays_and_rfc5322() {
        let time = CivilTime::from_unix(1_764_483_164);
        assert_eq!(time.weekday(), 0, "30 November 2025 was a Sunday");
        assert_eq!(time.rfc5322(0), "Sun, 30 Nov 2025 06:12:44 +0000");
        assert_eq!(time.rfc5322(-90), "Sun, 30 Nov 2025 06:12:44 -0130");
        assert_eq!(CivilTime::from_unix(0).weekday(), 4, "a Thursday");
    }

    #[test]
    fn moments_before_the_epoch_round_down() {
        let just_before = UNIX_EPOCH - std::time::Duration::from_millis(1);
        assert_eq!(unix_seconds(just_before), -1);
        assert_eq!(CivilTime::at(just_before).year, 1969);
    }
}
