//! The typed value of one cell, as stored in a sheet document.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A stored cell value. Integers and years are `Int`; every other type is stored as its
/// canonical text (decimals keep their digits exactly, 年月 is `YYYYMM`, dates `YYYY-MM-DD`,
/// codes their value name, 是/否 as "是"/"否"). An empty cell has no value at all.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Int(i64),
    Text(String),
}

impl Value {
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Text(_) => None,
        }
    }

    /// The numeric value, for sums and comparisons (decimals are parsed from their text).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Text(t) => t.parse().ok(),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Text(t) => f.write_str(t),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_string())
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
