//! Every plan a delivery can make, at the largest body the platform
//! delivers, goes to DynamoDB within its limits: each item under 400 KB,
//! the deciding transaction within 100 actions and 4 MB, and the split
//! values whole again when their parts are put back together.

use super::*;
use crate::ingest::decode::BodyDecoding;
use crate::ingest::delivery::{Delivery, Route};
use crate::providers::retell::events as retell_events;
use crate::providers::voxtelesys::Hook;
use crate::store::plan::{s, Condition, Item, MAX_ITEM_BYTES};
use crate::time::Timestamp;
use proptest::prelude::*;

/// The platform's limit (`MAX_BODY_BYTES` of the `callhooks` crate's
/// `http` module).
const LARGEST: usize = 6 * 1024 * 1024;

fn at() -> Timestamp {
    Timestamp::from_second(1_795_449_082).unwrap()
}

fn delivery(route: Route, body: Vec<u8>) -> Delivery {
    Delivery {
        route,
        is_post: true,
        content_type: Some("application/json".into()),
        query: String::new(),
        body,
        decoding: BodyDecoding::AsSent,
        user_agent: None,
        received_at: at(),
    }
}

/// Text of `len` bytes: words, some of them not ASCII, so splits meet
/// characters of every width.
fn text(len: usize) -> String {
    let mut out = String::with_capacity(len + 8);
    let words = ["hello ", "José ", "😀 ", "Grüße ", "réservation "];
    let mut i = 0;
    while out.len() < len {
        out.push_str(words[i % words.len()]);
        i += 1;
    }
    while out.len() > len {
        out.pop();
    }
    out
}

/// A JSON body of about `len` bytes around `template`, whose `{}` is
/// replaced by a long text.
fn around(template: &str, len: usize) -> Vec<u8> {
    let room = len.saturating_sub(template.len());
    template.replace("{}", &text(room)).into_bytes()
}

/// Retell's `call_ended` as a long call sends it: the transcript as text,
/// as utterances with word timings, and with tool calls.
pub(crate) fn retell_call_ended(len: usize) -> Vec<u8> {
    let mut utterances = Vec::new();
    let mut body_len = 0;
    let mut second = 0.0_f64;
    while body_len < len * 4 / 10 {
        let words: Vec<String> = (0..12)
            .map(|w| {
                second += 0.31;
                format!(
                    r#"{{"word":"word{w}","start":{:.3},"end":{:.3}}}"#,
                    second,
                    second + 0.25
                )
            })
            .collect();
        let utterance = format!(
            r#"{{"role":"{}","content":"Grüße, this is turn {} of a long call","words":[{}]}}"#,
            if utterances.len() % 2 == 0 {
                "agent"
            } else {
                "user"
            },
            utterances.len(),
            words.join(",")
        );
        body_len += utterance.len();
        utterances.push(utterance);
    }
    let object = utterances.join(",");
    let transcript = text(len.saturating_sub(2 * object.len()) / 2);
    format!(
        r#"{{"event":"call_ended","call":{{"call_id":"call_long","call_type":"phone_call","direction":"inbound","from_number":"+12137771234","to_number":"+12137771235","agent_id":"agent_vip","call_status":"ended","start_timestamp":1795441885000,"end_timestamp":1795449085000,"duration_ms":7200000,"disconnection_reason":"user_hangup","transcript":"{transcript}","transcript_object":[{object}],"transcript_with_tool_calls":[{object}],"recording_url":"https://retellai.example/r.wav"}}}}"#
    )
    .into_bytes()
}

/// The plans of every route at (about) `len` bytes of body.
fn plans(len: usize) -> Vec<(&'static str, WritePlan)> {
    let read = |route: Route, body: Vec<u8>| {
        crate::ingest::read::read(&delivery(route, body), 30)
            .unwrap_or_else(|e| panic!("{route:?}: {}", e.reason))
            .plan
    };
    let mut plans = vec![
        (
            "zonitel call, a long caller name",
            read(
                Route::ZonitelCall,
                around(
                    r#"{"caller_id_name":"{}","caller_id_number":"+14155552671","destination_number":"+18339664835"}"#,
                    len,
                ),
            ),
        ),
        (
            "zonitel sms, a long text",
            read(
                Route::ZonitelSms,
                around(
                    r#"{"status":"received","data":{"id":"m-1","segments":1,"direction":"inbound","messageText":"{}","from":"+10000000010","to":"+10000000020","medias":[]},"message":"ok"}"#,
                    len,
                ),
            ),
        ),
        (
            "salpre, a long final transcript",
            read(
                Route::SalpreEvents,
                around(
                    r#"{"event_type":"call_ended","timestamp_utc":1795449000,"payload":{"call_id":1,"from":"+14155552671","to":"+18339664835","direction":"inbound","transcript":[{"type":"customer","message":"{}"}]}}"#,
                    len,
                ),
            ),
        ),
        (
            "salpre, a long live line",
            read(
                Route::SalpreEvents,
                around(
                    r#"{"event_type":"transcript","timestamp_utc":1795449000,"payload":{"call":{"id":1},"type":"customer","transcript":"{}"}}"#,
                    len,
                ),
            ),
        ),
        (
            "retell inbound, long variables",
            read(
                Route::RetellInbound,
                around(
                    r#"{"event":"call_inbound","call_inbound":{"agent_id":"a","from_number":"+12137771234","to_number":"+12137771235","note":"{}"}}"#,
                    len,
                ),
            ),
        ),
    ];
    let mut speech = delivery(
        Route::Voxtelesys(Hook::Status),
        format!(
            "CallSid=CA1&From=%2B14155552671&To=%2B18339664835&CallStatus=completed&SpeechResult={}",
            "a".repeat(len.saturating_sub(100))
        )
        .into_bytes(),
    );
    speech.content_type = Some("application/x-www-form-urlencoded".into());
    plans.push((
        "voxtelesys, a long speech result",
        crate::ingest::read::read(&speech, 30).unwrap().plan,
    ));
    let body = retell_call_ended(len);
    let raw = std::str::from_utf8(&body).unwrap();
    let retell_events::ParsedCallEvent::Call(event) =
        retell_events::parse_call_event(&body).unwrap()
    else {
        panic!("a call event")
    };
    let identity = crate::ingest::Identity::Digest("0123456789abcdef0123456789abcdef".into());
    let stored = retell_events::call_event(&event, &event.call_id, raw, at(), &identity);
    plans.push((
        "retell call_ended, transcript three times",
        retell_events::call_event_plan(&event, &stored, &identity, 30),
    ));
    for (case, body) in [
        ("unrecognized text", text(len).into_bytes()),
        (
            "unrecognized bytes",
            (0..len).map(|i| (i % 253) as u8 | 0x80).collect(),
        ),
    ] {
        let kept = delivery(Route::SalpreEvents, body);
        plans.push((case, crate::ingest::unrecognized::plan(&kept, "test", 30)));
    }
    plans
}

/// Each item under DynamoDB's item limit, the deciding request within
/// its transaction limits, and every split value whole again.
fn assert_within_limits(case: &str, plan: &WritePlan) {
    let staged = Staged::of(plan);
    staged
        .check_limits()
        .unwrap_or_else(|e| panic!("{case}: {e}"));
    for put in &plan.puts {
        let size = item_bytes(&put.item);
        assert!(size <= MAX_ITEM_BYTES, "{case}: an item of {size} bytes");
    }
    for update in &plan.updates {
        assert!(update.bytes() <= MAX_ITEM_BYTES, "{case}: an update");
    }
    // Every part goes outside the transaction; nothing that decides does.
    assert!(staged
        .puts
        .iter()
        .all(|p| item_sk(p).is_none_or(|sk| !is_part_sk(sk))));
    assert!(staged.part_puts.iter().all(|p| p.condition.is_none()));
    // The event (or unrecognized record) counts its parts, and they are
    // all there, in order, to be put back together.
    let mut items: Vec<Item> = plan.puts.iter().map(|p| p.item.clone()).collect();
    items.sort_by(|a, b| item_sk_of(a).cmp(item_sk_of(b)));
    if items.iter().any(|i| i.contains_key("raw_bytes")) {
        // Bytes that are not text (an unrecognized delivery): every byte
        // in one of the owner's parts, in order.
        let bytes: usize = items
            .iter()
            .filter_map(|i| i.get("raw_bytes")?.as_b().ok())
            .map(|b| b.len())
            .sum();
        let owner = items.iter().find(|i| i.contains_key("body_bytes")).unwrap();
        assert_eq!(owner["body_bytes"], crate::store::plan::n(bytes), "{case}");
        return;
    }
    for (owner, raw) in reassembled(&items) {
        assert!(raw.is_some(), "{case}: {owner} lacks a part");
    }
}

/// Each item that counts `raw_parts`, with its raw text put back together
/// from its parts `<owner>#PART#0001`... (`None` when one is missing), as
/// the reads of the `callhooks` crate do.
fn reassembled(items: &[Item]) -> Vec<(String, Option<String>)> {
    items
        .iter()
        .filter_map(|owner| {
            let count: usize = owner.get("raw_parts")?.as_n().ok()?.parse().ok()?;
            let sk = item_sk_of(owner).to_string();
            let raw = (1..=count)
                .map(|index| {
                    let part_sk = keys::part_sk(&sk, index);
                    items
                        .iter()
                        .find(|i| item_sk_of(i) == part_sk)
                        .and_then(|i| i.get("raw")?.as_s().ok().cloned())
                })
                .collect::<Option<String>>();
            Some((sk, raw))
        })
        .collect()
}

fn item_sk_of(item: &Item) -> &str {
    item.get(keys::SK)
        .and_then(|v| v.as_s().ok())
        .map_or("", String::as_str)
}

#[test]
fn every_plan_fits_dynamodb_at_the_platforms_largest_body() {
    for (case, plan) in plans(LARGEST) {
        assert_within_limits(case, &plan);
        // At this size the raw body is in parts, all outside the
        // transaction.
        let staged = Staged::of(&plan);
        assert!(
            staged.part_puts.len() >= 15,
            "{case}: {} parts",
            staged.part_puts.len()
        );
    }
}

#[test]
fn a_long_raw_body_comes_back_whole_from_its_parts() {
    let body = retell_call_ended(2_400_000);
    let raw = std::str::from_utf8(&body).unwrap();
    let retell_events::ParsedCallEvent::Call(event) =
        retell_events::parse_call_event(&body).unwrap()
    else {
        panic!("a call event")
    };
    let identity = crate::ingest::Identity::Digest("0123456789abcdef0123456789abcdef".into());
    let stored = retell_events::call_event(&event, &event.call_id, raw, at(), &identity);
    let plan = retell_events::call_event_plan(&event, &stored, &identity, 30);
    let mut items: Vec<Item> = plan.puts.iter().map(|p| p.item.clone()).collect();
    items.sort_by(|a, b| item_sk_of(a).cmp(item_sk_of(b)));
    let whole = reassembled(&items);
    assert_eq!(whole.len(), 1);
    assert_eq!(whole[0].1.as_deref(), Some(raw));
}

#[test]
fn parts_go_first_and_alone_the_deciding_items_together() {
    let mut plan = WritePlan {
        puts: Vec::new(),
        updates: Vec::new(),
    };
    let put = |sk: &str, condition: Option<Condition>| {
        let mut item = Item::new();
        item.insert(keys::PK.into(), s("CALL#x#1"));
        item.insert(keys::SK.into(), s(sk));
        item.insert("raw".into(), s("r"));
        crate::store::plan::GuardedPut { item, condition }
    };
    plan.puts
        .push(put("EVENT#1", Some(Condition::item_absent())));
    plan.puts.push(put("EVENT#1#PART#0001", None));
    plan.puts.push(put("EVENT#1#PART#0002", None));
    // A guarded item shaped like a part still decides: it stays in.
    plan.puts
        .push(put("GUARD#PART#0001", Some(Condition::item_absent())));
    plan.updates.push(SummaryUpdate::new("SMS#x#1", "SUMMARY"));
    let mut text_part = SummaryUpdate::new("SMS#x#1", keys::part_sk("SUMMARY", 1));
    text_part.set_once("text", s("t"));
    plan.updates.push(text_part);
    let staged = Staged::of(&plan);
    assert_eq!(staged.part_puts.len(), 2);
    assert_eq!(staged.part_updates.len(), 1);
    assert_eq!(staged.puts.len(), 2);
    assert_eq!(staged.updates.len(), 1);
    assert!(staged.is_transaction());
    assert_eq!(staged.action_count(), 3);

    // Over either limit is named.
    let mut many = plan.clone();
    for i in 0..MAX_TRANSACTION_ACTIONS {
        many.puts
            .push(put(&format!("GUARD#{i}"), Some(Condition::item_absent())));
    }
    assert!(Staged::of(&many)
        .check_limits()
        .unwrap_err()
        .to_string()
        .contains("actions"));
    let mut heavy = plan.clone();
    for i in 0..11 {
        let mut big = put(&format!("EVENT#{i}"), Some(Condition::item_absent()));
        big.item.insert("raw".into(), s("x".repeat(380_000)));
        heavy.puts.push(big);
    }
    assert!(Staged::of(&heavy)
        .check_limits()
        .unwrap_err()
        .to_string()
        .contains("bytes"));
    assert!(Staged::of(&plan).check_limits().is_ok());
}

#[test]
fn part_keys_are_recognised_by_their_shape() {
    assert!(is_part_sk(&keys::part_sk("EVENT#2026#call_ended#d", 1)));
    assert!(is_part_sk(&keys::part_sk(keys::SUMMARY_SK, 12_345)));
    assert!(is_part_sk("SPILL#PART#0003"));
    for not_part in [
        "EVENT#x",
        "SUMMARY",
        "#PART#0001",
        "EVENT#PART#",
        "EVENT#PART#00a1",
    ] {
        assert!(!is_part_sk(not_part), "{not_part}");
    }
    // A provider's text cannot forge one: `#` is escaped in key parts.
    let forged = keys::event_sk("2026", "x#PART#0001", "d");
    assert!(!is_part_sk(&forged), "{forged}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Whatever the size, up to the platform's limit.
    #[test]
    fn every_plan_fits_dynamodb_at_any_size(len in 0usize..=LARGEST) {
        for (case, plan) in plans(len) {
            assert_within_limits(case, &plan);
        }
    }
}
