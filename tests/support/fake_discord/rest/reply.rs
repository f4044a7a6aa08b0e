//! The fake's answer: a status and Discord's JSON body (with the rate-limit headers of a 429), or a
//! fault instead of it; and the helpers for Discord's common error replies.

use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::super::payloads;
use super::super::state::Fault;

/// The fake's answer.
pub(crate) struct Reply {
    pub(super) status: u16,
    /// Null means no body (204).
    pub(super) body: Value,
    /// Break the connection, or never answer, instead of sending this.
    pub(super) fault: Fault,
}

impl Reply {
    pub(super) fn new(status: u16, body: Value) -> Self {
        Reply {
            status,
            body,
            fault: Fault::Answer,
        }
    }

    pub(super) fn ok(body: Value) -> Self {
        Reply::new(200, body)
    }

    pub(super) fn created(body: Value) -> Self {
        Reply::new(201, body)
    }

    pub(super) fn no_content() -> Self {
        Reply::new(204, Value::Null)
    }

    pub(super) fn error(status: u16, code: u64, message: &str) -> Self {
        Reply::new(status, payloads::error_body(code, message))
    }

    pub(super) fn not_found() -> Self {
        Reply::error(404, 0, "404: Not Found")
    }

    pub(super) fn unknown_channel() -> Self {
        Reply::error(404, 10003, "Unknown Channel")
    }

    pub(super) fn unknown_message() -> Self {
        Reply::error(404, 10008, "Unknown Message")
    }

    pub(super) fn unknown_webhook() -> Self {
        Reply::error(404, 10015, "Unknown Webhook")
    }

    pub(super) fn unknown_interaction() -> Self {
        Reply::error(404, 10062, "Unknown interaction")
    }

    pub(super) fn missing_permissions() -> Self {
        Reply::error(403, 50013, "Missing Permissions")
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        if matches!(self.fault, Fault::Reset { .. }) {
            // Headers, then a body that fails: the client's read errors out, as when a
            // connection drops mid-answer.
            let broken = futures::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "fake_discord: connection reset",
                ))
            });
            return (StatusCode::OK, axum::body::Body::from_stream(broken)).into_response();
        }
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if self.body.is_null() {
            return status.into_response();
        }
        let mut response = (status, axum::Json(self.body.clone())).into_response();
        if self.status == 429 {
            let retry = self.body["retry_after"].as_f64().unwrap_or(1.0);
            let global = self.body["global"].as_bool().unwrap_or(false);
            let headers = response.headers_mut();
            for (name, value) in [
                ("retry-after", format!("{}", retry.ceil() as u64)),
                ("x-ratelimit-retry-after", retry.to_string()),
                ("x-ratelimit-global", global.to_string()),
                (
                    "x-ratelimit-scope",
                    if global { "global" } else { "user" }.to_string(),
                ),
            ] {
                headers.insert(
                    name,
                    HeaderValue::from_str(&value).expect("ASCII header value"),
                );
            }
        }
        response
    }
}
