//! A collector's day with `caiji-agent`: create the agent, import the department's spreadsheet
//! in the official layout, see exactly what is wrong, fix a cell, export, re-import.

use crate::support::{Agent, run, teacher, teacher_workbook};

#[test]
fn import_fix_export_reimport() {
    let a = Agent::new();
    let tables = a.ok(&["tables"]);
    assert!(tables.contains("A6-1-1") && tables.contains("未填报"), "{tables}");

    let file = a.path("人事处导出.xlsx");
    teacher_workbook(
        &file,
        &[teacher("T001", "张三", "198509"), teacher("T002", "李 四", "198513"), teacher("T003", "王五", "199001")],
    );
    let out = a.ok(&["import", file.to_str().unwrap()]);
    assert!(
        out.contains("工作表「A6-1-1校内专任教师基本情况表」→ A6-1-1 校内专任教师基本情况：表头在第 3–4 行"),
        "{out}"
    );
    assert!(out.contains("新增 3 行，更新 0 行，未变 0 行，未导入 0 行"), "{out}");
    assert!(out.contains("错误 A6-1-1 第6行「出生日期」：198513 不是有效的年月（应为 YYYYMM，如 198509）"), "{out}");
    assert!(out.contains("警告 A6-1-1 第6行「姓名」：「李 四」中有多余的空格，已改为「李四」"), "{out}");
    assert!(a.path("人事处导出.导入报告.xlsx").exists());

    // The table list and validate show the error until it is fixed.
    assert!(a.ok(&["tables"]).contains("有错误"));
    let (ok, out, _) = a.run(&["validate"]);
    assert!(!ok && out.contains("「出生日期」：198513 不是有效的年月"), "{out}");
    // A bad value is refused and changes nothing; a good one is stored.
    let (ok, _, err) = a.run(&["set", "A6-1-1", "T002", "出生日期", "1985-13"]);
    assert!(!ok && err.contains("未修改：A6-1-1 第2行「出生日期」：1985-13 不是有效的年月"), "{err}");
    let out = a.ok(&["set", "A6-1-1", "T002", "出生日期", "198512", "--user", "李老师"]);
    assert!(out.contains("已修改 A6-1-1 第2行「出生日期」：198513 → 198512"), "{out}");
    assert!(a.ok(&["validate"]).contains("错误 0 处"));

    let history = a.ok(&["history", "A6-1-1", "T002", "出生日期"]);
    assert!(history.contains("张三  导入（人事处导出.xlsx）  （空） → 198513"), "{history}");
    assert!(history.contains("李老师  修改  198513 → 198512"), "{history}");

    // Export in the official layout, then import the export: nothing changes, nothing doubles.
    let exported = a.path("导出.xlsx");
    a.ok(&["export", "A6-1-1", "-o", exported.to_str().unwrap()]);
    let out = a.ok(&["import", exported.to_str().unwrap()]);
    assert!(out.contains("新增 0 行，更新 0 行，未变 3 行"), "{out}");
    assert_eq!(a.rows("A6-1-1").len(), 3);

    // Next month's HR export: one changed, one new; matched by 教工号.
    let next = a.path("人事处导出-11月.xlsx");
    teacher_workbook(&next, &[teacher("T001", "张三", "198510"), teacher("T004", "赵六", "199203")]);
    let out = a.ok(&["import", next.to_str().unwrap()]);
    assert!(out.contains("新增 1 行，更新 1 行，未变 0 行"), "{out}");
    let rows = a.rows("A6-1-1");
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0]["cells"]["birth"], "198510");

    // Delete and restore by 教工号.
    assert!(a.ok(&["delete", "A6-1-1", "T004"]).contains("已删除"));
    assert!(!a.ok(&["rows", "A6-1-1"]).contains("T004"));
    a.ok(&["restore", "A6-1-1", "T004"]);
    assert!(a.ok(&["rows", "A6-1-1"]).contains("T004"));
}

#[test]
fn csv_exported_by_chinese_excel_in_gbk() {
    let a = Agent::new();
    let text = "序号,教工号,姓名,性别,民族,学历,出生日期,所属系部,是否专业教师\r\n1,T001,张三,男,汉族,大学本科,198509,计算机系,是\r\n";
    let (gbk, _, _) = encoding_rs::GBK.encode(text);
    let path = a.path("teachers.csv");
    std::fs::write(&path, &gbk).unwrap();
    let out = a.ok(&["import", path.to_str().unwrap(), "--table", "A6-1-1"]);
    assert!(out.contains("新增 1 行"), "{out}");
    assert_eq!(a.rows("A6-1-1")[0]["cells"]["name"], "张三");
}

#[test]
fn clear_errors_and_exit_codes() {
    let a = Agent::new();
    for (args, want) in [
        (vec!["rows", "Z9"], "错误：没有表「Z9」"),
        (vec!["import", "missing.xlsx"], "错误：无法打开文件"),
        (vec!["show", "A6-1-1", "7"], "错误：A6-1-1 校内专任教师基本情况 中没有「7」这一行"),
        (vec!["set", "A6-1-1", "1", "不存在的列", "x"], "错误："),
    ] {
        let (ok, _, err) = a.run(&args);
        assert!(!ok, "{args:?}");
        assert!(err.starts_with(want), "{args:?}: {err}");
    }
    let garbage = a.path("坏文件.xlsx");
    std::fs::write(&garbage, b"PK\x03\x04 truncated").unwrap();
    let (ok, _, err) = a.run(&["import", garbage.to_str().unwrap()]);
    assert!(!ok && err.contains("文件已损坏或不是有效的表格文件"), "{err}");
    let (ok, _, err) = run("caiji-agent", &["--data", a.path("nowhere").to_str().unwrap(), "tables"]);
    assert!(!ok && err.contains("尚未初始化"), "{err}");
    let (ok, _, err) = a.run(&["init", "--department", "jsjx", "--name", "计算机系", "--collector", "张三"]);
    assert!(!ok && err.contains("已经初始化过"), "{err}");
}
