//! Deterministic, valid A6-1-1 values for the agent's benchmarks (`grid`, `import`).

use caiji_shared::catalog::FieldType;

/// A valid value of each A6-1-1 field that varies by row ("" leaves the cell empty).
pub fn value(field: &str, ty: FieldType, row: usize) -> String {
    match field {
        "dept" => "计算机系".into(),
        "emp_no" => format!("T{row:06}"),
        "name" => format!("教师{row}"),
        "ethnicity" => ["汉族", "回族", "满族", "蒙古族"][row % 4].into(),
        "post" => ["", "系主任", "教研室主任"][row % 3].into(),
        "title" => ["教授", "副教授", "讲师", "助教"][row % 4].into(),
        "education" => ["博士研究生", "硕士研究生", "大学本科"][row % 3].into(),
        "degree" => ["博士", "硕士", "学士"][row % 3].into(),
        "gender" => ["男", "女"][row % 2].into(),
        "birth" => format!("{}{:02}", 1960 + row % 40, row % 12 + 1),
        "prof_level" => ["正高级", "副高级", "中级", "初级"][row % 4].into(),
        "prof_name" => ["教授", "副教授", "讲师", "助教"][row % 4].into(),
        "prof_issuer" => "山东省教育厅".into(),
        "prof_date" => format!("{}{:02}", 2000 + row % 25, row % 12 + 1),
        "field" => "计算机科学与技术".into(),
        "specialty" => ["软件工程", "网络安全", "人工智能"][row % 3].into(),
        "has_teacher_cert" => ["是", "否"][row % 2].into(),
        "industry_years" => (row % 30).to_string(),
        "industry_days" => (row % 200).to_string(),
        "qual_level" => "三级（高级工）".into(),
        "qual_name" => "计算机程序设计员".into(),
        "qual_issuer" => "山东省人力资源和社会保障厅".into(),
        "teacher_cert_issuer" => "山东省教育厅".into(),
        "is_major_teacher" => "是".into(),
        _ => match ty {
            FieldType::YesNo => ["是", "否"][row % 2].into(),
            FieldType::YearMonth => format!("{}{:02}", 2005 + row % 20, row % 12 + 1),
            _ => String::new(),
        },
    }
}
