//! The rules over stream records in Lambda's DynamoDB event shape
//! (fixtures/*.json, one record each).

use super::*;

#[derive(Deserialize)]
struct Record {
    #[serde(rename = "eventName")]
    event_name: String,
    dynamodb: Change,
}

#[derive(Deserialize)]
struct Change {
    #[serde(rename = "OldImage", default)]
    old_image: Option<Image>,
    #[serde(rename = "NewImage", default)]
    new_image: Option<Image>,
}

fn fixture(name: &str) -> Result<Option<Alert>, MalformedRecord> {
    let text = match name {
        "missed_inbound_call" => include_str!("fixtures/missed_inbound_call.json"),
        "missed_call_first_delivery" => include_str!("fixtures/missed_call_first_delivery.json"),
        "missed_call_ends_later" => include_str!("fixtures/missed_call_ends_later.json"),
        "failed_call" => include_str!("fixtures/failed_call.json"),
        "failed_outbound_sms" => include_str!("fixtures/failed_outbound_sms.json"),
        "delivered_sms" => include_str!("fixtures/delivered_sms.json"),
        "failed_after_delivered_sms" => include_str!("fixtures/failed_after_delivered_sms.json"),
        "answered_then_unanswered" => include_str!("fixtures/answered_then_unanswered.json"),
        "test_missed_call" => include_str!("fixtures/test_missed_call.json"),
        "ttl_remove_missed_call" => include_str!("fixtures/ttl_remove_missed_call.json"),
        "call_event_insert" => include_str!("fixtures/call_event_insert.json"),
        "malformed_summary" => include_str!("fixtures/malformed_summary.json"),
        other => panic!("no fixture {other}"),
    };
    let record: Record = serde_json::from_str(text).expect("fixture parses");
    alert_for_record(
        &record.event_name,
        &record.dynamodb.old_image.unwrap_or_default(),
        &record.dynamodb.new_image.unwrap_or_default(),
    )
}

fn alert(name: &str) -> Alert {
    fixture(name)
        .expect("well formed")
        .unwrap_or_else(|| panic!("{name} should alert"))
}

#[test]
fn a_call_becoming_missed_alerts_with_its_parties() {
    let alert = alert("missed_inbound_call");
    assert_eq!(alert.alert_type, AlertType::MissedCall);
    assert_eq!(alert.provider, "salpre");
    assert_eq!(alert.call_id.as_deref(), Some("sal-1001"));
    assert_eq!(alert.message_id, None);
    assert_eq!(alert.from.as_deref(), Some("+14155552671"));
    assert_eq!(alert.to.as_deref(), Some("+18339664835"));
    assert_eq!(alert.caller_name.as_deref(), Some("John Doe"));
    assert_eq!(alert.occurred_at, "2026-11-23T15:51:52.000Z");
    assert_eq!(alert.detail, None);
    assert_eq!(
        alert.subject(),
        "Missed call from +1 415 555 2671 to +1 833 966 4835"
    );
}

#[test]
fn a_first_delivery_that_is_already_missed_alerts_with_the_recording() {
    let alert = alert("missed_call_first_delivery");
    assert_eq!(alert.alert_type, AlertType::MissedCall);
    assert_eq!(alert.provider, "voxtelesys");
    assert_eq!(
        alert.detail.as_deref(),
        Some("https://media.voxtelesys.net/rec/RE9.mp3")
    );
    assert_eq!(alert.occurred_at, "2026-11-23T15:52:10.500Z");
}

#[test]
fn a_failed_call_alerts_with_the_providers_error() {
    let alert = alert("failed_call");
    assert_eq!(alert.alert_type, AlertType::CallError);
    assert_eq!(alert.detail.as_deref(), Some("SIP 503 Service Unavailable"));
    assert_eq!(alert.occurred_at, "2026-11-23T15:53:04.250Z");
    // Outbound: the caller is our line.
    assert_eq!(alert.our_number(), Some("+18339664835"));
    assert_eq!(
        alert.subject(),
        "Call failed: +1 833 966 4835 to +1 415 555 2671"
    );
}

#[test]
fn a_failed_outbound_sms_alerts_with_the_providers_message() {
    let alert = alert("failed_outbound_sms");
    assert_eq!(alert.alert_type, AlertType::SmsFailed);
    assert_eq!(alert.provider, "zonitel");
    assert_eq!(alert.message_id.as_deref(), Some("msg-9"));
    assert_eq!(alert.call_id, None);
    assert_eq!(
        alert.detail.as_deref(),
        Some("Carrier rejected: number unreachable")
    );
    assert_eq!(
        alert.subject(),
        "SMS from +1 833 966 4835 to +1 415 555 2671 failed"
    );
}

#[test]
fn records_that_are_no_new_incident_do_not_alert() {
    for name in [
        "missed_call_ends_later",
        "delivered_sms",
        // Delivered is final: a later `failed` does not make it an incident.
        "failed_after_delivered_sms",
        "answered_then_unanswered",
        "test_missed_call",
        "ttl_remove_missed_call",
        "call_event_insert",
    ] {
        assert_eq!(fixture(name), Ok(None), "{name}");
    }
}

#[test]
fn a_summary_the_rules_cannot_read_is_malformed() {
    let error = fixture("malformed_summary").unwrap_err();
    assert!(error.0.contains("new image"), "{error}");
    assert!(alert_for_record("UPSERT", &Image::default(), &Image::default()).is_err());
}

#[test]
fn one_call_is_one_incident_even_if_it_also_fails_later() {
    let text = include_str!("fixtures/missed_inbound_call.json");
    let record: Record = serde_json::from_str(text).unwrap();
    let missed = record.dynamodb.new_image.unwrap();
    let mut failed = missed.clone();
    failed.insert(
        "failed_at".into(),
        serde_dynamo::AttributeValue::S("2026-11-23T15:52:00.000Z".into()),
    );
    assert_eq!(alert_for_record("MODIFY", &missed, &failed), Ok(None));
}

#[test]
fn inbound_sms_failures_and_unknown_items_never_alert() {
    let text = include_str!("fixtures/failed_outbound_sms.json");
    let record: Record = serde_json::from_str(text).unwrap();
    let mut new = record.dynamodb.new_image.unwrap();
    new.insert(
        "direction".into(),
        serde_dynamo::AttributeValue::S("inbound".into()),
    );
    assert_eq!(
        alert_for_record("INSERT", &Image::default(), &new),
        Ok(None)
    );
    new.insert(
        "item_type".into(),
        serde_dynamo::AttributeValue::S("number_config".into()),
    );
    assert_eq!(
        alert_for_record("INSERT", &Image::default(), &new),
        Ok(None)
    );
}

#[test]
fn message_is_json_with_the_contract_fields_and_filterable_attributes() {
    let alert = alert("failed_outbound_sms");
    let body: serde_json::Value = serde_json::from_str(&alert.message_body()).unwrap();
    for field in [
        "alert_type",
        "provider",
        "message_id",
        "from",
        "to",
        "caller_name",
        "occurred_at",
        "detail",
    ] {
        assert!(body.get(field).is_some(), "{field} missing from {body}");
    }
    assert_eq!(body["alert_type"], "sms_failed");
    assert!(body["occurred_at"]
        .as_str()
        .unwrap()
        .parse::<Timestamp>()
        .is_ok());
    assert_eq!(body["alert_id"], alert.alert_id());
    assert_eq!(
        alert.message_attributes(),
        [
            ("alert_id", alert.alert_id()),
            ("alert_type", "sms_failed".to_string()),
            ("provider", "zonitel".to_string())
        ]
    );
}

#[test]
fn the_alert_id_is_the_incidents_and_stays_what_it_is() {
    let alert = alert("failed_outbound_sms");
    let id = alert.alert_id();
    assert_eq!(id.len(), 32);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    // Whatever else the message says, the incident decides the id.
    let mut relabelled = alert.clone();
    relabelled.line_label = Some("Support".into());
    relabelled.detail = Some("other words".into());
    relabelled.occurred_at = "2030-01-01T00:00:00.000Z".into();
    assert_eq!(relabelled.alert_id(), id);
    // Another type, provider or message is another incident.
    let mut other = alert.clone();
    other.alert_type = AlertType::CallError;
    assert_ne!(other.alert_id(), id);
    let mut other = alert.clone();
    other.provider = "retell".into();
    assert_ne!(other.alert_id(), id);
    let mut other = alert.clone();
    other.message_id = Some("another".into());
    assert_ne!(other.alert_id(), id);
    // A call and a message with the same id are different incidents.
    let mut call = alert.clone();
    call.call_id = call.message_id.take();
    assert_ne!(call.alert_id(), id);
    // Pinned: a changed formula would send every recent alert again.
    let pinned: Alert = serde_json::from_value(serde_json::json!({
        "alert_type": "missed_call",
        "provider": "salpre",
        "call_id": "sal-1",
        "occurred_at": "",
    }))
    .unwrap();
    assert_eq!(pinned.alert_id(), PINNED_ALERT_ID);
}

const PINNED_ALERT_ID: &str = "7ae136500ca555327c02c55dd1b373ed";

#[test]
fn subject_uses_the_line_label_and_stays_short_printable_ascii() {
    let mut alert = alert("missed_inbound_call");
    alert.line_label = Some("Support".into());
    assert_eq!(
        alert.subject(),
        "Missed call from +1 415 555 2671 to Support"
    );
    alert.line_label = Some("Caf\u{e9}\nline ".repeat(30));
    let subject = alert.subject();
    assert!(subject.len() < 100, "{subject}");
    assert!(subject.chars().all(|c| c.is_ascii_graphic() || c == ' '));
    assert!(subject.ends_with("..."));
    alert.from = None;
    alert.line_label = None;
    assert_eq!(
        alert.subject(),
        "Missed call from a withheld number to +1 833 966 4835"
    );
}

#[test]
fn the_subject_names_a_caller_only_in_a_number_or_short_code_shape() {
    let mut alert = alert("missed_inbound_call");
    alert.line_label = Some("Support".into());
    for (caller, shown) in [
        ("+14155552671", "+1 415 555 2671"),
        ("72345", "72345"),
        ("(415) 555-2671", "(415) 555-2671"),
        ("Bank: call 555 0100 now", UNRECOGNISED_CALLER),
        ("anonymous", UNRECOGNISED_CALLER),
        ("12", UNRECOGNISED_CALLER),
    ] {
        alert.from = Some(caller.into());
        assert_eq!(
            alert.subject(),
            format!("Missed call from {shown} to Support"),
            "{caller}"
        );
    }
    // The body keeps the caller ID as it came.
    alert.from = Some("Bank: call 555 0100 now".into());
    assert!(alert.message_body().contains("Bank: call 555 0100 now"));
}

#[test]
fn numbers_read_in_groups_where_the_plan_is_known() {
    assert_eq!(readable_number("+14155552671"), "+1 415 555 2671");
    assert_eq!(readable_number("+442079460958"), "+442079460958");
    assert_eq!(readable_number("+1415"), "+1415");
}

fn salpre_map(body: &str) -> Result<crate::providers::salpre::Mapped, crate::providers::ReadError> {
    use crate::providers::salpre::{map_delivery, parse_delivery};
    let delivery = parse_delivery(body.as_bytes())?;
    let at = crate::time::Timestamp::from_second(1_760_084_700).unwrap();
    map_delivery(&delivery, body, at, 30)
}

/// The summary as the table holds it after the plan's one write, as the
/// stream's new image.
fn salpre_summary_image(mapped: &crate::providers::salpre::Mapped) -> crate::alerts::Image {
    let update = &mapped.plan.updates[0];
    let mut item = update.key();
    for (name, value) in &update.set_once {
        item.insert(name.clone(), value.clone());
    }
    serde_dynamo::Item::from(crate::store::sdk::to_sdk_item(&item))
}

#[test]
fn a_salpre_error_without_a_call_raises_one_call_error_alert() {
    use crate::alerts::{alert_for_record, AlertType, Image};
    let body = r#"{"event_type":"error","timestamp_utc":1760084656,"payload":{"error_message":"Webhook URL misconfigured"}}"#;
    let mapped = salpre_map(body).unwrap();
    let image = salpre_summary_image(&mapped);
    let alert = alert_for_record("INSERT", &Image::default(), &image)
        .unwrap()
        .expect("a call_error alert");
    assert_eq!(alert.alert_type, AlertType::CallError);
    assert_eq!(alert.provider, "salpre");
    assert_eq!(alert.detail.as_deref(), Some("Webhook URL misconfigured"));
    assert_eq!(
        alert.call_id.as_deref(),
        Some(mapped.event.provider_id.as_str())
    );
    assert!(
        alert.subject().contains("error without a call"),
        "{}",
        alert.subject()
    );
    // A retry writes nothing (no stream record); a later change to the same
    // summary is no new incident.
    assert_eq!(alert_for_record("MODIFY", &image, &image).unwrap(), None);
    // A test button's error alerts nobody.
    let test = salpre_map(&body.replace("}}", r#"},"is_test":true}"#)).unwrap();
    assert_eq!(
        alert_for_record("INSERT", &Image::default(), &salpre_summary_image(&test)).unwrap(),
        None
    );
}

/// A summary image as the stream carries it, from JSON of DynamoDB's shape.
fn image(value: serde_json::Value) -> Image {
    serde_json::from_value(value).expect("an image")
}

#[test]
fn a_summary_the_sweeper_flags_alerts_once_naming_what_is_missing() {
    let open = serde_json::json!({
        "PK": {"S": "CALL#salpre#41"}, "SK": {"S": "SUMMARY"}, "item_type": {"S": "call"},
        "provider": {"S": "salpre"}, "call_id": {"S": "41"}, "direction": {"S": "inbound"},
        "from": {"S": "+14155552671"}, "to": {"S": "+18339664835"},
        "answered_at": {"S": "2026-11-23T15:51:27.000Z"}});
    let mut flagged = open.clone();
    flagged["incomplete_at"] = serde_json::json!({"S": "2026-11-23T20:10:00.000Z"});
    flagged["missing"] = serde_json::json!({"L": [{"S": "call_ended"}]});
    let alert = alert_for_record("MODIFY", &image(open), &image(flagged.clone()))
        .unwrap()
        .expect("the flag is an incident");
    assert_eq!(alert.alert_type, AlertType::CallIncomplete);
    assert_eq!(alert.missing, ["call_ended"]);
    assert_eq!(alert.detail.as_deref(), Some("missing: call_ended"));
    assert_eq!(alert.occurred_at, "2026-11-23T20:10:00.000Z");
    assert_eq!(
        alert.subject(),
        "Call from +1 415 555 2671 to +1 833 966 4835 never finished"
    );
    let body: serde_json::Value = serde_json::from_str(&alert.message_body()).unwrap();
    assert_eq!(body["missing"][0], "call_ended");
    assert_eq!(body["alert_type"], "call_incomplete");

    // The late call_ended: the summary stays an incident, no second alert.
    let mut closed = flagged.clone();
    closed["ended_at"] = serde_json::json!({"S": "2026-11-23T20:30:00.000Z"});
    closed["lifecycle_closed_at"] = serde_json::json!({"S": "2026-11-23T20:30:00.000Z"});
    assert_eq!(
        alert_for_record("MODIFY", &image(flagged), &image(closed)).unwrap(),
        None
    );
}

#[test]
fn an_outbound_sms_the_sweeper_flags_is_stuck_and_a_failed_one_is_not() {
    let sent = serde_json::json!({
        "PK": {"S": "SMS#zonitel#m1"}, "SK": {"S": "SUMMARY"}, "item_type": {"S": "sms"},
        "provider": {"S": "zonitel"}, "message_id": {"S": "m1"}, "direction": {"S": "outbound"},
        "from": {"S": "+18339664835"}, "to": {"S": "+14155552671"},
        "sent_at": {"S": "2026-11-23T15:51:27.000Z"}});
    let mut stuck = sent.clone();
    stuck["incomplete_at"] = serde_json::json!({"S": "2026-11-23T20:00:00.000Z"});
    stuck["missing"] = serde_json::json!({"L": [{"S": "final_status"}]});
    let alert = alert_for_record("MODIFY", &image(sent), &image(stuck.clone()))
        .unwrap()
        .expect("stuck");
    assert_eq!(alert.alert_type, AlertType::SmsStuck);
    assert_eq!(alert.message_id.as_deref(), Some("m1"));
    // A failure reported after the flag is no second alert either.
    let mut failed = stuck.clone();
    failed["failed_at"] = serde_json::json!({"S": "2026-11-23T21:00:00.000Z"});
    assert_eq!(
        alert_for_record("MODIFY", &image(stuck), &image(failed)).unwrap(),
        None
    );
}
