//! The workflow log on the hub: every record numbered in the order the hub takes it, the
//! agents' checked against the rules (a submission after the lock is kept, refused), the
//! office's written by [`HubStore::office_act`]. And the office's users.

use caiji_shared::sheet::SheetId;
use caiji_shared::workflow::{Action, Comment, Event, Record, RecordKind, Role, State, is_late, state_of};
use rusqlite::{OptionalExtension, params};

use super::{HubError, HubStore, now};
use crate::secrets;

/// An office user's role on the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfficeRole {
    Reviewer,
    Admin,
    Approver,
    /// A department head who may read the merged data (article 11).
    DeptViewer,
}

impl OfficeRole {
    pub fn parse(s: &str) -> Option<OfficeRole> {
        Some(match s {
            "reviewer" => OfficeRole::Reviewer,
            "admin" => OfficeRole::Admin,
            "approver" => OfficeRole::Approver,
            "dept_viewer" => OfficeRole::DeptViewer,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OfficeRole::Reviewer => "reviewer",
            OfficeRole::Admin => "admin",
            OfficeRole::Approver => "approver",
            OfficeRole::DeptViewer => "dept_viewer",
        }
    }

    /// The role's name as people say it.
    pub fn label(self) -> &'static str {
        match self {
            OfficeRole::Reviewer => "平台审核员",
            OfficeRole::Admin => "平台管理员",
            OfficeRole::Approver => "终审（院长办公会）",
            OfficeRole::DeptViewer => "部门负责人（只读）",
        }
    }

    /// The workflow role, for those who act in the workflow.
    pub fn workflow(self) -> Option<Role> {
        match self {
            OfficeRole::Reviewer => Some(Role::OfficeReviewer),
            OfficeRole::Admin => Some(Role::OfficeAdmin),
            OfficeRole::Approver => Some(Role::FinalApprover),
            OfficeRole::DeptViewer => None,
        }
    }
}

/// A signed-in office user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficeUser {
    pub name: String,
    pub role: OfficeRole,
    pub department: Option<String>,
}

fn record_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

impl HubStore {
    pub fn add_user(
        &mut self,
        name: &str,
        role: OfficeRole,
        department: Option<&str>,
        password: &str,
    ) -> Result<(), HubError> {
        if password.chars().count() < 8 {
            return Err(HubError::Invalid("密码至少 8 个字符".into()));
        }
        if let Some(d) = department {
            self.department(d)?;
        }
        self.conn.execute(
            "INSERT INTO users (name, role, password_hash, department, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(name) DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash,
                 department = excluded.department",
            params![name, role.as_str(), secrets::hash_password(password), department, now()],
        )?;
        self.audit("office", "user_added", &format!("{name} {}", role.as_str()))?;
        Ok(())
    }

    /// Signs a user in (audited, success or not).
    pub fn sign_in(&self, name: &str, password: &str) -> Result<OfficeUser, HubError> {
        let row: Option<(String, String, Option<String>)> = self
            .conn
            .query_row("SELECT role, password_hash, department FROM users WHERE name = ?1", [name], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        let user = row.filter(|(_, hash, _)| secrets::verify_password(password, hash)).and_then(|(role, _, dept)| {
            OfficeRole::parse(&role).map(|role| OfficeUser { name: name.to_string(), role, department: dept })
        });
        match user {
            Some(u) => {
                self.audit(&format!("user:{name}"), "sign_in", "")?;
                Ok(u)
            }
            None => {
                self.audit(&format!("user:{name}"), "sign_in_failed", "")?;
                Err(HubError::Unauthorized("用户名或密码错误".into()))
            }
        }
    }

    /// A session for a signed-in user (12 hours); returns the token (stored hashed).
    pub fn new_session(&mut self, user: &OfficeUser) -> Result<String, HubError> {
        let token = secrets::random_token(32);
        self.conn.execute(
            "INSERT INTO sessions (token_hash, user, expires_at) VALUES (?1, ?2, ?3)",
            params![secrets::sha256_hex(&token), user.name, now() + 12 * 3600],
        )?;
        Ok(token)
    }

    /// Ends a session (sign-out).
    pub fn end_session(&mut self, token: &str) -> Result<(), HubError> {
        self.conn.execute("DELETE FROM sessions WHERE token_hash = ?1", [secrets::sha256_hex(token)])?;
        Ok(())
    }

    /// The user of a live session.
    pub fn session_user(&self, token: &str) -> Result<Option<OfficeUser>, HubError> {
        let row: Option<(String, String, Option<String>)> = self
            .conn
            .query_row(
                "SELECT u.name, u.role, u.department FROM sessions s JOIN users u ON u.name = s.user
                 WHERE s.token_hash = ?1 AND s.expires_at > ?2",
                params![secrets::sha256_hex(token), now()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        Ok(row.and_then(|(name, role, department)| {
            OfficeRole::parse(&role).map(|role| OfficeUser { name, role, department })
        }))
    }

    /// The audit log, newest first, optionally only entries whose actor, action or detail
    /// contain `filter`.
    pub fn audit_log(
        &self,
        filter: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(i64, String, String, String)>, HubError> {
        let mut stmt = self.conn.prepare("SELECT at, actor, action, detail FROM audit ORDER BY id DESC")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (at, actor, action, detail): (i64, String, String, String) = row?;
            if filter.is_none_or(|f| actor.contains(f) || action.contains(f) || detail.contains(f)) {
                out.push((at, actor, action, detail));
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// The office's users: (name, role, department), by name.
    pub fn users(&self) -> Result<Vec<OfficeUser>, HubError> {
        let mut stmt = self.conn.prepare("SELECT name, role, department FROM users ORDER BY created_at, name")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (name, role, department) = row?;
            if let Some(role) = OfficeRole::parse(&role) {
                out.push(OfficeUser { name, role, department });
            }
        }
        Ok(out)
    }

    /// A number that changes whenever the progress board may have changed (a record, the plan
    /// or the departments).
    pub fn board_version(&self) -> Result<String, HubError> {
        let seq: i64 = self.conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM records", [], |r| r.get(0))?;
        let depts: i64 = self.conn.query_row("SELECT COUNT(*) FROM departments", [], |r| r.get(0))?;
        Ok(format!("{seq}-{}-{depts}-{}", self.plan_version()?, self.info.year.0))
    }

    /// Changes whenever anything the merged tables are made of changes: what the board
    /// version covers, and any stored change to any sheet (every one stores a new chunk, whose
    /// id only grows).
    pub fn data_version(&self) -> Result<String, HubError> {
        let chunk: i64 = self.conn.query_row("SELECT COALESCE(MAX(id), 0) FROM chunks", [], |r| r.get(0))?;
        Ok(format!("{}-{chunk}", self.board_version()?))
    }

    /// A comment by the office on a sheet, a row or a cell, without a workflow action.
    pub fn office_comment(
        &mut self,
        user: &OfficeUser,
        sheet: &SheetId,
        row: Option<String>,
        field: Option<String>,
        text: &str,
    ) -> Result<Record, HubError> {
        user.role.workflow().ok_or_else(|| HubError::Forbidden("只读用户不能写批注".into()))?;
        if text.trim().is_empty() {
            return Err(HubError::Invalid("批注内容不能为空".into()));
        }
        let c = Comment { row, field, text: text.trim().to_string(), author: user.name.clone(), at: now() };
        let rec = Record {
            id: record_id(),
            sheet: sheet.to_string(),
            kind: RecordKind::Comment(c),
            seq: None,
            refused: None,
            late: false,
        };
        self.take_record(rec, &format!("user:{}", user.name), None, None)
    }

    /// The log of one sheet, in the hub's order.
    pub fn sheet_records(&self, sheet: &SheetId) -> Result<Vec<Record>, HubError> {
        self.query_records(
            "SELECT json, seq, refused, late FROM records WHERE sheet = ?1 ORDER BY seq",
            &sheet.to_string(),
        )
    }

    /// A department's records after `since`, in the hub's order.
    pub fn department_records(&self, department: &str, since: i64) -> Result<Vec<Record>, HubError> {
        let mut out = self.query_records(
            "SELECT json, seq, refused, late FROM records WHERE department = ?1 ORDER BY seq",
            department,
        )?;
        out.retain(|r| r.seq.is_some_and(|s| s > since));
        Ok(out)
    }

    fn query_records(&self, sql: &str, arg: &str) -> Result<Vec<Record>, HubError> {
        let mut stmt = self.conn.prepare(sql)?;
        let rows = stmt.query_map([arg], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, Option<String>>(2)?, r.get::<_, bool>(3)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (json, seq, refused, late) = row?;
            if let Ok(mut rec) = serde_json::from_str::<Record>(&json) {
                rec.seq = Some(seq);
                rec.refused = refused;
                rec.late = late;
                out.push(rec);
            }
        }
        Ok(out)
    }

    /// The highest seq of the office's records (a change there is news for the agents).
    pub fn office_seq(&self) -> Result<i64, HubError> {
        Ok(self
            .conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM records WHERE origin LIKE 'user:%'", [], |r| r.get(0))?)
    }

    pub fn sheet_state(&self, sheet: &SheetId) -> Result<State, HubError> {
        Ok(state_of(&self.sheet_records(sheet)?))
    }

    /// The plan's deadline of a sheet, if any.
    pub fn deadline(&self, sheet: &SheetId) -> Result<Option<String>, HubError> {
        Ok(self
            .conn
            .query_row(
                "SELECT deadline FROM plan WHERE table_id = ?1 AND department = ?2",
                params![sheet.table, sheet.department],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()?
            .flatten())
    }

    /// Takes a record into the log: numbers it, and checks an event against the rules and
    /// the sheet's state (a refused event is kept, with why). A record already taken is
    /// returned as it was stored.
    pub fn take_record(
        &mut self,
        mut record: Record,
        origin: &str,
        errors_at_heads: Option<usize>,
        refuse: Option<String>,
    ) -> Result<Record, HubError> {
        if let Some(seq) = self
            .conn
            .query_row("SELECT seq FROM records WHERE id = ?1", [&record.id], |r| r.get::<_, i64>(0))
            .optional()?
        {
            let sheet: SheetId = record.sheet.parse().map_err(|_| HubError::Invalid("记录的表格标识无效".into()))?;
            return Ok(self.sheet_records(&sheet)?.into_iter().find(|r| r.seq == Some(seq)).unwrap_or(record));
        }
        let sheet: SheetId = record.sheet.parse().map_err(|_| HubError::Invalid("记录的表格标识无效".into()))?;
        record.refused = refuse;
        record.late = false;
        if let (None, RecordKind::Event(event)) = (&record.refused, &record.kind) {
            let state = self.sheet_state(&sheet)?;
            let mut verdict = state.apply(event).err().map(|e| e.to_string());
            if verdict.is_none()
                && matches!(event.action, Action::Submit | Action::DeptApprove)
                && let Some(n) = errors_at_heads
                && n > 0
            {
                verdict = Some(caiji_shared::workflow::check_submittable(n).unwrap_err().to_string());
            }
            if verdict.is_none() && event.action == Action::DeptApprove {
                record.late = is_late(self.deadline(&sheet)?.as_deref(), event.at);
            }
            record.refused = verdict;
        }
        let json = serde_json::to_string(&record).expect("records serialise");
        self.conn.execute(
            "INSERT INTO records (id, sheet, department, json, refused, late, origin, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![record.id, record.sheet, sheet.department, json, record.refused, record.late, origin, now()],
        )?;
        record.seq = Some(self.conn.last_insert_rowid());
        let what = match &record.kind {
            RecordKind::Event(e) => {
                let reason = e.reason.as_ref().map(|r| format!("（原因：{r}）")).unwrap_or_default();
                format!("{}{reason}（{}）", e.action.label(), e.actor)
            }
            RecordKind::Comment(c) => format!("批注（{}）：{}", c.author, c.text),
            RecordKind::Resolve { .. } => "批注已处理".into(),
        };
        let detail = format!(
            "{} {what}{}",
            record.sheet,
            record.refused.as_ref().map(|r| format!("（未生效：{r}）")).unwrap_or_default()
        );
        self.audit(origin, "workflow", &detail)?;
        Ok(record)
    }

    /// An office action on one sheet, at its current heads, with comments on the sheet, rows
    /// or cells. Refused (nothing written) when the rules do not allow it.
    pub fn office_act(
        &mut self,
        user: &OfficeUser,
        sheet: &SheetId,
        action: Action,
        reason: Option<&str>,
        comments: &[(Option<String>, Option<String>, String)],
    ) -> Result<Record, HubError> {
        let role = user.role.workflow().ok_or_else(|| HubError::Forbidden("只读用户不能执行审核操作".into()))?;
        let heads: Vec<String> = self.sheet(sheet)?.heads().iter().map(ToString::to_string).collect();
        let event =
            Event { action, role, actor: user.name.clone(), at: now(), reason: reason.map(String::from), heads };
        self.sheet_state(sheet)?.apply(&event).map_err(|e| match e {
            caiji_shared::workflow::WorkflowError::NotAllowed { .. } => HubError::Forbidden(e.to_string()),
            other => HubError::Invalid(other.to_string()),
        })?;
        let record = Record {
            id: record_id(),
            sheet: sheet.to_string(),
            kind: RecordKind::Event(event),
            seq: None,
            refused: None,
            late: false,
        };
        let taken = self.take_record(record, &format!("user:{}", user.name), None, None)?;
        for (row, field, text) in comments {
            let c = Comment {
                row: row.clone(),
                field: field.clone(),
                text: text.clone(),
                author: user.name.clone(),
                at: now(),
            };
            let rec = Record {
                id: record_id(),
                sheet: sheet.to_string(),
                kind: RecordKind::Comment(c),
                seq: None,
                refused: None,
                late: false,
            };
            self.take_record(rec, &format!("user:{}", user.name), None, None)?;
        }
        Ok(taken)
    }
}
