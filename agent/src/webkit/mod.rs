//! What the agent's and the hub's web screens share: the page frame, the embedded assets,
//! cookies (session and one-shot notices), the CSRF token, the security headers and the HTML
//! error page. The hub uses it as `caiji_agent::webkit`, so both sides look and behave alike.
//!
//! Pages are rendered on the server with `maud` (escaped by construction); the little script
//! there is lives in `assets/*.js`, served from the binary. The Content-Security-Policy forbids
//! inline scripts and styles, so a page never carries either.

pub mod assets;
pub mod paging;

use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use serde::de::DeserializeOwned;

use crate::secrets::sha256_hex;

/// How a site sets its cookies.
#[derive(Debug, Clone, Copy)]
pub struct Site {
    /// Cookies get `Secure` and the `__Host-` prefix. The hub serves TLS; the agent serves plain
    /// HTTP on loopback only, which browsers treat as a secure context (Chromium keeps such
    /// cookies for http://127.0.0.1). False only for the hub's `--insecure-http` mode.
    pub secure: bool,
    /// "采集端" or "中心端", shown in the page title.
    pub app: &'static str,
    /// The session cookie's base name, one per kind of site ("caiji-agent", "caiji-hub"): a
    /// browser keeps cookies per host, not per port, so a hub and an agent on one machine (the
    /// demo) must not overwrite each other's sessions.
    pub cookie: &'static str,
}

/// A one-shot notice shown at the top of the next page (after a form's redirect).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub ok: bool,
    pub text: String,
}

/// Everything the frame around a page needs.
pub struct Frame<'a> {
    pub site: Site,
    /// Department and year, or the school and year.
    pub place: String,
    /// The signed-in person and role, e.g. "张三（数据采集人）".
    pub user: Option<String>,
    /// The page's CSRF token (forms carry it as `_csrf`, scripts as `X-CSRF-Token`).
    pub csrf: Option<String>,
    /// Navigation: (label, href).
    pub nav: Vec<(&'a str, String)>,
    /// Which nav href is the current section.
    pub active: &'a str,
    pub flash: Option<Flash>,
    /// Extra scripts under `/static/`, e.g. "grid.js".
    pub scripts: &'a [&'a str],
}

impl Site {
    pub fn session_cookie_name(&self) -> String {
        if self.secure { format!("__Host-{}", self.cookie) } else { self.cookie.to_string() }
    }

    fn flash_cookie_name(&self) -> String {
        format!("{}-flash", self.cookie)
    }

    fn attributes(&self) -> &'static str {
        if self.secure { "; Path=/; HttpOnly; SameSite=Strict; Secure" } else { "; Path=/; HttpOnly; SameSite=Strict" }
    }

    /// `Set-Cookie` for a new session (a browser-session cookie: closing the browser ends it).
    pub fn session_cookie(&self, token: &str) -> HeaderValue {
        header_value(&format!("{}={token}{}", self.session_cookie_name(), self.attributes()))
    }

    /// `Set-Cookie` that ends the session in the browser.
    pub fn clear_session_cookie(&self) -> HeaderValue {
        header_value(&format!("{}=; Max-Age=0{}", self.session_cookie_name(), self.attributes()))
    }

    /// The session token the browser sent, if any.
    pub fn session_token(&self, headers: &HeaderMap) -> Option<String> {
        read_cookie(headers, &self.session_cookie_name()).filter(|t| !t.is_empty())
    }

    /// A 303 redirect to `to` that shows `flash` on the next page.
    pub fn redirect_with(&self, to: &str, flash: Flash) -> Response {
        let value = format!("{}{}", if flash.ok { "1" } else { "0" }, flash.text);
        let encoded = cookie::Cookie::new(self.flash_cookie_name(), value).encoded().to_string();
        let mut r = redirect(to);
        r.headers_mut().append(header::SET_COOKIE, header_value(&format!("{encoded}{}", self.attributes())));
        r
    }

    /// The notice left by the last redirect, if any ([`Frame::flash`]).
    pub fn flash(&self, headers: &HeaderMap) -> Option<Flash> {
        let raw = read_cookie(headers, &self.flash_cookie_name())?;
        let mut chars = raw.chars();
        let ok = chars.next()? == '1';
        Some(Flash { ok, text: chars.as_str().to_string() })
    }

    fn clear_flash_cookie(&self) -> HeaderValue {
        header_value(&format!("{}=; Max-Age=0{}", self.flash_cookie_name(), self.attributes()))
    }
}

/// A notice saying something worked.
pub fn ok(text: impl Into<String>) -> Flash {
    Flash { ok: true, text: text.into() }
}

/// A notice saying something did not.
pub fn failed(text: impl Into<String>) -> Flash {
    Flash { ok: false, text: text.into() }
}

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A cookie's value from the request (percent-decoded).
pub fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse_encoded)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

/// A 303 "see other" to `to` (after a form is handled).
pub fn redirect(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    r.headers_mut().insert(header::LOCATION, header_value(to));
    r
}

/// The CSRF token that goes with a session: derived from the secret session token, so it needs
/// no storage and a page of another site, which cannot read the cookie, cannot compute it.
pub fn csrf_token(session_token: &str) -> String {
    sha256_hex(&format!("caiji-csrf:{session_token}"))[..32].to_string()
}

/// Checks a form's or script's CSRF token against the session's.
pub fn check_csrf(session_token: &str, given: Option<&str>) -> Result<(), WebError> {
    let expected = csrf_token(session_token);
    let given = given.unwrap_or("");
    // Constant-time comparison of equal-length ASCII strings.
    let same = given.len() == expected.len()
        && given.bytes().zip(expected.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    if same {
        Ok(())
    } else {
        Err(WebError::new(StatusCode::FORBIDDEN, "页面已过期或来源不明（安全校验未通过），请刷新页面后重试"))
    }
}

/// The CSRF token a request carries: the `X-CSRF-Token` header (scripts).
pub fn csrf_header(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-csrf-token").and_then(|v| v.to_str().ok())
}

/// Middleware for `site`: security headers on every response, and no state-changing request
/// from another site or another port of this host (browsers send `Sec-Fetch-Site`; a form
/// posted from elsewhere is refused before any handler runs, whether or not the person is
/// signed in). It also hands `site` to the CSRF extractors below, which check the token against
/// this site's own session cookie only. Installed with
/// `axum::middleware::from_fn_with_state(site, webkit::guard)`.
pub async fn guard(State(site): State<Site>, mut req: Request, next: Next) -> Response {
    let unsafe_method = !matches!(req.method().as_str(), "GET" | "HEAD" | "OPTIONS");
    // "same-site" too: another port of the same host (a page served by some other local
    // program) is same-site but not ours.
    let cross = req
        .headers()
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "cross-site" || v == "same-site");
    req.extensions_mut().insert(site);
    let mut resp = if unsafe_method && cross {
        WebError::new(StatusCode::FORBIDDEN, "拒绝来自其他网站的请求").into_response()
    } else {
        next.run(req).await
    };
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    resp
}

/// Renders a whole page in the frame. Clears the notice it shows.
pub fn page(frame: &Frame, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(t) = &frame.csrf { meta name="csrf-token" content=(t); }
                title { (title) " · caiji " (frame.site.app) }
                link rel="stylesheet" href="/static/app.css";
                link rel="stylesheet" href="/static/site.css";
                script src="/static/app.js" defer {}
                @for s in frame.scripts { script src={ "/static/" (s) } defer {} }
            }
            body {
                header.top {
                    a.brand href="/" { "caiji 采集 · " (frame.site.app) }
                    span.place { (frame.place) }
                    @if let Some(u) = &frame.user {
                        span.user { (u) }
                        form.logout method="post" action="/logout" {
                            @if let Some(t) = &frame.csrf { input type="hidden" name="_csrf" value=(t); }
                            button type="submit" { "退出登录" }
                        }
                    }
                }
                @if !frame.nav.is_empty() {
                    nav.main {
                        @for (label, href) in &frame.nav {
                            a href=(href) class=[(href == frame.active).then_some("active")] { (label) }
                        }
                    }
                }
                main {
                    @if let Some(f) = &frame.flash {
                        p class={ "flash " (if f.ok { "ok" } else { "err" }) } role="status" { (f.text) }
                    }
                    (body)
                }
            }
        }
    };
    let mut resp = markup.into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if frame.flash.is_some() {
        resp.headers_mut().append(header::SET_COOKIE, frame.site.clear_flash_cookie());
    }
    resp
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="_csrf" value=(token); }
}

/// A coloured badge for a workflow state (class from its stable id).
pub fn state_badge(state: caiji_shared::workflow::State) -> Markup {
    html! { span class={ "badge st-" (state_class(state)) } { (state.label()) } }
}

/// The CSS class suffix of a state.
pub fn state_class(state: caiji_shared::workflow::State) -> &'static str {
    use caiji_shared::workflow::State::*;
    match state {
        Draft => "draft",
        DeptReview => "dept",
        Submitted => "submitted",
        OfficeReview => "review",
        Returned => "returned",
        Accepted => "accepted",
        Merged => "merged",
        Locked => "locked",
        Reopened => "reopened",
        Approved => "approved",
        Reported => "reported",
    }
}

/// An error shown to a person: an HTML page (or, for scripts, JSON) with a Chinese message.
#[derive(Debug)]
pub struct WebError {
    pub status: StatusCode,
    pub message: String,
}

impl WebError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> WebError {
        WebError { status, message: message.into() }
    }

    pub fn bad_request(message: impl Into<String>) -> WebError {
        WebError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn forbidden(message: impl Into<String>) -> WebError {
        WebError::new(StatusCode::FORBIDDEN, message)
    }

    pub fn not_found(message: impl Into<String>) -> WebError {
        WebError::new(StatusCode::NOT_FOUND, message)
    }

    pub fn internal(message: impl Into<String>) -> WebError {
        WebError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(status = %self.status, message = %self.message, "网页请求失败");
        }
        let markup = html! {
            (DOCTYPE)
            html lang="zh-CN" {
                head {
                    meta charset="utf-8";
                    title { "出错了 · caiji" }
                    link rel="stylesheet" href="/static/app.css";
                }
                body {
                    main.error {
                        h1 { "无法完成" }
                        p.flash.err role="alert" { (self.message) }
                        p { a href="javascript:history.back()" { "返回上一页" } " · " a href="/" { "回到首页" } }
                    }
                }
            }
        };
        (self.status, markup).into_response()
    }
}

/// A JSON error for the scripts' `fetch` calls: `{"code": ..., "message": ...}`.
pub fn json_error(status: StatusCode, message: impl Into<String>) -> Response {
    let body = serde_json::json!({ "code": status.as_u16(), "message": message.into() });
    (status, axum::Json(body)).into_response()
}

/// `axum::Form` with a Chinese rejection.
pub struct WebForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for WebForm<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(WebForm(v)),
            Err(e) => {
                tracing::debug!(error = %e, "表单无效");
                Err(WebError::bad_request("提交的表单不完整或格式不对，请返回检查后重试"))
            }
        }
    }
}

/// Checks `given` against the session cookie of the site the request came to (set by
/// [`guard`]). Only that cookie counts: cookies are kept per host, not per port, so another
/// program on this host (or a sibling host, for cookies without the `__Host-` prefix) could
/// plant a cookie of another name whose token it knows.
fn check_site_csrf(req: &Request, given: Option<&str>) -> Result<(), WebError> {
    check_csrf_of(req.extensions().get::<Site>(), req.headers(), given)
}

fn check_csrf_of(site: Option<&Site>, headers: &HeaderMap, given: Option<&str>) -> Result<(), WebError> {
    let Some(site) = site else {
        tracing::error!("CSRF 检查缺少网站设置：路由没有装 webkit::guard");
        return Err(WebError::new(StatusCode::INTERNAL_SERVER_ERROR, "服务器设置有误，请联系管理员"));
    };
    let Some(token) = site.session_token(headers) else {
        return Err(WebError::new(StatusCode::UNAUTHORIZED, "登录已过期，请刷新页面重新登录"));
    };
    check_csrf(&token, given)
}

/// A form posted by a signed-in person: the body must carry `_csrf` matching the session
/// cookie, or the request is refused before the handler runs. Every state-changing form uses
/// this (or [`CsrfJson`] for scripts).
pub struct CsrfForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for CsrfForm<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let site = req.extensions().get::<Site>().copied();
        let headers = req.headers().clone();
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| WebError::bad_request("提交的内容太大或不完整"))?;
        let given = form_urlencoded_value(&bytes, "_csrf");
        check_csrf_of(site.as_ref(), &headers, given.as_deref())?;
        let v = serde_urlencoded::from_bytes::<T>(&bytes).map_err(|e| {
            tracing::debug!(error = %e, "表单无效");
            WebError::bad_request("提交的表单不完整或格式不对，请返回检查后重试")
        })?;
        Ok(CsrfForm(v))
    }
}

/// JSON posted by the page's script: the `X-CSRF-Token` header must match the session.
pub struct CsrfJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for CsrfJson<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if let Err(e) = check_site_csrf(&req, csrf_header(req.headers())) {
            return Err(json_error(e.status, e.message));
        }
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(CsrfJson(v)),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(json_error(StatusCode::PAYLOAD_TOO_LARGE, "提交的数据太大（超过 2 MB），未保存；请分几次提交"))
            }
            Err(e) => {
                tracing::debug!(error = %e, "JSON 无效");
                Err(json_error(StatusCode::BAD_REQUEST, "提交的数据格式不对，请刷新页面后重试"))
            }
        }
    }
}

/// One value of an `application/x-www-form-urlencoded` body.
fn form_urlencoded_value(body: &[u8], name: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_value_is_read_from_an_urlencoded_body() {
        assert_eq!(form_urlencoded_value(b"a=1&_csrf=x%20y&b=2", "_csrf").as_deref(), Some("x y"));
        assert_eq!(form_urlencoded_value(b"a=1", "_csrf"), None);
    }

    #[test]
    fn csrf_token_is_tied_to_the_session() {
        let t = csrf_token("abc");
        assert_eq!(t.len(), 32);
        assert!(check_csrf("abc", Some(&t)).is_ok());
        assert!(check_csrf("abd", Some(&t)).is_err());
        assert!(check_csrf("abc", None).is_err());
        assert!(check_csrf("abc", Some("")).is_err());
    }

    #[test]
    fn flash_round_trips_chinese_text_through_a_cookie() {
        let site = Site { secure: true, app: "中心端", cookie: "caiji-hub" };
        let r = site.redirect_with("/x", failed("第 3 行「出生日期」：不对; 请改"));
        let set = r.headers().get(header::SET_COOKIE).unwrap().to_str().unwrap().to_string();
        let pair = set.split(';').next().unwrap();
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_str(pair).unwrap());
        assert_eq!(site.flash(&h), Some(failed("第 3 行「出生日期」：不对; 请改")));
        assert!(set.contains("HttpOnly") && set.contains("Secure") && set.contains("SameSite=Strict"));
    }

    #[test]
    fn session_cookie_is_secure_and_http_only() {
        let site = Site { secure: true, app: "中心端", cookie: "caiji-hub" };
        let c = site.session_cookie("tok");
        let c = c.to_str().unwrap();
        assert!(c.starts_with("__Host-caiji-hub=tok;"));
        assert!(c.contains("HttpOnly") && c.contains("Secure") && c.contains("SameSite=Strict"));
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=b; __Host-caiji-agent=other; __Host-caiji-hub=tok"));
        assert_eq!(site.session_token(&h).as_deref(), Some("tok"));
        // Only the site's own session counts for the CSRF check: a token made from another
        // caiji cookie on this host (which another local program could have planted) fails.
        assert!(check_csrf_of(Some(&site), &h, Some(&csrf_token("tok"))).is_ok());
        assert!(check_csrf_of(Some(&site), &h, Some(&csrf_token("other"))).is_err());
        assert!(check_csrf_of(Some(&site), &h, Some(&csrf_token("neither"))).is_err());
        assert_eq!(
            check_csrf_of(Some(&site), &HeaderMap::new(), Some(&csrf_token("tok"))).unwrap_err().status,
            StatusCode::UNAUTHORIZED
        );
        // A router without the guard refuses rather than skipping the check.
        assert_eq!(
            check_csrf_of(None, &h, Some(&csrf_token("tok"))).unwrap_err().status,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
