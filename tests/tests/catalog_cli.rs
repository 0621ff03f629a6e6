use crate::support::run;

#[test]
fn agent_lists_every_table() {
    let (ok, out, err) = run("caiji-agent", &["catalog"]);
    assert!(ok, "{err}");
    assert!(out.contains("2016 标准版"), "{out}");
    for line in ["A1-1       学校基本信息", "A6-1-1     校内专任教师基本情况", "A11-4      少数民族教师情况"]
    {
        assert!(out.contains(line), "missing {line:?} in\n{out}");
    }
    let tables =
        out.lines().filter(|l| l.trim_start().trim_start_matches('*').starts_with('A') && l.contains("个字段")).count();
    assert!(tables >= 60, "{tables} tables listed");
}

#[test]
fn agent_shows_one_table_with_fields_and_explanations() {
    let (ok, out, err) = run("caiji-agent", &["catalog", "A6-1-1"]);
    assert!(ok, "{err}");
    assert!(out.contains("唯一标识：教工号"), "{out}");
    assert!(out.contains("出生日期（年月，必填）"), "{out}");
    assert!(out.contains("专业技术职务-等级（代码：专业技术职务等级）"), "{out}");
}

#[test]
fn unknown_table_is_a_clear_error() {
    let (ok, out, err) = run("caiji-agent", &["catalog", "Z9"]);
    assert!(!ok);
    assert!(out.is_empty());
    assert_eq!(err.trim(), "错误：没有表「Z9」；运行 `caiji-agent catalog` 查看全部表号");
}

#[test]
fn hub_lists_the_catalog_too() {
    let (ok, out, err) = run("caiji-hub", &["catalog"]);
    assert!(ok, "{err}");
    assert!(out.contains("A7-1-1     开设专业"), "{out}");
}
