//! Build script: generates the C headers, the version string and the shared library's SONAME.
//!
//! - `include/mailport.h` (canonical, documented) and `include/mailport_ffi.h` (no preprocessor
//!   lines, for PHP's `FFI::cdef`) are generated with cbindgen from `src/ffi` and
//!   `cbindgen.toml`. Both come from one parse. Identical copies are kept in
//!   `$OUT_DIR/include/`, whose path is exported as `MAILPORT_GENERATED_INCLUDE_DIR`, so
//!   `tests/header.rs` can tell a committed header that was edited by hand (or not regenerated)
//!   from what this script produces.
//! - Files are written only when their content changed, so nothing rebuilds in a loop.
//! - If cbindgen cannot parse `src/ffi` (an edit in progress), the headers are left alone and a
//!   warning is printed; rustc then reports the real error.
//! - On Linux the library gets its SONAME and `-z nodelete` (see `main`), and a development
//!   build gets the SONAME link `libmailport.so.<ABI_VERSION>` beside `libmailport.so`
//!   ([`link_soname`]). Under cargo-c (`cargo cinstall`, which turns on the `capi` feature)
//!   cargo-c sets the SONAME from `[package.metadata.capi.library] version`, whose major this
//!   script checks against `ABI_VERSION` ([`check_capi_version`]).
//! - `$OUT_DIR/version.rs` holds the version string and ABI version that `src/ffi/version.rs`
//!   includes.

use std::env;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The ABI generation of the C API. Bump it on any incompatible change to an exported signature,
/// type or constant value (the ABI is not stable before 1.0), together with the major of
/// `[package.metadata.capi.library] version` in Cargo.toml (docs/abi.md is the policy). It
/// becomes `MAILPORT_ABI_VERSION`, `mailport_abi_version()` and the SONAME
/// `libmailport.so.<ABI_VERSION>`.
const ABI_VERSION: u32 = 1;

/// The canonical header (C and C++ users) and the preprocessor-free one (PHP `FFI::cdef`).
const CANONICAL: &str = "mailport.h";
const FFI_FLAT: &str = "mailport_ffi.h";

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=Cargo.lock");

    write_version(&manifest_dir, &out_dir);
    if let Err(why) = check_capi_version(&manifest_dir) {
        panic!("{why}");
    }

    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        // cargo-c passes its own `-soname` (the same name, checked above); two would only agree
        // by luck if the check were ever loosened, so the SONAME has one author per build.
        if env::var_os("CARGO_FEATURE_CAPI").is_none() {
            println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libmailport.so.{ABI_VERSION}");
            link_soname(&out_dir);
        }
        // Never unmapped by dlclose(): PHP's FFI::cdef closes the library at the end of every
        // request, which would drop the persistent pool (leaking its sockets) and the TLS
        // session cache, and a Rust library with threads and thread-locals cannot be safely
        // unloaded anyway.
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete");
    }

    let generated_dir = out_dir.join("include");
    println!(
        "cargo:rustc-env=MAILPORT_GENERATED_INCLUDE_DIR={}",
        generated_dir.display()
    );
    match generate_headers(&manifest_dir) {
        Ok(headers) => {
            for (name, text) in headers {
                for dir in [&generated_dir, &manifest_dir.join("include")] {
                    if let Err(e) = write_if_changed(&dir.join(name), text.as_bytes()) {
                        println!(
                            "cargo:warning=could not write {}: {e}",
                            dir.join(name).display()
                        );
                    }
                }
            }
        }
        Err(why) => {
            println!("cargo:warning=C headers not regenerated (left as they were): {why}");
        }
    }
}

/// Cargo.toml's `[package.metadata.capi.library] version` must have `ABI_VERSION` as its major:
/// cargo-c names the installed library and its SONAME after that version, and a program built
/// against `MAILPORT_ABI_VERSION` N must find `libmailport.so.N`, whichever way it was built.
fn check_capi_version(manifest_dir: &Path) -> Result<(), String> {
    let manifest = manifest_dir.join("Cargo.toml");
    println!("cargo:rerun-if-changed=Cargo.toml");
    let text = fs::read_to_string(&manifest)
        .map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
    let table: toml::Table =
        toml::from_str(&text).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let version = ["package", "metadata", "capi", "library", "version"]
        .iter()
        .try_fold(&toml::Value::Table(table), |value, key| value.get(key))
        .and_then(|v| v.as_str().map(str::to_owned))
        .ok_or_else(|| {
            format!(
                "{}: [package.metadata.capi.library] version is missing; it must be \
                 \"{ABI_VERSION}.MINOR.PATCH\" (see docs/abi.md)",
                manifest.display()
            )
        })?;
    let major = version
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok());
    if major != Some(ABI_VERSION) {
        return Err(format!(
            "{}: [package.metadata.capi.library] version is \"{version}\" but build.rs \
             ABI_VERSION is {ABI_VERSION}; its major must be the ABI version, or cargo cinstall \
             would install a library whose SONAME differs from MAILPORT_ABI_VERSION (see \
             docs/abi.md)",
            manifest.display()
        ));
    }
    Ok(())
}

/// Put the link `libmailport.so.<ABI_VERSION>` -> `libmailport.so` in the directory where cargo
/// writes the library. The SONAME makes the loader look for that name, and cargo writes only
/// `libmailport.so`, so without it a program linked against a development build fails with
/// "libmailport.so.1: cannot open shared object file". (An installed library gets the link from
/// `cargo cinstall`.) The link is made before the library exists and is relative, so it is right
/// once the build finishes, and follows a moved target directory.
///
/// `OUT_DIR` is `<dir>/build/mailport-<hash>/out` with the library in `<dir>`. Where the layout
/// differs (a separate `build.build-dir`) no `deps` folder shows it is an artifact directory,
/// and nothing is written; a failure is a warning, never a failed build.
fn link_soname(out_dir: &Path) {
    let Some(dir) = out_dir.ancestors().nth(3) else {
        return;
    };
    if !dir.join("deps").is_dir() {
        return;
    }
    let link = dir.join(format!("libmailport.so.{ABI_VERSION}"));
    let target = Path::new("libmailport.so");
    if fs::read_link(&link).is_ok_and(|t| t == target) {
        return;
    }
    // A temporary name and a rename, as for the headers: concurrent builds never see no link.
    let tmp = dir.join(format!(
        ".libmailport.so.{ABI_VERSION}.{}.tmp",
        std::process::id()
    ));
    let _ = fs::remove_file(&tmp);
    #[cfg(unix)]
    let made = std::os::unix::fs::symlink(target, &tmp).and_then(|()| fs::rename(&tmp, &link));
    #[cfg(not(unix))]
    let made: io::Result<()> = Err(io::Error::other("symbolic links need a Unix build host"));
    if let Err(e) = made {
        let _ = fs::remove_file(&tmp);
        println!(
            "cargo:warning=could not create {} -> libmailport.so: {e}",
            link.display()
        );
    }
}

/// Run cbindgen once over `src/ffi` and render both headers.
fn generate_headers(manifest_dir: &Path) -> Result<Vec<(&'static str, String)>, String> {
    let mut config = cbindgen::Config::from_file(manifest_dir.join("cbindgen.toml"))
        .map_err(|e| format!("cbindgen.toml: {e}"))?;
    config.after_includes = config.after_includes.map(|text| fill_placeholders(&text));

    // Only the ffi module tree is parsed: the core's items can never leak into the header, and no
    // `cargo metadata` run is needed.
    let mut bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(manifest_dir.join("src/ffi/mod.rs"))
        .generate()
        .map_err(|e| format!("cbindgen could not parse src/ffi: {e}"))?;

    let canonical = render(&bindings);

    // The flat variant: declarations only. PHP's FFI::cdef has no preprocessor, so no include,
    // guard, macro or `extern "C"` block; and no comments, so nothing but C declarations.
    let flat = &mut bindings.config;
    flat.header = None;
    flat.trailer = None;
    flat.include_guard = None;
    flat.pragma_once = false;
    flat.no_includes = true;
    flat.sys_includes = Vec::new();
    flat.includes = Vec::new();
    flat.after_includes = None;
    flat.cpp_compat = false;
    flat.autogen_warning = None;
    flat.include_version = false;
    flat.documentation = false;
    let flat = render(&bindings);
    if let Some(line) = flat.lines().find(|l| l.trim_start().starts_with('#')) {
        return Err(format!(
            "{FFI_FLAT} would contain the preprocessor line {line:?} (is an exported enum repr(u32)?)"
        ));
    }
    Ok(vec![(CANONICAL, canonical), (FFI_FLAT, flat)])
}

fn render(bindings: &cbindgen::Bindings) -> String {
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("cbindgen writes UTF-8")
}

fn fill_placeholders(text: &str) -> String {
    let var = |name: &str| env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    text.replace("@VERSION_MAJOR@", &var("CARGO_PKG_VERSION_MAJOR"))
        .replace("@VERSION_MINOR@", &var("CARGO_PKG_VERSION_MINOR"))
        .replace("@VERSION_PATCH@", &var("CARGO_PKG_VERSION_PATCH"))
        .replace("@ABI_VERSION@", &ABI_VERSION.to_string())
}

/// `$OUT_DIR/version.rs`: `"mailport/0.1.0 rustls/0.23.46 ring"` and the ABI version.
fn write_version(manifest_dir: &Path, out_dir: &Path) {
    let version = env::var("CARGO_PKG_VERSION").expect("CARGO_PKG_VERSION");
    let rustls = fs::read_to_string(manifest_dir.join("Cargo.lock"))
        .ok()
        .and_then(|lock| locked_version(&lock, "rustls"))
        .map(|v| format!("rustls/{v}"))
        .unwrap_or_else(|| "rustls".to_string());
    let text = format!(
        "/// The version string returned by `mailport_version()`.\n\
         pub(crate) const VERSION: &::std::ffi::CStr = c\"mailport/{version} {rustls} ring\";\n\
         /// The ABI generation (see `ABI_VERSION` in build.rs).\n\
         pub(crate) const ABI_VERSION: u32 = {ABI_VERSION};\n"
    );
    write_if_changed(&out_dir.join("version.rs"), text.as_bytes()).expect("write version.rs");
}

/// Cargo.lock, as far as [`locked_version`] reads it.
#[derive(serde::Deserialize)]
struct Lock {
    package: Vec<LockedPackage>,
}

#[derive(serde::Deserialize)]
struct LockedPackage {
    name: String,
    version: String,
    /// "name", or "name version" when the lock file holds several versions of it.
    #[serde(default)]
    dependencies: Vec<String>,
}

/// The version of `package` that this crate depends on, from Cargo.lock: the one the crate's own
/// dependency entry names, else the lock file's only version of it.
fn locked_version(lock: &str, package: &str) -> Option<String> {
    let lock: Lock = toml::from_str(lock).ok()?;
    let own = env::var("CARGO_PKG_NAME").ok()?;
    let pinned = lock.package.iter().find(|p| p.name == own).and_then(|own| {
        own.dependencies.iter().find_map(|dep| {
            let mut words = dep.split(' ');
            (words.next() == Some(package)).then(|| words.next())?
        })
    });
    if let Some(version) = pinned {
        return Some(version.to_string());
    }
    let mut found = lock.package.iter().filter(|p| p.name == package);
    match (found.next(), found.next()) {
        (Some(only), None) => Some(only.version.clone()),
        _ => None,
    }
}

/// Write `bytes` to `path` unless it already holds exactly that, atomically (temp file + rename)
/// so that two concurrent builds never leave a half-written header.
fn write_if_changed(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    let dir = path.parent().expect("a file path has a parent");
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("out"),
        std::process::id()
    ));
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path)
}
