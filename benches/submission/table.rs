//! Samples, medians and the tables the benchmark prints.

use std::time::Duration;

/// One run of one sender, as the sender reported it.
#[derive(Clone, Copy, Default, Debug)]
pub struct Sample {
    /// Messages (or requests) in the run.
    pub ops: usize,
    /// Wall-clock time of the whole run (from before the connection to after QUIT).
    pub secs: f64,
    /// The sender's CPU time (user + system), when known.
    pub cpu: Option<Duration>,
    /// The sink's CPU time during the run.
    pub sink_cpu: Option<Duration>,
    /// TLS sessions resumed, when the sender can tell.
    pub resumed: Option<u64>,
    /// Peak resident memory at the end minus resident memory at the start, in KiB.
    pub rss_growth_kib: Option<u64>,
}

pub struct Row {
    pub name: &'static str,
    /// A peer (not mailport): every row gets a ratio to it.
    pub peer: bool,
    pub samples: Vec<Sample>,
    /// Why this row has no samples, when it has none.
    pub skipped: Option<String>,
}

impl Row {
    pub fn new(name: &'static str, peer: bool) -> Row {
        Row {
            name,
            peer,
            samples: Vec::new(),
            skipped: None,
        }
    }

    /// Add a sample, or remember the first reason a run failed.
    pub fn record(&mut self, result: Result<Sample, String>) {
        match result {
            Ok(sample) => self.samples.push(sample),
            Err(why) => {
                self.skipped.get_or_insert(why);
            }
        }
    }

    /// Operations per second for each run.
    fn rates(&self) -> Vec<f64> {
        self.samples.iter().map(|s| s.ops as f64 / s.secs).collect()
    }

    fn median_of(&self, value: impl Fn(&Sample) -> Option<f64>) -> Option<f64> {
        median(&self.samples.iter().filter_map(value).collect::<Vec<_>>())
    }
}

pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

fn min_max(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        })
}

/// What a scenario reports besides its headline figure.
pub enum Metric {
    /// Messages/s and the sender's CPU per message.
    Cpu,
    /// Messages/s and round trips per message at this round-trip time.
    RoundTrips(Duration),
    /// Connections/s and TLS sessions resumed.
    Resumed,
    /// Milliseconds for one message, and the sender's peak memory growth.
    Memory,
    /// Milliseconds per request (the rows' rates are requests/s).
    PerRequest,
}

fn rate(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Print a scenario's table: one line per row, the median of its samples with the min–max
/// spread, the scenario's own column, the sink's CPU, and a ratio to every peer's median (how
/// many times faster than that peer). Returns how many rows have no result.
pub fn print_table(title: &str, rows: &[Row], metric: Metric) -> usize {
    println!("\n{title}");
    let (head_value, head_own) = match metric {
        Metric::Cpu => ("msg/s", "CPU µs/msg"),
        Metric::RoundTrips(_) => ("msg/s", "RTT/msg"),
        Metric::Resumed => ("conn/s", "TLS resumed"),
        Metric::Memory => ("ms", "RSS growth MiB"),
        Metric::PerRequest => ("ms/req", "n/a"),
    };
    // The headline: a rate, or for single messages and requests the time they take.
    let headline = |rates: &[f64]| -> Vec<f64> {
        match metric {
            Metric::Memory | Metric::PerRequest => rates.iter().map(|r| 1e3 / r).collect(),
            _ => rates.to_vec(),
        }
    };
    let peers: Vec<&Row> = rows
        .iter()
        .filter(|r| r.peer && !r.samples.is_empty())
        .collect();
    let mut head = format!(
        "| {:<44} | {:>8} | {:>15} | {:>14} | {:>15} |",
        "sender", head_value, "min–max", head_own, "sink CPU µs/op"
    );
    for peer in &peers {
        head.push_str(&format!(" {:>12} |", format!("vs {}", short(peer.name))));
    }
    println!("{head}");
    let dashes: String = head
        .chars()
        .map(|c| if c == '|' { '|' } else { '-' })
        .collect();
    println!("{dashes}");
    let mut skipped = 0;
    for row in rows {
        let rates = row.rates();
        let Some(med) = median(&rates) else {
            let why = row.skipped.as_deref().unwrap_or("not run");
            println!("| {:<44} | skipped: {why}", row.name);
            skipped += 1;
            continue;
        };
        let shown = headline(&rates);
        let (lo, hi) = min_max(&shown);
        let per_op =
            |s: &Sample, d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1e6 / s.ops as f64);
        let own = match metric {
            Metric::Cpu => row
                .median_of(|s| per_op(s, s.cpu))
                .map_or("-".into(), |v| format!("{v:.0}")),
            Metric::RoundTrips(rtt) => row
                .median_of(|s| Some(s.secs / (s.ops as f64 * rtt.as_secs_f64())))
                .map_or("-".into(), |v| format!("{v:.2}")),
            Metric::Resumed => row
                .median_of(|s| s.resumed.map(|r| r as f64))
                .map_or("n/a".into(), |v| {
                    format!("{v:.0}/{}", row.samples.first().map_or(0, |s| s.ops))
                }),
            Metric::Memory => row
                .median_of(|s| s.rss_growth_kib.map(|k| k as f64 / 1024.0))
                .map_or("n/a".into(), |v| format!("{v:.1}")),
            Metric::PerRequest => "-".into(),
        };
        let sink = row
            .median_of(|s| per_op(s, s.sink_cpu))
            .map_or("-".into(), |v| format!("{v:.0}"));
        let mut line = format!(
            "| {:<44} | {:>8} | {:>15} | {:>14} | {:>15} |",
            row.name,
            rate(median(&shown).unwrap_or(f64::NAN)),
            format!("{}–{}", rate(lo), rate(hi)),
            own,
            sink
        );
        for peer in &peers {
            let ratio = median(&peer.rates()).map_or(f64::NAN, |p| med / p);
            line.push_str(&format!(" {:>12} |", format!("{ratio:.2}x")));
        }
        println!("{line}");
    }
    skipped
}

/// A peer's name without its explanation.
fn short(name: &str) -> &str {
    name.split([' ', ',']).next().unwrap_or(name)
}
