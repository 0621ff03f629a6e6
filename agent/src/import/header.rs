//! Finding the header in a worksheet laid out like the official templates (title rows above,
//! headers of one to three levels, merged group cells) and mapping its columns to fields by
//! their Chinese labels, tolerant of spaces, full-width characters and bracket styles.

use caiji_shared::Table;

use super::read::Grid;

/// How many rows from the top may hold title rows before the header.
const SEARCH_ROWS: usize = 30;
/// Header depths tried.
const MAX_DEPTH: usize = 3;

/// Columns that are never data: the row counter of the templates.
const IGNORED: &[&str] = &["序号", "行号", "no", "no."];

/// Where a table's header is and which column holds which field.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    /// Index into `grid.rows` of the first header row.
    pub header_start: usize,
    /// Number of header rows; data starts at `header_start + depth`.
    pub depth: usize,
    /// (column index, field id), in column order.
    pub columns: Vec<(usize, String)>,
    /// Header texts of columns that match no field.
    pub unknown: Vec<String>,
    /// Field ids with no column.
    pub missing: Vec<String>,
    /// Header texts of columns that repeat a field already matched (ignored).
    pub repeated: Vec<String>,
}

/// Label text reduced to what identifies it: no spaces, half-width, one bracket style, no
/// separators, no required-field stars.
pub fn norm(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = match c as u32 {
            0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        };
        let c = match c {
            '【' | '〔' | '[' => '(',
            '】' | '〕' | ']' => ')',
            '“' | '”' | '＂' => '"',
            '‘' | '’' => '\'',
            _ => c,
        };
        if c.is_whitespace() || matches!(c, '\u{3000}' | '*' | '-' | '—' | '–' | '_' | ':' | '：' | '/' | '、') {
            continue;
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// The label without bracketed parts: "出生日期(年月)" → "出生日期".
fn strip_brackets(s: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The header path of every column for header rows `start..start + depth`, filling the empty
/// upper cells of merged group headers from the left where the cell below has a sub-label.
fn column_paths(grid: &Grid, start: usize, depth: usize) -> Vec<Vec<String>> {
    let width = grid.rows[start..start + depth].iter().map(Vec::len).max().unwrap_or(0);
    let text = |r: usize, c: usize| -> String {
        grid.rows[r].get(c).map(|cell| cell.header_text().trim().to_string()).unwrap_or_default()
    };
    let mut levels: Vec<Vec<String>> = (0..depth).map(|l| (0..width).map(|c| text(start + l, c)).collect()).collect();
    for l in 0..depth.saturating_sub(1) {
        for c in 1..width {
            let below_has_label = (l + 1..depth).any(|b| !levels[b][c].is_empty());
            if levels[l][c].is_empty() && below_has_label {
                levels[l][c] = levels[l][c - 1].clone();
            }
        }
    }
    (0..width).map(|c| (0..depth).map(|l| levels[l][c].clone()).filter(|s| !s.is_empty()).collect()).collect()
}

/// Matches column paths to fields; returns (mapping pieces, number of fields matched).
fn match_columns(table: &Table, paths: &[Vec<String>]) -> (Vec<(usize, String)>, Vec<String>, Vec<String>) {
    let full: Vec<String> = table.fields.iter().map(|f| norm(&f.label.concat())).collect();
    let loose: Vec<String> = full.iter().map(|l| strip_brackets(l)).collect();
    let mut columns: Vec<(usize, String)> = Vec::new();
    let mut unknown = Vec::new();
    let mut repeated = Vec::new();
    for (c, path) in paths.iter().enumerate() {
        if path.is_empty() {
            continue;
        }
        let key = norm(&path.concat());
        if IGNORED.contains(&key.as_str()) {
            continue;
        }
        let found = full.iter().position(|l| *l == key).or_else(|| {
            // Loose: brackets dropped on both sides, accepted only when it is unambiguous.
            let k = strip_brackets(&key);
            let hits: Vec<usize> = loose.iter().enumerate().filter(|(_, l)| **l == k).map(|(i, _)| i).collect();
            (hits.len() == 1).then(|| hits[0])
        });
        let shown = path.join("-");
        match found {
            Some(i) if columns.iter().any(|(_, f)| *f == table.fields[i].id) => repeated.push(shown),
            Some(i) => columns.push((c, table.fields[i].id.clone())),
            None => unknown.push(shown),
        }
    }
    (columns, unknown, repeated)
}

/// Finds the header of `table` in `grid`: the rows and depth whose labels match the most
/// fields. `None` when too few columns match to be this table.
pub fn find_header(table: &Table, grid: &Grid) -> Option<Mapping> {
    let mut best: Option<Mapping> = None;
    let rows = grid.rows.len().min(SEARCH_ROWS);
    for start in 0..rows {
        if grid.rows[start].iter().all(|c| c.is_empty()) {
            continue;
        }
        for depth in 1..=MAX_DEPTH.min(grid.rows.len() - start) {
            let paths = column_paths(grid, start, depth);
            let (columns, unknown, repeated) = match_columns(table, &paths);
            if best.as_ref().is_none_or(|b| columns.len() > b.columns.len()) {
                let missing = table
                    .fields
                    .iter()
                    .filter(|f| !columns.iter().any(|(_, id)| *id == f.id))
                    .map(|f| f.id.clone())
                    .collect();
                best = Some(Mapping { header_start: start, depth, columns, unknown, missing, repeated });
            }
        }
    }
    let needed = table.fields.len().min(2);
    best.filter(|m| m.columns.len() >= needed.max(1))
}

#[cfg(test)]
mod tests {
    use caiji_shared::Catalog;

    use super::super::read::Cell;
    use super::*;

    fn grid(rows: &[&[&str]]) -> Grid {
        let rows = rows
            .iter()
            .map(|r| r.iter().map(|s| if s.is_empty() { Cell::Empty } else { Cell::Text(s.to_string()) }).collect())
            .collect();
        Grid { name: "t".into(), rows, first_row: 1, first_col: 0 }
    }

    #[test]
    fn normalising_labels() {
        assert_eq!(norm(" 出生日期（年月）"), "出生日期(年月)");
        assert_eq!(norm("区号－电话号码"), "区号电话号码");
        assert_eq!(norm("*教工号"), "教工号");
        assert_eq!(norm("专业技术职务-等级"), "专业技术职务等级");
    }

    #[test]
    fn finds_a_two_level_header_below_a_title() {
        let table = Catalog::embedded().edition("2016").unwrap().table("A6-1-1").unwrap();
        let g = grid(&[
            &["A6-1-1 校内专任教师基本情况表"],
            &[],
            &["序号", "教工号", "姓 名", "专业技术职务", "", "", "", "籍贯"],
            &["", "", "", "等级", "名称（全称）", "发证单位", "获取日期(年月)", ""],
            &["1", "T001", "张三", "副高级", "副教授", "山东省教育厅", "201509", "山东"],
        ]);
        let m = find_header(table, &g).unwrap();
        assert_eq!((m.header_start, m.depth), (2, 2));
        let ids: Vec<&str> = m.columns.iter().map(|(_, f)| f.as_str()).collect();
        assert_eq!(ids, ["emp_no", "name", "prof_level", "prof_name", "prof_issuer", "prof_date"]);
        assert_eq!(m.unknown, ["籍贯"]);
        assert!(m.missing.contains(&"birth".to_string()));
    }

    #[test]
    fn a_sheet_of_another_table_does_not_match() {
        let table = Catalog::embedded().edition("2016").unwrap().table("A6-1-1").unwrap();
        assert!(find_header(table, &grid(&[&["课程代码", "课程名称"], &["C1", "高数"]])).is_none());
    }
}
