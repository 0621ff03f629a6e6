//! The hub's SQLite schema, as migrations applied in order and recorded in
//! `PRAGMA user_version`. Append-only: never edit a migration that has shipped, add a new one.

/// Each migration is a list of SQL scripts run in one transaction.
pub(super) const MIGRATIONS: &[&[&str]] = &[&[caiji_agent::docstore::SCHEMA, V1], &[V2], &[V3]];

/// 3: sign-in sessions of office users (token hashes only).
const V3: &str = r#"
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user       TEXT NOT NULL REFERENCES users(name),
    expires_at INTEGER NOT NULL
);
"#;

/// 2: the workflow log of every sheet.
const V2: &str = r#"
-- Every workflow record, the agents' and the office's, numbered in the order the hub took
-- them (seq): that order is authoritative. A record that did not apply is kept, refused.
CREATE TABLE records (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    sheet      TEXT NOT NULL,
    department TEXT NOT NULL,
    json       TEXT NOT NULL,
    refused    TEXT,
    late       INTEGER NOT NULL DEFAULT 0,
    origin     TEXT NOT NULL,
    at         INTEGER NOT NULL
);
CREATE INDEX records_by_department ON records(department, seq);
CREATE INDEX records_by_sheet ON records(sheet, seq);
"#;

const V1: &str = r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE departments (
    code       TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('office', 'teaching')),
    created_at INTEGER NOT NULL
);
-- The collection plan: which department fills which table this year, and by when.
CREATE TABLE plan (
    table_id   TEXT NOT NULL,
    department TEXT NOT NULL REFERENCES departments(code),
    deadline   TEXT,
    PRIMARY KEY (table_id, department)
);
-- One-time enrollment codes, by hash.
CREATE TABLE enroll_codes (
    code_hash  TEXT PRIMARY KEY,
    department TEXT NOT NULL REFERENCES departments(code),
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    agent_id   TEXT,
    created_at INTEGER NOT NULL
);
-- Enrolled agents; the token is stored only as its SHA-256.
CREATE TABLE agents (
    id         TEXT PRIMARY KEY,
    department TEXT NOT NULL REFERENCES departments(code),
    name       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,
    last_seen  INTEGER
);
-- Office users; passwords as argon2 hashes.
CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    department    TEXT,
    created_at    INTEGER NOT NULL
);
-- Automerge sync state (shared heads) per (sheet, agent).
CREATE TABLE sync_states (
    sheet    TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    state    BLOB NOT NULL,
    PRIMARY KEY (sheet, agent_id)
);
-- Append-only record of what happened and who did it.
CREATE TABLE audit (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     INTEGER NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
"#;
