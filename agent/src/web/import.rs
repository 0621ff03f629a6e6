//! Import by upload (/import) with the same rules and report as `caiji-agent import`, the
//! report workbook for download, and export of a table to xlsx (/tables/{id}/export).

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use caiji_shared::Severity;
use maud::html;
use serde::Deserialize;

use super::{SITE, Session, WebState, frame, with_store};
use crate::import::{ImportOptions, import_file, report};
use crate::webkit::{self, WebError};

/// The largest upload taken (the importer has its own, smaller limits on rows and columns).
const UPLOAD_LIMIT: usize = 64 * 1024 * 1024;
/// Problems listed on the page; the report workbook has them all.
const SHOWN: usize = 500;
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

pub fn routes() -> Router<Arc<WebState>> {
    Router::new()
        .route("/import", get(import_page).post(upload).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)))
        .route("/import/report/{token}", get(report_file))
        .route("/tables/{id}/export", get(export))
}

/// Where the web's uploads and reports live inside the data directory.
fn work_dir(data: &FsPath) -> PathBuf {
    data.join("web-import")
}

/// A file name safe to write: its last component, without control or path characters.
pub fn safe_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, ':' | '*' | '?' | '"' | '<' | '>' | '|'))
        .take(120)
        .collect();
    let clean = clean.trim().trim_start_matches('.').to_string();
    if clean.is_empty() { "上传文件.xlsx".to_string() } else { clean }
}

/// `attachment` with the name for every browser (RFC 6266 `filename*`).
pub fn attachment(name: &str) -> HeaderValue {
    let mut enc = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            enc.push(b as char);
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    let ascii: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || "-._".contains(c) { c } else { '_' }).collect();
    HeaderValue::from_str(&format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{enc}"))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

fn xlsx_response(bytes: Vec<u8>, name: &str) -> Response {
    let mut r = bytes.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(XLSX));
    r.headers_mut().insert(header::CONTENT_DISPOSITION, attachment(name));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[derive(Deserialize)]
struct ImportQuery {
    table: Option<String>,
}

async fn import_page(
    State(state): State<Arc<WebState>>,
    session: Session,
    Query(q): Query<ImportQuery>,
) -> Result<Response, WebError> {
    with_store(&state, move |s| {
        let tables: Vec<(String, String)> = s.planned_tables().iter().map(|t| (t.id.clone(), t.title())).collect();
        let f = frame(s, &session, "/import", session.flash.clone());
        let chosen = q.table.unwrap_or_default();
        let body = html! {
            h1 { "导入 Excel" }
            p.hint { "上传 .xlsx、.xls 或 .csv 文件。按工作表名或表头识别报表；已有的行按唯一标识（如教工号）更新，
                不会重复。不合格的值照原样保存并标红，提交前须改正。" }
            form.panel #import-form method="post" action="/import" enctype="multipart/form-data" {
                (webkit::csrf_field(&session.csrf))
                label { "文件 " input #file type="file" name="file" accept=".xlsx,.xls,.xlsm,.ods,.csv" required; }
                label { "导入到 "
                    select name="table" {
                        option value="" { "自动识别" }
                        @for (id, title) in &tables { option value=(id) selected[*id == chosen] { (title) } }
                    }
                }
                label { input type="checkbox" name="strict" value="1"; " 有错误时不导入任何内容" }
                button.primary type="submit" { "上传并导入" }
            }
        };
        Ok(webkit::page(&f, "导入 Excel", body))
    })
    .await
}

/// What the upload form sent.
#[derive(Default)]
struct Upload {
    csrf: Option<String>,
    table: Option<String>,
    strict: bool,
    file: Option<(String, Vec<u8>)>,
}

async fn read_upload(mut m: Multipart) -> Result<Upload, WebError> {
    let bad = |_| WebError::bad_request("上传的内容不完整或太大（上限 64 MB），请重试");
    let mut up = Upload::default();
    while let Some(field) = m.next_field().await.map_err(bad)? {
        match field.name().unwrap_or("") {
            "_csrf" => up.csrf = Some(field.text().await.map_err(bad)?),
            "table" => up.table = Some(field.text().await.map_err(bad)?).filter(|t| !t.trim().is_empty()),
            "strict" => up.strict = !field.text().await.map_err(bad)?.is_empty(),
            "file" => {
                let name = safe_file_name(field.file_name().unwrap_or(""));
                let bytes = field.bytes().await.map_err(bad)?;
                up.file = Some((name, bytes.to_vec()));
            }
            _ => {}
        }
    }
    Ok(up)
}

async fn upload(
    State(state): State<Arc<WebState>>,
    session: Session,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, WebError> {
    let token = SITE.session_token(&headers).ok_or_else(|| WebError::forbidden("请先登录"))?;
    let up = read_upload(multipart).await?;
    webkit::check_csrf(&token, up.csrf.as_deref())?;
    let Some((name, bytes)) = up.file.filter(|(_, b)| !b.is_empty()) else {
        return Ok(SITE.redirect_with("/import", webkit::failed("请选择要导入的文件（文件不能为空）")));
    };
    with_store(&state, move |s| {
        let id = uuid::Uuid::now_v7().simple().to_string();
        let root = work_dir(s.dir());
        clean_old(&root);
        let dir = root.join(&id);
        std::fs::create_dir_all(&dir).map_err(|e| WebError::internal(format!("无法保存上传的文件：{e}")))?;
        let path = dir.join(&name);
        std::fs::write(&path, &bytes).map_err(|e| WebError::internal(format!("无法保存上传的文件：{e}")))?;
        let opts = ImportOptions { table: up.table, user: session.user.clone(), strict: up.strict };
        let outcome = import_file(s, &path, &opts, &mut |_| {});
        let _ = std::fs::remove_file(&path);
        let outcome = match outcome {
            Ok(o) => o,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Ok(SITE.redirect_with("/import", webkit::failed(format!("未导入 {name}：{e}"))));
            }
        };
        let edition = s.edition().clone();
        let text = report::render_text(&edition, &outcome);
        let mut findings: Vec<_> = outcome.findings().cloned().collect();
        findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
        let has_report = !findings.is_empty() && report::write_xlsx(&edition, &outcome, &dir.join("report.xlsx")).is_ok();
        let tally = outcome.tally();
        let tables: Vec<String> = outcome.tables.iter().map(|t| t.table.clone()).collect();
        let f = frame(s, &session, "/import", session.flash.clone());
        let body = html! {
            h1 { "导入结果：" (name) }
            @if !outcome.applied {
                p.flash.err #import-result { "文件有错误，按要求未导入任何内容。" }
            } @else if tally.errors > 0 {
                p.flash.warn #import-result { "已导入新增 " (outcome.added()) " 行、更新 " (outcome.updated()) " 行；有 "
                    (tally.errors) " 处错误已照原样保存并标红，提交前须改正。" }
            } @else {
                p.flash.ok #import-result { "已导入：新增 " (outcome.added()) " 行，更新 " (outcome.updated()) " 行。" }
            }
            div.toolbar {
                @for t in &tables { a.button href={ "/tables/" (t) } { "打开 " (t) } }
                @if has_report { a.button #report-link href={ "/import/report/" (id) } { "下载问题报告（Excel）" } }
                a.button href="/import" { "继续导入" }
            }
            pre.text #import-text { (text) }
            @if !findings.is_empty() {
                h2 { "问题明细（错误 " (tally.errors) " 处，警告 " (tally.warnings) " 处）" }
                table.list #import-findings {
                    thead { tr { th { "级别" } th { "表" } th.num { "文件中的行" } th { "字段" } th { "填写的值" } th { "问题" } } }
                    tbody {
                        @for x in findings.iter().take(SHOWN) {
                            tr {
                                td class=(if x.severity == Severity::Error { "errors" } else { "warnings" }) { (x.severity.label()) }
                                td { (x.table) }
                                td.num { @if let Some(n) = x.row_no { (n) } }
                                td { (x.label.clone().unwrap_or_default()) }
                                td { (x.value.clone().unwrap_or_default()) }
                                td { (x.message) }
                            }
                        }
                    }
                }
                @if findings.len() > SHOWN { p.hint { "其余 " (findings.len() - SHOWN) " 处见问题报告。" } }
            }
        };
        Ok(webkit::page(&f, "导入结果", body))
    })
    .await
}

/// Removes uploads and reports older than a day.
fn clean_old(root: &FsPath) {
    let Ok(entries) = std::fs::read_dir(root) else { return };
    for e in entries.flatten() {
        let old = e.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
        if old.is_some_and(|d| d.as_secs() > 24 * 3600) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

async fn report_file(
    State(state): State<Arc<WebState>>,
    _session: Session,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(WebError::not_found("没有这份问题报告"));
    }
    with_store(&state, move |s| {
        let path = work_dir(s.dir()).join(&token).join("report.xlsx");
        let bytes = std::fs::read(&path).map_err(|_| WebError::not_found("问题报告已过期或不存在，请重新导入"))?;
        Ok(xlsx_response(bytes, "导入问题报告.xlsx"))
    })
    .await
}

async fn export(
    State(state): State<Arc<WebState>>,
    _session: Session,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    with_store(&state, move |s| {
        let t = s.table(&id)?.clone();
        let rows = s.sheet(&t.id)?.live_rows();
        let dir = work_dir(s.dir()).join(uuid::Uuid::now_v7().simple().to_string());
        std::fs::create_dir_all(&dir).map_err(|e| WebError::internal(format!("无法导出：{e}")))?;
        let path = dir.join("export.xlsx");
        let written = crate::export::export(&t, &rows, &path).map_err(|e| WebError::internal(format!("无法导出：{e}")));
        let bytes =
            written.and_then(|()| std::fs::read(&path).map_err(|e| WebError::internal(format!("无法导出：{e}"))));
        let _ = std::fs::remove_dir_all(&dir);
        Ok(xlsx_response(bytes?, &format!("{}{}.xlsx", t.id, t.name)))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploaded_names_stay_in_their_folder() {
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("C:\\Users\\张三\\教师.xlsx"), "教师.xlsx");
        assert_eq!(safe_file_name(".."), "上传文件.xlsx");
        assert_eq!(safe_file_name(""), "上传文件.xlsx");
        assert_eq!(safe_file_name("a\u{0}b?.csv"), "ab.csv");
    }

    #[test]
    fn download_names_survive_headers() {
        let v = attachment("A6-1-1校内.xlsx");
        let s = v.to_str().unwrap();
        assert!(s.starts_with("attachment; filename=\"A6-1-1__.xlsx\""), "{s}");
        assert!(s.contains("filename*=UTF-8''A6-1-1%E6%A0%A1%E5%86%85.xlsx"), "{s}");
    }
}
