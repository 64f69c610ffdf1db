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
    /// The size of what a render mode produced (S7).
    pub output_bytes: Option<u64>,
}

pub struct Row {
    pub name: &'static str,
    /// A peer (not mailport): every row gets a ratio to it.
    pub peer: bool,
    /// The reference client or renderer (`reference.rs`): every row gets its CPU, sink CPU and
    /// time as multiples of the reference's, the targets being such ratios.
    pub reference: bool,
    pub samples: Vec<Sample>,
    /// Why this row has no samples, when it has none.
    pub skipped: Option<String>,
    /// Why this row cannot run against this build of the library yet (a hook waiting for an
    /// API another part of the work adds); such a row does not fail the bench.
    pub pending: Option<String>,
    /// System calls per message, from the counting pass (`syscalls.rs`): the column's text.
    pub syscalls: Option<String>,
}

impl Row {
    pub fn new(name: &'static str, peer: bool) -> Row {
        Row {
            name,
            peer,
            reference: false,
            samples: Vec::new(),
            skipped: None,
            pending: None,
            syscalls: None,
        }
    }

    /// The reference row of its table.
    pub fn reference(mut self) -> Row {
        self.reference = true;
        self
    }

    /// Add a sample, or remember the first reason a run failed (or is pending).
    pub fn record(&mut self, result: Result<Sample, String>) {
        match result {
            Ok(sample) => self.samples.push(sample),
            Err(why) => match why.strip_prefix(crate::senders::PENDING) {
                Some(why) => {
                    self.pending.get_or_insert(why.to_string());
                }
                None => {
                    self.skipped.get_or_insert(why);
                }
            },
        }
    }

    /// The median CPU time per operation of the sender (`sink`: false) or the sink, in µs.
    fn cpu_per_op(&self, sink: bool) -> Option<f64> {
        self.median_of(|s| {
            let cpu = if sink { s.sink_cpu } else { s.cpu };
            cpu.map(|d| d.as_secs_f64() * 1e6 / s.ops as f64)
        })
    }

    /// The median time per operation, in seconds.
    fn secs_per_op(&self) -> Option<f64> {
        self.median_of(|s| Some(s.secs / s.ops as f64))
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
    /// Milliseconds to render one message, the peak memory growth, the output's size.
    Render,
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
        Metric::Render => ("ms", "peak MiB"),
    };
    // The headline: a rate, or for single messages and requests the time they take.
    let headline = |rates: &[f64]| -> Vec<f64> {
        match metric {
            Metric::Memory | Metric::PerRequest | Metric::Render => {
                rates.iter().map(|r| 1e3 / r).collect()
            }
            _ => rates.to_vec(),
        }
    };
    let peers: Vec<&Row> = rows
        .iter()
        .filter(|r| r.peer && !r.samples.is_empty())
        .collect();
    let reference = rows.iter().find(|r| r.reference && !r.samples.is_empty());
    let extras = Extras::of(rows, reference, &metric);
    let mut head = format!(
        "| {:<44} | {:>8} | {:>15} | {:>14} | {:>15} |",
        "sender", head_value, "min–max", head_own, "sink CPU µs/op"
    );
    for peer in &peers {
        head.push_str(&format!(" {:>12} |", format!("vs {}", short(peer.name))));
    }
    for title in extras.titles() {
        head.push_str(&format!(" {title:>12} |"));
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
            if let (Some(why), None) = (&row.pending, &row.skipped) {
                println!("| {:<44} | pending: {why}", row.name);
                continue;
            }
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
            Metric::Render => row
                .median_of(|s| s.rss_growth_kib.map(|k| k as f64 / 1024.0))
                .map_or("n/a".into(), |v| format!("{v:.1}")),
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
        for cell in extras.cells(row, reference) {
            line.push_str(&format!(" {cell:>12} |"));
        }
        println!("{line}");
    }
    skipped
}

/// A peer's name without its explanation.
fn short(name: &str) -> &str {
    name.split([' ', ',']).next().unwrap_or(name)
}

/// The columns after the peers' ratios: the reference's ratios and the system calls (S1, S2),
/// or the output's size and the ratios of S7's targets.
struct Extras {
    cpu_vs_reference: bool,
    sink_vs_reference: bool,
    syscalls: bool,
    render: bool,
}

impl Extras {
    fn of(rows: &[Row], reference: Option<&Row>, metric: &Metric) -> Extras {
        let render = matches!(metric, Metric::Render);
        Extras {
            cpu_vs_reference: matches!(metric, Metric::Cpu)
                && reference.is_some_and(|r| r.cpu_per_op(false).is_some()),
            sink_vs_reference: !render && reference.is_some_and(|r| r.cpu_per_op(true).is_some()),
            syscalls: rows.iter().any(|r| r.syscalls.is_some()),
            render,
        }
    }

    fn titles(&self) -> Vec<&'static str> {
        let mut titles = Vec::new();
        if self.cpu_vs_reference {
            titles.push("CPU ×ref");
        }
        if self.sink_vs_reference {
            titles.push("sink CPU ×ref");
        }
        if self.syscalls {
            titles.push("syscalls/msg");
        }
        if self.render {
            titles.extend(["output MiB", "peak/output", "time ×ref"]);
        }
        titles
    }

    /// Ratios are the row's figure over the reference's: lower is better, 1.00x is the floor.
    fn cells(&self, row: &Row, reference: Option<&Row>) -> Vec<String> {
        let ratio = |own: Option<f64>, theirs: Option<f64>| match (own, theirs) {
            (Some(own), Some(theirs)) if theirs > 0.0 => format!("{:.2}x", own / theirs),
            _ => "-".to_string(),
        };
        let of_reference = |f: &dyn Fn(&Row) -> Option<f64>| ratio(f(row), reference.and_then(f));
        let mut cells = Vec::new();
        if self.cpu_vs_reference {
            cells.push(of_reference(&|r: &Row| r.cpu_per_op(false)));
        }
        if self.sink_vs_reference {
            cells.push(of_reference(&|r: &Row| r.cpu_per_op(true)));
        }
        if self.syscalls {
            cells.push(row.syscalls.clone().unwrap_or_else(|| "-".into()));
        }
        if self.render {
            let output = row.median_of(|s| s.output_bytes.map(|b| b as f64));
            let peak = row.median_of(|s| s.rss_growth_kib.map(|k| k as f64 * 1024.0));
            cells.push(output.map_or("-".into(), |b| format!("{:.1}", b / 1048576.0)));
            cells.push(ratio(peak, output));
            cells.push(of_reference(&|r: &Row| r.secs_per_op()));
        }
        cells
    }
}
