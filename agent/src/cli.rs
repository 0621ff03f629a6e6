//! The command line of `caiji-agent`.

use caiji_shared::Catalog;
use caiji_shared::catalog::render;
use clap::{Parser, Subcommand};

/// caiji 采集 — 部门数据采集端
#[derive(Debug, Parser)]
#[command(name = "caiji-agent", version, about = "caiji 采集：部门数据采集端（离线填报、导入、校验、同步）")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// 查看官方报表目录：不带参数列出全部表，带表号显示该表的字段与说明
    Catalog {
        /// 表号，如 A6-1-1
        table: Option<String>,
        /// 目录版本，默认为最新版本
        #[arg(long)]
        edition: Option<String>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("内置报表目录有误：\n{0}")]
    Catalog(#[from] caiji_shared::catalog::SchemaErrors),
    #[error("没有目录版本「{0}」")]
    NoEdition(String),
    #[error("没有表「{0}」；运行 `caiji-agent catalog` 查看全部表号")]
    NoTable(String),
}

/// Runs a command and returns what to print.
pub fn run(cli: Cli) -> Result<String, CliError> {
    match cli.command {
        Command::Catalog { table, edition } => {
            let catalog = Catalog::load_embedded()?;
            let edition = match edition {
                Some(e) => catalog.edition(&e).ok_or(CliError::NoEdition(e))?,
                None => catalog.current(),
            };
            match table {
                None => Ok(render::table_list(edition)),
                Some(id) => {
                    let t = edition
                        .table(&id)
                        .or_else(|| edition.table(&id.to_uppercase()))
                        .ok_or(CliError::NoTable(id))?;
                    Ok(render::table_detail(edition, t))
                }
            }
        }
    }
}
