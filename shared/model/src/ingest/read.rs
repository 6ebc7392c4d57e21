//! Reading a delivery with its provider's module: the normalized event and
//! what it writes, or why it could not be read. The one place that knows
//! which provider reads which route, for the webhooks and the spillway alike.

use super::delivery::{Delivery, Route};
use crate::event::Event;
use crate::providers::{retell, salpre, voxtelesys, zonitel, zonitel_sms, ReadError};
use crate::store::plan::WritePlan;
use serde_json::{json, Value};

/// A delivery the provider's module understood, fully or in part (the parts
/// it read around are named in `event.anomalies`).
#[derive(Clone, Debug, PartialEq)]
pub struct Recording {
    pub event: Event,
    pub plan: WritePlan,
    /// What the answer says about the delivery besides its outcome
    /// (`call_id`, `message_id`...), for the JSON routes.
    pub answer: Value,
}

/// Why a delivery could not be read: kept with it as an unrecognized
/// delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable {
    pub reason: String,
}

impl From<ReadError> for Unreadable {
    fn from(error: ReadError) -> Self {
        Unreadable {
            reason: error.to_string(),
        }
    }
}

/// Reads a delivery of any route into its event and plan.
pub fn read(delivery: &Delivery, retention_days: u32) -> Result<Recording, Unreadable> {
    match delivery.route {
        Route::ZonitelCall => read_zonitel_call(delivery, retention_days),
        Route::ZonitelSms => read_zonitel_sms(delivery, retention_days),
        Route::SalpreEvents => read_salpre(delivery, retention_days),
        Route::Voxtelesys(hook) => {
            let callback = read_voxtelesys(delivery, hook)?;
            Ok(Recording {
                plan: callback.plan(retention_days),
                answer: json!({"call_id": callback.event.provider_id}),
                event: callback.event,
            })
        }
        Route::RetellInbound => read_retell_inbound(delivery, retention_days),
        // A call event is joined to its call by a read: see `call_events`,
        // which the webhook and the spillway use instead of this reader.
        Route::RetellEvents => Err(Unreadable {
            reason: "a Retell call event is read with its join (ingest::call_events)".into(),
        }),
    }
}

/// The text of a JSON route's body. A body that is a form (senders
/// mislabel, and some only post forms) is read as a JSON object of its
/// fields, and the anomaly named; anything else that is not JSON text is
/// unreadable.
fn json_body(delivery: &Delivery) -> Result<(Vec<u8>, Option<String>), Unreadable> {
    let payload = delivery.payload();
    let text = std::str::from_utf8(payload).map_err(|e| Unreadable {
        reason: format!("body is not UTF-8 text ({e})"),
    })?;
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') || !looks_like_form(trimmed) {
        return Ok((payload.to_vec(), None));
    }
    let object: serde_json::Map<String, Value> = form_urlencoded::parse(trimmed.as_bytes())
        .map(|(name, value)| (name.into_owned(), Value::String(value.into_owned())))
        .collect();
    let bytes = serde_json::to_vec(&object).map_err(|e| Unreadable {
        reason: format!("form body could not be read as JSON ({e})"),
    })?;
    Ok((
        bytes,
        Some("body: form-encoded on a JSON route, read as its fields".to_string()),
    ))
}

/// `name=value&name=value`: at least one pair, names of word characters.
fn looks_like_form(text: &str) -> bool {
    let text = text.trim();
    !text.is_empty()
        && text.split('&').all(|pair| {
            let name = pair.split('=').next().unwrap_or("");
            pair.contains('=')
                && !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-[]%+".contains(&b))
        })
}

/// The raw text kept with an event: the body exactly as it came (the BOM
/// too), which the edge already found to be UTF-8.
fn raw_text(delivery: &Delivery) -> Result<&str, Unreadable> {
    let bytes = if delivery.is_post {
        delivery.body.as_slice()
    } else {
        delivery.query.as_bytes()
    };
    std::str::from_utf8(bytes).map_err(|e| Unreadable {
        reason: format!("body is not UTF-8 text ({e})"),
    })
}

fn with_anomaly(mut recording: Recording, anomaly: Option<String>) -> Recording {
    if let Some(anomaly) = anomaly {
        recording.event.anomalies.push(anomaly);
        recording.plan.note_anomalies(&recording.event.anomalies);
    }
    recording
}

fn read_zonitel_call(delivery: &Delivery, retention_days: u32) -> Result<Recording, Unreadable> {
    let (body, anomaly) = json_body(delivery)?;
    let call = zonitel::parse_incoming_call(&body)?;
    let event = zonitel::incoming_call_event(&call, raw_text(delivery)?, delivery.received_at)?;
    let plan = zonitel::incoming_call_plan(&event, retention_days);
    let answer = json!({"call_id": event.provider_id});
    Ok(with_anomaly(
        Recording {
            event,
            plan,
            answer,
        },
        anomaly,
    ))
}

fn read_zonitel_sms(delivery: &Delivery, retention_days: u32) -> Result<Recording, Unreadable> {
    let (body, anomaly) = json_body(delivery)?;
    let notification = zonitel_sms::parse_notification(&body)?;
    let sms = zonitel_sms::sms_delivery(&notification, raw_text(delivery)?, delivery.received_at)?;
    let plan = zonitel_sms::sms_plan(&sms, retention_days);
    let answer = json!({
        "message_id": sms.event.provider_id,
        "sms_status": sms.event.kind,
    });
    Ok(with_anomaly(
        Recording {
            event: sms.event,
            plan,
            answer,
        },
        anomaly,
    ))
}

fn read_salpre(delivery: &Delivery, retention_days: u32) -> Result<Recording, Unreadable> {
    let (body, anomaly) = json_body(delivery)?;
    let parsed = salpre::parse_delivery(&body)?;
    let mapped = salpre::map_delivery(
        &parsed,
        raw_text(delivery)?,
        delivery.received_at,
        retention_days,
    )?;
    let mut answer = json!({"event_type": parsed.event_type});
    if let Some(call) = &mapped.call {
        answer["call_id"] = json!(call.call_id);
    }
    Ok(with_anomaly(
        Recording {
            event: mapped.event,
            plan: mapped.plan,
            answer,
        },
        anomaly,
    ))
}

/// A Voxtelesys callback: its form body (POST) or query string (GET), read
/// by the provider's module from the delivery's plain parts.
pub fn read_voxtelesys(
    delivery: &Delivery,
    hook: voxtelesys::Hook,
) -> Result<voxtelesys::Callback, Unreadable> {
    let inbound = voxtelesys::Inbound {
        method: if delivery.is_post {
            voxtelesys::Method::Post
        } else {
            voxtelesys::Method::Get
        },
        path: Route::Voxtelesys(hook).path(),
        // Stripped of its token at the edge.
        query: &delivery.query,
        body: &delivery.body,
        content_type: delivery.content_type.as_deref(),
    };
    Ok(voxtelesys::read(&inbound, delivery.received_at)?)
}

fn read_retell_inbound(delivery: &Delivery, retention_days: u32) -> Result<Recording, Unreadable> {
    let (body, anomaly) = json_body(delivery)?;
    let request = retell::parse_inbound(&body)?;
    let event = retell::inbound_event(&request, raw_text(delivery)?, delivery.received_at);
    // A spilled copy carries no signature to guard: the retry guard alone
    // recognises the provider's retry of it.
    let plan = retell::inbound_plan(&event, &request, retention_days, None);
    Ok(with_anomaly(
        Recording {
            event,
            plan,
            answer: Value::Null,
        },
        anomaly,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    fn delivery(route: Route, body: &str) -> Delivery {
        Delivery {
            route,
            is_post: true,
            content_type: Some("application/json".into()),
            query: String::new(),
            body: body.as_bytes().to_vec(),
            decoding: Default::default(),
            user_agent: None,
            received_at: Timestamp::from_millisecond(1_795_449_082_000).unwrap(),
        }
    }

    #[test]
    fn a_form_on_a_json_route_is_read_as_its_fields_and_named() {
        let recording = read(
            &delivery(
                Route::ZonitelCall,
                "caller_id_name=Ann&caller_id_number=%2B14155552671&destination_number=%2B18339664835",
            ),
            30,
        )
        .unwrap();
        assert_eq!(recording.event.from.unwrap().as_str(), "+14155552671");
        assert_eq!(recording.event.anomalies.len(), 1);
        let event_item = &recording.plan.puts.last().unwrap().item;
        assert!(event_item.contains_key(crate::store::plan::ANOMALIES));
    }

    #[test]
    fn a_byte_order_mark_is_read_past_and_kept_in_the_raw_body() {
        let body = "\u{feff}{\"caller_id_number\": \"+14155552671\", \"destination_number\": \"+18339664835\"}";
        let recording = read(&delivery(Route::ZonitelCall, body), 30).unwrap();
        assert!(recording.event.raw.starts_with('\u{feff}'));
    }

    #[test]
    fn what_no_reader_understands_is_unreadable_with_a_reason() {
        for body in ["not json at all", "[1,2]", "{\"unrelated\": true}", ""] {
            let error = read(&delivery(Route::ZonitelCall, body), 30).unwrap_err();
            assert!(!error.reason.is_empty(), "{body:?}");
        }
        let mut binary = delivery(Route::SalpreEvents, "");
        binary.body = vec![0xff, 0xfe, 0x00];
        assert!(read(&binary, 30).unwrap_err().reason.contains("UTF-8"));
    }

    #[test]
    fn form_detection_is_strict() {
        assert!(looks_like_form("a=1&b=2"));
        assert!(looks_like_form("CallSid=CA1&From=%2B1"));
        assert!(!looks_like_form("hello world"));
        assert!(!looks_like_form("a=1&&b"));
        assert!(!looks_like_form(""));
    }
}
