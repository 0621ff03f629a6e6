use std::path::{Path, PathBuf};

use caiji_shared::Value;
use caiji_shared::validate::Code;
use proptest::prelude::*;
use rust_xlsxwriter::Workbook;

use super::*;
use crate::store::tests::info;

fn opts(table: Option<&str>) -> ImportOptions {
    ImportOptions { table: table.map(String::from), user: "张三".into(), strict: false }
}

fn quiet(_: Progress) {}

/// Writes a one-sheet xlsx: numbers that look like plain numbers as numbers, the rest as text.
fn xlsx(path: &Path, sheet: &str, rows: &[&[&str]]) {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet().set_name(sheet).unwrap();
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if v.is_empty() {
                continue;
            }
            match v.parse::<f64>() {
                Ok(n) if !v.starts_with('0') || *v == "0" => ws.write_number(r as u32, c as u16, n).unwrap(),
                _ => ws.write_string(r as u32, c as u16, *v).unwrap(),
            };
        }
    }
    wb.save(path).unwrap();
}

const HEADER: &[&str] = &["序号", "所属系部", "教工号", "姓名", "民族", "学历", "性别", "出生日期", "是否专业教师"];

fn teachers(dir: &Path, name: &str, rows: &[&[&str]]) -> PathBuf {
    let path = dir.join(name);
    let mut all: Vec<&[&str]> = vec![&["A6-1-1 校内专任教师基本情况表"], &["填报单位：计算机系"], HEADER];
    all.extend_from_slice(rows);
    xlsx(&path, "A6-1-1校内专任教师基本情况表", &all);
    path
}

fn setup() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(&dir.path().join("data"), &info()).unwrap();
    (dir, store)
}

fn live(store: &mut Store, table: &str) -> Vec<caiji_shared::sheet::Row> {
    store.sheet(table).unwrap().live_rows()
}

#[test]
fn imports_an_official_layout_and_reports_per_cell() {
    let (dir, mut store) = setup();
    let file = teachers(
        dir.path(),
        "人事导出.xlsx",
        &[
            &["1", "计算机系", "T001", "张三", "汉族", "硕士研究生", " 男", "198509", "是"],
            &["2", "计算机系", "T002", "李四", "汉", "大学本科", "女", "198513", "Y"],
            &[],
            &["3", "计算机系", "T003", "王五", "回族", "博士研究生", "男生", "1990-03", "否"],
            &["4", "计算机系", "", "赵六", "汉族", "大学本科", "男", "199001", "是"],
            &["5", "计算机系", "T001", "重复", "汉族", "大学本科", "男", "199001", "是"],
        ],
    );
    let out = import_file(&mut store, &file, &opts(None), &mut quiet).unwrap();
    assert!(out.applied);
    assert_eq!(out.tables.len(), 1);
    let t = &out.tables[0];
    assert_eq!((t.table.as_str(), t.header_rows, t.adds.len(), t.skipped), ("A6-1-1", (3, 3), 3, 2));
    let found: Vec<(Code, Option<usize>, Option<&str>)> =
        out.findings().map(|f| (f.code, f.row_no, f.field.as_deref())).collect();
    for want in [
        (Code::Trimmed, Some(4), Some("gender")),
        (Code::Alias, Some(5), Some("ethnicity")),
        (Code::BadYearMonth, Some(5), Some("birth")),
        (Code::Alias, Some(5), Some("is_major_teacher")),
        (Code::NotInCodeList, Some(7), Some("gender")),
        (Code::Reformatted, Some(7), Some("birth")),
        (Code::Required, Some(8), None),
        (Code::DuplicateKey, Some(9), None),
    ] {
        assert!(found.contains(&want), "missing {want:?} in {found:?}");
    }
    let text = report::render_text(store.edition(), &out);
    assert!(text.contains("A6-1-1 第5行「出生日期」：198513 不是有效的年月（应为 YYYYMM，如 198509）"), "{text}");
    assert!(text.contains("新增 3 行，更新 0 行，未变 0 行，未导入 2 行"), "{text}");
    let rows = live(&mut store, "A6-1-1");
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].cells["gender"], Value::Text("男".into()));
    // What failed is kept as typed, for the collector to fix: nothing typed is lost.
    assert_eq!(rows[1].cells["birth"], Value::Text("198513".into()));
    assert_eq!(rows[2].cells["gender"], Value::Text("男生".into()));
    assert_eq!(rows[2].cells["birth"], Value::Text("199003".into()));
    // The report beside the file.
    let report_path = report::default_report_path(&file);
    report::write_xlsx(store.edition(), &out, &report_path).unwrap();
    let grids = read::read_file(&report_path).unwrap();
    assert_eq!(grids[0].name, "问题清单");
    assert!(grids[0].rows.len() > 8);
}

#[test]
fn reimport_updates_and_never_duplicates() {
    let (dir, mut store) = setup();
    let a = teachers(
        dir.path(),
        "a.xlsx",
        &[
            &["1", "计算机系", "T001", "张三", "汉族", "硕士研究生", "男", "198509", "是"],
            &["2", "计算机系", "T002", "李四", "汉族", "大学本科", "女", "198601", "是"],
        ],
    );
    import_file(&mut store, &a, &opts(None), &mut quiet).unwrap();
    let b = teachers(
        dir.path(),
        "b.xlsx",
        &[
            &["1", "计算机系", "T001", "张三", "汉族", "博士研究生", "男", "198509", "是"],
            &["2", "计算机系", "T002", "李四", "汉族", "大学本科", "女", "198601", "是"],
            &["3", "计算机系", "T003", "王五", "汉族", "大学本科", "男", "199001", "否"],
        ],
    );
    let out = import_file(&mut store, &b, &opts(None), &mut quiet).unwrap();
    let t = &out.tables[0];
    assert_eq!((t.adds.len(), t.updates.len(), t.unchanged), (1, 1, 1));
    let rows = live(&mut store, "A6-1-1");
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].cells["education"], Value::Text("博士研究生".into()));
    // A deleted row comes back when the file has it again.
    let id = rows[1].id.clone();
    store
        .write("张三", |w| {
            w.sheet("A6-1-1")?.delete_row(caiji_shared::sheet::Edit { user: "张三", time: 1 }, &id).unwrap();
            Ok(())
        })
        .unwrap();
    let out = import_file(&mut store, &b, &opts(None), &mut quiet).unwrap();
    assert_eq!((out.tables[0].adds.len(), out.tables[0].updates.len()), (0, 1));
    assert_eq!(live(&mut store, "A6-1-1").len(), 3);
}

#[test]
fn csv_in_gbk_with_table_named_by_file() {
    let (dir, mut store) = setup();
    let text = "教工号,姓名,性别,民族,学历,出生日期,所属系部,是否专业教师\r\nT001,张三,男,汉族,大学本科,198509,计算机系,是\r\n";
    let (gbk, _, _) = encoding_rs::GBK.encode(text);
    let path = dir.path().join("A6-1-1校内专任教师.csv");
    std::fs::write(&path, &gbk).unwrap();
    let out = import_file(&mut store, &path, &opts(None), &mut quiet).unwrap();
    assert_eq!(out.tally().errors, 0, "{:?}", out.findings().collect::<Vec<_>>());
    assert_eq!(live(&mut store, "A6-1-1")[0].cells["name"], Value::Text("张三".into()));
}

#[test]
fn unreadable_files_change_nothing() {
    let (dir, mut store) = setup();
    let good = teachers(
        dir.path(),
        "good.xlsx",
        &[&["1", "计算机系", "T001", "张三", "汉族", "大学本科", "男", "198509", "是"]],
    );
    import_file(&mut store, &good, &opts(None), &mut quiet).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let truncated = dir.path().join("truncated.xlsx");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let garbage = dir.path().join("garbage.xlsx");
    std::fs::write(&garbage, b"this is not a spreadsheet at all").unwrap();
    let binary_csv = dir.path().join("x.csv");
    std::fs::write(&binary_csv, [0u8, 1, 2, 3, 0xFF]).unwrap();
    let pdf = dir.path().join("x.pdf");
    std::fs::write(&pdf, b"%PDF").unwrap();
    for (path, want) in
        [(&truncated, "文件已损坏"), (&garbage, "文件已损坏"), (&binary_csv, "文件已损坏"), (&pdf, "不支持的文件类型")]
    {
        let err = import_file(&mut store, path, &opts(Some("A6-1-1")), &mut quiet).unwrap_err();
        assert!(err.to_string().starts_with(want), "{}: {err}", path.display());
    }
    let missing = import_file(&mut store, &dir.path().join("nope.xlsx"), &opts(None), &mut quiet).unwrap_err();
    assert!(missing.to_string().starts_with("无法打开文件"), "{missing}");
    assert_eq!(live(&mut store, "A6-1-1").len(), 1);
}

#[test]
fn missing_key_column_and_strict_mode_change_nothing() {
    let (dir, mut store) = setup();
    let path = dir.path().join("nokey.xlsx");
    xlsx(&path, "A6-1-1", &[&["姓名", "性别", "民族"], &["张三", "男", "汉族"]]);
    let err = import_file(&mut store, &path, &opts(None), &mut quiet).unwrap_err();
    assert!(matches!(err, ImportError::MissingKey { .. }), "{err}");
    let bad = teachers(
        dir.path(),
        "bad.xlsx",
        &[&["1", "计算机系", "T001", "张三", "汉族", "大学本科", "男", "198513", "是"]],
    );
    let strict = ImportOptions { strict: true, ..opts(None) };
    let out = import_file(&mut store, &bad, &strict, &mut quiet).unwrap();
    assert!(!out.applied);
    assert!(report::render_text(store.edition(), &out).contains("未导入任何内容"));
    assert!(live(&mut store, "A6-1-1").is_empty());
}

#[test]
fn a_sheet_from_another_system_is_recognised_by_its_header() {
    let (dir, mut store) = setup();
    let path = dir.path().join("export.xlsx");
    xlsx(
        &path,
        "Sheet1",
        &[
            &["教工号", "姓名", "性别", "出生日期（年月）", "民族", "籍贯"],
            &["T001", "张三", "男", "198509", "汉族", "山东"],
        ],
    );
    let out = import_file(&mut store, &path, &opts(None), &mut quiet).unwrap();
    assert_eq!(out.tables[0].table, "A6-1-1");
    assert!(out.findings().any(|f| f.code == Code::UnknownField && f.label.as_deref() == Some("籍贯")));
    assert_eq!(live(&mut store, "A6-1-1")[0].cells["birth"], Value::Text("198509".into()));
}

// ---- export and round trip ------------------------------------------------------------

/// A valid value for each field type of the tables used below.
fn value_for(field: &caiji_shared::Field, edition: &caiji_shared::Edition, n: u32) -> Option<Value> {
    use caiji_shared::FieldType::*;
    Some(match field.ty {
        Text => Value::Text(format!("文本{n} x")),
        Integer => Value::Int(i64::from(n % 50)),
        Decimal => Value::Text(format!("{}.{}", n % 1000, n % 7 + 1)),
        Year => Value::Int(2000 + i64::from(n % 20)),
        YearMonth => Value::Text(format!("{}{:02}", 1980 + n % 40, n % 12 + 1)),
        Date => Value::Text(format!("{}-{:02}-{:02}", 1990 + n % 30, n % 12 + 1, n % 28 + 1)),
        Code | YesNo => {
            let list = edition.code_list(field.codes.as_deref()?)?;
            Value::Text(list.values[n as usize % list.values.len()].name.clone())
        }
        Phone => Value::Text(format!("0632-{}", 1_000_000 + n)),
        Email => Value::Text(format!("user{n}@example.edu.cn")),
        PostalCode => Value::Text(format!("{:06}", 277_000 + n % 999)),
        Url => Value::Text(format!("https://www{n}.example.edu.cn")),
        IdCard => return None,
    })
}

fn round_trip(table_id: &str, seeds: &[u32], ext: &str) {
    let (dir, mut store) = setup();
    let edition = store.edition().clone();
    let table = edition.table(table_id).unwrap().clone();
    let mut rows = Vec::new();
    let seeds = if table.kind == caiji_shared::catalog::TableKind::Single { &seeds[..1] } else { seeds };
    for (i, seed) in seeds.iter().enumerate() {
        let mut cells: Vec<(String, Value)> = Vec::new();
        for (j, f) in table.fields.iter().enumerate() {
            // Leave some optional cells empty; key fields are unique per row.
            if !f.required && !table.key.contains(&f.id) && (seed + j as u32).is_multiple_of(4) {
                continue;
            }
            let mut v = value_for(f, &edition, seed + j as u32);
            if table.key.contains(&f.id) {
                v = Some(Value::Text(format!("K{i}-{j}")));
            }
            if let Some(v) = v {
                // Keep only values the field itself accepts, so the round trip is exact.
                let period = store.info().year.period(table.period);
                let check = caiji_shared::validate::check_cell(&edition, f, period, &v.to_string());
                if check.issues.is_empty() {
                    cells.push((f.id.clone(), check.value.unwrap()));
                }
            }
        }
        rows.push((caiji_shared::sheet::RowId::v7(1_000 + i as u64, [i as u8; 10]), cells));
    }
    store
        .write("张三", |w| {
            w.sheet(table_id)?.add_rows(caiji_shared::sheet::Edit { user: "张三", time: 1 }, &rows, 100, None).unwrap();
            Ok(())
        })
        .unwrap();
    let before = live(&mut store, table_id);
    let path = dir.path().join(format!("{table_id}.{ext}"));
    crate::export::export(&table, &before, &path).unwrap();
    let other = Store::init(&dir.path().join("other"), &info()).unwrap();
    let mut other = other;
    let out = import_file(&mut other, &path, &opts(None), &mut quiet).unwrap();
    // Random figures may break the table's row rules (sums, ≤); every cell must read back clean.
    let cell_issues: Vec<_> = out.findings().filter(|f| !matches!(f.code, Code::RowSum | Code::RowLe)).collect();
    assert!(cell_issues.is_empty(), "{cell_issues:?}");
    let after = live(&mut other, table_id);
    let cells = |rows: &[caiji_shared::sheet::Row]| rows.iter().map(|r| r.cells.clone()).collect::<Vec<_>>();
    assert_eq!(cells(&after), cells(&before));
}

#[test]
fn export_then_import_reproduces_multi_level_headers() {
    round_trip("A6-1-1", &[1, 2, 3, 4, 5], "xlsx");
    round_trip("A3-1", &[7], "xlsx");
    round_trip("A7-6-2", &[3, 9], "csv");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn import_of_export_is_the_same_sheet(
        table in prop::sample::select(vec!["A6-1-1", "A6-3-1", "A1-1", "A5-2", "A7-1-1", "A10-1", "A8-1"]),
        seeds in prop::collection::vec(0u32..10_000, 1..6),
        csv in any::<bool>(),
    ) {
        round_trip(table, &seeds, if csv { "csv" } else { "xlsx" });
    }
}
