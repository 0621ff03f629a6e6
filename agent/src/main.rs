//! `caiji-agent` binary: parse, run, print, map errors to an exit status.
#![allow(clippy::print_stdout, reason = "the binary prints its output")]

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = caiji_agent::cli::Cli::parse();
    match caiji_agent::cli::run(cli) {
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
