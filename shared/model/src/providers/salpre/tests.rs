use super::map::short_hash;
use super::transcript::line_time_key;
use super::*;
use crate::attribute::AttributeValue;
use crate::event::Direction;
use crate::providers::ReadError;
use crate::store::keys::{self, PK, SK};
use crate::store::plan::{item_bytes, n, s, Condition, Item, MAX_ITEM_BYTES};
use crate::time;

// Salpre's own documented examples, verbatim but for whitespace.
const INITIATED: &str = r#"{"event_type":"call_initiated","timestamp_utc":1760084505,"payload":{"call_id":1,"from":"+905555555555","to":"+905555555554","direction":"outbound","source":"salprebox:SALPRE_AABBCCDD"},"is_test":true}"#;
const RINGING: &str = r#"{"event_type":"call_ringing","timestamp_utc":1760084555,"payload":{"from":"+905555555555","to":"+905555555554","source":"salprebox:SALPRE_AABBCCDD","direction":"outbound","call_id":1},"is_test":true}"#;
const ANSWERED: &str = r#"{"event_type":"call_answered","timestamp_utc":1760084576,"payload":{"from":"+905555555555","to":"+905555555554","source":"salprebox:SALPRE_AABBCCDD","direction":"outbound","call_id":1},"is_test":true}"#;
const TRANSCRIPT: &str = r#"{"event_type":"transcript","timestamp_utc":1760084622,"payload":{"call":{"id":1,"from":"+905555555555","to":"+905555555554","source":"salprebox:SALPRE_AABBCCDD","direction":"outbound"},"type":"customer","transcript":"Hello, how are you?","timestamp_utc":"111111"},"is_test":true}"#;
const ENDED: &str = r#"{"event_type":"call_ended","timestamp_utc":1760084597,"payload":{"from":"+905555555555","to":"+905555555554","direction":"outbound","source":"salprebox:SALPRE_AABBCCDD","call_id":1,"transcript":[{"type":"ai","message":"Greeting message"},{"type":"customer","message":"customer message 1","utc_timestamp":"111111"},{"type":"ai","message":"Ai response 1","utc_timestamp":"111111"}]},"is_test":true}"#;
const ERROR: &str = r#"{"event_type":"error","timestamp_utc":1760084656,"payload":{"call":{"id":1,"from":"+905555555555","to":"+905555555554","source":"salprebox:SALPRE_AABBCCDD","direction":"outbound"},"error_message":"Error message"},"is_test":true}"#;

fn received() -> Timestamp {
    Timestamp::from_second(1_760_084_700).unwrap()
}

#[test]
fn implausible_timestamps_give_way_to_the_received_time() {
    let with = |ts: i64| INITIATED.replace("1760084505", &ts.to_string());
    let now = received().as_second();
    for ts in [
        0,
        86_400,
        EARLIEST_TIMESTAMP_UTC - 1,
        now + MAX_FUTURE_SKEW_S + 1,
    ] {
        let mapped = map(&with(ts)).unwrap();
        assert_eq!(mapped.event.occurred_at, received(), "{ts}");
        assert!(
            mapped
                .event
                .anomalies
                .iter()
                .any(|a| a.starts_with("timestamp_utc: ")),
            "{ts}: {:?}",
            mapped.event.anomalies
        );
        // The time is ours, so a body guard makes the retry collide.
        assert!(mapped.plan.puts[0].item[SK]
            .as_s()
            .unwrap()
            .starts_with("DELIVERY#body#"));
    }
    for ts in [EARLIEST_TIMESTAMP_UTC, now + MAX_FUTURE_SKEW_S, now] {
        let mapped = map(&with(ts)).unwrap();
        assert_eq!(mapped.event.occurred_at.as_second(), ts);
        assert!(mapped.event.anomalies.is_empty(), "{ts}");
    }
}

#[test]
fn timestamp_utc_is_read_in_every_form_and_named_when_odd() {
    let with = |ts: &str| INITIATED.replace("1760084505", ts);
    for (written, ms, anomaly) in [
        ("1760084505", 1_760_084_505_000, None),
        (r#""1760084505""#, 1_760_084_505_000, Some("a string")),
        ("1760084505.25", 1_760_084_505_250, Some("a fraction")),
        (r#""1760084505.5""#, 1_760_084_505_500, Some("a string")),
        ("1760084505123", 1_760_084_505_123, Some("milliseconds")),
        (
            r#""2025-10-10T08:21:45Z""#,
            1_760_084_505_000,
            Some("a string"),
        ),
    ] {
        let mapped = map(&with(written)).unwrap();
        assert_eq!(mapped.event.occurred_at.as_millisecond(), ms, "{written}");
        match anomaly {
            None => assert!(mapped.event.anomalies.is_empty(), "{written}"),
            Some(needle) => assert!(
                mapped.event.anomalies.iter().any(|a| a.contains(needle)),
                "{written}: {:?}",
                mapped.event.anomalies
            ),
        }
    }
    for missing in [
        INITIATED.replace(r#""timestamp_utc":1760084505,"#, ""),
        with("null"),
        with(r#""soon""#),
        with("[1]"),
    ] {
        let mapped = map(&missing).unwrap();
        assert_eq!(mapped.event.occurred_at, received(), "{missing}");
        assert!(mapped.event.anomalies[0].starts_with("timestamp_utc: "));
        assert_eq!(
            set_once(&mapped, "initiated_at"),
            Some(&s(time::to_key(received())))
        );
        // Retried later (a new received time): the same guard, so the
        // retry collides however late it comes.
        let later = map_at(&missing, Timestamp::from_second(1_760_090_000).unwrap()).unwrap();
        assert_eq!(later.plan.puts[0].item, {
            let mut guard = mapped.plan.puts[0].item.clone();
            guard.insert(
                crate::store::keys::TTL.into(),
                later.plan.puts[0].item[crate::store::keys::TTL].clone(),
            );
            guard
        });
    }
}

#[test]
fn is_test_is_read_as_a_boolean_in_any_form() {
    let with = |flag: &str| INITIATED.replace(r#""is_test":true"#, &format!(r#""is_test":{flag}"#));
    for (written, expected, named) in [
        ("true", true, false),
        ("false", false, false),
        ("null", false, false),
        (r#""true""#, true, true),
        (r#""False""#, false, true),
        ("1", true, true),
        ("0", false, true),
        (r#""maybe""#, false, true),
        ("[true]", false, true),
    ] {
        let mapped = map(&with(written)).unwrap();
        assert_eq!(mapped.event.is_test, expected, "{written}");
        assert_eq!(!mapped.event.anomalies.is_empty(), named, "{written}");
    }
    let missing = map(&INITIATED.replace(r#","is_test":true"#, "")).unwrap();
    assert!(!missing.event.is_test && missing.event.anomalies.is_empty());
}

fn map(body: &str) -> Result<Mapped, ReadError> {
    map_at(body, received())
}

fn map_at(body: &str, at: Timestamp) -> Result<Mapped, ReadError> {
    let delivery = parse_delivery(body.as_bytes())?;
    map_delivery(&delivery, body, at, 30)
}

fn set_once<'a>(mapped: &'a Mapped, name: &str) -> Option<&'a AttributeValue> {
    mapped.plan.updates[0]
        .set_once
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

fn event_attr<'a>(mapped: &'a Mapped, name: &str) -> Option<&'a AttributeValue> {
    mapped.plan.puts[0].item.get(name)
}

#[test]
fn every_seed_example_maps_to_call_1_with_its_phase() {
    for (body, kind, phase) in [
        (INITIATED, "call_initiated", Some("initiated_at")),
        (RINGING, "call_ringing", Some("ringing_at")),
        (ANSWERED, "call_answered", Some("answered_at")),
        (TRANSCRIPT, "transcript", None),
        (ENDED, "call_ended", Some("ended_at")),
        (ERROR, "error", Some("failed_at")),
    ] {
        let mapped = map(body).unwrap();
        let event = &mapped.event;
        assert_eq!(event.provider_id, "test-1", "{kind}");
        assert_eq!(event.kind, kind);
        assert!(event.is_test);
        assert_eq!(event.direction, Some(Direction::Outbound));
        assert_eq!(event.from.as_ref().unwrap().as_str(), "+905555555555");
        assert_eq!(event.to.as_ref().unwrap().as_str(), "+905555555554");
        assert_eq!(event.raw, body);
        assert_eq!(mapped.plan.updates[0].pk, "CALL#salpre#test-1");
        assert_eq!(
            set_once(&mapped, "source"),
            Some(&s("salprebox:SALPRE_AABBCCDD"))
        );
        assert_eq!(
            event_attr(&mapped, "source"),
            Some(&s("salprebox:SALPRE_AABBCCDD"))
        );
        if let Some(phase) = phase {
            assert_eq!(
                set_once(&mapped, phase),
                Some(&s(time::to_key(event.occurred_at))),
                "{kind}"
            );
        }
    }
}

#[test]
fn occurred_at_is_the_envelope_time() {
    let mapped = map(INITIATED).unwrap();
    assert_eq!(
        mapped.event.occurred_at,
        Timestamp::from_second(1_760_084_505).unwrap()
    );
    assert_eq!(mapped.event.received_at, received());
}

#[test]
fn call_id_may_be_a_number_or_a_string() {
    let real = |body: &str| body.replace(r#""is_test":true"#, r#""is_test":false"#);
    let text = real(&INITIATED.replace(r#""call_id":1"#, r#""call_id":"c-42""#));
    assert_eq!(map(&text).unwrap().event.provider_id, "c-42");
    let big = real(&INITIATED.replace(r#""call_id":1"#, r#""call_id":18446744073709551615"#));
    assert_eq!(map(&big).unwrap().event.provider_id, "18446744073709551615");
    let nested = real(&TRANSCRIPT.replace(r#""id":1"#, r#""id":"c-42""#));
    assert_eq!(map(&nested).unwrap().event.provider_id, "c-42");
    // The test button's fixed ids never share a call with real ones.
    assert_eq!(map(INITIATED).unwrap().event.provider_id, "test-1");
}

#[test]
fn ended_with_a_customer_turn_is_not_unanswered() {
    let mapped = map(ENDED).unwrap();
    assert!(set_once(&mapped, "unanswered_at").is_none());
    assert_eq!(set_once(&mapped, "final_transcript_turns"), Some(&n(3)));
    assert_eq!(
        event_attr(&mapped, TRANSCRIPT_POINTER_ATTR),
        Some(&s(TRANSCRIPT_POINTER))
    );
}

#[test]
fn ended_without_a_customer_turn_is_unanswered() {
    for transcript in [
        r#"[{"type":"ai","message":"Greeting message"}]"#,
        r#"[{"type":"ai","message":"Hi"},{"type":"customer","message":"  "}]"#,
        "[]",
        "null",
    ] {
        let body = format!(
            r#"{{"event_type":"call_ended","timestamp_utc":1760084597,"payload":{{"call_id":7,"direction":"inbound","from":"+14155552671","to":"+18339664835","transcript":{transcript}}}}}"#
        );
        let mapped = map(&body).unwrap();
        assert!(set_once(&mapped, "unanswered_at").is_some(), "{transcript}");
        assert!(!mapped.event.is_test);
    }
    let without =
        r#"{"event_type":"call_ended","timestamp_utc":1760084597,"payload":{"call_id":7}}"#;
    let mapped = map(without).unwrap();
    assert!(set_once(&mapped, "unanswered_at").is_some());
    assert!(event_attr(&mapped, TRANSCRIPT_POINTER_ATTR).is_none());
}

#[test]
fn error_marks_failed_with_its_message() {
    let mapped = map(ERROR).unwrap();
    assert_eq!(
        set_once(&mapped, "error_message"),
        Some(&s("Error message"))
    );
    assert_eq!(
        event_attr(&mapped, "error_message"),
        Some(&s("Error message"))
    );
    let long = ERROR.replace("Error message", &"é".repeat(MAX_TEXT_ATTRIBUTE_BYTES));
    let mapped = map(&long).unwrap();
    let kept = set_once(&mapped, "error_message").unwrap().as_s().unwrap();
    let cap = crate::store::plan::MAX_SUMMARY_ATTRIBUTE_BYTES;
    assert!(kept.len() <= cap && kept.len() > cap - 4);
    assert_eq!(
        set_once(&mapped, "error_message_truncated"),
        Some(&AttributeValue::Bool(true))
    );
    assert_eq!(mapped.event.raw, long, "the raw body keeps all of it");
    // On the event item it is left to the raw body, and named.
    assert_eq!(event_attr(&mapped, "error_message"), None);
    assert!(mapped
        .event
        .anomalies
        .iter()
        .any(|a| a.starts_with("error_message: ")));
}

#[test]
fn delivery_keys_collide_for_retries_and_only_for_retries() {
    let key = |body: &str| map(body).unwrap().event.delivery_key;
    // The same delivery twice: the same key (and the same sort key).
    assert_eq!(key(TRANSCRIPT), key(TRANSCRIPT));
    assert_eq!(key(ERROR), key(ERROR));
    assert_eq!(key(INITIATED), "1");
    // Two different lines, or errors, at the same instant: different.
    let other_text = TRANSCRIPT.replace("Hello, how are you?", "Fine, thanks.");
    let other_speaker = TRANSCRIPT.replace(r#""type":"customer""#, r#""type":"ai""#);
    let other_time = TRANSCRIPT.replace(r#""111111""#, r#""111112""#);
    for other in [&other_text, &other_speaker, &other_time] {
        assert_ne!(key(TRANSCRIPT), key(other));
    }
    assert_ne!(key(ERROR), key(&ERROR.replace("Error message", "Other")));
    // Speaker and text are hashed apart: moving a character across the
    // boundary is a different line.
    assert_ne!(short_hash(&["ab", "c"]), short_hash(&["a", "bc"]));
    // The line's numeric time is padded so lines sort by it.
    assert!(key(TRANSCRIPT).starts_with("00000000000000111111."));
    assert!(line_time_key(Some("99999")) < line_time_key(Some("111111")));
    assert_eq!(line_time_key(None), "-");
    assert_eq!(
        line_time_key(Some("2026-01-01T00:00#x")),
        "2026-01-01T00:00x"
    );
}

#[test]
fn live_line_keeps_speaker_text_and_its_time() {
    let mapped = map(TRANSCRIPT).unwrap();
    assert_eq!(event_attr(&mapped, "speaker"), Some(&s("customer")));
    assert_eq!(event_attr(&mapped, "text"), Some(&s("Hello, how are you?")));
    assert_eq!(event_attr(&mapped, "line_timestamp"), Some(&s("111111")));
    // No phase: a line says nothing about where the call stands.
    for phase in ["answered_at", "ended_at", "unanswered_at", "failed_at"] {
        assert!(set_once(&mapped, phase).is_none());
    }
    let numeric = TRANSCRIPT.replace(r#""timestamp_utc":"111111""#, r#""timestamp_utc":111111"#);
    let mapped = map(&numeric).unwrap();
    assert_eq!(event_attr(&mapped, "line_timestamp"), Some(&s("111111")));
}

#[test]
fn live_transcript_reads_lines_whatever_their_length() {
    let long_text = "ş".repeat(MAX_TEXT_ATTRIBUTE_BYTES);
    let long = TRANSCRIPT.replace("Hello, how are you?", &long_text);
    let items: Vec<Item> = [TRANSCRIPT, &long, INITIATED]
        .iter()
        .map(|body| {
            let mut item = map(body).unwrap().plan.puts[0].item.clone();
            assert!(!item.contains_key("raw_parts"));
            item.insert("raw".into(), s(*body));
            item
        })
        .collect();
    assert_eq!(items[1].get("text"), None);
    let lines = live_transcript(&items);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].text, "Hello, how are you?");
    assert_eq!(lines[0].speaker.as_deref(), Some("customer"));
    assert_eq!(lines[1].text, long_text);
}

#[test]
fn unknown_event_is_kept_in_its_call_or_the_provider_partition() {
    let with_call = r#"{"event_type":"call_transferred","timestamp_utc":1760084600,"payload":{"call_id":1,"to":"not a number"}}"#;
    let mapped = map(with_call).unwrap();
    assert_eq!(mapped.event.provider_id, "1");
    assert_eq!(
        mapped.event.to, None,
        "unreadable fields of an unknown event are ignored"
    );
    assert_eq!(mapped.plan.updates.len(), 1);
    assert_eq!(mapped.plan.puts[0].item[PK], s("CALL#salpre#1"));
    assert_eq!(
        mapped.event.delivery_key,
        map(with_call).unwrap().event.delivery_key
    );

    let nested = r#"{"event_type":"sentiment","timestamp_utc":1760084600,"payload":{"call":{"id":"x9"},"score":0.4}}"#;
    assert_eq!(map(nested).unwrap().event.provider_id, "x9");

    let orphan =
        r#"{"event_type":"agent_updated","timestamp_utc":1760084600,"payload":{"agent":"a1"}}"#;
    let mapped = map(orphan).unwrap();
    assert!(mapped.call.is_none());
    assert!(mapped.plan.updates.is_empty());
    assert_eq!(mapped.plan.puts.len(), 1);
    assert_eq!(mapped.plan.puts[0].item[PK], s("UNMATCHED#salpre"));
    assert_eq!(
        mapped.plan.puts[0].item[keys::ITEM_TYPE],
        s("provider_event")
    );
    assert_eq!(
        mapped.plan.puts[0].condition,
        Some(Condition::item_absent())
    );
}

#[test]
fn a_large_orphan_keeps_its_parts_together() {
    let big = format!(
        r#"{{"event_type":"export","timestamp_utc":1760084600,"payload":{{"data":"{}"}}}}"#,
        "x".repeat(700_000)
    );
    let mapped = map(&big).unwrap();
    assert_eq!(mapped.plan.puts.len(), 4);
    assert!(mapped
        .plan
        .puts
        .iter()
        .all(|p| p.item[PK] == s("UNMATCHED#salpre")));
}

#[test]
fn only_what_is_no_salpre_event_is_refused() {
    for body in [
        "",
        "  ",
        "not json",
        r#"{"event_type": "#,
        "[1, 2, 3]",
        "null",
        r#"{"timestamp_utc":1760084505,"payload":{"call_id":1}}"#,
        r#"{"event_type":"","timestamp_utc":1760084505,"payload":{"call_id":1}}"#,
        r#"{"event_type":7,"timestamp_utc":1760084505,"payload":{"call_id":1}}"#,
        r#"{"event_type":"a#b","timestamp_utc":1760084505,"payload":{}}"#,
    ] {
        let err = map(body).unwrap_err();
        assert!(!err.to_string().is_empty(), "{body}");
    }
    assert!(map("\u{feff}{}").is_err());
}

#[test]
fn a_byte_order_mark_is_read_past_and_named() {
    let body = format!("\u{feff}{INITIATED}");
    let mapped = map(&body).unwrap();
    assert_eq!(mapped.event.provider_id, "test-1");
    assert_eq!(mapped.event.raw, body, "the raw body is kept exactly");
    assert!(mapped.event.anomalies[0].contains("byte order mark"));
}

#[test]
fn call_ids_come_as_numbers_strings_or_nested() {
    let real = |body: &str| body.replace(r#","is_test":true"#, "");
    let number = map(&real(INITIATED)).unwrap();
    let text = map(&real(
        &INITIATED.replace(r#""call_id":1"#, r#""call_id":"1""#),
    ))
    .unwrap();
    let nested = map(&real(
        &INITIATED.replace(r#""call_id":1"#, r#""call":{"id":1}"#),
    ))
    .unwrap();
    for mapped in [&number, &text, &nested] {
        assert_eq!(mapped.event.provider_id, "1");
        assert_eq!(mapped.plan.updates[0].pk, "CALL#salpre#1");
    }
    assert!(number.event.anomalies.is_empty() && text.event.anomalies.is_empty());
    // A transcript line with a flat id, and a float id (named).
    let flat = real(&TRANSCRIPT.replace(r#""call":{"id":1,"#, r#""call_id":1,"call":{"#));
    assert_eq!(map(&flat).unwrap().event.provider_id, "1");
    let float = map(&real(
        &INITIATED.replace(r#""call_id":1"#, r#""call_id":1.5"#),
    ))
    .unwrap();
    assert_eq!(float.event.provider_id, "1.5");
    assert!(float.event.anomalies[0].contains("whole number"));
}

#[test]
fn a_known_event_without_a_call_id_is_kept_unmatched() {
    for body in [
        r#"{"event_type":"call_ringing","timestamp_utc":1760084505,"payload":{"from":"+14155552671"}}"#,
        r#"{"event_type":"call_answered","timestamp_utc":1760084505,"payload":{"call_id":null}}"#,
        r#"{"event_type":"call_ringing","timestamp_utc":1760084505,"payload":{"call_id":""}}"#,
        r#"{"event_type":"call_ringing","timestamp_utc":1760084505,"payload":{"call_id":{"x":1}}}"#,
        r#"{"event_type":"call_initiated","timestamp_utc":1760084505}"#,
        r#"{"event_type":"call_initiated","timestamp_utc":1760084505,"payload":[1]}"#,
        r#"{"event_type":"transcript","timestamp_utc":1760084505,"payload":{"type":"ai","transcript":"hi"}}"#,
    ] {
        let mapped = map(body).unwrap();
        assert!(mapped.call.is_none(), "{body}");
        assert_eq!(
            mapped.plan.puts[0].item[PK],
            s("UNMATCHED#salpre"),
            "{body}"
        );
        assert!(mapped.plan.updates.is_empty());
        assert!(!mapped.event.anomalies.is_empty(), "{body}");
    }
}

#[test]
fn unreadable_fields_are_left_out_and_named() {
    let body = r#"{"event_type":"call_initiated","timestamp_utc":1760084505,"payload":{"call_id":1,"from":"call me","to":"12","direction":"sideways","source":["x"]}}"#;
    let mapped = map(body).unwrap();
    assert_eq!(mapped.event.provider_id, "1");
    assert_eq!(mapped.event.from, None);
    assert_eq!(mapped.event.to, None);
    assert_eq!(mapped.event.direction, None);
    assert_eq!(event_attr(&mapped, "from_text"), Some(&s("call me")));
    assert_eq!(event_attr(&mapped, "to_text"), Some(&s("12")));
    let names: Vec<&str> = mapped
        .event
        .anomalies
        .iter()
        .map(|a| a.split(':').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "payload.from",
            "payload.to",
            "payload.direction",
            "payload.source"
        ]
    );
    let stored = mapped.plan.puts[0].item[crate::store::plan::ANOMALIES]
        .as_l()
        .unwrap();
    assert_eq!(stored.len(), 4);
    // Missing direction, numbers as JSON numbers: read, nothing odd.
    let plain = r#"{"event_type":"call_initiated","timestamp_utc":1760084505,"payload":{"call_id":1,"from":"+14155552671"}}"#;
    let mapped = map(plain).unwrap();
    assert_eq!(mapped.event.direction, None);
    assert!(mapped.event.anomalies.is_empty());
    let uppercase = map(&plain
        .replace("call_initiated", "CALL_INITIATED")
        .replace("inbound", "INBOUND"))
    .unwrap();
    assert_eq!(uppercase.event.kind, "call_initiated");
    assert!(set_once(&uppercase, "initiated_at").is_some());
}

#[test]
fn transcripts_of_every_shape_are_kept() {
    let ended = |transcript: &str| {
        format!(
            r#"{{"event_type":"call_ended","timestamp_utc":1760084597,"payload":{{"call_id":7,"direction":"inbound","transcript":{transcript}}}}}"#
        )
    };
    // Turns without `type`, with numeric times and messages: read.
    let mapped = map(&ended(
        r#"[{"message":"hi"},{"type":"customer","message":42,"utc_timestamp":1760084590}]"#,
    ))
    .unwrap();
    assert!(
        set_once(&mapped, "unanswered_at").is_none(),
        "the customer spoke"
    );
    assert_eq!(set_once(&mapped, "final_transcript_turns"), Some(&n(2)));
    assert!(mapped.event.anomalies.is_empty());
    // Not a list, or not turns: kept, named, and nothing judged from it.
    for odd in [
        r#""Hello""#,
        r#"{"type":"ai"}"#,
        r#"["hi", {"type":"ai","message":"x"}]"#,
    ] {
        let mapped = map(&ended(odd)).unwrap();
        assert!(set_once(&mapped, "ended_at").is_some(), "{odd}");
        assert!(set_once(&mapped, "unanswered_at").is_none(), "{odd}");
        assert!(
            mapped.event.anomalies[0].starts_with("payload.transcript"),
            "{odd}"
        );
    }
    // Live lines: numeric time, no speaker, no text.
    let line = |payload: &str| {
        format!(r#"{{"event_type":"transcript","timestamp_utc":1760084622,"payload":{payload}}}"#)
    };
    let mapped = map(&line(
        r#"{"call":{"id":1},"transcript":"hi","utc_timestamp":111111}"#,
    ))
    .unwrap();
    assert_eq!(event_attr(&mapped, "line_timestamp"), Some(&s("111111")));
    assert_eq!(event_attr(&mapped, "speaker"), None);
    assert!(mapped.event.anomalies.is_empty());
    for empty in [
        r#"{"call":{"id":1},"type":"ai"}"#,
        r#"{"call":{"id":1},"type":"ai","transcript":null}"#,
        r#"{"call":{"id":1},"type":"ai","transcript":"  "}"#,
    ] {
        let mapped = map(&line(empty)).unwrap();
        assert_eq!(event_attr(&mapped, "text"), None, "{empty}");
        assert!(mapped.event.anomalies[0].starts_with("payload.transcript"));
        assert_eq!(live_transcript(&[mapped.plan.puts[0].item.clone()]), vec![]);
    }
}

#[test]
fn an_error_without_a_call_is_its_own_failed_call() {
    let body = r#"{"event_type":"error","timestamp_utc":1760084656,"payload":{"error_message":"Webhook URL misconfigured"},"is_test":false}"#;
    let mapped = map(body).unwrap();
    let id = mapped.event.provider_id.clone();
    assert!(
        id.starts_with(ERROR_WITHOUT_CALL_PREFIX) && id.len() == 6 + 16,
        "{id}"
    );
    assert_eq!(mapped.plan.updates[0].pk, format!("CALL#salpre#{id}"));
    assert!(set_once(&mapped, "failed_at").is_some());
    assert_eq!(
        set_once(&mapped, "error_message"),
        Some(&s("Webhook URL misconfigured"))
    );
    assert_eq!(
        set_once(&mapped, "without_call"),
        Some(&AttributeValue::Bool(true))
    );
    assert!(mapped.event.anomalies[0].starts_with("payload.call: missing"));
    // A retry is the same body: the same call and event keys.
    let again = map_at(body, Timestamp::from_second(1_760_090_000).unwrap()).unwrap();
    assert_eq!(again.plan.puts[0].item[SK], mapped.plan.puts[0].item[SK]);
    assert_eq!(again.plan.updates[0].pk, mapped.plan.updates[0].pk);
    // Another error is another one.
    let other = map(&body.replace("misconfigured", "missing")).unwrap();
    assert_ne!(other.event.provider_id, id);
    // Without a time either: the body guard makes its retry collide.
    let timeless = body.replace(r#""timestamp_utc":1760084656,"#, "");
    let first = map(&timeless).unwrap();
    let retry = map_at(&timeless, Timestamp::from_second(1_760_090_000).unwrap()).unwrap();
    assert_eq!(first.plan.puts[0].item[SK], retry.plan.puts[0].item[SK]);
    assert!(first.plan.puts[0].item[SK]
        .as_s()
        .unwrap()
        .starts_with("DELIVERY#"));
}

#[test]
fn a_two_mib_transcript_fits_every_limit() {
    let turn = r#"{"type":"customer","message":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},"#;
    let turns = turn.repeat(2 * 1024 * 1024 / turn.len() - 10);
    let body = format!(
        r#"{{"event_type":"call_ended","timestamp_utc":1760084597,"payload":{{"call_id":7,"transcript":[{}]}}}}"#,
        turns.trim_end_matches(',')
    );
    let mapped = map(&body).unwrap();
    for put in &mapped.plan.puts {
        assert!(item_bytes(&put.item) <= MAX_ITEM_BYTES);
    }
    assert!(mapped.plan.bytes() < crate::store::plan::MAX_TRANSACTION_BYTES);
    let joined: String = mapped.plan.puts[1..]
        .iter()
        .map(|p| p.item["raw"].as_s().unwrap().as_str())
        .collect();
    assert_eq!(joined, body);
}
