//! One cell: parse what the user typed into a typed [`Value`], normalising what the official
//! rules allow (with a warning that keeps the original) and refusing the rest (with an error
//! that says what is expected).

use chrono::{Datelike, NaiveDate};

use super::normalize::{half_width, is_empty_marker, is_space, strip_spaces, tidy_inner_spaces, trim};
use super::{Code, Issue, idcard};
use crate::catalog::{CodeList, Edition, Field, FieldType};
use crate::period::Period;
use crate::value::Value;

/// The outcome of checking one cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellCheck {
    /// The value to store; `None` for an empty cell (also after an error: nothing is stored
    /// from a value that failed, the caller keeps the original text for the report).
    pub value: Option<Value>,
    pub issues: Vec<Issue>,
}

impl CellCheck {
    pub fn has_errors(&self) -> bool {
        self.issues.iter().any(|i| i.severity == crate::Severity::Error)
    }
}

/// Units people type after a number although the header already gives one.
const UNITS: &[&str] = &[
    "万元",
    "元",
    "平方米",
    "㎡",
    "m²",
    "m2",
    "万册",
    "册",
    "人次",
    "人天",
    "人时",
    "人",
    "个",
    "门",
    "天",
    "台套",
    "台",
    "套",
    "间",
    "种",
    "项",
    "学时",
    "小时",
    "年",
    "月",
    "次",
    "名",
    "所",
    "家",
    "篇",
    "本",
    "部",
    "条",
    "%",
    "GB",
    "TB",
    "Mbps",
    "M",
];

/// Checks what a user typed (or an import read) into a cell of `field`.
pub fn check_cell(edition: &Edition, field: &Field, period: Period, raw: &str) -> CellCheck {
    let mut issues = Vec::new();
    let value = parse(edition, field, period, raw, &mut issues);
    if value.is_none() && field.required && !issues.iter().any(|i| i.severity == crate::Severity::Error) {
        issues.push(Issue::error(Code::Required, "必填项，不能为空"));
    }
    CellCheck { value, issues }
}

/// Re-checks a stored value (e.g. data that arrived by sync), with the same rules.
pub fn check_value(edition: &Edition, field: &Field, period: Period, value: Option<&Value>) -> CellCheck {
    match value {
        Some(v) => check_cell(edition, field, period, &v.to_string()),
        None => check_cell(edition, field, period, ""),
    }
}

fn parse(edition: &Edition, field: &Field, period: Period, raw: &str, issues: &mut Vec<Issue>) -> Option<Value> {
    let trimmed = trim(raw);
    if trimmed.is_empty() {
        return None;
    }
    if trimmed != raw {
        issues.push(Issue::warning(Code::Trimmed, format!("「{raw}」前后有多余的空格，已去除")));
    }
    if trimmed.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        issues.push(Issue::error(Code::ControlChars, format!("「{trimmed}」含有不可见的控制字符，请重新输入")));
        return None;
    }
    let code_list = field.codes.as_deref().and_then(|c| edition.code_list(c));
    // A code list may itself contain "无" (e.g. 学位); only otherwise is it an empty marker.
    let is_code_value = code_list.is_some_and(|l| l.contains(trimmed));
    let numeric = field.ty.is_numeric();
    if !is_code_value && (is_empty_marker(trimmed) || (trimmed == "0" && !numeric)) {
        issues.push(Issue::warning(Code::EmptyMarker, format!("空项请直接留空，不要填写「{trimmed}」；已按空值处理")));
        return None;
    }
    let s = if field.ty == FieldType::Text {
        let hw = half_width(trimmed, false);
        if hw != trimmed {
            issues.push(Issue::warning(Code::FullWidth, format!("「{trimmed}」中的全角数字或字母已改为半角：{hw}")));
        }
        let tidy = tidy_inner_spaces(&hw);
        if tidy != hw {
            issues.push(Issue::warning(Code::InnerSpaces, format!("「{hw}」中有多余的空格，已改为「{tidy}」")));
        }
        tidy
    } else {
        let hw = half_width(trimmed, true);
        if hw != trimmed {
            issues.push(Issue::warning(Code::FullWidth, format!("「{trimmed}」中的全角字符已改为半角：{hw}")));
        }
        // Spaces in a URL are an error of their own, not a stray space to drop silently.
        if field.ty != FieldType::Url && hw.chars().any(is_space) {
            let stripped = strip_spaces(&hw);
            issues.push(Issue::warning(Code::InnerSpaces, format!("「{hw}」中有多余的空格，已去除")));
            stripped
        } else {
            hw
        }
    };
    match field.ty {
        FieldType::Text => text(field, s, issues),
        FieldType::Integer | FieldType::Decimal => number(field, &s, issues),
        FieldType::Year => year(field, period, &s, issues),
        FieldType::YearMonth => year_month(field, period, &s, issues),
        FieldType::Date => date(field, period, &s, issues),
        FieldType::Code | FieldType::YesNo => match code_list {
            Some(list) => code(field, list, &s, issues),
            None => Some(Value::Text(s)),
        },
        FieldType::Phone => phone(&s, issues),
        FieldType::Email => email(&s, issues),
        FieldType::PostalCode => postal_code(&s, issues),
        FieldType::Url => url(&s, issues),
        FieldType::IdCard => id_card(period, &s, issues),
    }
}

fn text(field: &Field, s: String, issues: &mut Vec<Issue>) -> Option<Value> {
    let n = s.chars().count();
    if n > field.max_len {
        issues.push(Issue::error(Code::TooLong, format!("内容有 {n} 个字，超过上限 {} 个字", field.max_len)));
        return None;
    }
    Some(Value::Text(s))
}

fn number(field: &Field, s: &str, issues: &mut Vec<Issue>) -> Option<Value> {
    let original = s;
    let mut s = s.to_string();
    let typed_unit = |u: &&str| {
        s.len() > u.len() && s.ends_with(*u) && s[..s.len() - u.len()].ends_with(|c: char| c.is_ascii_digit())
    };
    // With a unit in the header only that unit (or its other spellings) is stripped: "12%" in a
    // 万元 column is not 12 万元.
    let own: Vec<&str> = match field.unit.as_deref() {
        Some("平方米") => vec!["平方米", "㎡", "m²", "m2"],
        Some(u) => vec![u],
        None => UNITS.to_vec(),
    };
    if let Some(unit) = own.iter().copied().find(|u| typed_unit(u)) {
        s.truncate(s.len() - unit.len());
        let header = field.unit.as_deref().map(|u| format!("（{u}）")).unwrap_or_default();
        issues.push(Issue::warning(
            Code::UnitInCell,
            format!("「{original}」中填写了单位，单位已在表头中{header}，单元格只填数字；已按 {s} 处理"),
        ));
    }
    if s.contains(',') && valid_grouping(&s) {
        let plain = s.replace(',', "");
        issues.push(Issue::warning(Code::ThousandsSeparator, format!("「{s}」中的千位分隔符已去除：{plain}")));
        s = plain;
    }
    let Some((negative, int_part, frac_part)) = split_number(&s) else {
        let want = if field.ty == FieldType::Integer { "整数" } else { "数字" };
        let code = if field.ty == FieldType::Integer { Code::NotInteger } else { Code::NotNumber };
        issues.push(Issue::error(code, format!("「{original}」不是{want}，请只填写阿拉伯数字")));
        return None;
    };
    let frac_trimmed = frac_part.trim_end_matches('0');
    let as_f64: f64 = s.parse().unwrap_or(f64::NAN);
    let value = if field.ty == FieldType::Integer {
        if !frac_trimmed.is_empty() {
            issues.push(Issue::error(Code::NotInteger, format!("「{original}」不是整数")));
            return None;
        }
        match int_part.parse::<i64>() {
            Ok(i) => Value::Int(if negative { -i } else { i }),
            Err(_) => {
                issues.push(Issue::error(Code::AboveMax, format!("「{original}」太大")));
                return None;
            }
        }
    } else {
        if frac_trimmed.len() > field.scale as usize {
            issues.push(Issue::error(
                Code::TooManyDecimals,
                format!("「{original}」的小数位数过多，最多保留 {} 位小数", field.scale),
            ));
            return None;
        }
        let int_part = int_part.trim_start_matches('0');
        let int_part = if int_part.is_empty() { "0" } else { int_part };
        let sign = if negative && (int_part != "0" || !frac_trimmed.is_empty()) { "-" } else { "" };
        if frac_trimmed.is_empty() {
            Value::Text(format!("{sign}{int_part}"))
        } else {
            Value::Text(format!("{sign}{int_part}.{frac_trimmed}"))
        }
    };
    if let Some(min) = field.min
        && as_f64 < min
    {
        issues.push(Issue::error(Code::BelowMin, format!("{value} 小于允许的最小值 {}", fmt_num(min))));
        return None;
    }
    if let Some(max) = field.max
        && as_f64 > max
    {
        issues.push(Issue::error(Code::AboveMax, format!("{value} 大于允许的最大值 {}", fmt_num(max))));
        return None;
    }
    Some(value)
}

fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 { format!("{}", x as i64) } else { format!("{x}") }
}

/// "1,234,567.5" style grouping: groups of exactly three digits after the first.
fn valid_grouping(s: &str) -> bool {
    let int = s.trim_start_matches(['-', '+']).split('.').next().unwrap_or("");
    let mut groups = int.split(',');
    let first = groups.next().unwrap_or("");
    (1..=3).contains(&first.len()) && groups.all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()))
}

/// Splits "-12.50" into (negative, "12", "50"); `None` unless it is a plain decimal number.
fn split_number(s: &str) -> Option<(bool, &str, &str)> {
    let (negative, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = rest.split_once('.').unwrap_or((rest, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) || (rest.ends_with('.') && frac.is_empty())
    {
        return None;
    }
    Some((negative, int, frac))
}

/// The last month of the period, as YYYYMM.
fn period_end_ym(period: Period) -> u32 {
    period.end.year() as u32 * 100 + period.end.month()
}

fn after_period(period: Period, what: &str, issues: &mut Vec<Issue>) {
    issues.push(Issue::error(
        Code::AfterPeriod,
        format!("{what} 晚于统计期末（{}年{}月{}日），请核对", period.end.year(), period.end.month(), period.end.day()),
    ));
}

fn year(field: &Field, period: Period, s: &str, issues: &mut Vec<Issue>) -> Option<Value> {
    let digits = s.strip_suffix('年').unwrap_or(s);
    let y: Option<i32> =
        (digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.parse().ok()).flatten();
    let Some(y) = y.filter(|y| (1900..=2200).contains(y)) else {
        issues.push(Issue::error(Code::BadYear, format!("{s} 不是有效的年份（应为四位数字，如 2019）")));
        return None;
    };
    if digits != s {
        issues.push(Issue::warning(Code::Reformatted, format!("「{s}」已按年份 {y} 处理")));
    }
    if !field.future_ok && y > period.end.year() {
        after_period(period, &y.to_string(), issues);
        return None;
    }
    Some(Value::Int(i64::from(y)))
}

/// Splits a date-like text into its numeric parts: "1985-09", "1985年9月1日", "1985.9.1" …
fn date_parts(s: &str) -> Option<Vec<u32>> {
    let cleaned: String = s.replace(['年', '月', '-', '.', '/'], " ").replace('日', "");
    let parts: Vec<&str> = cleaned.split_whitespace().collect();
    if parts.is_empty() || parts.iter().any(|p| !p.bytes().all(|b| b.is_ascii_digit()) || p.len() > 4) {
        return None;
    }
    parts.iter().map(|p| p.parse().ok()).collect()
}

fn year_month(field: &Field, period: Period, s: &str, issues: &mut Vec<Issue>) -> Option<Value> {
    let plain = s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit());
    let ym = if plain {
        Some((s[..4].parse::<u32>().unwrap_or(0), s[4..].parse::<u32>().unwrap_or(0)))
    } else if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        NaiveDate::parse_from_str(s, "%Y%m%d").ok().map(|d| (d.year() as u32, d.month()))
    } else {
        match date_parts(s).as_deref() {
            Some([y, m]) if *y >= 1000 => Some((*y, *m)),
            Some([y, m, d]) if *y >= 1000 => NaiveDate::from_ymd_opt(*y as i32, *m, *d).map(|_| (*y, *m)),
            _ => None,
        }
    };
    let Some((y, m)) = ym.filter(|(y, m)| (1900..=2200).contains(y) && (1..=12).contains(m)) else {
        issues.push(Issue::error(Code::BadYearMonth, format!("{s} 不是有效的年月（应为 YYYYMM，如 198509）")));
        return None;
    };
    let canonical = format!("{y:04}{m:02}");
    if !plain {
        issues
            .push(Issue::warning(Code::Reformatted, format!("「{s}」已按年月 {canonical} 处理（年月应填为 YYYYMM）")));
    }
    if !field.future_ok && y * 100 + m > period_end_ym(period) {
        after_period(period, &canonical, issues);
        return None;
    }
    Some(Value::Text(canonical))
}

fn date(field: &Field, period: Period, s: &str, issues: &mut Vec<Issue>) -> Option<Value> {
    let parsed = if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        NaiveDate::parse_from_str(s, "%Y%m%d").ok()
    } else {
        match date_parts(s).as_deref() {
            Some([y, m, d]) if *y >= 1000 => NaiveDate::from_ymd_opt(*y as i32, *m, *d),
            _ => None,
        }
    };
    let Some(d) = parsed.filter(|d| (1900..=2200).contains(&d.year())) else {
        issues.push(Issue::error(Code::BadDate, format!("{s} 不是有效的日期（应为 YYYY-MM-DD，如 2019-09-01）")));
        return None;
    };
    let canonical = d.format("%Y-%m-%d").to_string();
    if canonical != s {
        issues.push(Issue::warning(Code::Reformatted, format!("「{s}」已按日期 {canonical} 处理")));
    }
    if !field.future_ok && d > period.end {
        after_period(period, &canonical, issues);
        return None;
    }
    Some(Value::Text(canonical))
}

fn code(field: &Field, list: &CodeList, s: &str, issues: &mut Vec<Issue>) -> Option<Value> {
    if list.contains(s) {
        return Some(Value::Text(s.to_string()));
    }
    if let Some(name) = list.alias(s) {
        issues.push(Issue::warning(Code::Alias, format!("「{s}」已按「{name}」处理，请使用下拉选项中的标准写法")));
        return Some(Value::Text(name.to_string()));
    }
    if field.ty == FieldType::YesNo {
        issues.push(Issue::error(Code::BadYesNo, format!("「{s}」应填写「是」或「否」")));
        return None;
    }
    const SHOWN: usize = 8;
    let names: Vec<&str> = list.values.iter().take(SHOWN).map(|v| v.name.as_str()).collect();
    let more = if list.values.len() > SHOWN { format!(" 等，共 {} 项", list.values.len()) } else { String::new() };
    issues.push(Issue::error(
        Code::NotInCodeList,
        format!("「{s}」不是「{}」代码表中的值（可选：{}{more}）", list.name, names.join("、")),
    ));
    None
}

fn phone(s: &str, issues: &mut Vec<Issue>) -> Option<Value> {
    let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    // "(0632)1234567" → "0632-1234567"
    let s2 = if let Some(rest) = s.strip_prefix('(').or_else(|| s.strip_prefix('（')) {
        match rest.split_once(')').or_else(|| rest.split_once('）')) {
            Some((area, num)) => format!("{area}-{num}"),
            None => s.to_string(),
        }
    } else {
        s.to_string()
    };
    let mobile = s2.len() == 11 && all_digits(&s2) && s2.starts_with('1') && (b'3'..=b'9').contains(&s2.as_bytes()[1]);
    let parts: Vec<&str> = s2.split('-').collect();
    let landline = match parts.as_slice() {
        [area, num] | [area, num, _] => {
            area.starts_with('0')
                && (3..=4).contains(&area.len())
                && all_digits(area)
                && (7..=8).contains(&num.len())
                && all_digits(num)
                && parts.get(2).is_none_or(|ext| all_digits(ext) && ext.len() <= 6)
        }
        _ => false,
    };
    let service = (s2.starts_with("400") || s2.starts_with("800"))
        && all_digits(&s2.replace('-', ""))
        && s2.replace('-', "").len() == 10;
    if mobile || landline || service {
        if s2 != s {
            issues.push(Issue::warning(Code::Reformatted, format!("「{s}」已按 {s2} 处理")));
        }
        return Some(Value::Text(s2));
    }
    issues.push(Issue::error(
        Code::BadPhone,
        format!("{s} 不是有效的电话号码（固定电话应为「区号-号码」，如 0632-1234567；手机为 11 位数字）"),
    ));
    None
}

fn email(s: &str, issues: &mut Vec<Issue>) -> Option<Value> {
    let ok = s.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && local.len() <= 64
            && local.bytes().all(|b| b.is_ascii_alphanumeric() || b"._%+-".contains(&b))
            && !local.starts_with('.')
            && !local.ends_with('.')
            && domain_ok(domain)
    });
    if ok {
        return Some(Value::Text(s.to_string()));
    }
    issues.push(Issue::error(Code::BadEmail, format!("{s} 不是有效的电子邮箱（如 zhangsan@example.edu.cn）")));
    None
}

fn domain_ok(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && labels.last().is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()))
}

fn postal_code(s: &str, issues: &mut Vec<Issue>) -> Option<Value> {
    if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) && s.as_bytes()[0] != b'9' {
        return Some(Value::Text(s.to_string()));
    }
    issues.push(Issue::error(Code::BadPostalCode, format!("{s} 不是有效的邮政编码（应为 6 位数字，如 277599）")));
    None
}

fn url(s: &str, issues: &mut Vec<Issue>) -> Option<Value> {
    let rest = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://")).unwrap_or(s);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit_once(':').filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit())).map_or(host, |(h, _)| h);
    let ok = !s.chars().any(is_space) && domain_ok(host) && rest.is_ascii();
    if ok {
        return Some(Value::Text(s.to_string()));
    }
    issues.push(Issue::error(Code::BadUrl, format!("{s} 不是有效的网址（如 https://www.example.edu.cn）")));
    None
}

fn id_card(period: Period, s: &str, issues: &mut Vec<Issue>) -> Option<Value> {
    let upper = s.replace('x', "X");
    if upper != s {
        issues.push(Issue::warning(Code::Reformatted, format!("身份证号末位的小写 x 已改为大写：{upper}")));
    }
    use idcard::IdCardError as E;
    let why = match idcard::parse(&upper) {
        Ok(birth) if birth > period.end => "出生日期晚于统计期末".to_string(),
        Ok(_) => return Some(Value::Text(upper)),
        Err(E::OldFifteen) => "这是 15 位的旧号码，请填写 18 位身份证号".into(),
        Err(E::Length(n)) => format!("应为 18 位，实际 {n} 位"),
        Err(E::Chars) => "前 17 位应为数字，末位为数字或 X".into(),
        Err(E::Region) => "前两位不是有效的省级行政区划代码".into(),
        Err(E::Birth) => "第 7–14 位不是有效的出生日期".into(),
        Err(E::CheckDigit { expected }) => format!("校验位不符（按前 17 位计算末位应为 {expected}），请核对是否录错"),
    };
    issues.push(Issue::error(Code::BadIdCard, format!("{s} 不是有效的身份证号：{why}")));
    None
}

#[cfg(test)]
pub(crate) mod tests;
