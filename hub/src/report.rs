//! The submission for the province: one xlsx workbook with every table in the official order
//! and layout, read from the locked heads of the approved sheets (all departments' rows
//! together), plus a CSV per table and a JSON file. A manifest records the year, every sheet's
//! heads, the time and who exported, and each file's SHA-256; exporting again from a manifest
//! reproduces the files byte for byte.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use caiji_shared::Value;
use caiji_shared::sheet::{Row, SheetId};
use caiji_shared::workflow::{Action, State};
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Workbook};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::store::{HubError, HubStore, OfficeUser, now};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub school: String,
    pub year: i32,
    pub edition: String,
    /// Unix seconds; also the workbook's creation time, so a re-export is identical.
    pub exported_at: i64,
    pub exported_by: String,
    /// Every sheet in the submission and the heads it was read at.
    pub sheets: BTreeMap<String, Vec<String>>,
    /// File name → SHA-256 (hex).
    pub files: BTreeMap<String, String>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> HubError + '_ {
    move |e| HubError::Invalid(format!("写入 {} 失败：{e}", path.display()))
}

fn sha256_file(path: &Path) -> Result<String, HubError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    Ok(Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect())
}

/// Exports the approved submission into `dir` and records it; returns the manifest.
pub fn export(store: &mut HubStore, user: &OfficeUser, dir: &Path) -> Result<Manifest, HubError> {
    let info = store.info().clone();
    let mut sheets = BTreeMap::new();
    let mut open = Vec::new();
    for d in store.departments()? {
        for t in store.plan_for(&d.code)?.tables {
            let id = SheetId::new(&info.edition, info.year, &t.table, &d.code);
            match store.sheet_state(&id)? {
                State::Approved | State::Reported => {
                    let heads = crate::year::locked_heads(store, &id)?.unwrap_or_default();
                    sheets.insert(id.to_string(), heads.iter().map(ToString::to_string).collect());
                }
                State::Draft if store.sheet_records(&id)?.is_empty() => {}
                other => open.push(format!("{} {}（{other}）", id.table, id.department)),
            }
        }
    }
    if !open.is_empty() {
        return Err(HubError::Invalid(format!("以下表尚未审定，不能导出上报：{}", open.join("、"))));
    }
    if sheets.is_empty() {
        return Err(HubError::Invalid("没有已审定的表可以导出".into()));
    }
    let mut manifest = Manifest {
        school: info.school.clone(),
        year: info.year.0,
        edition: info.edition.clone(),
        exported_at: now(),
        exported_by: user.name.clone(),
        sheets,
        files: BTreeMap::new(),
    };
    write_files(store, &mut manifest, dir)?;
    for key in manifest.sheets.keys() {
        let id: SheetId = key.parse().map_err(|_| HubError::Invalid("表格标识无效".into()))?;
        if store.sheet_state(&id)? == State::Approved {
            store.office_act(user, &id, Action::Report, None, &[])?;
        }
    }
    store.audit(
        &format!("user:{}", user.name),
        "export",
        &serde_json::to_string(&manifest.files).expect("serialises"),
    )?;
    Ok(manifest)
}

/// Writes the files a manifest describes (the heads and time it names) into `dir`.
pub fn write_files(store: &mut HubStore, manifest: &mut Manifest, dir: &Path) -> Result<(), HubError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let edition = store.edition().clone();
    // All departments' rows of each table, at the recorded heads, in department order.
    let mut tables: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    for (key, heads) in &manifest.sheets {
        let id: SheetId = key.parse().map_err(|_| HubError::Invalid("表格标识无效".into()))?;
        let hashes: Vec<automerge::ChangeHash> = heads.iter().filter_map(|h| h.parse().ok()).collect();
        let rows = store.sheet(&id)?.live_rows_at(&hashes);
        tables.entry(id.table.clone()).or_default().extend(rows);
    }
    let base = format!("{}-{}学年状态数据", manifest.school, manifest.year);
    let xlsx: PathBuf = dir.join(format!("{base}.xlsx"));
    let fail = |e: rust_xlsxwriter::XlsxError| HubError::Invalid(format!("生成上报文件失败：{e}"));
    let mut wb = Workbook::new();
    let created = ExcelDateTime::from_timestamp(manifest.exported_at).map_err(fail)?;
    wb.set_properties(&DocProperties::new().set_title(&base).set_author("caiji").set_creation_datetime(&created));
    let mut json_tables: BTreeMap<String, Vec<BTreeMap<String, Value>>> = BTreeMap::new();
    for table in &edition.tables {
        let Some(rows) = tables.get(&table.id) else { continue };
        let ws = wb.add_worksheet();
        let name: String = format!("{}{}", table.id, table.name).chars().take(31).collect();
        ws.set_name(name.replace(['[', ']', ':', '*', '?', '/', '\\'], "")).map_err(fail)?;
        let first = caiji_agent::export::write_header(ws, table).map_err(fail)?;
        for (i, row) in rows.iter().enumerate() {
            let r = first + i as u32;
            ws.write_number(r, 0, (i + 1) as f64).map_err(fail)?;
            for (c, field) in table.fields.iter().enumerate() {
                if let Some(v) = row.cells.get(&field.id) {
                    ws.write_string(r, c as u16 + 1, v.to_string()).map_err(fail)?;
                }
            }
        }
        let csv = dir.join(format!("{}{}.csv", table.id, table.name));
        caiji_agent::export::export(table, rows, &csv).map_err(|e| HubError::Invalid(e.to_string()))?;
        manifest.files.insert(file_name(&csv), sha256_file(&csv)?);
        json_tables.insert(table.id.clone(), rows.iter().map(|r| r.cells.clone()).collect());
    }
    wb.save(&xlsx).map_err(fail)?;
    manifest.files.insert(file_name(&xlsx), sha256_file(&xlsx)?);
    let json = dir.join(format!("{base}.json"));
    let body = serde_json::json!({
        "school": manifest.school, "year": manifest.year, "edition": manifest.edition, "tables": json_tables,
    });
    std::fs::write(&json, serde_json::to_vec_pretty(&body).expect("serialises")).map_err(io(&json))?;
    manifest.files.insert(file_name(&json), sha256_file(&json)?);
    let path = dir.join("manifest.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&*manifest).expect("serialises")).map_err(io(&path))?;
    Ok(())
}

fn file_name(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Writes the files of an earlier export again from its manifest, and checks they are the
/// same bytes.
pub fn reproduce(store: &mut HubStore, manifest_path: &Path, dir: &Path) -> Result<Manifest, HubError> {
    let text = std::fs::read(manifest_path).map_err(io(manifest_path))?;
    let original: Manifest =
        serde_json::from_slice(&text).map_err(|e| HubError::Invalid(format!("清单文件无法读取：{e}")))?;
    let mut again = Manifest { files: BTreeMap::new(), ..original.clone() };
    write_files(store, &mut again, dir)?;
    if again.files != original.files {
        return Err(HubError::Invalid("重新生成的文件与原上报文件不一致".into()));
    }
    Ok(again)
}
