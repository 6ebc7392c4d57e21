//! Form-encoded webhooks, for the providers that send them (Voxtelesys and
//! Twilio, whose parameter names Voxtelesys mirrors): which part of a
//! request carries the parameters (a POST's body, a GET's query string),
//! the tolerant reading of them (a repeated name read as its first value),
//! and the small value helpers both readers use (statuses, key parts,
//! seconds).

use crate::event::Direction;
use crate::phone::PhoneNumber;
use crate::providers::ReadError;
use crate::store::plan::is_storable_number;
use sha2::{Digest, Sha256};
use std::borrow::Cow;

/// Where a request's parameters are, as text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormPart<'a> {
    /// A GET's query string (or a POST's, when its body is empty).
    Query(&'a str),
    /// A POST's body, checked to be UTF-8 text and not JSON.
    Body(&'a str),
}

/// Chooses the part of a request that carries its form parameters: a
/// GET's query string, else the POST's body, read as a form whatever its
/// Content-Type says (named when it says something else), except JSON or
/// multipart, which `provider` does not send and are refused, as is a body
/// that is not UTF-8. A POST with an empty body and a query string is read
/// from its query (named). Returns the part and what was odd.
pub fn form_part<'a>(
    is_get: bool,
    query: &'a str,
    body: &'a [u8],
    content_type: Option<&str>,
    provider: &str,
) -> Result<(FormPart<'a>, Vec<String>), ReadError> {
    let mut anomalies = Vec::new();
    if is_get || body.is_empty() && !query.is_empty() {
        if !is_get {
            anomalies.push("body: empty; the query string is read instead".to_string());
        }
        return Ok((FormPart::Query(query), anomalies));
    }
    let media = content_type.map(|t| {
        t.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    match media.as_deref() {
        None | Some("application/x-www-form-urlencoded") => {}
        Some(found) if found.ends_with("json") || found.starts_with("multipart/") => {
            return Err(ReadError::new(format!(
                "content type {found:?} is not supported; send \
                 application/x-www-form-urlencoded ({provider} form parameters)"
            )))
        }
        Some(found) => anomalies.push(format!(
            "Content-Type: {:?}; the body is read as a form",
            found.chars().take(60).collect::<String>()
        )),
    }
    let text = std::str::from_utf8(body)
        .map_err(|e| ReadError::field("body", format!("is not valid UTF-8 ({e})")))?;
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return Err(ReadError::field(
            "body",
            format!("is JSON; {provider} sends form parameters"),
        ));
    }
    Ok((FormPart::Body(text), anomalies))
}

/// Every parameter of a form by name, each read as its first value; the
/// names sent more than once are listed (the raw payload keeps them all).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Form {
    /// First value of each name, in the order the names first came.
    pairs: Vec<(String, String)>,
    /// Names sent more than once.
    pub repeated: Vec<String>,
}

impl Form {
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (Cow<'a, str>, Cow<'a, str>)>) -> Self {
        let mut form = Form::default();
        for (name, value) in pairs {
            if form.pairs.iter().any(|(n, _)| *n == name) {
                if !form.repeated.iter().any(|r| *r == name) {
                    form.repeated.push(name.into_owned());
                }
            } else {
                form.pairs.push((name.into_owned(), value.into_owned()));
            }
        }
        form
    }

    /// Parses an `application/x-www-form-urlencoded` body or query string.
    pub fn parse(form: &[u8]) -> Self {
        Self::from_pairs(form_urlencoded::parse(form))
    }

    /// A parameter's first value, as sent, if it was sent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A parameter's value, trimmed; `None` when absent or empty.
    pub fn present(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }

    /// Every (name, first value), in the order the names first came.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

/// A number parameter (`From`, `To`): the caller's may be withheld
/// (`None`), ours must be a number (short codes, numbers without `+` and
/// sender ids are numbers too, docs/phone-numbers.md). Missing, or text
/// that is no number, is named in `anomalies` and read as `None` (the
/// text is kept as sent by the plan).
pub fn number_param(
    name: &str,
    value: Option<&str>,
    is_caller: bool,
    anomalies: &mut Vec<String>,
) -> Option<PhoneNumber> {
    let Some(text) = value else {
        anomalies.push(format!("{name}: missing"));
        return None;
    };
    match PhoneNumber::read_field(text, is_caller) {
        Ok(number) => number,
        Err(problem) => {
            let shown: String = text.chars().take(40).collect();
            anomalies.push(format!("{name}: {shown:?} {problem}; kept as sent"));
            None
        }
    }
}

/// A value that becomes part of a key (a status, an id): as sent when it
/// is printable and at most `max_chars`, else a digest of it (named).
pub fn key_part(value: &str, field: &str, max_chars: usize, anomalies: &mut Vec<String>) -> String {
    let value = value.trim();
    if value.chars().count() <= max_chars && !value.chars().any(|c| c.is_control() || c == '#') {
        return value.to_string();
    }
    anomalies.push(format!(
        "{field}: longer than {max_chars} characters or not printable; keyed by its digest"
    ));
    format!("h-{}", hex::encode(&Sha256::digest(value.as_bytes())[..8]))
}

/// A call's id (`CallSid`), trimmed: what ties a callback to its call, so
/// refused when missing, empty, not printable ASCII without spaces, or
/// longer than `max_chars` (it becomes part of keys).
pub fn call_sid(value: Option<&str>, max_chars: usize) -> Result<String, ReadError> {
    let call_sid = match value.map(str::trim) {
        Some(v) if !v.is_empty() => v.to_string(),
        Some(_) => return Err(ReadError::field("CallSid", "is empty")),
        None => return Err(ReadError::field("CallSid", "is missing")),
    };
    if call_sid.chars().any(|c| !c.is_ascii_graphic()) || call_sid.len() > max_chars {
        return Err(ReadError::field(
            "CallSid",
            format!("must be printable ASCII without spaces, at most {max_chars} characters"),
        ));
    }
    Ok(call_sid)
}

/// `CallerName`, trimmed, when it is there; one longer than `max_chars` is
/// no name (named, and kept in the raw payload only).
pub fn caller_name(
    value: Option<&str>,
    max_chars: usize,
    anomalies: &mut Vec<String>,
) -> Option<String> {
    match value.map(str::trim).filter(|name| !name.is_empty()) {
        Some(name) if name.chars().count() > max_chars => {
            anomalies.push(format!(
                "CallerName: longer than {max_chars} characters; kept in the raw payload only"
            ));
            None
        }
        other => other.map(str::to_string),
    }
}

/// A call's `Direction` (`inbound`, `outbound-api`, `outbound-dial`...).
/// The voice hook is, by definition, an incoming call asking what to do:
/// there (`is_voice_hook`) a missing or unknown direction reads inbound.
/// An unknown one is named.
pub fn call_direction(
    value: Option<&str>,
    is_voice_hook: bool,
    anomalies: &mut Vec<String>,
) -> Option<Direction> {
    match normalized(value).as_str() {
        "inbound" => Some(Direction::Inbound),
        d if d.starts_with("outbound") => Some(Direction::Outbound),
        "" => is_voice_hook.then_some(Direction::Inbound),
        other => {
            let shown: String = other.chars().take(40).collect();
            anomalies.push(format!("Direction: {shown:?} is not a known direction"));
            is_voice_hook.then_some(Direction::Inbound)
        }
    }
}

/// A status as matched: trimmed and lower-case (stored as it came).
pub fn normalized(value: Option<&str>) -> String {
    value.unwrap_or("").trim().to_ascii_lowercase()
}

/// A duration in seconds as stored: a non-negative number DynamoDB can
/// store (any other stays text, on the event only).
pub fn seconds(value: Option<&str>) -> Option<&str> {
    let value = value?.trim();
    value
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .filter(|_| is_storable_number(value))
        .map(|_| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_sid_is_required_printable_and_bounded() {
        assert_eq!(call_sid(Some(" CA1 "), 128).unwrap(), "CA1");
        for bad in [None, Some("  "), Some("CA 1"), Some("CA\u{e9}")] {
            assert_eq!(
                call_sid(bad, 128).unwrap_err().field.as_deref(),
                Some("CallSid")
            );
        }
        assert!(call_sid(Some(&"C".repeat(129)), 128).is_err());
    }

    #[test]
    fn a_caller_name_is_trimmed_and_bounded_and_a_direction_read_around() {
        let mut anomalies = Vec::new();
        assert_eq!(
            caller_name(Some(" Ann "), 256, &mut anomalies).as_deref(),
            Some("Ann")
        );
        assert_eq!(caller_name(Some("  "), 256, &mut anomalies), None);
        assert!(anomalies.is_empty());
        assert_eq!(
            caller_name(Some(&"a".repeat(257)), 256, &mut anomalies),
            None
        );
        assert_eq!(anomalies.len(), 1);
        let mut anomalies = Vec::new();
        assert_eq!(
            call_direction(Some("outbound-dial"), false, &mut anomalies),
            Some(Direction::Outbound)
        );
        assert_eq!(
            call_direction(None, true, &mut anomalies),
            Some(Direction::Inbound)
        );
        assert_eq!(call_direction(None, false, &mut anomalies), None);
        assert!(anomalies.is_empty());
        assert_eq!(
            call_direction(Some("sideways"), true, &mut anomalies),
            Some(Direction::Inbound)
        );
        assert_eq!(
            call_direction(Some("sideways"), false, &mut anomalies),
            None
        );
        assert_eq!(anomalies.len(), 2);
    }

    #[test]
    fn a_repeated_name_is_read_as_its_first_value_and_named() {
        let form = Form::parse(b"A=1&B=2&A=3&A=4&C=&B=5");
        assert_eq!(form.get("A"), Some("1"));
        assert_eq!(form.get("B"), Some("2"));
        assert_eq!(form.get("C"), Some(""));
        assert_eq!(form.present("C"), None);
        assert_eq!(form.get("D"), None);
        assert_eq!(form.repeated, vec!["A".to_string(), "B".to_string()]);
        assert_eq!(
            form.pairs().collect::<Vec<_>>(),
            vec![("A", "1"), ("B", "2"), ("C", "")]
        );
    }

    #[test]
    fn the_part_read_is_a_gets_query_or_a_posts_form_body() {
        let get = form_part(true, "a=1", b"b=2", None, "Twilio").unwrap();
        assert_eq!(get, (FormPart::Query("a=1"), vec![]));
        let post = form_part(false, "a=1", b"b=2", None, "Twilio").unwrap();
        assert_eq!(post, (FormPart::Body("b=2"), vec![]));
        let (part, anomalies) = form_part(false, "a=1", b"", None, "Twilio").unwrap();
        assert_eq!(part, FormPart::Query("a=1"));
        assert_eq!(anomalies.len(), 1);
        let (_, anomalies) = form_part(false, "", b"b=2", Some("text/plain"), "Twilio").unwrap();
        assert!(anomalies[0].starts_with("Content-Type: "));
        let json = form_part(false, "", br#"{"a":1}"#, None, "Twilio").unwrap_err();
        assert_eq!(
            json.to_string(),
            "body: is JSON; Twilio sends form parameters"
        );
        let labelled = form_part(false, "", b"a=1", Some("application/json"), "Twilio");
        assert!(labelled
            .unwrap_err()
            .to_string()
            .contains("(Twilio form parameters)"));
        assert!(form_part(false, "", b"a=\xff", None, "Twilio").is_err());
    }

    #[test]
    fn key_parts_seconds_and_statuses() {
        let mut anomalies = Vec::new();
        assert_eq!(key_part(" CA1 ", "CallSid", 8, &mut anomalies), "CA1");
        assert!(anomalies.is_empty());
        assert!(key_part("a#b", "X", 8, &mut anomalies).starts_with("h-"));
        assert!(key_part("123456789", "X", 8, &mut anomalies).starts_with("h-"));
        assert_eq!(anomalies.len(), 2);
        assert_eq!(seconds(Some(" 42 ")), Some("42"));
        assert_eq!(seconds(Some("-1")), None);
        assert_eq!(seconds(Some("NaN")), None);
        assert_eq!(seconds(None), None);
        assert_eq!(normalized(Some(" No-Answer ")), "no-answer");
    }
}
