//! Sheets kept in SQLite as Automerge chunks, shared by the agent's and the hub's stores.
//!
//! Each sheet is one row in `sheets` (its key, identity, the heads its chunks bring it to) and
//! its chunks in `chunks`: one snapshot followed by incremental chunks (`save_after` the heads
//! last stored), loaded by concatenation. [`Docs`] caches loaded sheets and writes the chunks of
//! the sheets a transaction touched; the caller commits (or, on failure, evicts).

use std::collections::HashMap;

use automerge::ChangeHash;
use caiji_shared::sheet::{Sheet, SheetError, SheetId};
use rusqlite::{Connection, Transaction, params};

/// Compact a sheet once it has this many incremental chunks.
pub const COMPACT_CHUNKS: usize = 32;

/// The `sheets` and `chunks` tables, for each side's first migration.
pub const SCHEMA: &str = r#"
-- One row per sheet that has ever been stored: the heads its stored chunks bring it to.
CREATE TABLE sheets (
    sheet      TEXT PRIMARY KEY,          -- SheetId text: edition/year/table/department
    edition    TEXT NOT NULL,
    year       INTEGER NOT NULL,
    table_id   TEXT NOT NULL,
    department TEXT NOT NULL,
    heads      TEXT NOT NULL,             -- JSON array of change hashes (hex)
    live_rows  INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- A sheet is its snapshot followed by its incremental chunks, in id order.
CREATE TABLE chunks (
    id    INTEGER PRIMARY KEY AUTOINCREMENT,
    sheet TEXT NOT NULL REFERENCES sheets(sheet),
    kind  TEXT NOT NULL CHECK (kind IN ('snapshot', 'incremental')),
    data  BLOB NOT NULL
);
CREATE INDEX chunks_by_sheet ON chunks(sheet, id);
"#;

#[derive(Debug, thiserror::Error)]
pub enum DocError {
    #[error("数据库出错：{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("数据库由更新版本的 caiji 创建（版本 {0}），请升级 caiji")]
    TooNew(i64),
    #[error("表「{table}」的数据无法读取：{source}")]
    Sheet { table: String, source: Box<SheetError> },
}

/// A sheet held in memory, with what is known to be on disk.
struct Loaded {
    sheet: Sheet,
    /// The heads the stored chunks bring the sheet to.
    saved: Vec<ChangeHash>,
    /// Whether the sheet has a row in `sheets` (a new sheet is first stored as a snapshot).
    stored: bool,
    chunks: usize,
    /// When it was last used (a counter), for trimming the cache.
    used: u64,
}

/// What a transaction wrote for one sheet, applied to the cache once it commits.
pub struct Written {
    id: SheetId,
    heads: Vec<ChangeHash>,
    chunks: usize,
}

impl Written {
    pub fn id(&self) -> &SheetId {
        &self.id
    }
}

/// Loaded sheets, by id.
pub struct Docs {
    schema_version: u32,
    loaded: HashMap<SheetId, Loaded>,
    clock: u64,
}

/// Opens (creating if needed) a SQLite database the way both stores use it — WAL,
/// `synchronous=FULL` (a committed transaction survives a power cut), foreign keys — and
/// applies the `migrations` not yet applied, each in one transaction, recording the count in
/// `PRAGMA user_version`.
pub fn connect(path: &std::path::Path, migrations: &[&[&str]]) -> Result<Connection, DocError> {
    let mut conn = Connection::open(path)?;
    // First, so that even the journal-mode switch waits for a running `serve` that is writing
    // (without it, a command run beside `serve` could fail at once with "database is locked").
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > migrations.len() as i64 {
        return Err(DocError::TooNew(version));
    }
    for (i, scripts) in migrations.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        for sql in *scripts {
            tx.execute_batch(sql)?;
        }
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(conn)
}

/// Unix seconds now.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A department code: ASCII lower-case letters, digits and "-", at most 32 characters.
pub fn valid_code(s: &str) -> bool {
    !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Heads as stored in `sheets.heads`.
pub fn heads_json(heads: &[ChangeHash]) -> String {
    serde_json::to_string(&heads.iter().map(ToString::to_string).collect::<Vec<_>>()).expect("strings serialise")
}

/// Parses `sheets.heads`; unreadable heads read as none (the sheet then simply syncs).
pub fn parse_heads(json: &str) -> Vec<ChangeHash> {
    serde_json::from_str::<Vec<String>>(json).unwrap_or_default().iter().filter_map(|h| h.parse().ok()).collect()
}

impl Docs {
    pub fn new(schema_version: u32) -> Docs {
        Docs { schema_version, loaded: HashMap::new(), clock: 0 }
    }

    /// The sheet `id`: from the cache, from disk, or its genesis if never stored.
    pub fn get(&mut self, conn: &Connection, id: &SheetId) -> Result<&mut Sheet, DocError> {
        if !self.loaded.contains_key(id) {
            let key = id.to_string();
            let mut stmt =
                conn.prepare("SELECT data FROM chunks WHERE sheet = ?1 ORDER BY kind = 'incremental', id")?;
            let chunks: Vec<Vec<u8>> = stmt.query_map([&key], |r| r.get(0))?.collect::<Result<_, _>>()?;
            let loaded = if chunks.is_empty() {
                Loaded {
                    sheet: Sheet::genesis(id, self.schema_version),
                    saved: Vec::new(),
                    stored: false,
                    chunks: 0,
                    used: 0,
                }
            } else {
                let mut sheet = Sheet::load_expecting(id, &chunks.concat())
                    .map_err(|e| DocError::Sheet { table: id.table.clone(), source: Box::new(e) })?;
                let saved = sheet.heads();
                Loaded { sheet, saved, stored: true, chunks: chunks.len(), used: 0 }
            };
            self.loaded.insert(id.clone(), loaded);
        }
        self.clock += 1;
        let loaded = self.loaded.get_mut(id).expect("loaded above");
        loaded.used = self.clock;
        Ok(&mut loaded.sheet)
    }

    /// Keeps at most `max` sheets in memory, dropping the least recently used ones that have
    /// nothing unsaved (a server with many departments must not hold every sheet forever).
    pub fn trim(&mut self, max: usize) {
        if self.loaded.len() <= max {
            return;
        }
        let mut clean: Vec<(u64, SheetId)> = self
            .loaded
            .iter_mut()
            .filter_map(|(id, l)| (l.stored && l.sheet.heads() == l.saved).then(|| (l.used, id.clone())))
            .collect();
        clean.sort();
        let excess = self.loaded.len() - max;
        for (_, id) in clean.into_iter().take(excess) {
            self.loaded.remove(&id);
        }
    }

    /// Writes, inside `tx`, the chunks of every sheet in `ids` that changed since it was last
    /// stored. Call [`Docs::committed`] after `tx` commits, or [`Docs::evict`] if it does not.
    pub fn persist(&mut self, tx: &Transaction, ids: &[SheetId], now: i64) -> Result<Vec<Written>, DocError> {
        let mut written = Vec::new();
        for id in ids {
            let Some(loaded) = self.loaded.get_mut(id) else { continue };
            let heads = loaded.sheet.heads();
            if heads == loaded.saved && loaded.stored {
                continue;
            }
            let key = id.to_string();
            let live = loaded.sheet.live_count_now() as i64;
            tx.execute(
                "INSERT INTO sheets (sheet, edition, year, table_id, department, heads, live_rows, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT(sheet) DO UPDATE SET heads = excluded.heads, live_rows = excluded.live_rows,
                     updated_at = excluded.updated_at",
                params![key, id.edition, id.year.0, id.table, id.department, heads_json(&heads), live, now],
            )?;
            let chunks = if !loaded.stored || loaded.chunks + 1 > COMPACT_CHUNKS {
                tx.execute("DELETE FROM chunks WHERE sheet = ?1", [&key])?;
                tx.execute(
                    "INSERT INTO chunks (sheet, kind, data) VALUES (?1, 'snapshot', ?2)",
                    params![key, loaded.sheet.save()],
                )?;
                1
            } else {
                let bytes = loaded.sheet.save_after(&loaded.saved);
                tx.execute(
                    "INSERT INTO chunks (sheet, kind, data) VALUES (?1, 'incremental', ?2)",
                    params![key, bytes],
                )?;
                loaded.chunks + 1
            };
            written.push(Written { id: id.clone(), heads, chunks });
        }
        Ok(written)
    }

    /// Records that the transaction holding `written` committed.
    pub fn committed(&mut self, written: Vec<Written>) {
        for w in written {
            if let Some(l) = self.loaded.get_mut(&w.id) {
                l.saved = w.heads;
                l.stored = true;
                l.chunks = w.chunks;
            }
        }
    }

    /// Drops every sheet from the cache (after a panic left them in an unknown state).
    pub fn clear(&mut self) {
        self.loaded.clear();
    }

    /// Drops sheets from the cache (after a failed transaction: they are re-read from disk).
    pub fn evict(&mut self, ids: &[SheetId]) {
        for id in ids {
            self.loaded.remove(id);
        }
    }

    /// The number of stored chunks of a sheet.
    pub fn chunk_count(conn: &Connection, id: &SheetId) -> Result<usize, DocError> {
        let n: i64 = conn.query_row("SELECT COUNT(*) FROM chunks WHERE sheet = ?1", [id.to_string()], |r| r.get(0))?;
        Ok(n as usize)
    }
}
