//! The agent's SQLite schema, as migrations applied in order and recorded in
//! `PRAGMA user_version`. Append-only: never edit a migration that has shipped, add a new one.

/// Each migration is a list of SQL scripts run in one transaction.
pub(super) const MIGRATIONS: &[&[&str]] = &[
    // 1: the agent, its sheets as Automerge chunks, actors and the import log.
    &[crate::docstore::SCHEMA, V1],
    // 2: the hub this agent syncs with, per-sheet sync state, and the office's plan.
    &[V2],
    // 3: the workflow log and the agent's users.
    &[V3],
];

const V3: &str = r#"
-- Workflow records of this department's sheets: those written here (local = 1, seq NULL until
-- the hub has them) and those the hub sent, in the hub's order (seq).
CREATE TABLE records (
    id      TEXT PRIMARY KEY,
    sheet   TEXT NOT NULL,
    json    TEXT NOT NULL,
    seq     INTEGER,
    refused TEXT,
    late    INTEGER NOT NULL DEFAULT 0,
    local   INTEGER NOT NULL,
    written INTEGER NOT NULL
);
CREATE INDEX records_by_sheet ON records(sheet);
-- People who use this agent: collectors and the department head, passwords as argon2 hashes.
CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL CHECK (role IN ('collector', 'dept_head')),
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
"#;

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
