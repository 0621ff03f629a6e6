//! The shared static files, compiled into the binary (no CDN, no files beside it).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The kit's own files: the stylesheet and the base script.
pub const FILES: &[(&str, &str)] =
    &[("app.css", include_str!("assets/app.css")), ("app.js", include_str!("assets/app.js"))];

/// Serves `name` from `files` (the kit's first, then the caller's own), or 404.
pub fn serve(name: &str, own: &[(&'static str, &'static str)]) -> Response {
    let Some((_, body)) = FILES.iter().chain(own).find(|(n, _)| *n == name) else {
        return (StatusCode::NOT_FOUND, "没有这个文件").into_response();
    };
    let mime = if name.ends_with(".css") {
        "text/css; charset=utf-8"
    } else if name.ends_with(".js") {
        "text/javascript; charset=utf-8"
    } else {
        "application/octet-stream"
    };
    let mut r = (*body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    // Short: a new binary's files must reach the browser without a forced reload.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=300"));
    r
}
