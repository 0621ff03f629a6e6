//! `caiji-hub` binary: parse, run, print, map errors to an exit status.
#![allow(clippy::print_stdout, reason = "the binary prints its output")]

use std::process::ExitCode;

use caiji_hub::cli::{Cli, run};
use clap::Parser;

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("错误：{e}");
            ExitCode::FAILURE
        }
    }
}
