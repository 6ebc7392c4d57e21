//! Reading webhook requests and writing answers: the JSON error contract
//! (docs/ingest.md), body limits, headers, queries.

use crate::route_table::{HttpMethod, Route};
use lambda_http::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use std::fmt;

/// The largest body any route accepts: the platform's. Lambda takes a
/// synchronous invocation's payload up to 6 MB (6,291,456 bytes), and a
/// body API Gateway base64-encoded counts at its encoded size (see
/// [`platform_size`]); anything it hands over is kept. A two-hour Retell
/// `call_ended` (its transcript three times, with word timings) is about
/// 2.4 MB. Large values are split across part items written outside the
/// transaction (`store::transaction`), so DynamoDB's 4 MB transaction
/// limit does not bound a body. Also the most a compressed body may
/// decompress to (`ingest::decode`).
pub const MAX_BODY_BYTES: usize = 6 * 1024 * 1024;

/// A body's size as the platform counts it against [`MAX_BODY_BYTES`]: a
/// text body by its bytes, one API Gateway handed over base64-encoded (a
/// binary body: `lambda_http` decoded it into [`Body::Binary`]) by its
/// encoded length.
pub fn platform_size(body: &Body) -> usize {
    match body {
        Body::Binary(bytes) => bytes.len().div_ceil(3) * 4,
        other => other.as_ref().len(),
    }
}

/// Set by [`crate::runtime`] when API Gateway handed over a body flagged as
/// base64 that does not decode; any copy a client sends is removed first.
pub const REJECTED_BODY_HEADER: &str = "x-callhooks-rejected-body";

/// An answer other than success, as `{"error": {"code", "message"}}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn method_not_allowed(method: &Method, allowed: &[HttpMethod]) -> Self {
        let allowed: Vec<&str> = allowed.iter().map(|m| m.as_str()).collect();
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!(
                "method {method} is not allowed; use {}",
                allowed.join(" or ")
            ),
        )
    }

    pub fn too_large(size: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("body is {size} bytes; the limit is {MAX_BODY_BYTES} bytes"),
        )
    }

    /// 503: storage did not answer in time. Providers retry on it, and the
    /// retry is recorded once.
    pub fn storage_unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "the event could not be recorded right now; retry later",
        )
    }

    pub fn to_response(&self) -> Response<Body> {
        let body = serde_json::json!({
            "error": { "code": self.code, "message": self.message }
        });
        let mut response = json_response(self.status, &body);
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

/// Every way a request fails to prove itself is a 401 naming why.
impl From<crate::auth::AuthError> for ApiError {
    fn from(error: crate::auth::AuthError) -> Self {
        ApiError::unauthorized(error.to_string())
    }
}

impl From<crate::signature::SignatureError> for ApiError {
    fn from(error: crate::signature::SignatureError) -> Self {
        ApiError::unauthorized(error.to_string())
    }
}

/// A JSON answer with the given status.
pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    // Serializing plain data (maps, strings, numbers) cannot fail.
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_string());
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The answer for a handler's result: the success body, or the error's.
pub fn respond(result: Result<Response<Body>, ApiError>) -> Response<Body> {
    result.unwrap_or_else(|error| error.to_response())
}

pub fn require_method(req: &Request, route: Route) -> Result<(), ApiError> {
    if route.accepts(req.method().as_str()) {
        Ok(())
    } else {
        Err(ApiError::method_not_allowed(
            req.method(),
            route.entry().methods,
        ))
    }
}

/// A query-string parameter's first value.
pub fn query_param(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(name).map(str::to_string))
}

/// A header's value as a check reads it: `None` when absent, `Some("")`
/// when present but not printable text (a credential that cannot match).
pub fn header_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap_or(""))
}

/// A header's value as text, if present and printable.
pub fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_has_the_design_shape() {
        let response = ApiError::unauthorized("missing token").to_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": {"code": "unauthorized", "message": "missing token"}})
        );
        let unavailable = ApiError::storage_unavailable().to_response();
        assert_eq!(unavailable.headers()[header::RETRY_AFTER], "1");
    }

    #[test]
    fn the_platform_counts_a_base64_body_at_its_encoded_size() {
        assert_eq!(platform_size(&Body::Empty), 0);
        assert_eq!(platform_size(&Body::Text("héllo".into())), 6);
        assert_eq!(platform_size(&Body::Binary(vec![0; 3])), 4);
        assert_eq!(platform_size(&Body::Binary(vec![0; 4])), 8);
        // 4.5 MiB of bytes are 6 MiB in base64: the most a binary body can be.
        let largest = Body::Binary(vec![0; MAX_BODY_BYTES / 4 * 3]);
        assert_eq!(platform_size(&largest), MAX_BODY_BYTES);
    }
}
