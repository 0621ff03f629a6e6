//! Sign-in and sign-out on the agent, and [`Session`], the extractor every signed-in page takes.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use caiji_shared::workflow::Role;
use maud::html;
use serde::Deserialize;

use super::{IDLE, SITE, WebState, with_store};
use crate::secrets::{random_token, sha256_hex};
use crate::webkit::{self, CsrfForm, Flash, Frame, WebError, WebForm};

/// A signed-in person on this agent.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: String,
    pub role: Role,
    /// The CSRF token for this session's forms and scripts.
    pub csrf: String,
    /// The notice the last redirect left, if any.
    pub flash: Option<Flash>,
}

impl Session {
    /// Refuses unless the person is the department head.
    pub fn head_only(&self) -> Result<(), WebError> {
        if self.role == Role::DeptHead {
            Ok(())
        } else {
            Err(WebError::forbidden("只有部门负责人可以执行此操作"))
        }
    }
}

pub fn routes() -> Router<Arc<WebState>> {
    Router::new().route("/login", get(login_page).post(login)).route("/logout", post(logout))
}

impl FromRequestParts<Arc<WebState>> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<WebState>) -> Result<Self, Self::Rejection> {
        let found = SITE.session_token(&parts.headers).and_then(|token| {
            let key = sha256_hex(&token);
            let mut sessions = state.sessions.lock().unwrap_or_else(|p| p.into_inner());
            sessions.retain(|_, (_, seen)| seen.elapsed() < IDLE);
            let (session, seen) = sessions.get_mut(&key)?;
            *seen = Instant::now();
            Some(session.clone())
        });
        match found {
            Some(mut s) => {
                s.flash = SITE.flash(&parts.headers);
                Ok(s)
            }
            None if parts.method == axum::http::Method::GET && !wants_json(&parts.headers) => {
                let next = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
                let to = format!("/login?next={}", urlencode(next));
                Err(webkit::redirect(&to))
            }
            // A form posted after the session ended (idle too long, or the agent restarted):
            // back to the sign-in page with a notice, not a JSON error in the browser window.
            None if is_form(&parts.headers) => {
                Err(SITE.redirect_with("/login", webkit::failed("登录已过期，请重新登录后再操作（刚才的操作未执行）")))
            }
            None => Err(webkit::json_error(StatusCode::UNAUTHORIZED, "登录已过期，请刷新页面重新登录")),
        }
    }
}

/// Whether the request is an HTML form's post (urlencoded or a file upload).
fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded") || v.starts_with("multipart/form-data"))
        && !wants_json(headers)
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("application/json"))
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)]).map(|x| x[1..].to_string()).unwrap_or_default()
}

/// Only paths on this site: never an absolute URL (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

#[derive(Deserialize)]
struct Next {
    next: Option<String>,
}

async fn login_page(
    State(state): State<Arc<WebState>>,
    headers: HeaderMap,
    Query(q): Query<Next>,
) -> Result<Response, WebError> {
    let flash = SITE.flash(&headers);
    let next = safe_next(q.next.as_deref());
    with_store(&state, move |s| {
        let info = s.info();
        let no_users = !s.has_users()?;
        let frame = Frame {
            site: SITE,
            place: format!("{} · {}", info.department_name, info.year),
            user: None,
            csrf: None,
            nav: vec![],
            active: "",
            flash,
            scripts: &[],
        };
        let body = html! {
            div.login.panel {
                h1 { "登录采集端" }
                p.muted { (info.department_name) " · " (info.year) }
                @if no_users {
                    p.flash.warn { "本采集端还没有用户。请先在命令行运行 "
                        code { "caiji-agent user-add 姓名 --role collector --password 密码" } " 创建。" }
                }
                form method="post" action="/login" {
                    input type="hidden" name="next" value=(next);
                    label { "用户名" input type="text" name="name" autocomplete="username" required autofocus; }
                    label { "密码" input type="password" name="password" autocomplete="current-password" required; }
                    button.primary type="submit" { "登录" }
                }
            }
        };
        Ok(webkit::page(&frame, "登录", body))
    })
    .await
}

#[derive(Deserialize)]
struct LoginForm {
    name: String,
    password: String,
    next: Option<String>,
}

async fn login(State(state): State<Arc<WebState>>, WebForm(form): WebForm<LoginForm>) -> Result<Response, WebError> {
    let name = form.name.trim().to_string();
    let password = form.password;
    let role = {
        let name = name.clone();
        with_store(&state, move |s| Ok(s.check_user(&name, &password)?)).await?
    };
    let Some(role) = role else {
        tracing::info!(user = %name, "采集端网页登录失败");
        let to = format!("/login?next={}", urlencode(&safe_next(form.next.as_deref())));
        return Ok(SITE.redirect_with(&to, webkit::failed("用户名或密码错误")));
    };
    let token = random_token(32);
    let session = Session { user: name.clone(), role, csrf: webkit::csrf_token(&token), flash: None };
    state.sessions.lock().unwrap_or_else(|p| p.into_inner()).insert(sha256_hex(&token), (session, Instant::now()));
    tracing::info!(user = %name, role = role.label(), "采集端网页登录");
    let mut resp = webkit::redirect(&safe_next(form.next.as_deref()));
    resp.headers_mut().append(header::SET_COOKIE, SITE.session_cookie(&token));
    Ok(resp)
}

#[derive(Deserialize)]
struct Empty {}

async fn logout(State(state): State<Arc<WebState>>, headers: HeaderMap, CsrfForm(_): CsrfForm<Empty>) -> Response {
    if let Some(token) = SITE.session_token(&headers) {
        state.sessions.lock().unwrap_or_else(|p| p.into_inner()).remove(&sha256_hex(&token));
    }
    let mut resp = SITE.redirect_with("/login", webkit::ok("已退出登录"));
    resp.headers_mut().append(header::SET_COOKIE, SITE.clear_session_cookie());
    resp.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_only_a_path_on_this_site() {
        assert_eq!(safe_next(Some("/tables/A6-1-1")), "/tables/A6-1-1");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil")), "/");
        assert_eq!(safe_next(None), "/");
        assert_eq!(urlencode("/a b?x=1"), "%2Fa+b%3Fx%3D1");
    }
}
