//! What a provider's reader says when it cannot read a delivery at all: a
//! plain value naming the field and the problem. The pipeline keeps such a
//! delivery as an unrecognized one with this text as its reason
//! (`ingest::read`); only the HTTP layer turns it into an answer.

use serde::de::DeserializeOwned;
use std::fmt;

/// Why a delivery could not be read: `<field>: <problem>`, or the problem
/// alone when no one field is at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadError {
    /// The field at fault as the provider names it (`data.id`, `CallSid`,
    /// `body`), if one is.
    pub field: Option<String>,
    pub problem: String,
}

impl ReadError {
    /// A problem with the delivery as a whole.
    pub fn new(problem: impl Into<String>) -> Self {
        ReadError {
            field: None,
            problem: problem.into(),
        }
    }

    /// A problem with one field.
    pub fn field(field: &str, problem: impl fmt::Display) -> Self {
        ReadError {
            field: Some(field.to_string()),
            problem: problem.to_string(),
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.problem),
            None => f.write_str(&self.problem),
        }
    }
}

impl std::error::Error for ReadError {}

/// Parses a JSON body into `T`, with errors that name the field
/// (`caller_id_number: invalid type: null, expected a string`).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ReadError> {
    // Fast path for every valid delivery: an object parsed straight into
    // `T`, without building a `Value` and tracking the path. Only its
    // success is used; on any error the body is parsed again the careful
    // way, so every error keeps its exact message.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        if let Ok(parsed) = serde_json::from_slice(bytes) {
            return Ok(parsed);
        }
    }
    parse_json_checked(bytes)
}

/// [`parse_json`] the careful way: through a `Value`, so the messages say
/// which field is wrong without line and column.
pub(crate) fn parse_json_checked<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ReadError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ReadError::field("body", "is empty; expected a JSON object"));
    }
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ReadError::field("body", format!("is not valid JSON ({e})")))?;
    if !value.is_object() {
        return Err(ReadError::field("body", "must be a JSON object"));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            ReadError::new(inner.to_string())
        } else {
            ReadError::field(&path, inner)
        }
    })
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
        assert_eq!(err.field.as_deref(), Some("inner.count"));
        assert!(err.to_string().starts_with("inner.count: "), "{err}");
        let err = parse_json::<Sample>(br#"{"inner": {"count": 1}}"#).unwrap_err();
        assert_eq!(err.field, None);
        assert!(err.to_string().contains("missing field `name`"), "{err}");
        let err = parse_json::<Sample>(br#"{"name": null, "inner": {"count": 1}}"#).unwrap_err();
        assert!(err.to_string().starts_with("name: "), "{err}");
    }

    #[test]
    fn json_body_must_be_an_object() {
        for body in [&b"[1,2]"[..], b"\"text\"", b"42", b"null"] {
            let err = parse_json::<Sample>(body).unwrap_err();
            assert_eq!(err.to_string(), "body: must be a JSON object");
        }
        assert!(parse_json::<Sample>(b"{not json")
            .unwrap_err()
            .to_string()
            .contains("not valid JSON"));
        assert!(parse_json::<Sample>(b"  ")
            .unwrap_err()
            .to_string()
            .contains("empty"));
        assert!(parse_json::<Sample>(&[0xff, 0xfe])
            .unwrap_err()
            .to_string()
            .contains("not valid JSON"));
    }
}
