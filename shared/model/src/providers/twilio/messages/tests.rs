use super::*;
use crate::attribute::AttributeValue;
use crate::call_answer::{CallAnswer, DEFAULT_MESSAGE};
use crate::event::SmsMoments;
use crate::providers::twilio::{read, Inbound, Reading};
use crate::store::plan::{item_bytes, text, MAX_ITEM_BYTES, MAX_TRANSACTION_BYTES};

/// An inbound MMS as Twilio's messaging URL receives it.
const INBOUND: &str = "ToCountry=US&MediaContentType0=image%2Fjpeg&MediaContentType1=image%2Fpng&ToState=CA&SmsMessageSid=MM0a1b2c3d4e5f60718293a4b5c6d7e8f9&NumMedia=2&ToCity=&FromZip=94103&SmsSid=MM0a1b2c3d4e5f60718293a4b5c6d7e8f9&FromState=CA&SmsStatus=received&FromCity=SAN+FRANCISCO&Body=Hello+%26+welcome&FromCountry=US&To=%2B18339664835&MessagingServiceSid=MG0123&ToZip=&NumSegments=1&MessageSid=MM0a1b2c3d4e5f60718293a4b5c6d7e8f9&AccountSid=AC0123&From=%2B14155552671&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2Fm%2F0&MediaUrl1=https%3A%2F%2Fapi.twilio.com%2Fm%2F1&ApiVersion=2010-04-01";
const MMS_SID: &str = "MM0a1b2c3d4e5f60718293a4b5c6d7e8f9";

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(1_795_449_082_000 + ms).unwrap()
}

fn post(hook: Hook, form: &str, ms: i64) -> Result<Reading, ReadError> {
    let inbound = Inbound {
        hook,
        is_post: true,
        query: "",
        body: form.as_bytes(),
        content_type: Some("application/x-www-form-urlencoded"),
    };
    read(&inbound, at(ms), 30)
}

/// An outbound message's status callback.
fn status(value: &str, extra: &str, ms: i64) -> Reading {
    let form = format!(
        "SmsSid=SM1&SmsStatus={value}&MessageStatus={value}&To=%2B14155552671&MessageSid=SM1&AccountSid=AC0123&From=%2B18339664835&ApiVersion=2010-04-01{extra}"
    );
    post(Hook::MessageStatus, &form, ms).unwrap()
}

fn summary_value(reading: &Reading, name: &str) -> Option<AttributeValue> {
    reading.plan.updates[0]
        .set_once
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

fn status_entry(reading: &Reading) -> &GuardedPut {
    reading
        .plan
        .puts
        .iter()
        .find(|p| p.item.get(keys::ITEM_TYPE) == Some(&s("sms_status")))
        .expect("a status entry")
}

#[test]
fn an_inbound_mms_keeps_its_text_media_and_geography() {
    let reading = post(Hook::Messages, INBOUND, 0).unwrap();
    let event = &reading.event;
    assert_eq!(event.provider, Provider::Twilio);
    assert_eq!(event.channel, Channel::Sms);
    assert_eq!(event.provider_id, MMS_SID);
    assert_eq!(event.kind, "received");
    assert_eq!(event.direction, Some(Direction::Inbound));
    assert_eq!(event.from.as_ref().unwrap().as_str(), "+14155552671");
    assert_eq!(event.to.as_ref().unwrap().as_str(), "+18339664835");
    assert_eq!(event.anomalies, Vec::<String>::new());
    assert_eq!(event.raw, INBOUND);

    let entry = status_entry(&reading);
    assert_eq!(entry.item[PK], s(format!("SMS#twilio#{MMS_SID}")));
    assert_eq!(entry.item[SK], s("STATUS#received"));
    assert_eq!(entry.condition, Some(Condition::item_absent()));
    assert_eq!(
        summary_value(&reading, "message_text"),
        Some(s("Hello & welcome"))
    );
    assert_eq!(summary_value(&reading, "segments"), Some(n(1)));
    assert_eq!(
        summary_value(&reading, "medias"),
        Some(string_list(&[
            "https://api.twilio.com/m/0",
            "https://api.twilio.com/m/1"
        ]))
    );
    assert_eq!(
        summary_value(&reading, "media_content_types"),
        Some(string_list(&["image/jpeg", "image/png"]))
    );
    assert!(summary_value(&reading, "inbound_at").is_some());
    let event_item = &reading.plan.puts[0].item;
    assert_eq!(text(event_item, "from_city"), Some("SAN FRANCISCO"));
    assert_eq!(text(event_item, "messaging_service_sid"), Some("MG0123"));
    // An inbound message ends when it arrives: no lifecycle.
    assert!(reading.plan.updates[0]
        .set
        .iter()
        .all(|(n, _)| n != keys::GSI4PK));
    // And it is answered with an empty <Response/>.
    assert_eq!(reading.answer(None, DEFAULT_MESSAGE), CallAnswer::Nothing);
}

#[test]
fn what_names_no_message_or_status_is_refused() {
    let error = post(Hook::Messages, "From=%2B14155552671&Body=hi", 0).unwrap_err();
    assert_eq!(error.field.as_deref(), Some("MessageSid"));
    let error = post(Hook::MessageStatus, "MessageSid=SM1&To=%2B14155552671", 0).unwrap_err();
    assert_eq!(error.field.as_deref(), Some("MessageStatus"));
    let error = post(Hook::Messages, "MessageSid=SM+1", 0).unwrap_err();
    assert!(error
        .to_string()
        .starts_with("MessageSid: must be printable"));
    // The older names are read when the newer are missing, and named.
    let old = post(
        Hook::MessageStatus,
        "SmsSid=SM1&SmsStatus=sent&From=%2B18339664835&To=%2B14155552671",
        0,
    )
    .unwrap();
    assert_eq!(old.event.provider_id, "SM1");
    assert_eq!(old.event.kind, "sent");
    assert_eq!(
        old.event.anomalies,
        vec![
            "MessageSid: missing; SmsSid read instead".to_string(),
            "MessageStatus: missing; SmsStatus read instead".to_string(),
        ]
    );
}

/// The summary a sequence of plans leaves, as DynamoDB applies them.
fn applied(readings: &[&Reading]) -> crate::store::plan::Item {
    let mut summary = crate::store::plan::Item::new();
    for reading in readings {
        let update = &reading.plan.updates[0];
        for (name, value) in &update.set_once {
            summary.entry(name.clone()).or_insert_with(|| value.clone());
        }
        for (name, value) in &update.set {
            summary.insert(name.clone(), value.clone());
        }
        for name in &update.remove {
            summary.remove(name);
        }
    }
    summary
}

fn derived(summary: &crate::store::plan::Item) -> Option<SmsStatus> {
    let get = |name: &str| text(summary, name).map(str::to_string);
    SmsMoments {
        inbound_at: get("inbound_at"),
        sent_at: get("sent_at"),
        delivered_at: get("delivered_at"),
        failed_at: get("failed_at"),
    }
    .status()
}

#[test]
fn out_of_order_statuses_keep_the_final_one_and_one_entry_each() {
    let queued = status("queued", "", 0);
    let sent = status("sent", "", 1_000);
    let delivered = status("delivered", "", 2_000);
    let read_receipt = status("read", "", 3_000);
    // Delivered arrives first, then the earlier statuses.
    let summary = applied(&[&delivered, &queued, &sent]);
    assert_eq!(derived(&summary), Some(SmsStatus::Delivered));
    let summary = applied(&[&delivered, &queued, &sent, &read_receipt]);
    assert_eq!(derived(&summary), Some(SmsStatus::Delivered));
    let entries: Vec<_> = [&queued, &sent, &delivered, &read_receipt]
        .iter()
        .map(|r| status_entry(r).item[SK].clone())
        .collect();
    assert_eq!(
        entries,
        vec![
            s("STATUS#queued"),
            s("STATUS#sent"),
            s("STATUS#delivered"),
            s("STATUS#read")
        ]
    );
    // A repeated status writes the same entry, so the retry collides.
    let again = status("delivered", "", 60_000);
    assert_eq!(
        status_entry(&again).item[SK],
        status_entry(&delivered).item[SK]
    );
    // Queued is Twilio's, documented, and not ranked: no moment, no anomaly.
    assert!(queued.event.anomalies.is_empty());
    assert_eq!(queued.event.kind, "queued");
    assert!(summary_value(&queued, "sent_at").is_none());
    assert_eq!(status_entry(&queued).item["known"], b(true));
}

#[test]
fn failed_and_undelivered_carry_what_the_alert_says() {
    for value in ["failed", "undelivered"] {
        let reading = status(
            value,
            "&ErrorCode=30003&ErrorMessage=Unreachable+destination+handset",
            0,
        );
        assert_eq!(reading.event.direction, Some(Direction::Outbound));
        assert!(summary_value(&reading, "failed_at").is_some(), "{value}");
        assert_eq!(
            summary_value(&reading, "failure_message"),
            Some(s(format!(
                "Twilio reported {value} (ErrorCode 30003): Unreachable destination handset"
            )))
        );
        assert_eq!(summary_value(&reading, "error_code"), Some(s("30003")));
        assert_eq!(status_entry(&reading).item["error_code"], s("30003"));
        let summary = applied(&[&status("sent", "", 0), &reading]);
        assert_eq!(derived(&summary), Some(SmsStatus::Failed));
    }
    let bare = status("failed", "", 0);
    assert_eq!(
        summary_value(&bare, "failure_message"),
        Some(s("Twilio reported failed"))
    );
    // Delivered first stays delivered: a later failure is no incident.
    let summary = applied(&[
        &status("delivered", "", 0),
        &status("failed", "&ErrorCode=30008", 1),
    ]);
    assert_eq!(derived(&summary), Some(SmsStatus::Delivered));
}

#[test]
fn unknown_statuses_and_odd_fields_are_kept_and_named() {
    let odd = status("Teleported", "", 0);
    assert_eq!(odd.event.kind, "Teleported");
    assert_eq!(ranked(&odd.event.kind), None);
    assert!(
        summary_value(&odd, "delivered_at").is_none() && summary_value(&odd, "sent_at").is_none()
    );
    assert_eq!(
        odd.event.anomalies,
        vec![
            r#"MessageStatus: "Teleported" is not in Twilio's documents, kept as sent"#.to_string()
        ]
    );
    assert_eq!(status_entry(&odd).item["known"], b(false));
    let upper = status("DELIVERED", "", 0);
    assert_eq!(upper.event.kind, "delivered");
    assert!(summary_value(&upper, "delivered_at").is_some());

    let media_mismatch = post(
        Hook::Messages,
        &INBOUND.replace("NumMedia=2", "NumMedia=3"),
        0,
    )
    .unwrap();
    assert_eq!(
        media_mismatch.event.anomalies,
        vec!["NumMedia: 3, but 2 MediaUrl parameters came; those that came are read".to_string()]
    );
    let segments = post(
        Hook::Messages,
        &INBOUND.replace("NumSegments=1", "NumSegments=x"),
        0,
    )
    .unwrap();
    assert_eq!(summary_value(&segments, "segments"), None);
    assert_eq!(segments.event.anomalies.len(), 1);
    let wrong_status = post(
        Hook::Messages,
        &INBOUND.replace("SmsStatus=received", "SmsStatus=sent"),
        0,
    )
    .unwrap();
    assert_eq!(wrong_status.event.kind, "received");
    assert!(wrong_status.event.anomalies[0].starts_with("SmsStatus: \"sent\" on the messaging URL"));
    let received_on_status = status("received", "", 0);
    assert_eq!(received_on_status.event.direction, Some(Direction::Inbound));
    assert!(!received_on_status.event.anomalies.is_empty());
    let repeated = post(Hook::Messages, &format!("{INBOUND}&Body=second"), 0).unwrap();
    assert_eq!(
        summary_value(&repeated, "message_text"),
        Some(s("Hello & welcome"))
    );
    assert_eq!(
        repeated.event.anomalies,
        vec!["Body: sent more than once; the first value is read".to_string()]
    );
}

#[test]
fn sizes_are_bounded_and_plans_fit() {
    let body = "é".repeat(INLINE_TEXT_BYTES);
    let encoded: String = form_urlencoded::byte_serialize(body.as_bytes()).collect();
    let form = INBOUND.replace("Body=Hello+%26+welcome", &format!("Body={encoded}"));
    let reading = post(Hook::Messages, &form, 0).unwrap();
    let kept = summary_value(&reading, "message_text").unwrap();
    let kept = kept.as_s().unwrap();
    assert!(kept.len() <= INLINE_TEXT_BYTES && body.starts_with(kept.as_str()));
    assert!(reading.event.anomalies[0].starts_with("Body: "));
    let many: String = (0..150)
        .map(|i| format!("&MediaUrl{i}=https%3A%2F%2Fx%2F{i}"))
        .collect();
    let reading = post(
        Hook::Messages,
        &format!("MessageSid=MM1&From=%2B14155552671&To=%2B18339664835{many}"),
        0,
    )
    .unwrap();
    let AttributeValue::L(medias) = summary_value(&reading, "medias").unwrap() else {
        panic!("medias is a list");
    };
    assert_eq!(medias.len(), MAX_MEDIAS);
    assert_eq!(medias[10], s("https://x/10"), "in index order");
    assert!(reading
        .event
        .anomalies
        .iter()
        .any(|a| a.starts_with("MediaUrl: more than")));
    for reading in [&reading, &post(Hook::Messages, &form, 0).unwrap()] {
        assert!(reading.plan.bytes() <= MAX_TRANSACTION_BYTES);
        for put in &reading.plan.puts {
            assert!(item_bytes(&put.item) <= MAX_ITEM_BYTES);
        }
    }
}
