//! The catalog as text for a terminal: the table list and one table's fields, in Chinese.

use std::fmt::Write as _;

use super::{Edition, Fill, PeriodKind, Table, TableKind};

/// One line per table, grouped by chapter, with totals and the incomplete tables flagged.
pub fn table_list(edition: &Edition) -> String {
    let mut out = String::new();
    let fields: usize = edition.tables.iter().map(|t| t.fields.len()).sum();
    let incomplete = edition.incomplete_tables().count();
    let _ = writeln!(out, "{}", edition.name);
    let _ = writeln!(
        out,
        "共 {} 张表、{} 个字段；其中 {} 张表的字段尚不完整（标 *）",
        edition.tables.len(),
        fields,
        incomplete
    );
    let mut chapter = "";
    for t in &edition.tables {
        if t.chapter != chapter {
            chapter = &t.chapter;
            let name = edition.chapter(chapter).map(|c| c.name.as_str()).unwrap_or("");
            let _ = writeln!(out, "\n{chapter} {name}");
        }
        let dept = edition.department(&t.department).map(|d| d.name.as_str()).unwrap_or(&t.department);
        let mark = if t.gaps.is_some() { "*" } else { " " };
        let _ = writeln!(
            out,
            "  {mark}{:<10} {}（{}，{} 个字段，牵头：{}{}）",
            t.id,
            t.name,
            kind_label(t),
            t.fields.len(),
            dept,
            if t.fill == Fill::Each { "，各系部分别填报" } else { "" }
        );
    }
    out
}

fn kind_label(t: &Table) -> &'static str {
    match t.kind {
        TableKind::Single => "单条记录",
        TableKind::Multi => "多行",
    }
}

/// One table: its explanation, key, period and every field.
pub fn table_detail(edition: &Edition, t: &Table) -> String {
    let mut out = String::new();
    let dept = edition.department(&t.department).map(|d| d.name.as_str()).unwrap_or(&t.department);
    let _ = writeln!(out, "{} {}（官方工作表：{}）", t.id, t.name, t.sheet_name);
    let _ = writeln!(
        out,
        "牵头部门：{dept}；{}；{}",
        kind_label(t),
        match t.period {
            PeriodKind::AcademicYear => "按学年统计（9月1日至次年8月31日）",
            PeriodKind::CalendarYear => "按自然年统计（1月1日至12月31日）",
        }
    );
    if !t.key.is_empty() {
        let labels: Vec<String> = t.key.iter().filter_map(|k| t.field(k)).map(|f| f.label_text()).collect();
        let _ = writeln!(out, "唯一标识：{}", labels.join(" + "));
    }
    let _ = writeln!(out, "{}", if t.carry_over { "新学年从上一学年审核通过的数据结转" } else { "每学年重新填报" });
    if t.gaps.is_some() {
        let _ = writeln!(out, "注意：本表字段依据现有资料整理，可能不完整");
    }
    let _ = writeln!(out, "\n说明：{}\n", t.explanation.trim());
    for (i, f) in t.fields.iter().enumerate() {
        let mut kind = f.ty.label().to_string();
        if let Some(c) = f.codes.as_deref().and_then(|c| edition.code_list(c)) {
            kind = format!("{kind}：{}", c.name);
        }
        if let Some(u) = &f.unit {
            kind = format!("{kind}，单位 {u}");
        }
        let required = if f.required { "，必填" } else { "" };
        let _ = writeln!(out, "{:>3}. {}（{kind}{required}）", i + 1, f.label_text());
        if let Some(e) = &f.explanation {
            let _ = writeln!(out, "     {}", e.trim());
        }
    }
    out
}
