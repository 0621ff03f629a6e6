//! Importing a department's spreadsheet (xlsx, xls, ods, csv) into its sheets: read the file
//! ([`read`]), find each table's header ([`header`]), convert, check and match every row
//! ([`plan`]), then apply everything in one store transaction — a file either imports wholly
//! or changes nothing — and report every problem per cell ([`report`]).

pub mod header;
pub mod plan;
pub mod read;
pub mod report;

use std::path::{Path, PathBuf};

use caiji_shared::Table;
use caiji_shared::sheet::{Edit, RowId};
use caiji_shared::validate::{Finding, Tally};

use crate::store::{Store, StoreError, now};
use header::{Mapping, find_header};
use plan::{TablePlan, plan_table};
use read::{Grid, read_file};

/// Rows per Automerge change when writing an import (see automerge-notes §7: several moderate
/// changes sync and diff far better than one huge one).
const BATCH: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("无法打开文件 {0}：{1}")]
    Open(PathBuf, String),
    #[error("文件太大（{bytes} 字节），超过上限 {limit} 字节；请按表拆分后再导入")]
    TooLarge { bytes: u64, limit: u64 },
    #[error("不支持的文件类型「{0}」：请使用 .xlsx、.xls 或 .csv 文件")]
    UnknownFormat(String),
    #[error("文件已损坏或不是有效的表格文件：{0}")]
    Corrupt(String),
    #[error("无法识别文件编码：CSV 文件应为 UTF-8 或 GBK 编码（Excel 另存为“CSV UTF-8”即可）")]
    Encoding,
    #[error("工作表「{sheet}」有 {rows} 行，超过上限 {limit} 行")]
    TooManyRows { sheet: String, rows: usize, limit: usize },
    #[error("工作表「{sheet}」有 {cols} 列，超过上限 {limit} 列")]
    TooManyColumns { sheet: String, cols: usize, limit: usize },
    #[error("文件中没有找到可识别的报表：请确认表头与官方模板一致，或用 --table 指定表号（如 A6-1-1）")]
    NoTable,
    #[error("在工作表「{sheet}」中没有找到表 {table} 的表头")]
    NoHeader { table: String, sheet: String },
    #[error("工作表「{first}」和「{second}」都对应表 {table}，请每张表只保留一个工作表")]
    TwoSheets { table: String, first: String, second: String },
    #[error("表 {table} 缺少唯一标识列「{labels}」，无法对应已有数据，未导入任何内容")]
    MissingKey { table: String, labels: String },
    #[error("写入报告 {0} 失败：{1}")]
    Report(PathBuf, String),
    #[error(transparent)]
    Store(Box<StoreError>),
}

impl From<StoreError> for ImportError {
    fn from(e: StoreError) -> Self {
        ImportError::Store(Box::new(e))
    }
}

/// How to import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Import into this table only (otherwise tables are recognised by sheet name or header).
    pub table: Option<String>,
    /// Who is importing (recorded in every change).
    pub user: String,
    /// Change nothing if the file has any error.
    pub strict: bool,
}

/// Where an import is, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Reading,
    Checking,
    Writing,
}

#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub stage: Stage,
    pub done: usize,
    pub total: usize,
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct ImportOutcome {
    pub file: PathBuf,
    pub tables: Vec<TablePlan>,
    /// Worksheets that are no table (e.g. an instructions sheet).
    pub ignored_sheets: Vec<String>,
    /// False when `strict` refused a file with errors: nothing was written.
    pub applied: bool,
}

impl ImportOutcome {
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.tables.iter().flat_map(|t| t.findings.iter())
    }

    pub fn tally(&self) -> Tally {
        let all: Vec<Finding> = self.findings().cloned().collect();
        Tally::of(&all)
    }

    pub fn added(&self) -> usize {
        self.tables.iter().map(|t| t.adds.len()).sum()
    }

    pub fn updated(&self) -> usize {
        self.tables.iter().map(|t| t.updates.len()).sum()
    }
}

/// The table a worksheet (or CSV file) name points at: its official sheet name, or a name
/// starting with a table id — "A6-1-1校内专任教师基本情况表" → A6-1-1 — where the id is not
/// followed by another digit or "-" (so A6-1-2-1 never reads as A6-1-2). The longest id wins.
fn table_by_name<'e>(tables: &'e [Table], name: &str) -> Option<&'e Table> {
    let name = name.trim();
    let upper: String = name
        .chars()
        .map(|c| match c as u32 {
            0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect::<String>()
        .to_uppercase();
    let exact: Vec<&Table> = tables.iter().filter(|t| t.sheet_name == name).collect();
    if exact.len() == 1 {
        return exact.first().copied();
    }
    tables
        .iter()
        .filter(|t| {
            upper
                .strip_prefix(t.id.as_str())
                .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_digit() || c == '-'))
        })
        .max_by_key(|t| t.id.len())
}

/// Finds the table and header of each worksheet.
/// Each recognised worksheet: (grid index, its table, its header).
type Recognised<'e> = Vec<(usize, &'e Table, Mapping)>;

fn recognise<'e>(
    tables: &'e [Table],
    grids: &[Grid],
    only: Option<&'e Table>,
    planned: &[String],
) -> Result<(Recognised<'e>, Vec<String>), ImportError> {
    let mut found: Vec<(usize, &Table, Mapping)> = Vec::new();
    let mut ignored = Vec::new();
    for (g, grid) in grids.iter().enumerate() {
        let hit = match only {
            Some(t) => find_header(t, grid).map(|m| (t, m)),
            None => match table_by_name(tables, &grid.name) {
                Some(t) => find_header(t, grid).map(|m| (t, m)),
                // An export from another system: the table whose header it matches best, if
                // clearly (at least 3 columns, and most of the sheet's named columns).
                // Ties (the four teacher tables share their columns) go to a table this
                // department fills, then to the first in the official order.
                None => tables
                    .iter()
                    .enumerate()
                    .filter_map(|(i, t)| find_header(t, grid).map(|m| (i, t, m)))
                    .filter(|(_, _, m)| m.columns.len() >= 3 && m.columns.len() >= m.unknown.len())
                    .max_by_key(|(i, t, m)| (m.columns.len(), planned.contains(&t.id), std::cmp::Reverse(*i)))
                    .map(|(_, t, m)| (t, m)),
            },
        };
        match hit {
            Some((t, m)) => {
                if let Some((other, _, _)) = found.iter().find(|(_, ft, _)| ft.id == t.id) {
                    return Err(ImportError::TwoSheets {
                        table: t.id.clone(),
                        first: grids[*other].name.clone(),
                        second: grid.name.clone(),
                    });
                }
                found.push((g, t, m));
            }
            None => ignored.push(grid.name.clone()),
        }
    }
    if found.is_empty() {
        return Err(match (only, grids.first()) {
            (Some(t), Some(g)) if grids.len() == 1 => {
                ImportError::NoHeader { table: t.id.clone(), sheet: g.name.clone() }
            }
            _ => ImportError::NoTable,
        });
    }
    Ok((found, ignored))
}

/// Imports a file into the store's sheets. Reading, recognising and checking happen before
/// anything is written; the writing is one transaction.
pub fn import_file(
    store: &mut Store,
    path: &Path,
    opts: &ImportOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<ImportOutcome, ImportError> {
    progress(Progress { stage: Stage::Reading, done: 0, total: 1 });
    let grids = read_file(path)?;
    let only = match &opts.table {
        Some(t) => Some(store.table(t)?.id.clone()),
        None => None,
    };
    let edition = store.edition().clone();
    let only_table = only.as_deref().and_then(|t| edition.table(t));
    let planned: Vec<String> = store.planned_tables().iter().map(|t| t.id.clone()).collect();
    let (found, ignored_sheets) = recognise(&edition.tables, &grids, only_table, &planned)?;
    for (_, table, mapping) in &found {
        if table.kind != caiji_shared::catalog::TableKind::Single
            && table.key.iter().any(|k| mapping.missing.contains(k))
        {
            let labels: Vec<String> = table.key.iter().filter_map(|k| table.field(k)).map(|f| f.label_text()).collect();
            return Err(ImportError::MissingKey { table: table.id.clone(), labels: labels.join("+") });
        }
    }
    let year = store.info().year;
    let mut plans = Vec::new();
    for (g, table, mapping) in &found {
        let existing = store.sheet(&table.id)?.rows();
        let period = year.period(table.period);
        let mut new_id = || RowId(uuid::Uuid::now_v7().to_string());
        let mut tick = |done, total| progress(Progress { stage: Stage::Checking, done, total });
        plans.push(plan_table(&edition, table, period, &grids[*g], mapping, &existing, &mut new_id, &mut tick));
    }
    let mut outcome = ImportOutcome { file: path.to_path_buf(), tables: plans, ignored_sheets, applied: false };
    if opts.strict && outcome.tally().errors > 0 {
        return Ok(outcome);
    }
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let edit = Edit { user: &opts.user, time: now() };
    let total: usize = outcome.tables.iter().map(|t| t.adds.len() + t.updates.len()).sum();
    let tally = outcome.tally();
    let tables_json = serde_json::to_string(&outcome.tables.iter().map(|t| t.table.as_str()).collect::<Vec<_>>())
        .expect("strings serialise");
    let (added, updated) = (outcome.added() as i64, outcome.updated() as i64);
    let plans = &outcome.tables;
    store.write_and_record(
        &opts.user,
        |w| {
            let mut done = 0;
            for plan in plans {
                let sheet = w.sheet(&plan.table)?;
                for chunk in plan.adds.chunks(BATCH) {
                    sheet.add_rows(edit, chunk, BATCH, Some(&file_name)).map_err(StoreError::sheet(&plan.table))?;
                    done += chunk.len();
                    progress(Progress { stage: Stage::Writing, done, total });
                }
                for chunk in plan.updates.chunks(BATCH) {
                    sheet.update_rows(edit, chunk, BATCH, Some(&file_name)).map_err(StoreError::sheet(&plan.table))?;
                    done += chunk.len();
                    progress(Progress { stage: Stage::Writing, done, total });
                }
            }
            Ok(())
        },
        |tx, ()| {
            tx.execute(
                "INSERT INTO imports (at, user, file, tables, added, updated, errors, warnings)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                rusqlite::params![
                    edit.time,
                    opts.user,
                    file_name,
                    tables_json,
                    added,
                    updated,
                    tally.errors as i64,
                    tally.warnings as i64
                ],
            )?;
            Ok(())
        },
    )?;
    outcome.applied = true;
    Ok(outcome)
}

#[cfg(test)]
mod tests;
