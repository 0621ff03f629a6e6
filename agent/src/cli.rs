//! The command line of `caiji-agent`: what a department collector types. Each command returns
//! the text to print, or a [`CliError`] whose message says, in Chinese, what went wrong.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use caiji_shared::workflow::Action;

use crate::export::ExportError;
use crate::import::ImportError;
use crate::store::StoreError;
use crate::{cmd, cmd_workflow};

/// caiji 采集 — 部门数据采集端
#[derive(Debug, Parser)]
#[command(
    name = "caiji-agent",
    version,
    about = "caiji 采集：部门数据采集端（离线填报、导入、校验、导出）",
    after_help = "先运行 `caiji-agent init` 创建本部门的数据目录，再用 import 导入 Excel 文件。"
)]
pub struct Cli {
    /// 数据目录（也可用环境变量 CAIJI_DATA 指定）
    #[arg(long, global = true, env = "CAIJI_DATA", default_value = "caiji-data")]
    pub data: PathBuf,
    /// 操作人姓名，记录在每一次修改中（默认为初始化时登记的采集人）
    #[arg(long, global = true, env = "CAIJI_USER")]
    pub user: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// 处室
    Office,
    /// 系部
    Teaching,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AgentRole {
    /// 数据采集人
    Collector,
    /// 部门负责人
    DeptHead,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// 创建本部门的数据目录
    Init {
        /// 部门代码（小写字母、数字或“-”），如 jsjx
        #[arg(long)]
        department: String,
        /// 部门名称，如 计算机系
        #[arg(long)]
        name: String,
        /// 部门类型：office（处室）或 teaching（系部）；默认按报表目录，未列出的按系部
        #[arg(long, value_enum)]
        kind: Option<Kind>,
        /// 学年，如 2025 或 2025-2026（默认为当前学年）
        #[arg(long)]
        year: Option<String>,
        /// 数据采集人姓名
        #[arg(long)]
        collector: String,
        /// 报表目录版本（默认为最新版本）
        #[arg(long)]
        edition: Option<String>,
    },
    /// 列出本部门的报表：行数、校验结果
    Tables {
        /// 列出目录中的全部表
        #[arg(long)]
        all: bool,
    },
    /// 查看官方报表目录：不带参数列出全部表，带表号显示该表的字段与说明
    Catalog {
        /// 表号，如 A6-1-1
        table: Option<String>,
        /// 目录版本，默认为最新版本
        #[arg(long)]
        edition: Option<String>,
    },
    /// 导入 Excel（xlsx/xls）或 CSV 文件；按唯一标识更新已有的行，不会重复
    Import {
        /// 要导入的文件
        file: PathBuf,
        /// 只导入到这张表（默认按工作表名或表头自动识别）
        #[arg(long)]
        table: Option<String>,
        /// 文件有任何错误时不导入
        #[arg(long)]
        strict: bool,
        /// 问题报告（xlsx）的保存位置，默认在导入文件旁边
        #[arg(long)]
        report: Option<PathBuf>,
    },
    /// 按官方表头导出一张表（.xlsx 或 .csv）
    Export {
        /// 表号，如 A6-1-1
        table: String,
        /// 输出文件，默认为“表号表名.xlsx”
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// 列出一张表的行
    Rows {
        table: String,
        /// 只显示包含此内容的行
        #[arg(long)]
        search: Option<String>,
        /// 同时显示已删除的行
        #[arg(long)]
        deleted: bool,
        /// 以 JSON 输出全部字段
        #[arg(long)]
        json: bool,
    },
    /// 显示一行的全部字段和问题
    Show {
        table: String,
        /// 行号、行标识或唯一标识的值（如教工号）
        row: String,
    },
    /// 修改一个单元格（值为空则清空）
    Set {
        table: String,
        /// 行号、行标识或唯一标识的值
        row: String,
        /// 字段：列名（如 出生日期）或字段标识
        field: String,
        value: String,
    },
    /// 新增一行：字段=值 …
    Add {
        table: String,
        /// 如 教工号=T001 姓名=张三
        values: Vec<String>,
    },
    /// 删除一行（可恢复）
    Delete { table: String, row: String },
    /// 恢复已删除的行
    Restore { table: String, row: String },
    /// 校验本部门的数据（不指定表则校验全部）
    Validate { table: Option<String> },
    /// 查看一个单元格的修改历史：谁、何时、从什么改为什么
    History { table: String, row: String, field: String },
    /// 用平台管理办公室发放的注册码注册到学校的中心端
    Enroll {
        /// 中心端地址，如 https://192.168.1.10:8443
        #[arg(long)]
        hub: String,
        /// 注册码
        #[arg(long)]
        code: String,
        /// 本机名称，如 计算机系-办公室电脑
        #[arg(long)]
        name: Option<String>,
        /// 数据采集人姓名（数据目录尚未创建时使用）
        #[arg(long)]
        collector: Option<String>,
        /// 平台管理办公室提供的证书指纹；指定后不符则不注册
        #[arg(long)]
        fingerprint: Option<String>,
    },
    /// 立即与中心端同步一次
    Sync,
    /// 添加采集端用户（数据采集人或部门负责人）
    UserAdd {
        name: String,
        #[arg(long, value_enum)]
        role: AgentRole,
        /// 密码（也可用环境变量 CAIJI_PASSWORD）
        #[arg(long, env = "CAIJI_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// 提交部门审核（数据采集人）；有错误时不能提交
    Submit {
        table: String,
        #[arg(long, env = "CAIJI_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// 部门负责人审核通过并报送平台管理办公室
    Approve {
        table: String,
        #[arg(long, env = "CAIJI_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// 部门负责人退回给数据采集人（须填写原因）
    Return {
        table: String,
        #[arg(long)]
        reason: String,
        #[arg(long, env = "CAIJI_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// 查看退回原因和批注（可指定表号）
    Comments { table: Option<String> },
    /// 把一条批注标记为已处理
    Resolve {
        /// 批注编号（见 comments）
        id: String,
        #[arg(long, env = "CAIJI_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// 查看与中心端的同步状态（serve 运行时也可使用）
    Status,
    /// 在后台运行：提供本机网页，自动导入放入 inbox 文件夹的文件，并自动与中心端同步
    Serve {
        /// 网页的本机地址（只能是 127.0.0.1 等本机地址）
        #[arg(long, default_value = "127.0.0.1:8380")]
        web: std::net::SocketAddr,
        /// 不提供网页
        #[arg(long)]
        no_web: bool,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Store(#[from] Box<StoreError>),
    #[error(transparent)]
    Import(Box<ImportError>),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error("{0}")]
    Usage(String),
    /// The command ran and found problems (e.g. validation errors); the text says which.
    #[error("{0}")]
    Findings(String),
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> Self {
        CliError::Store(Box::new(e))
    }
}

impl From<ImportError> for CliError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::Store(s) => CliError::Store(s),
            other => CliError::Import(Box::new(other)),
        }
    }
}

/// Runs a command and returns what to print.
pub fn run(cli: Cli) -> Result<String, CliError> {
    let user = cli.user.clone();
    let data = cli.data.clone();
    match cli.command {
        Command::Init { department, name, kind, year, collector, edition } => {
            cmd::init(&data, department, name, kind, year, collector, edition)
        }
        Command::Catalog { table, edition } => cmd::catalog(table, edition),
        Command::Serve { web, no_web } => crate::serve::run(&data, (!no_web).then_some(web)),
        Command::Enroll { hub, code, name, collector, fingerprint } => {
            crate::cmd_sync::enroll(&data, &hub, &code, name, collector, fingerprint)
        }
        Command::Sync => crate::cmd_sync::sync(&data),
        Command::Status => crate::cmd_sync::status(&data),
        command => {
            // Commands that only read open the store read-only, so they work beside `serve`.
            let reads = matches!(
                command,
                Command::Tables { .. }
                    | Command::Export { .. }
                    | Command::Rows { .. }
                    | Command::Show { .. }
                    | Command::Validate { .. }
                    | Command::History { .. }
                    | Command::Comments { .. }
            );
            let mut store =
                if reads { crate::store::Store::open_read_only(&data)? } else { crate::store::Store::open(&data)? };
            let user = user.unwrap_or_else(|| store.info().collector.clone());
            match command {
                Command::Tables { all } => cmd::tables(&mut store, all),
                Command::Import { file, table, strict, report } => {
                    cmd::import(&mut store, &user, &file, table, strict, report)
                }
                Command::Export { table, output } => cmd::export(&mut store, &table, output),
                Command::Rows { table, search, deleted, json } => cmd::rows(&mut store, &table, search, deleted, json),
                Command::Show { table, row } => cmd::show(&mut store, &table, &row),
                Command::Set { table, row, field, value } => cmd::set(&mut store, &user, &table, &row, &field, &value),
                Command::Add { table, values } => cmd::add(&mut store, &user, &table, &values),
                Command::Delete { table, row } => cmd::delete(&mut store, &user, &table, &row, true),
                Command::Restore { table, row } => cmd::delete(&mut store, &user, &table, &row, false),
                Command::Validate { table } => cmd::validate(&mut store, table),
                Command::History { table, row, field } => cmd::history(&mut store, &table, &row, &field),
                Command::UserAdd { name, role, password } => {
                    let role = match role {
                        AgentRole::Collector => caiji_shared::workflow::Role::Collector,
                        AgentRole::DeptHead => caiji_shared::workflow::Role::DeptHead,
                    };
                    cmd_workflow::user_add(&mut store, &name, role, &password)
                }
                Command::Submit { table, password } => {
                    cmd_workflow::act(&mut store, &user, password.as_deref(), &table, Action::Submit, None)
                }
                Command::Approve { table, password } => {
                    cmd_workflow::act(&mut store, &user, password.as_deref(), &table, Action::DeptApprove, None)
                }
                Command::Return { table, reason, password } => {
                    cmd_workflow::act(&mut store, &user, password.as_deref(), &table, Action::DeptReturn, Some(reason))
                }
                Command::Comments { table } => cmd_workflow::comments(&mut store, table),
                Command::Resolve { id, password } => cmd_workflow::resolve(&mut store, &user, password.as_deref(), &id),
                Command::Init { .. }
                | Command::Catalog { .. }
                | Command::Serve { .. }
                | Command::Enroll { .. }
                | Command::Sync
                | Command::Status => unreachable!("handled above"),
            }
        }
    }
}
