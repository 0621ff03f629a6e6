//! Helpers: find and run the real binaries.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The path of a workspace binary in the same target directory as this test.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/tests-<hash> → target/<profile>/<name>
    let dir = exe.parent().and_then(|d| d.parent()).expect("target directory");
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(path.exists(), "{} is missing: run `cargo build --workspace --bins` before the tests", path.display());
    path
}

/// Runs a binary to completion and returns (exit success, stdout, stderr).
pub fn run(name: &str, args: &[&str]) -> (bool, String, String) {
    let Output { status, stdout, stderr } = Command::new(bin(name)).args(args).output().expect("run binary");
    (status.success(), String::from_utf8_lossy(&stdout).into_owned(), String::from_utf8_lossy(&stderr).into_owned())
}
