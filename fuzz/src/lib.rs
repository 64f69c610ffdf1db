//! The properties the fuzz targets check, one module per target, each with
//! `check(data: &[u8])`: it panics when mailport breaks a property on `data`, and returns
//! quietly otherwise (also for input the property does not apply to).
//!
//! The fuzz targets (fuzz_targets/) only call these, so the main crate's replay test
//! (tests/fuzz_regressions.rs) runs every committed input through the very same checks on
//! stable Rust, without libFuzzer. docs/hardening/fuzzing.md says what each target covers.

pub mod ehlo;
pub mod ffi;
pub mod header_params;
pub mod header_phrase;
pub mod header_unstructured;
pub mod mailbox;
pub mod mime;
pub mod outbox_entry;
pub mod reply;
pub mod url;

mod wire;

/// A target's property: panics when mailport breaks it on the input.
pub type Check = fn(&[u8]);

/// The targets by name, as fuzz/corpus/ and fuzz/regressions/ name their directories.
pub const TARGETS: &[(&str, Check)] = &[
    ("reply", reply::check),
    ("ehlo", ehlo::check),
    ("mailbox", mailbox::check),
    ("header_unstructured", header_unstructured::check),
    ("header_phrase", header_phrase::check),
    ("header_params", header_params::check),
    ("mime", mime::check),
    ("url", url::check),
    ("outbox_entry", outbox_entry::check),
    ("ffi", ffi::check),
];

/// Every committed fuzz input (fuzz/corpus/<target>/, the seeds and what fuzz runs kept, and
/// fuzz/regressions/<target>/, inputs that once broke a property) through its target's
/// property: so `cargo test` on stable guards each fixed crash. Runs in the main crate's unit
/// tests (src/lib.rs includes this file) and in this crate's.
#[cfg(test)]
mod replay {
    use std::path::{Path, PathBuf};

    fn fuzz_dir() -> PathBuf {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let nested = manifest.join("fuzz");
        if nested.join("corpus").is_dir() {
            nested
        } else {
            manifest.to_path_buf()
        }
    }

    #[test]
    fn every_committed_fuzz_input_keeps_its_properties() {
        let root = fuzz_dir();
        let mut failures = Vec::new();
        let mut ran = 0;
        for &(target, check) in super::TARGETS {
            let mut seen = 0;
            for kind in ["corpus", "regressions"] {
                let Ok(entries) = std::fs::read_dir(root.join(kind).join(target)) else {
                    continue;
                };
                let mut paths: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
                paths.sort();
                for path in paths {
                    let data = std::fs::read(&path).unwrap();
                    seen += 1;
                    if let Err(panic) = std::panic::catch_unwind(|| check(&data)) {
                        let why = panic
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default();
                        failures.push(format!("{}: {why}", path.display()));
                    }
                }
            }
            assert!(seen > 0, "no committed input for the fuzz target {target}");
            ran += seen;
        }
        assert!(
            failures.is_empty(),
            "{} of {ran} fuzz inputs break a property:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
}
