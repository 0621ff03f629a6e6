//! Reading rows, now or as they were at given heads.

use std::collections::BTreeMap;

use automerge::{AutoCommit, ChangeHash, ObjId, ObjType, ReadDoc, ScalarValue};
use serde::{Deserialize, Serialize};

use super::{DELETED, ORDER, RowId, Sheet};
use crate::value::Value;

/// One row as stored: soft-deleted rows are included, flagged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub id: RowId,
    pub order: i64,
    pub deleted: bool,
    pub cells: BTreeMap<String, Value>,
}

/// A cell value from a stored scalar; anything caiji does not write itself (floats, bytes,
/// counters from a foreign writer) is shown as text rather than dropped.
pub(crate) fn to_value(s: &ScalarValue) -> Option<Value> {
    Some(match s {
        ScalarValue::Str(s) => Value::Text(s.to_string()),
        ScalarValue::Int(i) => Value::Int(*i),
        ScalarValue::Uint(u) => Value::Int(i64::try_from(*u).unwrap_or(i64::MAX)),
        ScalarValue::Null => return None,
        ScalarValue::F64(f) => Value::Text(f.to_string()),
        ScalarValue::Boolean(b) => Value::Text(if *b { "是" } else { "否" }.into()),
        other => Value::Text(other.to_string()),
    })
}

fn scalar_at(doc: &AutoCommit, obj: &ObjId, key: &str, heads: Option<&[ChangeHash]>) -> Option<ScalarValue> {
    let got = match heads {
        Some(h) => doc.get_at(obj, key, h),
        None => doc.get(obj, key),
    };
    match got {
        Ok(Some((automerge::Value::Scalar(s), _))) => Some(s.into_owned()),
        _ => None,
    }
}

pub(crate) fn cell(doc: &AutoCommit, row: &ObjId, field: &str, heads: Option<&[ChangeHash]>) -> Option<Value> {
    scalar_at(doc, row, field, heads).as_ref().and_then(to_value)
}

pub(crate) fn is_deleted(doc: &AutoCommit, row: &ObjId, heads: Option<&[ChangeHash]>) -> bool {
    matches!(scalar_at(doc, row, DELETED, heads), Some(ScalarValue::Boolean(true)))
}

pub(crate) fn max_order(doc: &AutoCommit, rows: &ObjId) -> Option<i64> {
    doc.map_range(rows, ..)
        .filter_map(|item| match scalar_at(doc, &item.id(), ORDER, None) {
            Some(ScalarValue::Int(i)) => Some(i),
            _ => None,
        })
        .max()
}

fn read_row(doc: &AutoCommit, id: String, obj: &ObjId, heads: Option<&[ChangeHash]>) -> Row {
    let mut row = Row { id: RowId(id), order: 0, deleted: false, cells: BTreeMap::new() };
    let items: Vec<(String, ScalarValue)> = match heads {
        Some(h) => {
            doc.map_range_at(obj, .., h).filter_map(|i| scalar_of(i.value).map(|s| (i.key.into_owned(), s))).collect()
        }
        None => doc.map_range(obj, ..).filter_map(|i| scalar_of(i.value).map(|s| (i.key.into_owned(), s))).collect(),
    };
    for (key, s) in items {
        match key.as_str() {
            ORDER => row.order = if let ScalarValue::Int(i) = s { i } else { 0 },
            DELETED => row.deleted = matches!(s, ScalarValue::Boolean(true)),
            _ => {
                if let Some(v) = to_value(&s) {
                    row.cells.insert(key, v);
                }
            }
        }
    }
    row
}

fn scalar_of(v: automerge::ValueRef<'_>) -> Option<ScalarValue> {
    match v.into_value() {
        automerge::Value::Scalar(s) => Some(s.into_owned()),
        automerge::Value::Object(_) => None,
    }
}

impl Sheet {
    /// Every row, soft-deleted ones included, in row order (order, then id).
    pub fn rows(&self) -> Vec<Row> {
        self.rows_impl(None)
    }

    /// Every row as it was at `heads`.
    pub fn rows_at(&self, heads: &[ChangeHash]) -> Vec<Row> {
        self.rows_impl(Some(heads))
    }

    /// The rows that are not deleted, in order: what the user sees, numbered from 1.
    pub fn live_rows(&self) -> Vec<Row> {
        self.rows().into_iter().filter(|r| !r.deleted).collect()
    }

    /// The number of rows that are not deleted (without reading their cells).
    pub fn live_count(&self) -> usize {
        self.doc.map_range(&self.rows, ..).filter(|i| !is_deleted(&self.doc, &i.id(), None)).count()
    }

    pub fn live_rows_at(&self, heads: &[ChangeHash]) -> Vec<Row> {
        self.rows_at(heads).into_iter().filter(|r| !r.deleted).collect()
    }

    pub fn row(&self, id: &RowId) -> Option<Row> {
        let obj = self.row_obj(id).ok()?;
        Some(read_row(&self.doc, id.0.clone(), &obj, None))
    }

    fn rows_impl(&self, heads: Option<&[ChangeHash]>) -> Vec<Row> {
        let items: Vec<(String, ObjId)> = match heads {
            Some(h) => self
                .doc
                .map_range_at(&self.rows, .., h)
                .filter(|i| matches!(i.value, automerge::ValueRef::Object(ObjType::Map)))
                .map(|i| (i.key.to_string(), i.id()))
                .collect(),
            None => self
                .doc
                .map_range(&self.rows, ..)
                .filter(|i| matches!(i.value, automerge::ValueRef::Object(ObjType::Map)))
                .map(|i| (i.key.to_string(), i.id()))
                .collect(),
        };
        let mut rows: Vec<Row> = items.into_iter().map(|(id, obj)| read_row(&self.doc, id, &obj, heads)).collect();
        rows.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.id.cmp(&b.id)));
        rows
    }
}
