//! `caiji-agent` binary: parse, run, print, map errors to an exit status.
#![allow(clippy::print_stdout, reason = "the binary prints its output")]

use std::process::ExitCode;

use caiji_agent::cli::{Cli, CliError, run};
use clap::Parser;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        // The command ran and found problems: its report, then a failing status.
        Err(CliError::Findings(out)) => {
            print!("{out}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("错误：{e}");
            ExitCode::FAILURE
        }
    }
}
