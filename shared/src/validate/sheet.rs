//! One department's sheet: every cell re-checked, row rules (sums, ≤), one record in a
//! single-record table, natural keys unique.

use std::collections::{BTreeMap, HashMap};

use super::{Code, Finding, Issue, check_value};
use crate::catalog::{Edition, RowRuleKind, Severity, Table, TableKind};
use crate::period::Period;
use crate::value::Value;

/// One live row to check.
#[derive(Debug, Clone, Copy)]
pub struct RowData<'a> {
    pub id: &'a str,
    /// The number the user sees for this row.
    pub row_no: usize,
    pub cells: &'a BTreeMap<String, Value>,
}

/// Places findings: the table, department and row they belong to.
pub(crate) struct Locator<'a> {
    pub table: &'a Table,
    pub department: Option<&'a str>,
}

impl Locator<'_> {
    pub(crate) fn finding(
        &self,
        row: Option<&RowData>,
        field: Option<&str>,
        value: Option<String>,
        issue: Issue,
    ) -> Finding {
        let label = field.and_then(|f| self.table.field(f)).map(|f| f.label_text()).or(field.map(String::from));
        Finding {
            severity: issue.severity,
            code: issue.code,
            table: self.table.id.clone(),
            department: self.department.map(String::from),
            row_id: row.map(|r| r.id.to_string()),
            row_no: row.map(|r| r.row_no),
            field: field.map(String::from),
            label,
            value,
            message: issue.message,
        }
    }
}

/// Checks every live row of one sheet. `period` is the table's statistical period.
///
/// The findings are those of [`check_across`] (the sheet as a whole) and of [`check_row`] on
/// each row; an editor that changes one row re-checks that row and the sheet as a whole only.
pub fn check_sheet(
    edition: &Edition,
    table: &Table,
    period: Period,
    department: Option<&str>,
    rows: &[RowData],
) -> Vec<Finding> {
    let loc = Locator { table, department };
    let mut out = too_many_records(&loc, table, rows);
    for row in rows {
        out.extend(check_row(edition, table, period, department, row));
    }
    out.extend(duplicate_keys(&loc, table, rows.iter().map(|r| (None, r)), false));
    out
}

/// What [`check_sheet`] finds on one row by itself: each cell, fields the table does not have,
/// the row rules.
pub fn check_row(
    edition: &Edition,
    table: &Table,
    period: Period,
    department: Option<&str>,
    row: &RowData,
) -> Vec<Finding> {
    let loc = Locator { table, department };
    let mut out = Vec::new();
    for field in &table.fields {
        let value = row.cells.get(&field.id);
        let check = check_value(edition, field, period, value);
        for issue in check.issues {
            out.push(loc.finding(Some(row), Some(&field.id), value.map(Value::to_string), issue));
        }
    }
    for key in row.cells.keys() {
        if table.field(key).is_none() {
            out.push(loc.finding(
                Some(row),
                Some(key),
                None,
                Issue::warning(
                    Code::UnknownField,
                    format!("「{key}」不是本表的字段（可能来自其他版本），导出时将忽略"),
                ),
            ));
        }
    }
    row_rules(&loc, table, row, &mut out);
    out
}

/// What [`check_sheet`] finds on the rows together: more than one record in a single-record
/// table, natural keys that repeat. Their codes are those [`Code::is_across_rows`] names.
pub fn check_across(table: &Table, department: Option<&str>, rows: &[RowData]) -> Vec<Finding> {
    let loc = Locator { table, department };
    let mut out = too_many_records(&loc, table, rows);
    out.extend(duplicate_keys(&loc, table, rows.iter().map(|r| (None, r)), false));
    out
}

fn too_many_records(loc: &Locator, table: &Table, rows: &[RowData]) -> Vec<Finding> {
    if table.kind == TableKind::Single && rows.len() > 1 {
        return vec![loc.finding(
            rows.get(1),
            None,
            None,
            Issue::error(
                Code::TooManyRecords,
                format!("本表每个部门只填一条记录，现有 {} 条，请删除多余的行", rows.len()),
            ),
        )];
    }
    Vec::new()
}

fn num(row: &RowData, field: &str) -> Option<f64> {
    row.cells.get(field).and_then(Value::as_f64)
}

fn fmt(x: f64) -> String {
    let s = format!("{x:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The row rules (sums, ≤) of `table` on one row, e.g. a row of a file being imported.
pub fn check_row_rules(table: &Table, department: Option<&str>, row: &RowData) -> Vec<Finding> {
    let mut out = Vec::new();
    row_rules(&Locator { table, department }, table, row, &mut out);
    out
}

fn row_rules(loc: &Locator, table: &Table, row: &RowData, out: &mut Vec<Finding>) {
    let label = |id: &str| table.field(id).map(|f| f.label_text()).unwrap_or_else(|| id.to_string());
    for rule in &table.rules {
        let issue_of = |code, default: String| -> Issue {
            let message = rule.message.clone().unwrap_or(default);
            Issue { severity: rule.severity, code, message }
        };
        match &rule.kind {
            RowRuleKind::Sum { total, parts } => {
                let Some(t) = num(row, total) else { continue };
                if parts.iter().all(|p| num(row, p).is_none()) {
                    continue;
                }
                let sum: f64 = parts.iter().filter_map(|p| num(row, p)).sum();
                if (sum - t).abs() > 1e-6 * t.abs().max(1.0) {
                    let names: Vec<String> = parts.iter().map(|p| format!("「{}」", label(p))).collect();
                    let msg = format!(
                        "「{}」为 {}，但{}之和为 {}，两者应相等",
                        label(total),
                        fmt(t),
                        names.join("+"),
                        fmt(sum)
                    );
                    out.push(loc.finding(Some(row), Some(total), Some(fmt(t)), issue_of(Code::RowSum, msg)));
                }
            }
            RowRuleKind::Le { left, right } => {
                let (Some(l), Some(r)) = (num(row, left), num(row, right)) else { continue };
                if l > r + 1e-9 {
                    let msg = format!("「{}」({}) 不应大于「{}」({})", label(left), fmt(l), label(right), fmt(r));
                    out.push(loc.finding(Some(row), Some(left), Some(fmt(l)), issue_of(Code::RowLe, msg)));
                }
            }
        }
    }
}

/// The natural key of a row as text, `None` while any key field is empty.
pub(crate) fn key_of(table: &Table, row: &RowData) -> Option<Vec<String>> {
    table.key.iter().map(|k| row.cells.get(k).map(Value::to_string)).collect()
}

/// Natural-key duplicates among `rows`, each tagged with its department (for cross-sheet
/// checks; `None` within one sheet). The first occurrence is kept, every later one reported;
/// with `across_only`, only duplicates between different departments are reported.
pub(crate) fn duplicate_keys<'r>(
    loc: &Locator,
    table: &Table,
    rows: impl Iterator<Item = (Option<&'r str>, &'r RowData<'r>)>,
    across_only: bool,
) -> Vec<Finding> {
    if table.key.is_empty() {
        return Vec::new();
    }
    let labels: Vec<String> =
        table.key.iter().map(|k| table.field(k).map(|f| f.label_text()).unwrap_or_default()).collect();
    let mut seen: HashMap<Vec<String>, (Option<&str>, usize)> = HashMap::new();
    let mut out = Vec::new();
    for (dept, row) in rows {
        let Some(key) = key_of(table, row) else { continue };
        match seen.get(&key) {
            None => {
                seen.insert(key, (dept, row.row_no));
            }
            Some((first_dept, _)) if across_only && *first_dept == dept => {}
            Some((first_dept, first_no)) => {
                let shown: Vec<String> = labels.iter().zip(&key).map(|(l, v)| format!("{l}「{v}」")).collect();
                let where_ = match first_dept {
                    Some(d) if Some(*d) != dept => format!("{d}的第{first_no}行"),
                    _ => format!("第{first_no}行"),
                };
                let message = format!("{}与{where_}重复；同一{}只能出现一次", shown.join("、"), labels.join("+"));
                let loc = Locator { table: loc.table, department: dept.or(loc.department) };
                out.push(loc.finding(
                    Some(row),
                    table.key.first().map(String::as_str),
                    Some(key.join("+")),
                    Issue { severity: Severity::Error, code: Code::DuplicateKey, message },
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::PeriodKind;
    use crate::period::AcademicYear;
    use crate::validate::cell::tests::test_catalog;

    fn row(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    fn check(rows: &[BTreeMap<String, Value>]) -> Vec<(Code, Option<usize>, Option<String>, String)> {
        let catalog = test_catalog();
        let edition = catalog.edition("t").unwrap();
        let table = edition.table("T1").unwrap();
        let period = AcademicYear(2025).period(PeriodKind::AcademicYear);
        let ids: Vec<String> = (1..=rows.len()).map(|i| format!("r{i}")).collect();
        let data: Vec<RowData> =
            rows.iter().enumerate().map(|(i, cells)| RowData { id: &ids[i], row_no: i + 1, cells }).collect();
        check_sheet(edition, table, period, Some("jwc"), &data)
            .into_iter()
            .map(|f| (f.code, f.row_no, f.field.clone(), f.to_string()))
            .collect()
    }

    #[test]
    fn row_rules_keys_and_cells() {
        let t = |s: &str| Value::Text(s.into());
        let got = check(&[
            row(&[("no", t("1")), ("a", Value::Int(2)), ("b", Value::Int(3)), ("total", Value::Int(5))]),
            row(&[("no", t("2")), ("a", Value::Int(4)), ("b", Value::Int(3)), ("total", Value::Int(9))]),
            row(&[("no", t("1")), ("ym", t("198513"))]),
            row(&[("a", Value::Int(1)), ("zz", t("x"))]),
        ]);
        let codes: Vec<(Code, Option<usize>, Option<&str>)> =
            got.iter().map(|(c, n, f, _)| (*c, *n, f.as_deref())).collect();
        assert_eq!(
            codes,
            vec![
                (Code::RowSum, Some(2), Some("total")),
                (Code::RowLe, Some(2), Some("a")),
                (Code::BadYearMonth, Some(3), Some("ym")),
                (Code::Required, Some(4), Some("no")),
                (Code::UnknownField, Some(4), Some("zz")),
                (Code::DuplicateKey, Some(3), Some("no")),
            ]
        );
        assert_eq!(got[0].3, "T1（jwc） 第2行「合计」：「合计」为 9，但「甲」+「乙」之和为 7，两者应相等");
        assert_eq!(got[2].3, "T1（jwc） 第3行「出生日期」：198513 不是有效的年月（应为 YYYYMM，如 198509）");
        assert_eq!(got[5].3, "T1（jwc） 第3行「编号」：编号「1」与第1行重复；同一编号只能出现一次");
    }

    #[test]
    fn a_sheet_is_its_rows_each_and_the_rows_together() {
        let t = |s: &str| Value::Text(s.into());
        let rows = [
            row(&[("no", t("1")), ("a", Value::Int(2)), ("b", Value::Int(3)), ("total", Value::Int(9))]),
            row(&[("no", t("1")), ("ym", t("198513"))]),
            row(&[("a", Value::Int(1)), ("zz", t("x"))]),
        ];
        let catalog = test_catalog();
        let edition = catalog.edition("t").unwrap();
        let table = edition.table("T1").unwrap();
        let period = AcademicYear(2025).period(PeriodKind::AcademicYear);
        let ids = ["r1", "r2", "r3"];
        let data: Vec<RowData> =
            rows.iter().enumerate().map(|(i, cells)| RowData { id: ids[i], row_no: i + 1, cells }).collect();
        let mut whole: Vec<String> =
            check_sheet(edition, table, period, Some("jwc"), &data).iter().map(ToString::to_string).collect();
        let across = check_across(table, Some("jwc"), &data);
        assert!(across.iter().all(|f| f.code.is_across_rows()) && across.len() == 1, "{across:?}");
        let mut parts: Vec<String> = across.iter().map(ToString::to_string).collect();
        for r in &data {
            let found = check_row(edition, table, period, Some("jwc"), r);
            assert!(found.iter().all(|f| !f.code.is_across_rows() && f.row_id.as_deref() == Some(r.id)));
            parts.extend(found.iter().map(ToString::to_string));
        }
        whole.sort();
        parts.sort();
        assert_eq!(whole, parts);
    }
}
