//! The Rust senders, mailport's `Client` and lettre's `SmtpTransport`, run as child processes of
//! the bench binary (`<bench> --sender LIB MODE PORT CA N TEXT [ATTACHMENT]`), so they follow the
//! protocol of the other programs in `benches/peers/` and their CPU time and peak memory are
//! their own.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::{PASSWORD, USER};

/// When the bench binary was started as a sender: run it and return the exit status.
pub fn child_main() -> Option<i32> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.strip_prefix(&["--sender".to_string()])?;
    Some(match run(rest) {
        Ok(line) => {
            println!("{line}");
            0
        }
        Err(why) => {
            eprintln!("rust sender: {why}");
            1
        }
    })
}

fn run(args: &[String]) -> Result<String, String> {
    let [lib, mode, port, ca, n, text, rest @ ..] = args else {
        return Err("usage: --sender LIB MODE PORT CA N TEXT [ATTACHMENT]".into());
    };
    // The render modes connect nowhere: their PORT is 0.
    let port: u16 = port.parse().map_err(|_| format!("bad port {port}"))?;
    let n: usize = n.parse().map_err(|_| format!("bad count {n}"))?;
    let attachment = rest.first().map(Path::new);
    let job = Job {
        port,
        ca: Path::new(ca),
        n,
        text,
        attachment,
    };

    // Reset the peak (VmHWM) so that it is this span's, not start-up's.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let rss_before = proc_status_kib("VmRSS");
    let cpu_before = process_cpu();
    let started = Instant::now();
    // Sessions resumed (sending modes) or bytes rendered (render modes), when known.
    let value = match lib.as_str() {
        "mailport" => mailport_sender::run(mode, &job)?,
        "lettre" => lettre_sender::run(mode, &job)?,
        "reference" => crate::reference::run(mode, &job)?,
        other => return Err(format!("unknown library {other}")),
    };
    let secs = started.elapsed().as_secs_f64();
    let cpu = process_cpu().saturating_sub(cpu_before).as_secs_f64();
    let growth = proc_status_kib("VmHWM").saturating_sub(rss_before);
    // The render modes (S7) report the output's size where the sending modes report resumed
    // sessions, as a fifth field.
    let value = value.map_or(-1, |v| v as i64);
    Ok(if RENDER_MODES.contains(&mode.as_str()) {
        format!("{secs} {cpu} -1 {growth} {value}")
    } else {
        format!("{secs} {cpu} {value} {growth}")
    })
}

/// S7's modes: render one message with the attachment, in memory or streamed to a file.
const RENDER_MODES: [&str; 2] = ["render", "stream"];

pub struct Job<'a> {
    pub port: u16,
    pub ca: &'a Path,
    pub n: usize,
    pub text: &'a str,
    pub attachment: Option<&'a Path>,
}

impl Job<'_> {
    pub fn attachment(&self) -> Result<&Path, String> {
        self.attachment.ok_or_else(|| {
            "the modes attach, render and stream need an ATTACHMENT path".to_string()
        })
    }
}

/// A `/proc/self/status` field in KiB (0 when unreadable).
fn proc_status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                let value = line.strip_prefix(field)?.strip_prefix(':')?;
                value.split_whitespace().next()?.parse().ok()
            })
        })
        .unwrap_or(0)
}

/// User + system CPU time of this process.
fn process_cpu() -> Duration {
    // SAFETY: an all-zero rusage is a valid value of a plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage for the duration of the call.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

mod mailport_sender {
    use mailport::{Client, Config, Credentials, Message, Receipt, Secret, Security};

    use super::{Job, PASSWORD, USER};

    fn config(job: &Job, security: Security, persistent: bool) -> Config {
        let mut config = Config::new("127.0.0.1");
        config.port = job.port;
        config.security = security;
        config.helo_name = Some("bench.example".into());
        config.credentials = Some(Credentials::Password {
            username: USER.into(),
            password: Secret::new(PASSWORD),
        });
        config.tls.ca_files = vec![job.ca.to_path_buf()];
        config.tls.webpki_roots = false;
        config.tls.system_roots = false;
        config.persistent = persistent;
        config
    }

    fn message(job: &Job, i: usize) -> Result<Message, String> {
        let mut message = Message::new();
        message
            .set_from("Bench <bench@example.com>")
            .and_then(|m| m.add_to("sink@example.com"))
            .and_then(|m| m.set_subject(&format!("message {i}")))
            .and_then(|m| m.set_text(job.text))
            .map_err(|e| e.to_string())?;
        Ok(message)
    }

    fn resumed(receipt: &Receipt) -> u64 {
        u64::from(receipt.tls.as_ref().is_some_and(|t| t.resumed))
    }

    fn send(client: &mut Client, message: &Message) -> Result<Receipt, String> {
        client.send_message(message).map_err(|e| e.to_string())
    }

    /// Modes: `one` (one client), `each` (a new client per message; clients share the
    /// process's TLS session cache, so they resume), `reconnect` (one client that closes after
    /// every message), `persistent` (a new client per message in persistent mode),
    /// `attach` (one message with a file attached, over implicit TLS), and S7's `render` (that
    /// message rendered to bytes in memory: `Message::to_bytes`) and `stream` (rendered to a
    /// file).
    pub fn run(mode: &str, job: &Job) -> Result<Option<u64>, String> {
        match mode {
            "render" => {
                let bytes = with_attachment(job)?
                    .to_bytes()
                    .map_err(|e| e.to_string())?;
                let bytes = std::hint::black_box(bytes);
                Ok(Some(bytes.len() as u64))
            }
            "stream" => {
                let path = job.attachment()?.with_extension("rust.eml");
                let result = stream_to_file(&with_attachment(job)?, &path);
                let _ = std::fs::remove_file(&path);
                result
            }
            _ => send_mode(mode, job),
        }
    }

    fn with_attachment(job: &Job) -> Result<Message, String> {
        let mut message = message(job, 0)?;
        message
            .attach_file(job.attachment()?, None, None)
            .map_err(|e| e.to_string())?;
        Ok(message)
    }

    /// S7's streamed row: the message written to `path` as it is rendered
    /// (`Message::write_to`), so that memory stays bounded whatever the attachment's size; the
    /// output's length.
    fn stream_to_file(message: &Message, path: &std::path::Path) -> Result<Option<u64>, String> {
        let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
        // A 64 KiB buffer keeps the writes large whatever the size of write_to's pieces, as an
        // application writing a file would.
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, file);
        let written = message.write_to(&mut out).map_err(|e| e.to_string())?;
        Ok(Some(written))
    }

    fn send_mode(mode: &str, job: &Job) -> Result<Option<u64>, String> {
        let new_client = |security, persistent| {
            Client::new(config(job, security, persistent)).map_err(|e| e.to_string())
        };
        match mode {
            "one" => {
                let mut client = new_client(Security::StartTls, false)?;
                for i in 0..job.n {
                    send(&mut client, &message(job, i)?)?;
                }
                client.close();
                Ok(None)
            }
            "each" | "persistent" => {
                let mut count = 0;
                for i in 0..job.n {
                    let mut client = new_client(Security::StartTls, mode == "persistent")?;
                    count += resumed(&send(&mut client, &message(job, i)?)?);
                    client.close();
                }
                // A pooled session's receipts tell about its first handshake, not this run's.
                Ok((mode == "each").then_some(count))
            }
            "reconnect" => {
                let mut client = new_client(Security::StartTls, false)?;
                let mut count = 0;
                for i in 0..job.n {
                    count += resumed(&send(&mut client, &message(job, i)?)?);
                    client.close();
                }
                Ok(Some(count))
            }
            "attach" => {
                let mut client = new_client(Security::Tls, false)?;
                let mut message = message(job, 0)?;
                message
                    .attach_file(job.attachment()?, None, None)
                    .map_err(|e| e.to_string())?;
                send(&mut client, &message)?;
                client.close();
                Ok(None)
            }
            other => Err(format!("mailport: unknown mode {other}")),
        }
    }
}

mod lettre_sender {
    use lettre::message::header::ContentType;
    use lettre::message::{Attachment, MultiPart, SinglePart};
    use lettre::transport::smtp::PoolConfig;
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
    use lettre::transport::smtp::extension::ClientId;
    use lettre::{Message, SmtpTransport, Transport};

    use super::{Job, PASSWORD, USER};

    fn transport(job: &Job, implicit: bool) -> Result<SmtpTransport, String> {
        let pem = std::fs::read(job.ca).map_err(|e| format!("{}: {e}", job.ca.display()))?;
        let ca = Certificate::from_pem(&pem).map_err(|e| e.to_string())?;
        let tls = TlsParameters::builder("127.0.0.1".into())
            .add_root_certificate(ca)
            .build_rustls()
            .map_err(|e| e.to_string())?;
        Ok(SmtpTransport::builder_dangerous("127.0.0.1")
            .port(job.port)
            .tls(if implicit {
                Tls::Wrapper(tls)
            } else {
                Tls::Required(tls)
            })
            .hello_name(ClientId::Domain("bench.example".into()))
            .credentials(Credentials::new(USER.into(), PASSWORD.into()))
            // One connection, kept for the next message: lettre's way of reusing a session.
            .pool_config(PoolConfig::new().max_size(1))
            .build())
    }

    fn builder(i: usize) -> Result<lettre::message::MessageBuilder, String> {
        let from = "Bench <bench@example.com>"
            .parse()
            .map_err(|e| format!("{e}"))?;
        let to = "sink@example.com".parse().map_err(|e| format!("{e}"))?;
        Ok(Message::builder()
            .from(from)
            .to(to)
            .subject(format!("message {i}")))
    }

    fn message(job: &Job, i: usize) -> Result<Message, String> {
        builder(i)?
            .body(job.text.to_string())
            .map_err(|e| e.to_string())
    }

    /// Modes: `one` (one transport, its pooled connection reused), `each` (a new transport per
    /// message) and `attach` (one message with a file attached, over implicit TLS).
    pub fn run(mode: &str, job: &Job) -> Result<Option<u64>, String> {
        let send = |transport: &SmtpTransport, message: &Message| {
            transport.send(message).map(drop).map_err(|e| e.to_string())
        };
        match mode {
            "one" => {
                let transport = transport(job, false)?;
                for i in 0..job.n {
                    send(&transport, &message(job, i)?)?;
                }
                Ok(None)
            }
            "each" => {
                for i in 0..job.n {
                    let transport = transport(job, false)?;
                    send(&transport, &message(job, i)?)?;
                }
                Ok(None)
            }
            "attach" => {
                let transport = transport(job, true)?;
                let path = job.attachment()?;
                let body = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
                let name = path
                    .file_name()
                    .map_or("attachment".into(), |n| n.to_string_lossy().into_owned());
                let message = builder(0)?
                    .multipart(
                        MultiPart::mixed()
                            .singlepart(SinglePart::plain(job.text.to_string()))
                            .singlepart(
                                Attachment::new(name).body(
                                    body,
                                    ContentType::parse("application/octet-stream")
                                        .map_err(|e| e.to_string())?,
                                ),
                            ),
                    )
                    .map_err(|e| e.to_string())?;
                send(&transport, &message)?;
                Ok(None)
            }
            other => Err(format!("lettre: unknown mode {other}")),
        }
    }
}
