//! HTTPS to the token endpoint: one form POST, verified like SMTP.
//!
//! ureq is given the rustls configuration SMTP uses ([`crate::tls::shared_client_config`]), so
//! the endpoint's certificate is checked against the same roots and CA files, and the
//! "accept any certificate" test switch applies to both. No redirects: a token endpoint that
//! redirects is misconfigured, and following it would send the refresh token elsewhere.

use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use crate::config::Config;
use crate::error::{Error, Kind, Result};

/// A token response is a few hundred bytes; anything past this is not one.
const MAX_BODY: u64 = 256 * 1024;

/// What the endpoint answered: its status and body, whatever the status.
pub(crate) struct Answer {
    pub status: u16,
    /// May hold tokens: wiped on drop.
    pub body: Zeroizing<String>,
}

/// ureq's rustls connector, over a socket that writes without SIGPIPE: rustls hands its
/// records to `write_vectored`, which on a `TcpStream` is a plain `writev` and raises SIGPIPE
/// in a host that kept the default disposition (see [`crate::sigpipe`]).
struct NoSigpipeTls(Arc<rustls::ClientConfig>);

impl ureq::TlsConnector for NoSigpipeTls {
    fn connect(
        &self,
        dns_name: &str,
        io: Box<dyn ureq::ReadWrite>,
    ) -> std::result::Result<Box<dyn ureq::ReadWrite>, ureq::Error> {
        self.0.connect(dns_name, Box::new(SendOnly(io)))
    }
}

/// ureq's socket with every write made by [`crate::sigpipe`].
#[derive(Debug)]
struct SendOnly(Box<dyn ureq::ReadWrite>);

impl Read for SendOnly {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for SendOnly {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.0.socket() {
            Some(sock) => crate::sigpipe::send(sock, buf),
            None => self.0.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self.0.socket() {
            Some(sock) => crate::sigpipe::send_vectored(sock, bufs),
            None => self.0.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl ureq::ReadWrite for SendOnly {
    fn socket(&self) -> Option<&TcpStream> {
        self.0.socket()
    }
}

/// POST `form` (already `application/x-www-form-urlencoded`) to `url`, within the config's
/// connect timeout and, for the whole request, its command timeout (and `budget`).
pub(crate) fn post_form(
    url: &str,
    form: &[u8],
    config: &Config,
    budget: Instant,
) -> Result<Answer> {
    let left = budget.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(Error::new(
            Kind::OAuthEndpointUnreachable,
            format!("OAuth token endpoint {url}: no time was left to ask it for a token"),
        ));
    }
    let tls = crate::tls::shared_client_config(&config.tls)?;
    let whole = config.timeouts.command.min(left);
    let agent = ureq::AgentBuilder::new()
        .tls_connector(Arc::new(NoSigpipeTls(tls)))
        .timeout_connect(config.timeouts.connect.min(whole))
        .timeout(whole)
        .redirects(0)
        .user_agent(concat!("mailport/", env!("CARGO_PKG_VERSION")))
        .build();
    let started = Instant::now();
    let response = agent
        .post(url)
        .set("Content-Type", "application/x-www-form-urlencoded")
        .set("Accept", "application/json")
        .send_bytes(form);
    let response = match response {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(ureq::Error::Transport(transport)) => {
            return Err(transport_error(url, &transport, started.elapsed(), config));
        }
    };
    let status = response.status();
    let mut body = Zeroizing::new(Vec::new());
    response
        .into_reader()
        .take(MAX_BODY)
        .read_to_end(&mut body)
        .map_err(|e| read_error(url, &e, started.elapsed()))?;
    let body = String::from_utf8(std::mem::take(&mut *body)).map_err(|_| {
        Error::new(
            Kind::OAuthEndpoint,
            format!("OAuth token endpoint {url} answered HTTP {status} with a body that is not UTF-8 text"),
        )
    })?;
    Ok(Answer {
        status,
        body: Zeroizing::new(body),
    })
}

fn read_error(url: &str, e: &io::Error, waited: Duration) -> Error {
    let what = if matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    ) {
        format!(
            "did not finish its answer within {:.1} s",
            waited.as_secs_f64()
        )
    } else {
        format!("broke off its answer: {e}")
    };
    Error::new(
        Kind::OAuthEndpointUnreachable,
        format!("OAuth token endpoint {url} {what}"),
    )
}

/// A request that got no HTTP answer: the network, TLS, or a timeout.
fn transport_error(
    url: &str,
    transport: &ureq::Transport,
    waited: Duration,
    config: &Config,
) -> Error {
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    // A certificate the endpoint's TLS refused is a configuration problem, reported like SMTP's.
    if let Some(io) = find_io_error(transport) {
        if io
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>())
            .is_some()
        {
            let tls = crate::tls::handshake_error(io, &host);
            if matches!(
                tls.kind(),
                Kind::CertificateUntrusted
                    | Kind::CertificateExpired
                    | Kind::CertificateNameMismatch
            ) {
                let mut error = Error::new(
                    tls.kind(),
                    format!("OAuth token endpoint {url}: {}", tls.message()),
                );
                error.set_hint(certificate_hint(tls.kind(), &host, config));
                return error;
            }
            return Error::new(
                Kind::OAuthEndpointUnreachable,
                format!("OAuth token endpoint {url}: {}", tls.message()),
            );
        }
        if matches!(
            io.kind(),
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
        ) {
            return Error::new(
                Kind::OAuthEndpointUnreachable,
                format!(
                    "OAuth token endpoint {url} did not answer within {:.1} s",
                    waited.as_secs_f64()
                ),
            );
        }
    }
    let why = match transport.kind() {
        ureq::ErrorKind::Dns => "its host name could not be resolved".to_string(),
        ureq::ErrorKind::ConnectionFailed => "the connection failed".to_string(),
        ureq::ErrorKind::InvalidUrl | ureq::ErrorKind::UnknownScheme => {
            return Error::invalid_input(format!("oauth token url: {url:?} cannot be requested"));
        }
        _ => "the request failed".to_string(),
    };
    let detail = transport_detail(transport);
    Error::new(
        Kind::OAuthEndpointUnreachable,
        format!("OAuth token endpoint {url}: {why}{detail}"),
    )
}

/// The underlying cause's words, without ureq's own prefix (which repeats the URL).
fn transport_detail(transport: &ureq::Transport) -> String {
    let mut cause: Option<&(dyn std::error::Error + 'static)> =
        std::error::Error::source(transport);
    let mut last = None;
    while let Some(c) = cause {
        last = Some(c.to_string());
        cause = c.source();
    }
    last.map(|t| format!(" ({t})")).unwrap_or_default()
}

fn find_io_error(transport: &ureq::Transport) -> Option<&io::Error> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> =
        std::error::Error::source(transport);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<io::Error>() {
            return Some(io);
        }
        cause = c.source();
    }
    None
}

fn certificate_hint(kind: Kind, host: &str, config: &Config) -> String {
    match kind {
        Kind::CertificateExpired => format!(
            "The certificate of the OAuth token endpoint {host} is expired or not yet valid. Check this machine's clock; if it is right, the endpoint's operator must renew it."
        ),
        Kind::CertificateNameMismatch => format!(
            "The certificate of the OAuth token endpoint is not valid for {host:?}. Use the token URL the provider documents."
        ),
        _ => format!(
            "The certificate of the OAuth token endpoint {host} is issued by a CA this machine does not trust. Token endpoints are verified like the SMTP server: for a private CA, add its PEM file with {} (it applies to both); do not turn verification off outside tests.",
            config.api.ca_file()
        ),
    }
}
