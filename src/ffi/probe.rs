//! `mailport_probe` (the connection check), its options (`mailport_probe_options_*`) and its
//! result (`mailport_report_*`).

use std::ffi::{CStr, CString, c_char};
use std::time::Duration;

use super::boundary::Out;
use super::config::{mailport_config, mailport_security};
use super::error::{c_text, mailport_error, mailport_result};
use crate::config::Security;
use crate::diagnose::probe::{ProbeOptions, probe};
use crate::diagnose::report::{Report, Role, Severity};

/// Flags of `mailport_probe_options_set_flags`, combined with `|` and passed as `uint32_t`.
/// Without any flag (0, the default) the check tries the config's credentials, when it has
/// some, and never recommends port 25.
///
/// Functions: mailport_probe_options_set_flags.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum mailport_probe_flag {
    /// Do not try the config's credentials (AUTH), even when it has some. A port then works
    /// when it connects and encrypts with a trusted certificate.
    MAILPORT_PROBE_SKIP_AUTH = 1,
    /// Let port 25 be recommended when it works. It is meant for server-to-server relay, so by
    /// default it is only reported (finding "relay_port"), never recommended.
    MAILPORT_PROBE_ALLOW_RELAY = 2,
}

impl mailport_probe_flag {
    /// Every flag bit that is defined.
    const ALL_BITS: u32 = mailport_probe_flag::MAILPORT_PROBE_SKIP_AUTH as u32
        | mailport_probe_flag::MAILPORT_PROBE_ALLOW_RELAY as u32;

    fn is_set(self, flags: u32) -> bool {
        flags & self as u32 != 0
    }
}

/// What `mailport_probe` checks and how long it may take.
///
/// A mutable value object. `mailport_probe_options_new` gives the defaults: ports 587, 465,
/// 2525 and 25 in that order of preference, a deadline of 30 s for the whole check, a greeting
/// wait of 5 s, the config's credentials tried when it has some, no test envelope, and port 25
/// never recommended. Passing NULL options to `mailport_probe` means these defaults.
///
/// Each setter has the same fallible shape and replaces the previous value; values are checked
/// where they are set.
///
/// **Thread safety:** may be read from many threads at once (for example by concurrent
/// `mailport_probe` calls), but must not be changed while anyone reads it.
///
/// Functions: mailport_probe_options_new, mailport_probe_options_free,
/// mailport_probe_options_set_ports, mailport_probe_options_set_deadline_ms,
/// mailport_probe_options_set_greeting_wait_ms, mailport_probe_options_set_flags,
/// mailport_probe_options_set_envelope, mailport_probe.
pub struct mailport_probe_options(pub(crate) ProbeOptions);

/// One finding of a report, as the C API exposes it.
#[derive(Debug)]
struct FindingC {
    code: CString,
    message: CString,
    hint: CString,
    port: u16,
    severity: &'static CStr,
}

/// The result of a connection check: whether some port works, which one to use and why, what
/// is wrong with the others, and the whole check as a versioned JSON document.
///
/// Returned by `mailport_probe`; owned by the caller and freed with `mailport_report_free`.
/// Immutable: every accessor may be called from any thread, and the strings it returns are
/// borrowed from the report, never NULL, NUL-terminated UTF-8, and valid until the report is
/// freed.
///
/// **Thread safety:** immutable; may be read from any thread.
///
/// Functions: mailport_report_ok, mailport_report_summary, mailport_report_recommendation,
/// mailport_report_recommendation_reason, mailport_report_recommended_port,
/// mailport_report_recommended_security, mailport_report_json, mailport_report_finding_count,
/// mailport_report_finding_code, mailport_report_finding_message,
/// mailport_report_finding_hint, mailport_report_finding_port,
/// mailport_report_finding_severity, mailport_report_free.
pub struct mailport_report {
    ok: bool,
    summary: CString,
    /// "port=465 security=tls", or "".
    recommendation: CString,
    recommendation_reason: CString,
    recommended_port: u16,
    /// A `mailport_security` value; `MAILPORT_SECURITY_AUTO` (0) when nothing is recommended.
    recommended_security: u32,
    json: CString,
    findings: Box<[FindingC]>,
}

impl From<&Report> for mailport_report {
    fn from(report: &Report) -> mailport_report {
        let (recommended_port, recommended_security, reason) = match &report.recommendation {
            Some(r) => (
                r.port,
                Security::parse(r.security).unwrap_or(Security::Auto),
                r.reason.as_str(),
            ),
            None => (0, Security::Auto, ""),
        };
        mailport_report {
            ok: report.ok(),
            summary: c_text(&report.summary),
            recommendation: c_text(report.recommendation_line()),
            recommendation_reason: c_text(reason),
            recommended_port,
            recommended_security: mailport_security::from_core(recommended_security) as u32,
            json: c_text(report.to_json()),
            findings: report
                .findings
                .iter()
                .map(|f| FindingC {
                    code: c_text(f.code),
                    message: c_text(&f.message),
                    hint: c_text(&f.hint),
                    port: f.port.unwrap_or(0),
                    severity: match f.severity {
                        Severity::Info => c"info",
                        Severity::Warning => c"warning",
                        Severity::Error => c"error",
                    },
                })
                .collect(),
        }
    }
}

/// Create probe options with the defaults (see `mailport_probe_options`).
///
/// **Ownership:** the new options belong to the caller; free them with
/// `mailport_probe_options_free`.
///
/// **NULL:** returns NULL only if an internal error occurred.
///
/// # Safety
///
/// None.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_probe_options_new() -> *mut mailport_probe_options {
    ffi_boundary!({ Box::into_raw(Box::new(mailport_probe_options(ProbeOptions::default()))) })
}

/// Free probe options.
///
/// **Ownership:** takes back `opts`.
///
/// **NULL:** `opts` may be NULL (nothing happens).
///
/// # Safety
///
/// `opts` must be NULL or options from mailport that have not been freed, and that no other
/// thread is using. Must not be called twice with the same value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_probe_options_free(opts: *mut mailport_probe_options) {
    ffi_boundary!({
        if !opts.is_null() {
            // SAFETY: the caller passes options mailport boxed and has not freed yet.
            drop(unsafe { Box::from_raw(opts) });
        }
    })
}

/// Set the ports to check, in order of preference: the recommendation is the first that works.
///
/// Each port gets the role its number conventionally has, which sets what it is expected to
/// speak: 465 implicit TLS; 587, 2525, 25 and any other port STARTTLS; 25 is treated as the
/// relay port (see `MAILPORT_PROBE_ALLOW_RELAY`). All ports are checked at once.
///
/// **Ownership:** the array is copied.
///
/// **NULL:** `opts` and `ports` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `count` is 0, a
/// port is 0, or a port is listed twice. The options are unchanged on error.
///
/// # Safety
///
/// `opts` must be NULL or live options that no other thread uses during the call; `ports` NULL
/// or readable for `count` values, unchanged during the call; `error_out` NULL or valid for
/// writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_probe_options_set_ports(
    opts: *mut mailport_probe_options,
    ports: *const u16,
    count: usize,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(opts.0, error_out, |options| {
        if ports.is_null() {
            return Err(mailport_error::null_argument("ports"));
        }
        if count == 0 {
            return Err(mailport_error::invalid_argument(
                "ports: give at least one port to check (count is 0)",
            ));
        }
        if count > isize::MAX as usize / size_of::<u16>() {
            return Err(mailport_error::invalid_argument(format!(
                "ports: count {count} is too large"
            )));
        }
        // SAFETY: non-NULL, size checked against isize::MAX, and the caller guarantees `ports`
        // is readable for `count` values that stay unchanged during the call.
        let ports = unsafe { std::slice::from_raw_parts(ports, count) };
        let mut chosen: Vec<(u16, Role)> = Vec::with_capacity(count);
        for (i, &port) in ports.iter().enumerate() {
            if port == 0 {
                return Err(mailport_error::invalid_argument(format!(
                    "ports[{i}]: 0 is not a valid port (expected 1-65535)"
                )));
            }
            if chosen.iter().any(|&(p, _)| p == port) {
                return Err(mailport_error::invalid_argument(format!(
                    "ports[{i}]: port {port} is listed twice"
                )));
            }
            chosen.push((port, Role::for_port(port)));
        }
        options.ports = chosen;
    })
}

/// A duration in milliseconds, which must be more than zero.
fn millis(ms: u32, what: &str) -> Result<Duration, mailport_error> {
    if ms == 0 {
        return Err(mailport_error::invalid_argument(format!(
            "{what}: must be more than zero milliseconds"
        )));
    }
    Ok(Duration::from_millis(u64::from(ms)))
}

/// Set how long the whole check may take, in milliseconds (default 30000). A port still busy
/// when it passes is reported as timed out; `mailport_probe` returns shortly after it.
///
/// Each connection attempt is also bounded by the config's connect and command timeouts.
///
/// **NULL:** `opts` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `ms` is 0.
///
/// # Safety
///
/// `opts` must be NULL or live options that no other thread uses during the call; `error_out`
/// NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_probe_options_set_deadline_ms(
    opts: *mut mailport_probe_options,
    ms: u32,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(opts.0, error_out, |options| {
        options.deadline = millis(ms, "deadline")?;
    })
}

/// Set how long a port may stay silent after the connection before it is offered a TLS hello,
/// in milliseconds (default 5000). A port that answers that hello speaks implicit TLS.
///
/// **NULL:** `opts` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `ms` is 0.
///
/// # Safety
///
/// `opts` must be NULL or live options that no other thread uses during the call; `error_out`
/// NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_probe_options_set_greeting_wait_ms(
    opts: *mut mailport_probe_options,
    ms: u32,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(opts.0, error_out, |options| {
        options.greeting_wait = millis(ms, "greeting wait")?;
    })
}

/// Set the flags: `mailport_probe_flag` values combined with `|`, or 0 for the defaults.
/// Replaces the flags set before.
///
/// **NULL:** `opts` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when a bit is set
/// that is not a `MAILPORT_PROBE_*` flag (the options are then unchanged).
///
/// # Safety
///
/// `opts` must be NULL or live options that no other thread uses during the call; `error_out`
/// NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_probe_options_set_flags(
    opts: *mut mailport_probe_options,
    flags: u32,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(opts.0, error_out, |options| {
        let unknown = flags & !mailport_probe_flag::ALL_BITS;
        if unknown != 0 {
            return Err(mailport_error::invalid_argument(format!(
                "flags: unknown bits {unknown:#x} in {flags:#x} (expected MAILPORT_PROBE_* flags)"
            )));
        }
        options.try_auth = !mailport_probe_flag::MAILPORT_PROBE_SKIP_AUTH.is_set(flags);
        options.allow_relay = mailport_probe_flag::MAILPORT_PROBE_ALLOW_RELAY.is_set(flags);
    })
}

/// Also ask each working port whether it would accept this envelope: MAIL FROM `from` and RCPT
/// TO `to`, followed by RSET, so nothing is sent. A port then works only when the recipient is
/// accepted; refusals become findings ("sender_refused", "recipient_refused"). Pass NULL for
/// both to stop testing an envelope (the default).
///
/// The envelope is only tried after authentication succeeded, when the config has credentials.
///
/// **Ownership:** both strings are copied.
///
/// **NULL:** `opts` must not be NULL. `from` and `to` are both NULL (no envelope) or both not
/// NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT` when only one of `from` and `to` is NULL (the message
/// names it); `MAILPORT_ERR_INVALID_ARGUMENT` when an address is not UTF-8 or not a bare address
/// (`user@example.org`, no display name or angle brackets). `from` may be "" for the null
/// reverse path; `to` may not.
///
/// # Safety
///
/// `opts` must be NULL or live options that no other thread uses during the call; `from` and
/// `to` NULL or NUL-terminated; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_probe_options_set_envelope(
    opts: *mut mailport_probe_options,
    from: *const c_char,
    to: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(opts.0, error_out, |options| {
        if from.is_null() && to.is_null() {
            options.envelope = None;
        } else {
            let from = arg_str!(from, "from");
            let to = arg_str!(to, "to");
            crate::address::check_envelope_address(from, "from", true)?;
            crate::address::check_envelope_address(to, "to", false)?;
            options.envelope = Some((from.to_string(), to.to_string()));
        }
    })
}

/// Check the config's server on every port of `opts`, the way a send would connect, and report
/// what each port does, which one to use and why.
///
/// Every port is checked at once, under one deadline (`mailport_probe_options_set_deadline_ms`),
/// on the first IPv4 and the first IPv6 address of the host: TCP connect, greeting (a silent
/// port is offered a TLS hello), EHLO, STARTTLS, EHLO again, the certificate (verified as a send
/// would, with the config's CA files and roots), and AUTH with the config's credentials when it
/// has some (only over TLS with a trusted certificate). Nothing is sent. The config's port and
/// security are not used: each port is checked for what its number calls for. The log callback
/// is not called.
///
/// A port that does not work is data in the report, not an error: this returns `MAILPORT_OK`
/// whenever the check ran, even when the host name does not resolve or every port failed. Use
/// `mailport_report_ok` to learn whether some port works.
///
/// **Ownership:** `cfg` and `opts` are only read. On success `*report_out` receives a new
/// report that the caller frees with `mailport_report_free`.
///
/// **NULL:** `cfg` and `report_out` must not be NULL. `opts` may be NULL: the defaults of
/// `mailport_probe_options_new`. `error_out` may be NULL.
///
/// **Errors** (misuse only): `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when
/// the config has no host or an invalid one, or a CA file is missing, unreadable or holds no
/// certificate (the message names it); `MAILPORT_ERR_PANIC`.
///
/// **Thread safety:** may be called from any thread, also concurrently with the same config and
/// options, provided nobody changes them meanwhile. Blocks the calling thread until the check
/// ends (at most a few seconds after the deadline).
///
/// # Safety
///
/// `cfg` must be NULL or a live config and `opts` NULL or live options, neither changed during
/// the call; `report_out` and `error_out` each NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_probe(
    cfg: *const mailport_config,
    opts: *const mailport_probe_options,
    report_out: *mut *mut mailport_report,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    ffi_boundary!(error_out => {
        let out: Out<mailport_report> = out_arg!(report_out);
        out.require("report_out")?;
        // The options first: they cannot fail, so the errors are the same in either order, and
        // the boundary's test hook (at the borrow of cfg) then follows the NULL-options default.
        let defaults;
        let options = if opts.is_null() {
            defaults = ProbeOptions::default();
            &defaults
        } else {
            &arg_ref!(opts, "opts").0
        };
        let config = &arg_ref!(cfg, "cfg").0;
        if config.host.is_empty() {
            return Err(mailport_error::invalid_argument(
                "host is not set: call mailport_config_set_host or use mailport_config_from_url",
            ));
        }
        let report = probe(config, options)?;
        out.set(mailport_report::from(&report));
        Ok(())
    })
}

/// Return whether some port works: connects, encrypts with a trusted certificate, accepts the
/// credentials when they were tried, and the test envelope when one was set. Exactly when a port
/// is recommended.
///
/// **NULL:** `report` may be NULL: returns false.
///
/// # Safety
///
/// `report` must be NULL or a report from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_report_ok(report: *const mailport_report) -> bool {
    getter!(report, false, |r| r.ok)
}

/// Return a few sentences for people: the host and addresses checked, one line per port, the
/// problems found, and what to use (or what to do when nothing works). Lines end in "\n".
///
/// **Ownership:** borrowed from `report`, valid until `mailport_report_free(report)`.
///
/// **NULL:** `report` may be NULL: returns "". Never returns NULL.
///
/// # Safety
///
/// `report` must be NULL or a report from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_report_summary(report: *const mailport_report) -> *const c_char {
    getter!(report, c"".as_ptr(), |r| r.summary.as_ptr())
}

/// Return the recommendation in one machine-readable line, "port=465 security=tls" (security
/// "starttls" or "tls"), or "" when no port works.
///
/// **Ownership:** borrowed from `report`, valid until `mailport_report_free(report)`.
///
/// **NULL:** `report` may be NULL: returns "". Never returns NULL.
///
/// # Safety
///
/// `report` must be NULL or a report from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_report_recommendation(
    report: *const mailport_report,
) -> *const c_char {
    getter!(report, c"".as_ptr(), |r| r.recommendation.as_ptr())
}

/// Return why the recommended port was chosen, in plain words naming what failed on the
/// preferred ports ("587 timed out: ...; 465 works with implicit TLS and a valid certificate;
/// use 465"), or "" when no port works.
///
/// **Ownership:** borrowed from `report`, valid until `mailport_report_free(report)`.
///
/// **NULL:** `report` may be NULL: returns "". Never returns NULL.
///
/// # Safety
///
/// `report` must be NULL or a report from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_report_recommendation_reason(
    report: *const mailport_report,
) -> *const c_char {
    getter!(report, c"".as_ptr(), |r| r.recommendation_reason.as_ptr())
}

/// Return the recommended port, for `mailport_config_set_port`, or 0 when no port works.
///
/// **NULL:** `report` may be NULL: returns 0.
///
/// # Safety
///
/// `report` must be NULL or a report from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_report_recommended_port(report: *const mailport_report) -> u16 {
    getter!(report, 0, |r| r.recommended_port)
}

/// Return the security to use on the recommended port, a `mailport_security` value for
/// `mailport_config_set_security`: `MAILPORT_SECURITY_STARTTLS` or `MAILPORT_SECURITY_TLS`, or
/// `MAILPORT_SECURITY_AUTO` (0) when no port works.
///
/// **NULL:** `report` may be NULL: returns 0.
///
/// # Safety
///
/// `report` must be NULL or a report from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_report_recommended_security(
    report: *const mailport_report,
) -> u32 {
    getter!(report, 0, |r| r.recommended_security)
}

/// Return the whole check as a JSON document, `{"schema": 1, "host": ..., "ports": [...],
/// "findings": [...], "recommendation": ..., "summary": ...}`, described in
/// docs/report-schema.md. Fields may be added without a schema change; a field that changes
/// meaning or disappears bumps "schema".
///
/// **Ownership:** borrowed from `report`, valid until `mailport_report_free(report)`.
///
/// **NULL:** `report` may be NULL: returns "". Never returns NULL.
///
/// # Safety
///
/// `report` must be NULL or a report from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_report_json(report: *const mailport_report) -> *const c_char {
    getter!(report, c"".as_ptr(), |r| r.json.as_ptr())
}

/// Return how many findings (problems and notes, each with a hint) the report has.
///
/// **NULL:** `report` may be NULL: returns 0.
///
/// # Safety
///
/// `report` must be NULL or a report from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_report_finding_count(report: *const mailport_report) -> usize {
    getter!(report, 0, |r| r.findings.len())
}

/// Return the stable identifier of the `index`-th finding (0-based), e.g. "port_refused",
/// "port_filtered", "certificate_expired", "auth_failed" (the full list is in
/// docs/report-schema.md; new codes may be added).
///
/// **Ownership:** borrowed from `report`, valid until `mailport_report_free(report)`.
///
/// **NULL:** `report` may be NULL: returns "". Returns "" when `index` is out of range. Never
/// returns NULL.
///
/// # Safety
///
/// `report` must be NULL or a report from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_report_finding_code(
    report: *const mailport_report,
    index: usize,
) -> *const c_char {
    getter!(report, c"".as_ptr(), |r| r
        .findings
        .get(index)
        .map_or(c"".as_ptr(), |f| f.code.as_ptr()))
}

/// Return what the `index`-th finding (0-based) is about, in one sentence.
///
/// **Ownership:** borrowed from `report`, valid until `mailport_report_free(report)`.
///
/// **NULL:** `report` may be NULL: returns "". Returns "" when `index` is out of range. Never
/// returns NULL.
///
/// # Safety
///
/// `report` must be NULL or a report from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_report_finding_message(
    report: *const mailport_report,
    index: usize,
) -> *const c_char {
    getter!(report, c"".as_ptr(), |r| r
        .findings
        .get(index)
        .map_or(c"".as_ptr(), |f| f.message.as_ptr()))
}

/// Return what to do about the `index`-th finding (0-based), in plain words, or "".
///
/// **Ownership:** borrowed from `report`, valid until `mailport_report_free(report)`.
///
/// **NULL:** `report` may be NULL: returns "". Returns "" when `index` is out of range. Never
/// returns NULL.
///
/// # Safety
///
/// `report` must be NULL or a report from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_report_finding_hint(
    report: *const mailport_report,
    index: usize,
) -> *const c_char {
    getter!(report, c"".as_ptr(), |r| r
        .findings
        .get(index)
        .map_or(c"".as_ptr(), |f| f.hint.as_ptr()))
}

/// Return the port the `index`-th finding (0-based) is about, or 0 when it is not about one
/// port (e.g. "dns_failed").
///
/// **NULL:** `report` may be NULL: returns 0. Returns 0 when `index` is out of range.
///
/// # Safety
///
/// `report` must be NULL or a report from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_report_finding_port(
    report: *const mailport_report,
    index: usize,
) -> u16 {
    getter!(report, 0, |r| r.findings.get(index).map_or(0, |f| f.port))
}

/// Return how serious the `index`-th finding (0-based) is: "error" (this port cannot be used
/// as configured), "warning" (it works, but something should be fixed) or "info".
///
/// **Ownership:** a static string; never freed.
///
/// **NULL:** `report` may be NULL: returns "". Returns "" when `index` is out of range. Never
/// returns NULL.
///
/// # Safety
///
/// `report` must be NULL or a report from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_report_finding_severity(
    report: *const mailport_report,
    index: usize,
) -> *const c_char {
    getter!(report, c"".as_ptr(), |r| r
        .findings
        .get(index)
        .map_or(c"".as_ptr(), |f| f.severity.as_ptr()))
}

/// Free a report.
///
/// **Ownership:** takes back the report; every string borrowed from it becomes invalid.
///
/// **NULL:** `report` may be NULL (nothing happens).
///
/// # Safety
///
/// `report` must be NULL or a report from mailport that has not been freed. Must not be called
/// twice with the same value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_report_free(report: *mut mailport_report) {
    ffi_boundary!({
        if !report.is_null() {
            // SAFETY: the caller passes a report mailport boxed and has not freed yet.
            drop(unsafe { Box::from_raw(report) });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::test_support::{run, text};
    use crate::ffi::{
        mailport_config_add_ca_file, mailport_config_free, mailport_config_new,
        mailport_config_set_connect_timeout_ms, mailport_config_set_host,
    };

    use std::ptr;

    use mailport_result::*;

    /// Options that are freed on drop.
    struct Opts(*mut mailport_probe_options);
    impl Opts {
        fn new() -> Opts {
            // SAFETY: no arguments.
            let opts = unsafe { mailport_probe_options_new() };
            assert!(!opts.is_null());
            Opts(opts)
        }
        fn get(&self) -> &ProbeOptions {
            // SAFETY: the pointer is live until drop.
            unsafe { &(*self.0).0 }
        }
    }
    impl Drop for Opts {
        fn drop(&mut self) {
            // SAFETY: made by mailport_probe_options_new, freed once.
            unsafe { mailport_probe_options_free(self.0) };
        }
    }

    /// A config for `host` that is freed on drop.
    struct Cfg(*mut mailport_config);
    impl Cfg {
        fn new(host: Option<&std::ffi::CStr>) -> Cfg {
            // SAFETY: plain sequence of valid calls.
            unsafe {
                let cfg = mailport_config_new();
                if let Some(host) = host {
                    let (rc, m) = run(|e| mailport_config_set_host(cfg, host.as_ptr(), e));
                    assert_eq!(rc, MAILPORT_OK, "{m}");
                }
                Cfg(cfg)
            }
        }
    }
    impl Drop for Cfg {
        fn drop(&mut self) {
            // SAFETY: made by mailport_config_new, freed once.
            unsafe { mailport_config_free(self.0) };
        }
    }

    /// A port on 127.0.0.1 where nothing listens (bound, read, released).
    fn refused_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.local_addr().expect("local addr").port()
    }

    #[test]
    fn null_arguments_are_reported_by_name() {
        let null = ptr::null_mut();
        let ports = [587u16];
        // SAFETY: NULL handles are the case under test; every other pointer is valid.
        unsafe {
            let calls: Vec<Box<dyn Fn(*mut *mut mailport_error) -> mailport_result>> = vec![
                Box::new(move |e| mailport_probe_options_set_ports(null, ports.as_ptr(), 1, e)),
                Box::new(move |e| mailport_probe_options_set_deadline_ms(null, 1, e)),
                Box::new(move |e| mailport_probe_options_set_greeting_wait_ms(null, 1, e)),
                Box::new(move |e| mailport_probe_options_set_flags(null, 0, e)),
                Box::new(move |e| {
                    mailport_probe_options_set_envelope(null, ptr::null(), ptr::null(), e)
                }),
            ];
            for (i, call) in calls.into_iter().enumerate() {
                let (rc, m) = run(call);
                assert_eq!(
                    (rc, m.as_str()),
                    (MAILPORT_ERR_NULL_ARGUMENT, "opts must not be NULL"),
                    "setter #{i}"
                );
            }
            mailport_probe_options_free(ptr::null_mut());

            let opts = Opts::new();
            let (rc, m) = run(|e| mailport_probe_options_set_ports(opts.0, ptr::null(), 1, e));
            assert_eq!(
                (rc, m.as_str()),
                (MAILPORT_ERR_NULL_ARGUMENT, "ports must not be NULL")
            );
            let (rc, m) = run(|e| {
                mailport_probe_options_set_envelope(
                    opts.0,
                    c"a@example.org".as_ptr(),
                    ptr::null(),
                    e,
                )
            });
            assert_eq!(
                (rc, m.as_str()),
                (MAILPORT_ERR_NULL_ARGUMENT, "to must not be NULL")
            );
            let (rc, m) = run(|e| {
                mailport_probe_options_set_envelope(
                    opts.0,
                    ptr::null(),
                    c"a@example.org".as_ptr(),
                    e,
                )
            });
            assert_eq!(
                (rc, m.as_str()),
                (MAILPORT_ERR_NULL_ARGUMENT, "from must not be NULL")
            );
            assert!(opts.get().envelope.is_none());

            let cfg = Cfg::new(Some(c"127.0.0.1"));
            let mut report: *mut mailport_report = ptr::dangling_mut();
            let (rc, m) = run(|e| mailport_probe(ptr::null(), opts.0, &mut report, e));
            assert_eq!(
                (rc, m.as_str()),
                (MAILPORT_ERR_NULL_ARGUMENT, "cfg must not be NULL")
            );
            assert!(report.is_null(), "report_out is NULLed on entry");
            let (rc, m) = run(|e| mailport_probe(cfg.0, opts.0, ptr::null_mut(), e));
            assert_eq!(
                (rc, m.as_str()),
                (MAILPORT_ERR_NULL_ARGUMENT, "report_out must not be NULL")
            );
            // Without an error object the code still comes back.
            let rc = mailport_probe(ptr::null(), ptr::null(), &mut report, ptr::null_mut());
            assert_eq!(rc, MAILPORT_ERR_NULL_ARGUMENT);

            // Report accessors on NULL are neutral.
            let r = ptr::null();
            assert!(!mailport_report_ok(r));
            assert_eq!(text(mailport_report_summary(r)), "");
            assert_eq!(text(mailport_report_recommendation(r)), "");
            assert_eq!(text(mailport_report_recommendation_reason(r)), "");
            assert_eq!(mailport_report_recommended_port(r), 0);
            assert_eq!(mailport_report_recommended_security(r), 0);
            assert_eq!(text(mailport_report_json(r)), "");
            assert_eq!(mailport_report_finding_count(r), 0);
            assert_eq!(text(mailport_report_finding_code(r, 0)), "");
            assert_eq!(text(mailport_report_finding_message(r, 0)), "");
            assert_eq!(text(mailport_report_finding_hint(r, 0)), "");
            assert_eq!(mailport_report_finding_port(r, 0), 0);
            mailport_report_free(ptr::null_mut());
        }
    }

    #[test]
    fn defaults_match_the_core() {
        let opts = Opts::new();
        let o = opts.get();
        let core = ProbeOptions::default();
        let ports: Vec<u16> = o.ports.iter().map(|&(p, _)| p).collect();
        assert_eq!(ports, [587, 465, 2525, 25]);
        assert_eq!(o.ports, core.ports);
        assert_eq!(o.deadline, Duration::from_secs(30));
        assert_eq!(o.greeting_wait, Duration::from_secs(5));
        assert!(o.try_auth);
        assert!(!o.allow_relay);
        assert!(o.envelope.is_none());
    }

    #[test]
    fn values_are_validated_and_stored() {
        let opts = Opts::new();
        // SAFETY: `opts.0` is live; the arrays and strings are valid for what is passed.
        unsafe {
            let (rc, m) = run(|e| mailport_probe_options_set_ports(opts.0, [1u16].as_ptr(), 0, e));
            assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
            assert!(m.contains("at least one port"), "{m}");
            let zero = [465u16, 0];
            let (rc, m) = run(|e| mailport_probe_options_set_ports(opts.0, zero.as_ptr(), 2, e));
            assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
            assert!(m.starts_with("ports[1]: 0 is not a valid port"), "{m}");
            let twice = [465u16, 587, 465];
            let (rc, m) = run(|e| mailport_probe_options_set_ports(opts.0, twice.as_ptr(), 3, e));
            assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
            assert!(m.contains("465 is listed twice"), "{m}");
            assert_eq!(opts.get().ports.len(), 4, "unchanged after refusals");

            let ports = [465u16, 2525, 25, 10025];
            let (rc, _) = run(|e| mailport_probe_options_set_ports(opts.0, ports.as_ptr(), 4, e));
            assert_eq!(rc, MAILPORT_OK);
            assert_eq!(
                opts.get().ports,
                [
                    (465, Role::ImplicitTls),
                    (2525, Role::Alternate),
                    (25, Role::Relay),
                    (10025, Role::Submission)
                ]
            );

            for call in [
                mailport_probe_options_set_deadline_ms,
                mailport_probe_options_set_greeting_wait_ms,
            ] {
                let (rc, m) = run(|e| call(opts.0, 0, e));
                assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
                assert!(m.ends_with("must be more than zero milliseconds"), "{m}");
            }
            let (rc, _) = run(|e| mailport_probe_options_set_deadline_ms(opts.0, 20_000, e));
            assert_eq!(rc, MAILPORT_OK);
            let (rc, _) = run(|e| mailport_probe_options_set_greeting_wait_ms(opts.0, 1500, e));
            assert_eq!(rc, MAILPORT_OK);
            assert_eq!(opts.get().deadline, Duration::from_secs(20));
            assert_eq!(opts.get().greeting_wait, Duration::from_millis(1500));

            for bad in [4, 8, 1 | 4, u32::MAX] {
                let (rc, m) = run(|e| mailport_probe_options_set_flags(opts.0, bad, e));
                assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT, "{bad:#x}");
                assert!(m.starts_with("flags: unknown bits"), "{m}");
                assert!(opts.get().try_auth && !opts.get().allow_relay);
            }
            let skip = mailport_probe_flag::MAILPORT_PROBE_SKIP_AUTH as u32;
            let relay = mailport_probe_flag::MAILPORT_PROBE_ALLOW_RELAY as u32;
            assert_eq!((skip, relay), (1, 2));
            for (flags, try_auth, allow_relay) in [
                (skip, false, false),
                (relay, true, true),
                (skip | relay, false, true),
                (0, true, false),
            ] {
                let (rc, _) = run(|e| mailport_probe_options_set_flags(opts.0, flags, e));
                assert_eq!(rc, MAILPORT_OK);
                assert_eq!(
                    (opts.get().try_auth, opts.get().allow_relay),
                    (try_auth, allow_relay),
                    "flags {flags}"
                );
            }

            let (rc, m) = run(|e| {
                mailport_probe_options_set_envelope(
                    opts.0,
                    c"Me <me@example.org>".as_ptr(),
                    c"you@example.org".as_ptr(),
                    e,
                )
            });
            assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
            assert!(m.starts_with("from "), "{m}");
            let (rc, m) =
                run(|e| mailport_probe_options_set_envelope(opts.0, c"".as_ptr(), c"".as_ptr(), e));
            assert_eq!(
                (rc, m.as_str()),
                (MAILPORT_ERR_INVALID_ARGUMENT, "to is empty")
            );
            let (rc, m) = run(|e| {
                mailport_probe_options_set_envelope(
                    opts.0,
                    c"me@example.org".as_ptr(),
                    c"you@\xffexample.org".as_ptr(),
                    e,
                )
            });
            assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
            assert!(m.starts_with("to is not valid UTF-8"), "{m}");
            assert!(opts.get().envelope.is_none());
            let (rc, _) = run(|e| {
                mailport_probe_options_set_envelope(
                    opts.0,
                    c"".as_ptr(),
                    c"you@example.org".as_ptr(),
                    e,
                )
            });
            assert_eq!(rc, MAILPORT_OK);
            assert_eq!(
                opts.get().envelope,
                Some((String::new(), "you@example.org".to_string()))
            );
            let (rc, _) =
                run(|e| mailport_probe_options_set_envelope(opts.0, ptr::null(), ptr::null(), e));
            assert_eq!(rc, MAILPORT_OK);
            assert!(opts.get().envelope.is_none());
        }
    }

    #[test]
    fn misuse_is_an_error_but_a_refused_port_is_data() {
        let port = refused_port();
        let opts = Opts::new();
        // SAFETY: every handle is live until its guard drops; out locations are valid.
        unsafe {
            let ports = [port];
            assert_eq!(
                run(|e| mailport_probe_options_set_ports(opts.0, ports.as_ptr(), 1, e)).0,
                MAILPORT_OK
            );
            assert_eq!(
                run(|e| mailport_probe_options_set_deadline_ms(opts.0, 10_000, e)).0,
                MAILPORT_OK
            );

            // A config without host is misuse.
            let no_host = Cfg::new(None);
            let mut report: *mut mailport_report = ptr::dangling_mut();
            let (rc, m) = run(|e| mailport_probe(no_host.0, opts.0, &mut report, e));
            assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
            assert!(m.starts_with("host is not set"), "{m}");
            assert!(report.is_null());

            // So is a CA file that cannot be read.
            let bad_ca = Cfg::new(Some(c"127.0.0.1"));
            let missing = c"/nonexistent/mailport-probe-test/ca.pem";
            assert_eq!(
                run(|e| mailport_config_add_ca_file(bad_ca.0, missing.as_ptr(), e)).0,
                MAILPORT_OK
            );
            let (rc, m) = run(|e| mailport_probe(bad_ca.0, opts.0, &mut report, e));
            assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT, "{m}");
            assert!(m.contains("/nonexistent/mailport-probe-test/ca.pem"), "{m}");
            assert!(report.is_null());

            // A port where nothing listens: the check ran, so MAILPORT_OK and a report.
            let cfg = Cfg::new(Some(c"127.0.0.1"));
            assert_eq!(
                run(|e| mailport_config_set_connect_timeout_ms(cfg.0, 5000, e)).0,
                MAILPORT_OK
            );
            let (rc, m) = run(|e| mailport_probe(cfg.0, opts.0, &mut report, e));
            assert_eq!(rc, MAILPORT_OK, "{m}");
            assert!(!report.is_null());
            let r = report;
            assert!(!mailport_report_ok(r));
            assert_eq!(mailport_report_recommended_port(r), 0);
            assert_eq!(
                mailport_report_recommended_security(r),
                mailport_security::MAILPORT_SECURITY_AUTO as u32
            );
            assert_eq!(text(mailport_report_recommendation(r)), "");
            assert_eq!(text(mailport_report_recommendation_reason(r)), "");
            let summary = text(mailport_report_summary(r));
            assert!(summary.contains("No port works"), "{summary}");

            let count = mailport_report_finding_count(r);
            let refused = (0..count)
                .find(|&i| text(mailport_report_finding_code(r, i)) == "port_refused")
                .expect("a port_refused finding");
            assert_eq!(mailport_report_finding_port(r, refused), port);
            let message = text(mailport_report_finding_message(r, refused));
            assert!(message.contains(&port.to_string()), "{message}");
            assert!(!text(mailport_report_finding_hint(r, refused)).is_empty());
            assert_eq!(text(mailport_report_finding_code(r, count)), "");
            assert_eq!(text(mailport_report_finding_message(r, usize::MAX)), "");
            assert_eq!(text(mailport_report_finding_hint(r, count)), "");
            assert_eq!(mailport_report_finding_port(r, count), 0);

            let json: serde_json::Value =
                serde_json::from_str(&text(mailport_report_json(r))).expect("valid JSON");
            assert_eq!(json["schema"], 1);
            assert_eq!(json["host"], "127.0.0.1");
            assert_eq!(json["ports"][0]["port"], port);
            assert_eq!(json["ports"][0]["attempts"][0]["tcp"]["status"], "refused");
            assert!(json["recommendation"].is_null());
            mailport_report_free(report);

            // NULL options mean the defaults; a panic inside never crosses the boundary.
            crate::ffi::boundary::PANIC_IN_NEXT_CALL.with(|p| p.set(true));
            report = ptr::dangling_mut();
            let (rc, m) = run(|e| mailport_probe(cfg.0, ptr::null(), &mut report, e));
            assert_eq!(rc, MAILPORT_ERR_PANIC);
            assert!(m.contains("test-only panic inside a cfg call"), "{m}");
            assert!(report.is_null());
        }
    }

    #[test]
    fn a_recommendation_is_exposed_with_its_security() {
        // Built from a core report, so no server is needed.
        let report = Report {
            schema: crate::diagnose::report::SCHEMA,
            host: "mail.example.org".into(),
            started: "2025-01-01T00:00:00Z".into(),
            elapsed_ms: 12,
            dns: crate::diagnose::report::Dns {
                addresses: vec!["192.0.2.1".into()],
                elapsed_ms: 1,
                error: None,
            },
            ports: Vec::new(),
            findings: vec![crate::diagnose::report::Finding {
                code: "dns_failed",
                severity: crate::diagnose::report::Severity::Error,
                port: None,
                message: "with a \0 inside".into(),
                hint: String::new(),
            }],
            recommendation: Some(crate::diagnose::report::Recommendation {
                port: 465,
                security: "tls",
                reason: "587 timed out; 465 works; use 465".into(),
            }),
            summary: "Recommendation: 465.".into(),
        };
        let r = Box::into_raw(Box::new(mailport_report::from(&report)));
        // SAFETY: `r` is a live boxed report until the free at the end.
        unsafe {
            assert!(mailport_report_ok(r));
            assert_eq!(
                text(mailport_report_recommendation(r)),
                "port=465 security=tls"
            );
            assert_eq!(
                text(mailport_report_recommendation_reason(r)),
                "587 timed out; 465 works; use 465"
            );
            assert_eq!(mailport_report_recommended_port(r), 465);
            assert_eq!(
                mailport_report_recommended_security(r),
                mailport_security::MAILPORT_SECURITY_TLS as u32
            );
            assert_eq!(mailport_report_finding_count(r), 1);
            assert_eq!(mailport_report_finding_port(r, 0), 0, "not about a port");
            assert_eq!(text(mailport_report_finding_severity(r, 0)), "error");
            assert_eq!(
                text(mailport_report_finding_severity(r, 1)),
                "",
                "out of range"
            );
            assert_eq!(text(mailport_report_finding_severity(ptr::null(), 0)), "");
            assert_eq!(
                text(mailport_report_finding_message(r, 0)),
                "with a \u{FFFD} inside"
            );
            let json: serde_json::Value =
                serde_json::from_str(&text(mailport_report_json(r))).unwrap();
            assert_eq!(json["recommendation"]["port"], 465);
            mailport_report_free(r);
        }
    }
}
