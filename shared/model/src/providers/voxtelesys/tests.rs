use super::*;
use crate::attribute::AttributeValue;
use crate::config::{parse_document, NumberConfig};
use crate::event::Direction;
use crate::store::keys::{PK, SK};
use crate::store::plan::{
    is_storable, item_bytes, n, s, WritePlan, ANOMALIES, MAX_ITEM_BYTES, MAX_TRANSACTION_BYTES,
};

const VOICE: &str = "CallSid=CA1&AccountID=AC9&TrunkID=T1&From=%2B14155552671&To=%2B18339664835&CallStatus=ringing&ApiVersion=v1&Direction=inbound&CallerName=John+Doe&FromCity=San+Francisco&Vars=%7B%22crm%22%3A7%7D";

fn at() -> Timestamp {
    Timestamp::from_millisecond(1_795_449_082_000).unwrap()
}

fn callback(hook: Hook, form: &str) -> Result<Callback, ReadError> {
    let params = CallParams::from_form(form.as_bytes());
    parse_callback(hook, params, form, at())
}

fn config(vox: &str) -> NumberConfig {
    parse_document(&format!(
        r#"{{"number": "+18339664835", "voxtelesys": {vox}}}"#
    ))
    .unwrap()
}

fn set_once_names(plan: &WritePlan) -> Vec<String> {
    plan.updates[0]
        .set_once
        .iter()
        .map(|(n, _)| n.clone())
        .collect()
}

#[test]
fn every_seed_parameter_is_read() {
    let form: String = CallParams::NAMES
        .iter()
        .map(|name| format!("{name}=v-{name}"))
        .collect::<Vec<_>>()
        .join("&");
    let params = CallParams::from_form(form.as_bytes());
    for name in CallParams::NAMES {
        assert_eq!(params.get(name), Some(format!("v-{name}").as_str()));
    }
    for seed_name in [
        "CallSid",
        "AccountID",
        "TrunkID",
        "From",
        "To",
        "CallStatus",
        "ApiVersion",
        "Direction",
        "CallerName",
        "ParentCallSid",
        "Vars",
        "FromCity",
        "FromState",
        "FromZip",
        "FromCountry",
        "ToCity",
        "ToState",
        "ToZip",
        "ToCountry",
    ] {
        assert!(CallParams::NAMES.contains(&seed_name), "{seed_name}");
    }
}

#[test]
fn seed_voice_request_normalizes() {
    let cb = callback(Hook::Voice, VOICE).unwrap();
    let e = &cb.event;
    assert_eq!(e.provider_id, "CA1");
    assert_eq!(e.from.as_ref().unwrap().as_str(), "+14155552671");
    assert_eq!(e.to.as_ref().unwrap().as_str(), "+18339664835");
    assert_eq!(e.caller_name.as_deref(), Some("John Doe"));
    assert_eq!(e.direction, Some(Direction::Inbound));
    assert_eq!(e.kind, "voice");
    assert_eq!(e.raw, VOICE);
    assert_eq!(cb.vars, Some(Vars::Json(serde_json::json!({"crm": 7}))));
    let plan = cb.plan(30);
    // guard, event, summary: one transaction.
    assert_eq!(plan.action_count(), 3);
    assert_eq!(plan.puts[0].item[SK], s("DELIVERY#voice"));
    assert_eq!(plan.puts[0].item[PK], s("CALL#voxtelesys#CA1"));
    let event_item = &plan.puts[1].item;
    assert_eq!(event_item["from_city"], s("San Francisco"));
    assert_eq!(event_item["account_id"], s("AC9"));
    assert_eq!(
        event_item["vars"],
        AttributeValue::M([("crm".to_string(), n(7))].into())
    );
    assert!(set_once_names(&plan).contains(&"ringing_at".to_string()));
}

#[test]
fn query_and_form_read_the_same_and_plus_is_a_space() {
    let a = CallParams::from_form(b"CallSid=CA1&From=%2B14155552671&CallerName=A+B");
    assert_eq!(a.from.as_deref(), Some("+14155552671"));
    assert_eq!(a.caller_name.as_deref(), Some("A B"));
    // An unencoded + is a space in a form, which the phone parser
    // refuses rather than guessing.
    let b = CallParams::from_form(b"From=+14155552671");
    assert_eq!(b.from.as_deref(), Some(" 14155552671"));
}

#[test]
fn repeated_parameters_read_the_first_and_are_named() {
    let params =
        CallParams::from_form(b"CallSid=CA1&To=%2B18339664835&To=%2B2&Extra=1&Extra=2&To=3");
    assert_eq!(params.to.as_deref(), Some("+18339664835"));
    assert_eq!(params.repeated, vec!["To".to_string()]);
    let form = "CallSid=CA1&From=%2B14155552671&To=%2B18339664835&To=%2B14155550100&CallStatus=ringing&CallStatus=completed";
    let cb = callback(Hook::Status, form).unwrap();
    assert_eq!(cb.event.to.as_ref().unwrap().as_str(), "+18339664835");
    assert_eq!(cb.event.kind, "status:ringing");
    assert_eq!(
        cb.event.anomalies,
        vec![
            "To: sent more than once; the first value is read".to_string(),
            "CallStatus: sent more than once; the first value is read".to_string(),
        ]
    );
    let plan = cb.plan(30);
    assert_eq!(plan.puts[1].item["raw"], s(form), "every value kept raw");
    assert_eq!(plan.puts[1].item[ANOMALIES].as_l().unwrap().len(), 2);
}

#[test]
fn token_is_never_kept_in_the_raw_query() {
    assert_eq!(
        without_token("token=s3cret&CallSid=CA1&tok%65n=x&tokens=1"),
        "CallSid=CA1&tokens=1"
    );
    assert_eq!(without_token(""), "");
}

#[test]
fn only_a_callback_without_a_call_sid_is_refused() {
    for (form, needle) in [
        (
            "From=%2B14155552671&To=%2B18339664835",
            "CallSid: is missing",
        ),
        (
            "CallSid=&From=%2B14155552671&To=%2B18339664835",
            "CallSid: is empty",
        ),
        ("CallSid=C+A&From=%2B14155552671", "CallSid: "),
        (
            "\u{feff}CallSid=CA1&From=%2B14155552671",
            "CallSid: is missing",
        ),
    ] {
        for hook in Hook::ALL {
            let err = callback(hook, form).unwrap_err();
            assert!(err.to_string().starts_with(needle), "{form}: {err}");
        }
    }
    let long = format!("CallSid={}", "C".repeat(MAX_TOKEN_CHARS + 1));
    assert!(callback(Hook::Voice, &long).is_err());
}

#[test]
fn odd_fields_are_read_around_and_named() {
    let base = "CallSid=CA1&From=%2B14155552671&To=%2B18339664835";
    let cases: &[(Hook, &str, &str)] = &[
        (
            Hook::Voice,
            "CallSid=CA1&To=%2B18339664835",
            "From: missing",
        ),
        (
            Hook::Voice,
            "CallSid=CA1&From=%2B14155552671",
            "To: missing",
        ),
        (
            Hook::Voice,
            "CallSid=CA1&From=call+me&To=%2B18339664835",
            "From: \"call me\"",
        ),
        (
            Hook::Voice,
            "CallSid=CA1&From=%2B14155552671&To=anonymous",
            "To: \"anonymous\"",
        ),
        (Hook::Status, base, "CallStatus: missing"),
        (Hook::Dial, base, "DialCallStatus: missing"),
        (Hook::Recording, base, "RecordingUrl: missing"),
    ];
    for (hook, form, needle) in cases {
        let cb = callback(*hook, form).unwrap();
        assert!(
            cb.event.anomalies.iter().any(|a| a.starts_with(needle)),
            "{form}: {:?}",
            cb.event.anomalies
        );
        assert!(cb
            .plan(30)
            .puts
            .iter()
            .all(|p| p.item.values().all(is_storable)));
    }
    let unreadable = callback(Hook::Voice, "CallSid=CA1&From=call+me&To=12").unwrap();
    let item = &unreadable.plan(30).puts[1].item;
    assert_eq!(item["from_text"], s("call me"));
    assert_eq!(item["to_text"], s("12"));
    assert_eq!(unreadable.event.kind, "voice");
    let long = format!("{base}&CallStatus={}", "x".repeat(MAX_TOKEN_CHARS + 1));
    let cb = callback(Hook::Status, &long).unwrap();
    assert!(cb.event.kind.starts_with("status:h-"));
    assert!(cb.event.anomalies[0].starts_with("CallStatus: "));
    let duration = format!("{base}&DialCallStatus=completed&DialCallDuration=abc");
    let cb = callback(Hook::Dial, &duration).unwrap();
    assert!(cb.event.anomalies[0].starts_with("DialCallDuration: "));
    assert!(!set_once_names(&cb.plan(30)).contains(&"dial_call_duration_s".to_string()));
}

#[test]
fn unknown_statuses_and_directions_are_kept_and_named() {
    let base = "CallSid=CA1&From=%2B14155552671&To=%2B18339664835";
    let cb = callback(
        Hook::Status,
        &format!("{base}&CallStatus=teleported&Direction=sideways"),
    )
    .unwrap();
    assert_eq!(cb.event.kind, "status:teleported");
    assert_eq!(cb.event.direction, None);
    assert_eq!(cb.event.anomalies.len(), 2, "{:?}", cb.event.anomalies);
    let plan = cb.plan(30);
    assert_eq!(plan.puts[1].item["call_status"], s("teleported"));
    assert_eq!(plan.puts[1].item["voxtelesys_direction"], s("sideways"));
    // The voice hook is an incoming call whatever its Direction says.
    let voice = callback(Hook::Voice, &format!("{base}&Direction=sideways")).unwrap();
    assert_eq!(voice.event.direction, Some(Direction::Inbound));
}

#[test]
fn requests_are_read_from_plain_parts() {
    let form = "CallSid=CA1&From=%2B14155552671&To=%2B18339664835&CallStatus=completed";
    let post = |body: &'static [u8], content_type: Option<&'static str>| Inbound {
        method: Method::Post,
        path: "/prod/voxtelesys/status",
        query: "token=s3cret",
        body,
        content_type,
    };
    let cb = read(
        &post(
            form.as_bytes(),
            Some("application/x-www-form-urlencoded; charset=utf-8"),
        ),
        at(),
    )
    .unwrap();
    assert_eq!(
        (cb.hook, cb.event.kind.as_str()),
        (Hook::Status, "status:completed")
    );
    assert!(cb.event.anomalies.is_empty());
    assert_eq!(cb.event.raw, form);
    assert!(read(&post(form.as_bytes(), None), at())
        .unwrap()
        .event
        .anomalies
        .is_empty());
    // Mislabelled form: read, named.
    let text = read(&post(form.as_bytes(), Some("text/plain")), at()).unwrap();
    assert!(text.event.anomalies[0].starts_with("Content-Type: "));
    // JSON (labelled or not), multipart, a BOM, not UTF-8: refused.
    for (body, content_type) in [
        (&br#"{"CallSid":"CA1"}"#[..], Some("application/json")),
        (
            &br#"{"CallSid":"CA1"}"#[..],
            Some("application/x-www-form-urlencoded"),
        ),
        (&br#"{"CallSid":"CA1"}"#[..], None),
        (form.as_bytes(), Some("multipart/form-data; boundary=x")),
        ("\u{feff}CallSid=CA1&From=%2B14155552671".as_bytes(), None),
        (&b"CallSid=CA1&From=\xff"[..], None),
    ] {
        assert!(read(&post(body, content_type), at()).is_err(), "{body:?}");
    }
    // A GET reads its query; the token is never kept.
    let get = Inbound {
        method: Method::Get,
        path: "/voxtelesys/voice",
        query: "token=s3cret&CallSid=CA9&From=%2B14155552671&To=%2B18339664835",
        body: b"",
        content_type: None,
    };
    let cb = read(&get, at()).unwrap();
    assert_eq!(cb.event.provider_id, "CA9");
    assert_eq!(
        cb.event.raw,
        "CallSid=CA9&From=%2B14155552671&To=%2B18339664835"
    );
    let unknown_hook = Inbound {
        path: "/voxtelesys/sms",
        ..get
    };
    assert_eq!(
        read(&unknown_hook, at()).unwrap_err().field.as_deref(),
        Some("path")
    );
}

/// Every item of a plan within DynamoDB's item limit, the whole within its
/// transaction limit, every value storable.
fn assert_fits(plan: &WritePlan) {
    for put in &plan.puts {
        assert!(
            item_bytes(&put.item) <= MAX_ITEM_BYTES,
            "{}",
            item_bytes(&put.item)
        );
        assert!(put.item.values().all(is_storable));
    }
    for update in &plan.updates {
        assert!(update.bytes() <= MAX_ITEM_BYTES);
    }
    assert!(plan.bytes() < MAX_TRANSACTION_BYTES);
}

#[test]
fn a_250_kb_speech_result_is_kept_in_the_raw_payload() {
    let speech = "é".repeat(125_000);
    let encoded: String = form_urlencoded::byte_serialize(speech.as_bytes()).collect();
    let form = format!("CallSid=CA1&From=%2B14155552671&To=%2B18339664835&CallStatus=completed&SpeechResult={encoded}");
    let cb = callback(Hook::Status, &form).unwrap();
    let plan = cb.plan(30);
    assert_fits(&plan);
    let event = &plan.puts[1].item;
    assert!(!event.contains_key("speech_result"));
    let anomalies = event[ANOMALIES].as_l().unwrap();
    assert!(anomalies[0]
        .as_s()
        .unwrap()
        .starts_with("speech_result: 250000 bytes"));
    // The raw payload (split when needed) holds it all.
    let raw: String = std::iter::once(event.get("raw"))
        .flatten()
        .chain(plan.puts[2..].iter().map(|p| &p.item["raw"]))
        .map(|v| v.as_s().unwrap().as_str())
        .collect();
    assert_eq!(raw, form);
}

#[test]
fn a_300_parameter_form_is_kept_whole() {
    let mut form =
        String::from("CallSid=CA1&From=%2B14155552671&To=%2B18339664835&CallStatus=ringing");
    for i in 0..300 {
        form.push_str(&format!("&Custom{i}={}", "v".repeat(3_000)));
    }
    // And every documented parameter as large as a value may be.
    for name in CallParams::NAMES.iter().skip(5) {
        form.push_str(&format!("&{name}={}", "w".repeat(60_000)));
    }
    let cb = callback(Hook::Status, &form).unwrap();
    let plan = cb.plan(30);
    assert_fits(&plan);
    assert!(plan.puts[1].item.contains_key("raw_parts"));
    let raw: String = plan.puts[2..]
        .iter()
        .map(|p| p.item["raw"].as_s().unwrap().as_str())
        .collect();
    assert_eq!(raw, form);
}

#[test]
fn withheld_caller_and_non_json_vars_are_accepted() {
    let cb = callback(
        Hook::Voice,
        "CallSid=CA1&From=anonymous&To=%2B18339664835&Vars=not+json",
    )
    .unwrap();
    assert_eq!(cb.event.from, None);
    assert_eq!(cb.vars, Some(Vars::NotJson("not json".into())));
    let plan = cb.plan(30);
    assert_eq!(plan.puts[1].item["vars_raw"], s("not json"));
    assert!(!plan.puts[1].item.contains_key("vars"));
}

fn phases(hook: Hook, form: &str) -> Vec<String> {
    let mut names = set_once_names(&callback(hook, form).unwrap().plan(30));
    names.retain(|n| n.ends_with("_at") && n != "first_seen_at");
    names
}

#[test]
fn statuses_move_the_call_forward() {
    let base = "CallSid=CA1&From=%2B14155552671&To=%2B18339664835";
    let cases: &[(&str, &str, &[&str])] = &[
        ("inbound", "queued", &["initiated_at"]),
        ("inbound", "ringing", &["ringing_at"]),
        ("inbound", "in-progress", &["in_progress_at"]),
        ("outbound-api", "in-progress", &["answered_at"]),
        ("inbound", "completed", &["ended_at"]),
        ("inbound", "no-answer", &["ended_at", "unanswered_at"]),
        ("inbound", "busy", &["ended_at", "unanswered_at"]),
        ("inbound", "Canceled", &["ended_at", "unanswered_at"]),
        ("inbound", "failed", &["failed_at"]),
        ("inbound", "teleported", &[]),
    ];
    for (direction, status, expected) in cases {
        let form = format!("{base}&Direction={direction}&CallStatus={status}");
        assert_eq!(phases(Hook::Status, &form), *expected, "{form}");
    }
    let failed = callback(
        Hook::Status,
        &format!("{base}&Direction=inbound&CallStatus=failed"),
    )
    .unwrap()
    .plan(30);
    assert!(set_once_names(&failed).contains(&"error_message".to_string()));
    // An unknown status is kept as it came, on its event.
    let odd = callback(Hook::Status, &format!("{base}&CallStatus=Teleported")).unwrap();
    assert_eq!(odd.event.kind, "status:Teleported");
    assert_eq!(odd.plan(30).puts[1].item["call_status"], s("Teleported"));
}

#[test]
fn dial_outcome_answers_or_marks_unanswered() {
    let base = "CallSid=CA1&From=%2B14155552671&To=%2B18339664835&Direction=inbound&DialCallSid=CA2&DialCallDuration=12";
    for (status, expected) in [
        ("completed", vec!["answered_at"]),
        ("answered", vec!["answered_at"]),
        ("no-answer", vec!["unanswered_at"]),
        ("busy", vec!["unanswered_at"]),
        ("failed", vec!["unanswered_at"]),
        ("canceled", vec!["unanswered_at"]),
        ("odd", vec![]),
    ] {
        let form = format!("{base}&DialCallStatus={status}");
        assert_eq!(phases(Hook::Dial, &form), expected, "{status}");
    }
    let plan = callback(Hook::Dial, &format!("{base}&DialCallStatus=no-answer"))
        .unwrap()
        .plan(30);
    assert_eq!(plan.puts[0].item[SK], s("DELIVERY#dial#no-answer#CA2"));
    let summary = &plan.updates[0].set_once;
    assert!(summary.contains(&("dial_call_duration_s".into(), n(12))));
    assert!(summary.contains(&("dial_call_sid".into(), s("CA2"))));
}

/// Found by `make fuzz`: a duration or a `Vars` number past DynamoDB's
/// range or precision, or `Vars` nested deeper than it stores, made it
/// refuse the whole write: a 503 on every retry, the call never kept.
#[test]
fn numbers_and_vars_dynamodb_cannot_store_stay_text() {
    let base = "CallSid=CA1&From=%2B14155552671&To=%2B18339664835";
    let all_storable = |plan: &WritePlan| {
        plan.puts
            .iter()
            .flat_map(|p| p.item.values())
            .all(is_storable)
            && plan.updates[0].set_once.iter().all(|(_, v)| is_storable(v))
    };
    let long = "12345678901234567890123456789012345678901";
    for (hook, form, name) in [
        (
            Hook::Dial,
            format!("{base}&DialCallStatus=completed&DialCallDuration=1e200"),
            "dial_call_duration",
        ),
        (
            Hook::Dial,
            format!("{base}&DialCallStatus=completed&DialCallDuration={long}"),
            "dial_call_duration",
        ),
        (
            Hook::Recording,
            format!("{base}&RecordingUrl=https%3A%2F%2Fr.example%2FRE1&RecordingSid=RE1&RecordingDuration=1e-200"),
            "recording_duration",
        ),
    ] {
        let plan = callback(hook, &form).unwrap().plan(30);
        assert!(all_storable(&plan), "{form}");
        assert!(
            !set_once_names(&plan).contains(&format!("{name}_s")),
            "{form}"
        );
        // Still kept, as it came, on the event.
        assert!(
            matches!(plan.puts[1].item[name], AttributeValue::S(_)),
            "{form}"
        );
    }
    let deep = format!("{}1{}", "[".repeat(40), "]".repeat(40));
    for vars in [r#"{"a":1e200}"#, r#"{"a":1e-200}"#, deep.as_str()] {
        let encoded: String = form_urlencoded::byte_serialize(vars.as_bytes()).collect();
        let form = format!("{base}&CallStatus=ringing&Vars={encoded}");
        let plan = callback(Hook::Voice, &form).unwrap().plan(30);
        assert!(all_storable(&plan), "{vars}");
        assert!(!plan.puts[1].item.contains_key("vars"), "{vars}");
        assert_eq!(plan.puts[1].item["vars_raw"], s(vars));
    }
    // Within the limits, the map as before.
    let form = format!("{base}&CallStatus=ringing&Vars=%7B%22a%22%3A1.5%7D");
    let plan = callback(Hook::Voice, &form).unwrap().plan(30);
    assert!(matches!(plan.puts[1].item["vars"], AttributeValue::M(_)));
}

#[test]
fn recording_lands_on_the_summary() {
    let form = "CallSid=CA1&From=%2B14155552671&To=%2B18339664835&RecordingUrl=https%3A%2F%2Fr.example%2FRE1&RecordingSid=RE1&RecordingStatus=completed&RecordingDuration=31";
    let plan = callback(Hook::Recording, form).unwrap().plan(30);
    let summary = &plan.updates[0].set_once;
    for expected in [
        ("recording_url", s("https://r.example/RE1")),
        ("recording_sid", s("RE1")),
        ("recording_status", s("completed")),
        ("recording_duration_s", n(31)),
    ] {
        assert!(
            summary.contains(&(expected.0.to_string(), expected.1.clone())),
            "{expected:?}"
        );
    }
    assert_eq!(plan.puts[0].item[SK], s("DELIVERY#recording#RE1#completed"));
    // Without an id, the URL (hashed) tells recordings apart.
    let no_sid = callback(
        Hook::Recording,
        "CallSid=CA1&From=%2B14155552671&To=%2B18339664835&RecordingUrl=https%3A%2F%2Fr.example%2FRE9",
    )
    .unwrap();
    let parts = no_sid.delivery_parts();
    assert_eq!(parts[1].len(), 32);
    assert_eq!(no_sid.event.kind, "recording:received");
}

#[test]
fn voice_answer_greets_and_forwards() {
    let cb = callback(Hook::Voice, VOICE).unwrap();
    let config = config(
        r#"{"greeting": "Hello <b> & \"co\"", "forward_to": ["+14155550100", "+14155550101"], "ring_timeout_s": 25}"#,
    );
    assert_eq!(
        cb.answer(Some(&config), "default"),
        CallAnswer::Forward {
            greeting: Some("Hello <b> & \"co\"".into()),
            numbers: vec!["+14155550100".into(), "+14155550101".into()],
            ring_timeout_s: 25,
        }
    );
    // A blank greeting is no greeting.
    let blank = self::config(r#"{"greeting": "  ", "forward_to": ["+14155550100"]}"#);
    assert!(matches!(
        cb.answer(Some(&blank), "default"),
        CallAnswer::Forward { greeting: None, .. }
    ));
}

#[test]
fn voice_answer_without_configuration_is_the_default_message() {
    let cb = callback(Hook::Voice, VOICE).unwrap();
    let expected = CallAnswer::HangUp {
        message: Some("Sorry".into()),
    };
    assert_eq!(cb.answer(None, "Sorry"), expected);
    let retell_only: NumberConfig =
        parse_document(r#"{"number": "+18339664835", "retell": {}}"#).unwrap();
    assert_eq!(cb.answer(Some(&retell_only), "Sorry"), expected);
    // Configured with nobody to forward to: voicemail when it is on.
    let vm = config(r#"{"voicemail": {"enabled": true, "max_length_s": 60}}"#);
    assert_eq!(
        cb.answer(Some(&vm), "Sorry"),
        CallAnswer::Voicemail {
            greeting: None,
            prompt: DEFAULT_VOICEMAIL_PROMPT.into(),
            max_length_s: 60,
        }
    );
    // ...else the greeting, if any, and a hang-up.
    let greeting_only = config(r#"{"greeting": "Closed today"}"#);
    assert_eq!(
        cb.answer(Some(&greeting_only), "Sorry"),
        CallAnswer::HangUp {
            message: Some("Closed today".into())
        }
    );
}

#[test]
fn dial_answer_is_voicemail_when_unanswered_and_on() {
    let base = "CallSid=CA1&From=%2B14155552671&To=%2B18339664835";
    let on = config(
        r#"{"forward_to": ["+14155550100"], "voicemail": {"enabled": true, "prompt": "Leave it", "max_length_s": 90}}"#,
    );
    let off = config(r#"{"forward_to": ["+14155550100"], "voicemail": {"enabled": false}}"#);
    let missed = callback(Hook::Dial, &format!("{base}&DialCallStatus=no-answer")).unwrap();
    assert_eq!(
        missed.answer(Some(&on), "d"),
        CallAnswer::Voicemail {
            greeting: None,
            prompt: "Leave it".into(),
            max_length_s: 90,
        }
    );
    let hang_up = CallAnswer::HangUp { message: None };
    assert_eq!(missed.answer(Some(&off), "d"), hang_up);
    assert_eq!(missed.answer(None, "d"), hang_up);
    let answered = callback(Hook::Dial, &format!("{base}&DialCallStatus=completed")).unwrap();
    assert_eq!(answered.answer(Some(&on), "d"), hang_up);
    let status = callback(Hook::Status, &format!("{base}&CallStatus=completed")).unwrap();
    assert_eq!(status.answer(Some(&on), "d"), CallAnswer::Nothing);
}

#[test]
fn hooks_come_from_the_last_path_segment() {
    assert_eq!(Hook::of_path("/voxtelesys/voice"), Some(Hook::Voice));
    assert_eq!(Hook::of_path("/prod/voxtelesys/dial/"), Some(Hook::Dial));
    assert_eq!(Hook::of_path("/voxtelesys/sms"), None);
    assert_eq!(Hook::of_path("/voxtelesys/"), None);
}
