//! The workflow log on the agent ([`caiji_shared::workflow`]): records written here wait for
//! the hub (`seq` NULL) and come back numbered with the hub's verdict; the hub's own records
//! (returns, comments, acceptance, lock …) arrive the same way. Also the agent's users.

use caiji_shared::sheet::SheetId;
use caiji_shared::workflow::{Record, Role, State, state_of};
use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError, now};

impl Store {
    /// Writes a record of this agent (it syncs to the hub with the next sync).
    pub fn add_record(&mut self, record: &Record) -> Result<(), StoreError> {
        if self.read_only {
            return Err(StoreError::ReadOnly);
        }
        let json = serde_json::to_string(record).expect("records serialise");
        self.conn.execute(
            "INSERT INTO records (id, sheet, json, seq, refused, late, local, written) VALUES (?1, ?2, ?3, NULL, NULL, 0, 1, ?4)",
            params![record.id, record.sheet, json, now()],
        )?;
        if let (Some(f), Ok(id)) = (&self.on_change, record.sheet.parse::<SheetId>()) {
            f(&[id]);
        }
        Ok(())
    }

    /// Records written here that the hub has not numbered yet.
    pub fn pending_records(&self) -> Result<Vec<Record>, StoreError> {
        let mut stmt =
            self.conn.prepare("SELECT json FROM records WHERE local = 1 AND seq IS NULL ORDER BY written, rowid")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.filter_map(|j| j.ok().and_then(|j| serde_json::from_str(&j).ok())).collect())
    }

    /// The highest `seq` received from the hub.
    pub fn records_since(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM records", [], |r| r.get(0))?)
    }

    /// Stores records from the hub (new ones, and the hub's numbering of ours).
    pub fn store_hub_records(&mut self, records: &[Record]) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        for r in records {
            let json = serde_json::to_string(r).expect("records serialise");
            tx.execute(
                "INSERT INTO records (id, sheet, json, seq, refused, late, local, written) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7)
                 ON CONFLICT(id) DO UPDATE SET json = excluded.json, seq = excluded.seq, refused = excluded.refused,
                     late = excluded.late",
                params![r.id, r.sheet, json, r.seq, r.refused, r.late, now()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The log of one sheet: the hub's order first, then what waits to be sent.
    pub fn records(&self, sheet: &SheetId) -> Result<Vec<Record>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT json, seq, refused, late FROM records WHERE sheet = ?1
             ORDER BY seq IS NULL, seq, written, rowid",
        )?;
        let rows = stmt.query_map([sheet.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<i64>>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, bool>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (json, seq, refused, late) = row?;
            if let Ok(mut rec) = serde_json::from_str::<Record>(&json) {
                rec.seq = seq;
                rec.refused = refused;
                rec.late = late;
                out.push(rec);
            }
        }
        Ok(out)
    }

    /// A sheet's workflow state, as the hub's log and this agent's pending records make it.
    pub fn sheet_state(&self, table: &str) -> Result<State, StoreError> {
        Ok(state_of(&self.records(&self.sheet_id(table))?))
    }

    pub fn add_user(&mut self, name: &str, role: Role, password: &str) -> Result<(), StoreError> {
        let role = match role {
            Role::Collector => "collector",
            Role::DeptHead => "dept_head",
            _ => return Err(StoreError::Invalid("采集端只有数据采集人和部门负责人两种角色".into())),
        };
        if password.chars().count() < 6 {
            return Err(StoreError::Invalid("密码至少 6 个字符".into()));
        }
        self.conn.execute(
            "INSERT INTO users (name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(name) DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash",
            params![name, role, crate::secrets::hash_password(password), now()],
        )?;
        Ok(())
    }

    /// The role of a user whose password matches.
    pub fn check_user(&self, name: &str, password: &str) -> Result<Option<Role>, StoreError> {
        let row: Option<(String, String)> = self
            .conn
            .query_row("SELECT role, password_hash FROM users WHERE name = ?1", [name], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        Ok(row
            .filter(|(_, h)| crate::secrets::verify_password(password, h))
            .map(|(role, _)| if role == "dept_head" { Role::DeptHead } else { Role::Collector }))
    }

    pub fn has_users(&self) -> Result<bool, StoreError> {
        let n: i64 = self.conn.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?;
        Ok(n > 0)
    }
}
