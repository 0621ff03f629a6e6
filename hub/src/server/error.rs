//! The one error type of the hub's HTTP API: a status, a stable code and a Chinese message,
//! sent as JSON `{"code": …, "message": …}`. Internal details are logged, never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use caiji_shared::sync::ErrorBody;

use crate::store::HubError;

#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl AppError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> AppError {
        AppError { status, code, message: message.into() }
    }

    pub fn bad_request(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn internal(what: &str, e: impl std::fmt::Display) -> AppError {
        tracing::error!(error = %e, "{what}");
        AppError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "中心端内部错误，请稍后再试或联系管理员")
    }
}

impl From<HubError> for AppError {
    fn from(e: HubError) -> Self {
        match e {
            HubError::BadEnrollCode => AppError::new(StatusCode::UNAUTHORIZED, "enroll_code_invalid", e.to_string()),
            HubError::NoDepartment(_) | HubError::NoTable(_) => {
                AppError::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
            }
            HubError::Invalid(_) | HubError::BadDepartment(_) => AppError::bad_request(e.to_string()),
            HubError::NotYourDepartment(_) => {
                AppError::new(StatusCode::FORBIDDEN, "not_your_department", e.to_string())
            }
            HubError::Forbidden(_) => AppError::new(StatusCode::FORBIDDEN, "forbidden", e.to_string()),
            HubError::Unauthorized(_) => AppError::new(StatusCode::UNAUTHORIZED, "unauthorized", e.to_string()),
            other => AppError::internal("中心端存储出错", other),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = ErrorBody { code: self.code.to_string(), message: self.message };
        (self.status, Json(body)).into_response()
    }
}
