//! Connection URLs (`Config::from_url`, the CLI's and every binding's way in). Properties: an
//! accepted URL gives a config that passes its own validation, with a host free of control
//! characters and a port that is not 0 unless the URL asked for the automatic choice
//! (`smtp://host:auto`, any case, is `PORT_AUTO`, which is 0); the config's Debug form does not
//! depend on the password, and no error message shows it; and the config's URL form (when it
//! has no credentials) parses to the same host, port and security.

use mailport::config::PORT_AUTO;
use mailport::{Config, Credentials};

pub fn check(data: &[u8]) {
    let Ok(url) = std::str::from_utf8(data) else {
        return;
    };
    let password = raw_password(url);
    match Config::from_url(url) {
        Err(e) => {
            assert!(!e.message().is_empty());
            // An unknown scheme is quoted (lower-cased, escaped), and may happen to contain
            // the password's text: only the rest of the message must not.
            let scheme = url.split_once("://").map_or("", |(s, _)| s);
            let quoted = format!("{:?}", scheme.to_ascii_lowercase());
            let password = password.filter(|p| !quoted.contains(p));
            // Nor words of the message itself ("host contains a NUL byte"): the same URL with
            // another password must not give a message that holds this one's text.
            let password = password.filter(|p| {
                Config::from_url(&url.replacen(p, "\u{2603}", 1))
                    .err()
                    .is_none_or(|e| !e.to_string().contains(p))
            });
            if let Some(p) = password {
                assert!(
                    !e.message().contains(p),
                    "error {:?} shows the password",
                    e.message()
                );
                assert!(!e.to_string().contains(p), "error {e} shows the password");
            }
        }
        Ok(config) => {
            assert!(!config.host.is_empty(), "{url:?}: empty host");
            let asked_auto = url
                .trim_end_matches('/')
                .rsplit_once(':')
                .is_some_and(|(_, port)| port.eq_ignore_ascii_case("auto"));
            assert_eq!(
                config.port == PORT_AUTO,
                asked_auto,
                "{url:?}: port {}",
                config.port
            );
            assert!(
                !config.host.contains(|c: char| c.is_control() || c == ' '),
                "{url:?}: host {:?}",
                config.host
            );
            // The Debug form does not depend on the password: the same config with another
            // one reads the same. (Looking for the password's text in it finds it by chance
            // too: `smtp://a.net:\"smtp\@"smtp"p` has the password `\"smtp\`, which is also
            // how Debug escapes the host `"smtp"p`.)
            if let Some(Credentials::Password { password, .. }) = &config.credentials {
                let mut other = config.clone();
                let another = if password.expose() == "\u{2603}" {
                    "x"
                } else {
                    "\u{2603}"
                };
                other
                    .set_password(another)
                    .expect("another password is accepted");
                let debug = format!("{config:?}");
                assert_eq!(
                    debug,
                    format!("{other:?}"),
                    "{url:?}: Debug shows the password"
                );
            }
            if let Some(Credentials::Password { username, .. }) = &config.credentials {
                assert!(!username.is_empty());
                assert!(!username.contains(|c: char| c.is_control()), "{username:?}");
            }
            // Without credentials the URL is scheme://host:port; with an explicit scheme and
            // port it reads back the same.
            if config.credentials.is_none() {
                let host = if config.host.contains(':') {
                    format!("[{}]", config.host)
                } else {
                    config.host.clone()
                };
                let scheme = url.split_once("://").map(|(s, _)| s).unwrap_or_default();
                let port = match config.port {
                    PORT_AUTO => "auto".to_string(),
                    port => port.to_string(),
                };
                let again = format!("{scheme}://{host}:{port}");
                let parsed = Config::from_url(&again)
                    .unwrap_or_else(|e| panic!("{again:?} (from {url:?}) is refused: {e}"));
                assert_eq!(
                    (&parsed.host, parsed.port, parsed.security),
                    (&config.host, config.port, config.security),
                    "{again:?} from {url:?}"
                );
            }
        }
    }
}

/// The password as written in the URL, when it is long enough and appears once in it (so it
/// cannot also be the host or the scheme, which messages may quote).
fn raw_password(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let (userinfo, _) = rest.rsplit_once('@')?;
    let (_, password) = userinfo.split_once(':')?;
    let long = password.len() >= 6 && !password.contains('%');
    (long && url.matches(password).count() == 1).then_some(password)
}
