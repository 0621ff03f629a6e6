//! Text clean-up the official rules call for (platform-tables.md §4): stray spaces
//! ("空格+男" breaks aggregation), full-width digits and letters, and the "don'ts" of empty
//! cells ("0", "无", "/"). Each clean-up is reported as a warning by the caller.

/// Whitespace as Excel users produce it: ASCII, no-break space, ideographic (full-width) space.
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{3000}' || c == '\u{00a0}' || c == '\u{200b}' || c == '\u{feff}'
}

pub(crate) fn trim(s: &str) -> &str {
    s.trim_matches(is_space)
}

/// Converts full-width ASCII (U+FF01–U+FF5E) to half-width. With `all_ascii` false only digits
/// and letters are converted, so Chinese punctuation such as （） stays in names.
pub(crate) fn half_width(s: &str, all_ascii: bool) -> String {
    s.chars()
        .map(|c| {
            let u = c as u32;
            if (0xFF01..=0xFF5E).contains(&u) {
                let h = char::from_u32(u - 0xFEE0).unwrap_or(c);
                if all_ascii || h.is_ascii_alphanumeric() {
                    return h;
                }
            }
            c
        })
        .collect()
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
        || matches!(c, '（' | '）' | '、' | '，' | '。' | '：' | '；' | '“' | '”' | '《' | '》')
}

/// In free text: collapses runs of spaces into one and drops spaces next to Chinese characters
/// ("张 三" → "张三"), where they are never meaningful.
pub(crate) fn tidy_inner_spaces(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if is_space(c) && c != '\n' {
            let start = i;
            while i < chars.len() && is_space(chars[i]) && chars[i] != '\n' {
                i += 1;
            }
            let prev = start.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i).copied();
            let near_cjk = prev.is_some_and(is_cjk) || next.is_some_and(is_cjk);
            let at_line_edge = prev == Some('\n') || next == Some('\n');
            if !near_cjk && !at_line_edge {
                out.push(' ');
            }
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Removes every space (for codes, numbers, dates and identifiers, where none belongs).
pub(crate) fn strip_spaces(s: &str) -> String {
    s.chars().filter(|c| !is_space(*c)).collect()
}

/// Values people type into a cell that should be left empty (official rule: "空项请留空，
/// 不要填写「0」「无」或「/」"). "0" is only such a marker outside numeric fields.
pub(crate) fn is_empty_marker(s: &str) -> bool {
    matches!(
        s,
        "无" | "/"
            | "／"
            | "\\"
            | "-"
            | "－"
            | "—"
            | "——"
            | "–"
            | "空"
            | "暂无"
            | "null"
            | "NULL"
            | "N/A"
            | "n/a"
            | "#N/A"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_width_keeps_chinese_punctuation() {
        assert_eq!(half_width("ＡＢ１２（中国）", false), "AB12（中国）");
        assert_eq!(half_width("１２．５－３", true), "12.5-3");
    }

    #[test]
    fn inner_spaces() {
        for (input, want) in [
            ("张 三", "张三"),
            ("Smith  John", "Smith John"),
            ("计算机 应用 技术", "计算机应用技术"),
            ("a\u{3000}b", "a b"),
            ("第一行\n第二行", "第一行\n第二行"),
            ("ok", "ok"),
        ] {
            assert_eq!(tidy_inner_spaces(input), want, "{input:?}");
        }
    }
}
