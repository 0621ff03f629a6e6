//! Export of a sheet in the official layout: xlsx with a title row, the official Chinese
//! headers (multi-level headers as merged cells), a 序号 column and the rows in order; and CSV
//! (UTF-8 with BOM so Excel opens it, one header row with levels joined by "-"). What is
//! exported imports back to the same sheet.

use std::path::{Path, PathBuf};

use caiji_shared::Value;
use caiji_shared::catalog::{Field, FieldType, Table};
use caiji_shared::sheet::Row;
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("写入文件 {0} 失败：{1}")]
    Write(PathBuf, String),
    #[error("不支持的导出格式「{0}」：请使用 .xlsx 或 .csv")]
    Format(String),
}

/// Writes `rows` of `table` to `path`, as xlsx or csv by its extension.
pub fn export(table: &Table, rows: &[Row], path: &Path) -> Result<(), ExportError> {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("xlsx") => export_xlsx(table, rows, path),
        Some("csv") => export_csv(table, rows, path),
        other => Err(ExportError::Format(other.unwrap_or("").to_string())),
    }
}

/// Depth of the header: the longest label path.
fn depth(table: &Table) -> usize {
    table.fields.iter().map(|f| f.label.len()).max().unwrap_or(1).max(1)
}

/// Writes the title, the header rows and the 序号 column header; returns the first data row.
pub fn write_header(ws: &mut Worksheet, table: &Table) -> Result<u32, XlsxError> {
    let title = Format::new().set_bold().set_font_size(14);
    let head = Format::new()
        .set_bold()
        .set_background_color("#DDEBF7")
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter)
        .set_text_wrap();
    let d = depth(table) as u32;
    let top = 1u32; // row 0 is the title
    ws.write_with_format(0, 0, format!("{}表", table.title()), &title)?;
    // 序号, spanning every header row.
    if d > 1 {
        ws.merge_range(top, 0, top + d - 1, 0, "序号", &head)?;
    } else {
        ws.write_with_format(top, 0, "序号", &head)?;
    }
    ws.set_column_width(0, 6)?;
    let fields = &table.fields;
    for level in 0..d as usize {
        let mut c = 0;
        while c < fields.len() {
            let f = &fields[c];
            let col = c as u16 + 1;
            if f.label.len() <= level {
                c += 1;
                continue; // covered by a vertical merge above
            }
            // The run of following fields that share this level's label path.
            let prefix = &f.label[..=level];
            let mut end = c;
            while f.label.len() > level + 1
                && end + 1 < fields.len()
                && fields[end + 1].label.len() > level + 1
                && fields[end + 1].label[..=level] == *prefix
            {
                end += 1;
            }
            let row = top + level as u32;
            let last_level = f.label.len() == level + 1;
            let bottom = if last_level { top + d - 1 } else { row };
            let text = &f.label[level];
            if end > c || bottom > row {
                ws.merge_range(row, col, bottom, end as u16 + 1, text, &head)?;
            } else {
                ws.write_with_format(row, col, text, &head)?;
            }
            c = end + 1;
        }
    }
    for (i, f) in fields.iter().enumerate() {
        let width = f.label.iter().map(|l| l.chars().count()).max().unwrap_or(4) as f64 * 2.0 + 2.0;
        ws.set_column_width(i as u16 + 1, width.clamp(8.0, 40.0))?;
    }
    ws.set_freeze_panes(top + d, 1)?;
    Ok(top + d)
}

/// Numbers go out as numbers (so Excel can sum them), everything else as text (so 教工号
/// "001" keeps its zeros and 年月 stays 198509, not a date).
fn write_value(ws: &mut Worksheet, row: u32, col: u16, field: &Field, v: &Value) -> Result<(), XlsxError> {
    let numeric = matches!(field.ty, FieldType::Integer | FieldType::Decimal | FieldType::Year);
    match v {
        Value::Int(i) if numeric && i.unsigned_abs() < (1u64 << 53) => {
            ws.write_number(row, col, *i as f64)?;
        }
        Value::Text(t) if numeric && t.len() <= 15 && t.parse::<f64>().is_ok() => {
            ws.write_number(row, col, t.parse::<f64>().unwrap_or(0.0))?;
        }
        other => {
            ws.write_string(row, col, other.to_string())?;
        }
    }
    Ok(())
}

fn export_xlsx(table: &Table, rows: &[Row], path: &Path) -> Result<(), ExportError> {
    let fail = |e: XlsxError| ExportError::Write(path.to_path_buf(), e.to_string());
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    // Excel limits sheet names to 31 characters.
    let name: String = format!("{}{}表", table.id, table.name).chars().take(31).collect();
    ws.set_name(name.replace(['[', ']', ':', '*', '?', '/', '\\'], "")).map_err(fail)?;
    let first = write_header(ws, table).map_err(fail)?;
    for (i, row) in rows.iter().filter(|r| !r.deleted).enumerate() {
        let r = first + i as u32;
        ws.write_number(r, 0, (i + 1) as f64).map_err(fail)?;
        for (c, field) in table.fields.iter().enumerate() {
            if let Some(v) = row.cells.get(&field.id) {
                write_value(ws, r, c as u16 + 1, field, v).map_err(fail)?;
            }
        }
    }
    wb.save(path).map_err(fail)
}

fn export_csv(table: &Table, rows: &[Row], path: &Path) -> Result<(), ExportError> {
    let fail = |e: String| ExportError::Write(path.to_path_buf(), e);
    let mut out: Vec<u8> = vec![0xEF, 0xBB, 0xBF];
    {
        let mut w = csv::Writer::from_writer(&mut out);
        let mut header = vec!["序号".to_string()];
        header.extend(table.fields.iter().map(Field::label_text));
        w.write_record(&header).map_err(|e| fail(e.to_string()))?;
        for (i, row) in rows.iter().filter(|r| !r.deleted).enumerate() {
            let mut rec = vec![(i + 1).to_string()];
            rec.extend(table.fields.iter().map(|f| row.cells.get(&f.id).map(Value::to_string).unwrap_or_default()));
            w.write_record(&rec).map_err(|e| fail(e.to_string()))?;
        }
        w.flush().map_err(|e| fail(e.to_string()))?;
    }
    std::fs::write(path, out).map_err(|e| fail(e.to_string()))
}
