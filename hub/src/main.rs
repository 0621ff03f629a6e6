//! `caiji-hub` binary: parse, run, print, map errors to an exit status.
#![allow(clippy::print_stdout, reason = "the binary prints its output")]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// caiji 采集 — 学校中心端
#[derive(Debug, Parser)]
#[command(name = "caiji-hub", version, about = "caiji 采集：学校中心端（审核、汇总、锁定、上报）")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// 列出官方报表目录
    Catalog,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Catalog => match caiji_hub::catalog_text() {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("错误：内置报表目录有误：\n{e}");
                ExitCode::FAILURE
            }
        },
    }
}
