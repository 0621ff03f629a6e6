//! The commands that talk to the hub: `enroll`, `sync` and `status`.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};

use caiji_shared::AcademicYear;
use caiji_shared::catalog::DepartmentKind;

use crate::cli::CliError;
use crate::cmd::local_time as when;
use crate::hub_client::{HubClient, HubClientError};
use crate::store::{AgentInfo, HubLink, Store, StoreError};
use crate::sync::{SyncError, client_for, sync_once};

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Usage(format!("无法启动：{e}")))
}

impl From<HubClientError> for CliError {
    fn from(e: HubClientError) -> Self {
        CliError::Usage(e.to_string())
    }
}

impl From<SyncError> for CliError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::Store(s) => CliError::Store(s),
            other => CliError::Usage(other.to_string()),
        }
    }
}

/// `caiji-agent enroll`: shows the hub certificate's fingerprint, pins it, redeems the code.
/// A data directory that does not exist yet is created for the code's department.
pub fn enroll(
    data: &Path,
    hub: &str,
    code: &str,
    name: Option<String>,
    collector: Option<String>,
    expect: Option<String>,
) -> Result<String, CliError> {
    let rt = runtime()?;
    let url = hub.trim_end_matches('/').to_string();
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(CliError::Usage(format!("中心端地址「{hub}」应以 https:// 开头，如 https://192.168.1.10:8443")));
    }
    let existing = if data.join(crate::store::DB_FILE).exists() { Some(Store::open(data)?) } else { None };
    // Look at the certificate first, so a wrong server never consumes the code.
    let probe = HubClient::new(&url, None, None)?;
    let _ = rt.block_on(probe.plan());
    let seen = probe.seen_fingerprint();
    if url.starts_with("https://") && seen.is_none() {
        return Err(HubClientError::Offline { url, detail: "网络不通或中心端未运行".into() }.into());
    }
    let fingerprint = seen.unwrap_or_default();
    if let Some(e) = &expect
        && !e.eq_ignore_ascii_case(&fingerprint)
    {
        return Err(CliError::Usage(format!("中心端证书指纹不符：应为 {e}，实际为 {fingerprint}；未注册")));
    }
    let client = HubClient::new(&url, Some(&fingerprint), None)?;
    let machine = name.unwrap_or_else(|| "采集端".to_string());
    let enrolled = rt.block_on(client.enroll(code, &machine))?;
    let mut store = match existing {
        Some(s) => {
            let info = s.info();
            if info.department != enrolled.department || info.year.0 != enrolled.year {
                return Err(CliError::Usage(format!(
                    "注册码属于 {}（{}）{}，但本数据目录是 {}（{}）{}；请使用本部门的注册码",
                    enrolled.department_name,
                    enrolled.department,
                    AcademicYear(enrolled.year),
                    info.department_name,
                    info.department,
                    info.year
                )));
            }
            s
        }
        None => {
            let info = AgentInfo {
                department: enrolled.department.clone(),
                department_name: enrolled.department_name.clone(),
                department_kind: if enrolled.teaching { DepartmentKind::Teaching } else { DepartmentKind::Office },
                year: AcademicYear(enrolled.year),
                edition: enrolled.edition.clone(),
                collector: collector.unwrap_or_else(|| "数据采集人".into()),
            };
            Store::init(data, &info)?
        }
    };
    store.set_hub(&HubLink {
        url: url.clone(),
        fingerprint: fingerprint.clone(),
        token: enrolled.token.clone(),
        agent_id: enrolled.agent_id.clone(),
        school: enrolled.school.clone(),
    })?;
    let client = HubClient::new(&url, Some(&fingerprint), Some(&enrolled.token))?;
    if let Ok(plan) = rt.block_on(client.plan()) {
        store.set_plan(&plan)?;
    }
    let mut out = String::new();
    let _ = writeln!(out, "中心端证书指纹：{fingerprint}");
    let _ = writeln!(out, "（请与平台管理办公室核对此指纹；以后只接受这张证书）");
    let _ = writeln!(
        out,
        "已注册到{}的中心端：{}（{}），{}",
        enrolled.school,
        enrolled.department_name,
        enrolled.department,
        AcademicYear(enrolled.year)
    );
    let _ = writeln!(out, "本部门需填报 {} 张表；运行 `caiji-agent serve` 后自动同步。", store.planned_tables().len());
    Ok(out)
}

/// `caiji-agent sync`: one sync now.
pub fn sync(data: &Path) -> Result<String, CliError> {
    let rt = runtime()?;
    let store = Store::open(data)?;
    let client = client_for(&store)?;
    let store = Arc::new(Mutex::new(store));
    let report = rt.block_on(sync_once(&store, &client))?;
    let mut out = format!(
        "同步完成：{} 张表有变化，{} 轮，发送 {} 字节，接收 {} 字节{}\n",
        report.sheets,
        report.rounds,
        report.bytes_sent,
        report.bytes_received,
        if report.plan_updated { "；已更新采集计划" } else { "" }
    );
    for (sheet, why) in &report.refused {
        let _ = writeln!(out, "  中心端拒绝了 {sheet}：{why}");
    }
    Ok(out)
}

/// `caiji-agent status`: works while `serve` runs (read-only).
pub fn status(data: &Path) -> Result<String, CliError> {
    let store = Store::open_read_only(data)?;
    let info = store.info().clone();
    let mut out = String::new();
    let _ = writeln!(out, "{}（{}）{}", info.department_name, info.department, info.year);
    let Some(hub) = store.hub()? else {
        let _ = writeln!(
            out,
            "尚未注册到中心端：数据只保存在本机。运行 `caiji-agent enroll --hub 地址 --code 注册码` 注册。"
        );
        return Ok(out);
    };
    let _ = writeln!(out, "中心端：{}（{}）", hub.url, hub.school);
    let (ok, err) = store.sync_overview()?;
    let _ = writeln!(out, "上次成功同步：{}", ok.map_or_else(|| "从未".to_string(), when));
    if let Some(e) = err {
        let _ = writeln!(out, "最近一次同步失败：{e}");
    }
    let sheets = store.sheet_sync()?;
    if sheets.is_empty() {
        let _ = writeln!(out, "还没有任何表的数据。");
    }
    for s in sheets {
        let name = store.table(&s.table).map(|t| t.name.clone()).unwrap_or_default();
        let state = if s.pending { "有本地修改尚未同步到中心端" } else { "已与中心端一致" };
        let last = s.last_ok.map_or_else(|| "从未同步".to_string(), |t| format!("上次同步 {}", when(t)));
        let _ = write!(out, "  {} {name}：{state}；{last}", s.table);
        if let Some(e) = s.last_error {
            let _ = write!(out, "；问题：{e}");
        }
        let _ = writeln!(out);
    }
    Ok(out)
}

impl From<Box<StoreError>> for SyncError {
    fn from(e: Box<StoreError>) -> Self {
        SyncError::Store(e)
    }
}
