//! Checks over a set of sheets: natural keys unique across the departments' sheets of one
//! table, and the edition's cross-table rules (e.g. 1.3.1 专业设置数 ↔ 7.1), evaluated on the
//! union of all departments' rows.

use std::collections::BTreeSet;

use super::sheet::{Locator, RowData, duplicate_keys};
use super::{Code, Finding, Issue};
use crate::catalog::{Agg, CrossRule, CrossRuleKind, Edition, Operand, Table};
use crate::value::Value;

/// The live rows of one department's sheet.
#[derive(Debug, Clone)]
pub struct SheetData<'a> {
    pub table: &'a Table,
    pub department: &'a str,
    pub rows: Vec<RowData<'a>>,
}

/// Runs the checks that need more than one sheet. Per-sheet checks are [`super::check_sheet`].
pub fn check_tables(edition: &Edition, sheets: &[SheetData]) -> Vec<Finding> {
    let mut out = Vec::new();
    for table in &edition.tables {
        let of_table: Vec<&SheetData> = sheets.iter().filter(|s| s.table.id == table.id).collect();
        if of_table.len() < 2 {
            continue;
        }
        let loc = Locator { table, department: None };
        let rows = of_table.iter().flat_map(|s| s.rows.iter().map(move |r| (Some(s.department), r)));
        // Only duplicates across departments: those within one sheet are check_sheet's.
        out.extend(duplicate_keys(&loc, table, rows, true));
    }
    for rule in &edition.rules {
        match rule.kind {
            CrossRuleKind::Ref => reference(edition, rule, sheets, &mut out),
            CrossRuleKind::Equal | CrossRuleKind::Le => compare(edition, rule, sheets, &mut out),
        }
    }
    out
}

fn rows_of<'s, 'a>(
    sheets: &'s [SheetData<'a>],
    table: &'s str,
) -> impl Iterator<Item = (&'s SheetData<'a>, &'s RowData<'a>)> {
    sheets.iter().filter(move |s| s.table.id == table).flat_map(|s| s.rows.iter().map(move |r| (s, r)))
}

fn aggregate(sheets: &[SheetData], op: &Operand) -> Option<f64> {
    if !sheets.iter().any(|s| s.table.id == op.table) {
        return None; // nothing to compare yet: the table has not been filled
    }
    let values = || rows_of(sheets, &op.table).filter_map(|(_, r)| op.field.as_ref().and_then(|f| r.cells.get(f)));
    Some(match op.agg? {
        Agg::Sum => values().filter_map(Value::as_f64).sum(),
        Agg::Count => rows_of(sheets, &op.table).count() as f64,
        Agg::CountDistinct => values().map(Value::to_string).collect::<BTreeSet<_>>().len() as f64,
    })
}

fn describe(edition: &Edition, op: &Operand) -> String {
    let table = edition.table(&op.table);
    let tname = table.map(Table::title).unwrap_or_else(|| op.table.clone());
    let fname = op.field.as_ref().map(|f| table.and_then(|t| t.field(f)).map(|f| f.label_text()).unwrap_or(f.clone()));
    match (op.agg, fname) {
        (Some(Agg::Sum), Some(f)) => format!("{tname}「{f}」合计"),
        (Some(Agg::CountDistinct), Some(f)) => format!("{tname}「{f}」不同值个数"),
        (Some(Agg::Count), _) => format!("{tname}行数"),
        (_, Some(f)) => format!("{tname}「{f}」"),
        (_, None) => tname,
    }
}

fn fmt(x: f64) -> String {
    let s = format!("{x:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn compare(edition: &Edition, rule: &CrossRule, sheets: &[SheetData], out: &mut Vec<Finding>) {
    let (Some(l), Some(r)) = (aggregate(sheets, &rule.left), aggregate(sheets, &rule.right)) else { return };
    let ok = match rule.kind {
        CrossRuleKind::Equal => (l - r).abs() <= 1e-6 * l.abs().max(1.0),
        _ => l <= r + 1e-9,
    };
    if ok {
        return;
    }
    let relation = if rule.kind == CrossRuleKind::Equal { "两者应相等" } else { "前者不应大于后者" };
    let default = format!(
        "{}为 {}，{}为 {}，{relation}",
        describe(edition, &rule.left),
        fmt(l),
        describe(edition, &rule.right),
        fmt(r)
    );
    let message = match &rule.message {
        Some(m) => format!(
            "{m}（{}为 {}，{}为 {}）",
            describe(edition, &rule.left),
            fmt(l),
            describe(edition, &rule.right),
            fmt(r)
        ),
        None => default,
    };
    let Some(table) = edition.table(&rule.left.table) else { return };
    let loc = Locator { table, department: None };
    let issue = Issue { severity: rule.severity, code: Code::CrossRule, message };
    out.push(loc.finding(None, rule.left.field.as_deref(), Some(fmt(l)), issue));
}

fn reference(edition: &Edition, rule: &CrossRule, sheets: &[SheetData], out: &mut Vec<Finding>) {
    let (Some(lf), Some(rf)) = (&rule.left.field, &rule.right.field) else { return };
    if !sheets.iter().any(|s| s.table.id == rule.right.table) {
        return;
    }
    let known: BTreeSet<String> =
        rows_of(sheets, &rule.right.table).filter_map(|(_, r)| r.cells.get(rf)).map(Value::to_string).collect();
    let target = describe(edition, &Operand { agg: None, ..rule.right.clone() });
    for (sheet, row) in rows_of(sheets, &rule.left.table) {
        let Some(v) = row.cells.get(lf) else { continue };
        let v = v.to_string();
        if known.contains(&v) {
            continue;
        }
        let message = match &rule.message {
            Some(m) => format!("「{v}」{m}"),
            None => format!("「{v}」在{target}中不存在，请先在该表中填写或核对是否录错"),
        };
        let loc = Locator { table: sheet.table, department: Some(sheet.department) };
        let issue = Issue { severity: rule.severity, code: Code::CrossRef, message };
        out.push(loc.finding(Some(row), Some(lf), Some(v), issue));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::catalog::Catalog;

    type Cells = BTreeMap<String, Value>;

    fn cells(pairs: &[(&str, Value)]) -> Cells {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    fn sheet<'a>(e: &'a Edition, table: &str, dept: &'a str, rows: &'a [Cells]) -> SheetData<'a> {
        let rows = rows.iter().enumerate().map(|(i, c)| RowData { id: "r", row_no: i + 1, cells: c }).collect();
        SheetData { table: e.table(table).unwrap(), department: dept, rows }
    }

    #[test]
    fn cross_department_keys_and_cross_table_rules() {
        let e = Catalog::embedded().edition("2016").unwrap();
        let t = |s: &str| Value::Text(s.into());
        let teachers_a = [cells(&[("emp_no", t("T001"))]), cells(&[("emp_no", t("T002"))])];
        let teachers_b = [cells(&[("emp_no", t("T002"))])];
        let lessons = [cells(&[("emp_no", t("T001"))]), cells(&[("emp_no", t("T009"))])];
        let a14 = [cells(&[("hv_total", Value::Int(100))])];
        let majors = [
            cells(&[("major_code", t("510201")), ("students_total", Value::Int(60))]),
            cells(&[("major_code", t("510202")), ("students_total", Value::Int(30))]),
        ];
        let sheets = [
            sheet(e, "A6-1-1", "jsjx", &teachers_a),
            sheet(e, "A6-1-1", "jdx", &teachers_b),
            sheet(e, "A6-1-2-1", "jwc", &lessons),
            sheet(e, "A1-4", "jwc", &a14),
            sheet(e, "A7-1-1", "jsjx", &majors),
        ];
        let found = check_tables(e, &sheets);
        let summary: Vec<(Code, &str, Option<&str>)> =
            found.iter().map(|f| (f.code, f.table.as_str(), f.department.as_deref())).collect();
        assert_eq!(
            summary,
            vec![
                (Code::DuplicateKey, "A6-1-1", Some("jdx")),
                (Code::CrossRule, "A1-4", None),
                (Code::CrossRef, "A6-1-2-1", Some("jwc")),
            ]
        );
        assert!(found[0].message.contains("与jsjx的第2行重复"), "{}", found[0].message);
        assert!(found[1].message.contains("为 100") && found[1].message.contains("为 90"), "{}", found[1].message);
        assert!(found[2].message.starts_with("「T009」在校内专任教师基本情况表中不存在"), "{}", found[2].message);
        assert_eq!(found[2].row_no, Some(2));
    }

    #[test]
    fn rules_wait_for_both_tables() {
        let e = Catalog::embedded().edition("2016").unwrap();
        let a14 = [cells(&[("hv_total", Value::Int(100))])];
        let found = check_tables(e, &[sheet(e, "A1-4", "jwc", &a14)]);
        assert!(found.is_empty(), "{found:?}");
    }
}
