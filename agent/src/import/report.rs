//! The import report: as text for the terminal, and as an `.xlsx` file a collector opens beside
//! the imported file (one line per problem: table, row as numbered in their file, column,
//! value, what is wrong).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use caiji_shared::Severity;
use caiji_shared::catalog::Edition;
use rust_xlsxwriter::{Format, FormatBorder, Workbook};

use super::{ImportError, ImportOutcome};

/// Problems listed on the terminal; the xlsx report has them all.
const SHOWN: usize = 50;

/// `人事导出.xlsx` → `人事导出.导入报告.xlsx`, beside it.
pub fn default_report_path(file: &Path) -> PathBuf {
    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "导入".into());
    file.with_file_name(format!("{stem}.导入报告.xlsx"))
}

/// The summary and the first problems, in Chinese.
pub fn render_text(edition: &Edition, outcome: &ImportOutcome) -> String {
    let mut out = String::new();
    let name = outcome.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let _ = writeln!(out, "导入 {name}");
    for t in &outcome.tables {
        let title = edition.table(&t.table).map(|t| t.title()).unwrap_or_else(|| t.table.clone());
        let (a, b) = t.header_rows;
        let rows = if a == b { format!("第 {a} 行") } else { format!("第 {a}–{b} 行") };
        let _ = writeln!(out, "  工作表「{}」→ {title}：表头在{rows}，识别 {} 列", t.source, t.columns);
        let _ = writeln!(
            out,
            "    新增 {} 行，更新 {} 行，未变 {} 行，未导入 {} 行",
            t.adds.len(),
            t.updates.len(),
            t.unchanged,
            t.skipped
        );
    }
    for s in &outcome.ignored_sheets {
        let _ = writeln!(out, "  工作表「{s}」不是可识别的报表，已跳过");
    }
    let tally = outcome.tally();
    if tally.errors + tally.warnings == 0 {
        let _ = writeln!(out, "  没有发现问题。");
    } else {
        let _ = writeln!(out, "  发现错误 {} 处、警告 {} 处：", tally.errors, tally.warnings);
        let mut findings: Vec<_> = outcome.findings().collect();
        findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
        for f in findings.iter().take(SHOWN) {
            let _ = writeln!(out, "    {} {f}", f.severity.label());
        }
        if findings.len() > SHOWN {
            let _ = writeln!(out, "    ……其余 {} 处见报告文件", findings.len() - SHOWN);
        }
    }
    if !outcome.applied {
        let _ = writeln!(out, "  文件有错误，按 --strict 要求未导入任何内容。");
    }
    out
}

/// Writes the report workbook: a summary sheet and one row per problem.
pub fn write_xlsx(edition: &Edition, outcome: &ImportOutcome, path: &Path) -> Result<(), ImportError> {
    let fail = |e: rust_xlsxwriter::XlsxError| ImportError::Report(path.to_path_buf(), e.to_string());
    let mut wb = Workbook::new();
    let head = Format::new().set_bold().set_background_color("#DDEBF7").set_border(FormatBorder::Thin);
    let error = Format::new().set_font_color("#C00000");
    let ws = wb.add_worksheet().set_name("问题清单").map_err(fail)?;
    let headers = ["级别", "表号", "表名", "行号（原文件）", "列", "原值", "问题", "代码"];
    for (c, h) in headers.iter().enumerate() {
        ws.write_with_format(0, c as u16, *h, &head).map_err(fail)?;
    }
    for (c, w) in [6.0, 10.0, 24.0, 12.0, 24.0, 20.0, 60.0, 18.0].iter().enumerate() {
        ws.set_column_width(c as u16, *w).map_err(fail)?;
    }
    let mut findings: Vec<_> = outcome.findings().collect();
    findings.sort_by_key(|f| (std::cmp::Reverse(f.severity), f.table.clone(), f.row_no));
    for (i, f) in findings.iter().enumerate() {
        let r = i as u32 + 1;
        let name = edition.table(&f.table).map(|t| t.name.as_str()).unwrap_or("");
        let level = if f.severity == Severity::Error { &error } else { &Format::new() };
        ws.write_with_format(r, 0, f.severity.label(), level).map_err(fail)?;
        ws.write(r, 1, &f.table).map_err(fail)?;
        ws.write(r, 2, name).map_err(fail)?;
        if let Some(n) = f.row_no {
            ws.write(r, 3, n as u32).map_err(fail)?;
        }
        ws.write(r, 4, f.label.as_deref().unwrap_or("")).map_err(fail)?;
        ws.write(r, 5, f.value.as_deref().unwrap_or("")).map_err(fail)?;
        ws.write(r, 6, &f.message).map_err(fail)?;
        ws.write(r, 7, f.code.as_str()).map_err(fail)?;
    }
    ws.set_freeze_panes(1, 0).map_err(fail)?;
    if !findings.is_empty() {
        ws.autofilter(0, 0, findings.len() as u32, headers.len() as u16 - 1).map_err(fail)?;
    }
    let sum = wb.add_worksheet().set_name("汇总").map_err(fail)?;
    for (c, h) in ["工作表", "表号", "表名", "新增", "更新", "未变", "未导入"].iter().enumerate() {
        sum.write_with_format(0, c as u16, *h, &head).map_err(fail)?;
    }
    for (i, t) in outcome.tables.iter().enumerate() {
        let r = i as u32 + 1;
        sum.write(r, 0, &t.source).map_err(fail)?;
        sum.write(r, 1, &t.table).map_err(fail)?;
        sum.write(r, 2, edition.table(&t.table).map(|t| t.name.as_str()).unwrap_or("")).map_err(fail)?;
        sum.write(r, 3, t.adds.len() as u32).map_err(fail)?;
        sum.write(r, 4, t.updates.len() as u32).map_err(fail)?;
        sum.write(r, 5, t.unchanged as u32).map_err(fail)?;
        sum.write(r, 6, t.skipped as u32).map_err(fail)?;
    }
    let status = if outcome.applied { "已导入" } else { "文件有错误，未导入任何内容" };
    let last = outcome.tables.len() as u32 + 2;
    sum.write(last, 0, status).map_err(fail)?;
    sum.set_column_width(0, 36.0).map_err(fail)?;
    sum.set_column_width(2, 28.0).map_err(fail)?;
    wb.save(path).map_err(fail)?;
    Ok(())
}
