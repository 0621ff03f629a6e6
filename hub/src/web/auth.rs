//! Sign-in and sign-out on the hub, and [`Session`], the extractor every signed-in page takes.
//! Sessions are the same stored sessions the office API uses (token hashed at rest), carried
//! in a `__Host-` cookie that is `Secure`, `HttpOnly` and `SameSite=Strict`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use caiji_agent::webkit::{self, CsrfForm, Flash, Frame, WebError, WebForm};
use maud::html;
use serde::Deserialize;

use super::with_store;
use crate::server::AppState;
use crate::store::OfficeUser;

/// A signed-in hub user.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: OfficeUser,
    /// The CSRF token for this session's forms and scripts.
    pub csrf: String,
    /// The notice the last redirect left, if any.
    pub flash: Option<Flash>,
}

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/login", get(login_page).post(login)).route("/logout", post(logout))
}

impl FromRequestParts<Arc<AppState>> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let token = state.site.session_token(&parts.headers);
        let user = match token.clone() {
            Some(token) => with_store(state, move |s| {
                s.refresh()?;
                Ok(s.session_user(&token)?)
            })
            .await
            .map_err(|e| webkit::json_error(e.status, e.message))?,
            None => None,
        };
        match (user, token) {
            (Some(user), Some(token)) => {
                Ok(Session { user, csrf: webkit::csrf_token(&token), flash: state.site.flash(&parts.headers) })
            }
            _ if parts.method == axum::http::Method::GET && !wants_json(&parts.headers) => {
                let next = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
                Err(webkit::redirect(&format!("/login?next={}", urlencode(next))))
            }
            _ => Err(webkit::json_error(StatusCode::UNAUTHORIZED, "登录已过期，请刷新页面重新登录")),
        }
    }
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("application/json"))
}

pub fn urlencode(s: &str) -> String {
    form_value(s)
}

fn form_value(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Only paths on this site: never an absolute or scheme-relative URL (no open redirect).
/// Browsers treat `\` as `/` and drop tabs and line breaks from a URL, so "/\t/evil.example"
/// would become "//evil.example": a path with a backslash, a control character or a space is
/// refused too.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.chars().any(|c| c == '\\' || c.is_control() || c.is_whitespace()) =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

#[derive(Deserialize)]
struct Next {
    next: Option<String>,
}

async fn login_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<Next>,
) -> Result<Response, WebError> {
    let flash = state.site.flash(&headers);
    let next = safe_next(q.next.as_deref());
    let site = state.site;
    with_store(&state, move |s| {
        let info = s.info();
        let frame = Frame {
            site,
            place: format!("{} · {}", info.school, info.year),
            user: None,
            csrf: None,
            nav: vec![],
            active: "",
            flash,
            scripts: &[],
        };
        let body = html! {
            div.login.panel {
                h1 { "登录中心端" }
                p.muted { (info.school) " · " (info.year) }
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

async fn login(State(state): State<Arc<AppState>>, WebForm(form): WebForm<LoginForm>) -> Result<Response, WebError> {
    let name = form.name.trim().to_string();
    let password = form.password;
    let next = safe_next(form.next.as_deref());
    let token = with_store(&state, move |s| match s.sign_in(&name, &password) {
        Ok(user) => Ok(Some(s.new_session(&user)?)),
        Err(crate::store::HubError::Unauthorized(_)) => Ok(None),
        Err(e) => Err(e.into()),
    })
    .await?;
    let Some(token) = token else {
        let to = format!("/login?next={}", urlencode(&next));
        return Ok(state.site.redirect_with(&to, webkit::failed("用户名或密码错误")));
    };
    let mut resp = webkit::redirect(&next);
    resp.headers_mut().append(header::SET_COOKIE, state.site.session_cookie(&token));
    Ok(resp)
}

#[derive(Deserialize)]
struct Empty {}

async fn logout(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, WebError> {
    if let Some(token) = state.site.session_token(&headers) {
        with_store(&state, move |s| Ok(s.end_session(&token)?)).await?;
    }
    let mut resp = state.site.redirect_with("/login", webkit::ok("已退出登录"));
    resp.headers_mut().append(header::SET_COOKIE, state.site.clear_session_cookie());
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_only_a_path_on_this_site() {
        assert_eq!(safe_next(Some("/review/A6-1-1/jsjx")), "/review/A6-1-1/jsjx");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        for bad in ["/\t/evil.example", "/\n/evil.example", "/\\evil.example", "/ /evil.example", "javascript:x", ""] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
        assert_eq!(urlencode("/a b?x=1"), "%2Fa%20b%3Fx%3D1");
    }
}
