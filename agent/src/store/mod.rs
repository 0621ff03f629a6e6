//! The agent's durable store: one data directory, one SQLite file (WAL, `synchronous=FULL`),
//! each sheet kept as a snapshot plus incremental Automerge chunks written in the same
//! transaction as the heads they bring it to. A killed process loses nothing it acknowledged
//! and leaves nothing half-written: every [`Store::write`] is one SQLite transaction.

mod link;
mod migrations;
mod records;

pub use link::{HubLink, SheetSync};

use std::collections::{BTreeSet, HashMap};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use automerge::ActorId;
use caiji_shared::catalog::{Catalog, DepartmentKind, Edition, Fill};
use caiji_shared::sheet::{Sheet, SheetError, SheetId};

use crate::docstore::{DocError, Docs};
use caiji_shared::{AcademicYear, Table};
use rusqlite::{Connection, OptionalExtension, params};

/// The SQLite file inside a data directory.
pub const DB_FILE: &str = "caiji-agent.db";
/// Held with an exclusive OS lock while a process uses the directory.
pub const LOCK_FILE: &str = "caiji-agent.lock";
/// The drop folder and its outcome folders.
pub const INBOX: &str = "inbox";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("数据目录 {0} 已经初始化过，不能重复初始化")]
    AlreadyInitialised(PathBuf),
    #[error("数据目录 {0} 尚未初始化；请先运行 `caiji-agent init`")]
    NotInitialised(PathBuf),
    #[error("另一个 caiji-agent 进程（例如正在运行的 `caiji-agent serve`）正在使用数据目录 {0}；请先关闭它再试")]
    Locked(PathBuf),
    #[error("无法访问数据目录 {path}：{source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("数据库出错：{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("数据库由更新版本的 caiji 创建（版本 {0}），请升级 caiji-agent")]
    TooNew(i64),
    #[error("内置报表目录有误：{0}")]
    Catalog(String),
    #[error("没有表「{0}」；运行 `caiji-agent tables --all` 查看全部表号")]
    NoTable(String),
    #[error("表「{table}」的数据操作失败：{source}")]
    Sheet { table: String, source: Box<SheetError> },
    #[error("部门代码「{0}」无效：只能使用小写字母、数字和“-”")]
    BadDepartment(String),
    #[error("只读打开的数据目录不能修改")]
    ReadOnly,
    #[error("{0}")]
    Invalid(String),
}

impl From<DocError> for StoreError {
    fn from(e: DocError) -> Self {
        match e {
            DocError::Sqlite(e) => StoreError::Sqlite(e),
            DocError::TooNew(v) => StoreError::TooNew(v),
            DocError::Sheet { table, source } => StoreError::Sheet { table, source },
        }
    }
}

impl StoreError {
    /// A sheet operation on `table` failed.
    pub fn sheet(table: &str) -> impl FnOnce(SheetError) -> StoreError + '_ {
        move |source| StoreError::Sheet { table: table.to_string(), source: Box::new(source) }
    }

    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
        move |source| StoreError::Io { path: path.to_path_buf(), source }
    }
}

/// Who this agent is: set once by `init`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentInfo {
    /// Department code, e.g. `jsjx`.
    pub department: String,
    /// Department name, e.g. 计算机系.
    pub department_name: String,
    pub department_kind: DepartmentKind,
    pub year: AcademicYear,
    pub edition: String,
    /// The collector's name, used as the author of changes made without `--user`.
    pub collector: String,
}

/// Told which sheets a committed local write changed.
type ChangeHook = Box<dyn Fn(&[SheetId]) + Send>;

/// An open data directory. Only one process may hold it at a time.
pub struct Store {
    dir: PathBuf,
    conn: Connection,
    /// The exclusive lock, released when the store is dropped; `None` for a read-only store.
    _lock: Option<File>,
    info: AgentInfo,
    catalog: Catalog,
    docs: Docs,
    /// One fresh actor per (process, user), so history names the person (DESIGN decision 4).
    actors: HashMap<String, ActorId>,
    /// Opened with `open_read_only`: writes are refused.
    read_only: bool,
    /// Called with the changed sheets after every committed local write (background sync
    /// pushes them soon after).
    on_change: Option<ChangeHook>,
}

impl Store {
    /// Creates a data directory for a department's agent.
    pub fn init(dir: &Path, info: &AgentInfo) -> Result<Store, StoreError> {
        if !crate::docstore::valid_code(&info.department) {
            return Err(StoreError::BadDepartment(info.department.clone()));
        }
        std::fs::create_dir_all(dir).map_err(StoreError::io(dir))?;
        if dir.join(DB_FILE).exists() {
            return Err(StoreError::AlreadyInitialised(dir.to_path_buf()));
        }
        let lock = lock(dir)?;
        let conn = connect(&dir.join(DB_FILE))?;
        let catalog = load_catalog()?;
        if catalog.edition(&info.edition).is_none() {
            return Err(StoreError::Catalog(format!("没有目录版本「{}」", info.edition)));
        }
        let tx = conn.unchecked_transaction()?;
        for (k, v) in [
            ("department", info.department.clone()),
            ("department_name", info.department_name.clone()),
            ("department_kind", kind_text(info.department_kind).to_string()),
            ("year", info.year.0.to_string()),
            ("edition", info.edition.clone()),
            ("collector", info.collector.clone()),
        ] {
            tx.execute("INSERT INTO meta (key, value) VALUES (?1, ?2)", params![k, v])?;
        }
        tx.commit()?;
        for sub in [INBOX, "inbox/done", "inbox/failed"] {
            let p = dir.join(sub);
            std::fs::create_dir_all(&p).map_err(StoreError::io(&p))?;
        }
        Ok(Store {
            dir: dir.to_path_buf(),
            conn,
            _lock: Some(lock),
            info: info.clone(),
            docs: Docs::new(catalog.edition(&info.edition).map_or(1, |e| e.schema_version)),
            catalog,
            actors: HashMap::new(),
            read_only: false,
            on_change: None,
        })
    }

    /// Opens an initialised data directory, refusing if another process has it open.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        if !dir.join(DB_FILE).exists() {
            return Err(StoreError::NotInitialised(dir.to_path_buf()));
        }
        let lock = lock(dir)?;
        let conn = connect(&dir.join(DB_FILE))?;
        Self::from_conn(dir, conn, Some(lock))
    }

    fn from_conn(dir: &Path, conn: Connection, lock: Option<File>) -> Result<Store, StoreError> {
        let get = |k: &str| -> Result<String, StoreError> {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
                .optional()?
                .ok_or_else(|| StoreError::NotInitialised(dir.to_path_buf()))
        };
        let info = AgentInfo {
            department: get("department")?,
            department_name: get("department_name")?,
            department_kind: if get("department_kind")? == "teaching" {
                DepartmentKind::Teaching
            } else {
                DepartmentKind::Office
            },
            year: AcademicYear(get("year")?.parse().map_err(|_| StoreError::NotInitialised(dir.to_path_buf()))?),
            edition: get("edition")?,
            collector: get("collector")?,
        };
        let catalog = load_catalog()?;
        if catalog.edition(&info.edition).is_none() {
            return Err(StoreError::Catalog(format!("没有目录版本「{}」，请升级 caiji-agent", info.edition)));
        }
        Ok(Store {
            dir: dir.to_path_buf(),
            conn,
            _lock: lock,
            docs: Docs::new(catalog.edition(&info.edition).map_or(1, |e| e.schema_version)),
            info,
            catalog,
            actors: HashMap::new(),
            read_only: false,
            on_change: None,
        })
    }

    /// Opens a data directory for reading only, without its lock, so `status` and the like
    /// work while `serve` runs. SQLite's WAL lets readers see every committed write.
    pub fn open_read_only(dir: &Path) -> Result<Store, StoreError> {
        if !dir.join(DB_FILE).exists() {
            return Err(StoreError::NotInitialised(dir.to_path_buf()));
        }
        let conn = Connection::open_with_flags(
            dir.join(DB_FILE),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let latest = migrations::MIGRATIONS.len() as i64;
        if version > latest {
            return Err(StoreError::TooNew(version));
        }
        if version < latest {
            // Not migrated yet: only a writer may do that.
            drop(conn);
            return Self::open(dir);
        }
        let mut store = Self::from_conn(dir, conn, None)?;
        store.read_only = true;
        Ok(store)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn info(&self) -> &AgentInfo {
        &self.info
    }

    pub fn edition(&self) -> &Edition {
        self.catalog.edition(&self.info.edition).expect("checked at open")
    }

    pub fn table(&self, id: &str) -> Result<&Table, StoreError> {
        let e = self.edition();
        e.table(id).or_else(|| e.table(&id.to_uppercase())).ok_or_else(|| StoreError::NoTable(id.to_string()))
    }

    /// The tables this department fills by default: those it leads, and, for a teaching
    /// department, those every teaching department fills (`fill = "each"`). The office's
    /// collection plan replaces this once the agent syncs with a hub.
    pub fn planned_tables(&self) -> Vec<&Table> {
        if let Ok(Some(plan)) = self.plan() {
            return self.edition().tables.iter().filter(|t| plan.contains_key(&t.id)).collect();
        }
        self.edition()
            .tables
            .iter()
            .filter(|t| {
                t.department == self.info.department
                    || (t.fill == Fill::Each && self.info.department_kind == DepartmentKind::Teaching)
            })
            .collect()
    }

    /// Ids of the tables that have stored data.
    pub fn stored_tables(&self) -> Result<BTreeSet<String>, StoreError> {
        let mut stmt =
            self.conn.prepare("SELECT table_id FROM sheets WHERE edition = ?1 AND year = ?2 AND department = ?3")?;
        let rows = stmt.query_map(params![self.info.edition, self.info.year.0, self.info.department], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn sheet_id(&self, table: &str) -> SheetId {
        SheetId::new(&self.info.edition, self.info.year, table, &self.info.department)
    }

    /// The department's sheet of `table` (from disk, or its genesis if never written).
    pub fn sheet(&mut self, table: &str) -> Result<&mut Sheet, StoreError> {
        let table = self.table(table)?.id.clone();
        let id = self.sheet_id(&table);
        Ok(self.docs.get(&self.conn, &id)?)
    }

    fn actor_for(&mut self, user: &str) -> ActorId {
        self.actors.entry(user.to_string()).or_insert_with(ActorId::random).clone()
    }

    /// Runs `f` on the department's sheets as `user`, then stores every sheet it touched in one
    /// SQLite transaction: either all of it is durable when this returns `Ok`, or none of it is
    /// (and the in-memory sheets are dropped, to be re-read from disk).
    pub fn write<T>(
        &mut self,
        user: &str,
        f: impl FnOnce(&mut Writer) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.write_and_record(user, f, |_, _| Ok(()))
    }

    /// Like [`Store::write`], with `record` run in the same transaction after the sheets are
    /// stored (e.g. the import log), so the record and the data commit together.
    pub(crate) fn write_and_record<T>(
        &mut self,
        user: &str,
        f: impl FnOnce(&mut Writer) -> Result<T, StoreError>,
        record: impl FnOnce(&rusqlite::Transaction, &T) -> Result<(), StoreError>,
    ) -> Result<T, StoreError> {
        let actor = self.actor_for(user);
        let mut w = Writer { store: self, actor, touched: Vec::new() };
        let result = f(&mut w);
        let touched = std::mem::take(&mut w.touched);
        let outcome = result.and_then(|v| self.persist_with(&touched, user, |tx| record(tx, &v)).map(|()| v));
        if outcome.is_err() {
            self.docs.evict(&touched);
        }
        outcome
    }

    /// Stores every touched sheet that changed (a snapshot the first time and when compacting,
    /// else an incremental chunk) and runs `extra`, all in one transaction.
    pub(crate) fn persist_with(
        &mut self,
        touched: &[SheetId],
        user: &str,
        extra: impl FnOnce(&rusqlite::Transaction) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        if self.read_only {
            return Err(StoreError::ReadOnly);
        }
        let now = now();
        let tx = self.conn.unchecked_transaction()?;
        let written = self.docs.persist(&tx, touched, now)?;
        if let Some(actor) = self.actors.get(user) {
            tx.execute(
                "INSERT OR IGNORE INTO actors (actor, user, agent, first_seen) VALUES (?1, ?2, ?3, ?4)",
                params![actor.to_hex_string(), user, self.info.department, now],
            )?;
        }
        extra(&tx)?;
        tx.commit()?;
        let changed: Vec<SheetId> = written.iter().map(|w| w.id().clone()).collect();
        self.docs.committed(written);
        if !changed.is_empty()
            && let Some(f) = &self.on_change
        {
            f(&changed);
        }
        Ok(())
    }

    /// Registers a callback run with the changed sheets after every committed local write.
    pub fn on_change(&mut self, f: impl Fn(&[SheetId]) + Send + 'static) {
        self.on_change = Some(Box::new(f));
    }

    /// The person behind an actor id, if this store has seen it.
    pub fn user_of_actor(&self, actor_hex: &str) -> Result<Option<String>, StoreError> {
        Ok(self.conn.query_row("SELECT user FROM actors WHERE actor = ?1", [actor_hex], |r| r.get(0)).optional()?)
    }

    /// The number of stored chunks of a sheet (for tests of compaction).
    pub fn chunk_count(&self, table: &str) -> Result<usize, StoreError> {
        Ok(Docs::chunk_count(&self.conn, &self.sheet_id(table))?)
    }

    /// Checks the SQLite file's integrity (`PRAGMA integrity_check`).
    pub fn integrity_check(&self) -> Result<bool, StoreError> {
        let r: String = self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        Ok(r == "ok")
    }
}

/// Gives access to the sheets inside one [`Store::write`].
pub struct Writer<'s> {
    store: &'s mut Store,
    actor: ActorId,
    pub(crate) touched: Vec<SheetId>,
}

impl Writer<'_> {
    /// The department's sheet of `table`, writing as this writer's user.
    pub fn sheet(&mut self, table: &str) -> Result<&mut Sheet, StoreError> {
        let table = self.store.table(table)?.id.clone();
        let id = self.store.sheet_id(&table);
        if !self.touched.contains(&id) {
            self.touched.push(id.clone());
        }
        let sheet = self.store.docs.get(&self.store.conn, &id)?;
        sheet.set_actor(self.actor.clone());
        Ok(sheet)
    }

    pub fn store(&self) -> &Store {
        self.store
    }
}

fn kind_text(k: DepartmentKind) -> &'static str {
    match k {
        DepartmentKind::Office => "office",
        DepartmentKind::Teaching => "teaching",
    }
}

fn load_catalog() -> Result<Catalog, StoreError> {
    Catalog::load_embedded().map_err(|e| StoreError::Catalog(e.to_string()))
}

fn lock(dir: &Path) -> Result<File, StoreError> {
    let path = dir.join(LOCK_FILE);
    let file =
        OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(StoreError::io(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked(dir.to_path_buf())),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Io { path, source: e }),
    }
}

fn connect(path: &Path) -> Result<Connection, StoreError> {
    Ok(crate::docstore::connect(path, migrations::MIGRATIONS)?)
}

/// Unix seconds now.
pub fn now() -> i64 {
    crate::docstore::now()
}

#[cfg(test)]
pub(crate) mod tests;
