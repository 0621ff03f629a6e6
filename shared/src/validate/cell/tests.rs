//! Table-driven tests for every field type: input → stored value and the codes of the issues.

use super::*;
use crate::catalog::{Catalog, PeriodKind, load_files};
use crate::period::AcademicYear;
use crate::validate::Code::{self, *};

/// A small edition with one field of each type, independent of the real catalog's data.
pub(crate) fn test_catalog() -> Catalog {
    let catalog = r#"
edition = "t"
name = "测试"
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
    let table = r#"
id = "T1"
name = "测试表"
sheet_name = "T1测试表"
chapter = "A1"
department = "jwc"
fill = "lead"
kind = "multi"
key = ["no"]
period = "academic_year"
carry_over = false
status = "complete"
explanation = "测试"
[[fields]]
id = "no"
label = ["编号"]
type = "text"
required = true
max_len = 5
[[fields]]
id = "name"
label = ["姓名"]
type = "text"
[[fields]]
id = "count"
label = ["人数"]
type = "integer"
unit = "人"
max = 1000
[[fields]]
id = "money"
label = ["金额（万元）"]
type = "decimal"
unit = "万元"
[[fields]]
id = "year"
label = ["批准日期（年）"]
type = "year"
[[fields]]
id = "ym"
label = ["出生日期"]
type = "year_month"
[[fields]]
id = "ym_future"
label = ["结束日期（年月）"]
type = "year_month"
future_ok = true
[[fields]]
id = "date"
label = ["入学日期"]
type = "date"
[[fields]]
id = "gender"
label = ["性别"]
type = "code"
codes = "gender"
[[fields]]
id = "degree"
label = ["学位"]
type = "code"
codes = "degree"
[[fields]]
id = "yn"
label = ["是否专业教师"]
type = "yes_no"
[[fields]]
id = "phone"
label = ["区号-电话号码"]
type = "phone"
[[fields]]
id = "email"
label = ["电子邮箱"]
type = "email"
[[fields]]
id = "zip"
label = ["邮政编码"]
type = "postal_code"
[[fields]]
id = "url"
label = ["学校网址"]
type = "url"
[[fields]]
id = "idc"
label = ["身份证号"]
type = "id_card"
[[fields]]
id = "a"
label = ["甲"]
type = "integer"
[[fields]]
id = "b"
label = ["乙"]
type = "integer"
[[fields]]
id = "total"
label = ["合计"]
type = "integer"
[[rules]]
id = "sum"
kind = "sum"
total = "total"
parts = ["a", "b"]
[[rules]]
id = "le"
kind = "le"
left = "a"
right = "b"
severity = "warning"
"#;
    let gender = r#"
id = "gender"
name = "性别"
source = "GB/T 2261.1"
values = [{ name = "男", code = "1" }, { name = "女", code = "2" }]
[aliases]
"男性" = "男"
"#;
    let degree = r#"
id = "degree"
name = "学位"
source = "test"
values = ["博士", "硕士", "学士", "无"]
"#;
    let yes_no = r#"
id = "yes_no"
name = "是否"
source = "test"
values = ["是", "否"]
[aliases]
"Y" = "是"
"√" = "是"
"N" = "否"
"#;
    load_files([
        ("t/catalog.toml", catalog),
        ("t/tables/T1.toml", table),
        ("t/codes/gender.toml", gender),
        ("t/codes/degree.toml", degree),
        ("t/codes/yes_no.toml", yes_no),
    ])
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Checks `input` in field `field` of the test table (academic year 2025-2026) and compares the
/// stored value (as text) and the issue codes.
fn check(field: &str, input: &str, want: Option<&str>, codes: &[Code]) {
    let catalog = test_catalog();
    let edition = catalog.edition("t").unwrap();
    let f = edition.table("T1").unwrap().field(field).unwrap();
    let period = AcademicYear(2025).period(PeriodKind::AcademicYear);
    let got = check_cell(edition, f, period, input);
    let got_codes: Vec<Code> = got.issues.iter().map(|i| i.code).collect();
    assert_eq!(
        (got.value.as_ref().map(|v| v.to_string()).as_deref(), got_codes.as_slice()),
        (want, codes),
        "field {field}, input {input:?}: {:?}",
        got.issues
    );
}

#[test]
fn text() {
    check("name", "张三", Some("张三"), &[]);
    check("name", " 张三", Some("张三"), &[Trimmed]);
    check("name", "张 三", Some("张三"), &[InnerSpaces]);
    check("name", "ＡＢＣ公司", Some("ABC公司"), &[FullWidth]);
    check("name", "无", None, &[EmptyMarker]);
    check("name", "/", None, &[EmptyMarker]);
    check("name", "0", None, &[EmptyMarker]);
    check("name", "a\u{7}b", None, &[ControlChars]);
    check("no", "123456", None, &[TooLong]);
    check("no", "", None, &[Required]);
    check("no", "无", None, &[EmptyMarker, Required]);
    check("name", "", None, &[]);
}

#[test]
fn integer() {
    check("count", "12", Some("12"), &[]);
    check("count", "0", Some("0"), &[]);
    check("count", "12.0", Some("12"), &[]);
    check("count", "１２", Some("12"), &[FullWidth]);
    check("count", "1 2", Some("12"), &[InnerSpaces]);
    check("count", "30人", Some("30"), &[UnitInCell]);
    check("count", "1,000", Some("1000"), &[ThousandsSeparator]);
    check("count", "12.5", None, &[NotInteger]);
    check("count", "十二", None, &[NotInteger]);
    check("count", "-3", None, &[BelowMin]);
    check("count", "1001", None, &[AboveMax]);
    check("count", "无", None, &[EmptyMarker]);
    check("count", "99999999999999999999", None, &[AboveMax]);
}

#[test]
fn decimal() {
    check("money", "12.5", Some("12.5"), &[]);
    check("money", "12.50", Some("12.5"), &[]);
    check("money", "012", Some("12"), &[]);
    check("money", ".5", Some("0.5"), &[]);
    check("money", "12万元", Some("12"), &[UnitInCell]);
    check("money", "12.345", None, &[TooManyDecimals]);
    check("money", "1.2.3", None, &[NotNumber]);
    check("money", "12%", None, &[NotNumber]);
    check("money", "abc", None, &[NotNumber]);
}

#[test]
fn year() {
    check("year", "2019", Some("2019"), &[]);
    check("year", "2019年", Some("2019"), &[Reformatted]);
    check("year", "19", None, &[BadYear]);
    check("year", "2027", None, &[AfterPeriod]);
    check("year", "2026", Some("2026"), &[]);
}

#[test]
fn year_month() {
    check("ym", "198509", Some("198509"), &[]);
    check("ym", "198513", None, &[BadYearMonth]);
    check("ym", "1985-09", Some("198509"), &[Reformatted]);
    check("ym", "1985.9", Some("198509"), &[Reformatted]);
    check("ym", "1985年9月", Some("198509"), &[Reformatted]);
    check("ym", "1985-09-15", Some("198509"), &[Reformatted]);
    check("ym", "19850915", Some("198509"), &[Reformatted]);
    check("ym", "1985-02-30", None, &[BadYearMonth]);
    check("ym", "85-09", None, &[BadYearMonth]);
    check("ym", "202608", Some("202608"), &[]);
    check("ym", "202609", None, &[AfterPeriod]);
    check("ym_future", "202912", Some("202912"), &[]);
    check("ym", "189912", None, &[BadYearMonth]);
}

#[test]
fn date() {
    check("date", "2019-09-01", Some("2019-09-01"), &[]);
    check("date", "20190901", Some("2019-09-01"), &[Reformatted]);
    check("date", "2019/9/1", Some("2019-09-01"), &[Reformatted]);
    check("date", "2019年9月1日", Some("2019-09-01"), &[Reformatted]);
    check("date", "2019-02-29", None, &[BadDate]);
    check("date", "2019-13-01", None, &[BadDate]);
    check("date", "2026-09-01", None, &[AfterPeriod]);
    check("date", "昨天", None, &[BadDate]);
}

#[test]
fn code() {
    check("gender", "男", Some("男"), &[]);
    check("gender", " 男", Some("男"), &[Trimmed]);
    check("gender", "男性", Some("男"), &[Alias]);
    check("gender", "1", Some("男"), &[Alias]);
    check("gender", "男生", None, &[NotInCodeList]);
    check("gender", "0", None, &[EmptyMarker]);
    // "无" is a value of 学位, so it is kept, not treated as an empty marker.
    check("degree", "无", Some("无"), &[]);
}

#[test]
fn yes_no() {
    check("yn", "是", Some("是"), &[]);
    check("yn", "Y", Some("是"), &[Alias]);
    check("yn", "√", Some("是"), &[Alias]);
    check("yn", "N", Some("否"), &[Alias]);
    check("yn", "可能", None, &[BadYesNo]);
}

#[test]
fn phone() {
    check("phone", "0632-1234567", Some("0632-1234567"), &[]);
    check("phone", "010-12345678", Some("010-12345678"), &[]);
    check("phone", "0632-1234567-801", Some("0632-1234567-801"), &[]);
    check("phone", "13812345678", Some("13812345678"), &[]);
    check("phone", "(0632)1234567", Some("0632-1234567"), &[Reformatted]);
    check("phone", "400-123-4567", Some("400-123-4567"), &[]);
    check("phone", "1234567", None, &[BadPhone]);
    check("phone", "12812345678", None, &[BadPhone]);
    check("phone", "0632 - 1234567", Some("0632-1234567"), &[InnerSpaces]);
}

#[test]
fn email() {
    check("email", "zhangsan@example.edu.cn", Some("zhangsan@example.edu.cn"), &[]);
    check("email", "zhang.san+x@abc.com", Some("zhang.san+x@abc.com"), &[]);
    check("email", "zhangsan＠example.com", Some("zhangsan@example.com"), &[FullWidth]);
    check("email", "zhangsan", None, &[BadEmail]);
    check("email", "zhangsan@localhost", None, &[BadEmail]);
    check("email", "@abc.com", None, &[BadEmail]);
    check("email", "a@b@c.com", None, &[BadEmail]);
}

#[test]
fn postal_code() {
    check("zip", "277599", Some("277599"), &[]);
    check("zip", "27759", None, &[BadPostalCode]);
    check("zip", "2775990", None, &[BadPostalCode]);
    check("zip", "977599", None, &[BadPostalCode]);
}

#[test]
fn url() {
    check("url", "https://www.example.edu.cn", Some("https://www.example.edu.cn"), &[]);
    check("url", "www.example.edu.cn/about?id=1", Some("www.example.edu.cn/about?id=1"), &[]);
    check("url", "http://example.com:8080/x", Some("http://example.com:8080/x"), &[]);
    check("url", "学校网站", None, &[BadUrl]);
    check("url", "http://exa mple.com", None, &[BadUrl]);
}

#[test]
fn id_card() {
    check("idc", "11010519491231002X", Some("11010519491231002X"), &[]);
    check("idc", "11010519491231002x", Some("11010519491231002X"), &[Reformatted]);
    check("idc", "370402198509150015", Some("370402198509150015"), &[]);
    check("idc", "370402198509150013", None, &[BadIdCard]);
    check("idc", "370402850915001", None, &[BadIdCard]);
    check("idc", "3704021985091500", None, &[BadIdCard]);
    check("idc", "990402198509150015", None, &[BadIdCard]);
    check("idc", "370402198502300017", None, &[BadIdCard]);
    // Born after the period's end (2026-08-31): computed check digit 1.
    check("idc", "370402202701010011", None, &[BadIdCard]);
}

#[test]
fn message_names_the_value_and_the_expected_format() {
    let catalog = test_catalog();
    let edition = catalog.edition("t").unwrap();
    let f = edition.table("T1").unwrap().field("ym").unwrap();
    let period = AcademicYear(2025).period(PeriodKind::AcademicYear);
    let got = check_cell(edition, f, period, "198513");
    assert_eq!(got.issues[0].message, "198513 不是有效的年月（应为 YYYYMM，如 198509）");
    let f = edition.table("T1").unwrap().field("gender").unwrap();
    let got = check_cell(edition, f, period, "男生");
    assert_eq!(got.issues[0].message, "「男生」不是「性别」代码表中的值（可选：男、女）");
}

#[test]
fn stored_values_recheck_cleanly() {
    let catalog = test_catalog();
    let edition = catalog.edition("t").unwrap();
    let period = AcademicYear(2025).period(PeriodKind::AcademicYear);
    for (field, input) in
        [("count", "30人"), ("ym", "1985-9"), ("gender", "男性"), ("money", "12.50"), ("idc", "11010519491231002x")]
    {
        let f = edition.table("T1").unwrap().field(field).unwrap();
        let first = check_cell(edition, f, period, input);
        let again = check_value(edition, f, period, first.value.as_ref());
        assert_eq!((again.value, again.issues), (first.value, vec![]), "{field} {input}");
    }
}
