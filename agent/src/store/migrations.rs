//! The agent's SQLite schema, as migrations applied in order and recorded in
//! `PRAGMA user_version`. Append-only: never edit a migration that has shipped, add a new one.

pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the agent, its sheets as Automerge chunks, actors and the import log.
    r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- One row per sheet that has ever been written: the heads its stored chunks bring it to.
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
-- Which person wrote with which Automerge actor, so history shows people.
CREATE TABLE actors (
    actor      TEXT PRIMARY KEY,
    user       TEXT NOT NULL,
    agent      TEXT NOT NULL,
    first_seen INTEGER NOT NULL
);
CREATE TABLE imports (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       INTEGER NOT NULL,
    user     TEXT NOT NULL,
    file     TEXT NOT NULL,
    tables   TEXT NOT NULL,               -- JSON array of table ids
    added    INTEGER NOT NULL,
    updated  INTEGER NOT NULL,
    errors   INTEGER NOT NULL,
    warnings INTEGER NOT NULL
);
"#,
];
