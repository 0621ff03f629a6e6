//! The catalog of official tables: editions, tables, fields, code lists and rules, read from the
//! TOML files under `schemas/` (embedded at build time, see `build.rs` and `schemas/README.md`).
//!
//! The model is plain data; [`load`] turns the files into it and checks every reference, so
//! the rest of caiji may index by id without re-checking.

mod load;
pub mod render;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

pub use load::{SchemaError, SchemaErrors, load_files};

/// Every edition of the catalog this build knows.
#[derive(Debug, Clone)]
pub struct Catalog {
    editions: Vec<Edition>,
}

impl Catalog {
    /// Parses the schema files embedded at build time.
    pub fn load_embedded() -> Result<Catalog, SchemaErrors> {
        mod files {
            include!(concat!(env!("OUT_DIR"), "/schemas.rs"));
        }
        load_files(files::FILES.iter().copied())
    }

    /// The embedded catalog, parsed once.
    ///
    /// Architecture invariant: the embedded files are checked by `cargo test` (the catalog
    /// tests load them and fail on any error), so a shipped binary cannot hold a broken catalog;
    /// binaries still call [`Catalog::load_embedded`] at start-up to report rather than panic.
    pub fn embedded() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| Catalog::load_embedded().unwrap_or_else(|e| panic!("embedded schemas are broken:\n{e}")))
    }

    pub fn editions(&self) -> &[Edition] {
        &self.editions
    }

    pub fn edition(&self, id: &str) -> Option<&Edition> {
        self.editions.iter().find(|e| e.id == id)
    }

    /// The newest edition: the one a new academic year uses by default.
    pub fn current(&self) -> &Edition {
        self.editions.last().expect("the loader refuses a catalog without editions")
    }
}

/// One edition of the official tables (e.g. the 2016 standard edition).
#[derive(Debug, Clone)]
pub struct Edition {
    pub id: String,
    pub name: String,
    /// Part of every sheet's genesis: documents of different schema versions do not merge.
    pub schema_version: u32,
    pub chapters: Vec<Chapter>,
    pub departments: Vec<Department>,
    /// In the official order of the submission workbook.
    pub tables: Vec<Table>,
    pub codes: BTreeMap<String, CodeList>,
    pub rules: Vec<CrossRule>,
}

impl Edition {
    pub fn table(&self, id: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.id == id)
    }

    pub fn code_list(&self, id: &str) -> Option<&CodeList> {
        self.codes.get(id)
    }

    pub fn chapter(&self, id: &str) -> Option<&Chapter> {
        self.chapters.iter().find(|c| c.id == id)
    }

    pub fn department(&self, code: &str) -> Option<&Department> {
        self.departments.iter().find(|d| d.code == code)
    }

    /// Tables whose fields the reference does not fully know.
    pub fn incomplete_tables(&self) -> impl Iterator<Item = &Table> {
        self.tables.iter().filter(|t| t.gaps.is_some())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Chapter {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Department {
    pub code: String,
    pub name: String,
    pub kind: DepartmentKind,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DepartmentKind {
    /// 处室: an administrative office.
    Office,
    /// 系部: a teaching department.
    Teaching,
}

/// One official table.
#[derive(Debug, Clone)]
pub struct Table {
    pub id: String,
    pub name: String,
    /// The sheet name in the official workbook, verbatim (sub-tables share their sheet's name).
    pub sheet_name: String,
    pub chapter: String,
    /// The default lead department's code.
    pub department: String,
    pub fill: Fill,
    pub kind: TableKind,
    /// Natural-key field ids; empty for single-record tables.
    pub key: Vec<String>,
    pub period: PeriodKind,
    pub carry_over: bool,
    /// `Some(what is missing)` when the reference does not know every field.
    pub gaps: Option<String>,
    pub explanation: String,
    pub sources: Vec<String>,
    pub fields: Vec<Field>,
    pub rules: Vec<RowRule>,
}

impl Table {
    pub fn field(&self, id: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.id == id)
    }

    /// "A6-1-1 校内专任教师基本情况".
    pub fn title(&self) -> String {
        format!("{} {}", self.id, self.name)
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Fill {
    /// The lead department fills the table alone.
    Lead,
    /// Every teaching department fills its own rows; the lead checks the whole.
    Each,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TableKind {
    /// One record per sheet.
    Single,
    Multi,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    /// 1 September – 31 August.
    AcademicYear,
    /// 1 January – 31 December (经费 tables).
    CalendarYear,
}

/// One column of a table.
#[derive(Debug, Clone)]
pub struct Field {
    pub id: String,
    /// The header path, e.g. `["专业技术职务", "等级"]`.
    pub label: Vec<String>,
    pub ty: FieldType,
    pub required: bool,
    pub unit: Option<String>,
    /// Code-list id, for `FieldType::Code` (and `yes_no`, which uses the `yes_no` list).
    pub codes: Option<String>,
    pub max_len: usize,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub scale: u32,
    pub future_ok: bool,
    pub explanation: Option<String>,
}

impl Field {
    /// The header as one line: "专业技术职务-等级".
    pub fn label_text(&self) -> String {
        self.label.join("-")
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    Integer,
    Decimal,
    Year,
    YearMonth,
    Date,
    Code,
    YesNo,
    Phone,
    Email,
    PostalCode,
    Url,
    IdCard,
}

impl FieldType {
    pub const ALL: [FieldType; 13] = [
        FieldType::Text,
        FieldType::Integer,
        FieldType::Decimal,
        FieldType::Year,
        FieldType::YearMonth,
        FieldType::Date,
        FieldType::Code,
        FieldType::YesNo,
        FieldType::Phone,
        FieldType::Email,
        FieldType::PostalCode,
        FieldType::Url,
        FieldType::IdCard,
    ];

    pub fn is_numeric(self) -> bool {
        matches!(self, FieldType::Integer | FieldType::Decimal)
    }

    /// Chinese name, for help texts.
    pub fn label(self) -> &'static str {
        match self {
            FieldType::Text => "文本",
            FieldType::Integer => "整数",
            FieldType::Decimal => "小数",
            FieldType::Year => "年份",
            FieldType::YearMonth => "年月",
            FieldType::Date => "日期",
            FieldType::Code => "代码",
            FieldType::YesNo => "是/否",
            FieldType::Phone => "电话",
            FieldType::Email => "电子邮箱",
            FieldType::PostalCode => "邮政编码",
            FieldType::Url => "网址",
            FieldType::IdCard => "身份证号",
        }
    }
}

/// A code list (drop-down values).
#[derive(Debug, Clone)]
pub struct CodeList {
    pub id: String,
    pub name: String,
    pub source: String,
    pub values: Vec<CodeValue>,
    /// Other spellings → the value name they mean (includes each value's `code`).
    pub aliases: BTreeMap<String, String>,
}

impl CodeList {
    pub fn contains(&self, name: &str) -> bool {
        self.values.iter().any(|v| v.name == name)
    }

    /// The value a spelling means, if it is an alias.
    pub fn alias(&self, spelling: &str) -> Option<&str> {
        self.aliases.get(spelling).map(String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeValue {
    pub name: String,
    pub code: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Warning,
    #[default]
    Error,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Error => "错误",
            Severity::Warning => "警告",
        }
    }
}

/// A rule checked on every row of one table.
#[derive(Debug, Clone)]
pub struct RowRule {
    pub id: String,
    pub kind: RowRuleKind,
    pub severity: Severity,
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RowRuleKind {
    /// `total` = Σ `parts`.
    Sum { total: String, parts: Vec<String> },
    /// `left` ≤ `right`.
    Le { left: String, right: String },
}

/// A rule over several tables, evaluated on the merged data of all departments.
#[derive(Debug, Clone)]
pub struct CrossRule {
    pub id: String,
    pub kind: CrossRuleKind,
    pub severity: Severity,
    pub left: Operand,
    pub right: Operand,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CrossRuleKind {
    Equal,
    Le,
    /// Every non-empty value of `left.field` occurs in `right.field`.
    Ref,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operand {
    pub table: String,
    pub field: Option<String>,
    pub agg: Option<Agg>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Agg {
    Sum,
    Count,
    CountDistinct,
}

#[cfg(test)]
mod tests;
