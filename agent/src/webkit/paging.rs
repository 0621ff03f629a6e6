//! Long tables a page at a time, searched on the server: the agent's grid, the hub's review of a
//! submission and its school-wide tables all show 10,000-row sheets this way, so a page stays
//! small and quick however large the sheet is.

use caiji_shared::sheet::Row;
use maud::{Markup, html};

/// Rows on one page.
pub const PER_PAGE: usize = 100;

/// Which page of how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// 1-based.
    pub page: usize,
    pub pages: usize,
}

impl Paging {
    /// The page asked for in the address (`?page=`), clamped to the pages there are; "last" is
    /// the last one, and anything unreadable the first.
    pub fn asked(asked: Option<&str>, rows: usize) -> Paging {
        let pages = rows.div_ceil(PER_PAGE).max(1);
        let page = match asked.map(str::trim) {
            Some("last") => pages,
            Some(p) => p.parse::<usize>().unwrap_or(1).clamp(1, pages),
            None => 1,
        };
        Paging { page, pages }
    }

    /// The page that holds the row at `index` (0-based) of `rows`.
    pub fn holding(index: usize, rows: usize) -> Paging {
        let pages = rows.div_ceil(PER_PAGE).max(1);
        Paging { page: (index / PER_PAGE + 1).min(pages), pages }
    }

    /// This page's items of `items`.
    pub fn slice<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let start = ((self.page - 1) * PER_PAGE).min(items.len());
        &items[start..(start + PER_PAGE).min(items.len())]
    }
}

/// A search as typed: matched against a row's number and every cell, ignoring case.
pub struct Search(String);

impl Search {
    pub fn new(q: Option<&str>) -> Search {
        Search(q.unwrap_or("").trim().to_lowercase())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `row` (numbered `number` where the user sees a number) matches; `extra` is more
    /// text shown beside the row (e.g. its department's name).
    pub fn matches(&self, row: &Row, number: Option<usize>, extra: &str) -> bool {
        self.0.is_empty()
            || number.is_some_and(|n| n.to_string() == self.0)
            || extra.to_lowercase().contains(&self.0)
            || row.cells.values().any(|v| v.to_string().to_lowercase().contains(&self.0))
    }
}

/// `base?k=v&…` with the empty values left out.
pub fn link(base: &str, pairs: &[(&str, String)]) -> String {
    let pairs: Vec<&(&str, String)> = pairs.iter().filter(|(_, v)| !v.is_empty()).collect();
    if pairs.is_empty() {
        return base.to_string();
    }
    format!("{base}?{}", serde_urlencoded::to_string(pairs).unwrap_or_default())
}

/// The bar under a long table: previous / next page (`#prev-page`, `#next-page`, which the
/// grid's PageUp/PageDown follow) around `summary`; `href(n)` is page n's address.
pub fn pager(p: Paging, href: impl Fn(usize) -> String, summary: Markup) -> Markup {
    html! {
        div.toolbar.pager.no-print {
            @if p.page > 1 { a.button #prev-page href=(href(p.page - 1)) { "上一页" } }
            span { "第 " (p.page) " / " (p.pages) " 页；" (summary) }
            @if p.page < p.pages { a.button #next-page href=(href(p.page + 1)) { "下一页" } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use caiji_shared::Value;
    use caiji_shared::sheet::RowId;

    #[test]
    fn pages_are_clamped() {
        let p = |asked, rows| {
            let p = Paging::asked(asked, rows);
            (p.page, p.pages)
        };
        assert_eq!(p(None, 0), (1, 1));
        assert_eq!(p(Some("3"), 250), (3, 3));
        assert_eq!(p(Some("9"), 250), (3, 3));
        assert_eq!(p(Some("0"), 250), (1, 3));
        assert_eq!(p(Some("abc"), 250), (1, 3));
        assert_eq!(p(Some("last"), 10_000), (100, 100));
        assert_eq!(Paging::holding(0, 250), Paging { page: 1, pages: 3 });
        assert_eq!(Paging::holding(100, 250), Paging { page: 2, pages: 3 });
        assert_eq!(Paging::holding(249, 250), Paging { page: 3, pages: 3 });
    }

    #[test]
    fn a_page_slices_its_rows() {
        let items: Vec<usize> = (0..250).collect();
        assert_eq!(Paging::asked(None, 250).slice(&items), &items[..100]);
        assert_eq!(Paging::asked(Some("3"), 250).slice(&items), &items[200..]);
        assert!(Paging { page: 5, pages: 5 }.slice(&items).is_empty());
    }

    #[test]
    fn search_by_number_content_or_what_is_beside_the_row() {
        let mut cells = std::collections::BTreeMap::new();
        cells.insert("name".to_string(), Value::Text("王小明".into()));
        cells.insert("year".to_string(), Value::Int(1985));
        cells.insert("mail".to_string(), Value::Text("Wang@Example.cn".into()));
        let r = Row { id: RowId("r".into()), order: 0, deleted: false, cells };
        let m = |q: &str, extra: &str| Search::new(Some(q)).matches(&r, Some(7), extra);
        assert!(m("", ""));
        assert!(m(" 7 ", ""));
        assert!(m("小明", ""));
        assert!(m("198", ""));
        assert!(m("wang@", ""));
        assert!(m("计算机", "计算机系"));
        assert!(!m("李", "计算机系"));
        assert!(!m("3", ""));
    }

    #[test]
    fn links_leave_out_empty_values() {
        assert_eq!(link("/t", &[("page", "2".into()), ("q", String::new())]), "/t?page=2");
        assert_eq!(link("/t", &[("q", String::new())]), "/t");
        assert_eq!(link("/t", &[("q", "王 五&".into())]), "/t?q=%E7%8E%8B+%E4%BA%94%26");
    }
}
