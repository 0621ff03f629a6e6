//! A department's sheet — one official table, one academic year, one department — as one
//! Automerge document (DESIGN.md decisions 1–4).
//!
//! ```text
//! ROOT { caiji: "sheet", edition, year, table, department, schema_version,
//!        rows: { <row id (UUIDv7)>: { <field id>: scalar, _order: Int, _deleted: Bool } } }
//! ```
//!
//! - Every sheet starts from a deterministic [genesis](Sheet::genesis): the same bytes wherever
//!   it is created, so a sheet made offline merges with the hub's. Nothing else is ever created
//!   lazily.
//! - Rows are keyed by a random id; cells are scalars (last writer wins per cell); rows are
//!   soft-deleted, never removed, so an edit concurrent with a delete is kept.
//! - Every change carries who, what and when: a JSON commit message ([`CommitInfo`]) and an
//!   explicit time (Automerge's Rust default would be 0).

mod diff;
mod history;
mod read;

use std::fmt;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, AutomergeError, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, ScalarValue};
use serde::{Deserialize, Serialize};

use crate::period::AcademicYear;
use crate::value::Value;

pub use diff::{CellChange, RowChange, SheetDiff};
pub use history::{CellEdit, ChangeInfo};
pub use read::Row;

/// The fixed actor of every genesis change. Never write anything else with it.
pub const GENESIS_ACTOR: [u8; 16] = *b"caiji.genesis.v1";

/// Row-map keys that are not fields (field ids never start with `_`).
pub(crate) const ORDER: &str = "_order";
pub(crate) const DELETED: &str = "_deleted";

/// Which sheet a document is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SheetId {
    pub edition: String,
    pub year: AcademicYear,
    pub table: String,
    /// Department code.
    pub department: String,
}

impl SheetId {
    pub fn new(edition: &str, year: AcademicYear, table: &str, department: &str) -> SheetId {
        SheetId { edition: edition.into(), year, table: table.into(), department: department.into() }
    }
}

impl std::str::FromStr for SheetId {
    type Err = SheetError;

    /// Parses the text form `2016/2025/A6-1-1/jsjx`.
    fn from_str(s: &str) -> Result<SheetId, SheetError> {
        let parts: Vec<&str> = s.split('/').collect();
        let bad = || SheetError::BadKey(s.chars().take(80).collect());
        let [edition, year, table, department] = parts.as_slice() else { return Err(bad()) };
        let year: i32 = year.parse().map_err(|_| bad())?;
        if [edition, table, department].iter().any(|p| p.is_empty() || p.len() > 40) {
            return Err(bad());
        }
        Ok(SheetId::new(edition, AcademicYear(year), table, department))
    }
}

impl fmt::Display for SheetId {
    /// `2016/2025/A6-1-1/jwc`: the document's stable key in stores and on the wire.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}/{}", self.edition, self.year.0, self.table, self.department)
    }
}

/// A row's id: a UUIDv7 in its text form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RowId(pub String);

impl RowId {
    /// A UUIDv7 from a time and random bytes (both passed in: this crate reads no clock).
    pub fn v7(unix_ms: u64, random: [u8; 10]) -> RowId {
        RowId(uuid::Builder::from_unix_timestamp_millis(unix_ms, &random).into_uuid().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A change to one row within [`Sheet::update_rows`].
#[derive(Debug, Clone, PartialEq)]
pub struct RowUpdate {
    pub row: RowId,
    /// Field id → new value (`None` clears the cell).
    pub cells: Vec<(String, Option<Value>)>,
    /// Undelete the row if it is soft-deleted.
    pub restore: bool,
}

/// Who makes a change, and when.
#[derive(Debug, Clone, Copy)]
pub struct Edit<'a> {
    /// The user's name or account, recorded in the commit message.
    pub user: &'a str,
    /// Unix seconds.
    pub time: i64,
}

/// What a change did, recorded in its commit message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Genesis,
    AddRow,
    Import,
    SetCell,
    UpdateRow,
    DeleteRow,
    RestoreRow,
    Rollover,
    /// Written by a newer version of caiji.
    #[serde(other)]
    Other,
}

impl Action {
    pub fn label(self) -> &'static str {
        match self {
            Action::Genesis => "创建",
            Action::AddRow => "新增行",
            Action::Import => "导入",
            Action::SetCell => "修改",
            Action::UpdateRow => "更新行",
            Action::DeleteRow => "删除行",
            Action::RestoreRow => "恢复行",
            Action::Rollover => "从上一学年结转",
            Action::Other => "其他",
        }
    }
}

/// The commit message of every caiji change, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitInfo {
    pub user: String,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl CommitInfo {
    /// Parses a commit message; messages not written by caiji give `None`.
    pub fn parse(message: Option<&str>) -> Option<CommitInfo> {
        serde_json::from_str(message?).ok()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    #[error("表格文档已损坏，无法读取：{0}")]
    Corrupt(#[source] AutomergeError),
    #[error("不是 caiji 表格文档：缺少「{0}」")]
    NotASheet(&'static str),
    #[error("表格文档属于 {found}，不是 {expected}")]
    WrongSheet { expected: Box<SheetId>, found: Box<SheetId> },
    #[error("行 {0} 不存在")]
    NoSuchRow(RowId),
    #[error("行 {0} 已存在")]
    RowExists(RowId),
    #[error("「{0}」不是有效的字段标识")]
    BadField(String),
    #[error("「{0}」不是有效的表格文档标识")]
    BadKey(String),
    #[error("表格文档操作失败：{0}")]
    Automerge(#[from] AutomergeError),
}

/// One department's sheet.
#[derive(Debug, Clone)]
pub struct Sheet {
    id: SheetId,
    schema_version: u32,
    doc: AutoCommit,
    /// The `rows` map, resolved once: it is created by the genesis and never replaced.
    rows: ObjId,
    /// The live row count and the highest row order at some heads, kept in step by this
    /// sheet's own writes; anything else (a merge, a sync message, `doc_mut`) moves the heads
    /// away from these, and they are counted again when next asked for.
    known: Option<Known>,
}

#[derive(Debug, Clone)]
struct Known {
    heads: Vec<ChangeHash>,
    live: usize,
    max_order: Option<i64>,
}

impl Sheet {
    /// The genesis of a sheet: a pure function of (edition, year, table, department, schema
    /// version), written by [`GENESIS_ACTOR`] at time 0, so every replica creates the same
    /// first change. Later writes use a fresh random actor.
    pub fn genesis(id: &SheetId, schema_version: u32) -> Sheet {
        let mut doc = AutoCommit::new().with_actor(ActorId::from(GENESIS_ACTOR));
        let rows = Self::write_genesis(&mut doc, id, schema_version)
            .expect("writing fixed scalars into a new document cannot fail");
        doc.commit_with(CommitOptions::default().with_time(0).with_message(genesis_message()));
        doc.set_actor(ActorId::random());
        Sheet { id: id.clone(), schema_version, doc, rows, known: None }
    }

    fn write_genesis(doc: &mut AutoCommit, id: &SheetId, schema_version: u32) -> Result<ObjId, AutomergeError> {
        doc.put(ROOT, "caiji", "sheet")?;
        doc.put(ROOT, "edition", id.edition.as_str())?;
        doc.put(ROOT, "year", i64::from(id.year.0))?;
        doc.put(ROOT, "table", id.table.as_str())?;
        doc.put(ROOT, "department", id.department.as_str())?;
        doc.put(ROOT, "schema_version", i64::from(schema_version))?;
        doc.put_object(ROOT, "rows", ObjType::Map)
    }

    /// The hash of a sheet's genesis change: what every replica of that sheet starts from.
    pub fn genesis_hash(id: &SheetId, schema_version: u32) -> ChangeHash {
        let mut doc = AutoCommit::new().with_actor(ActorId::from(GENESIS_ACTOR));
        Self::write_genesis(&mut doc, id, schema_version).expect("fixed scalars");
        doc.commit_with(CommitOptions::default().with_time(0).with_message(genesis_message()))
            .expect("the genesis has operations")
    }

    /// Loads a saved document (a snapshot, optionally followed by incremental chunks). The
    /// loaded sheet writes with a fresh random actor.
    pub fn load(bytes: &[u8]) -> Result<Sheet, SheetError> {
        let doc = AutoCommit::load(bytes).map_err(SheetError::Corrupt)?;
        Self::from_doc(doc)
    }

    /// Loads a document and checks it is the sheet `expected`.
    pub fn load_expecting(expected: &SheetId, bytes: &[u8]) -> Result<Sheet, SheetError> {
        let sheet = Self::load(bytes)?;
        if &sheet.id != expected {
            return Err(SheetError::WrongSheet { expected: Box::new(expected.clone()), found: Box::new(sheet.id) });
        }
        Ok(sheet)
    }

    fn from_doc(doc: AutoCommit) -> Result<Sheet, SheetError> {
        let (id, schema_version, rows) = Self::read_identity(&doc)?;
        Ok(Sheet { id, schema_version, doc, rows, known: None })
    }

    /// The sheet's identity as the document's root states it.
    fn read_identity(doc: &AutoCommit) -> Result<(SheetId, u32, ObjId), SheetError> {
        let text = |key: &'static str| -> Result<String, SheetError> {
            match doc.get(ROOT, key)? {
                Some((automerge::Value::Scalar(s), _)) => match s.as_ref() {
                    ScalarValue::Str(s) => Ok(s.to_string()),
                    _ => Err(SheetError::NotASheet(key)),
                },
                _ => Err(SheetError::NotASheet(key)),
            }
        };
        let int = |key: &'static str| -> Result<i64, SheetError> {
            match doc.get(ROOT, key)? {
                Some((automerge::Value::Scalar(s), _)) => match s.as_ref() {
                    ScalarValue::Int(i) => Ok(*i),
                    _ => Err(SheetError::NotASheet(key)),
                },
                _ => Err(SheetError::NotASheet(key)),
            }
        };
        if text("caiji")? != "sheet" {
            return Err(SheetError::NotASheet("caiji"));
        }
        let year = i32::try_from(int("year")?).map_err(|_| SheetError::NotASheet("year"))?;
        let schema_version =
            u32::try_from(int("schema_version")?).map_err(|_| SheetError::NotASheet("schema_version"))?;
        let id = SheetId {
            edition: text("edition")?,
            year: AcademicYear(year),
            table: text("table")?,
            department: text("department")?,
        };
        let rows = match doc.get(ROOT, "rows")? {
            Some((automerge::Value::Object(ObjType::Map), id)) => id,
            _ => return Err(SheetError::NotASheet("rows")),
        };
        Ok((id, schema_version, rows))
    }

    pub fn id(&self) -> &SheetId {
        &self.id
    }

    /// Checks that the document is still exactly this sheet after changes from elsewhere were
    /// applied: every identity key at the root has one value (a document grown from a foreign
    /// genesis conflicts on all of them), the values name this sheet, and `rows` is the
    /// genesis's map. The hub refuses a sync message that breaks this.
    pub fn verify_identity(&self) -> Result<(), SheetError> {
        for key in ["caiji", "edition", "year", "table", "department", "schema_version", "rows"] {
            let all = self.doc.get_all(ROOT, key)?;
            if all.len() != 1 {
                return Err(SheetError::NotASheet("唯一的文档标识"));
            }
        }
        let (id, schema_version, rows) = Self::read_identity(&self.doc)?;
        if id != self.id || schema_version != self.schema_version {
            return Err(SheetError::WrongSheet { expected: Box::new(self.id.clone()), found: Box::new(id) });
        }
        match &rows {
            ObjId::Id(_, actor, _) if actor.to_bytes() == GENESIS_ACTOR => Ok(()),
            _ => Err(SheetError::NotASheet("rows")),
        }
    }

    /// The current heads as raw hashes (for the sync summary).
    pub fn heads_raw(&mut self) -> Vec<[u8; 32]> {
        self.heads().iter().map(|h| h.0).collect()
    }

    pub fn schema_version(&self) -> u32 {
        self.schema_version
    }

    /// Replaces this process's actor (tests use fixed actors for reproducible winners).
    pub fn set_actor(&mut self, actor: ActorId) {
        self.doc.set_actor(actor);
    }

    pub fn actor(&self) -> &ActorId {
        self.doc.get_actor()
    }

    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// The whole document, compressed.
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// The changes not contained in `heads`, for incremental storage.
    pub fn save_after(&mut self, heads: &[ChangeHash]) -> Vec<u8> {
        self.doc.save_after(heads)
    }

    /// The underlying document, for sync. Writes must go through the methods of `Sheet`.
    pub fn doc_mut(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    pub fn doc(&self) -> &AutoCommit {
        &self.doc
    }

    /// Merges another replica of the same sheet into this one.
    pub fn merge(&mut self, other: &mut Sheet) -> Result<(), SheetError> {
        if other.id != self.id {
            return Err(SheetError::WrongSheet {
                expected: Box::new(self.id.clone()),
                found: Box::new(other.id.clone()),
            });
        }
        self.doc.merge(&mut other.doc)?;
        Ok(())
    }

    /// The sheet as it was at `heads`, as a new replica with a fresh actor.
    pub fn fork_at(&mut self, heads: &[ChangeHash]) -> Result<Sheet, SheetError> {
        let doc = self.doc.fork_at(heads)?;
        Ok(Sheet {
            id: self.id.clone(),
            schema_version: self.schema_version,
            doc,
            rows: self.rows.clone(),
            known: None,
        })
    }

    // ---- writes -------------------------------------------------------------------------

    fn commit(&mut self, edit: Edit, action: Action, note: Option<String>) -> Option<ChangeHash> {
        let info = CommitInfo { user: edit.user.to_string(), action, note };
        let message = serde_json::to_string(&info).expect("CommitInfo serialises");
        self.doc.commit_with(CommitOptions::default().with_message(message).with_time(edit.time))
    }

    fn check_field(field: &str) -> Result<(), SheetError> {
        if field.is_empty() || field.starts_with('_') {
            return Err(SheetError::BadField(field.to_string()));
        }
        Ok(())
    }

    fn row_map(value: &[(String, Value)], order: i64) -> Result<automerge::hydrate::Value, SheetError> {
        use automerge::hydrate;
        let mut map = std::collections::HashMap::with_capacity(value.len() + 2);
        for (field, v) in value {
            Self::check_field(field)?;
            map.insert(field.clone(), hydrate::Value::Scalar(scalar(v)));
        }
        map.insert(ORDER.to_string(), hydrate::Value::Scalar(ScalarValue::Int(order)));
        map.insert(DELETED.to_string(), hydrate::Value::Scalar(ScalarValue::Boolean(false)));
        Ok(hydrate::Value::Map(hydrate::Map::from(map)))
    }

    /// Adds one row, in one change.
    pub fn add_row(&mut self, edit: Edit, row: &RowId, cells: &[(String, Value)]) -> Result<ChangeHash, SheetError> {
        let order = self.next_order();
        self.insert_row(row, cells, order)?;
        let h = self.commit(edit, Action::AddRow, None).expect("a new row is a change");
        self.counted(h, 1, Some(order));
        Ok(h)
    }

    fn insert_row(&mut self, row: &RowId, cells: &[(String, Value)], order: i64) -> Result<(), SheetError> {
        if self.doc.get(&self.rows, row.as_str())?.is_some() {
            self.doc.rollback();
            return Err(SheetError::RowExists(row.clone()));
        }
        let value = match Self::row_map(cells, order) {
            Ok(v) => v,
            Err(e) => {
                self.doc.rollback();
                return Err(e);
            }
        };
        let rows = self.rows.clone();
        self.doc.batch_create_object(&rows, row.as_str(), &value, false)?;
        Ok(())
    }

    /// Adds many rows (an import), committing every `batch` rows: several moderate changes sync
    /// and diff far better than one huge one (automerge-notes §7). Returns the change hashes.
    /// On error nothing of the failing batch is committed; earlier batches are.
    pub fn add_rows(
        &mut self,
        edit: Edit,
        rows: &[(RowId, Vec<(String, Value)>)],
        batch: usize,
        note: Option<&str>,
    ) -> Result<Vec<ChangeHash>, SheetError> {
        let mut order = self.next_order();
        let mut hashes = Vec::new();
        for chunk in rows.chunks(batch.max(1)) {
            for (id, cells) in chunk {
                if let Err(e) = self.insert_row(id, cells, order) {
                    self.known = None;
                    return Err(e);
                }
                order += 1;
            }
            if let Some(h) = self.commit(edit, Action::Import, note.map(String::from)) {
                self.counted(h, chunk.len() as isize, Some(order - 1));
                hashes.push(h);
            }
        }
        Ok(hashes)
    }

    /// Starts a new year's sheet from last year's rows (same row ids), recorded as a rollover.
    pub fn carry_over(
        &mut self,
        edit: Edit,
        rows: &[(RowId, Vec<(String, Value)>)],
        note: &str,
    ) -> Result<(), SheetError> {
        let first = self.next_order();
        for (order, (id, cells)) in (first..).zip(rows) {
            if let Err(e) = self.insert_row(id, cells, order) {
                self.known = None;
                return Err(e);
            }
        }
        if let Some(h) = self.commit(edit, Action::Rollover, Some(note.to_string())) {
            self.counted(h, rows.len() as isize, Some(first + rows.len() as i64 - 1));
        }
        Ok(())
    }

    /// Sets (or, with `None`, clears) one cell, in one change. Returns `None` when the cell
    /// already had that value (nothing is written).
    pub fn set_cell(
        &mut self,
        edit: Edit,
        row: &RowId,
        field: &str,
        value: Option<&Value>,
    ) -> Result<Option<ChangeHash>, SheetError> {
        let known = self.fresh_known();
        self.write_cells(row, &[(field.to_string(), value.cloned())])?;
        let h = self.commit(edit, Action::SetCell, None);
        self.known = known;
        if let Some(h) = h {
            self.counted(h, 0, None);
        }
        Ok(h)
    }

    /// Sets several cells of one row in one change (e.g. a re-import of a changed row).
    pub fn update_row(
        &mut self,
        edit: Edit,
        row: &RowId,
        cells: &[(String, Option<Value>)],
        note: Option<&str>,
    ) -> Result<Option<ChangeHash>, SheetError> {
        let known = self.fresh_known();
        self.write_cells(row, cells)?;
        let h = self.commit(edit, Action::UpdateRow, note.map(String::from));
        self.known = known;
        if let Some(h) = h {
            self.counted(h, 0, None);
        }
        Ok(h)
    }

    /// Updates many rows (a re-import), committing every `batch` rows. Each update names the
    /// row, the cells to set or clear, and whether to restore the row if it was deleted.
    /// Rows whose cells already hold those values produce no change.
    pub fn update_rows(
        &mut self,
        edit: Edit,
        updates: &[RowUpdate],
        batch: usize,
        note: Option<&str>,
    ) -> Result<Vec<ChangeHash>, SheetError> {
        // Restores change the live count: counted again when next asked for.
        self.known = None;
        let mut hashes = Vec::new();
        for chunk in updates.chunks(batch.max(1)) {
            for u in chunk {
                self.write_cells(&u.row, &u.cells)?;
                if u.restore {
                    let obj = self.row_obj(&u.row)?;
                    if read::is_deleted(&self.doc, &obj, None) {
                        self.doc.put(&obj, DELETED, false)?;
                    }
                }
            }
            if let Some(h) = self.commit(edit, Action::Import, note.map(String::from)) {
                hashes.push(h);
            }
        }
        Ok(hashes)
    }

    fn write_cells(&mut self, row: &RowId, cells: &[(String, Option<Value>)]) -> Result<(), SheetError> {
        let obj = match self.row_obj(row) {
            Ok(o) => o,
            Err(e) => {
                self.doc.rollback();
                return Err(e);
            }
        };
        for (field, value) in cells {
            if let Err(e) = Self::check_field(field) {
                self.doc.rollback();
                return Err(e);
            }
            let current = read::cell(&self.doc, &obj, field, None);
            if current.as_ref() == value.as_ref() {
                continue;
            }
            match value {
                Some(v) => self.doc.put(&obj, field.as_str(), scalar(v))?,
                None => self.doc.delete(&obj, field.as_str())?,
            }
        }
        Ok(())
    }

    /// Soft-deletes a row: it stays in the document, flagged, so nothing is lost.
    pub fn delete_row(&mut self, edit: Edit, row: &RowId) -> Result<Option<ChangeHash>, SheetError> {
        self.set_deleted(edit, row, true, Action::DeleteRow)
    }

    pub fn restore_row(&mut self, edit: Edit, row: &RowId) -> Result<Option<ChangeHash>, SheetError> {
        self.set_deleted(edit, row, false, Action::RestoreRow)
    }

    fn set_deleted(
        &mut self,
        edit: Edit,
        row: &RowId,
        deleted: bool,
        action: Action,
    ) -> Result<Option<ChangeHash>, SheetError> {
        let obj = self.row_obj(row)?;
        if read::is_deleted(&self.doc, &obj, None) == deleted {
            return Ok(None);
        }
        let known = self.fresh_known();
        self.doc.put(&obj, DELETED, deleted)?;
        let h = self.commit(edit, action, None);
        self.known = known;
        if let Some(h) = h {
            self.counted(h, if deleted { -1 } else { 1 }, None);
        }
        Ok(h)
    }

    fn row_obj(&self, row: &RowId) -> Result<ObjId, SheetError> {
        match self.doc.get(&self.rows, row.as_str())? {
            Some((automerge::Value::Object(ObjType::Map), id)) => Ok(id),
            _ => Err(SheetError::NoSuchRow(row.clone())),
        }
    }

    fn next_order(&mut self) -> i64 {
        self.known().max_order.map_or(1, |m| m + 1)
    }

    /// The live count and highest order now: remembered, or counted (reading every row).
    fn known(&mut self) -> Known {
        if let Some(k) = self.fresh_known() {
            return k;
        }
        let heads = self.doc.get_heads();
        let k = Known { heads, live: self.live_count(), max_order: read::max_order(&self.doc, &self.rows) };
        self.known = Some(k.clone());
        k
    }

    /// What is remembered, if it is of the sheet as it is now.
    fn fresh_known(&mut self) -> Option<Known> {
        let heads = self.doc.get_heads();
        self.known.clone().filter(|k| k.heads == heads)
    }

    /// After this sheet's own change `h` (made on the sheet as remembered, if it is), which
    /// changed the live count by `delta` and created rows up to `order`.
    fn counted(&mut self, h: ChangeHash, delta: isize, order: Option<i64>) {
        self.known = self.known.take().map(|k| Known {
            // A local change depends on every head there was, so it is now the only one.
            heads: vec![h],
            live: k.live.saturating_add_signed(delta),
            max_order: k.max_order.max(order),
        });
    }

    /// The number of rows that are not deleted, remembered across this sheet's own edits
    /// (so storing a one-cell edit does not read all 10,000 rows again).
    pub fn live_count_now(&mut self) -> usize {
        self.known().live
    }
}

fn genesis_message() -> String {
    serde_json::to_string(&CommitInfo { user: String::new(), action: Action::Genesis, note: None }).expect("serialises")
}

pub(crate) fn scalar(v: &Value) -> ScalarValue {
    match v {
        Value::Int(i) => ScalarValue::Int(*i),
        Value::Text(s) => ScalarValue::Str(s.as_str().into()),
    }
}

#[cfg(test)]
mod tests;
