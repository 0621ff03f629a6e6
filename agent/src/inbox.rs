//! The drop folder: a file put into `<data>/inbox/` (by a person, or by the HR or teaching
//! system's export job) is imported once it has finished being written, then moved to
//! `inbox/done/` or `inbox/failed/` with its report beside it.
//!
//! "Finished being written" means: no filesystem event for the file and no change of its size
//! or modification time for [`QUIET`]. Events come from `notify`; a rescan on every tick
//! catches anything the watcher missed (e.g. files already there at start-up).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use notify::{RecursiveMode, Watcher};

use crate::import::{ImportOptions, import_file, report};
use crate::store::{INBOX, Store};

/// How long a file must stay unchanged before it is imported.
pub const QUIET: Duration = Duration::from_millis(1500);
const TICK: Duration = Duration::from_millis(250);

/// What became of one dropped file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processed {
    pub file: String,
    pub ok: bool,
    /// Where the file was moved.
    pub moved_to: PathBuf,
    pub summary: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    size: u64,
    modified: Option<SystemTime>,
    since: Instant,
}

/// The files waiting in the inbox and when each last changed.
#[derive(Debug, Default)]
pub struct Tracker {
    files: HashMap<PathBuf, Seen>,
}

/// Files that are never imported: hidden files, Office lock files, partial downloads.
pub fn ignored(name: &str) -> bool {
    let lower = name.to_lowercase();
    name.starts_with('.')
        || name.starts_with("~$")
        || [".tmp", ".part", ".crdownload", ".swp", ".download", "~"].iter().any(|s| lower.ends_with(s))
}

impl Tracker {
    /// Records a filesystem event for `path`: it is being written now.
    pub fn touched(&mut self, path: &Path, now: Instant) {
        if let Some(s) = self.files.get_mut(path) {
            s.since = now;
        }
    }

    /// Re-reads the inbox: new files are tracked, changed sizes or times restart their quiet
    /// period, vanished files are forgotten. Returns the files quiet for at least `quiet`.
    pub fn scan(&mut self, dir: &Path, now: Instant, quiet: Duration) -> Vec<PathBuf> {
        let mut present = Vec::new();
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let path = e.path();
                let Ok(meta) = e.metadata() else { continue };
                let name = e.file_name().to_string_lossy().into_owned();
                if !meta.is_file() || ignored(&name) {
                    continue;
                }
                let seen = Seen { size: meta.len(), modified: meta.modified().ok(), since: now };
                match self.files.get_mut(&path) {
                    Some(s) if s.size == seen.size && s.modified == seen.modified => {}
                    Some(s) => *s = seen,
                    None => {
                        self.files.insert(path.clone(), seen);
                    }
                }
                present.push(path);
            }
        }
        self.files.retain(|p, _| present.contains(p));
        let mut ready: Vec<PathBuf> =
            self.files.iter().filter(|(_, s)| now.duration_since(s.since) >= quiet).map(|(p, _)| p.clone()).collect();
        ready.sort();
        tracing::trace!(tracked = ?self.files.keys().collect::<Vec<_>>(), ?ready, "inbox scan");
        for p in &ready {
            self.files.remove(p);
        }
        ready
    }
}

/// `done/20251003-093012-人事导出.xlsx`: unique, sortable, keeps the original name.
fn destination(dir: &Path, name: &str) -> PathBuf {
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let mut path = dir.join(format!("{stamp}-{name}"));
    let mut n = 1;
    while path.exists() {
        n += 1;
        path = dir.join(format!("{stamp}-{n}-{name}"));
    }
    path
}

/// Imports one dropped file with the same rules as `caiji-agent import`, then moves it.
pub fn process(store: &mut Store, path: &Path) -> Processed {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let inbox = store.dir().join(INBOX);
    let opts = ImportOptions { table: None, user: store.info().collector.clone(), strict: false };
    let result = import_file(store, path, &opts, &mut |_| {});
    let ok = result.is_ok();
    let target_dir = inbox.join(if ok { "done" } else { "failed" });
    let _ = std::fs::create_dir_all(&target_dir);
    let moved_to = destination(&target_dir, &name);
    let summary = match &result {
        Ok(outcome) => report::render_text(store.edition(), outcome),
        Err(e) => format!("导入 {name} 失败：{e}\n"),
    };
    if let Err(e) = std::fs::rename(path, &moved_to) {
        tracing::error!(file = %name, error = %e, "无法移动已处理的文件");
    }
    let stem = moved_to.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    match &result {
        Ok(outcome) => {
            let report_path = target_dir.join(format!("{stem}.导入报告.xlsx"));
            if let Err(e) = report::write_xlsx(store.edition(), outcome, &report_path) {
                tracing::error!(file = %name, error = %e, "无法写入导入报告");
            }
        }
        Err(_) => {
            let report_path = target_dir.join(format!("{stem}.导入失败.txt"));
            if let Err(e) = std::fs::write(&report_path, &summary) {
                tracing::error!(file = %name, error = %e, "无法写入失败说明");
            }
        }
    }
    Processed { file: name, ok, moved_to, summary }
}

/// Watches the inbox until `stop` is set, importing every file that settles. The store is
/// locked only while a file is imported.
pub fn run(store: &std::sync::Mutex<Store>, stop: &AtomicBool, mut on_processed: impl FnMut(&Processed)) {
    let dir = store.lock().unwrap_or_else(|p| p.into_inner()).dir().join(INBOX);
    let (tx, rx) = mpsc::channel();
    let watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        // Reads (including our own scans and anyone listing the folder) say nothing about a
        // file being written; only creation, modification and renames do.
        if let Ok(event) = res
            && !matches!(event.kind, notify::EventKind::Access(_))
        {
            let _ = tx.send(event.paths);
        }
    })
    .and_then(|mut w| w.watch(&dir, RecursiveMode::NonRecursive).map(|()| w));
    match &watcher {
        Ok(_) => tracing::info!(inbox = %dir.display(), "正在监视导入文件夹"),
        Err(e) => tracing::warn!(inbox = %dir.display(), error = %e, "无法监视导入文件夹，改为定时检查"),
    }
    let mut tracker = Tracker::default();
    while !stop.load(Ordering::Relaxed) {
        // Take events until the tick is over, however many arrive: a busy folder must not
        // starve the scan.
        let deadline = Instant::now() + TICK;
        while let Ok(paths) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            let now = Instant::now();
            tracing::trace!(?paths, "inbox event");
            for p in paths {
                tracker.touched(&p, now);
            }
            if now >= deadline {
                break;
            }
        }
        for path in tracker.scan(&dir, Instant::now(), QUIET) {
            let processed = process(&mut store.lock().unwrap_or_else(|p| p.into_inner()), &path);
            if processed.ok {
                tracing::info!(file = %processed.file, "已自动导入");
            } else {
                tracing::warn!(file = %processed.file, summary = %processed.summary.trim(), "自动导入失败");
            }
            on_processed(&processed);
        }
    }
    drop(watcher);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignores_temporary_files() {
        for name in ["~$人事.xlsx", ".hidden.csv", "a.xlsx.part", "b.crdownload", "c.tmp"] {
            assert!(ignored(name), "{name}");
        }
        assert!(!ignored("人事导出.xlsx"));
    }

    #[test]
    fn a_file_is_ready_only_after_it_stops_changing() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.csv");
        std::fs::write(&f, "x").unwrap();
        let mut t = Tracker::default();
        let t0 = Instant::now();
        let quiet = Duration::from_secs(2);
        assert!(t.scan(dir.path(), t0, quiet).is_empty());
        // Still growing: the quiet period restarts.
        std::fs::write(&f, "xy").unwrap();
        assert!(t.scan(dir.path(), t0 + Duration::from_secs(1), quiet).is_empty());
        assert!(t.scan(dir.path(), t0 + Duration::from_secs(2), quiet).is_empty());
        // An event restarts it too.
        t.touched(&f, t0 + Duration::from_secs(3));
        assert!(t.scan(dir.path(), t0 + Duration::from_secs(4), quiet).is_empty());
        assert_eq!(t.scan(dir.path(), t0 + Duration::from_secs(5), quiet), vec![f.clone()]);
        // Once handed out, it is not handed out again unless it is still there later.
        assert!(t.scan(dir.path(), t0 + Duration::from_secs(5), quiet).is_empty());
    }
}
