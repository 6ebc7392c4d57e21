//! Property tests over every provider parser and the credential checks:
//! arbitrary input never panics and is either read or not read with a
//! reason (kept as an unrecognized delivery); valid generated payloads come out as the normalized fields they
//! carry; a signature holds for its own body and time only. The case count
//! is bounded so they run in seconds within `make test`.

use crate::auth::SharedSecret;
use crate::phone::{self, PhoneNumber};
use crate::providers::twilio;
use crate::providers::voxtelesys::{self, CallParams, Hook};
use crate::providers::{retell, salpre, zonitel, zonitel_sms, ReadError};
use crate::signature::{self, SignatureError, MAX_SKEW_MS};
use crate::time::Timestamp;
use proptest::prelude::*;
use serde_json::{json, Value};

const NOW_MS: i64 = 1_795_449_082_000;

fn now() -> Timestamp {
    Timestamp::from_millisecond(NOW_MS).unwrap()
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Read, or not read with a reason to keep with the delivery.
fn read_or_reason<T>(result: &Result<T, ReadError>) -> Result<(), TestCaseError> {
    if let Err(error) = result {
        prop_assert!(!error.problem.trim().is_empty(), "{:?}", error);
        prop_assert!(error.field.as_ref().is_none_or(|f| !f.is_empty()));
    }
    Ok(())
}

/// Every provider parser, whole path from bytes to normalized event.
fn parse_everything(body: &[u8]) -> Result<(), TestCaseError> {
    let text = String::from_utf8_lossy(body);
    read_or_reason(
        &zonitel::parse_incoming_call(body)
            .and_then(|c| zonitel::incoming_call_event(&c, &text, now())),
    )?;
    read_or_reason(
        &zonitel_sms::parse_notification(body)
            .and_then(|n| zonitel_sms::sms_delivery(&n, &text, now())),
    )?;
    read_or_reason(
        &salpre::parse_delivery(body).and_then(|d| salpre::map_delivery(&d, &text, now(), 30)),
    )?;
    read_or_reason(&retell::parse_inbound(body))?;
    for hook in Hook::ALL {
        read_or_reason(&voxtelesys::parse_callback(
            hook,
            CallParams::from_form(body),
            &text,
            now(),
        ))?;
    }
    for hook in twilio::Hook::ALL {
        for is_post in [true, false] {
            let inbound = twilio::Inbound {
                hook,
                is_post,
                query: &text,
                body,
                content_type: None,
            };
            read_or_reason(&twilio::read(&inbound, now(), 30))?;
        }
    }
    Ok(())
}

/// Any JSON value, a few levels deep: reaches further into the parsers
/// than random bytes, which are almost never JSON.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        ".{0,20}".prop_map(Value::String),
        "\\+?[0-9 ()-]{0,18}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(field_name(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Names the parsers look for, and others.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "caller_id_name",
            "caller_id_number",
            "destination_number",
            "status",
            "data",
            "id",
            "direction",
            "from",
            "to",
            "messageText",
            "medias",
            "segments",
            "event_type",
            "timestamp_utc",
            "payload",
            "call_id",
            "call",
            "transcript",
            "type",
            "error_message",
            "is_test",
            "event",
            "call_inbound",
            "from_number",
            "to_number",
        ])
        .prop_map(str::to_string),
        "[a-z_]{1,8}",
    ]
}

/// A valid E.164 number (country code 1, area code and exchange 2-9).
fn e164() -> impl Strategy<Value = String> {
    ("[2-9][0-9]{2}", "[2-9][0-9]{2}", "[0-9]{4}").prop_map(|(a, b, c)| format!("+1{a}{b}{c}"))
}

/// A number as people write it, with its E.164 form.
fn written_number() -> impl Strategy<Value = (String, String)> {
    (e164(), 0..4usize).prop_map(|(e164, style)| {
        let d = &e164[2..];
        let written = match style {
            0 => e164.clone(),
            1 => format!("+1 ({}) {}-{}", &d[..3], &d[3..6], &d[6..]),
            2 => format!("001{d}"),
            _ => format!("{}.{}.{}", &d[..3], &d[3..6], &d[6..]),
        };
        (written, e164)
    })
}

/// A JSON value as text, most often of a shape some parser wants: phone
/// numbers, ids, small integers, floats, nulls, flags, lists, and objects of
/// the parsers' own field names (keys may repeat: the text is built by hand).
fn loose_json() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        (-3i64..1 << 40).prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        Just("18446744073709551616".to_string()),
        Just("-0".to_string()),
        any::<f64>().prop_map(|n| json!(n).to_string()),
        Just("1.0".to_string()),
        ".{0,12}".prop_map(|s| json!(s).to_string()),
        "\\+1[2-9][0-9]{9}".prop_map(|s| json!(s).to_string()),
        prop::sample::select(vec![
            "\"inbound\"",
            "\"outbound\"",
            "\"call_ended\"",
            "\"x\\u00e9\""
        ])
        .prop_map(str::to_string),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((field_name(), inner), 0..8).prop_map(|fields| {
                let fields: Vec<String> = fields
                    .into_iter()
                    .map(|(name, value)| format!("{}: {value}", json!(name)))
                    .collect();
                format!("{{{}}}", fields.join(", "))
            }),
        ]
    })
}

/// The fields of a valid object of each shape `parse_json` reads (and none).
const VALID_FIELDS: &[&str] = &[
    "",
    r#""caller_id_name": "Ann", "caller_id_number": "+14155552671", "destination_number": "+18339664835""#,
    r#""status": "delivered", "data": {"id": "m1", "segments": 2, "direction": "outbound", "messageText": "hi", "from": "+14155552671", "to": "+18339664835", "medias": ["u"]}, "message": null"#,
    r#""call_id": 17, "from": "+14155552671", "to": "+18339664835", "direction": "inbound", "source": "s""#,
    r#""call_id": " c-9 ", "transcript": [{"type": "customer", "message": "yes", "utc_timestamp": 1760084505}, {"type": "ai", "utc_timestamp": "12"}]"#,
    r#""call": {"id": 5, "from": "+14155552671"}, "type": "ai", "transcript": "hello", "timestamp_utc": "111111""#,
    r#""call": {"id": "x"}, "error_message": "boom""#,
    r#""event_type": "call_ended", "timestamp_utc": 1760084505, "payload": {"call_id": 1, "transcript": []}, "is_test": true"#,
    r#""event": "call_inbound", "call_inbound": {"from_number": "+14155552671", "to_number": "+18339664835"}"#,
];

/// The shapes of salpre's and retell's private envelopes.
#[derive(Debug, PartialEq, serde::Deserialize)]
#[allow(dead_code)]
struct SalpreEnvelope {
    event_type: String,
    timestamp_utc: i64,
    payload: serde_json::Map<String, Value>,
    #[serde(default)]
    is_test: Option<bool>,
}

#[derive(Debug, PartialEq, serde::Deserialize)]
#[allow(dead_code)]
struct RetellEnvelope {
    event: String,
    #[serde(default)]
    call_inbound: Option<Value>,
}

/// `parse_json`'s direct parse gives exactly what the parse through a
/// `Value` gives, value or error, for `T`.
fn same_as_checked<T>(body: &str) -> Result<(), TestCaseError>
where
    T: serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let direct = crate::providers::parse_json::<T>(body.as_bytes());
    let checked = crate::providers::parse_json_checked::<T>(body.as_bytes());
    prop_assert_eq!(direct, checked, "{}", body);
    // Salpre's payloads are read from a `Value` by reference first: what
    // that accepts must be what reading it by value gives.
    if let Ok(value) = serde_json::from_str::<Value>(body) {
        if let Ok(by_ref) = T::deserialize(&value) {
            prop_assert_eq!(
                Some(by_ref),
                serde_json::from_value::<T>(value).ok(),
                "{}",
                body
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parsing_json_directly_changes_nothing(
        base in prop::sample::select(VALID_FIELDS),
        before in any::<bool>(),
        fields in prop::collection::vec((field_name(), loose_json()), 0..6),
        extra in prop::collection::vec(("[a-z_]{1,6}", loose_json()), 0..3),
        space in prop::sample::select(vec!["", " ", "\n\t", "\u{c}"]),
    ) {
        // Valid fields of one shape, with random ones (maybe repeating a
        // name) before or after them.
        let mut fields: Vec<String> = fields
            .into_iter()
            .chain(extra)
            .map(|(name, value)| format!("{}: {value}", json!(name)))
            .collect();
        if !base.is_empty() {
            fields.insert(if before { fields.len() } else { 0 }, base.to_string());
        }
        let body = format!("{space}{{{}}}{space}", fields.join(", "));
        same_as_checked::<zonitel::IncomingCall>(&body)?;
        same_as_checked::<zonitel_sms::SmsNotification>(&body)?;
        same_as_checked::<SalpreEnvelope>(&body)?;
        same_as_checked::<RetellEnvelope>(&body)?;
        same_as_checked::<Value>(&body)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_are_refused_with_4xx(body in prop::collection::vec(any::<u8>(), 0..512)) {
        parse_everything(&body)?;
    }

    #[test]
    fn arbitrary_json_never_panics_and_is_refused_with_4xx(value in any_json()) {
        parse_everything(value.to_string().as_bytes())?;
    }

    #[test]
    fn arbitrary_form_pairs_never_panic(
        pairs in prop::collection::vec((
            prop_oneof![
                prop::sample::select(vec!["CallSid", "From", "To", "CallStatus", "Direction",
                    "CallerName", "DialCallStatus", "DialCallDuration", "RecordingUrl",
                    "RecordingDuration", "Vars", ""]).prop_map(str::to_string),
                ".{0,6}",
            ],
            ".{0,24}",
        ), 0..10)
    ) {
        let form: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        parse_everything(form.as_bytes())?;
    }

    #[test]
    fn the_query_without_its_token_is_the_decoding_filters(
        pieces in prop::collection::vec(prop::sample::select(vec![
            "token", "tok%65n", "%74oken", "Token", "tokens", "to+ken", "", "=", "&", "&&",
            "a", "+", "%", "%7", "%zz", "x=y", "é", "%C3%A9", "token=",
        ]), 0..10),
    ) {
        let query = pieces.concat();
        // What it replaced: every pair's name decoded and compared.
        let decoded: Vec<&str> = query
            .split('&')
            .filter(|pair| {
                let name = pair.split('=').next().unwrap_or("");
                form_urlencoded::parse(name.as_bytes())
                    .next()
                    .is_none_or(|(k, _)| k != "token")
            })
            .collect();
        prop_assert_eq!(voxtelesys::without_token(&query), decoded.join("&"), "{}", query);
    }

    #[test]
    fn zonitel_calls_round_trip(
        (from_written, from) in written_number(),
        (to_written, to) in written_number(),
        name in prop::option::of("[A-Za-z .'-]{0,40}"),
    ) {
        let body = json!({"caller_id_name": name, "caller_id_number": from_written,
            "destination_number": to_written, "added_later": [1]}).to_string();
        let call = zonitel::parse_incoming_call(body.as_bytes()).unwrap();
        let event = zonitel::incoming_call_event(&call, &body, now()).unwrap();
        prop_assert_eq!(event.from.as_ref().unwrap().as_str(), from.as_str());
        prop_assert_eq!(event.to.as_ref().unwrap().as_str(), to.as_str());
        let name = name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        prop_assert_eq!(event.caller_name, name);
        prop_assert_eq!(event.raw, body);
    }

    #[test]
    fn zonitel_sms_round_trips(
        id in "[a-f0-9-]{8,36}",
        status in prop::sample::select(vec!["received", "sent", "delivered", "failed"]),
        (from_written, from) in written_number(),
        (_, to) in written_number(),
        text in ".{0,160}",
        segments in 1u32..10,
    ) {
        let direction = if status == "received" { "inbound" } else { "outbound" };
        let body = json!({"status": status, "message": "m", "data": {"id": id,
            "segments": segments, "direction": direction, "messageText": text,
            "from": from_written, "to": to, "medias": []}}).to_string();
        let notification = zonitel_sms::parse_notification(body.as_bytes()).unwrap();
        let delivery = zonitel_sms::sms_delivery(&notification, &body, now()).unwrap();
        prop_assert_eq!(&delivery.event.provider_id, &id);
        prop_assert_eq!(delivery.event.kind.as_str(), status);
        prop_assert_eq!(delivery.event.from.as_ref().unwrap().as_str(), from.as_str());
        prop_assert_eq!(delivery.event.to.as_ref().unwrap().as_str(), to.as_str());
        prop_assert_eq!(delivery.event.direction.unwrap().as_str(), direction);
        prop_assert_eq!(delivery.segments, Some(segments));
        prop_assert!(!delivery.status_contradicts_direction());
    }

    #[test]
    fn salpre_lifecycles_round_trip(
        event_type in prop::sample::select(vec!["call_initiated", "call_ringing", "call_answered"]),
        call_id in prop_oneof!["[A-Za-z0-9_-]{1,40}".prop_map(|s| json!(s)), (1u64..1 << 53).prop_map(|n| json!(n))],
        seconds_before in 0i64..30 * 86_400,
        (from_written, from) in written_number(),
        (_, to) in written_number(),
        inbound in any::<bool>(),
        is_test in any::<bool>(),
    ) {
        let direction = if inbound { "inbound" } else { "outbound" };
        let ts = NOW_MS / 1000 - seconds_before;
        let body = json!({"event_type": event_type, "timestamp_utc": ts, "is_test": is_test,
            "payload": {"call_id": call_id, "from": from_written, "to": to, "direction": direction}}).to_string();
        let delivery = salpre::parse_delivery(body.as_bytes()).unwrap();
        let mapped = salpre::map_delivery(&delivery, &body, now(), 30).unwrap();
        let expected_id = match &call_id { Value::String(s) => s.clone(), other => other.to_string() };
        let call = mapped.call.unwrap();
        prop_assert!(call.call_id.ends_with(&expected_id), "{} vs {}", call.call_id, expected_id);
        prop_assert_eq!(mapped.event.kind.as_str(), event_type);
        prop_assert_eq!(mapped.event.occurred_at.as_second(), ts);
        prop_assert_eq!(mapped.event.is_test, is_test);
        prop_assert_eq!(mapped.event.from.as_ref().unwrap().as_str(), from.as_str());
        prop_assert_eq!(mapped.event.to.as_ref().unwrap().as_str(), to.as_str());
        prop_assert_eq!(mapped.event.direction.unwrap().as_str(), direction);
    }

    #[test]
    fn voxtelesys_params_round_trip(
        sid in "[A-Za-z0-9-]{1,34}",
        (from_written, from) in written_number(),
        (to_written, to) in written_number(),
        status in prop::sample::select(vec!["ringing", "in-progress", "completed", "no-answer", "busy"]),
        get in any::<bool>(),
    ) {
        let form: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("CallSid", &sid)
            .append_pair("From", &from_written)
            .append_pair("To", &to_written)
            .append_pair("CallStatus", status)
            .append_pair("Direction", "inbound")
            .append_pair("Unknown", "kept out")
            .finish();
        let params = CallParams::from_form(form.as_bytes());
        let hook = if get { Hook::Voice } else { Hook::Status };
        let callback = voxtelesys::parse_callback(hook, params, &form, now()).unwrap();
        prop_assert_eq!(&callback.event.provider_id, &sid);
        prop_assert_eq!(callback.event.from.as_ref().unwrap().as_str(), from.as_str());
        prop_assert_eq!(callback.event.to.as_ref().unwrap().as_str(), to.as_str());
        let kind = if get { "voice".to_string() } else { format!("status:{status}") };
        prop_assert_eq!(callback.event.kind, kind);
    }

    #[test]
    fn twilio_signatures_hold_for_their_own_url_and_parameters_only(
        token in "[a-f0-9]{32}",
        path in "/[a-z-]{1,12}",
        pairs in prop::collection::vec(("[A-Za-z0-9]{1,10}", ".{0,12}"), 0..8),
        tamper in any::<prop::sample::Index>(),
    ) {
        use twilio::signature::{form_params, sign, verify, SignatureError, SignedRequest};
        let url = format!("https://hooks.example.com{path}?a=1");
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs.iter())
            .finish();
        let signed = sign(&token, &url, &form_params(body.as_bytes()));
        let request = SignedRequest { url: &url, is_post: true, body: body.as_bytes() };
        prop_assert_eq!(verify(Some(&token), Some(&signed), &request), Ok(()));
        // Reversed order: the same signature.
        let reversed: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs.iter().rev())
            .finish();
        let request = SignedRequest { body: reversed.as_bytes(), ..request };
        prop_assert_eq!(verify(Some(&token), Some(&signed), &request), Ok(()));
        // Any value changed: refused.
        if !pairs.is_empty() {
            let mut changed = pairs.clone();
            let i = tamper.index(changed.len());
            changed[i].1.push('x');
            let body: String = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(changed.iter())
                .finish();
            let request = SignedRequest { body: body.as_bytes(), ..request };
            prop_assert_eq!(
                verify(Some(&token), Some(&signed), &request),
                Err(SignatureError::Mismatch)
            );
        }
    }

    #[test]
    fn retell_requests_round_trip(
        (from_written, from) in written_number(),
        (to_written, to) in written_number(),
        agent in "[a-z0-9_]{0,20}",
    ) {
        let body = json!({"event": "call_inbound", "call_inbound": {"agent_id": agent,
            "from_number": from_written, "to_number": to_written, "metadata": {"x": 1}}}).to_string();
        let call = retell::parse_inbound(body.as_bytes()).unwrap();
        prop_assert_eq!(call.from.as_ref().unwrap().as_str(), from.as_str());
        prop_assert_eq!(call.to.as_ref().unwrap().as_str(), to.as_str());
    }

    #[test]
    fn phone_parsing_never_panics_and_masks_all_but_four(input in ".{0,40}") {
        if let Ok(number) = PhoneNumber::parse(&input) {
            let masked = number.masked();
            let digits = number.digits();
            prop_assert!(masked.ends_with(&digits[digits.len() - 4..]));
            prop_assert_eq!(masked.chars().filter(char::is_ascii_digit).count(), 4);
        }
    }

    #[test]
    fn the_tolerant_phone_reader_keeps_keys_safe_and_e164_valid(
        input in prop_oneof![
            ".{0,60}",
            "[ +0-9#%().-]{0,20}",
            "(sip|SIP|tel):[+0-9a-z@.#;=]{0,30}",
            "[A-Za-z0-9 #\u{0}-\u{1f}\u{202a}-\u{202e}]{0,12}",
        ],
    ) {
        let Some(number) = PhoneNumber::read(&input) else {
            let trimmed = input.trim_matches(|c: char| c.is_whitespace() || phone::is_unsafe_char(c));
            prop_assert!(trimmed.is_empty() || phone::is_withheld_marker(trimmed), "{:?}", input);
            return Ok(());
        };
        let key = number.as_str();
        prop_assert!(!key.is_empty());
        prop_assert!(!key.contains('#'), "{:?}", key);
        prop_assert!(!key.chars().any(phone::is_unsafe_char), "{:?}", key);
        prop_assert!(key.chars().count() <= phone::MAX_KEY_CHARS);
        prop_assert!(input.starts_with(number.original()));
        match number.e164() {
            Some(e164) => {
                prop_assert_eq!(e164, key);
                prop_assert_eq!(PhoneNumber::parse(e164).map(|n| n.to_string()), Ok(e164.to_string()));
                prop_assert_eq!(PhoneNumber::read(e164), Some(number.clone()));
            }
            None => prop_assert!(PhoneNumber::parse(&input).is_err(), "{:?}", input),
        }
        let masked = number.masked();
        let digits: Vec<char> = number.digits().chars().collect();
        let tail: String = digits[digits.len().saturating_sub(4)..].iter().collect();
        prop_assert!(masked.ends_with(&tail));
        prop_assert_eq!(masked.chars().count(), digits.len() + usize::from(number.is_e164()));
    }

    #[test]
    fn a_zonitel_call_is_read_whatever_its_caller_and_name(
        caller in any_json(),
        name in any_json(),
        missing in any::<bool>(),
    ) {
        let mut body = json!({"caller_id_name": name, "destination_number": "+18339664835"});
        if !missing {
            body["caller_id_number"] = caller;
        }
        let body = body.to_string();
        let call = zonitel::parse_incoming_call(body.as_bytes()).unwrap();
        let event = zonitel::incoming_call_event(&call, &body, now()).unwrap();
        prop_assert_eq!(event.to.as_ref().map(|n| n.as_str()), Some("+18339664835"));
        if let Some(from) = &event.from {
            prop_assert!(!from.as_str().contains('#'));
        } else {
            prop_assert!(!event.anomalies.is_empty(), "a withheld caller is named");
        }
        if let Some(name) = &event.caller_name {
            prop_assert!(name.chars().count() <= zonitel::MAX_CALLER_NAME_CHARS);
            prop_assert!(!name.chars().any(phone::is_unsafe_char));
        }
        zonitel::incoming_call_plan(&event, 30);
    }

    #[test]
    fn a_zonitel_sms_naming_its_message_and_status_is_read(
        fields in prop::collection::vec((
            prop::sample::select(vec!["segments", "direction", "messageText", "from", "to", "medias"]),
            any_json(),
        ), 0..6),
        message in any_json(),
    ) {
        let mut data = json!({"id": "m-1"});
        for (name, value) in fields {
            data[name] = value;
        }
        let body = json!({"status": "delivered", "data": data, "message": message}).to_string();
        let notification = zonitel_sms::parse_notification(body.as_bytes()).unwrap();
        let delivery = zonitel_sms::sms_delivery(&notification, &body, now()).unwrap();
        prop_assert_eq!(delivery.event.provider_id.as_str(), "m-1");
        prop_assert_eq!(delivery.status_name(), "delivered");
        prop_assert!(delivery.segments != Some(0));
        zonitel_sms::sms_plan(&delivery, 30);
    }

    #[test]
    fn a_signature_holds_for_its_body_and_time_only(
        key in prop::collection::vec(any::<u8>(), 1..64),
        body in prop::collection::vec(any::<u8>(), 0..256),
        other in prop::collection::vec(any::<u8>(), 0..256),
        skew in -MAX_SKEW_MS..=MAX_SKEW_MS,
        beyond in 1i64..1_000_000_000,
        signed_ms in 1_600_000_000_000i64..1_900_000_000_000,
    ) {
        let header = signature::sign(&key, &body, signed_ms);
        let at = |ms: i64| Timestamp::from_millisecond(ms).unwrap();
        prop_assert_eq!(signature::verify(&key, &header, &body, at(signed_ms + skew)), Ok(()));
        if other != body {
            prop_assert_eq!(
                signature::verify(&key, &header, &other, at(signed_ms)),
                Err(SignatureError::Mismatch)
            );
        }
        for now in [signed_ms + MAX_SKEW_MS + beyond, signed_ms - MAX_SKEW_MS - beyond] {
            prop_assert_eq!(
                signature::verify(&key, &header, &body, at(now)),
                Err(SignatureError::Stale)
            );
        }
        let moved = signature::sign(&key, &body, signed_ms + 1).replace(
            &format!("v={}", signed_ms + 1), &format!("v={signed_ms}"));
        prop_assert_eq!(
            signature::verify(&key, &moved, &body, at(signed_ms)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn arbitrary_signature_headers_are_refused(header in ".{0,120}", body in ".{0,64}") {
        let result = signature::verify(b"key", &header, body.as_bytes(), now());
        prop_assert!(result.is_err());
    }

    #[test]
    fn a_shared_secret_matches_itself_only(
        secret in "[!-~]{1,40}",
        candidate in "[!-~]{0,40}",
    ) {
        let check = SharedSecret::new(Some(&secret));
        let header = format!("Bearer {candidate}");
        let by_header = check.verify(Some(&header), None);
        let by_query = check.verify(None, Some(&candidate));
        for result in [by_header, by_query] {
            if candidate == secret {
                prop_assert!(result.is_ok());
            } else {
                let error = result.unwrap_err().to_string();
                prop_assert!(!error.contains(&secret) || secret.len() < 4);
            }
        }
    }
}
