//! Helpers: find and run the real binaries, make an agent in a temporary directory, write
//! spreadsheets the way a department would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The path of a workspace binary in the same target directory as this test.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/tests-<hash> → target/<profile>/<name>
    let dir = exe.parent().and_then(|d| d.parent()).expect("target directory");
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(path.exists(), "{} is missing: run `cargo build --workspace --bins` before the tests", path.display());
    path
}

/// Runs a binary to completion and returns (exit success, stdout, stderr).
pub fn run(name: &str, args: &[&str]) -> (bool, String, String) {
    let Output { status, stdout, stderr } = Command::new(bin(name)).args(args).output().expect("run binary");
    (status.success(), String::from_utf8_lossy(&stdout).into_owned(), String::from_utf8_lossy(&stderr).into_owned())
}

/// A department agent in a temporary directory.
pub struct Agent {
    pub tmp: tempfile::TempDir,
}

impl Agent {
    /// `caiji-agent init` for 计算机系 (jsjx), academic year 2025-2026.
    pub fn new() -> Agent {
        Agent::of("jsjx", "计算机系", "张三")
    }

    /// `caiji-agent init` for a department, academic year 2025-2026.
    pub fn of(department: &str, name: &str, collector: &str) -> Agent {
        let tmp = tempfile::tempdir().expect("temp dir");
        let a = Agent { tmp };
        let (ok, out, err) =
            a.run(&["init", "--department", department, "--name", name, "--year", "2025", "--collector", collector]);
        assert!(ok, "init failed: {out}{err}");
        a
    }

    /// `caiji-agent enroll` with the hub's code and pinned fingerprint.
    pub fn enroll(&self, url: &str, code: &str, fingerprint: &str) -> String {
        self.ok(&["enroll", "--hub", url, "--code", code, "--fingerprint", fingerprint, "--name", "测试电脑"])
    }

    /// The agent's token (for raw requests in tests).
    pub fn token(&self) -> String {
        let conn = rusqlite::Connection::open(self.data().join("caiji-agent.db")).expect("open agent db");
        conn.query_row("SELECT token FROM hub", [], |r| r.get(0)).expect("enrolled")
    }

    pub fn data(&self) -> PathBuf {
        self.tmp.path().join("data")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(bin("caiji-agent"));
        c.arg("--data").arg(self.data()).current_dir(self.tmp.path());
        c
    }

    /// Runs `caiji-agent --data <dir> ARGS…` → (success, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (bool, String, String) {
        let Output { status, stdout, stderr } = self.command().args(args).output().expect("run caiji-agent");
        (status.success(), String::from_utf8_lossy(&stdout).into_owned(), String::from_utf8_lossy(&stderr).into_owned())
    }

    /// Runs a command that must succeed and returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.run(args);
        assert!(ok, "caiji-agent {args:?} failed:\n{out}\n{err}");
        out
    }

    /// Every row of a table (deleted ones included) as JSON values.
    pub fn rows(&self, table: &str) -> Vec<serde_json::Value> {
        let out = self.ok(&["rows", table, "--deleted", "--json"]);
        serde_json::from_str(&out).expect("rows --json")
    }
}

/// The A6-1-1 header as the official template lays it out: a title row, a unit row, then a
/// header with the 专业技术职务 group over four sub-columns.
pub const TEACHER_HEADER: [&str; 13] = [
    "序号",
    "所属系部",
    "教工号",
    "姓名",
    "民族",
    "学历",
    "性别",
    "出生日期",
    "是否专业教师",
    "专业技术职务",
    "",
    "",
    "",
];
pub const TEACHER_SUB: [&str; 13] =
    ["", "", "", "", "", "", "", "", "", "等级", "名称（全称）", "发证单位", "获取日期（年月）"];

/// Writes an official-layout A6-1-1 workbook with `rows` (each 12 values after 序号).
pub fn teacher_workbook(path: &Path, rows: &[Vec<String>]) {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet().set_name("A6-1-1校内专任教师基本情况表").expect("name");
    ws.write(0, 0, "A6-1-1 校内专任教师基本情况表").expect("write");
    ws.write(1, 0, "填报单位：计算机系").expect("write");
    let fmt = rust_xlsxwriter::Format::new();
    for (c, h) in TEACHER_HEADER.iter().enumerate() {
        if !h.is_empty() && c != 9 {
            ws.write(2, c as u16, *h).expect("write");
        }
    }
    ws.merge_range(2, 9, 2, 12, "专业技术职务", &fmt).expect("merge");
    for (c, h) in TEACHER_SUB.iter().enumerate() {
        if !h.is_empty() {
            ws.write(3, c as u16, *h).expect("write");
        }
    }
    for (i, row) in rows.iter().enumerate() {
        let r = 4 + i as u32;
        ws.write(r, 0, (i + 1) as f64).expect("write");
        for (j, v) in row.iter().enumerate() {
            if !v.is_empty() {
                ws.write_string(r, j as u16 + 1, v).expect("write");
            }
        }
    }
    wb.save(path).expect("save workbook");
}

/// One teacher row for [`teacher_workbook`].
pub fn teacher(emp_no: &str, name: &str, birth: &str) -> Vec<String> {
    ["计算机系", emp_no, name, "汉族", "硕士研究生", "男", birth, "是", "副高级", "副教授", "山东省教育厅", "201509"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// `args` followed by `--user USER --password PASSWORD`.
pub fn with_user<'a>(args: &[&'a str], user: &'a str, password: &'a str) -> Vec<&'a str> {
    let mut v = args.to_vec();
    v.extend_from_slice(&["--user", user, "--password", password]);
    v
}
