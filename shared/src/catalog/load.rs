//! Turns schema files (path, text) into the catalog model, checking every id and reference.
//! Every problem is reported with the file and line it is on; all problems are collected, not
//! just the first.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Deserialize;
use toml::Spanned;

use super::*;

/// One problem in one schema file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// Path relative to `schemas/`.
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "schemas/{}:{}: {}", self.file, line, self.message),
            None => write!(f, "schemas/{}: {}", self.file, self.message),
        }
    }
}

/// Every problem found in a set of schema files.
#[derive(Debug, Clone, thiserror::Error)]
pub struct SchemaErrors(pub Vec<SchemaError>);

impl fmt::Display for SchemaErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

// ---- raw file shapes --------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    edition: String,
    name: String,
    schema_version: u32,
    tables: Vec<Spanned<String>>,
    chapters: Vec<Chapter>,
    departments: Vec<Spanned<Department>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    id: Spanned<String>,
    name: String,
    sheet_name: String,
    chapter: Spanned<String>,
    department: Spanned<String>,
    fill: Fill,
    kind: TableKind,
    key: Option<Spanned<Vec<String>>>,
    period: PeriodKind,
    carry_over: bool,
    status: Status,
    gaps: Option<String>,
    explanation: String,
    #[serde(default)]
    sources: Vec<String>,
    fields: Vec<Spanned<RawField>>,
    #[serde(default)]
    rules: Vec<Spanned<RawRowRule>>,
}

#[derive(Deserialize, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum Status {
    Complete,
    Incomplete,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    id: String,
    label: Vec<String>,
    #[serde(rename = "type")]
    ty: FieldType,
    #[serde(default)]
    required: bool,
    unit: Option<String>,
    codes: Option<String>,
    max_len: Option<usize>,
    min: Option<f64>,
    max: Option<f64>,
    scale: Option<u32>,
    #[serde(default)]
    future_ok: bool,
    explanation: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRowRule {
    id: String,
    kind: RawRowRuleKind,
    total: Option<String>,
    parts: Option<Vec<String>>,
    left: Option<String>,
    right: Option<String>,
    #[serde(default)]
    severity: Severity,
    message: Option<String>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum RawRowRuleKind {
    Sum,
    Le,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCodeList {
    id: Spanned<String>,
    name: String,
    source: String,
    values: Vec<Spanned<RawCodeValue>>,
    #[serde(default)]
    aliases: BTreeMap<String, Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawCodeValue {
    Name(String),
    Full { name: String, code: Option<String> },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    #[serde(default)]
    rules: Vec<Spanned<RawCrossRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCrossRule {
    id: String,
    kind: CrossRuleKind,
    #[serde(default)]
    severity: Severity,
    left: RawOperand,
    right: RawOperand,
    message: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOperand {
    table: String,
    field: Option<String>,
    agg: Option<Agg>,
}

// ---- loading ----------------------------------------------------------------------------

/// Collects errors for one file, turning byte offsets into line numbers.
struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
    errors: &'a mut Vec<SchemaError>,
}

impl Ctx<'_> {
    fn line(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())].matches('\n').count() + 1
    }

    fn err_at(&mut self, offset: usize, message: impl Into<String>) {
        let line = Some(self.line(offset));
        self.errors.push(SchemaError { file: self.file.to_string(), line, message: message.into() });
    }

    fn parse<T: serde::de::DeserializeOwned>(&mut self) -> Option<T> {
        match toml::from_str::<T>(self.text) {
            Ok(v) => Some(v),
            Err(e) => {
                let line = e.span().map(|s| self.line(s.start));
                let message = e.message().to_string();
                self.errors.push(SchemaError { file: self.file.to_string(), line, message });
                None
            }
        }
    }
}

/// Loads a catalog from `(path relative to schemas/, text)` pairs, e.g. the embedded files.
pub fn load_files<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Catalog, SchemaErrors> {
    let mut by_edition: BTreeMap<String, Vec<(&str, &str)>> = BTreeMap::new();
    let mut errors = Vec::new();
    for (path, text) in files {
        match path.split_once('/') {
            Some((edition, _)) => by_edition.entry(edition.to_string()).or_default().push((path, text)),
            None => errors.push(SchemaError {
                file: path.to_string(),
                line: None,
                message: "schema files belong in an edition folder, e.g. 2016/".into(),
            }),
        }
    }
    let mut editions = Vec::new();
    for (folder, files) in by_edition {
        if let Some(e) = load_edition(&folder, &files, &mut errors) {
            editions.push(e);
        }
    }
    if editions.is_empty() && errors.is_empty() {
        errors.push(SchemaError { file: String::new(), line: None, message: "no edition found".into() });
    }
    if errors.is_empty() { Ok(Catalog { editions }) } else { Err(SchemaErrors(errors)) }
}

fn load_edition(folder: &str, files: &[(&str, &str)], errors: &mut Vec<SchemaError>) -> Option<Edition> {
    let mut catalog = None;
    let mut rules = None;
    let mut tables = BTreeMap::new();
    let mut codes = BTreeMap::new();
    // Tables whose file failed to parse: already reported, not "missing" as well.
    let mut unreadable = BTreeSet::new();
    for &(path, text) in files {
        let rest = &path[folder.len() + 1..];
        let mut cx = Ctx { file: path, text, errors };
        if rest == "catalog.toml" {
            catalog = cx.parse::<RawCatalog>();
        } else if rest == "rules.toml" {
            rules = cx.parse::<RawRules>().map(|r| (path, text, r));
        } else if let Some(name) = rest.strip_prefix("tables/").and_then(|n| n.strip_suffix(".toml")) {
            let parsed = cx.parse::<RawTable>();
            if parsed.is_none() {
                unreadable.insert(name.to_string());
            }
            if let Some(t) = parsed {
                if t.id.get_ref() != name {
                    let span = t.id.span();
                    cx.err_at(span.start, format!("table id `{}` differs from its file name `{name}`", t.id.get_ref()));
                }
                tables.insert(name.to_string(), (path, text, t));
            }
        } else if let Some(name) = rest.strip_prefix("codes/").and_then(|n| n.strip_suffix(".toml")) {
            if let Some(c) = cx.parse::<RawCodeList>() {
                if c.id.get_ref() != name {
                    let span = c.id.span();
                    cx.err_at(
                        span.start,
                        format!("code list id `{}` differs from its file name `{name}`", c.id.get_ref()),
                    );
                }
                codes.insert(name.to_string(), code_list(&mut cx, c));
            }
        } else {
            errors.push(SchemaError { file: path.to_string(), line: None, message: "unexpected file".into() });
        }
    }
    let Some(raw) = catalog else {
        if !errors.iter().any(|e| e.file == format!("{folder}/catalog.toml")) {
            errors.push(SchemaError {
                file: format!("{folder}/catalog.toml"),
                line: None,
                message: "missing catalog.toml".into(),
            });
        }
        return None;
    };
    let catalog_file = format!("{folder}/catalog.toml");
    let catalog_text = files.iter().find(|(p, _)| *p == catalog_file).map(|(_, t)| *t).unwrap_or("");
    let mut cx = Ctx { file: &catalog_file, text: catalog_text, errors };
    if raw.edition != folder {
        cx.err_at(0, format!("edition `{}` differs from its folder `{folder}`", raw.edition));
    }
    let mut departments = Vec::new();
    for d in raw.departments {
        let span = d.span();
        let d = d.into_inner();
        if !is_code(&d.code) {
            cx.err_at(span.start, format!("department code `{}` must be ASCII [a-z0-9-]", d.code));
        }
        if departments.iter().any(|x: &Department| x.code == d.code) {
            cx.err_at(span.start, format!("duplicate department `{}`", d.code));
        }
        departments.push(d);
    }
    let mut seen = BTreeSet::new();
    for c in &raw.chapters {
        if !seen.insert(&c.id) {
            cx.err_at(0, format!("duplicate chapter `{}`", c.id));
        }
    }
    let mut order = Vec::new();
    for t in &raw.tables {
        if unreadable.contains(t.get_ref()) {
            continue;
        } else if !tables.contains_key(t.get_ref()) {
            cx.err_at(
                t.span().start,
                format!("table `{}` is listed but tables/{}.toml does not exist", t.get_ref(), t.get_ref()),
            );
        } else if order.contains(t.get_ref()) {
            cx.err_at(t.span().start, format!("table `{}` is listed twice", t.get_ref()));
        } else {
            order.push(t.get_ref().clone());
        }
    }
    for (id, (path, _, _)) in &tables {
        if !order.contains(id) {
            errors.push(SchemaError {
                file: path.to_string(),
                line: None,
                message: format!("table `{id}` is not listed in catalog.toml `tables`"),
            });
        }
    }
    let mut edition = Edition {
        id: raw.edition,
        name: raw.name,
        schema_version: raw.schema_version,
        chapters: raw.chapters,
        departments,
        tables: Vec::new(),
        codes,
        rules: Vec::new(),
    };
    for id in &order {
        let (path, text, raw) = tables.remove(id).expect("listed tables exist");
        let mut cx = Ctx { file: path, text, errors };
        edition.tables.push(table(&mut cx, raw, &edition));
    }
    if let Some((path, text, raw)) = rules {
        let mut cx = Ctx { file: path, text, errors };
        edition.rules = cross_rules(&mut cx, raw, &edition);
    }
    Some(edition)
}

fn is_code(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_field_id(s: &str) -> bool {
    s.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn code_list(cx: &mut Ctx, raw: RawCodeList) -> CodeList {
    let mut values: Vec<CodeValue> = Vec::new();
    let mut aliases = BTreeMap::new();
    for v in raw.values {
        let at = v.span().start;
        let v = match v.into_inner() {
            RawCodeValue::Name(name) => CodeValue { name, code: None },
            RawCodeValue::Full { name, code } => CodeValue { name, code },
        };
        if v.name.trim() != v.name || v.name.is_empty() {
            cx.err_at(at, format!("code value `{}` is empty or has spaces around it", v.name));
        }
        if values.iter().any(|x| x.name == v.name) {
            cx.err_at(at, format!("duplicate code value `{}`", v.name));
        }
        if let Some(code) = &v.code {
            if values.iter().any(|x| x.code.as_ref() == Some(code)) {
                cx.err_at(at, format!("duplicate code `{code}`"));
            }
            aliases.insert(code.clone(), v.name.clone());
        }
        values.push(v);
    }
    for (spelling, target) in raw.aliases {
        let at = target.span().start;
        let target = target.into_inner();
        if !values.iter().any(|v| v.name == target) {
            cx.err_at(at, format!("alias `{spelling}` points at `{target}`, which is not a value of this list"));
        }
        if values.iter().any(|v| v.name == spelling) {
            cx.err_at(at, format!("alias `{spelling}` is itself a value of this list"));
        }
        aliases.insert(spelling, target);
    }
    CodeList { id: raw.id.into_inner(), name: raw.name, source: raw.source, values, aliases }
}

fn table(cx: &mut Ctx, raw: RawTable, edition: &Edition) -> Table {
    let id_at = raw.id.span().start;
    if edition.chapter(raw.chapter.get_ref()).is_none() {
        cx.err_at(raw.chapter.span().start, format!("unknown chapter `{}`", raw.chapter.get_ref()));
    }
    if edition.department(raw.department.get_ref()).is_none() {
        cx.err_at(raw.department.span().start, format!("unknown department `{}`", raw.department.get_ref()));
    }
    let gaps = match (raw.status, raw.gaps) {
        (Status::Complete, None) => None,
        (Status::Complete, Some(_)) => {
            cx.err_at(id_at, "`gaps` is only for status = \"incomplete\"");
            None
        }
        (Status::Incomplete, Some(g)) if !g.trim().is_empty() => Some(g),
        (Status::Incomplete, _) => {
            cx.err_at(id_at, "an incomplete table must say what is missing in `gaps`");
            Some(String::new())
        }
    };
    if raw.fields.is_empty() {
        cx.err_at(id_at, "a table needs at least one field");
    }
    let mut fields: Vec<Field> = Vec::new();
    for f in raw.fields {
        let at = f.span().start;
        let f = f.into_inner();
        if !is_field_id(&f.id) {
            cx.err_at(at, format!("field id `{}` must be ASCII snake_case starting with a letter", f.id));
        }
        if fields.iter().any(|x| x.id == f.id) {
            cx.err_at(at, format!("duplicate field id `{}`", f.id));
        }
        if f.label.is_empty() || f.label.iter().any(|l| l.trim().is_empty()) {
            cx.err_at(at, format!("field `{}` needs a non-empty label", f.id));
        }
        let codes = match (f.ty, f.codes) {
            (FieldType::Code, Some(c)) => Some(c),
            (FieldType::Code, None) => {
                cx.err_at(at, format!("field `{}` is of type code but names no code list", f.id));
                None
            }
            (FieldType::YesNo, None) => Some("yes_no".to_string()),
            (_, Some(c)) => {
                cx.err_at(at, format!("field `{}` names code list `{c}` but is not of type code", f.id));
                None
            }
            (_, None) => None,
        };
        if let Some(c) = &codes
            && edition.code_list(c).is_none()
        {
            cx.err_at(at, format!("field `{}`: unknown code list `{c}`", f.id));
        }
        if (f.min.is_some() || f.max.is_some()) && !f.ty.is_numeric() {
            cx.err_at(at, format!("field `{}`: min/max only apply to integer and decimal fields", f.id));
        }
        if let (Some(lo), Some(hi)) = (f.min, f.max)
            && lo > hi
        {
            cx.err_at(at, format!("field `{}`: min {lo} is greater than max {hi}", f.id));
        }
        fields.push(Field {
            id: f.id,
            label: f.label,
            required: f.required,
            unit: f.unit,
            codes,
            max_len: f.max_len.unwrap_or(if f.ty == FieldType::Text { 200 } else { 100 }),
            min: f.min.or(f.ty.is_numeric().then_some(0.0)),
            max: f.max,
            scale: f.scale.unwrap_or(2),
            future_ok: f.future_ok,
            explanation: f.explanation,
            ty: f.ty,
        });
    }
    let key_at = raw.key.as_ref().map_or(id_at, |k| k.span().start);
    let key = raw.key.map(Spanned::into_inner).unwrap_or_default();
    for k in &key {
        if !fields.iter().any(|f| &f.id == k) {
            cx.err_at(key_at, format!("key field `{k}` is not a field of this table"));
        }
    }
    match raw.kind {
        TableKind::Multi if key.is_empty() => cx.err_at(key_at, "a multi-row table needs a natural `key`"),
        TableKind::Single if !key.is_empty() => cx.err_at(key_at, "a single-record table has no `key`"),
        _ => {}
    }
    let mut rules: Vec<RowRule> = Vec::new();
    for r in raw.rules {
        let at = r.span().start;
        let r = r.into_inner();
        if rules.iter().any(|x| x.id == r.id) {
            cx.err_at(at, format!("duplicate rule id `{}`", r.id));
        }
        let kind = match r.kind {
            RawRowRuleKind::Sum => match (r.total, r.parts) {
                (Some(total), Some(parts)) if !parts.is_empty() => RowRuleKind::Sum { total, parts },
                _ => {
                    cx.err_at(at, format!("rule `{}`: a sum needs `total` and `parts`", r.id));
                    continue;
                }
            },
            RawRowRuleKind::Le => match (r.left, r.right) {
                (Some(left), Some(right)) => RowRuleKind::Le { left, right },
                _ => {
                    cx.err_at(at, format!("rule `{}`: le needs `left` and `right`", r.id));
                    continue;
                }
            },
        };
        let used: Vec<&String> = match &kind {
            RowRuleKind::Sum { total, parts } => std::iter::once(total).chain(parts).collect(),
            RowRuleKind::Le { left, right } => vec![left, right],
        };
        for u in used {
            match fields.iter().find(|f| &f.id == u) {
                None => cx.err_at(at, format!("rule `{}`: unknown field `{u}`", r.id)),
                Some(f) if !f.ty.is_numeric() => cx.err_at(at, format!("rule `{}`: field `{u}` is not numeric", r.id)),
                Some(_) => {}
            }
        }
        rules.push(RowRule { id: r.id, kind, severity: r.severity, message: r.message });
    }
    Table {
        id: raw.id.into_inner(),
        name: raw.name,
        sheet_name: raw.sheet_name,
        chapter: raw.chapter.into_inner(),
        department: raw.department.into_inner(),
        fill: raw.fill,
        kind: raw.kind,
        key,
        period: raw.period,
        carry_over: raw.carry_over,
        gaps,
        explanation: raw.explanation,
        sources: raw.sources,
        fields,
        rules,
    }
}

fn cross_rules(cx: &mut Ctx, raw: RawRules, edition: &Edition) -> Vec<CrossRule> {
    let mut out: Vec<CrossRule> = Vec::new();
    for r in raw.rules {
        let at = r.span().start;
        let r = r.into_inner();
        if out.iter().any(|x| x.id == r.id) {
            cx.err_at(at, format!("duplicate rule id `{}`", r.id));
        }
        let mut operand = |o: RawOperand, side: &str| -> Operand {
            match edition.table(&o.table) {
                None => cx.err_at(at, format!("rule `{}` {side}: unknown table `{}`", r.id, o.table)),
                Some(t) => {
                    if let Some(f) = &o.field
                        && t.field(f).is_none()
                    {
                        cx.err_at(at, format!("rule `{}` {side}: table `{}` has no field `{f}`", r.id, o.table));
                    }
                    match (r.kind, o.agg, &o.field) {
                        (CrossRuleKind::Ref, Some(_), _) => {
                            cx.err_at(at, format!("rule `{}` {side}: a ref rule takes no `agg`", r.id))
                        }
                        (CrossRuleKind::Ref, None, None) => {
                            cx.err_at(at, format!("rule `{}` {side}: a ref rule needs `field`", r.id))
                        }
                        (CrossRuleKind::Equal | CrossRuleKind::Le, None, _) => {
                            cx.err_at(at, format!("rule `{}` {side}: needs `agg`", r.id))
                        }
                        (_, Some(Agg::Sum | Agg::CountDistinct), None) => {
                            cx.err_at(at, format!("rule `{}` {side}: this `agg` needs `field`", r.id))
                        }
                        (_, Some(Agg::Sum), Some(f)) if t.field(f).is_some_and(|f| !f.ty.is_numeric()) => {
                            cx.err_at(at, format!("rule `{}` {side}: `{f}` is not numeric", r.id))
                        }
                        _ => {}
                    }
                }
            }
            Operand { table: o.table, field: o.field, agg: o.agg }
        };
        let left = operand(r.left, "left");
        let right = operand(r.right, "right");
        out.push(CrossRule { id: r.id, kind: r.kind, severity: r.severity, left, right, message: r.message });
    }
    out
}
