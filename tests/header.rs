//! Guards on the C headers and the exported ABI.
//!
//! - The committed `include/mailport.h` and `include/mailport_ffi.h` are exactly what build.rs
//!   generates from `src/ffi` (build.rs keeps its own copies in `$OUT_DIR/include`, exported as
//!   `MAILPORT_GENERATED_INCLUDE_DIR`): a header edited by hand, or not regenerated, fails.
//! - `mailport_ffi.h` is loadable by PHP's `FFI::cdef`: no preprocessor line, no typedef of a type
//!   PHP predefines.
//! - Cargo.toml's version, the header's macros and `mailport_version()` agree.
//! - The header compiles as strict C99, C2x and C++.
//! - `tests/abi/symbols.txt` lists exactly the `mailport_*` symbols the shared library exports.
//! - The "Functions:" lists in `src/ffi` name each of those symbols once, in the module that
//!   defines it.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::CStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const HEADERS: [&str; 2] = ["mailport.h", "mailport_ffi.h"];

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A fresh directory for this test's scratch files.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("header-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn committed_headers_match_what_build_rs_generates() {
    let generated = Path::new(env!("MAILPORT_GENERATED_INCLUDE_DIR"));
    for name in HEADERS {
        let committed = repo().join("include").join(name);
        let fresh = generated.join(name);
        let fresh_text = read(&fresh);
        assert!(
            committed.exists(),
            "include/{name} is missing; run `touch build.rs && cargo build` to regenerate it"
        );
        let committed_text = read(&committed);
        if committed_text != fresh_text {
            let line = committed_text
                .lines()
                .zip(fresh_text.lines())
                .position(|(a, b)| a != b)
                .map_or_else(
                    || {
                        committed_text
                            .lines()
                            .count()
                            .min(fresh_text.lines().count())
                            + 1
                    },
                    |i| i + 1,
                );
            panic!(
                "include/{name} differs from what build.rs generates ({}), first at line {line}.\n\
                 The headers are generated from src/ffi and cbindgen.toml: do not edit them by \
                 hand. Run `touch build.rs && cargo build` to regenerate, then commit the result.",
                fresh.display()
            );
        }
    }
}

/// Names of C types PHP's FFI (and every C compiler) already defines.
const STD_TYPES: &[&str] = &[
    "bool",
    "size_t",
    "ssize_t",
    "ptrdiff_t",
    "intptr_t",
    "uintptr_t",
    "int8_t",
    "int16_t",
    "int32_t",
    "int64_t",
    "uint8_t",
    "uint16_t",
    "uint32_t",
    "uint64_t",
    "char16_t",
    "char32_t",
];

/// The name each `typedef` in `text` declares.
fn typedef_names(text: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .rev()
            .skip_while(|c| !(c.is_alphanumeric() || *c == '_'))
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect::<String>()
            .chars()
            .rev()
            .collect()
    };
    text.split(';')
        .filter(|stmt| stmt.trim_start().starts_with("typedef"))
        .map(|stmt| match stmt.find("(*") {
            // Function pointer: `typedef void (*name)(...)`.
            Some(at) => ident(stmt[at + 2..].split(')').next().unwrap_or("")),
            None => ident(stmt),
        })
        .collect()
}

#[test]
fn ffi_header_is_free_of_preprocessor_lines_and_std_typedefs() {
    let text = read(&repo().join("include/mailport_ffi.h"));
    for (i, line) in text.lines().enumerate() {
        assert!(
            !line.trim_start().starts_with('#'),
            "include/mailport_ffi.h line {} is a preprocessor line, which PHP FFI::cdef rejects: \
             {line:?} (is an exported enum repr(u32)?)",
            i + 1
        );
    }
    assert!(
        !text.contains("/*") && !text.contains("//"),
        "mailport_ffi.h has comments"
    );
    let names = typedef_names(&text);
    assert!(names.iter().any(|n| n == "mailport_client"), "{names:?}");
    assert!(
        names.iter().any(|n| n == "mailport_log_callback"),
        "{names:?}"
    );
    for name in &names {
        assert!(
            !STD_TYPES.contains(&name.as_str()),
            "mailport_ffi.h typedefs {name}, which PHP FFI predefines"
        );
        assert!(name.starts_with("mailport_"), "unexpected typedef {name}");
    }
    // Both headers declare the same functions.
    let canonical = read(&repo().join("include/mailport.h"));
    assert_eq!(declared_functions(&text), declared_functions(&canonical));
}

/// `header` without comments and preprocessor lines.
fn code_only(header: &str) -> String {
    let mut out = String::new();
    let mut rest = header;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        rest = rest[start..]
            .find("*/")
            .map_or("", |end| &rest[start + end + 2..]);
    }
    out.push_str(rest);
    out.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `mailport_*` names followed by `(` in function declarations, in order.
fn declared_functions(header: &str) -> Vec<String> {
    let mut names = Vec::new();
    for stmt in code_only(header).split(';') {
        let stmt = stmt.trim();
        if stmt.contains("typedef") {
            continue;
        }
        if let Some(open) = stmt.find('(') {
            let before = &stmt[..open];
            let name: String = before
                .chars()
                .rev()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect::<String>()
                .chars()
                .rev()
                .collect();
            if name.starts_with("mailport_") {
                names.push(name);
            }
        }
    }
    names
}

fn header_macro(header: &str, name: &str) -> String {
    header
        .lines()
        .find_map(|l| l.strip_prefix(&format!("#define {name} ")))
        .unwrap_or_else(|| panic!("mailport.h has no #define {name}"))
        .trim()
        .to_string()
}

#[test]
fn versions_agree_between_cargo_toml_header_and_library() {
    let manifest = read(&repo().join("Cargo.toml"));
    let package = manifest
        .split("\n[")
        .find(|section| section.trim_start_matches('[').starts_with("package]"))
        .expect("[package] section");
    let cargo_version = package
        .lines()
        .find_map(|l| {
            let value = l.strip_prefix("version")?.trim_start().strip_prefix('=')?;
            Some(value.trim().trim_matches('"').to_string())
        })
        .expect("package version");
    assert_eq!(cargo_version, env!("CARGO_PKG_VERSION"));

    let header = read(&repo().join("include/mailport.h"));
    let from_header = format!(
        "{}.{}.{}",
        header_macro(&header, "MAILPORT_VERSION_MAJOR"),
        header_macro(&header, "MAILPORT_VERSION_MINOR"),
        header_macro(&header, "MAILPORT_VERSION_PATCH")
    );
    assert_eq!(from_header, cargo_version, "header macros vs Cargo.toml");

    // SAFETY: no arguments; returns a static string.
    let library = unsafe { CStr::from_ptr(mailport::ffi::mailport_version()) };
    let library = library.to_str().unwrap();
    assert!(
        library.starts_with(&format!("mailport/{cargo_version} ")),
        "mailport_version() = {library:?}, Cargo.toml = {cargo_version}"
    );
    let abi: u32 = header_macro(&header, "MAILPORT_ABI_VERSION")
        .parse()
        .unwrap();
    // SAFETY: no arguments.
    assert_eq!(unsafe { mailport::ffi::mailport_abi_version() }, abi);
}

const SMOKE_C: &str = r#"#include "mailport.h"
#include "mailport.h" /* the include guard makes a second inclusion harmless */

int main(void) {
    mailport_config *cfg = mailport_config_new();
    mailport_error *err = NULL;
    mailport_result rc = mailport_config_set_host(cfg, "localhost", &err);
    mailport_log_callback cb = NULL;
    (void)cb;
    (void)mailport_result_str((uint32_t)rc);
    mailport_error_free(err);
    mailport_config_free(cfg);
    return MAILPORT_ABI_VERSION == mailport_abi_version() ? 0 : 1;
}
"#;

const SMOKE_FFI_C: &str = r#"#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mailport_ffi.h"

int main(void) {
    return (int)mailport_abi_version() - 1;
}
"#;

fn compile(dir: &Path, file: &str, command: &[&str]) {
    let include = repo().join("include");
    let output = Command::new(command[0])
        .args(&command[1..])
        .arg("-fsyntax-only")
        .arg(format!("-I{}", include.display()))
        .arg(dir.join(file))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", command[0]));
    assert!(
        output.status.success(),
        "{command:?} {file} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn header_compiles_as_strict_c99_c2x_and_cpp() {
    let dir = scratch("compile");
    fs::write(dir.join("smoke.c"), SMOKE_C).unwrap();
    fs::write(dir.join("smoke_ffi.c"), SMOKE_FFI_C).unwrap();
    let strict = ["-Wall", "-Wextra", "-Werror", "-pedantic"];
    for std in ["-std=c99", "-std=c2x"] {
        let mut cmd = vec!["gcc", std];
        cmd.extend(strict);
        compile(&dir, "smoke.c", &cmd);
        compile(&dir, "smoke_ffi.c", &cmd);
    }
    let mut cmd = vec!["g++", "-x", "c++", "-std=c++11"];
    cmd.extend(strict);
    compile(&dir, "smoke.c", &cmd);
}

/// Defined `mailport_*` symbols of a shared library, sorted.
fn exported_symbols(library: &Path) -> Vec<String> {
    let output = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(library)
        .output()
        .expect("run nm");
    assert!(
        output.status.success(),
        "nm failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut names: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .filter(|name| name.starts_with("mailport_"))
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The symbols `tests/abi/symbols.txt` lists, in its order.
fn abi_symbols() -> Vec<String> {
    read(&repo().join("tests/abi/symbols.txt"))
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[test]
fn symbol_list_matches_the_shared_library() {
    let library = common::shared_library();
    let exported = exported_symbols(&library);
    let mut listed = abi_symbols();
    let unsorted = listed.clone();
    listed.sort();
    assert_eq!(unsorted, listed, "tests/abi/symbols.txt must stay sorted");
    if exported != listed {
        let added: Vec<_> = exported.iter().filter(|s| !listed.contains(s)).collect();
        let removed: Vec<_> = listed.iter().filter(|s| !exported.contains(s)).collect();
        panic!(
            "the exported ABI changed.\n  new symbols: {added:?}\n  missing symbols: {removed:?}\n\
             Removing or renaming a symbol breaks C, Python and PHP callers: bump ABI_VERSION in \
             build.rs when you do. Then update tests/abi/symbols.txt deliberately."
        );
    }
    // Every listed symbol is declared in the header, so the list documents the real surface.
    let declared = declared_functions(&read(&repo().join("include/mailport.h")));
    for name in &listed {
        assert!(
            declared.contains(name),
            "{name} is exported but not declared in mailport.h"
        );
    }
}

/// The names in the "Functions:" lists of a source file's doc comments (`///` or `//!`). A list
/// runs from "Functions:" to the end of its paragraph.
fn functions_lists(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_list = false;
    for line in source.lines() {
        let line = line.trim_start();
        let Some(doc) = line
            .strip_prefix("///")
            .or_else(|| line.strip_prefix("//!"))
        else {
            in_list = false;
            continue;
        };
        let doc = doc.trim();
        if let Some(rest) = doc.strip_prefix("Functions:") {
            in_list = true;
            names.extend(list_names(rest));
        } else if doc.is_empty() {
            in_list = false;
        } else if in_list {
            names.extend(list_names(doc));
        }
    }
    names
}

fn list_names(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split([',', '.', ' '])
        .filter(|w| !w.is_empty())
        .map(|w| {
            assert!(
                w.starts_with("mailport_"),
                "a Functions: list holds only function names, not {w:?}"
            );
            w.to_string()
        })
}

/// The functions a source file exports (`pub [unsafe] extern "C" fn name(`).
fn defined_functions(source: &str) -> Vec<String> {
    source
        .lines()
        .filter_map(|l| {
            let rest = l
                .strip_prefix("pub unsafe extern \"C\" fn ")
                .or_else(|| l.strip_prefix("pub extern \"C\" fn "))?;
            Some(rest.split('(').next()?.to_string())
        })
        .collect()
}

/// The hand-kept "Functions:" lists in src/ffi (which become the header's comments) name every
/// exported function once: in the lists of exactly one module, the one that defines it (or, for
/// a type whose functions are split over the files of a directory, like `message/`, that
/// directory's `mod.rs`). Nothing they name is missing from tests/abi/symbols.txt.
#[test]
fn functions_lists_name_every_exported_function_in_one_module() {
    let mut listed_in: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut defined_in: BTreeMap<String, String> = BTreeMap::new();
    let ffi = repo().join("src/ffi");
    let mut files = Vec::new();
    let mut dirs = vec![ffi.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    for path in files {
        // outbox/record for src/ffi/outbox/record.rs: the module, as a path.
        let module = path
            .strip_prefix(&ffi)
            .unwrap()
            .with_extension("")
            .to_string_lossy()
            .into_owned();
        let source = read(&path);
        for name in functions_lists(&source) {
            listed_in.entry(name).or_default().insert(module.clone());
        }
        for name in defined_functions(&source) {
            defined_in.insert(name, module.clone());
        }
    }
    let symbols = abi_symbols();
    let mut problems = Vec::new();
    for name in &symbols {
        let modules = listed_in.get(name).cloned().unwrap_or_default();
        let definer = defined_in.get(name).map_or("?", String::as_str);
        let directory = definer
            .rsplit_once('/')
            .map(|(dir, _)| format!("{dir}/mod"));
        let owner =
            modules.contains(definer) || directory.is_some_and(|mod_rs| modules.contains(&mod_rs));
        if modules.len() != 1 || !owner {
            problems.push(format!(
                "{name} (defined in {definer}.rs) is in the Functions: lists of {modules:?}"
            ));
        }
    }
    for name in listed_in.keys() {
        if !symbols.contains(name) {
            problems.push(format!("{name} is in a Functions: list but not exported"));
        }
    }
    assert!(
        problems.is_empty(),
        "every exported function belongs in the Functions: list of the module that defines it, \
         and only there:\n  {}",
        problems.join("\n  ")
    );
}
