//! The command line of `caiji-hub`, for the platform management office.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use caiji_agent::cli::Kind;
use caiji_shared::AcademicYear;
use caiji_shared::catalog::DepartmentKind;
use clap::{Parser, Subcommand};

use crate::store::{HubError, HubInfo, HubStore};

/// caiji 采集 — 学校中心端
#[derive(Debug, Parser)]
#[command(name = "caiji-hub", version, about = "caiji 采集：学校中心端（审核、汇总、锁定、上报）")]
pub struct Cli {
    /// 数据目录（也可用环境变量 CAIJI_HUB_DATA 指定）
    #[arg(long, global = true, env = "CAIJI_HUB_DATA", default_value = "caiji-hub-data")]
    pub data: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// 创建中心端：数据库、证书、第一位管理员
    Init {
        /// 学校名称
        #[arg(long)]
        school: String,
        /// 学年，如 2025 或 2025-2026（默认为当前学年）
        #[arg(long)]
        year: Option<String>,
        /// 管理员用户名
        #[arg(long)]
        admin: String,
        /// 管理员密码（也可用环境变量 CAIJI_ADMIN_PASSWORD）
        #[arg(long, env = "CAIJI_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        /// 中心端的域名或 IP 地址（可多次指定），写入证书；默认 localhost 和 127.0.0.1
        #[arg(long = "host")]
        hosts: Vec<String>,
        /// 使用学校提供的证书（PEM），而不是自动生成
        #[arg(long, requires = "key")]
        cert: Option<PathBuf>,
        /// 学校提供的证书私钥（PEM）
        #[arg(long, requires = "cert")]
        key: Option<PathBuf>,
    },
    /// 运行中心端（HTTPS）
    Serve {
        /// 监听地址
        #[arg(long, default_value = "127.0.0.1:8443")]
        listen: SocketAddr,
        /// 使用不加密的 HTTP（仅供开发调试）
        #[arg(long)]
        insecure_http: bool,
    },
    /// 部门：添加或列出
    Department {
        #[command(subcommand)]
        command: DepartmentCommand,
    },
    /// 采集计划：查看或调整某部门填报的表和截止日期
    Plan {
        #[command(subcommand)]
        command: PlanCommand,
    },
    /// 为部门生成一次性注册码
    EnrollCode {
        /// 部门代码
        #[arg(long)]
        department: String,
        /// 有效时长（小时）
        #[arg(long, default_value_t = 72)]
        hours: i64,
    },
    /// 列出已注册的采集端
    Agents,
    /// 停用一个采集端（其本地数据不受影响）
    Revoke { agent: String },
    /// 显示中心端证书指纹（供采集端注册时核对）
    Fingerprint,
    /// 查看某部门一张表在中心端的数据
    Sheet {
        /// 表号，如 A6-1-1
        table: String,
        /// 部门代码
        #[arg(long)]
        department: String,
        /// 以 JSON 输出
        #[arg(long)]
        json: bool,
    },
    /// 列出官方报表目录
    Catalog,
    /// 添加中心端用户：审核员、管理员、院长办公会审定人、只读的部门负责人
    UserAdd {
        name: String,
        /// reviewer（审核员）、admin（管理员）、approver（审定人）、dept_viewer（部门负责人，只读）
        #[arg(long)]
        role: String,
        /// 部门（dept_viewer 必填）
        #[arg(long)]
        department: Option<String>,
        #[arg(long, env = "CAIJI_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// 汇总已通过审核的各部门表，列出跨部门重复和跨表校验问题（管理员）
    Merge {
        #[arg(long)]
        user: String,
        #[arg(long, env = "CAIJI_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// 锁定已汇总的表（例外开放后重新通过的表也在此重新锁定）（管理员）
    Lock {
        #[arg(long)]
        user: String,
        #[arg(long, env = "CAIJI_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// 院长办公会审定全部已锁定的表（审定人）
    Approve {
        #[arg(long)]
        user: String,
        #[arg(long, env = "CAIJI_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// 导出上报省教育厅的数据（已审定的表，按锁定版本）：xlsx、csv、json 和清单（管理员）
    Export {
        /// 输出目录
        #[arg(long, short)]
        output: PathBuf,
        #[arg(long)]
        user: String,
        #[arg(long, env = "CAIJI_PASSWORD", hide_env_values = true)]
        password: String,
        /// 按此前导出的清单重新生成，并核对与原文件逐字节一致
        #[arg(long)]
        reproduce: Option<PathBuf>,
    },
    /// 查看全校汇总后的一张表（汇总后部门负责人也可查看）
    Merged {
        table: String,
        #[arg(long)]
        user: String,
        #[arg(long, env = "CAIJI_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// 开始下一学年：需结转的表从本学年审定的数据开始（管理员）
    Rollover {
        #[arg(long)]
        user: String,
        #[arg(long, env = "CAIJI_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// 审计日志：每次操作、登录、锁定、例外、导出（可按人、部门、表、操作过滤）
    Audit {
        /// 只显示包含此内容的记录（如用户名、部门代码、表号、操作）
        #[arg(long)]
        filter: Option<String>,
        #[arg(long, default_value_t = 200)]
        limit: usize,
    },
    /// 查询一个数：谁、何时修改，是在报送、通过、锁定、审定之前还是之后
    Who {
        table: String,
        #[arg(long)]
        department: String,
        /// 行：唯一标识（如教工号）或行号
        #[arg(long)]
        row: String,
        /// 字段：列名或字段标识
        #[arg(long)]
        field: String,
    },
    /// 审核：各部门各表的状态、查看报送内容、退回或通过
    Review {
        #[command(subcommand)]
        command: ReviewCommand,
    },
    /// 在本机临时目录中启动演示：中心端和三个采集端，带示例数据
    Demo {
        /// 中心端监听地址（默认随机端口）
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
    },
}

#[derive(Debug, Subcommand)]
pub enum DepartmentCommand {
    /// 添加部门，并按报表目录分配默认的表
    Add {
        /// 部门代码（小写字母、数字或“-”），如 jsjx
        code: String,
        /// 部门名称，如 计算机系
        name: String,
        #[arg(long, value_enum, default_value = "teaching")]
        kind: Kind,
    },
    /// 列出部门
    List,
}

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// 查看某部门的采集计划
    Show { department: String },
    /// 把一张表分配给部门（可设截止日期），或用 --remove 取消
    Set {
        table: String,
        department: String,
        /// 截止日期 YYYY-MM-DD
        #[arg(long)]
        deadline: Option<String>,
        #[arg(long)]
        remove: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// 各部门各表的流程状态
    List {
        #[arg(long)]
        department: Option<String>,
    },
    /// 查看一张表的报送：版本、问题、与上次报送的差异、批注
    Show {
        table: String,
        #[arg(long)]
        department: String,
    },
    /// 审核操作：open（开始审核）、return（退回，须填原因）、accept（通过）
    Act {
        table: String,
        #[arg(long)]
        department: String,
        /// open（开始审核）、return（退回）、accept（通过）或 exception（锁定后例外开放，须填原因）
        #[arg(long)]
        action: String,
        /// 操作人
        #[arg(long)]
        user: String,
        #[arg(long, env = "CAIJI_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long)]
        reason: Option<String>,
        /// 批注：行:字段:内容（行可写唯一标识如教工号，或行号），可多次指定
        #[arg(long = "comment")]
        comments: Vec<String>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Hub(#[from] HubError),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error(transparent)]
    Server(#[from] crate::server::ServerError),
    #[error("{0}")]
    Usage(String),
}

pub fn run(cli: Cli) -> Result<String, CliError> {
    let data = cli.data;
    match cli.command {
        Command::Init { school, year, admin, password, hosts, cert, key } => {
            let year = match year {
                Some(y) => y.parse::<AcademicYear>().map_err(|e| CliError::Usage(e.to_string()))?,
                None => AcademicYear::containing(chrono::Local::now().date_naive()),
            };
            let edition = caiji_shared::Catalog::load_embedded()
                .map_err(|e| HubError::Catalog(e.to_string()))?
                .current()
                .id
                .clone();
            let info = HubInfo { school, year, edition };
            HubStore::init(&data, &info, &admin, &password)?;
            let fingerprint = match (cert, key) {
                (Some(c), Some(k)) => crate::tls::install(&data, &c, &k)?,
                _ => {
                    let mut names = if hosts.is_empty() { vec!["localhost".into(), "127.0.0.1".into()] } else { hosts };
                    names.dedup();
                    crate::tls::generate(&data, &info.school, &names)?
                }
            };
            let mut out = String::new();
            let _ = writeln!(out, "已创建{}的中心端：{}，数据目录 {}", info.school, info.year, data.display());
            let _ = writeln!(out, "证书指纹：{fingerprint}");
            let _ = writeln!(
                out,
                "下一步：`caiji-hub department add 代码 名称` 添加部门，`caiji-hub enroll-code --department 代码` 生成注册码，`caiji-hub serve` 运行。"
            );
            Ok(out)
        }
        Command::Serve { listen, insecure_http } => serve(data, listen, insecure_http),
        Command::Department { command } => {
            let mut store = HubStore::open(&data)?;
            match command {
                DepartmentCommand::Add { code, name, kind } => {
                    let kind = match kind {
                        Kind::Office => DepartmentKind::Office,
                        Kind::Teaching => DepartmentKind::Teaching,
                    };
                    let n = store.add_department(&code, &name, kind)?;
                    store.audit("office", "department_added", &format!("{code} {name}"))?;
                    Ok(format!("已添加部门 {name}（{code}），默认分配 {n} 张表\n"))
                }
                DepartmentCommand::List => {
                    let mut out = String::new();
                    for d in store.departments()? {
                        let kind = if d.kind == DepartmentKind::Teaching { "系部" } else { "处室" };
                        let plan = store.plan_for(&d.code)?;
                        let _ = writeln!(out, "{}\t{}\t{kind}\t{} 张表", d.code, d.name, plan.tables.len());
                    }
                    Ok(out)
                }
            }
        }
        Command::Plan { command } => {
            let mut store = HubStore::open(&data)?;
            match command {
                PlanCommand::Show { department } => {
                    let plan = store.plan_for(&department)?;
                    let mut out = format!(
                        "{}（{}）的采集计划（版本 {}）：\n",
                        plan.department_name, plan.department, plan.version
                    );
                    for t in plan.tables {
                        let name = store.table(&t.table).map(|x| x.name.clone()).unwrap_or_default();
                        let _ = writeln!(
                            out,
                            "  {} {name}{}",
                            t.table,
                            t.deadline.map(|d| format!("，截止 {d}")).unwrap_or_default()
                        );
                    }
                    Ok(out)
                }
                PlanCommand::Set { table, department, deadline, remove } => {
                    store.set_assignment(&table, &department, !remove, deadline.as_deref())?;
                    store.audit(
                        "office",
                        "plan_changed",
                        &format!("{table} {department} {}", if remove { "remove" } else { "assign" }),
                    )?;
                    Ok(if remove {
                        format!("已取消 {department} 填报 {table}\n")
                    } else {
                        format!("已安排 {department} 填报 {table}\n")
                    })
                }
            }
        }
        Command::EnrollCode { department, hours } => {
            let mut store = HubStore::open(&data)?;
            let code = store.new_enroll_code(&department, hours)?;
            let dept = store.department(&department)?;
            store.audit("office", "enroll_code_issued", &department)?;
            let fp = crate::tls::server_fingerprint(&data).unwrap_or_else(|_| "（未使用 TLS）".into());
            Ok(format!(
                "{}（{}）的注册码：{code}\n有效期 {hours} 小时，只能使用一次。\n中心端证书指纹：{fp}\n采集端运行：caiji-agent enroll --hub https://地址:端口 --code {code}\n",
                dept.name, dept.code
            ))
        }
        Command::Agents => {
            let store = HubStore::open(&data)?;
            let mut out = String::new();
            for a in store.agents()? {
                let state = if a.revoked { "已停用" } else { "正常" };
                let _ = writeln!(out, "{}\t{}\t{}\t{state}", a.id, a.department, a.name);
            }
            Ok(out)
        }
        Command::Revoke { agent } => {
            let mut store = HubStore::open(&data)?;
            if store.revoke(&agent)? {
                store.audit("office", "agent_revoked", &agent)?;
                Ok(format!("已停用采集端 {agent}\n"))
            } else {
                Err(CliError::Usage(format!("没有正常使用中的采集端「{agent}」")))
            }
        }
        Command::Fingerprint => Ok(format!("{}\n", crate::tls::server_fingerprint(&data)?)),
        Command::Sheet { table, department, json } => {
            let mut store = HubStore::open(&data)?;
            let t = store.table(&table)?.clone();
            store.department(&department)?;
            let info = store.info().clone();
            let id = caiji_shared::sheet::SheetId::new(&info.edition, info.year, &t.id, &department);
            let rows = store.sheet(&id)?.live_rows();
            if json {
                let items: Vec<serde_json::Value> =
                    rows.iter().map(|r| serde_json::json!({ "id": r.id, "cells": r.cells })).collect();
                return Ok(serde_json::to_string_pretty(&items).expect("json") + "\n");
            }
            let mut out = format!("{}（{department}）：{} 行\n", t.title(), rows.len());
            for (i, r) in rows.iter().enumerate() {
                let _ = writeln!(out, "{}\t{}", i + 1, crate::review::row_summary(&t, r));
            }
            Ok(out)
        }
        Command::Catalog => crate::catalog_text().map_err(|e| CliError::Usage(e.to_string())),
        Command::UserAdd { name, role, department, password } => {
            let mut store = HubStore::open(&data)?;
            let r = crate::store::OfficeRole::parse(&role).ok_or_else(|| {
                CliError::Usage(format!("角色「{role}」无效：应为 reviewer、admin、approver 或 dept_viewer"))
            })?;
            if r == crate::store::OfficeRole::DeptViewer && department.is_none() {
                return Err(CliError::Usage("部门负责人（dept_viewer）须用 --department 指定部门".into()));
            }
            store.add_user(&name, r, department.as_deref(), &password)?;
            Ok(format!("已添加用户 {name}（{role}）\n"))
        }
        Command::Merge { user, password } => {
            let mut store = HubStore::open(&data)?;
            let user = store.sign_in(&user, &password)?;
            Ok(crate::year::merge(&mut store, &user)?)
        }
        Command::Lock { user, password } => {
            let mut store = HubStore::open(&data)?;
            let user = store.sign_in(&user, &password)?;
            Ok(crate::year::lock(&mut store, &user)?)
        }
        Command::Approve { user, password } => {
            let mut store = HubStore::open(&data)?;
            let user = store.sign_in(&user, &password)?;
            Ok(crate::year::approve(&mut store, &user)?)
        }
        Command::Export { output, user, password, reproduce } => {
            let mut store = HubStore::open(&data)?;
            let user = store.sign_in(&user, &password)?;
            let manifest = match reproduce {
                Some(m) => crate::report::reproduce(&mut store, &m, &output)?,
                None => {
                    if user.role != crate::store::OfficeRole::Admin {
                        return Err(CliError::Usage("只有平台管理办公室管理员可以导出上报数据".into()));
                    }
                    crate::report::export(&mut store, &user, &output)?
                }
            };
            let mut out = format!("已导出 {} 张部门表到 {}：\n", manifest.sheets.len(), output.display());
            for (f, h) in &manifest.files {
                let _ = writeln!(out, "  {f}  sha256 {h}");
            }
            Ok(out)
        }
        Command::Merged { table, user, password } => {
            let mut store = HubStore::open(&data)?;
            let user = store.sign_in(&user, &password)?;
            Ok(crate::year::merged_table(&mut store, &user, &table)?)
        }
        Command::Rollover { user, password } => {
            let mut store = HubStore::open(&data)?;
            let user = store.sign_in(&user, &password)?;
            Ok(crate::year::rollover(&mut store, &user)?)
        }
        Command::Audit { filter, limit } => {
            let store = HubStore::open(&data)?;
            let mut out = String::new();
            for (at, actor, action, detail) in store.audit_log(filter.as_deref(), limit)? {
                let when = caiji_agent::cmd::local_time(at);
                let _ = writeln!(out, "{when}\t{actor}\t{action}\t{detail}");
            }
            Ok(out)
        }
        Command::Who { table, department, row, field } => {
            let mut store = HubStore::open(&data)?;
            let t = store.table(&table)?.id.clone();
            store.department(&department)?;
            let id = caiji_shared::sheet::SheetId::new(&store.info().edition, store.info().year, &t, &department);
            Ok(crate::year::who(&mut store, &id, &row, &field)?)
        }
        Command::Review { command } => {
            let mut store = HubStore::open(&data)?;
            let sheet_id =
                |store: &HubStore, table: &str, department: &str| -> Result<caiji_shared::sheet::SheetId, CliError> {
                    let t = store.table(table)?.id.clone();
                    store.department(department)?;
                    Ok(caiji_shared::sheet::SheetId::new(&store.info().edition, store.info().year, &t, department))
                };
            match command {
                ReviewCommand::List { department } => Ok(crate::review::list(&store, department.as_deref())?),
                ReviewCommand::Show { table, department } => {
                    let id = sheet_id(&store, &table, &department)?;
                    Ok(crate::review::show(&mut store, &id)?)
                }
                ReviewCommand::Act { table, department, action, user, password, reason, comments } => {
                    let action = match action.as_str() {
                        "open" => caiji_shared::workflow::Action::Open,
                        "return" => caiji_shared::workflow::Action::Return,
                        "accept" => caiji_shared::workflow::Action::Accept,
                        "exception" => caiji_shared::workflow::Action::Exception,
                        other => {
                            return Err(CliError::Usage(format!(
                                "操作「{other}」无效：应为 open、return、accept 或 exception"
                            )));
                        }
                    };
                    let user = store.sign_in(&user, &password)?;
                    let id = sheet_id(&store, &table, &department)?;
                    Ok(crate::review::act(&mut store, &user, &id, action, reason.as_deref(), &comments)?)
                }
            }
        }
        Command::Demo { listen } => crate::demo::run(listen),
    }
}

fn serve(data: PathBuf, listen: SocketAddr, insecure_http: bool) -> Result<String, CliError> {
    crate::init_logging();
    let rt =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| CliError::Usage(e.to_string()))?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| CliError::Usage(format!("无法监听 {listen}：{e}")))?;
        let addr = listener.local_addr().map_err(|e| CliError::Usage(e.to_string()))?;
        let scheme = if insecure_http { "http" } else { "https" };
        tracing::info!(address = %format!("{scheme}://{addr}"), "caiji-hub 已启动");
        crate::server::run(crate::server::Config { data, insecure_http }, listener, crate::shutdown_signal()).await?;
        Ok::<_, CliError>("caiji-hub 已停止\n".to_string())
    })
}
