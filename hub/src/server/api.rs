//! The hub's HTTP API. Agents enroll with a one-time code, then authenticate every request
//! with their bearer token; each may reach only its own department's sheets and plan.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use caiji_shared::sync::{AgentPlan, EnrollRequest, Enrolled, EventVersion, MAX_BODY, SyncRequest, decode, encode};
use serde::{Deserialize, Serialize};

use super::{AppError, AppState};
use crate::store::{Agent, HubStore};

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/api/health", get(health))
        .route("/api/enroll", post(enroll))
        .route("/api/agent/plan", get(plan))
        .route("/api/agent/sync", post(sync).layer(DefaultBodyLimit::max(MAX_BODY)))
        .route("/api/agent/events", get(events))
        .merge(super::office::routes())
        .merge(crate::web::routes())
        .layer(axum::middleware::from_fn_with_state(state.site, caiji_agent::webkit::guard))
        .with_state(state)
}

/// Runs store work off the async threads, holding the store's lock.
pub(crate) async fn with_store<T: Send + 'static>(
    state: &Arc<AppState>,
    f: impl FnOnce(&mut HubStore) -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    let state = state.clone();
    tokio::task::spawn_blocking(move || {
        let mut store = match state.store.lock() {
            Ok(guard) => guard,
            // A request panicked while holding the store: what it held in memory is suspect,
            // what is on disk is not (its transaction never committed). Reload from disk.
            Err(poisoned) => {
                tracing::error!("a request failed while holding the store; reloading sheets from disk");
                let mut guard = poisoned.into_inner();
                guard.docs.clear();
                state.store.clear_poison();
                guard
            }
        };
        f(&mut store)
    })
    .await
    .map_err(|e| AppError::internal("后台任务失败", e))?
}

#[derive(Serialize)]
struct Health {
    service: &'static str,
    school: String,
    year: String,
}

async fn health(State(state): State<Arc<AppState>>) -> Result<Json<Health>, AppError> {
    with_store(&state, |s| {
        Ok(Json(Health { service: "caiji-hub", school: s.info().school.clone(), year: s.info().year.to_string() }))
    })
    .await
}

async fn enroll(
    State(state): State<Arc<AppState>>,
    body: Result<Json<EnrollRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Enrolled>, AppError> {
    let Json(req) = body.map_err(|e| AppError::bad_request(format!("请求格式错误：{}", e.body_text())))?;
    let name = req.agent_name.trim().chars().take(60).collect::<String>();
    with_store(&state, move |s| {
        let (agent, token) = s.enroll(&req.code, &name)?;
        let dept = s.department(&agent.department)?;
        s.audit(&format!("agent:{}", agent.id), "enrolled", &format!("{} {}", agent.department, agent.name))?;
        tracing::info!(agent = %agent.id, department = %agent.department, "新的采集端已注册");
        Ok(Json(Enrolled {
            agent_id: agent.id,
            token,
            school: s.info().school.clone(),
            department: dept.code,
            department_name: dept.name,
            teaching: dept.kind == caiji_shared::catalog::DepartmentKind::Teaching,
            year: s.info().year.0,
            edition: s.info().edition.clone(),
        }))
    })
    .await
}

/// The bearer token of a request.
pub(super) fn bearer(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
}

/// An authenticated, not revoked agent.
pub struct AuthAgent(pub Agent);

impl FromRequestParts<Arc<AppState>> for AuthAgent {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or_else(|| {
            AppError::new(StatusCode::UNAUTHORIZED, "unauthorized", "缺少身份凭证：请先用注册码注册本采集端")
        })?;
        let agent = with_store(state, move |s| Ok(s.agent_by_token(&token)?)).await?;
        match agent {
            None => {
                tracing::warn!(path = %parts.uri.path(), "无效的采集端令牌");
                Err(AppError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "身份验证失败：令牌无效，请重新注册本采集端",
                ))
            }
            Some(a) if a.revoked => {
                tracing::warn!(agent = %a.id, "已停用的采集端尝试访问");
                Err(AppError::new(
                    StatusCode::UNAUTHORIZED,
                    "agent_revoked",
                    "本采集端已被中心端停用，请联系平台管理办公室重新注册；本地数据不受影响",
                ))
            }
            Some(a) => Ok(AuthAgent(a)),
        }
    }
}

async fn plan(State(state): State<Arc<AppState>>, AuthAgent(agent): AuthAgent) -> Result<Json<AgentPlan>, AppError> {
    with_store(&state, move |s| {
        s.refresh()?;
        Ok(Json(s.plan_for(&agent.department)?))
    })
    .await
}

async fn sync(
    State(state): State<Arc<AppState>>,
    AuthAgent(agent): AuthAgent,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", format!("同步数据超过上限 {MAX_BODY} 字节"))
        } else {
            AppError::bad_request(format!("读取同步数据失败：{}", e.body_text()))
        }
    })?;
    let req: SyncRequest =
        decode(&body).map_err(|e| AppError::new(StatusCode::BAD_REQUEST, "bad_sync_request", e.to_string()))?;
    let department = agent.department.clone();
    let agent_id = agent.id.clone();
    let handled = with_store(&state, move |s| {
        s.touch_agent(&agent.id)?;
        s.refresh()?;
        crate::sync::handle(s, &agent, req).map_err(|e| match e {
            crate::store::HubError::Invalid(m) => AppError::new(StatusCode::BAD_REQUEST, "bad_sync_request", m),
            other => other.into(),
        })
    })
    .await?;
    if !handled.changed.is_empty() || handled.response.changed_records {
        state.events.sheet_changed(&department, Some(&agent_id));
    }
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], encode(&handled.response)).into_response())
}

#[derive(Deserialize)]
struct Since {
    #[serde(default)]
    since: u64,
    /// Seconds to wait at most (default 25, at most 60).
    #[serde(default)]
    wait: Option<u64>,
}

async fn events(
    State(state): State<Arc<AppState>>,
    AuthAgent(agent): AuthAgent,
    Query(q): Query<Since>,
) -> Json<EventVersion> {
    let limit = Duration::from_secs(q.wait.unwrap_or(25).min(60));
    let version = state.events.wait(&agent.department, &agent.id, q.since, limit).await;
    Json(EventVersion { version })
}
