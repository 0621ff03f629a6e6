//! Validation: what a collector enters, checked and normalised cell by cell ([`cell`]), then row
//! rules and natural keys per sheet ([`sheet`]), then rules across tables ([`cross`]).
//!
//! Every problem is a [`Finding`] with a severity, a stable [`Code`], its place (table,
//! department, row id and the row number the user sees, field) and a Chinese message a
//! collector can act on. The same checks run on the agent at entry and on the hub on the
//! merged data.

pub mod cell;
pub mod cross;
mod idcard;
mod normalize;
pub mod sheet;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use crate::catalog::Severity;
pub use cell::{CellCheck, check_cell, check_value};
pub use cross::{SheetData, check_tables};
pub use sheet::{RowData, check_across, check_row, check_row_rules, check_sheet};

/// The stable code of a finding: what went wrong, independent of its wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    // Normalisations: the value was accepted in a cleaned form; the original is kept.
    Trimmed,
    InnerSpaces,
    FullWidth,
    Alias,
    UnitInCell,
    ThousandsSeparator,
    EmptyMarker,
    Reformatted,
    // One cell.
    Required,
    TooLong,
    ControlChars,
    NotInteger,
    NotNumber,
    TooManyDecimals,
    BelowMin,
    AboveMax,
    BadYear,
    BadYearMonth,
    BadDate,
    AfterPeriod,
    NotInCodeList,
    BadYesNo,
    BadPhone,
    BadEmail,
    BadPostalCode,
    BadUrl,
    BadIdCard,
    /// A spreadsheet error value (#N/A …) or a formula without a calculated value.
    CellError,
    // One row or one sheet.
    UnknownField,
    MissingColumn,
    RowSum,
    RowLe,
    DuplicateKey,
    TooManyRecords,
    // Several tables.
    CrossRule,
    CrossRef,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        // Same text as the serde name (a test checks it).
        CODE_NAMES[self as usize]
    }

    /// Whether findings of this code come from the rows together ([`check_across`]) rather
    /// than from one row by itself.
    pub fn is_across_rows(self) -> bool {
        matches!(self, Code::DuplicateKey | Code::TooManyRecords)
    }
}

const CODE_NAMES: [&str; 36] = [
    "trimmed",
    "inner_spaces",
    "full_width",
    "alias",
    "unit_in_cell",
    "thousands_separator",
    "empty_marker",
    "reformatted",
    "required",
    "too_long",
    "control_chars",
    "not_integer",
    "not_number",
    "too_many_decimals",
    "below_min",
    "above_max",
    "bad_year",
    "bad_year_month",
    "bad_date",
    "after_period",
    "not_in_code_list",
    "bad_yes_no",
    "bad_phone",
    "bad_email",
    "bad_postal_code",
    "bad_url",
    "bad_id_card",
    "cell_error",
    "unknown_field",
    "missing_column",
    "row_sum",
    "row_le",
    "duplicate_key",
    "too_many_records",
    "cross_rule",
    "cross_ref",
];

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A problem with one value, before it is placed in a table and row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub severity: Severity,
    pub code: Code,
    /// Chinese, naming the value, e.g. "198513 不是有效的年月（应为 YYYYMM，如 198509）".
    pub message: String,
}

impl Issue {
    pub fn error(code: Code, message: impl Into<String>) -> Issue {
        Issue { severity: Severity::Error, code, message: message.into() }
    }

    pub fn warning(code: Code, message: impl Into<String>) -> Issue {
        Issue { severity: Severity::Warning, code, message: message.into() }
    }
}

/// A located problem: table, department, row and field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub severity: Severity,
    pub code: Code,
    pub table: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_id: Option<String>,
    /// The row number the user sees (1-based, in the sheet's row order or in their file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_no: Option<usize>,
    /// Field id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Field label as the user sees it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The value as entered, when the finding is about one value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub message: String,
}

impl Finding {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Finding {
    /// `A6-1-1 第12行「出生日期」：198513 不是有效的年月（应为 YYYYMM，如 198509）`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.table)?;
        if let Some(d) = &self.department {
            write!(f, "（{d}）")?;
        }
        if let Some(n) = self.row_no {
            write!(f, " 第{n}行")?;
        }
        if let Some(l) = &self.label {
            write!(f, "「{l}」")?;
        }
        write!(f, "：{}", self.message)
    }
}

/// Counts of errors and warnings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub errors: usize,
    pub warnings: usize,
}

impl Tally {
    pub fn of(findings: &[Finding]) -> Tally {
        let errors = findings.iter().filter(|f| f.is_error()).count();
        Tally { errors, warnings: findings.len() - errors }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_names_match_serde() {
        use Code::*;
        let all = [
            Trimmed,
            InnerSpaces,
            FullWidth,
            Alias,
            UnitInCell,
            ThousandsSeparator,
            EmptyMarker,
            Reformatted,
            Required,
            TooLong,
            ControlChars,
            NotInteger,
            NotNumber,
            TooManyDecimals,
            BelowMin,
            AboveMax,
            BadYear,
            BadYearMonth,
            BadDate,
            AfterPeriod,
            NotInCodeList,
            BadYesNo,
            BadPhone,
            BadEmail,
            BadPostalCode,
            BadUrl,
            BadIdCard,
            CellError,
            UnknownField,
            MissingColumn,
            RowSum,
            RowLe,
            DuplicateKey,
            TooManyRecords,
            CrossRule,
            CrossRef,
        ];
        assert_eq!(all.len(), CODE_NAMES.len());
        for c in all {
            assert_eq!(serde_json::to_value(c).unwrap(), serde_json::Value::String(c.as_str().into()));
        }
    }

    #[test]
    fn finding_display_names_table_row_and_field() {
        let f = Finding {
            severity: Severity::Error,
            code: Code::BadYearMonth,
            table: "A6-1-1".into(),
            department: None,
            row_id: Some("r1".into()),
            row_no: Some(12),
            field: Some("birth".into()),
            label: Some("出生日期".into()),
            value: Some("198513".into()),
            message: "198513 不是有效的年月（应为 YYYYMM，如 198509）".into(),
        };
        assert_eq!(f.to_string(), "A6-1-1 第12行「出生日期」：198513 不是有效的年月（应为 YYYYMM，如 198509）");
    }
}
