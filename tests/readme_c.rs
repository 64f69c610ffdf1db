//! Every C example in README.md compiles against the committed header, as a new user would
//! paste it: fragments that are statements are wrapped in `main`. A block fenced
//! ```` ```c fragment ```` continues an earlier example (it uses its variables) and is left
//! out. The complete program (```` ```c app.c ````) is compiled with warnings as errors, then
//! installed, built and run exactly as the README says by `cli/tests/readme_install.rs`.

use std::path::Path;
use std::process::Command;

#[test]
fn readme_c_examples_compile() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let blocks: Vec<&str> = readme
        .split("```c\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap())
        .collect();
    assert!(
        blocks.len() >= 2,
        "expected several C examples in README.md"
    );
    let dir = std::env::temp_dir().join(format!("mailport-readme-c-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (i, block) in blocks.iter().enumerate() {
        let (includes, body): (Vec<&str>, Vec<&str>) =
            block.lines().partition(|l| l.starts_with("#include"));
        let body = body.join("\n");
        // A block that defines functions stands alone; a block of statements goes into main.
        let program = if body.contains(") {\n") && !body.trim_start().starts_with("mailport_") {
            format!(
                "{}\n#include <stdlib.h>\n#include <string.h>\n{body}\nint main(void) {{ return 0; }}\n",
                includes.join("\n")
            )
        } else {
            format!(
                "{}\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\nint main(void) {{\n{body}\nreturn 0;\n}}\n",
                includes.join("\n")
            )
        };
        let file = dir.join(format!("example{i}.c"));
        std::fs::write(&file, &program).unwrap();
        let out = Command::new("gcc")
            .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-fsyntax-only"])
            .arg(format!("-I{}", root.join("include").display()))
            .arg(&file)
            .output()
            .expect("gcc");
        assert!(
            out.status.success(),
            "README C example {i} does not compile:\n{}\n{program}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn readme_complete_c_program_compiles_without_warnings() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let program = readme
        .split("```c app.c\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("README.md has the complete program in a ```c app.c block");
    assert!(program.contains("int main("), "the program has a main");
    let dir = std::env::temp_dir().join(format!("mailport-readme-app-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("app.c");
    std::fs::write(&file, program).unwrap();
    let out = Command::new("gcc")
        .args([
            "-std=c99",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-fsyntax-only",
        ])
        .arg(format!("-I{}", root.join("include").display()))
        .arg(&file)
        .output()
        .expect("gcc");
    assert!(
        out.status.success(),
        "README's app.c does not compile cleanly:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
