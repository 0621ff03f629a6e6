//! The office's JSON API: sign in, then every workflow action the command line has — the
//! sheets and their states, a submission under review, return / accept / exception with
//! comments, merge, lock, final approval, export, the school-wide tables, rollover, "who
//! changed this", and the audit log. Each checks the role, as the command line does.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Json, Router};
use caiji_shared::sheet::SheetId;
use caiji_shared::workflow::{Action, Record};
use serde::{Deserialize, Serialize};

use super::{AppError, AppState};
use crate::store::{HubStore, OfficeUser};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/office/login", post(login))
        .route("/api/office/sheets", get(sheets))
        .route("/api/office/sheets/{table}/{department}", get(show))
        .route("/api/office/sheets/{table}/{department}/act", post(act))
        .route("/api/office/merge", post(merge))
        .route("/api/office/lock", post(lock))
        .route("/api/office/approve", post(approve))
        .route("/api/office/export", post(export))
        .route("/api/office/merged/{table}", get(merged))
        .route("/api/office/rollover", post(rollover))
        .route("/api/office/who", get(who))
        .route("/api/office/audit", get(audit))
}

async fn with_store<T: Send + 'static>(
    state: &Arc<AppState>,
    f: impl FnOnce(&mut HubStore) -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    super::api::with_store(state, f).await
}

/// A signed-in office user (bearer session token from `/api/office/login`).
pub struct AuthOffice(pub OfficeUser);

impl FromRequestParts<Arc<AppState>> for AuthOffice {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let token = super::api::bearer(parts)
            .ok_or_else(|| AppError::new(StatusCode::UNAUTHORIZED, "unauthorized", "请先登录"))?;
        with_store(state, move |s| {
            s.refresh()?;
            s.session_user(&token)?
                .map(AuthOffice)
                .ok_or_else(|| AppError::new(StatusCode::UNAUTHORIZED, "unauthorized", "登录已过期或无效，请重新登录"))
        })
        .await
    }
}

#[derive(Deserialize)]
struct Login {
    name: String,
    password: String,
}

#[derive(Serialize)]
struct Session {
    token: String,
    role: &'static str,
}

async fn login(State(state): State<Arc<AppState>>, Json(req): Json<Login>) -> Result<Json<Session>, AppError> {
    with_store(&state, move |s| {
        let user = s.sign_in(&req.name, &req.password)?;
        Ok(Json(Session { token: s.new_session(&user)?, role: user.role.as_str() }))
    })
    .await
}

/// A response of plain Chinese text, for the actions whose result is a report.
#[derive(Serialize)]
struct Text {
    text: String,
}

fn sheet_id(s: &HubStore, table: &str, department: &str) -> Result<SheetId, AppError> {
    let t = s.table(table)?.id.clone();
    s.department(department)?;
    Ok(SheetId::new(&s.info().edition, s.info().year, &t, department))
}

fn office_only(user: &OfficeUser) -> Result<(), AppError> {
    if user.role.workflow().is_none() {
        return Err(AppError::new(StatusCode::FORBIDDEN, "forbidden", "只读用户不能执行此操作"));
    }
    Ok(())
}

#[derive(Serialize)]
struct SheetState {
    table: String,
    department: String,
    state: &'static str,
    late: bool,
}

#[derive(Deserialize)]
struct DepartmentFilter {
    department: Option<String>,
}

async fn sheets(
    State(state): State<Arc<AppState>>,
    AuthOffice(user): AuthOffice,
    Query(q): Query<DepartmentFilter>,
) -> Result<Json<Vec<SheetState>>, AppError> {
    office_only(&user)?;
    with_store(&state, move |s| {
        let mut out = Vec::new();
        for d in s.departments()? {
            if q.department.as_ref().is_some_and(|x| *x != d.code) {
                continue;
            }
            for t in s.plan_for(&d.code)?.tables {
                let id = SheetId::new(&s.info().edition, s.info().year, &t.table, &d.code);
                let records = s.sheet_records(&id)?;
                out.push(SheetState {
                    table: t.table,
                    department: d.code.clone(),
                    state: caiji_shared::workflow::state_of(&records).label(),
                    late: records.iter().any(|r| r.late && r.refused.is_none()),
                });
            }
        }
        Ok(Json(out))
    })
    .await
}

#[derive(Serialize)]
struct Review {
    state: &'static str,
    records: Vec<Record>,
    /// The review as text: version, problems, diff from the previous submission, changes since.
    text: String,
}

async fn show(
    State(state): State<Arc<AppState>>,
    AuthOffice(user): AuthOffice,
    Path((table, department)): Path<(String, String)>,
) -> Result<Json<Review>, AppError> {
    office_only(&user)?;
    with_store(&state, move |s| {
        let id = sheet_id(s, &table, &department)?;
        let text = crate::review::show(s, &id)?;
        let records = s.sheet_records(&id)?;
        Ok(Json(Review { state: caiji_shared::workflow::state_of(&records).label(), records, text }))
    })
    .await
}

#[derive(Deserialize)]
struct ActRequest {
    /// open, return, accept or exception.
    action: String,
    reason: Option<String>,
    /// "行:字段:内容" as on the command line.
    #[serde(default)]
    comments: Vec<String>,
}

async fn act(
    State(state): State<Arc<AppState>>,
    AuthOffice(user): AuthOffice,
    Path((table, department)): Path<(String, String)>,
    Json(req): Json<ActRequest>,
) -> Result<Json<Text>, AppError> {
    let action = match req.action.as_str() {
        "open" => Action::Open,
        "return" => Action::Return,
        "accept" => Action::Accept,
        "exception" => Action::Exception,
        other => {
            return Err(AppError::bad_request(format!("操作「{other}」无效：应为 open、return、accept 或 exception")));
        }
    };
    let events = state.clone();
    let dept = department.clone();
    let text = with_store(&state, move |s| {
        let id = sheet_id(s, &table, &department)?;
        Ok(crate::review::act(s, &user, &id, action, req.reason.as_deref(), &req.comments)?)
    })
    .await?;
    events.events.sheet_changed(&dept, None);
    Ok(Json(Text { text }))
}

macro_rules! year_step {
    ($name:ident, $f:path) => {
        async fn $name(
            State(state): State<Arc<AppState>>,
            AuthOffice(user): AuthOffice,
        ) -> Result<Json<Text>, AppError> {
            let text = with_store(&state, move |s| Ok($f(s, &user)?)).await?;
            Ok(Json(Text { text }))
        }
    };
}

year_step!(merge, crate::year::merge);
year_step!(lock, crate::year::lock);
year_step!(approve, crate::year::approve);
year_step!(rollover, crate::year::rollover);

async fn export(
    State(state): State<Arc<AppState>>,
    AuthOffice(user): AuthOffice,
) -> Result<Json<crate::report::Manifest>, AppError> {
    if user.role != crate::store::OfficeRole::Admin {
        return Err(AppError::new(StatusCode::FORBIDDEN, "forbidden", "只有平台管理办公室管理员可以导出上报数据"));
    }
    with_store(&state, move |s| {
        let dir = s.dir().join("exports").join(chrono::Local::now().format("%Y%m%d-%H%M%S").to_string());
        Ok(Json(crate::report::export(s, &user, &dir)?))
    })
    .await
}

async fn merged(
    State(state): State<Arc<AppState>>,
    AuthOffice(user): AuthOffice,
    Path(table): Path<String>,
) -> Result<Json<Text>, AppError> {
    with_store(&state, move |s| Ok(Json(Text { text: crate::year::merged_table(s, &user, &table)? }))).await
}

#[derive(Deserialize)]
struct WhoQuery {
    table: String,
    department: String,
    row: String,
    field: String,
}

async fn who(
    State(state): State<Arc<AppState>>,
    AuthOffice(user): AuthOffice,
    Query(q): Query<WhoQuery>,
) -> Result<Json<Text>, AppError> {
    office_only(&user)?;
    with_store(&state, move |s| {
        let id = sheet_id(s, &q.table, &q.department)?;
        Ok(Json(Text { text: crate::year::who(s, &id, &q.row, &q.field)? }))
    })
    .await
}

#[derive(Deserialize)]
struct AuditQuery {
    filter: Option<String>,
    limit: Option<usize>,
}

#[derive(Serialize)]
struct AuditEntry {
    at: i64,
    actor: String,
    action: String,
    detail: String,
}

async fn audit(
    State(state): State<Arc<AppState>>,
    AuthOffice(user): AuthOffice,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Vec<AuditEntry>>, AppError> {
    office_only(&user)?;
    with_store(&state, move |s| {
        let entries = s.audit_log(q.filter.as_deref(), q.limit.unwrap_or(200).min(5000))?;
        Ok(Json(
            entries.into_iter().map(|(at, actor, action, detail)| AuditEntry { at, actor, action, detail }).collect(),
        ))
    })
    .await
}
