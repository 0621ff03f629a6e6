//! The agent's SQLite schema, as migrations applied in order and recorded in
//! `PRAGMA user_version`. Append-only: never edit a migration that has shipped, add a new one.

/// Each migration is a list of SQL scripts run in one transaction.
pub(super) const MIGRATIONS: &[&[&str]] = &[
    // 1: the agent, its sheets as Automerge chunks, actors and the import log.
    &[crate::docstore::SCHEMA, V1],
];

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
