//! What the store keeps about the hub: the enrollment (URL, pinned certificate fingerprint,
//! token), the office's plan, and each sheet's sync state.

use std::collections::HashMap;

use automerge::ChangeHash;
use caiji_shared::sheet::{Sheet, SheetId};
use caiji_shared::sync::{AgentPlan, SheetHeads};
use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError, now};
use crate::docstore::{heads_json, parse_heads};

/// The hub this agent is enrolled with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubLink {
    pub url: String,
    /// SHA-256 of the hub's certificate, pinned at enrollment.
    pub fingerprint: String,
    pub token: String,
    pub agent_id: String,
    pub school: String,
}

/// One sheet's sync status, for `caiji-agent status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetSync {
    pub table: String,
    pub last_ok: Option<i64>,
    /// Whether the sheet has changes the hub is not known to have.
    pub pending: bool,
    pub last_error: Option<String>,
}

impl Store {
    pub fn hub(&self) -> Result<Option<HubLink>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT url, fingerprint, token, agent_id, school FROM hub WHERE id = 1", [], |r| {
                Ok(HubLink {
                    url: r.get(0)?,
                    fingerprint: r.get(1)?,
                    token: r.get(2)?,
                    agent_id: r.get(3)?,
                    school: r.get(4)?,
                })
            })
            .optional()?)
    }

    pub fn set_hub(&mut self, link: &HubLink) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO hub (id, url, fingerprint, token, agent_id, school, enrolled_at) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(id) DO UPDATE SET url = excluded.url, fingerprint = excluded.fingerprint, token = excluded.token,
                 agent_id = excluded.agent_id, school = excluded.school, enrolled_at = excluded.enrolled_at",
            params![link.url, link.fingerprint, link.token, link.agent_id, link.school, now()],
        )?;
        Ok(())
    }

    /// The version of the plan last received (0 before the first).
    pub fn plan_version(&self) -> Result<i64, StoreError> {
        let v: Option<String> =
            self.conn.query_row("SELECT value FROM meta WHERE key = 'plan_version'", [], |r| r.get(0)).optional()?;
        Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    /// Replaces the plan with the office's.
    pub fn set_plan(&mut self, plan: &AgentPlan) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        tx.execute("DELETE FROM plan", [])?;
        for t in &plan.tables {
            tx.execute("INSERT INTO plan (table_id, deadline) VALUES (?1, ?2)", params![t.table, t.deadline])?;
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('plan_version', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [plan.version.to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Moves the agent to another academic year (the hub started it): the old year's sheets
    /// stay stored, the new year's come with the next sync.
    pub fn switch_year(&mut self, year: caiji_shared::AcademicYear) -> Result<(), StoreError> {
        self.conn.execute("UPDATE meta SET value = ?1 WHERE key = 'year'", [year.0.to_string()])?;
        self.info.year = year;
        self.docs = crate::docstore::Docs::new(self.edition().schema_version);
        Ok(())
    }

    /// The office's plan (table → deadline), once received.
    pub fn plan(&self) -> Result<Option<HashMap<String, Option<String>>>, StoreError> {
        if self.plan_version()? == 0 {
            return Ok(None);
        }
        let mut stmt = self.conn.prepare("SELECT table_id, deadline FROM plan")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(Some(rows.collect::<Result<_, _>>()?))
    }

    /// The heads of every stored sheet of this department and year: round 1 of a sync.
    pub fn summary(&self) -> Result<Vec<SheetHeads>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT sheet, heads FROM sheets WHERE department = ?1 AND year = ?2")?;
        let rows = stmt.query_map(params![self.info.department, self.info.year.0], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (sheet, heads) = row?;
            out.push(SheetHeads { sheet, heads: parse_heads(&heads).iter().map(|h| h.0).collect() });
        }
        Ok(out)
    }

    /// A sheet of this department by id (for sync); `None` if it is not one this agent keeps.
    pub fn sheet_for_sync(&mut self, id: &SheetId) -> Result<Option<&mut Sheet>, StoreError> {
        let ours = id.department == self.info.department
            && id.year == self.info.year
            && id.edition == self.info.edition
            && self.edition().table(&id.table).is_some();
        if !ours {
            return Ok(None);
        }
        Ok(Some(self.docs.get(&self.conn, id)?))
    }

    pub fn sync_state(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT state FROM sync_sheets WHERE sheet = ?1", [key], |r| r.get::<_, Option<Vec<u8>>>(0))
            .optional()?
            .flatten())
    }

    /// Stores sheets changed by a sync round and their sync states, in one transaction.
    pub fn commit_sync(&mut self, touched: &[SheetId], states: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        let result = (|| -> Result<_, StoreError> {
            let tx = self.conn.unchecked_transaction()?;
            let written = self.docs.persist(&tx, touched, now())?;
            for (key, state) in states {
                tx.execute(
                    "INSERT INTO sync_sheets (sheet, state) VALUES (?1, ?2)
                     ON CONFLICT(sheet) DO UPDATE SET state = excluded.state",
                    params![key, state],
                )?;
            }
            tx.commit()?;
            Ok(written)
        })();
        match result {
            Ok(written) => {
                self.docs.committed(written);
                Ok(())
            }
            Err(e) => {
                self.docs.evict(touched);
                Err(e)
            }
        }
    }

    /// Records the end of a sync: each sheet in `synced` now matches the hub at these heads;
    /// each in `refused` carries the hub's reason.
    pub fn record_sync(
        &mut self,
        synced: &[(String, Vec<ChangeHash>)],
        refused: &[(String, String)],
    ) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        let t = now();
        for (key, heads) in synced {
            tx.execute(
                "INSERT INTO sync_sheets (sheet, hub_heads, last_ok, last_error) VALUES (?1, ?2, ?3, NULL)
                 ON CONFLICT(sheet) DO UPDATE SET hub_heads = excluded.hub_heads, last_ok = excluded.last_ok, last_error = NULL",
                params![key, heads_json(heads), t],
            )?;
        }
        for (key, why) in refused {
            tx.execute(
                "INSERT INTO sync_sheets (sheet, last_error) VALUES (?1, ?2)
                 ON CONFLICT(sheet) DO UPDATE SET last_error = excluded.last_error",
                params![key, why],
            )?;
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('last_sync_ok', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [t.to_string()],
        )?;
        tx.execute("DELETE FROM meta WHERE key = 'last_sync_error'", [])?;
        tx.commit()?;
        Ok(())
    }

    /// Records a failed sync attempt (shown by `status`).
    pub fn record_sync_error(&mut self, message: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES ('last_sync_error', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [message],
        )?;
        Ok(())
    }

    /// (last successful sync, last error) of the agent as a whole.
    pub fn sync_overview(&self) -> Result<(Option<i64>, Option<String>), StoreError> {
        let get = |k: &str| -> Result<Option<String>, StoreError> {
            Ok(self.conn.query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0)).optional()?)
        };
        Ok((get("last_sync_ok")?.and_then(|v| v.parse().ok()), get("last_sync_error")?))
    }

    /// The heads the hub is known to have of `table`'s sheet (empty if it never synced).
    pub fn hub_heads(&self, table: &str) -> Result<Vec<ChangeHash>, StoreError> {
        let key = self.sheet_id(table).to_string();
        let heads: Option<Option<String>> = self
            .conn
            .query_row("SELECT hub_heads FROM sync_sheets WHERE sheet = ?1", [key], |r| r.get(0))
            .optional()?;
        Ok(heads.flatten().as_deref().map(parse_heads).unwrap_or_default())
    }

    /// Per sheet: last sync, changes not yet on the hub, last refusal.
    pub fn sheet_sync(&self) -> Result<Vec<SheetSync>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT s.table_id, s.heads, y.hub_heads, y.last_ok, y.last_error
             FROM sheets s LEFT JOIN sync_sheets y ON y.sheet = s.sheet
             WHERE s.department = ?1 AND s.year = ?2",
        )?;
        let rows = stmt.query_map(params![self.info.department, self.info.year.0], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (table, heads, hub_heads, last_ok, last_error) = row?;
            let mut local = parse_heads(&heads);
            let mut hub = hub_heads.as_deref().map(parse_heads).unwrap_or_default();
            local.sort();
            hub.sort();
            out.push(SheetSync { table, last_ok, pending: local != hub, last_error });
        }
        let order: Vec<String> = self.edition().tables.iter().map(|t| t.id.clone()).collect();
        out.sort_by_key(|s| order.iter().position(|t| *t == s.table));
        Ok(out)
    }
}
