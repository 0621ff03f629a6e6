//! Reading a file into grids of cells: xlsx/xls/ods through calamine (one grid per worksheet),
//! CSV through the csv crate after detecting UTF-8 (with or without BOM) or GBK/GB18030.
//! Limits keep a hostile or mistaken file from exhausting the machine.

use std::io::Read;
use std::path::Path;

use calamine::{Data, Reader};

use super::ImportError;

/// Refuse files larger than this.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Refuse worksheets with more rows than this.
pub const MAX_ROWS: usize = 200_000;
/// Refuse worksheets with more columns than this.
pub const MAX_COLS: usize = 1_000;

/// One cell as read from a file.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// An Excel date: (year, month, day).
    Date(i32, u32, u32),
    /// An error value such as `#N/A`.
    Error(String),
    /// A formula cell without a cached value (the file was never calculated).
    Uncalculated(String),
}

impl Cell {
    pub fn is_empty(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(t) => t.trim().is_empty(),
            _ => false,
        }
    }

    /// The cell as header text.
    pub fn header_text(&self) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Float(f) => number_text(*f),
            _ => String::new(),
        }
    }
}

/// A number as a person would write it: integral floats without ".0", others without binary
/// noise (0.30000000000000004 → 0.3).
pub fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        return format!("{}", f as i64);
    }
    let s = format!("{f:.10}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// One worksheet (or a whole CSV file).
#[derive(Debug, Clone)]
pub struct Grid {
    /// The worksheet's name (a CSV file's stem).
    pub name: String,
    pub rows: Vec<Vec<Cell>>,
    /// The 1-based row number in the file of `rows[0]`.
    pub first_row: usize,
    /// The 0-based column of `rows[*][0]`.
    pub first_col: usize,
}

/// Reads every worksheet of a spreadsheet, or a CSV file.
pub fn read_file(path: &Path) -> Result<Vec<Grid>, ImportError> {
    let meta = std::fs::metadata(path).map_err(|e| ImportError::Open(path.to_path_buf(), e.to_string()))?;
    if !meta.is_file() {
        return Err(ImportError::Open(path.to_path_buf(), "不是文件".into()));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(ImportError::TooLarge { bytes: meta.len(), limit: MAX_FILE_BYTES });
    }
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "csv" | "txt" => read_csv(path),
        "xlsx" | "xlsm" | "xls" | "xlsb" | "ods" => {
            // calamine parses untrusted bytes; a panic in it must become an error, not a crash.
            let p = path.to_path_buf();
            std::panic::catch_unwind(move || read_workbook(&p))
                .unwrap_or_else(|_| Err(ImportError::Corrupt("文件内容无法解析".into())))
        }
        _ => Err(ImportError::UnknownFormat(ext)),
    }
}

fn read_workbook(path: &Path) -> Result<Vec<Grid>, ImportError> {
    let mut wb = calamine::open_workbook_auto(path).map_err(|e| ImportError::Corrupt(e.to_string()))?;
    let mut grids = Vec::new();
    for name in wb.sheet_names() {
        let range = wb.worksheet_range(&name).map_err(|e| ImportError::Corrupt(e.to_string()))?;
        let (h, w) = range.get_size();
        if h > MAX_ROWS {
            return Err(ImportError::TooManyRows { sheet: name, rows: h, limit: MAX_ROWS });
        }
        if w > MAX_COLS {
            return Err(ImportError::TooManyColumns { sheet: name, cols: w, limit: MAX_COLS });
        }
        let (r0, c0) = range.start().map(|(r, c)| (r as usize, c as usize)).unwrap_or((0, 0));
        // Formula cells without a cached value read as empty; find them to report them.
        let formulas = wb.worksheet_formula(&name).ok();
        let mut rows: Vec<Vec<Cell>> = range.rows().map(|row| row.iter().map(cell).collect()).collect();
        if let Some(f) = formulas
            && let Some((fr, fc)) = f.start()
        {
            for (i, frow) in f.rows().enumerate() {
                for (j, text) in frow.iter().enumerate() {
                    if text.is_empty() {
                        continue;
                    }
                    let (r, c) = (fr as usize + i, fc as usize + j);
                    if r < r0 || c < c0 {
                        continue;
                    }
                    if let Some(slot) = rows.get_mut(r - r0).and_then(|row| row.get_mut(c - c0))
                        && *slot == Cell::Empty
                    {
                        *slot = Cell::Uncalculated(text.clone());
                    }
                }
            }
        }
        grids.push(Grid { name, rows, first_row: r0 + 1, first_col: c0 });
    }
    Ok(grids)
}

fn cell(d: &Data) -> Cell {
    match d {
        Data::Empty => Cell::Empty,
        Data::String(s) => Cell::Text(s.clone()),
        Data::Int(i) => Cell::Int(*i),
        Data::Float(f) => Cell::Float(*f),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(dt) => {
            let (y, m, d, ..) = dt.to_ymd_hms_milli();
            Cell::Date(i32::from(y), u32::from(m), u32::from(d))
        }
        Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Text(s.clone()),
        Data::Error(e) => Cell::Error(format!("{e}")),
    }
}

/// Decodes CSV bytes: UTF-8 (a BOM is dropped), else GB18030 (a superset of GBK, which is what
/// Chinese Excel writes). Bytes that are neither are refused rather than guessed.
pub fn decode_text(bytes: &[u8]) -> Result<String, ImportError> {
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(s.to_string());
    }
    let (text, _, had_errors) = encoding_rs::GB18030.decode(bytes);
    if had_errors {
        return Err(ImportError::Encoding);
    }
    Ok(text.into_owned())
}

fn read_csv(path: &Path) -> Result<Vec<Grid>, ImportError> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES).read_to_end(&mut bytes))
        .map_err(|e| ImportError::Open(path.to_path_buf(), e.to_string()))?;
    if bytes.contains(&0) {
        return Err(ImportError::Corrupt("文件包含二进制内容，不是 CSV 文本".into()));
    }
    let text = decode_text(&bytes)?;
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| ImportError::Corrupt(format!("CSV 格式错误：{e}")))?;
        if record.len() > MAX_COLS {
            return Err(ImportError::TooManyColumns { sheet: String::new(), cols: record.len(), limit: MAX_COLS });
        }
        rows.push(record.iter().map(|s| if s.is_empty() { Cell::Empty } else { Cell::Text(s.to_string()) }).collect());
        if rows.len() > MAX_ROWS {
            return Err(ImportError::TooManyRows { sheet: String::new(), rows: rows.len(), limit: MAX_ROWS });
        }
    }
    let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(vec![Grid { name, rows, first_row: 1, first_col: 0 }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_people_write_them() {
        for (f, want) in [(12.0, "12"), (12.5, "12.5"), (0.1 + 0.2, "0.3"), (-3.25, "-3.25"), (198509.0, "198509")] {
            assert_eq!(number_text(f), want);
        }
    }

    #[test]
    fn csv_encodings() {
        let text = "教工号,姓名\nT001,张三\n";
        assert_eq!(decode_text(text.as_bytes()).unwrap(), text);
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice(text.as_bytes());
        assert_eq!(decode_text(&bom).unwrap(), text);
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        assert_eq!(decode_text(&gbk).unwrap(), text);
        assert!(matches!(decode_text(&[0x81, 0x20, 0xFF, 0xFF]), Err(ImportError::Encoding)));
    }
}
