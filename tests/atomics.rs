//! MT7621 routers (mipsel, MIPS32) have 32-bit atomic instructions only: `AtomicU64`/`AtomicI64`
//! in Lango's own code fail the mipsel build (scripts/build-ipk.sh mipsel_24kc). This test finds
//! one in `src/` in a second, so it is caught without a cross build. Use `AtomicU32`, or a
//! `Mutex` when the value needs 64 bits.

use std::path::{Path, PathBuf};

/// Names of the 64-bit atomic types in `std::sync::atomic`.
const FORBIDDEN: [&str; 2] = ["AtomicU64", "AtomicI64"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// `file:line: text` for each code line (comments skipped) that names a 64-bit atomic.
fn offences(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(root, &mut files);
    files.sort();
    let mut found = Vec::new();
    for file in files {
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if FORBIDDEN.iter().any(|t| code.contains(t)) {
                found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn no_64_bit_atomics_in_lango_code() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = offences(&src);
    assert!(
        found.is_empty(),
        "64-bit atomics do not build for mipsel (MT7621); use AtomicU32 or a Mutex:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_finds_a_64_bit_atomic() {
    let dir = std::env::temp_dir().join(format!("lango-atomics-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("sub")).expect("temp dir");
    std::fs::write(
        dir.join("sub/a.rs"),
        "// AtomicU64 in a comment is fine\nstatic N: std::sync::atomic::AtomicI64 = todo!();\n",
    )
    .expect("write");
    let found = offences(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].ends_with("a.rs:2: static N: std::sync::atomic::AtomicI64 = todo!();"));
}
