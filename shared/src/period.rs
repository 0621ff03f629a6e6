//! Academic years and statistical periods (seed art. 6: 1 September – 31 August; the 经费
//! tables A5 use the natural year).

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::catalog::PeriodKind;

/// An academic year, named by the calendar year it starts in: `AcademicYear(2025)` is
/// 2025-09-01 – 2026-08-31, shown as "2025-2026学年".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AcademicYear(pub i32);

impl AcademicYear {
    /// The statistical period of a table of this kind in this academic year.
    ///
    /// A calendar-year table (经费) reports the natural year in which the academic year starts:
    /// the 2025-2026 collection reports January–December 2025, the last complete natural year
    /// when the collection runs in autumn 2026 (an inference; the reference says only that A5
    /// is filled by natural year).
    pub fn period(self, kind: PeriodKind) -> Period {
        let y = self.0;
        match kind {
            PeriodKind::AcademicYear => Period { start: ymd(y, 9, 1), end: ymd(y + 1, 8, 31) },
            PeriodKind::CalendarYear => Period { start: ymd(y, 1, 1), end: ymd(y, 12, 31) },
        }
    }

    /// The academic year that contains `date`.
    pub fn containing(date: NaiveDate) -> AcademicYear {
        use chrono::Datelike;
        AcademicYear(if date.month() >= 9 { date.year() } else { date.year() - 1 })
    }

    pub fn next(self) -> AcademicYear {
        AcademicYear(self.0 + 1)
    }
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("fixed month and day are valid in every year")
}

impl fmt::Display for AcademicYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}学年", self.0, self.0 + 1)
    }
}

/// Why a text is not an academic year.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("「{0}」不是有效的学年（应为 2025 或 2025-2026）")]
pub struct BadAcademicYear(pub String);

impl FromStr for AcademicYear {
    type Err = BadAcademicYear;

    /// Accepts "2025", "2025-2026" and "2025-2026学年".
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadAcademicYear(s.to_string());
        let t = s.trim().trim_end_matches("学年");
        let (a, b) = match t.split_once('-') {
            Some((a, b)) => (a, Some(b)),
            None => (t, None),
        };
        let start: i32 = a.parse().map_err(|_| bad())?;
        if !(1949..=2200).contains(&start) {
            return Err(bad());
        }
        if let Some(b) = b
            && b.parse::<i32>().ok() != Some(start + 1)
        {
            return Err(bad());
        }
        Ok(AcademicYear(start))
    }
}

/// A closed date range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn academic_year_periods() {
        let y = AcademicYear(2025);
        assert_eq!(y.to_string(), "2025-2026学年");
        let p = y.period(PeriodKind::AcademicYear);
        assert_eq!((p.start.to_string(), p.end.to_string()), ("2025-09-01".into(), "2026-08-31".into()));
        let p = y.period(PeriodKind::CalendarYear);
        assert_eq!((p.start.to_string(), p.end.to_string()), ("2025-01-01".into(), "2025-12-31".into()));
        assert_eq!(AcademicYear::containing(ymd(2026, 8, 31)), y);
        assert_eq!(AcademicYear::containing(ymd(2026, 9, 1)), AcademicYear(2026));
    }

    #[test]
    fn parse_academic_year() {
        for (input, want) in [
            ("2025", Some(2025)),
            ("2025-2026", Some(2025)),
            (" 2025-2026学年", Some(2025)),
            ("2025-2027", None),
            ("25", None),
            ("abcd", None),
            ("", None),
        ] {
            assert_eq!(input.parse::<AcademicYear>().ok().map(|y| y.0), want, "{input:?}");
        }
    }
}
