//! `cargo bench -p caiji-agent --bench import`: import an xlsx of 10,000 rows × 20 fields into
//! an agent (read, validated, written durably), and in the same run insert the same rows into a
//! plain SQLite table (WAL, synchronous=FULL, one transaction, prepared statement). Prints one
//! JSON line:
//! `{"bench":"import_10k","caiji_s":…,"sqlite_s":…,"ratio":…,"peak_rss_mb":…,"store_mb":…}`.
//! The input is generated deterministically by the benchmark itself.
#![allow(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::path::Path;
use std::time::Instant;

use caiji_agent::import::{ImportOptions, import_file};
use caiji_agent::store::{AgentInfo, Store};
use caiji_shared::AcademicYear;
use caiji_shared::catalog::DepartmentKind;

#[path = "support/teachers.rs"]
mod teachers;

const ROWS: usize = 10_000;
const FIELDS: usize = 20;

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(String::from))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1024.0)
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|es| es.flatten().filter_map(|e| e.metadata().ok()).filter(|m| m.is_file()).map(|m| m.len()).sum())
        .unwrap_or(0)
}

fn main() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let catalog = caiji_shared::Catalog::load_embedded().expect("catalog");
    let table = catalog.edition("2016").and_then(|e| e.table("A6-1-1")).expect("A6-1-1").clone();
    let fields: Vec<_> = table.fields.iter().take(FIELDS).collect();
    let rows: Vec<Vec<String>> =
        (0..ROWS).map(|r| fields.iter().map(|f| teachers::value(&f.id, f.ty, r)).collect()).collect();

    // The input workbook, in the official layout (title row, header, data).
    let file = tmp.path().join("A6-1-1校内专任教师基本情况表.xlsx");
    {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet().set_name("A6-1-1校内专任教师基本情况表").expect("sheet name");
        ws.write(0, 0, "A6-1-1 校内专任教师基本情况表").expect("write");
        for (c, f) in fields.iter().enumerate() {
            ws.write(1, c as u16, f.label_text()).expect("write");
        }
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                if !v.is_empty() {
                    ws.write_string(r as u32 + 2, c as u16, v).expect("write");
                }
            }
        }
        wb.save(&file).expect("save input");
    }

    if std::env::var("CAIJI_BENCH_STAGES").is_ok() {
        stages(&file, &table);
    }
    // Peak memory of the import itself: reset the high-water mark (Linux) before it.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let data = tmp.path().join("agent");
    let info = AgentInfo {
        department: "jsjx".into(),
        department_name: "计算机系".into(),
        department_kind: DepartmentKind::Teaching,
        year: AcademicYear(2025),
        edition: "2016".into(),
        collector: "基准测试".into(),
    };
    let t0 = Instant::now();
    let mut store = Store::init(&data, &info).expect("init");
    let opts = ImportOptions { table: None, user: "基准测试".into(), strict: false };
    let outcome = import_file(&mut store, &file, &opts, &mut |_| {}).expect("import");
    let caiji_s = t0.elapsed().as_secs_f64();
    let peak = peak_rss_mb();
    assert!(outcome.applied);
    assert_eq!(outcome.added(), ROWS);
    // The file has the first 20 columns only: a later required column is reported missing.
    let cell_errors: Vec<_> =
        outcome.findings().filter(|f| f.is_error() && f.code != caiji_shared::validate::Code::MissingColumn).collect();
    assert!(cell_errors.is_empty(), "the generated input is valid: {cell_errors:?}");
    drop(store);
    let store_mb = dir_size(&data) as f64 / 1_048_576.0;

    // The same rows into a plain SQLite table, durably.
    let conn = rusqlite::Connection::open(tmp.path().join("plain.db")).expect("open");
    conn.pragma_update(None, "journal_mode", "WAL").expect("wal");
    conn.pragma_update(None, "synchronous", "FULL").expect("sync");
    let cols: Vec<String> = (0..FIELDS).map(|i| format!("c{i} TEXT")).collect();
    conn.execute_batch(&format!("CREATE TABLE t (id INTEGER PRIMARY KEY, {})", cols.join(", "))).expect("create");
    let t1 = Instant::now();
    {
        let tx = conn.unchecked_transaction().expect("tx");
        let marks: Vec<String> = (1..=FIELDS).map(|i| format!("?{i}")).collect();
        let names: Vec<String> = (0..FIELDS).map(|i| format!("c{i}")).collect();
        let mut stmt = tx
            .prepare(&format!("INSERT INTO t ({}) VALUES ({})", names.join(", "), marks.join(", ")))
            .expect("prepare");
        for row in &rows {
            stmt.execute(rusqlite::params_from_iter(row.iter())).expect("insert");
        }
        drop(stmt);
        tx.commit().expect("commit");
    }
    let sqlite_s = t1.elapsed().as_secs_f64();

    // For context: what a naive importer without a CRDT would take (read the same xlsx with
    // calamine, then the plain insert above).
    let t2 = Instant::now();
    let grids = caiji_agent::import::read::read_file(&file).expect("read");
    let read_s = t2.elapsed().as_secs_f64();
    assert_eq!(grids[0].rows.len(), ROWS + 2);

    println!(
        "{{\"bench\":\"import_10k\",\"caiji_s\":{caiji_s:.3},\"sqlite_s\":{sqlite_s:.3},\"ratio\":{:.1},\"peak_rss_mb\":{peak:.1},\"store_mb\":{store_mb:.2},\"read_xlsx_s\":{read_s:.3},\"ratio_vs_read_and_insert\":{:.1}}}",
        caiji_s / sqlite_s,
        caiji_s / (read_s + sqlite_s)
    );
}

/// Times the import's stages separately (set CAIJI_BENCH_STAGES=1), to see where time goes.
fn stages(file: &Path, table: &caiji_shared::Table) {
    use caiji_agent::import::{header, plan, read};
    let catalog = caiji_shared::Catalog::load_embedded().expect("catalog");
    let edition = catalog.edition("2016").expect("edition");
    let t = Instant::now();
    let grids = read::read_file(file).expect("read");
    eprintln!("read_file: {:.3}s", t.elapsed().as_secs_f64());
    {
        use calamine::Reader;
        let t = Instant::now();
        let mut wb = calamine::open_workbook_auto(file).expect("open");
        let name = wb.sheet_names()[0].clone();
        let _r = wb.worksheet_range(&name).expect("range");
        eprintln!("  calamine range: {:.3}s", t.elapsed().as_secs_f64());
        let t = Instant::now();
        let _f = wb.worksheet_formula(&name).expect("formulas");
        eprintln!("  calamine formulas: {:.3}s", t.elapsed().as_secs_f64());
    }
    let t = Instant::now();
    let mapping = header::find_header(table, &grids[0]).expect("header");
    eprintln!("find_header: {:.3}s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let period = AcademicYear(2025).period(table.period);
    let mut n = 0u64;
    let mut new_id = || {
        n += 1;
        caiji_shared::sheet::RowId::v7(n, [0; 10])
    };
    let p = plan::plan_table(edition, table, period, &grids[0], &mapping, &[], &mut new_id, &mut |_, _| {});
    eprintln!("plan_table: {:.3}s", t.elapsed().as_secs_f64());
    let id = caiji_shared::sheet::SheetId::new("2016", AcademicYear(2025), "A6-1-1", "jsjx");
    let mut sheet = caiji_shared::sheet::Sheet::genesis(&id, 1);
    let t = Instant::now();
    sheet.add_rows(caiji_shared::sheet::Edit { user: "u", time: 1 }, &p.adds, 1000, None).expect("add");
    eprintln!("add_rows: {:.3}s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let bytes = sheet.save();
    eprintln!("save: {:.3}s ({} bytes)", t.elapsed().as_secs_f64(), bytes.len());
    let t = Instant::now();
    let n = sheet.live_count();
    eprintln!("live_count: {:.3}s ({n})", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let rows = sheet.rows();
    eprintln!("rows: {:.3}s ({})", t.elapsed().as_secs_f64(), rows.len());
}
