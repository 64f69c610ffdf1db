//! Peak memory and throughput of sending one message with a large attachment.
//!
//! Run: `cargo bench --bench attachment_rss` (MAILPORT_BENCH_MB sets the size; 100 by default).
//!
//! A sink SMTP server in this process (loopback, PIPELINING, SIZE, reads and discards) receives
//! the same message from three senders measured in the same run:
//! - mailport streaming the attachment from its file (`Message::attach_file` + `send_message`);
//! - mailport given the whole rendered message in memory (`to_bytes` + `send_bytes`), which is
//!   what PHPMailer and most libraries do: the file and its base64 copy both held at once;
//! - Python's smtplib with `email.message.EmailMessage.add_attachment`, in a child process.
//!
//! Peak memory is the growth of the resident set over the sender's baseline: for this process
//! the high-water mark is reset through /proc/self/clear_refs before each run; the Python child
//! reports its own ru_maxrss growth.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use mailport::{Client, Config, Message, Security};

fn main() {
    let mb: u64 = std::env::var("MAILPORT_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let dir = std::env::temp_dir().join(format!("mailport-bench-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("attachment.bin");
    write_file(&file, mb << 20);
    let port = start_sink();

    println!("message with a {mb} MiB attachment, sent to a sink on 127.0.0.1 (plaintext)");
    println!(
        "{:<44} {:>12} {:>10} {:>10}",
        "sender", "peak RSS +", "seconds", "MiB/s"
    );
    let streamed = measure_in_process("mailport, streamed from the file", || {
        let mut client = client(port);
        client.send_message(&message(&file)).expect("send");
    });
    let in_memory = measure_in_process("mailport, whole message in memory", || {
        let mut client = client(port);
        let message = message(&file);
        let bytes = message.to_bytes().expect("render");
        let envelope =
            mailport::Envelope::new("bench@example.com", vec!["sink@example.com".into()]).unwrap();
        client.send_bytes(&envelope, &bytes).expect("send");
    });
    let python = measure_python(port, &file);
    for (name, rss, secs) in [&streamed, &in_memory]
        .into_iter()
        .chain(python.as_ref())
        .map(|r| (&r.0, r.1, r.2))
    {
        println!(
            "{name:<44} {:>9.1} MiB {secs:>10.2} {:>10.0}",
            rss as f64 / 1048576.0,
            mb as f64 / secs
        );
    }
    let ratio = |other: &Run| other.1 as f64 / streamed.1.max(1) as f64;
    println!(
        "peak memory ratio: in-memory / streamed = {:.0}x",
        ratio(&in_memory)
    );
    if let Some(python) = &python {
        println!(
            "peak memory ratio: smtplib / streamed = {:.0}x; throughput ratio streamed / smtplib = {:.1}x",
            ratio(python),
            python.2 / streamed.2
        );
    }
    let _ = fs::remove_dir_all(&dir);
}

/// (name, peak RSS growth in bytes, seconds)
type Run = (String, u64, f64);

fn message(file: &Path) -> Message {
    let mut message = Message::new();
    message
        .set_from("Bench <bench@example.com>")
        .unwrap()
        .add_to("sink@example.com")
        .unwrap()
        .set_subject("large attachment")
        .unwrap()
        .set_text("See the attachment.")
        .unwrap()
        .attach_file(file, None, None)
        .unwrap();
    message
}

fn client(port: u16) -> Client {
    let mut config = Config::new("127.0.0.1");
    config.port = port;
    config.security = Security::None;
    config.helo_name = Some("bench.test".into());
    config.timeouts.send_total = Duration::from_secs(600);
    Client::new(config).expect("client")
}

fn write_file(path: &Path, len: u64) {
    let mut out = File::create(path).expect("create attachment");
    let mut chunk = vec![0u8; 1 << 20];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut left = len;
    while left > 0 {
        for b in chunk.iter_mut() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *b = state as u8;
        }
        let n = left.min(chunk.len() as u64) as usize;
        out.write_all(&chunk[..n]).expect("write attachment");
        left -= n as u64;
    }
}

fn status_kib(field: &str) -> u64 {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn measure_in_process(name: &str, run: impl FnOnce()) -> Run {
    // Writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0+).
    let _ = fs::write("/proc/self/clear_refs", "5");
    let baseline = status_kib("VmRSS:");
    let started = Instant::now();
    run();
    let secs = started.elapsed().as_secs_f64();
    let peak = status_kib("VmHWM:");
    (
        name.to_string(),
        (peak.saturating_sub(baseline)) << 10,
        secs,
    )
}

const PYTHON_PEER: &str = r#"
import resource, smtplib, sys, time
from email.message import EmailMessage
port, path = int(sys.argv[1]), sys.argv[2]
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
msg = EmailMessage()
msg["From"] = "Bench <bench@example.com>"
msg["To"] = "sink@example.com"
msg["Subject"] = "large attachment"
msg.set_content("See the attachment.")
with open(path, "rb") as f:
    msg.add_attachment(f.read(), maintype="application", subtype="octet-stream", filename="attachment.bin")
with smtplib.SMTP("127.0.0.1", port) as s:
    s.send_message(msg)
secs = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((peak - base) * 1024, secs)
"#;

fn measure_python(port: u16, file: &Path) -> Option<Run> {
    let python = std::env::var("MAILPORT_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(python)
        .args(["-c", PYTHON_PEER])
        .arg(port.to_string())
        .arg(file)
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "python peer failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut fields = text.split_whitespace();
    let rss = fields.next()?.parse().ok()?;
    let secs = fields.next()?.parse().ok()?;
    Some(("Python smtplib + email (EmailMessage)".into(), rss, secs))
}

/// A minimal SMTP sink: enough protocol for mailport and smtplib, data read and discarded
/// through a small buffer so it does not weigh on this process's memory.
fn start_sink() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind sink");
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = serve(stream);
            });
        }
    });
    port
}

fn serve(stream: TcpStream) -> std::io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::with_capacity(64 * 1024, stream);
    writer.write_all(b"220 sink.test ESMTP\r\n")?;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => writer.write_all(
                b"250-sink.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 1073741824\r\n",
            )?,
            "DATA" => {
                writer.write_all(b"354 go ahead\r\n")?;
                discard_data(&mut reader)?;
                writer.write_all(b"250 2.0.0 discarded\r\n")?;
            }
            "QUIT" => {
                writer.write_all(b"221 bye\r\n")?;
                return Ok(());
            }
            _ => writer.write_all(b"250 ok\r\n")?,
        }
    }
}

/// Read up to and including the CRLF.CRLF terminator (the message must be the client's last
/// write before it waits for the reply, which holds for SMTP without CHUNKING).
fn discard_data(reader: &mut BufReader<TcpStream>) -> std::io::Result<()> {
    // The DATA line's CRLF counts as the end of the line before the first one.
    let mut window = b"\r\n".to_vec();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        // Only the last bytes can hold the terminator: the client waits for our reply after it.
        window.extend_from_slice(&buf[n.saturating_sub(5)..n]);
        let tail = &window[window.len().saturating_sub(5)..];
        if tail == b"\r\n.\r\n" {
            return Ok(());
        }
        let keep = window.len().saturating_sub(5);
        window.drain(..keep);
    }
}
