//! The agent's SQLite schema, as migrations applied in order and recorded in
//! `PRAGMA user_version`. Append-only: never edit a migration that has shipped, add a new one.

/// Each migration is a list of SQL scripts run in one transaction.
pub(super) const MIGRATIONS: &[&[&str]] = &[
    // 1: the agent, its sheets as Automerge chunks, actors and the import log.
    &[crate::docstore::SCHEMA, V1],
    // 2: the hub this agent syncs with, per-sheet sync state, and the office's plan.
    &[V2],
];

const V2: &str = r#"
-- The hub, once enrolled. The token is the agent's credential (the hub keeps only its hash).
CREATE TABLE hub (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    url         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    token       TEXT NOT NULL,
    agent_id    TEXT NOT NULL,
    school      TEXT NOT NULL,
    enrolled_at INTEGER NOT NULL
);
-- Per sheet: the Automerge sync state with the hub, the heads the hub is known to have, when
-- it last synced and the last refusal.
CREATE TABLE sync_sheets (
    sheet      TEXT PRIMARY KEY,
    state      BLOB,
    hub_heads  TEXT,
    last_ok    INTEGER,
    last_error TEXT
);
-- The office's collection plan for this department (replaces the catalog's defaults).
CREATE TABLE plan (
    table_id TEXT PRIMARY KEY,
    deadline TEXT
);
"#;

const V1: &str = r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
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
"#;
