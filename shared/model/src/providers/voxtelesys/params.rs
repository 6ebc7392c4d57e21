//! Reading a callback's parameters from plain request parts: a POST's form
//! body or a GET's query string, read the same way. Repeated parameters are
//! read as their first value (the repeats named); names Voxtelesys does not
//! document are ignored (kept in the raw payload).

use crate::auth::TOKEN_QUERY_PARAM;
use crate::providers::form::{form_part, FormPart};
use crate::providers::ReadError;
use std::borrow::Cow;

/// The request method, as far as a callback cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// A request to `/voxtelesys/{hook}` as plain parts, already checked for
/// method, size and credentials.
#[derive(Clone, Copy, Debug)]
pub struct Inbound<'a> {
    pub method: Method,
    /// The request path; its last segment names the hook.
    pub path: &'a str,
    /// The raw query string (without `?`), `""` when there is none.
    pub query: &'a str,
    pub body: &'a [u8],
    /// The Content-Type header as sent, if any.
    pub content_type: Option<&'a str>,
}

/// Declares [`CallParams`] from one list of (wire name, field), so reading
/// and looking up a parameter by its wire name cannot drift apart.
macro_rules! call_params {
    ($($wire:literal => $field:ident),* $(,)?) => {
        /// Every parameter Voxtelesys sends, as it sent it (each `None` when
        /// absent): the documented basic and geographic parameters, plus the
        /// Twilio names it mirrors for Dial, Record and Gather.
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct CallParams {
            $(pub $field: Option<String>,)*
            /// Documented parameters sent more than once (the first value
            /// is read).
            pub repeated: Vec<String>,
        }

        impl CallParams {
            /// The wire names, in the order Voxtelesys documents them.
            pub const NAMES: &'static [&'static str] = &[$($wire),*];

            fn slot(&mut self, name: &str) -> Option<&mut Option<String>> {
                match name {
                    $($wire => Some(&mut self.$field),)*
                    _ => None,
                }
            }

            /// A parameter by its wire name (`CallSid`), if it was sent.
            pub fn get(&self, name: &str) -> Option<&str> {
                match name {
                    $($wire => self.$field.as_deref(),)*
                    _ => None,
                }
            }
        }
    };
}

call_params! {
    "CallSid" => call_sid,
    "AccountID" => account_id,
    "TrunkID" => trunk_id,
    "From" => from,
    "To" => to,
    "CallStatus" => call_status,
    "ApiVersion" => api_version,
    "Direction" => direction,
    "CallerName" => caller_name,
    "ParentCallSid" => parent_call_sid,
    "Vars" => vars,
    "FromCity" => from_city,
    "FromState" => from_state,
    "FromZip" => from_zip,
    "FromCountry" => from_country,
    "ToCity" => to_city,
    "ToState" => to_state,
    "ToZip" => to_zip,
    "ToCountry" => to_country,
    "DialCallStatus" => dial_call_status,
    "DialCallSid" => dial_call_sid,
    "DialCallDuration" => dial_call_duration,
    "RecordingUrl" => recording_url,
    "RecordingSid" => recording_sid,
    "RecordingStatus" => recording_status,
    "RecordingDuration" => recording_duration,
    "Digits" => digits,
    "SpeechResult" => speech_result,
}

impl CallParams {
    /// Reads decoded name/value pairs. A documented parameter that appears
    /// more than once keeps its first value; the repeats are named in
    /// [`CallParams::repeated`] (the raw payload keeps them all). Names
    /// Voxtelesys does not document are ignored.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (Cow<'a, str>, Cow<'a, str>)>) -> Self {
        let mut params = CallParams::default();
        let mut repeated: Vec<String> = Vec::new();
        for (name, value) in pairs {
            if let Some(slot) = params.slot(&name) {
                if slot.is_some() {
                    if !repeated.iter().any(|r| *r == name) {
                        repeated.push(name.into_owned());
                    }
                } else {
                    *slot = Some(value.into_owned());
                }
            }
        }
        params.repeated = repeated;
        params
    }

    /// Parses an `application/x-www-form-urlencoded` body or query string.
    pub fn from_form(form: &[u8]) -> Self {
        Self::from_pairs(form_urlencoded::parse(form))
    }
}

/// Reads the parameters of a request: a POST's form body (read as a form
/// whatever its Content-Type says, named when it says something else,
/// except JSON or multipart, which are not Voxtelesys's and are refused),
/// or a GET's query string. Returns them with the raw payload to keep (the
/// body, or the query string without the `token` parameter: a secret is
/// never stored) and what was odd.
pub fn read_inbound(inbound: &Inbound) -> Result<(CallParams, String, Vec<String>), ReadError> {
    let (part, anomalies) = form_part(
        inbound.method == Method::Get,
        inbound.query,
        inbound.body,
        inbound.content_type,
        "Voxtelesys",
    )?;
    Ok(match part {
        FormPart::Query(query) => (
            CallParams::from_form(query.as_bytes()),
            without_token(query),
            anomalies,
        ),
        FormPart::Body(text) => (
            CallParams::from_form(text.as_bytes()),
            text.to_string(),
            anomalies,
        ),
    })
}

/// The query string without its `token` pairs, every other byte kept.
pub fn without_token(query: &str) -> String {
    let mut kept = String::with_capacity(query.len());
    let mut first = true;
    for pair in query.split('&') {
        let name = pair.split('=').next().unwrap_or("");
        // Only a name with a `%` escape needs decoding to be compared.
        let is_token = if name.contains('%') {
            form_urlencoded::parse(name.as_bytes())
                .next()
                .is_some_and(|(k, _)| k == TOKEN_QUERY_PARAM)
        } else {
            name == TOKEN_QUERY_PARAM
        };
        if !is_token {
            if !first {
                kept.push('&');
            }
            kept.push_str(pair);
            first = false;
        }
    }
    kept
}
