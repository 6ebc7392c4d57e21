//! Reading webhook requests and writing answers: the JSON error contract
//! (docs/ingest.md), body limits, content types, JSON and form bodies, queries.

use lambda_http::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;

/// The largest body any route accepts: 2 MiB. Salpre's `call_ended` carries a
/// whole conversation, and a 1 MiB transcript must fit with its envelope.
/// API Gateway itself accepts up to 10 MB and Lambda 6 MB; DynamoDB's 4 MB
/// transaction limit is what bounds us (raw body plus its split copy).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

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

    /// 400: the body is not what the provider documents. The message names
    /// the field.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 400 for one field: `<field>: <problem>`.
    pub fn invalid_field(field: &str, problem: impl fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_field",
            format!("{field}: {problem}"),
        )
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn method_not_allowed(method: &Method, allowed: &[Method]) -> Self {
        let allowed: Vec<&str> = allowed.iter().map(Method::as_str).collect();
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

    pub fn unsupported_media_type(found: &str, expected: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("content type {found:?} is not supported; send {expected}"),
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

pub fn require_method(req: &Request, allowed: &[Method]) -> Result<(), ApiError> {
    if allowed.contains(req.method()) {
        Ok(())
    } else {
        Err(ApiError::method_not_allowed(req.method(), allowed))
    }
}

/// The raw body bytes, refused above [`MAX_BODY_BYTES`] or when API Gateway's
/// base64 encoding of it was broken.
pub fn body_bytes(req: &Request) -> Result<&[u8], ApiError> {
    if req.headers().contains_key(REJECTED_BODY_HEADER) {
        return Err(ApiError::invalid(
            "body: flagged as base64-encoded but is not valid base64",
        ));
    }
    let bytes: &[u8] = req.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::too_large(bytes.len()));
    }
    Ok(bytes)
}

/// Parses a JSON body into `T`, with 400 messages that name the field
/// (`caller_id_number: invalid type: null, expected a string`).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Fast path for every valid delivery: an object parsed straight into
    // `T`, without building a `Value` and tracking the path. Only its
    // success is used; on any error the body is parsed again the careful
    // way, so every 400 keeps its exact message.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        if let Ok(parsed) = serde_json::from_slice(bytes) {
            return Ok(parsed);
        }
    }
    parse_json_checked(bytes)
}

/// [`parse_json`] the careful way: through a `Value`, so the messages say
/// which field is wrong without line and column.
pub(crate) fn parse_json_checked<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid("body: is empty; expected a JSON object"));
    }
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::invalid(format!("body: is not valid JSON ({e})")))?;
    if !value.is_object() {
        return Err(ApiError::invalid("body: must be a JSON object"));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            ApiError::invalid(inner.to_string())
        } else {
            ApiError::invalid_field(&path, inner)
        }
    })
}

/// A query-string parameter's first value.
pub fn query_param(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(name).map(str::to_string))
}

/// A header's value as text, if present and printable.
pub fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        inner: Inner,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
    }

    #[test]
    fn json_errors_name_the_field() {
        let err = parse_json::<Sample>(br#"{"name": "a", "inner": {"count": "x"}}"#).unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert!(err.message.starts_with("inner.count: "), "{}", err.message);
        let err = parse_json::<Sample>(br#"{"inner": {"count": 1}}"#).unwrap_err();
        assert!(
            err.message.contains("missing field `name`"),
            "{}",
            err.message
        );
        let err = parse_json::<Sample>(br#"{"name": null, "inner": {"count": 1}}"#).unwrap_err();
        assert!(err.message.starts_with("name: "), "{}", err.message);
    }

    #[test]
    fn json_body_must_be_an_object() {
        for body in [&b"[1,2]"[..], b"\"text\"", b"42", b"null"] {
            let err = parse_json::<Sample>(body).unwrap_err();
            assert_eq!(err.message, "body: must be a JSON object");
        }
        assert!(parse_json::<Sample>(b"{not json")
            .unwrap_err()
            .message
            .contains("not valid JSON"));
        assert!(parse_json::<Sample>(b"  ")
            .unwrap_err()
            .message
            .contains("empty"));
        assert!(parse_json::<Sample>(&[0xff, 0xfe])
            .unwrap_err()
            .message
            .contains("not valid JSON"));
    }

    #[test]
    fn error_body_has_the_design_shape() {
        let response = ApiError::invalid_field("to", "is empty").to_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": {"code": "invalid_field", "message": "to: is empty"}})
        );
        let unavailable = ApiError::storage_unavailable().to_response();
        assert_eq!(unavailable.headers()[header::RETRY_AFTER], "1");
    }
}
