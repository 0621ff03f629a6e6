use super::*;

/// The 2016 standard edition's data sheets (platform-tables.md §2.1, A1 … A11). Sheets that
/// hold several sub-tables (A1, A2, A3) are covered by their sub-tables.
const OFFICIAL_SHEETS: &[&str] = &[
    "A1", "A1-6", "A2", "A3", "A4-1", "A4-2", "A4-3", "A5-1", "A5-2", "A6-1-1", "A6-1-2-1", "A6-1-2-2", "A6-1-3",
    "A6-2-1", "A6-2-2-1", "A6-2-2-2", "A6-2-3", "A6-3-1", "A6-3-2-1", "A6-3-2-2", "A6-4-1", "A6-4-2-1", "A6-4-2-2",
    "A7-1-1", "A7-1-2", "A7-1-3", "A7-2", "A7-3-1", "A7-3-2", "A7-4", "A7-5", "A7-6-1", "A7-6-2", "A7-6-3", "A8-1",
    "A8-2", "A8-3", "A8-4", "A8-5", "A8-6", "A8-7", "A8-8", "A8-9", "A9-1", "A9-2", "A9-3", "A9-4", "A9-5", "A9-6-1",
    "A9-6-2", "A9-6-3", "A10-1", "A10-2-1", "A10-2-2", "A10-3", "A10-4", "A10-5", "A11-1", "A11-2", "A11-3", "A11-4",
];

/// Loads the embedded files: any schema error fails here with file and line. Prints the
/// summary the catalog issue asks for (`cargo test -p caiji-shared catalog -- --nocapture`).
#[test]
#[allow(clippy::print_stdout, reason = "the summary is this test's output")]
fn embedded_catalog_loads_and_summary() {
    let catalog = Catalog::load_embedded().unwrap_or_else(|e| panic!("schema errors:\n{e}"));
    for e in catalog.editions() {
        let fields: usize = e.tables.iter().map(|t| t.fields.len()).sum();
        let rules: usize = e.tables.iter().map(|t| t.rules.len()).sum();
        println!(
            "edition {} ({}): {} tables, {} fields, {} code lists, {} row rules, {} cross-table rules",
            e.id,
            e.name,
            e.tables.len(),
            fields,
            e.codes.len(),
            rules,
            e.rules.len()
        );
        let incomplete: Vec<&Table> = e.incomplete_tables().collect();
        println!("incomplete tables ({}):", incomplete.len());
        for t in incomplete {
            println!("  {} {}: {}", t.id, t.name, t.gaps.as_deref().unwrap_or("").replace('\n', " "));
        }
    }
}

#[test]
fn covers_every_official_sheet_of_2016() {
    let e = Catalog::embedded().edition("2016").expect("2016 edition");
    for sheet in OFFICIAL_SHEETS {
        let covered = e.tables.iter().any(|t| t.id == *sheet || t.id.starts_with(&format!("{sheet}-")));
        assert!(covered, "official sheet {sheet} has no table");
    }
    assert!(e.tables.len() >= 60, "{} tables", e.tables.len());
}

#[test]
fn required_code_lists_exist() {
    let e = Catalog::embedded().edition("2016").unwrap();
    for (id, min_values) in [
        ("gender", 2),
        ("ethnicity", 56),
        ("education", 4),
        ("degree", 3),
        ("title", 10),
        ("prof_level", 4),
        ("teacher_type", 4),
        ("yes_no", 2),
        ("change", 3),
        ("province", 34),
    ] {
        let list = e.code_list(id).unwrap_or_else(|| panic!("code list {id}"));
        assert!(list.values.len() >= min_values, "{id}: {} values", list.values.len());
    }
    let eth = e.code_list("ethnicity").unwrap();
    assert_eq!((eth.values[0].name.as_str(), eth.values[0].code.as_deref()), ("汉族", Some("01")));
    assert_eq!((eth.values[55].name.as_str(), eth.values[55].code.as_deref()), ("基诺族", Some("56")));
}

#[test]
fn documented_rules_are_declared() {
    let e = Catalog::embedded().edition("2016").unwrap();
    // A sum (总支出 = Σ parts), a ≤ (对口就业数 ≤ 就业数) and the cross-table checks of §4.
    let a52 = e.table("A5-2").unwrap();
    assert!(a52.rules.iter().any(|r| matches!(&r.kind, RowRuleKind::Sum { total, .. } if a52.field(total).unwrap().label_text().contains("总支出"))));
    let a762 = e.table("A7-6-2").unwrap();
    assert!(
        a762.rules.iter().any(
            |r| matches!(&r.kind, RowRuleKind::Le { left, right } if left.contains("match") && right == "employed")
        )
    );
    let cross: Vec<(&str, &str)> = e.rules.iter().map(|r| (r.left.table.as_str(), r.right.table.as_str())).collect();
    assert!(cross.contains(&("A1-3-1", "A7-1-1")), "1.3.1 ↔ 7.1: {cross:?}");
    assert!(cross.contains(&("A1-4", "A7-1-1")), "在校生 ↔ 7.1: {cross:?}");
}

#[test]
fn ids_are_unique_and_labels_present() {
    let e = Catalog::embedded().edition("2016").unwrap();
    let mut ids = std::collections::BTreeSet::new();
    for t in &e.tables {
        assert!(ids.insert(&t.id), "duplicate table {}", t.id);
        assert!(!t.explanation.trim().is_empty(), "{} has no explanation", t.id);
        let mut labels = std::collections::BTreeSet::new();
        for f in &t.fields {
            assert!(labels.insert(f.label.clone()), "{}: duplicate label {:?}", t.id, f.label);
        }
    }
}

// ---- broken schemas are reported with file and line ---------------------------------

const CATALOG: &str = r#"edition = "x"
name = "x"
schema_version = 1
tables = ["T1"]
[[chapters]]
id = "A1"
name = "章"
[[departments]]
code = "jwc"
name = "教务处"
kind = "office"
"#;

const CODES: &str = "id = \"c\"\nname = \"c\"\nsource = \"s\"\nvalues = [\"a\"]\n";

fn table(fields: &str) -> String {
    format!(
        "id = \"T1\"\nname = \"t\"\nsheet_name = \"t\"\nchapter = \"A1\"\ndepartment = \"jwc\"\nfill = \"lead\"\nkind = \"multi\"\nkey = [\"a\"]\nperiod = \"academic_year\"\ncarry_over = false\nstatus = \"complete\"\nexplanation = \"e\"\n{fields}"
    )
}

/// Loads a one-table edition and returns the error lines.
fn errors(table_text: &str, extra: &[(&str, &str)]) -> Vec<String> {
    let mut files = vec![("x/catalog.toml", CATALOG), ("x/tables/T1.toml", table_text), ("x/codes/c.toml", CODES)];
    files.extend_from_slice(extra);
    match load_files(files) {
        Ok(_) => vec![],
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn schema_errors_name_file_and_line() {
    let ok = table("[[fields]]\nid = \"a\"\nlabel = [\"甲\"]\ntype = \"code\"\ncodes = \"c\"\n");
    assert_eq!(errors(&ok, &[]), Vec::<String>::new());
    for (fields, extra, want) in [
        (
            "[[fields]]\nid = \"a\"\nlabel = [\"甲\"]\ntype = \"code\"\ncodes = \"missing\"\n",
            &[][..],
            "schemas/x/tables/T1.toml:13: field `a`: unknown code list `missing`",
        ),
        (
            "[[fields]]\nid = \"a\"\nlabel = [\"甲\"]\ntype = \"text\"\n[[fields]]\nid = \"a\"\nlabel = [\"乙\"]\ntype = \"text\"\n",
            &[],
            "schemas/x/tables/T1.toml:17: duplicate field id `a`",
        ),
        ("[[fields]]\nid = \"a\"\nlabel = [\"甲\"]\ntype = \"txt\"\n", &[], "schemas/x/tables/T1.toml:16:"),
        (
            "[[fields]]\nid = \"a\"\nlabel = [\"甲\"]\ntype = \"text\"\n[[rules]]\nid = \"r\"\nkind = \"le\"\nleft = \"a\"\nright = \"b\"\n",
            &[],
            "schemas/x/tables/T1.toml:17: rule `r`: unknown field `b`",
        ),
        (
            "[[fields]]\nid = \"a\"\nlabel = [\"甲\"]\ntype = \"text\"\nunknown_key = 1\n",
            &[],
            "schemas/x/tables/T1.toml:17: unknown field `unknown_key`",
        ),
        (
            "[[fields]]\nid = \"a\"\nlabel = [\"甲\"]\ntype = \"text\"\n",
            &[("x/tables/T2.toml", "id = \"T2\"")][..],
            "schemas/x/tables/T2.toml:",
        ),
        (
            "[[fields]]\nid = \"a\"\nlabel = [\"甲\"]\ntype = \"text\"\n",
            &[(
                "x/rules.toml",
                "[[rules]]\nid = \"x\"\nkind = \"equal\"\nleft = { table = \"T1\", field = \"a\", agg = \"sum\" }\nright = { table = \"T9\", agg = \"count\" }\n",
            )][..],
            "schemas/x/rules.toml:1: rule `x` left: `a` is not numeric",
        ),
    ] {
        let got = errors(&table(fields), extra);
        assert!(got.iter().any(|e| e.starts_with(want)), "want {want:?}, got {got:?}");
    }
    let got = errors(
        &table("[[fields]]\nid = \"a\"\nlabel = [\"甲\"]\ntype = \"text\"\n"),
        &[(
            "x/rules.toml",
            "[[rules]]\nid = \"x\"\nkind = \"le\"\nleft = { table = \"T1\", agg = \"count\" }\nright = { table = \"T9\", agg = \"count\" }\n",
        )],
    );
    assert_eq!(got, ["schemas/x/rules.toml:1: rule `x` right: unknown table `T9`"]);
    let bad_alias = "id = \"c\"\nname = \"c\"\nsource = \"s\"\nvalues = [\"a\"]\n[aliases]\n\"b\" = \"z\"\n";
    let got = errors(
        &table("[[fields]]\nid = \"a\"\nlabel = [\"甲\"]\ntype = \"text\"\n"),
        &[("x/codes/d.toml", bad_alias.replace("\"c\"\nname", "\"d\"\nname").as_str())],
    );
    assert_eq!(got, ["schemas/x/codes/d.toml:6: alias `b` points at `z`, which is not a value of this list"]);
}
