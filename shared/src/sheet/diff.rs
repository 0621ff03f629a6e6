//! What changed between two versions of a sheet, by row and cell: what the office sees when a
//! department resubmits ("only the diff"), and "changed since submission".

use std::collections::{BTreeMap, BTreeSet};

use automerge::ChangeHash;
use serde::{Deserialize, Serialize};

use super::{Row, RowId, Sheet};
use crate::value::Value;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SheetDiff {
    /// Rows live at `after` that were absent or deleted at `before` (restored rows too).
    pub added: Vec<Row>,
    /// Rows live at `before` that are deleted (or absent) at `after`, as they were at `before`.
    pub removed: Vec<Row>,
    /// Rows live at both with at least one cell changed.
    pub changed: Vec<RowChange>,
}

impl SheetDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowChange {
    pub row: RowId,
    pub cells: Vec<CellChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellChange {
    pub field: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

impl Sheet {
    /// The difference between the sheet at `before` and at `after` (heads; either may be
    /// empty for "nothing").
    pub fn diff(&self, before: &[ChangeHash], after: &[ChangeHash]) -> SheetDiff {
        let at =
            |heads: &[ChangeHash]| -> Vec<Row> { if heads.is_empty() { Vec::new() } else { self.live_rows_at(heads) } };
        Self::diff_rows(&at(before), &at(after))
    }

    /// The difference between two lists of live rows already read (e.g. at two submissions),
    /// as [`Sheet::diff`] gives it for their heads.
    pub fn diff_rows<'r>(
        before: impl IntoIterator<Item = &'r Row>,
        after: impl IntoIterator<Item = &'r Row>,
    ) -> SheetDiff {
        diff_rows(&by_id(before), &by_id(after))
    }

    /// What changed since `heads` (e.g. since the last submission) up to now.
    pub fn diff_since(&mut self, heads: &[ChangeHash]) -> SheetDiff {
        let now = self.heads();
        self.diff(heads, &now)
    }
}

fn by_id<'r>(rows: impl IntoIterator<Item = &'r Row>) -> BTreeMap<&'r RowId, &'r Row> {
    rows.into_iter().map(|r| (&r.id, r)).collect()
}

fn diff_rows(before: &BTreeMap<&RowId, &Row>, after: &BTreeMap<&RowId, &Row>) -> SheetDiff {
    let mut diff = SheetDiff::default();
    for (id, row) in after {
        match before.get(id) {
            None => diff.added.push((*row).clone()),
            Some(old) if old.cells == row.cells => {}
            Some(old) => {
                let fields: BTreeSet<&String> = old.cells.keys().chain(row.cells.keys()).collect();
                let cells: Vec<CellChange> = fields
                    .into_iter()
                    .filter_map(|f| {
                        let (o, n) = (old.cells.get(f), row.cells.get(f));
                        (o != n).then(|| CellChange { field: f.clone(), old: o.cloned(), new: n.cloned() })
                    })
                    .collect();
                if !cells.is_empty() {
                    diff.changed.push(RowChange { row: (*id).clone(), cells });
                }
            }
        }
    }
    diff.removed = before.iter().filter(|(id, _)| !after.contains_key(*id)).map(|(_, r)| (*r).clone()).collect();
    let order = |r: &Row| (r.order, r.id.clone());
    diff.added.sort_by_key(order);
    diff.removed.sort_by_key(order);
    diff
}
