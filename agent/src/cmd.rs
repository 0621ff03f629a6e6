//! The commands behind [`crate::cli`]: each works on an open [`Store`] and returns the text to
//! print, in Chinese.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use caiji_shared::catalog::{Catalog, DepartmentKind, Field, Table, render};
use caiji_shared::sheet::{Edit, Row, RowId};
use caiji_shared::validate::{Finding, RowData, SheetData, Tally, check_cell, check_sheet, check_tables};
use caiji_shared::{AcademicYear, Severity, Value};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{CliError, Kind};
use crate::import::{ImportOptions, Progress, Stage, import_file, report};
use crate::store::{AgentInfo, Store, StoreError, now};

/// Unix seconds as local date and time, as people read them.
pub fn local_time(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|t| t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// Left-aligns to a terminal width (a Chinese character takes two columns), plus one space.
fn pad(s: &str, width: usize) -> String {
    let w = unicode_width::UnicodeWidthStr::width(s);
    format!("{s}{} ", " ".repeat(width.saturating_sub(w)))
}

/// Right-aligns to a terminal width, plus two spaces.
fn rpad(s: &str, width: usize) -> String {
    let w = unicode_width::UnicodeWidthStr::width(s);
    format!("{}{s}  ", " ".repeat(width.saturating_sub(w)))
}

fn usage(msg: impl Into<String>) -> CliError {
    CliError::Usage(msg.into())
}

pub fn init(
    dir: &Path,
    department: String,
    name: String,
    kind: Option<Kind>,
    year: Option<String>,
    collector: String,
    edition: Option<String>,
) -> Result<String, CliError> {
    let catalog = Catalog::load_embedded().map_err(|e| StoreError::Catalog(e.to_string()))?;
    let edition = edition.unwrap_or_else(|| catalog.current().id.clone());
    let year = match year {
        Some(y) => y.parse::<AcademicYear>().map_err(|e| usage(e.to_string()))?,
        None => AcademicYear::containing(chrono::Local::now().date_naive()),
    };
    let known = catalog.edition(&edition).and_then(|e| e.department(&department)).map(|d| d.kind);
    let department_kind = match kind {
        Some(Kind::Office) => DepartmentKind::Office,
        Some(Kind::Teaching) => DepartmentKind::Teaching,
        None => known.unwrap_or(DepartmentKind::Teaching),
    };
    if collector.trim().is_empty() {
        return Err(usage("请用 --collector 填写数据采集人姓名"));
    }
    let info = AgentInfo { department, department_name: name, department_kind, year, edition, collector };
    let store = Store::init(dir, &info)?;
    let planned = store.planned_tables().len();
    let mut out = String::new();
    let _ = writeln!(out, "已创建{}（{}）的数据目录：{}", info.department_name, info.department, dir.display());
    let _ = writeln!(out, "学年：{}；报表目录：{}", info.year, store.edition().name);
    let _ = writeln!(out, "本部门默认填报 {planned} 张表，运行 `caiji-agent tables` 查看。");
    let _ = writeln!(
        out,
        "导入 Excel：`caiji-agent import 文件.xlsx`；或在 `caiji-agent serve` 运行时把文件放入 {}。",
        dir.join("inbox").display()
    );
    Ok(out)
}

pub fn catalog(table: Option<String>, edition: Option<String>) -> Result<String, CliError> {
    let catalog = Catalog::load_embedded().map_err(|e| StoreError::Catalog(e.to_string()))?;
    let edition = match edition {
        Some(e) => catalog.edition(&e).ok_or_else(|| usage(format!("没有目录版本「{e}」")))?,
        None => catalog.current(),
    };
    match table {
        None => Ok(render::table_list(edition)),
        Some(id) => {
            let t = edition
                .table(&id)
                .or_else(|| edition.table(&id.to_uppercase()))
                .ok_or_else(|| usage(format!("没有表「{id}」；运行 `caiji-agent catalog` 查看全部表号")))?;
            Ok(render::table_detail(edition, t))
        }
    }
}

/// Every problem of one of the department's sheets, rows numbered as the user sees them.
pub fn sheet_findings(store: &mut Store, table: &str) -> Result<(Vec<Row>, Vec<Finding>), CliError> {
    let edition = store.edition().clone();
    let t = edition.table(table).ok_or_else(|| StoreError::NoTable(table.to_string()))?;
    let period = store.info().year.period(t.period);
    let dept = store.info().department_name.clone();
    let rows = store.sheet(&t.id)?.live_rows();
    let data: Vec<RowData> =
        rows.iter().enumerate().map(|(i, r)| RowData { id: r.id.as_str(), row_no: i + 1, cells: &r.cells }).collect();
    let findings = check_sheet(&edition, t, period, Some(&dept), &data);
    Ok((rows, findings))
}

pub fn tables(store: &mut Store, all: bool) -> Result<String, CliError> {
    let stored = store.stored_tables()?;
    let edition = store.edition().clone();
    let planned: Vec<String> = store.planned_tables().iter().map(|t| t.id.clone()).collect();
    let mut out = String::new();
    let info = store.info().clone();
    let _ = writeln!(
        out,
        "{}（{}）{} 的报表（流程后的 * 表示报送后又有修改，不在已报送的版本中）：",
        info.department_name, info.department, info.year
    );
    let _ = writeln!(
        out,
        "{}{}{}{}{}状态",
        pad("表号", 10),
        pad("表名", 32),
        rpad("行数", 7),
        rpad("错误", 7),
        rpad("警告", 7)
    );
    for t in &edition.tables {
        let in_plan = planned.contains(&t.id);
        let has_data = stored.contains(&t.id);
        if !(all || in_plan || has_data) {
            continue;
        }
        let (rows, findings) = if has_data { sheet_findings(store, &t.id)? } else { (Vec::new(), Vec::new()) };
        let tally = Tally::of(&findings);
        let status = match (has_data, tally.errors) {
            (false, _) if in_plan => "未填报",
            (false, _) => "—",
            (true, 0) => "校验通过",
            (true, _) => "有错误",
        };
        let mark = if in_plan { "" } else { "（非本部门默认）" };
        let flow = store.sheet_state(&t.id)?;
        let changed = crate::cmd_workflow::changed_since_submission(store, &t.id)?;
        let _ = writeln!(
            out,
            "{}{}{}{}{}{}{status}{mark}",
            pad(&t.id, 10),
            pad(&t.name, 32),
            rpad(&rows.len().to_string(), 7),
            rpad(&tally.errors.to_string(), 7),
            rpad(&tally.warnings.to_string(), 7),
            pad(&format!("{}{}", flow.label(), if changed { "*" } else { "" }), 12)
        );
    }
    Ok(out)
}

pub fn import(
    store: &mut Store,
    user: &str,
    file: &Path,
    table: Option<String>,
    strict: bool,
    report_path: Option<PathBuf>,
) -> Result<String, CliError> {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len}").expect("valid template").progress_chars("=> "),
    );
    let mut tick = |p: Progress| {
        let msg = match p.stage {
            Stage::Reading => "读取文件",
            Stage::Checking => "检查数据",
            Stage::Writing => "写入",
        };
        bar.set_message(msg);
        bar.set_length(p.total as u64);
        bar.set_position(p.done as u64);
    };
    let opts = ImportOptions { table, user: user.to_string(), strict };
    let outcome = import_file(store, file, &opts, &mut tick);
    bar.finish_and_clear();
    let outcome = outcome?;
    let mut text = report::render_text(store.edition(), &outcome);
    let has_findings = outcome.findings().next().is_some();
    if has_findings || report_path.is_some() {
        let path = report_path.unwrap_or_else(|| report::default_report_path(file));
        report::write_xlsx(store.edition(), &outcome, &path)?;
        let _ = writeln!(text, "  问题报告已保存：{}", path.display());
    }
    if outcome.applied { Ok(text) } else { Err(CliError::Findings(text)) }
}

pub fn export(store: &mut Store, table: &str, output: Option<PathBuf>) -> Result<String, CliError> {
    let t = store.table(table)?.clone();
    let rows = store.sheet(&t.id)?.live_rows();
    let path = output.unwrap_or_else(|| PathBuf::from(format!("{}{}.xlsx", t.id, t.name)));
    crate::export::export(&t, &rows, &path)?;
    Ok(format!("已导出 {} 的 {} 行到 {}\n", t.title(), rows.len(), path.display()))
}

/// Finds a live row by its number, its id, or its natural key value ("T001", or "510201+01"
/// for a two-field key); deleted rows are found by id or key.
fn resolve_row(table: &Table, rows: &[Row], spec: &str) -> Result<(usize, Row), CliError> {
    let live: Vec<&Row> = rows.iter().filter(|r| !r.deleted).collect();
    if let Ok(n) = spec.parse::<usize>()
        && n >= 1
        && n <= live.len()
        && !rows.iter().any(|r| key_text(table, r) == spec)
    {
        return Ok((n, live[n - 1].clone()));
    }
    let number = |r: &Row| live.iter().position(|l| l.id == r.id).map_or(0, |i| i + 1);
    if let Some(r) = rows.iter().find(|r| r.id.as_str() == spec) {
        return Ok((number(r), r.clone()));
    }
    let by_key: Vec<&Row> = rows.iter().filter(|r| key_text(table, r) == spec).collect();
    let by_key = if by_key.len() > 1 { by_key.into_iter().filter(|r| !r.deleted).collect() } else { by_key };
    match by_key.as_slice() {
        [r] => Ok((number(r), (*r).clone())),
        _ => Err(usage(format!(
            "{} 中没有「{spec}」这一行：请使用行号（1–{}）、行标识或唯一标识的值",
            table.title(),
            live.len()
        ))),
    }
}

fn key_text(table: &Table, r: &Row) -> String {
    table.key.iter().map(|k| r.cells.get(k).map(Value::to_string).unwrap_or_default()).collect::<Vec<_>>().join("+")
}

/// A field by its id, its full label ("专业技术职务-等级") or, when unambiguous, the last part
/// of its label ("等级").
fn resolve_field<'t>(table: &'t Table, spec: &str) -> Result<&'t Field, CliError> {
    let norm = crate::import::header::norm;
    let s = norm(spec);
    if let Some(f) = table.fields.iter().find(|f| f.id == spec || norm(&f.label.concat()) == s) {
        return Ok(f);
    }
    let last: Vec<&Field> = table.fields.iter().filter(|f| f.label.last().is_some_and(|l| norm(l) == s)).collect();
    match last.as_slice() {
        [f] => Ok(f),
        _ => Err(usage(format!(
            "{} 没有字段「{spec}」；运行 `caiji-agent catalog {}` 查看全部字段",
            table.title(),
            table.id
        ))),
    }
}

pub fn rows(
    store: &mut Store,
    table: &str,
    search: Option<String>,
    deleted: bool,
    json: bool,
) -> Result<String, CliError> {
    let t = store.table(table)?.clone();
    let all = store.sheet(&t.id)?.rows();
    let mut numbered = Vec::new();
    let mut n = 0;
    for r in &all {
        if !r.deleted {
            n += 1;
        }
        let shown = !r.deleted || deleted;
        let matches = search.as_ref().is_none_or(|s| r.cells.values().any(|v| v.to_string().contains(s.as_str())));
        if shown && matches {
            numbered.push((if r.deleted { None } else { Some(n) }, r));
        }
    }
    if json {
        let items: Vec<serde_json::Value> = numbered
            .iter()
            .map(|(n, r)| serde_json::json!({ "row_no": n, "id": r.id, "deleted": r.deleted, "cells": r.cells }))
            .collect();
        return Ok(serde_json::to_string_pretty(&items).expect("json") + "\n");
    }
    let mut cols: Vec<&Field> = t.key.iter().filter_map(|k| t.field(k)).collect();
    for f in &t.fields {
        if cols.len() >= 6 {
            break;
        }
        if !cols.iter().any(|c| c.id == f.id) {
            cols.push(f);
        }
    }
    let mut out = String::new();
    let removed = all.iter().filter(|r| r.deleted).count();
    let extra = if removed > 0 {
        format!("（另有已删除 {removed} 行{}）", if deleted { "" } else { "，加 --deleted 显示" })
    } else {
        String::new()
    };
    let _ = writeln!(out, "{}：共 {n} 行{extra}", t.title());
    let header: Vec<String> = cols.iter().map(|f| f.label_text()).collect();
    let _ = writeln!(out, "行号\t{}", header.join("\t"));
    for (n, r) in numbered {
        let vals: Vec<String> = cols
            .iter()
            .map(|f| {
                let v = r.cells.get(&f.id).map(Value::to_string).unwrap_or_default();
                if v.chars().count() > 20 { v.chars().take(19).collect::<String>() + "…" } else { v }
            })
            .collect();
        let no = n.map_or_else(|| "已删除".to_string(), |n| n.to_string());
        let _ = writeln!(out, "{no}\t{}", vals.join("\t"));
    }
    Ok(out)
}

pub fn show(store: &mut Store, table: &str, spec: &str) -> Result<String, CliError> {
    let t = store.table(table)?.clone();
    let (_, findings) = sheet_findings(store, &t.id)?;
    let all = store.sheet(&t.id)?.rows();
    let (n, row) = resolve_row(&t, &all, spec)?;
    let mut out = String::new();
    let state = if row.deleted { "（已删除）".to_string() } else { format!("第{n}行") };
    let _ = writeln!(out, "{} {state}  行标识 {}", t.title(), row.id);
    for f in &t.fields {
        let v = row.cells.get(&f.id).map(Value::to_string).unwrap_or_default();
        let _ = writeln!(out, "  {}：{v}", f.label_text());
    }
    for (field, text) in crate::cmd_workflow::row_comments(store, &t.id, row.id.as_str())? {
        let at = field.and_then(|f| t.field(&f).map(|f| format!("「{}」", f.label_text()))).unwrap_or_default();
        let _ = writeln!(out, "批注{at}：{text}");
    }
    let mine: Vec<&Finding> = findings.iter().filter(|f| f.row_id.as_deref() == Some(row.id.as_str())).collect();
    if !mine.is_empty() {
        let _ = writeln!(out, "问题：");
        for f in mine {
            let _ = writeln!(out, "  {} {f}", f.severity.label());
        }
    }
    Ok(out)
}

/// Checks typed text for a field; an error refuses the edit with the field named.
fn checked_value(
    store: &Store,
    t: &Table,
    row_no: Option<usize>,
    f: &Field,
    text: &str,
) -> Result<(Option<Value>, Vec<String>), CliError> {
    let period = store.info().year.period(t.period);
    let check = check_cell(store.edition(), f, period, text);
    let place = match row_no {
        Some(n) => format!("{} 第{n}行「{}」", t.id, f.label_text()),
        None => format!("{}「{}」", t.id, f.label_text()),
    };
    let errors: Vec<String> = check
        .issues
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .map(|i| format!("{place}：{}", i.message))
        .collect();
    if !errors.is_empty() {
        return Err(usage(format!("未修改：{}", errors.join("；"))));
    }
    let warnings = check.issues.iter().map(|i| format!("警告 {place}：{}", i.message)).collect();
    Ok((check.value, warnings))
}

pub fn set(
    store: &mut Store,
    user: &str,
    table: &str,
    spec: &str,
    field: &str,
    value: &str,
) -> Result<String, CliError> {
    let t = store.table(table)?.clone();
    let all = store.sheet(&t.id)?.rows();
    let (n, row) = resolve_row(&t, &all, spec)?;
    let f = resolve_field(&t, field)?;
    let (new, warnings) = checked_value(store, &t, Some(n), f, value)?;
    let old = row.cells.get(&f.id).cloned();
    let edit = Edit { user, time: now() };
    store.write(user, |w| {
        w.sheet(&t.id)?.set_cell(edit, &row.id, &f.id, new.as_ref()).map_err(StoreError::sheet(&t.id))?;
        Ok(())
    })?;
    let mut out = String::new();
    for w in warnings {
        let _ = writeln!(out, "{w}");
    }
    let show = |v: &Option<Value>| v.as_ref().map_or_else(|| "（空）".to_string(), Value::to_string);
    let _ = writeln!(out, "已修改 {} 第{n}行「{}」：{} → {}", t.id, f.label_text(), show(&old), show(&new));
    Ok(out)
}

pub fn add(store: &mut Store, user: &str, table: &str, values: &[String]) -> Result<String, CliError> {
    let t = store.table(table)?.clone();
    let mut cells = Vec::new();
    let mut out = String::new();
    for item in values {
        let (k, v) = item.split_once('=').ok_or_else(|| usage(format!("「{item}」应写成 字段=值，如 教工号=T001")))?;
        let f = resolve_field(&t, k.trim())?;
        let (value, warnings) = checked_value(store, &t, None, f, v)?;
        for w in warnings {
            let _ = writeln!(out, "{w}");
        }
        if let Some(value) = value {
            cells.push((f.id.clone(), value));
        }
    }
    let missing: Vec<String> = t
        .fields
        .iter()
        .filter(|f| f.required && !cells.iter().any(|(id, _)| *id == f.id))
        .map(|f| f.label_text())
        .collect();
    if t.key.iter().any(|k| !cells.iter().any(|(id, _)| id == k)) {
        let key: Vec<String> = t.key.iter().filter_map(|k| t.field(k)).map(|f| f.label_text()).collect();
        return Err(usage(format!("未新增：必须填写唯一标识「{}」", key.join("+"))));
    }
    let all = store.sheet(&t.id)?.rows();
    let new_key: String = t
        .key
        .iter()
        .map(|k| cells.iter().find(|(id, _)| id == k).map(|(_, v)| v.to_string()).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("+");
    if !t.key.is_empty() && all.iter().any(|r| !r.deleted && key_text(&t, r) == new_key) {
        return Err(usage(format!("未新增：{} 已有唯一标识为「{new_key}」的行，请用 set 修改", t.id)));
    }
    let id = RowId(uuid::Uuid::now_v7().to_string());
    let edit = Edit { user, time: now() };
    store.write(user, |w| {
        w.sheet(&t.id)?.add_row(edit, &id, &cells).map_err(StoreError::sheet(&t.id))?;
        Ok(())
    })?;
    let n = store.sheet(&t.id)?.live_rows().len();
    let _ = writeln!(out, "已在 {} 新增第{n}行", t.title());
    if !missing.is_empty() {
        let _ = writeln!(out, "提醒：必填项尚未填写：{}", missing.join("、"));
    }
    Ok(out)
}

pub fn delete(store: &mut Store, user: &str, table: &str, spec: &str, delete: bool) -> Result<String, CliError> {
    let t = store.table(table)?.clone();
    let all = store.sheet(&t.id)?.rows();
    let (n, row) = resolve_row(&t, &all, spec)?;
    let edit = Edit { user, time: now() };
    let changed = store.write(user, |w| {
        let s = w.sheet(&t.id)?;
        let r = if delete { s.delete_row(edit, &row.id) } else { s.restore_row(edit, &row.id) };
        r.map_err(StoreError::sheet(&t.id))
    })?;
    let key = key_text(&t, &row);
    let what = if key.is_empty() { format!("第{n}行") } else { format!("「{key}」") };
    Ok(match (delete, changed.is_some()) {
        (true, true) => format!("已删除 {} {what}；可用 `caiji-agent restore {} {key}` 恢复\n", t.id, t.id),
        (true, false) => format!("{} {what} 本来就已删除\n", t.id),
        (false, true) => format!("已恢复 {} {what}\n", t.id),
        (false, false) => format!("{} {what} 没有被删除，无需恢复\n", t.id),
    })
}

pub fn validate(store: &mut Store, table: Option<String>) -> Result<String, CliError> {
    let ids: Vec<String> = match &table {
        Some(t) => vec![store.table(t)?.id.clone()],
        None => store.stored_tables()?.into_iter().collect(),
    };
    let edition = store.edition().clone();
    let mut findings = Vec::new();
    let mut sheets: Vec<(String, Vec<Row>)> = Vec::new();
    for id in &ids {
        let (rows, f) = sheet_findings(store, id)?;
        findings.extend(f);
        sheets.push((id.clone(), rows));
    }
    if table.is_none() {
        // Rules across this department's own tables (the hub checks the merged whole).
        let dept = store.info().department.clone();
        let data: Vec<SheetData> = sheets
            .iter()
            .filter_map(|(id, rows)| {
                let t = edition.table(id)?;
                let rows = rows
                    .iter()
                    .enumerate()
                    .map(|(i, r)| RowData { id: r.id.as_str(), row_no: i + 1, cells: &r.cells })
                    .collect();
                Some(SheetData { table: t, department: &dept, rows })
            })
            .collect();
        findings.extend(check_tables(&edition, &data));
    }
    let tally = Tally::of(&findings);
    let mut out = String::new();
    findings.sort_by_key(|f| (std::cmp::Reverse(f.severity), f.table.clone(), f.row_no));
    for f in &findings {
        let _ = writeln!(out, "{} {f}", f.severity.label());
    }
    let _ = writeln!(out, "校验了 {} 张表：错误 {} 处，警告 {} 处", ids.len(), tally.errors, tally.warnings);
    if tally.errors > 0 { Err(CliError::Findings(out)) } else { Ok(out) }
}

pub fn history(store: &mut Store, table: &str, spec: &str, field: &str) -> Result<String, CliError> {
    let t = store.table(table)?.clone();
    let all = store.sheet(&t.id)?.rows();
    let (n, row) = resolve_row(&t, &all, spec)?;
    let f = resolve_field(&t, field)?;
    let edits = store.sheet(&t.id)?.cell_history(&row.id, &f.id).map_err(StoreError::sheet(&t.id))?;
    let mut out = String::new();
    let _ = writeln!(out, "{} 第{n}行「{}」的修改历史：", t.id, f.label_text());
    if edits.is_empty() {
        let _ = writeln!(out, "  （从未填写）");
    }
    let show = |v: &Option<Value>| v.as_ref().map_or_else(|| "（空）".to_string(), Value::to_string);
    for e in edits {
        let who = if e.change.user.is_empty() {
            store
                .user_of_actor(&e.change.actor)?
                .unwrap_or_else(|| format!("未知（{}）", &e.change.actor[..8.min(e.change.actor.len())]))
        } else {
            e.change.user.clone()
        };
        let when = local_time(e.change.time);
        let note = e.change.note.map(|n| format!("（{n}）")).unwrap_or_default();
        let _ =
            writeln!(out, "  {when}  {who}  {}{note}  {} → {}", e.change.action.label(), show(&e.old), show(&e.new));
    }
    Ok(out)
}
