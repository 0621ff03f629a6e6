//! From a worksheet and its header mapping to the changes an import makes to a sheet: every
//! cell converted and checked, rows matched to existing rows by the natural key (a re-import
//! updates, never duplicates), and a finding for everything wrong, placed at the row and
//! column of the user's file.

use std::collections::{BTreeMap, HashMap};

use caiji_shared::catalog::{Edition, Field, FieldType, Table, TableKind};
use caiji_shared::sheet::{Row, RowId, RowUpdate};
use caiji_shared::validate::{Code, Finding, Issue, RowData, check_cell, check_row_rules};
use caiji_shared::{Period, Severity, Value};

use super::header::Mapping;
use super::read::{Cell, Grid, number_text};

/// What importing one worksheet into one table would do.
#[derive(Debug, Clone, Default)]
pub struct TablePlan {
    pub table: String,
    /// The worksheet it comes from.
    pub source: String,
    /// 1-based file rows of the header.
    pub header_rows: (usize, usize),
    pub columns: usize,
    pub adds: Vec<(RowId, Vec<(String, Value)>)>,
    pub updates: Vec<RowUpdate>,
    pub unchanged: usize,
    /// Data rows not imported (no key, repeated key, a second record of a single table).
    pub skipped: usize,
    pub findings: Vec<Finding>,
}

/// The text of a cell for a field, converting Excel's own types (numbers, dates) the way the
/// field expects them.
fn cell_text(field: &Field, cell: &Cell) -> Result<String, Issue> {
    Ok(match cell {
        Cell::Empty => String::new(),
        Cell::Text(t) => t.clone(),
        Cell::Int(i) => i.to_string(),
        Cell::Float(f) => number_text(*f),
        Cell::Bool(b) => if *b { "是" } else { "否" }.to_string(),
        Cell::Date(y, m, d) => match field.ty {
            FieldType::YearMonth => format!("{y:04}{m:02}"),
            FieldType::Year => format!("{y:04}"),
            _ => format!("{y:04}-{m:02}-{d:02}"),
        },
        Cell::Error(e) => {
            return Err(Issue::error(Code::CellError, format!("单元格是错误值 {e}，请在 Excel 中修正公式或改填数值")));
        }
        Cell::Uncalculated(f) => {
            return Err(Issue::error(
                Code::CellError,
                format!("公式「={f}」没有计算结果；请在 Excel 中打开文件、保存后再导入，或改填数值"),
            ));
        }
    })
}

/// Plans the import of `grid` (whose header is `mapping`) into a sheet whose rows are
/// `existing`. `new_id` makes ids for new rows; `progress` is told (done, total) rows.
#[allow(clippy::too_many_arguments, reason = "one call site; the inputs are all distinct")]
pub fn plan_table(
    edition: &Edition,
    table: &Table,
    period: Period,
    grid: &Grid,
    mapping: &Mapping,
    existing: &[Row],
    new_id: &mut dyn FnMut() -> RowId,
    progress: &mut dyn FnMut(usize, usize),
) -> TablePlan {
    let first_data = mapping.header_start + mapping.depth;
    let mut plan = TablePlan {
        table: table.id.clone(),
        source: grid.name.clone(),
        header_rows: (grid.first_row + mapping.header_start, grid.first_row + first_data - 1),
        columns: mapping.columns.len(),
        ..TablePlan::default()
    };
    let sheet_finding = |field: &Field, issue: Issue| Finding {
        severity: issue.severity,
        code: issue.code,
        table: table.id.clone(),
        department: None,
        row_id: None,
        row_no: None,
        field: Some(field.id.clone()),
        label: Some(field.label_text()),
        value: None,
        message: issue.message,
    };
    for label in &mapping.unknown {
        plan.findings.push(Finding {
            severity: Severity::Warning,
            code: Code::UnknownField,
            table: table.id.clone(),
            department: None,
            row_id: None,
            row_no: None,
            field: None,
            label: Some(label.clone()),
            value: None,
            message: format!("「{label}」不是本表的列，已忽略"),
        });
    }
    let mut optional = Vec::new();
    for id in &mapping.missing {
        let field = table.field(id).expect("missing ids are fields");
        if field.required {
            let issue = Issue::error(Code::MissingColumn, "文件中没有这一必填列；新增的行将缺少该项，已有的行保持原值");
            plan.findings.push(sheet_finding(field, issue));
        } else {
            optional.push(field.label_text());
        }
    }
    if !optional.is_empty() {
        plan.findings.push(Finding {
            severity: Severity::Warning,
            code: Code::MissingColumn,
            table: table.id.clone(),
            department: None,
            row_id: None,
            row_no: None,
            field: None,
            label: None,
            value: None,
            message: format!("文件中没有以下 {} 列，已有的行保持原值：{}", optional.len(), optional.join("、")),
        });
    }
    // Existing rows by natural key; a live row wins over a deleted one with the same key.
    let key_of = |cells: &BTreeMap<String, Value>| -> Option<Vec<String>> {
        table.key.iter().map(|k| cells.get(k).map(|v| v.to_string())).collect()
    };
    let mut by_key: HashMap<Vec<String>, &Row> = HashMap::new();
    for row in existing {
        if let Some(k) = key_of(&row.cells) {
            let keep_old = by_key.get(&k).is_some_and(|old| !old.deleted);
            if !keep_old {
                by_key.insert(k, row);
            }
        }
    }
    let single_existing = existing.iter().find(|r| !r.deleted).or_else(|| existing.first());
    let fields: Vec<(usize, &Field)> =
        mapping.columns.iter().map(|(c, id)| (*c, table.field(id).expect("mapped ids are fields"))).collect();
    let mut seen: HashMap<Vec<String>, usize> = HashMap::new();
    let mut records = 0usize;
    let total = grid.rows.len().saturating_sub(first_data);
    for (i, row) in grid.rows.iter().enumerate().skip(first_data) {
        if (i - first_data).is_multiple_of(500) {
            progress(i - first_data, total);
        }
        if row.iter().all(Cell::is_empty) {
            continue; // blank rows are skipped, as the official rules ask
        }
        let file_row = grid.first_row + i;
        let mut cells: BTreeMap<String, Value> = BTreeMap::new();
        let mut present: Vec<&str> = Vec::with_capacity(fields.len());
        for (c, field) in &fields {
            present.push(&field.id);
            let cell = row.get(*c).unwrap_or(&Cell::Empty);
            let locate = |issue: Issue, value: Option<String>| Finding {
                severity: issue.severity,
                code: issue.code,
                table: table.id.clone(),
                department: None,
                row_id: None,
                row_no: Some(file_row),
                field: Some(field.id.clone()),
                label: Some(field.label_text()),
                value,
                message: issue.message,
            };
            let text = match cell_text(field, cell) {
                Ok(t) => t,
                Err(issue) => {
                    plan.findings.push(locate(issue, None));
                    continue;
                }
            };
            let check = check_cell(edition, field, period, &text);
            let failed = check.has_errors();
            for issue in check.issues {
                plan.findings.push(locate(issue, Some(text.clone())));
            }
            // A value that fails is kept as typed (flagged by validation), never dropped.
            let value = match (check.value, failed) {
                (Some(v), _) => Some(v),
                (None, true) if !text.trim().is_empty() => Some(Value::Text(text.trim().to_string())),
                (None, _) => None,
            };
            if let Some(v) = value {
                cells.insert(field.id.clone(), v);
            }
        }
        let row_finding = |code: Code, label: Option<String>, message: String| Finding {
            severity: Severity::Error,
            code,
            table: table.id.clone(),
            department: None,
            row_id: None,
            row_no: Some(file_row),
            field: None,
            label,
            value: None,
            message,
        };
        // Which existing row this file row is.
        let target: Option<&Row> = if table.kind == TableKind::Single {
            records += 1;
            if records > 1 {
                plan.skipped += 1;
                plan.findings.push(row_finding(
                    Code::TooManyRecords,
                    None,
                    "本表只有一条记录，只导入了第一条数据行，此行未导入".into(),
                ));
                continue;
            }
            single_existing
        } else {
            let Some(key) = key_of(&cells) else {
                let labels: Vec<String> =
                    table.key.iter().filter_map(|k| table.field(k)).map(|f| f.label_text()).collect();
                plan.skipped += 1;
                plan.findings.push(row_finding(
                    Code::Required,
                    Some(labels.join("+")),
                    format!("唯一标识「{}」为空，无法识别这一行，此行未导入", labels.join("+")),
                ));
                continue;
            };
            if let Some(first) = seen.get(&key) {
                plan.skipped += 1;
                plan.findings.push(row_finding(
                    Code::DuplicateKey,
                    None,
                    format!("与文件第{first}行的唯一标识「{}」重复，此行未导入", key.join("+")),
                ));
                continue;
            }
            seen.insert(key.clone(), file_row);
            by_key.get(&key).copied()
        };
        // Row rules on the row as it will be: existing cells overlaid with the file's columns.
        let mut effective = target.map(|r| r.cells.clone()).unwrap_or_default();
        for id in &present {
            match cells.get(*id) {
                Some(v) => effective.insert(id.to_string(), v.clone()),
                None => effective.remove(*id),
            };
        }
        let data = RowData { id: "", row_no: file_row, cells: &effective };
        plan.findings.extend(check_row_rules(table, None, &data));
        match target {
            None => plan.adds.push((new_id(), cells.into_iter().collect())),
            Some(existing) => {
                let changes: Vec<(String, Option<Value>)> = present
                    .iter()
                    .filter(|id| existing.cells.get(**id) != cells.get(**id))
                    .map(|id| (id.to_string(), cells.get(*id).cloned()))
                    .collect();
                if changes.is_empty() && !existing.deleted {
                    plan.unchanged += 1;
                } else {
                    plan.updates.push(RowUpdate {
                        row: existing.id.clone(),
                        cells: changes,
                        restore: existing.deleted,
                    });
                }
            }
        }
    }
    progress(total, total);
    plan
}
