use super::*;
use crate::attribute::AttributeValue;
use crate::call_answer::{CallAnswer, DEFAULT_MESSAGE, DEFAULT_VOICEMAIL_PROMPT};
use crate::config::{parse_document, NumberConfig};
use crate::providers::twilio::{read, Inbound, Reading};
use crate::store::keys::{PK, SK};

/// An incoming call as Twilio's voice URL receives it (the parameters
/// Twilio documents for a voice request, with its geographic fields).
const VOICE: &str = "CallSid=CA5f0b2c8e1a9d4b7c6e3f2a1b0c9d8e7f&AccountSid=AC0123456789abcdef0123456789abcdef&From=%2B14155552671&To=%2B18339664835&CallStatus=ringing&ApiVersion=2010-04-01&Direction=inbound&CallerName=JOHN+DOE&FromCity=SAN+FRANCISCO&FromState=CA&FromZip=94103&FromCountry=US&ToCity=&ToState=&ToZip=&ToCountry=US";
const SID: &str = "CA5f0b2c8e1a9d4b7c6e3f2a1b0c9d8e7f";

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(1_795_449_082_000 + ms).unwrap()
}

fn post(hook: Hook, form: &str) -> Result<Reading, ReadError> {
    post_at(hook, form, 0)
}

fn post_at(hook: Hook, form: &str, ms: i64) -> Result<Reading, ReadError> {
    let inbound = Inbound {
        hook,
        is_post: true,
        query: "",
        body: form.as_bytes(),
        content_type: Some("application/x-www-form-urlencoded"),
    };
    read(&inbound, at(ms), 30)
}

/// A callback of the call in `VOICE` with `extra` parameters.
fn callback(hook: Hook, extra: &str) -> Reading {
    post(hook, &format!("{VOICE}{extra}")).unwrap()
}

fn summary_value(reading: &Reading, name: &str) -> Option<AttributeValue> {
    reading.plan.updates[0]
        .set_once
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

fn event_item(reading: &Reading) -> &crate::store::plan::Item {
    reading
        .plan
        .puts
        .iter()
        .map(|p| &p.item)
        .find(|item| item.get(keys::ITEM_TYPE) == Some(&s("call_event")))
        .expect("an event item")
}

fn config(section: &str) -> NumberConfig {
    parse_document(&format!(
        r#"{{"number": "+18339664835", "voxtelesys": {section}}}"#
    ))
    .unwrap()
}

#[test]
fn an_incoming_call_is_read_into_one_event_keyed_by_its_call_sid() {
    let reading = post(Hook::Voice, VOICE).unwrap();
    let event = &reading.event;
    assert_eq!(event.provider, Provider::Twilio);
    assert_eq!(event.channel, Channel::Call);
    assert_eq!(event.provider_id, SID);
    assert_eq!(event.kind, "voice");
    assert_eq!(event.direction, Some(Direction::Inbound));
    assert_eq!(event.from.as_ref().unwrap().as_str(), "+14155552671");
    assert_eq!(event.to.as_ref().unwrap().as_str(), "+18339664835");
    assert_eq!(event.caller_name.as_deref(), Some("JOHN DOE"));
    assert_eq!(event.raw, VOICE);
    assert_eq!(event.anomalies, Vec::<String>::new());

    let item = event_item(&reading);
    assert_eq!(item[PK], s(format!("CALL#twilio#{SID}")));
    assert_eq!(item["from_city"], s("SAN FRANCISCO"));
    assert_eq!(item["account_sid"], s("AC0123456789abcdef0123456789abcdef"));
    assert_eq!(item["twilio_direction"], s("inbound"));
    assert_eq!(item["hook"], s("voice"));
    // The guard comes first: a retry collides on it and writes nothing.
    assert_eq!(reading.plan.puts[0].item[SK], s("DELIVERY#voice"));
    assert!(summary_value(&reading, "ringing_at").is_some());
    assert_eq!(
        reading.plan.updates[0]
            .set
            .iter()
            .find(|(n, _)| n == keys::GSI4PK)
            .map(|(_, v)| v.clone()),
        Some(s("OPEN#twilio_call#status"))
    );
}

#[test]
fn what_names_no_call_is_refused() {
    for (form, problem) in [
        (
            "From=%2B14155552671&To=%2B18339664835",
            "CallSid: is missing",
        ),
        ("CallSid=+&From=%2B14155552671", "CallSid: is empty"),
        (
            "CallSid=CA+1&From=%2B14155552671",
            "CallSid: must be printable",
        ),
    ] {
        let error = post(Hook::CallStatus, form).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("CallSid"), "{form}");
        assert!(error.to_string().starts_with(problem), "{form}: {error}");
    }
    let long = format!("CallSid={}", "C".repeat(MAX_TOKEN_CHARS + 1));
    assert!(post(Hook::Voice, &long).is_err());
    // JSON is not Twilio's voice request.
    let json = post(Hook::Voice, r#"{"CallSid":"CA1"}"#).unwrap_err();
    assert_eq!(
        json.to_string(),
        "body: is JSON; Twilio sends form parameters"
    );
}

#[test]
fn a_voice_get_reads_its_query_string() {
    let inbound = Inbound {
        hook: Hook::Voice,
        is_post: false,
        query: VOICE,
        body: b"",
        content_type: None,
    };
    let reading = read(&inbound, at(0), 30).unwrap();
    assert_eq!(reading.event.provider_id, SID);
    assert_eq!(reading.event.raw, VOICE);
    assert!(reading.event.anomalies.is_empty());
    // A GET reads the same on every hook (Twilio's methods are settable).
    let status = Inbound {
        hook: Hook::CallStatus,
        query: &VOICE.replace("CallStatus=ringing", "CallStatus=completed"),
        ..inbound
    };
    let reading = read(&status, at(0), 30).unwrap();
    assert_eq!(reading.event.kind, "status:completed");
    assert!(reading.event.anomalies.is_empty());
}

#[test]
fn odd_parameters_are_read_around_and_named() {
    let repeated = callback(Hook::Voice, "&CallSid=CAother&From=%2B19999999999");
    assert_eq!(repeated.event.provider_id, SID, "the first value is read");
    assert_eq!(
        repeated.event.from.as_ref().unwrap().as_str(),
        "+14155552671"
    );
    assert_eq!(
        repeated.event.anomalies,
        vec![
            "CallSid: sent more than once; the first value is read".to_string(),
            "From: sent more than once; the first value is read".to_string(),
        ]
    );
    // A caller that is not a number is kept as sent.
    let odd = post(
        Hook::Voice,
        &VOICE.replace("From=%2B14155552671", "From=call+me"),
    )
    .unwrap();
    assert_eq!(odd.event.from, None);
    assert_eq!(event_item(&odd)["from_text"], s("call me"));
    assert!(odd.event.anomalies[0].starts_with("From: \"call me\""));
    // Withheld is no number, and no anomaly.
    let withheld = post(
        Hook::Voice,
        &VOICE.replace("From=%2B14155552671", "From=anonymous"),
    )
    .unwrap();
    assert_eq!(withheld.event.from, None);
    // A caller name past any caller-ID length is left to the raw payload.
    let long_name = "N".repeat(MAX_CALLER_NAME_CHARS + 1);
    let named = post(Hook::Voice, &VOICE.replace("JOHN+DOE", &long_name)).unwrap();
    assert_eq!(named.event.caller_name, None);
    assert!(named.event.anomalies[0].starts_with("CallerName: longer than"));
    // An unknown status and a duration that is not seconds are kept as sent.
    let status = callback(Hook::CallStatus, "&CallStatus=teleported&CallDuration=soon");
    assert_eq!(
        status.event.kind, "status:ringing",
        "the first CallStatus is read"
    );
    let unknown = post(
        Hook::CallStatus,
        &VOICE.replace(
            "CallStatus=ringing",
            "CallStatus=teleported&CallDuration=soon",
        ),
    )
    .unwrap();
    assert_eq!(unknown.event.kind, "status:teleported");
    assert!(unknown
        .event
        .anomalies
        .iter()
        .any(|a| a == "CallStatus: \"teleported\" is not a known status; kept as sent"));
    assert!(unknown
        .event
        .anomalies
        .iter()
        .any(|a| a.starts_with("CallDuration: ")));
    assert_eq!(event_item(&unknown)["call_duration"], s("soon"));
    assert_eq!(summary_value(&unknown, "call_duration_s"), None);
}

#[test]
fn the_dial_action_joins_the_dialled_leg_to_its_parent() {
    let answered = callback(
        Hook::Dial,
        "&DialCallStatus=completed&DialCallSid=CAchild0000000000000000000000000000&DialCallDuration=42",
    );
    assert_eq!(answered.event.provider_id, SID, "keyed by the parent");
    assert_eq!(answered.event.kind, "dial:completed");
    assert_eq!(
        summary_value(&answered, "dial_call_sid"),
        Some(s("CAchild0000000000000000000000000000"))
    );
    assert_eq!(
        summary_value(&answered, "dial_call_duration_s"),
        Some(n("42"))
    );
    assert!(summary_value(&answered, "answered_at").is_some());
    assert!(summary_value(&answered, "unanswered_at").is_none());
    for status in ["no-answer", "busy", "failed", "canceled"] {
        let missed = callback(
            Hook::Dial,
            &format!("&DialCallStatus={status}&DialCallSid=CA2"),
        );
        assert!(
            summary_value(&missed, "unanswered_at").is_some(),
            "{status}"
        );
        assert!(summary_value(&missed, "answered_at").is_none(), "{status}");
    }
    let missing = callback(Hook::Dial, "");
    assert_eq!(missing.event.kind, "dial:-");
    assert!(missing
        .event
        .anomalies
        .contains(&"DialCallStatus: missing".to_string()));
}

#[test]
fn call_statuses_set_their_moments_forward_only() {
    let status = |value: &str, direction: &str| {
        post(
            Hook::CallStatus,
            &VOICE
                .replace("CallStatus=ringing", &format!("CallStatus={value}"))
                .replace("Direction=inbound", &format!("Direction={direction}")),
        )
        .unwrap()
    };
    let cases: &[(&str, &str, &[&str])] = &[
        ("queued", "outbound-api", &["initiated_at"]),
        ("initiated", "outbound-api", &["initiated_at"]),
        ("ringing", "inbound", &["ringing_at"]),
        // Our TwiML took an inbound call: nobody has answered it.
        ("in-progress", "inbound", &["in_progress_at"]),
        ("in-progress", "outbound-api", &["answered_at"]),
        ("completed", "inbound", &["ended_at"]),
        ("busy", "inbound", &["ended_at", "unanswered_at"]),
        ("no-answer", "inbound", &["ended_at", "unanswered_at"]),
        ("canceled", "inbound", &["ended_at", "unanswered_at"]),
        ("failed", "inbound", &["failed_at", "error_message"]),
    ];
    let moments = [
        "initiated_at",
        "ringing_at",
        "in_progress_at",
        "answered_at",
        "ended_at",
        "unanswered_at",
        "failed_at",
        "error_message",
    ];
    for (value, direction, expected) in cases {
        let reading = status(value, direction);
        for moment in moments {
            assert_eq!(
                summary_value(&reading, moment).is_some(),
                expected.contains(&moment),
                "{value} {direction}: {moment}"
            );
        }
    }
    let completed = post(
        Hook::CallStatus,
        &VOICE.replace(
            "CallStatus=ringing",
            "CallStatus=completed&CallDuration=63&AnsweredBy=human",
        ),
    )
    .unwrap();
    assert_eq!(summary_value(&completed, "call_duration_s"), Some(n("63")));
    assert_eq!(summary_value(&completed, "answered_by"), Some(s("human")));
    let failed = post(
        Hook::CallStatus,
        &VOICE.replace(
            "CallStatus=ringing",
            "CallStatus=failed&SipResponseCode=503",
        ),
    )
    .unwrap();
    assert_eq!(
        summary_value(&failed, "error_message"),
        Some(s("Twilio reported CallStatus failed (SIP 503)"))
    );
}

#[test]
fn recordings_keep_their_url_sid_and_duration() {
    let done = callback(
        Hook::Recording,
        "&RecordingSid=RE1&RecordingUrl=https%3A%2F%2Fapi.twilio.com%2F2010-04-01%2FAccounts%2FAC1%2FRecordings%2FRE1&RecordingStatus=completed&RecordingDuration=17&RecordingChannels=1&RecordingSource=RecordVerb",
    );
    assert_eq!(done.event.kind, "recording:completed");
    assert_eq!(
        summary_value(&done, "recording_url"),
        Some(s(
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"
        ))
    );
    assert_eq!(summary_value(&done, "recording_sid"), Some(s("RE1")));
    assert_eq!(
        summary_value(&done, "recording_status"),
        Some(s("completed"))
    );
    assert_eq!(summary_value(&done, "recording_duration_s"), Some(n("17")));
    assert_eq!(event_item(&done)["recording_source"], s("RecordVerb"));
    // In progress says nothing final; the <Record> action has no status.
    let in_progress = callback(
        Hook::Recording,
        "&RecordingSid=RE1&RecordingUrl=u&RecordingStatus=in-progress",
    );
    assert_eq!(summary_value(&in_progress, "recording_status"), None);
    let action = callback(
        Hook::Recording,
        "&RecordingUrl=u&RecordingDuration=5&Digits=hangup",
    );
    assert_eq!(action.event.kind, "recording:received");
    let no_url = callback(Hook::Recording, "&RecordingSid=RE2");
    assert!(no_url
        .event
        .anomalies
        .contains(&"RecordingUrl: missing".to_string()));
}

#[test]
fn a_retry_has_the_same_guard_and_a_new_fact_another() {
    let guard = |reading: &Reading| reading.plan.puts[0].item[SK].clone();
    let first = post_at(Hook::CallStatus, &VOICE.replace("ringing", "completed"), 0).unwrap();
    let retry = post_at(
        Hook::CallStatus,
        &VOICE.replace("ringing", "completed"),
        5_000,
    )
    .unwrap();
    assert_eq!(guard(&first), guard(&retry));
    assert_eq!(guard(&first), s("DELIVERY#status#completed"));
    assert_eq!(
        first.plan.puts[0].condition,
        Some(crate::store::plan::Condition::item_absent())
    );
    let other = post_at(Hook::CallStatus, &VOICE.replace("ringing", "busy"), 0).unwrap();
    assert_ne!(guard(&first), guard(&other));
    // Two dial outcomes of the same call are two facts; two recordings too.
    let dial_a = callback(Hook::Dial, "&DialCallStatus=no-answer&DialCallSid=CA2");
    let dial_b = callback(Hook::Dial, "&DialCallStatus=completed&DialCallSid=CA3");
    assert_ne!(guard(&dial_a), guard(&dial_b));
    let rec_a = callback(
        Hook::Recording,
        "&RecordingSid=RE1&RecordingStatus=completed",
    );
    let rec_b = callback(
        Hook::Recording,
        "&RecordingSid=RE2&RecordingStatus=completed",
    );
    assert_ne!(guard(&rec_a), guard(&rec_b));
    let url_a = callback(Hook::Recording, "&RecordingUrl=https%3A%2F%2Fx%2Fa");
    let url_b = callback(Hook::Recording, "&RecordingUrl=https%3A%2F%2Fx%2Fb");
    assert_ne!(guard(&url_a), guard(&url_b));
}

#[test]
fn the_answer_is_the_shared_decision() {
    let forward = config(
        r#"{"greeting": "Hello", "forward_to": ["+14155550100"], "ring_timeout_s": 15,
            "voicemail": {"enabled": true, "max_length_s": 90}}"#,
    );
    let voice = callback(Hook::Voice, "");
    assert_eq!(
        voice.answer(Some(&forward), DEFAULT_MESSAGE),
        CallAnswer::Forward {
            greeting: Some("Hello".into()),
            numbers: vec!["+14155550100".into()],
            ring_timeout_s: 15,
        }
    );
    assert_eq!(
        voice.answer(None, DEFAULT_MESSAGE),
        CallAnswer::HangUp {
            message: Some(DEFAULT_MESSAGE.into())
        }
    );
    let not_answered = callback(Hook::Dial, "&DialCallStatus=no-answer");
    assert_eq!(
        not_answered.answer(Some(&forward), DEFAULT_MESSAGE),
        CallAnswer::Voicemail {
            greeting: None,
            prompt: DEFAULT_VOICEMAIL_PROMPT.into(),
            max_length_s: 90,
        }
    );
    let answered = callback(Hook::Dial, "&DialCallStatus=completed");
    assert_eq!(
        answered.answer(Some(&forward), DEFAULT_MESSAGE),
        CallAnswer::hang_up()
    );
    let recording = callback(Hook::Recording, "&RecordingUrl=u");
    assert_eq!(
        recording.answer(Some(&forward), DEFAULT_MESSAGE),
        CallAnswer::hang_up()
    );
    let status = callback(Hook::CallStatus, "");
    assert_eq!(
        status.answer(Some(&forward), DEFAULT_MESSAGE),
        CallAnswer::Nothing
    );
}

#[test]
fn plans_fit_dynamodb_whatever_the_sizes() {
    let huge = format!("&SpeechResult={}", "x".repeat(500_000));
    let reading = callback(Hook::Voice, &huge);
    assert!(reading.plan.bytes() <= crate::store::plan::MAX_TRANSACTION_BYTES);
    for put in &reading.plan.puts {
        assert!(crate::store::plan::item_bytes(&put.item) <= crate::store::plan::MAX_ITEM_BYTES);
    }
}
