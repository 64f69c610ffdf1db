//! Where the outbox database is: its `mysql://` URL, read and described without the password,
//! and the connection options it gives.

use std::time::Duration;

use mysql::consts::CapabilityFlags;
use mysql::{OptsBuilder, PoolConstraints, PoolOpts, SslOpts};

use crate::error::{Error, Result};

use super::DEFAULT_TABLE;

/// The parameters a URL may carry.
const PARAMETERS: &str = "table, prefix, socket, ssl-mode, ssl-ca, connect-timeout";

/// How to reach the database, from its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Location {
    pub host: String,
    pub port: u16,
    pub socket: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub database: String,
    pub table: String,
    pub tls: Tls,
    pub ca: Option<String>,
    pub connect_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tls {
    Disabled,
    /// Verify the chain, not the name.
    VerifyCa,
    /// Verify the chain and the name.
    VerifyIdentity,
}

impl Location {
    /// Read a `mysql://` or `mariadb://` URL. Errors never repeat the URL (it may hold a
    /// password).
    pub(crate) fn parse(text: &str) -> Result<Location> {
        let bad = |why: String| Error::invalid_input(format!("outbox database URL: {why}"));
        let url = url::Url::parse(text).map_err(|e| bad(format!("it cannot be read ({e})")))?;
        if !matches!(url.scheme(), "mysql" | "mariadb") {
            return Err(bad("it must start with mysql:// or mariadb://".into()));
        }
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| bad("the user name or password is not UTF-8 once decoded".into()))
        };
        let user = match url.username() {
            "" => None,
            name => Some(decode(name)?),
        };
        let password = url.password().map(decode).transpose()?;
        let database = percent_encoding::percent_decode_str(url.path().trim_start_matches('/'))
            .decode_utf8()
            .map_err(|_| bad("the database name is not UTF-8".into()))?
            .into_owned();
        if database.is_empty() || database.contains('/') {
            return Err(bad(
                "it must name one database after the host: mysql://user:password@host/database"
                    .into(),
            ));
        }
        let mut location = Location {
            host: url.host_str().unwrap_or_default().to_string(),
            port: url.port().unwrap_or(3306),
            socket: None,
            user,
            password,
            database,
            table: DEFAULT_TABLE.to_string(),
            tls: Tls::Disabled,
            ca: None,
            connect_timeout: Duration::from_secs(10),
        };
        if location.host.starts_with('[') && location.host.ends_with(']') {
            location.host = location.host[1..location.host.len() - 1].to_string();
        }
        let mut table = None;
        let mut prefix = None;
        let mut tls = None;
        for (name, value) in url.query_pairs() {
            let value = value.into_owned();
            match name.as_ref() {
                "table" => table = Some(value),
                "prefix" => prefix = Some(value),
                "socket" if !value.is_empty() => location.socket = Some(value),
                "ssl-mode" | "ssl_mode" | "sslmode" => {
                    tls = Some(
                        match value.to_ascii_lowercase().replace('-', "_").as_str() {
                            "disabled" => Tls::Disabled,
                            "verify_ca" => Tls::VerifyCa,
                            "verify_identity" => Tls::VerifyIdentity,
                            _ => {
                                return Err(bad(format!(
                                    "ssl-mode={value} is not one of disabled, verify_ca, \
                                 verify_identity (a connection whose certificate is not \
                                 checked is not offered)"
                                )));
                            }
                        },
                    );
                }
                "ssl-ca" | "ssl_ca" if !value.is_empty() => location.ca = Some(value),
                "connect-timeout" | "connect_timeout" => {
                    let secs: u64 = value.parse().map_err(|_| {
                        bad(format!(
                            "connect-timeout={value} is not a number of seconds"
                        ))
                    })?;
                    location.connect_timeout = Duration::from_secs(secs.max(1));
                }
                other => {
                    return Err(bad(format!(
                        "unknown parameter {other:?} (known: {PARAMETERS})"
                    )));
                }
            }
        }
        location.tls = tls.unwrap_or(if location.ca.is_some() {
            Tls::VerifyIdentity
        } else {
            Tls::Disabled
        });
        location.table = match (table, prefix) {
            (Some(_), Some(_)) => return Err(bad("give table or prefix, not both".into())),
            (Some(table), None) => table,
            (None, Some(prefix)) => format!("{prefix}{DEFAULT_TABLE}"),
            (None, None) => DEFAULT_TABLE.to_string(),
        };
        let valid = !location.table.is_empty()
            && location.table.len() <= 64
            && location
                .table
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            return Err(bad(format!(
                "the table name {:?} must be 1 to 64 letters, digits and underscores",
                location.table
            )));
        }
        if location.socket.is_none() && location.host.is_empty() {
            return Err(bad(
                "it names no host (and no socket=PATH): mysql://user:password@host/database".into(),
            ));
        }
        Ok(location)
    }

    /// Where the database is, for messages: no user name, no password.
    pub(crate) fn describe(&self) -> String {
        let at = match &self.socket {
            Some(socket) => format!("on socket {socket}"),
            None if self.host.contains(':') => format!("at [{}]:{}", self.host, self.port),
            None => format!("at {}:{}", self.host, self.port),
        };
        format!(
            "outbox database {} {at} (table {})",
            self.database, self.table
        )
    }

    pub(super) fn options(&self) -> OptsBuilder {
        let mut options = OptsBuilder::new()
            .user(self.user.clone())
            .pass(self.password.clone())
            .db_name(Some(self.database.clone()))
            .prefer_socket(false)
            .tcp_connect_timeout(Some(self.connect_timeout))
            .read_timeout(Some(Duration::from_secs(120)))
            .write_timeout(Some(Duration::from_secs(120)))
            // An UPDATE reports the rows it matched, not only those it changed: a save that
            // matched nothing lost its claim.
            .additional_capabilities(CapabilityFlags::CLIENT_FOUND_ROWS)
            .init(vec!["SET NAMES utf8mb4 COLLATE utf8mb4_bin"])
            .pool_opts(
                PoolOpts::new()
                    .with_constraints(PoolConstraints::new(1, 16).unwrap_or_default())
                    // Nothing here changes session state; keep prepared statements.
                    .with_reset_connection(false),
            );
        match &self.socket {
            Some(socket) => options = options.socket(Some(socket.clone())),
            None => {
                options = options
                    .ip_or_hostname(Some(self.host.clone()))
                    .tcp_port(self.port);
                if self.tls != Tls::Disabled {
                    let path = self.ca.clone().map(std::path::PathBuf::from);
                    options = options.ssl_opts(Some(
                        SslOpts::default()
                            .with_root_cert_path(path)
                            .with_danger_skip_domain_validation(self.tls == Tls::VerifyCa),
                    ));
                }
            }
        }
        options
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_the_server_the_database_and_the_table() {
        let l = Location::parse("mysql://shop:p%40ss%3Aw0rd@db.example.com:3307/site?table=queue")
            .unwrap();
        assert_eq!(
            (
                l.host.as_str(),
                l.port,
                l.user.as_deref(),
                l.password.as_deref()
            ),
            ("db.example.com", 3307, Some("shop"), Some("p@ss:w0rd"))
        );
        assert_eq!((l.database.as_str(), l.table.as_str()), ("site", "queue"));
        assert_eq!(l.tls, Tls::Disabled);
        assert_eq!(
            l.describe(),
            "outbox database site at db.example.com:3307 (table queue)"
        );

        let l = Location::parse(
            "mariadb://wp@localhost/wordpress?socket=/run/mysqld/mysqld.sock&prefix=wp_",
        )
        .unwrap();
        assert_eq!(l.socket.as_deref(), Some("/run/mysqld/mysqld.sock"));
        assert_eq!((l.port, l.password.as_deref()), (3306, None));
        assert_eq!(l.table, "wp_mailport_outbox");
        assert_eq!(
            l.describe(),
            "outbox database wordpress on socket /run/mysqld/mysqld.sock (table wp_mailport_outbox)"
        );

        let l = Location::parse("mysql://u:p@[::1]/d?ssl-ca=/etc/ca.pem").unwrap();
        assert_eq!((l.host.as_str(), l.tls), ("::1", Tls::VerifyIdentity));
        let l = Location::parse("mysql://u:p@h/d?ssl-mode=VERIFY_CA").unwrap();
        assert_eq!(l.tls, Tls::VerifyCa);
    }

    #[test]
    fn bad_urls_are_refused_without_repeating_the_password() {
        for (url, says) in [
            ("mysql://u:Secret123@h", "one database"),
            ("mysql://u:Secret123@h/d?table=x;drop", "letters, digits"),
            (
                "mysql://u:Secret123@h/d?tabel=x",
                "unknown parameter \"tabel\"",
            ),
            ("mysql://u:Secret123@h/d?ssl-mode=required", "not one of"),
            ("mysql://u:Secret123@h/d?table=a&prefix=b", "not both"),
            ("mysql://u:Secret123@/d", "host"),
            ("mysql:///d", "no host"),
            ("http://u:Secret123@h/d", "mysql://"),
        ] {
            let e = Location::parse(url).unwrap_err().message();
            assert!(e.contains(says), "{url}: {e}");
            assert!(!e.contains("Secret123"), "{url}: {e}");
        }
    }
}
