//! 居民身份证号码 (GB 11643-1999): 6-digit region, 8-digit birth date, 3-digit sequence and a
//! mod-11 check digit (ISO 7064 MOD 11-2).

use chrono::NaiveDate;

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// Provincial-level region codes (GB/T 2260 first two digits; 83 is used by the residence
/// permits of Taiwan residents).
const PROVINCES: [u32; 35] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63,
    64, 65, 71, 81, 82, 83,
];

/// Why an 18-character candidate is not a valid number. `s` is already upper-case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IdCardError {
    Length(usize),
    OldFifteen,
    Chars,
    Region,
    Birth,
    CheckDigit { expected: char },
}

/// The check digit for the first 17 digits.
pub(crate) fn check_digit(first17: &[u8]) -> char {
    let sum: u32 = first17.iter().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    CHECK[(sum % 11) as usize]
}

/// Checks a number and returns its birth date.
pub(crate) fn parse(s: &str) -> Result<NaiveDate, IdCardError> {
    let b = s.as_bytes();
    if b.len() == 15 && b.iter().all(u8::is_ascii_digit) {
        return Err(IdCardError::OldFifteen);
    }
    if s.chars().count() != 18 {
        return Err(IdCardError::Length(s.chars().count()));
    }
    if !b[..17].iter().all(u8::is_ascii_digit) || !(b[17].is_ascii_digit() || b[17] == b'X') {
        return Err(IdCardError::Chars);
    }
    let num = |r: std::ops::Range<usize>| -> u32 { s[r].parse().unwrap_or(0) };
    if !PROVINCES.contains(&num(0..2)) {
        return Err(IdCardError::Region);
    }
    let birth = NaiveDate::from_ymd_opt(num(6..10) as i32, num(10..12), num(12..14)).ok_or(IdCardError::Birth)?;
    if num(6..10) < 1900 {
        return Err(IdCardError::Birth);
    }
    let expected = check_digit(&b[..17]);
    if char::from(b[17]) != expected {
        return Err(IdCardError::CheckDigit { expected });
    }
    Ok(birth)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_and_invalid_numbers() {
        // The GB 11643 worked example and numbers made by computing their check digit.
        for (input, want) in [
            ("11010519491231002X", Ok("1949-12-31")),
            ("440524188001010014", Err(IdCardError::Birth)),
            ("370402198509150015", Ok("1985-09-15")),
            ("370402198509150013", Err(IdCardError::CheckDigit { expected: '5' })),
            ("11010519491231002", Err(IdCardError::Length(17))),
            ("370402850915001", Err(IdCardError::OldFifteen)),
            ("37040219850915001A", Err(IdCardError::Chars)),
            ("99040219850915001X", Err(IdCardError::Region)),
            ("370402198502300017", Err(IdCardError::Birth)),
        ] {
            let got = parse(input).map(|d| d.to_string());
            assert_eq!(got, want.map(String::from), "{input}");
        }
    }

    #[test]
    fn check_digit_of_known_numbers() {
        assert_eq!(check_digit(b"11010519491231002"), 'X');
        assert_eq!(check_digit(b"37040219850915001"), '5');
    }
}
