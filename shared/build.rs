//! Embeds every file under `schemas/` into the crate at build time, so the binaries carry the
//! catalog and `caiji-shared` itself never reads a file.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, &mut files);
    files.sort();
    let mut out = String::from("/// (path relative to `schemas/`, contents) of every embedded schema file.\n");
    out.push_str("pub(crate) static FILES: &[(&str, &str)] = &[\n");
    for path in &files {
        let rel = path.strip_prefix(&root).expect("file under schemas/");
        let rel = rel.to_string_lossy().replace('\\', "/");
        let abs = path.canonicalize().expect("schema file path");
        writeln!(out, "    ({rel:?}, include_str!({:?})),", abs.display().to_string()).unwrap();
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("schemas.rs");
    std::fs::write(dest, out).expect("write schemas.rs");
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "toml") {
            println!("cargo:rerun-if-changed={}", path.display());
            files.push(path);
        }
    }
}
