//! The lifecycle table, the notes the providers' plans write, and one test
//! per row of the verdict table in `docs/lifecycles.md`: each row's
//! deliveries go through the provider's own reader and write plan, the
//! summary updates are applied as DynamoDB would (set once, set, remove),
//! and the verdict is read from the result.

use super::*;
use crate::providers::retell::events::{call_event, call_event_plan, parse_call_event};
use crate::providers::retell::{inbound_event, inbound_plan, parse_inbound};
use crate::providers::twilio::{self, Hook as TwilioHook};
use crate::providers::voxtelesys::{self, Inbound, Method};
use crate::providers::{salpre, zonitel, zonitel_sms};
use crate::store::plan::WritePlan;
use serde_json::json;

const T0: i64 = 1_795_449_082_000;
const CALLER: &str = "+14155552671";
const OURS: &str = "+18339664835";

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap()
}

/// The summary a sequence of plans leaves, as DynamoDB applies them.
#[derive(Default)]
struct Summary(Item);

impl Summary {
    fn apply(&mut self, plan: &WritePlan) -> &mut Self {
        let update = &plan.updates[0];
        assert_eq!(update.sk, keys::SUMMARY_SK);
        for (name, value) in &update.set_once {
            self.0.entry(name.clone()).or_insert_with(|| value.clone());
        }
        for (name, value) in &update.set {
            self.0.insert(name.clone(), value.clone());
        }
        for name in &update.remove {
            self.0.remove(name);
        }
        self
    }

    /// What the sweeper writes when it flags it.
    fn flagged(&mut self) -> &mut Self {
        self.0
            .insert(INCOMPLETE_AT.into(), s(time::to_key(at(T0 + 3_600_000))));
        self
    }

    fn verdict(&self) -> Verdict {
        verdict(&terminal_facts(&self.0))
    }

    fn index_pk(&self) -> Option<&str> {
        text(&self.0, keys::GSI4PK)
    }
}

fn salpre(kind: &str, direction: &str, extra: &str) -> WritePlan {
    let body = format!(
        r#"{{"event_type":"{kind}","timestamp_utc":{},"payload":{{"call_id":7,"from":"{CALLER}","to":"{OURS}","direction":"{direction}"{extra}}},"is_test":false}}"#,
        T0 / 1000
    );
    salpre::read(body.as_bytes(), at(T0), 30).unwrap().plan
}

const SPOKE: &str = r#","transcript":[{"type":"ai","message":"Hello"},{"type":"customer","message":"Hi","utc_timestamp":"1795449094"}]"#;
const AI_ONLY: &str = r#","transcript":[{"type":"ai","message":"Hello?"}]"#;

fn salpre_error() -> WritePlan {
    let body = format!(
        r#"{{"event_type":"error","timestamp_utc":{},"payload":{{"call_id":7,"from":"{CALLER}","to":"{OURS}","direction":"inbound","message":"SIP 503"}},"is_test":false}}"#,
        T0 / 1000
    );
    salpre::read(body.as_bytes(), at(T0), 30).unwrap().plan
}

fn retell_inbound() -> WritePlan {
    let body = json!({"event": "call_inbound", "call_inbound": {"agent_id": "a",
        "from_number": CALLER, "to_number": OURS}})
    .to_string();
    let request = parse_inbound(body.as_bytes()).unwrap();
    let event = inbound_event(&request, &body, at(T0));
    inbound_plan(&event, &request, 30, None)
}

fn retell(kind: &str, call: serde_json::Value) -> WritePlan {
    let mut full = json!({"call_id": "call_1", "call_type": "phone_call", "direction": "inbound",
        "from_number": CALLER, "to_number": OURS, "agent_id": "a", "call_status": "ongoing",
        "start_timestamp": T0 + 3_000});
    for (k, v) in call.as_object().unwrap() {
        full[k] = v.clone();
    }
    let body = json!({"event": kind, "call": full}).to_string();
    let parsed = match parse_call_event(body.as_bytes()).unwrap() {
        crate::providers::retell::events::ParsedCallEvent::Call(event) => event,
        other => panic!("{other:?}"),
    };
    // Each body its own delivery, as the pipeline names it.
    let identity = crate::ingest::Identity::of(
        &crate::ingest::Delivery {
            route: crate::ingest::Route::RetellEvents,
            is_post: true,
            content_type: None,
            query: String::new(),
            body: body.as_bytes().to_vec(),
            decoding: Default::default(),
            user_agent: None,
            received_at: at(T0 + 60_000),
        },
        None,
    );
    let stored = call_event(&parsed, "rec-1", &body, at(T0 + 60_000), &identity);
    call_event_plan(&parsed, &stored, &identity, 30)
}

fn retell_end(kind: &str, reason: &str, extra: serde_json::Value) -> WritePlan {
    let mut call = json!({"call_status": "ended", "end_timestamp": T0 + 45_000,
        "disconnection_reason": reason, "transcript": "Agent: Hello\nUser: Hi"});
    for (k, v) in extra.as_object().unwrap() {
        call[k] = v.clone();
    }
    retell(kind, call)
}

fn vox(hook: &str, extra: &str) -> WritePlan {
    let path = format!("/voxtelesys/{hook}");
    let form =
        format!("CallSid=CA1&From=%2B14155552671&To=%2B18339664835&Direction=inbound{extra}");
    let inbound = Inbound {
        method: Method::Post,
        path: &path,
        query: "",
        body: form.as_bytes(),
        content_type: Some("application/x-www-form-urlencoded"),
    };
    voxtelesys::read(&inbound, at(T0)).unwrap().plan(30)
}

fn sms(status: &str, direction: &str) -> WritePlan {
    let body = json!({"status": status, "data": {"id": "m-1", "segments": 1,
        "direction": direction, "messageText": "Hi", "from": OURS, "to": CALLER, "medias": []},
        "message": "ok"})
    .to_string();
    let notification = zonitel_sms::parse_notification(body.as_bytes()).unwrap();
    let delivery = zonitel_sms::sms_delivery(&notification, &body, at(T0)).unwrap();
    zonitel_sms::sms_plan(&delivery, 30)
}

fn twilio_call(hook: TwilioHook, extra: &str) -> WritePlan {
    let form =
        format!("CallSid=CA1&From=%2B14155552671&To=%2B18339664835&Direction=inbound{extra}");
    let inbound = twilio::Inbound {
        hook,
        is_post: true,
        query: "",
        body: form.as_bytes(),
        content_type: Some("application/x-www-form-urlencoded"),
    };
    twilio::read(&inbound, at(T0), 30).unwrap().plan
}

fn twilio_sms(hook: TwilioHook, status: &str) -> WritePlan {
    let form = format!(
        "MessageSid=SM1&MessageStatus={status}&From=%2B18339664835&To=%2B14155552671&Body=Hi"
    );
    let inbound = twilio::Inbound {
        hook,
        is_post: true,
        query: "",
        body: form.as_bytes(),
        content_type: None,
    };
    twilio::read(&inbound, at(T0), 30).unwrap().plan
}

// The table itself.

#[test]
fn every_lifecycle_opens_with_one_fact_and_waits_for_at_least_one_more() {
    for lifecycle in &LIFECYCLES {
        assert!(lifecycle.facts.len() >= 2, "{}", lifecycle.name);
        assert_eq!(Lifecycle::by_name(lifecycle.name), Some(lifecycle));
        let names: std::collections::HashSet<_> = lifecycle.facts.iter().map(|f| f.name).collect();
        assert_eq!(names.len(), lifecycle.facts.len(), "facts are distinct");
    }
    assert_eq!(
        Lifecycle::of(Provider::Zonitel, Channel::Call, Some(Direction::Inbound)),
        None,
        "Zonitel's incoming call has no closing event"
    );
    assert_eq!(
        Lifecycle::of(Provider::Zonitel, Channel::Sms, Some(Direction::Inbound)),
        None
    );
    assert_eq!(
        Lifecycle::of(Provider::Zonitel, Channel::Sms, Some(Direction::Outbound)),
        Some(&ZONITEL_SMS_OUTBOUND)
    );
}

#[test]
fn waits_come_from_one_override_or_each_variable_or_the_defaults() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    };
    assert_eq!(Waits::from_lookup(env(&[])).unwrap(), Waits::default());
    let one = Waits::from_lookup(env(&[
        ("LIFECYCLE_WAIT_SECONDS", "20"),
        ("CALL_END_WAIT_SECONDS", "99"),
    ]))
    .unwrap();
    assert_eq!(one, Waits::uniform(20));
    let each = Waits::from_lookup(env(&[("CALL_END_WAIT_SECONDS", "99")])).unwrap();
    assert_eq!(each.seconds(Wait::CallEnd), 99);
    assert_eq!(each.seconds(Wait::CallAnalysis), 900);
    assert!(Waits::from_lookup(env(&[("SMS_STATUS_WAIT_SECONDS", "1h")])).is_err());
}

#[test]
fn each_fact_moves_the_sparse_key_on_and_the_closing_fact_removes_it() {
    let mut summary = Summary::default();
    summary.apply(&retell_inbound());
    assert_eq!(summary.index_pk(), Some("OPEN#retell_call#call_started"));
    summary.apply(&retell("call_started", json!({})));
    assert_eq!(summary.index_pk(), Some("OPEN#retell_call#call_ended"));
    summary.apply(&retell_end("call_ended", "agent_hangup", json!({})));
    assert_eq!(summary.index_pk(), Some("OPEN#retell_call#call_analyzed"));
    summary.apply(&retell_end("call_analyzed", "agent_hangup", json!({})));
    assert_eq!(summary.index_pk(), None);
    assert_eq!(text(&summary.0, keys::GSI4SK), None);
    assert!(text(&summary.0, CLOSED_AT).is_some());
    assert_eq!(text(&summary.0, LIFECYCLE_ATTR), Some("retell_call"));
}

#[test]
fn the_furthest_fact_decides_where_a_lifecycle_stands() {
    let seen =
        |names: &'static [&'static str]| move |fact: &str| names.contains(&fact).then(|| at(T0));
    assert_eq!(standing(&RETELL_CALL, seen(&[])), Standing::NotOpened);
    assert_eq!(
        standing(&RETELL_CALL, seen(&["call_inbound"])),
        Standing::Waiting {
            expected: 1,
            since: at(T0)
        }
    );
    // A call that never connected has no call_started: the end implies it.
    assert_eq!(
        standing(&RETELL_CALL, seen(&["call_inbound", "call_ended"])),
        Standing::Waiting {
            expected: 3,
            since: at(T0)
        }
    );
    assert_eq!(
        standing(&RETELL_CALL, seen(&["call_analyzed"])),
        Standing::Closed
    );
    assert_eq!(
        missing(&RETELL_CALL, 1),
        ["call_started", "call_ended", "call_analyzed"]
    );
    let waits = Waits::default();
    assert_eq!(due_at(&SALPRE_CALL, 1, at(T0), &waits), at(T0 + 15_300_000));
    assert_eq!(
        overdue_before(&RETELL_CALL, 3, at(T0), &waits),
        at(T0 - 900_000)
    );
}

#[test]
fn a_late_closing_fact_is_measured_from_the_wait_it_missed() {
    let late = closed_late_by("2026-11-23T16:00:00.000Z", "2026-11-23T16:12:30.000Z").unwrap();
    assert_eq!(late.as_secs(), 750);
    assert_eq!(closed_late_by("", "2026-11-23T16:12:30.000Z"), None);
}

// The verdict table (docs/lifecycles.md), one test per row.

#[test]
fn salpre_answered_is_call_answered() {
    let mut call = Summary::default();
    call.apply(&salpre("call_initiated", "inbound", ""))
        .apply(&salpre("call_answered", "inbound", ""))
        .apply(&salpre("call_ended", "inbound", SPOKE));
    assert_eq!(call.verdict(), Verdict::Answered);
}

#[test]
fn salpre_missed_is_an_inbound_call_ended_without_a_customer_turn_nor_call_answered() {
    let mut call = Summary::default();
    call.apply(&salpre("call_initiated", "inbound", ""))
        .apply(&salpre("call_ended", "inbound", AI_ONLY));
    assert_eq!(call.verdict(), Verdict::Missed);
    // The same call outbound: nobody picked up, but nobody missed a call.
    let mut outbound = Summary::default();
    outbound
        .apply(&salpre("call_initiated", "outbound", ""))
        .apply(&salpre("call_ended", "outbound", AI_ONLY));
    assert_eq!(outbound.verdict(), Verdict::Ended);
}

#[test]
fn salpre_failed_is_an_error_event() {
    let mut call = Summary::default();
    call.apply(&salpre("call_initiated", "inbound", ""))
        .apply(&salpre_error());
    assert_eq!(call.verdict(), Verdict::Failed);
}

#[test]
fn salpre_incomplete_is_no_call_ended_within_its_wait() {
    let mut call = Summary::default();
    call.apply(&salpre("call_initiated", "inbound", ""))
        .apply(&salpre("call_answered", "inbound", ""));
    assert_eq!(call.verdict(), Verdict::Answered, "not yet flagged");
    call.flagged();
    assert_eq!(call.verdict(), Verdict::Incomplete);
    call.apply(&salpre("call_ended", "inbound", SPOKE));
    assert_eq!(call.verdict(), Verdict::Answered, "closed late");
}

#[test]
fn retell_answered_is_a_connected_call_with_a_start() {
    let mut call = Summary::default();
    call.apply(&retell_inbound())
        .apply(&retell("call_started", json!({})))
        .apply(&retell_end("call_ended", "agent_hangup", json!({})))
        .apply(&retell_end("call_analyzed", "agent_hangup", json!({})));
    assert_eq!(call.verdict(), Verdict::Answered);
}

#[test]
fn retell_missed_is_voicemail_a_cancelled_transfer_or_a_caller_gone_before_anyone_spoke() {
    for (kind, reason, extra) in [
        ("call_ended", "voicemail_reached", json!({})),
        (
            "transfer_cancelled",
            "",
            json!({"call_status": "ongoing", "transfer_destination": "+14155550000"}),
        ),
        (
            "call_ended",
            "user_hangup",
            json!({"transcript": "", "transcript_object": []}),
        ),
    ] {
        let mut call = Summary::default();
        call.apply(&retell_inbound())
            .apply(&retell_end(kind, reason, extra.clone()));
        assert_eq!(call.verdict(), Verdict::Missed, "{kind} {reason} {extra}");
    }
}

#[test]
fn retell_failed_is_an_error_reason_or_a_call_that_never_connected() {
    for (reason, extra) in [
        ("error_llm_websocket_open", json!({})),
        ("dial_no_answer", json!({})),
        ("", json!({"call_status": "not_connected"})),
    ] {
        let mut call = Summary::default();
        call.apply(&retell_inbound())
            .apply(&retell_end("call_ended", reason, extra.clone()));
        assert_eq!(call.verdict(), Verdict::Failed, "{reason} {extra}");
    }
}

#[test]
fn retell_incomplete_is_any_expected_event_missing_past_its_wait() {
    let mut call = Summary::default();
    call.apply(&retell_inbound());
    assert_eq!(call.verdict(), Verdict::Open);
    call.flagged();
    assert_eq!(call.verdict(), Verdict::Incomplete);
    call.apply(&retell("call_started", json!({})))
        .apply(&retell_end("call_ended", "agent_hangup", json!({})));
    assert_eq!(
        call.verdict(),
        Verdict::Incomplete,
        "call_analyzed still missing"
    );
    call.apply(&retell_end("call_analyzed", "agent_hangup", json!({})));
    assert_eq!(call.verdict(), Verdict::Answered);
}

#[test]
fn voxtelesys_answered_is_a_dial_answered() {
    let mut call = Summary::default();
    call.apply(&vox("voice", ""))
        .apply(&vox(
            "dial",
            "&DialCallStatus=completed&DialCallDuration=42&DialCallSid=CA2",
        ))
        .apply(&vox("status", "&CallStatus=completed"));
    assert_eq!(call.verdict(), Verdict::Answered);
}

#[test]
fn voxtelesys_missed_is_no_answer_busy_or_canceled() {
    for status in ["no-answer", "busy", "canceled"] {
        let mut call = Summary::default();
        call.apply(&vox("voice", ""))
            .apply(&vox("status", &format!("&CallStatus={status}")));
        assert_eq!(call.verdict(), Verdict::Missed, "{status}");
    }
    let mut dialled = Summary::default();
    dialled
        .apply(&vox("voice", ""))
        .apply(&vox("dial", "&DialCallStatus=no-answer&DialCallSid=CA2"));
    assert_eq!(dialled.verdict(), Verdict::Missed);
}

#[test]
fn voxtelesys_failed_is_status_failed() {
    let mut call = Summary::default();
    call.apply(&vox("voice", ""))
        .apply(&vox("status", "&CallStatus=failed"));
    assert_eq!(call.verdict(), Verdict::Failed);
}

#[test]
fn voxtelesys_ended_is_completed_with_nobody_dialled() {
    let mut call = Summary::default();
    call.apply(&vox("voice", ""))
        .apply(&vox("status", "&CallStatus=completed"));
    assert_eq!(call.verdict(), Verdict::Ended);
}

#[test]
fn voxtelesys_incomplete_is_no_final_status_within_its_wait() {
    let mut call = Summary::default();
    call.apply(&vox("voice", ""))
        .apply(&vox("status", "&CallStatus=in-progress"));
    assert_eq!(call.index_pk(), Some("OPEN#voxtelesys_call#status"));
    call.flagged();
    assert_eq!(call.verdict(), Verdict::Incomplete);
}

#[test]
fn zonitel_incoming_calls_have_no_closing_event_and_stay_open() {
    let body = format!(r#"{{"caller_id_number": "{CALLER}", "destination_number": "{OURS}"}}"#);
    let call = zonitel::parse_incoming_call(body.as_bytes()).unwrap();
    let event = zonitel::incoming_call_event(&call, &body, at(T0)).unwrap();
    let mut summary = Summary::default();
    summary.apply(&zonitel::incoming_call_plan(&event, 30));
    assert_eq!(summary.verdict(), Verdict::Open);
    assert_eq!(summary.index_pk(), None, "never swept");
}

#[test]
fn zonitel_sms_delivered_failed_and_stuck() {
    let mut delivered = Summary::default();
    delivered
        .apply(&sms("sent", "outbound"))
        .apply(&sms("delivered", "outbound"));
    assert_eq!(delivered.verdict(), Verdict::Delivered);
    assert_eq!(delivered.index_pk(), None);

    let mut failed = Summary::default();
    failed
        .apply(&sms("sent", "outbound"))
        .apply(&sms("failed", "outbound"));
    assert_eq!(failed.verdict(), Verdict::Failed);

    let mut stuck = Summary::default();
    stuck.apply(&sms("sent", "outbound"));
    assert_eq!(
        stuck.index_pk(),
        Some("OPEN#zonitel_sms_outbound#final_status")
    );
    stuck.flagged();
    assert_eq!(stuck.verdict(), Verdict::Incomplete);

    let mut inbound = Summary::default();
    inbound.apply(&sms("received", "inbound"));
    assert_eq!(
        inbound.index_pk(),
        None,
        "an inbound message ends on arrival"
    );
}

#[test]
fn twilio_answered_is_a_dial_completed() {
    let mut call = Summary::default();
    call.apply(&twilio_call(TwilioHook::Voice, ""))
        .apply(&twilio_call(
            TwilioHook::Dial,
            "&DialCallStatus=completed&DialCallDuration=42&DialCallSid=CA2",
        ))
        .apply(&twilio_call(
            TwilioHook::CallStatus,
            "&CallStatus=completed",
        ));
    assert_eq!(call.verdict(), Verdict::Answered);
    assert_eq!(call.index_pk(), None, "closed");
}

#[test]
fn twilio_missed_is_a_dial_nobody_took_or_no_answer_busy_canceled() {
    for status in ["no-answer", "busy", "failed", "canceled"] {
        let mut call = Summary::default();
        call.apply(&twilio_call(TwilioHook::Voice, ""))
            .apply(&twilio_call(
                TwilioHook::Dial,
                &format!("&DialCallStatus={status}&DialCallSid=CA2"),
            ))
            // The call then ends normally: still missed.
            .apply(&twilio_call(
                TwilioHook::CallStatus,
                "&CallStatus=completed",
            ));
        assert_eq!(call.verdict(), Verdict::Missed, "dial {status}");
    }
    for status in ["no-answer", "busy", "canceled"] {
        let mut call = Summary::default();
        call.apply(&twilio_call(TwilioHook::Voice, ""))
            .apply(&twilio_call(
                TwilioHook::CallStatus,
                &format!("&CallStatus={status}"),
            ));
        assert_eq!(call.verdict(), Verdict::Missed, "status {status}");
    }
}

#[test]
fn twilio_our_twiml_taking_the_call_is_not_an_answer() {
    let mut call = Summary::default();
    call.apply(&twilio_call(TwilioHook::Voice, ""))
        .apply(&twilio_call(
            TwilioHook::CallStatus,
            "&CallStatus=in-progress",
        ))
        .apply(&twilio_call(
            TwilioHook::CallStatus,
            "&CallStatus=completed",
        ));
    assert_eq!(call.verdict(), Verdict::Ended);
}

#[test]
fn twilio_failed_is_status_failed() {
    let mut call = Summary::default();
    call.apply(&twilio_call(TwilioHook::Voice, ""))
        .apply(&twilio_call(TwilioHook::CallStatus, "&CallStatus=failed"));
    assert_eq!(call.verdict(), Verdict::Failed);
}

#[test]
fn twilio_incomplete_is_no_final_status_within_its_wait() {
    let mut call = Summary::default();
    call.apply(&twilio_call(TwilioHook::Voice, ""))
        .apply(&twilio_call(TwilioHook::CallStatus, "&CallStatus=ringing"));
    assert_eq!(call.index_pk(), Some("OPEN#twilio_call#status"));
    call.flagged();
    assert_eq!(call.verdict(), Verdict::Incomplete);
    // The final status arriving late closes it: the verdict is what it says.
    call.apply(&twilio_call(
        TwilioHook::CallStatus,
        "&CallStatus=no-answer",
    ));
    assert_eq!(call.index_pk(), None);
    assert_eq!(call.verdict(), Verdict::Missed);
}

#[test]
fn twilio_sms_delivered_failed_and_stuck() {
    let status = TwilioHook::MessageStatus;
    for final_status in ["delivered", "read"] {
        let mut delivered = Summary::default();
        delivered
            .apply(&twilio_sms(status, "queued"))
            .apply(&twilio_sms(status, final_status));
        assert_eq!(delivered.verdict(), Verdict::Delivered, "{final_status}");
        assert_eq!(delivered.index_pk(), None);
    }
    for final_status in ["failed", "undelivered"] {
        let mut failed = Summary::default();
        failed
            .apply(&twilio_sms(status, "sent"))
            .apply(&twilio_sms(status, final_status));
        assert_eq!(failed.verdict(), Verdict::Failed, "{final_status}");
        assert_eq!(failed.index_pk(), None);
    }
    let mut stuck = Summary::default();
    stuck.apply(&twilio_sms(status, "queued"));
    assert_eq!(
        stuck.index_pk(),
        Some("OPEN#twilio_sms_outbound#final_status")
    );
    stuck.flagged();
    assert_eq!(stuck.verdict(), Verdict::Incomplete);

    let mut inbound = Summary::default();
    inbound.apply(&twilio_sms(TwilioHook::Messages, "received"));
    assert_eq!(
        inbound.index_pk(),
        None,
        "an inbound message ends on arrival"
    );
}
