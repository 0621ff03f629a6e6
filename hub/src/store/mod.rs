//! The hub's store: one SQLite file (WAL, `synchronous=FULL`) with the school, departments,
//! the collection plan, enrollment codes, agents (token hashes), office users (argon2
//! hashes), every department's sheets as Automerge chunks ([`caiji_agent::docstore`]) and the
//! sync state per (sheet, agent).
//!
//! The hub's command line and its server use the same file; SQLite serialises their writes.
//! The server caches loaded sheets; the command line never writes sheets.

mod audit;
mod migrations;
mod records;

pub use audit::AuditFilter;
pub use records::{OfficeRole, OfficeUser};

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use caiji_agent::docstore::{DocError, Docs, parse_heads};
use caiji_shared::catalog::{Catalog, DepartmentKind, Edition, Fill};
use caiji_shared::sheet::{Sheet, SheetId};
use caiji_shared::sync::{AgentPlan, PlannedTable};
use caiji_shared::{AcademicYear, Table};
use rusqlite::{Connection, OptionalExtension, params};

use crate::secrets;

pub const DB_FILE: &str = "caiji-hub.db";

/// Sheets the hub keeps loaded in memory; others are re-read from disk when needed.
const CACHED_SHEETS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("数据目录 {0} 已经初始化过")]
    AlreadyInitialised(PathBuf),
    #[error("数据目录 {0} 尚未初始化；请先运行 `caiji-hub init`")]
    NotInitialised(PathBuf),
    #[error("无法访问 {path}：{source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("数据库出错：{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("数据库由更新版本的 caiji 创建（版本 {0}），请升级 caiji-hub")]
    TooNew(i64),
    #[error("内置报表目录有误：{0}")]
    Catalog(String),
    #[error("没有部门「{0}」；用 `caiji-hub department add` 添加")]
    NoDepartment(String),
    #[error("部门代码「{0}」无效：只能使用小写字母、数字和“-”")]
    BadDepartment(String),
    #[error("没有表「{0}」")]
    NoTable(String),
    #[error("注册码无效、已使用或已过期；请向平台管理办公室重新申请")]
    BadEnrollCode,
    #[error("表「{table}」的数据无法读取：{source}")]
    Sheet { table: String, source: Box<caiji_shared::sheet::SheetError> },
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotYourDepartment(String),
    #[error("{0}")]
    Unauthorized(String),
}

impl From<DocError> for HubError {
    fn from(e: DocError) -> Self {
        match e {
            DocError::Sqlite(e) => HubError::Sqlite(e),
            DocError::TooNew(v) => HubError::TooNew(v),
            DocError::Sheet { table, source } => HubError::Sheet { table, source },
        }
    }
}

/// The school and the academic year the hub collects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubInfo {
    pub school: String,
    pub year: AcademicYear,
    pub edition: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Department {
    pub code: String,
    pub name: String,
    pub kind: DepartmentKind,
}

/// An enrolled agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    pub id: String,
    pub department: String,
    pub name: String,
    pub revoked: bool,
}

pub struct HubStore {
    dir: PathBuf,
    conn: Connection,
    info: HubInfo,
    catalog: Catalog,
    pub(crate) docs: Docs,
}

pub use caiji_agent::docstore::now;
use caiji_agent::docstore::valid_code;

fn connect(path: &Path) -> Result<Connection, HubError> {
    Ok(caiji_agent::docstore::connect(path, migrations::MIGRATIONS)?)
}

impl HubStore {
    /// Creates the hub's store with its first office administrator.
    pub fn init(dir: &Path, info: &HubInfo, admin: &str, password: &str) -> Result<HubStore, HubError> {
        std::fs::create_dir_all(dir).map_err(|source| HubError::Io { path: dir.to_path_buf(), source })?;
        if dir.join(DB_FILE).exists() {
            return Err(HubError::AlreadyInitialised(dir.to_path_buf()));
        }
        let catalog = Catalog::load_embedded().map_err(|e| HubError::Catalog(e.to_string()))?;
        if catalog.edition(&info.edition).is_none() {
            return Err(HubError::Catalog(format!("没有目录版本「{}」", info.edition)));
        }
        if password.chars().count() < 8 {
            return Err(HubError::Invalid("管理员密码至少 8 个字符".into()));
        }
        let conn = connect(&dir.join(DB_FILE))?;
        let tx = conn.unchecked_transaction()?;
        for (k, v) in [
            ("school", info.school.clone()),
            ("year", info.year.0.to_string()),
            ("edition", info.edition.clone()),
            ("plan_version", "1".to_string()),
        ] {
            tx.execute("INSERT INTO meta (key, value) VALUES (?1, ?2)", params![k, v])?;
        }
        tx.execute(
            "INSERT INTO users (name, role, password_hash, department, created_at) VALUES (?1, 'admin', ?2, NULL, ?3)",
            params![admin, secrets::hash_password(password), now()],
        )?;
        tx.commit()?;
        let schema = catalog.edition(&info.edition).map_or(1, |e| e.schema_version);
        Ok(HubStore { dir: dir.to_path_buf(), conn, info: info.clone(), catalog, docs: Docs::new(schema) })
    }

    pub fn open(dir: &Path) -> Result<HubStore, HubError> {
        if !dir.join(DB_FILE).exists() {
            return Err(HubError::NotInitialised(dir.to_path_buf()));
        }
        let conn = connect(&dir.join(DB_FILE))?;
        let get = |k: &str| -> Result<String, HubError> {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
                .optional()?
                .ok_or_else(|| HubError::NotInitialised(dir.to_path_buf()))
        };
        let info = HubInfo {
            school: get("school")?,
            year: AcademicYear(get("year")?.parse().map_err(|_| HubError::NotInitialised(dir.to_path_buf()))?),
            edition: get("edition")?,
        };
        let catalog = Catalog::load_embedded().map_err(|e| HubError::Catalog(e.to_string()))?;
        let schema = catalog
            .edition(&info.edition)
            .ok_or_else(|| HubError::Catalog(format!("没有目录版本「{}」，请升级 caiji-hub", info.edition)))?
            .schema_version;
        Ok(HubStore { dir: dir.to_path_buf(), conn, info, catalog, docs: Docs::new(schema) })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn info(&self) -> &HubInfo {
        &self.info
    }

    /// Re-reads what another process may have changed (the year, after `caiji-hub rollover`).
    pub fn refresh(&mut self) -> Result<(), HubError> {
        let year: String = self.conn.query_row("SELECT value FROM meta WHERE key = 'year'", [], |r| r.get(0))?;
        if let Ok(y) = year.parse::<i32>()
            && y != self.info.year.0
        {
            self.info.year = AcademicYear(y);
            self.docs.clear();
        }
        Ok(())
    }

    /// After a rollover: the year the hub collects now.
    pub(crate) fn set_year(&mut self, year: AcademicYear) {
        self.info.year = year;
    }

    pub fn edition(&self) -> &Edition {
        self.catalog.edition(&self.info.edition).expect("checked at open")
    }

    pub fn table(&self, id: &str) -> Result<&Table, HubError> {
        let e = self.edition();
        e.table(id).or_else(|| e.table(&id.to_uppercase())).ok_or_else(|| HubError::NoTable(id.to_string()))
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    // ---- departments and the plan ------------------------------------------------------

    /// Adds a department, assigning it the catalog's default tables (those it leads and, for a
    /// teaching department, those every teaching department fills).
    pub fn add_department(&mut self, code: &str, name: &str, kind: DepartmentKind) -> Result<usize, HubError> {
        if !valid_code(code) {
            return Err(HubError::BadDepartment(code.to_string()));
        }
        let kind_text = if kind == DepartmentKind::Teaching { "teaching" } else { "office" };
        let tables: Vec<String> = self
            .edition()
            .tables
            .iter()
            .filter(|t| t.department == code || (t.fill == Fill::Each && kind == DepartmentKind::Teaching))
            .map(|t| t.id.clone())
            .collect();
        let tx = self.conn.unchecked_transaction()?;
        tx.execute(
            "INSERT INTO departments (code, name, kind, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(code) DO UPDATE SET name = excluded.name, kind = excluded.kind",
            params![code, name, kind_text, now()],
        )?;
        for t in &tables {
            tx.execute(
                "INSERT OR IGNORE INTO plan (table_id, department, deadline) VALUES (?1, ?2, NULL)",
                params![t, code],
            )?;
        }
        tx.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'plan_version'", [])?;
        tx.commit()?;
        Ok(tables.len())
    }

    pub fn departments(&self) -> Result<Vec<Department>, HubError> {
        let mut stmt = self.conn.prepare("SELECT code, name, kind FROM departments ORDER BY created_at, code")?;
        let rows = stmt.query_map([], |r| {
            let kind: String = r.get(2)?;
            Ok(Department {
                code: r.get(0)?,
                name: r.get(1)?,
                kind: if kind == "teaching" { DepartmentKind::Teaching } else { DepartmentKind::Office },
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn department(&self, code: &str) -> Result<Department, HubError> {
        self.departments()?.into_iter().find(|d| d.code == code).ok_or_else(|| HubError::NoDepartment(code.to_string()))
    }

    /// Assigns (or, with `assigned = false`, unassigns) a table to a department, with a
    /// deadline (YYYY-MM-DD).
    pub fn set_assignment(
        &mut self,
        table: &str,
        department: &str,
        assigned: bool,
        deadline: Option<&str>,
    ) -> Result<(), HubError> {
        let table = self.table(table)?.id.clone();
        self.department(department)?;
        if let Some(d) = deadline
            && chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err()
        {
            return Err(HubError::Invalid(format!("截止日期「{d}」无效，应为 YYYY-MM-DD，如 2026-10-15")));
        }
        let tx = self.conn.unchecked_transaction()?;
        if assigned {
            tx.execute(
                "INSERT INTO plan (table_id, department, deadline) VALUES (?1, ?2, ?3)
                 ON CONFLICT(table_id, department) DO UPDATE SET deadline = excluded.deadline",
                params![table, department, deadline],
            )?;
        } else {
            tx.execute("DELETE FROM plan WHERE table_id = ?1 AND department = ?2", params![table, department])?;
        }
        tx.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'plan_version'", [])?;
        tx.commit()?;
        Ok(())
    }

    pub fn plan_version(&self) -> Result<i64, HubError> {
        let v: String = self.conn.query_row("SELECT value FROM meta WHERE key = 'plan_version'", [], |r| r.get(0))?;
        Ok(v.parse().unwrap_or(0))
    }

    /// The plan as one department's agents receive it, in the catalog's order.
    pub fn plan_for(&self, department: &str) -> Result<AgentPlan, HubError> {
        let dept = self.department(department)?;
        let mut stmt = self.conn.prepare("SELECT table_id, deadline FROM plan WHERE department = ?1")?;
        let assigned: HashMap<String, Option<String>> =
            stmt.query_map([department], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
        let tables = self
            .edition()
            .tables
            .iter()
            .filter_map(|t| assigned.get(&t.id).map(|d| PlannedTable { table: t.id.clone(), deadline: d.clone() }))
            .collect();
        Ok(AgentPlan {
            version: self.plan_version()?,
            edition: self.info.edition.clone(),
            year: self.info.year.0,
            department: dept.code,
            department_name: dept.name,
            tables,
        })
    }

    // ---- enrollment and agents ---------------------------------------------------------

    /// A one-time code for `department`, valid for `hours`. Only its hash is stored.
    pub fn new_enroll_code(&mut self, department: &str, hours: i64) -> Result<String, HubError> {
        self.department(department)?;
        let code = secrets::enrollment_code();
        self.conn.execute(
            "INSERT INTO enroll_codes (code_hash, department, expires_at, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![secrets::sha256_hex(&secrets::normalise_code(&code)), department, now() + hours * 3600, now()],
        )?;
        Ok(code)
    }

    /// Redeems a code: a new agent of its department with a fresh long-lived token (returned
    /// once; only its hash is stored).
    pub fn enroll(&mut self, code: &str, agent_name: &str) -> Result<(Agent, String), HubError> {
        let hash = secrets::sha256_hex(&secrets::normalise_code(code));
        let tx = self.conn.unchecked_transaction()?;
        let dept: Option<String> = tx
            .query_row(
                "SELECT department FROM enroll_codes WHERE code_hash = ?1 AND used_at IS NULL AND expires_at > ?2",
                params![hash, now()],
                |r| r.get(0),
            )
            .optional()?;
        let Some(department) = dept else { return Err(HubError::BadEnrollCode) };
        let id = secrets::random_token(12);
        let token = secrets::random_token(32);
        tx.execute(
            "INSERT INTO agents (id, department, name, token_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, department, agent_name, secrets::sha256_hex(&token), now()],
        )?;
        tx.execute(
            "UPDATE enroll_codes SET used_at = ?1, agent_id = ?2 WHERE code_hash = ?3",
            params![now(), id, hash],
        )?;
        tx.commit()?;
        Ok((Agent { id, department, name: agent_name.to_string(), revoked: false }, token))
    }

    /// The agent a bearer token belongs to (revoked agents included, flagged).
    pub fn agent_by_token(&self, token: &str) -> Result<Option<Agent>, HubError> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, department, name, revoked_at IS NOT NULL FROM agents WHERE token_hash = ?1",
                [secrets::sha256_hex(token)],
                |r| Ok(Agent { id: r.get(0)?, department: r.get(1)?, name: r.get(2)?, revoked: r.get(3)? }),
            )
            .optional()?)
    }

    pub fn agents(&self) -> Result<Vec<Agent>, HubError> {
        let mut stmt =
            self.conn.prepare("SELECT id, department, name, revoked_at IS NOT NULL FROM agents ORDER BY created_at")?;
        let rows = stmt.query_map([], |r| {
            Ok(Agent { id: r.get(0)?, department: r.get(1)?, name: r.get(2)?, revoked: r.get(3)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn revoke(&mut self, agent_id: &str) -> Result<bool, HubError> {
        let n = self.conn.execute(
            "UPDATE agents SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
            params![now(), agent_id],
        )?;
        Ok(n == 1)
    }

    pub fn touch_agent(&self, agent_id: &str) -> Result<(), HubError> {
        self.conn.execute("UPDATE agents SET last_seen = ?1 WHERE id = ?2", params![now(), agent_id])?;
        Ok(())
    }

    /// Appends to the audit log.
    pub fn audit(&self, actor: &str, action: &str, detail: &str) -> Result<(), HubError> {
        self.conn.execute(
            "INSERT INTO audit (at, actor, action, detail) VALUES (?1, ?2, ?3, ?4)",
            params![now(), actor, action, detail],
        )?;
        Ok(())
    }

    pub fn verify_user(&self, name: &str, password: &str) -> Result<Option<String>, HubError> {
        let row: Option<(String, String)> = self
            .conn
            .query_row("SELECT role, password_hash FROM users WHERE name = ?1", [name], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        Ok(row.filter(|(_, hash)| secrets::verify_password(password, hash)).map(|(role, _)| role))
    }

    // ---- sheets --------------------------------------------------------------------------

    /// The stored heads of every sheet of a department (this year), by sheet key.
    pub fn department_heads(&self, department: &str) -> Result<HashMap<String, Vec<automerge::ChangeHash>>, HubError> {
        let mut stmt = self.conn.prepare("SELECT sheet, heads FROM sheets WHERE department = ?1 AND year = ?2")?;
        let rows = stmt.query_map(params![department, self.info.year.0], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = HashMap::new();
        for row in rows {
            let (sheet, heads) = row?;
            out.insert(sheet, parse_heads(&heads));
        }
        Ok(out)
    }

    /// A sheet, loaded (or its genesis).
    pub fn sheet(&mut self, id: &SheetId) -> Result<&mut Sheet, HubError> {
        Ok(self.docs.get(&self.conn, id)?)
    }

    /// Stores the sheets in `touched` that changed, and runs `extra`, in one transaction; on
    /// failure the sheets are dropped from memory (re-read from disk on next use).
    pub fn commit_sheets(
        &mut self,
        touched: &[SheetId],
        extra: impl FnOnce(&rusqlite::Transaction) -> Result<(), HubError>,
    ) -> Result<(), HubError> {
        let result = (|| {
            let tx = self.conn.unchecked_transaction()?;
            let written = self.docs.persist(&tx, touched, now())?;
            extra(&tx)?;
            tx.commit()?;
            Ok(written)
        })();
        match result {
            Ok(written) => {
                self.docs.committed(written);
                self.docs.trim(CACHED_SHEETS);
                Ok(())
            }
            Err(e) => {
                self.docs.evict(touched);
                Err(e)
            }
        }
    }

    /// Every stored sheet of a table this year, by department.
    pub fn stored_departments(&self, table: &str) -> Result<Vec<String>, HubError> {
        let mut stmt =
            self.conn.prepare("SELECT department FROM sheets WHERE table_id = ?1 AND year = ?2 ORDER BY department")?;
        let rows = stmt.query_map(params![table, self.info.year.0], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
pub(crate) mod tests;
