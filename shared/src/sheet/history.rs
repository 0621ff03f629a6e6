//! The record a sheet keeps of itself: every change with who, what and when, and the history
//! of one cell ("who changed this, when, from what").

use automerge::legacy::{Key, ObjectId, OpType};
use automerge::{ChangeHash, ObjId};
use serde::{Deserialize, Serialize};

use super::read::cell;
use super::{Action, CommitInfo, RowId, Sheet, SheetError};
use crate::value::Value;

/// One change of a sheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeInfo {
    pub hash: String,
    /// Hex actor id: the store maps it to the agent or user that wrote it.
    pub actor: String,
    pub seq: u64,
    /// Unix seconds, as the writer recorded it.
    pub time: i64,
    /// From the commit message; empty when the change was not written by caiji.
    pub user: String,
    pub action: Action,
    pub note: Option<String>,
}

/// One change of one cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellEdit {
    pub change: ChangeInfo,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

impl Sheet {
    /// Every change, in causal order.
    pub fn changes(&mut self) -> Vec<ChangeInfo> {
        self.doc
            .get_changes_meta(&[])
            .into_iter()
            .map(|m| info(m.hash, &m.actor, m.seq, m.timestamp, m.message.as_deref()))
            .collect()
    }

    /// The history of one cell, oldest first: each change that set or cleared it, with the
    /// value before (as seen by that change) and after.
    pub fn cell_history(&mut self, row: &RowId, field: &str) -> Result<Vec<CellEdit>, SheetError> {
        let obj = self.row_obj(row)?;
        let ObjId::Id(counter, actor, _) = &obj else { return Err(SheetError::NoSuchRow(row.clone())) };
        let mut out = Vec::new();
        for change in self.doc.get_changes(&[]) {
            // Only changes with an operation on this row's `field` (or creating the row) can
            // change the cell: find them by decoding, then read the value before and after.
            let touches = change.decode().operations.iter().any(|op| {
                matches!(&op.obj, ObjectId::Id(id) if id.0 == *counter && &id.1 == actor)
                    && matches!(&op.key, Key::Map(k) if k.as_str() == field)
                    && matches!(op.action, OpType::Put(_) | OpType::Delete)
            });
            if !touches {
                continue;
            }
            let hash = change.hash();
            let old = if change.deps().is_empty() { None } else { cell(&self.doc, &obj, field, Some(change.deps())) };
            let new = cell(&self.doc, &obj, field, Some(&[hash]));
            if old == new {
                continue;
            }
            let change = info(hash, change.actor_id(), change.seq(), change.timestamp(), change.message());
            out.push(CellEdit { change, old, new });
        }
        Ok(out)
    }
}

fn info(hash: ChangeHash, actor: &automerge::ActorId, seq: u64, time: i64, message: Option<&str>) -> ChangeInfo {
    let parsed = CommitInfo::parse(message);
    ChangeInfo {
        hash: hash.to_string(),
        actor: actor.to_hex_string(),
        seq,
        time,
        user: parsed.as_ref().map(|c| c.user.clone()).unwrap_or_default(),
        action: parsed.as_ref().map_or(Action::Other, |c| c.action),
        note: parsed.and_then(|c| c.note),
    }
}
