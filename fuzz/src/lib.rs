//! What every fuzz target checks, in one place.
//!
//! The invariant of the webhooks (docs/testing.md): any
//! input is accepted, or refused with a 4xx whose message says why; never a
//! panic, never a 5xx. A write plan DynamoDB would refuse is a 5xx too (the
//! write fails, the function answers 503, the provider retries the same
//! refused write until it gives up and the event is lost), so every plan a
//! target builds is checked against DynamoDB's documented limits.

use callhooks::attribute::AttributeValue;
use callhooks::auth::SharedSecret;
use callhooks::config::{Contact, NumberConfig};
use callhooks::event::Event;
use callhooks::http::ApiError;
use callhooks::phone::{mask, redact};
use callhooks::store::keys::{GSI1PK, GSI1SK, GSI2PK, GSI2SK, PK, SK};
use callhooks::store::plan::{Item, WritePlan};
use callhooks::time::Timestamp;
use lambda_http::http::{header, HeaderValue, Method};
use lambda_http::{Body, Request};
use std::collections::HashSet;

/// The time every target runs at (the samples' `timeEpoch`).
pub const NOW_MS: i64 = 1_795_449_082_000;
/// The shared secret the targets configure and send.
pub const SECRET: &str = "fuzz-shared-secret";
pub const RETENTION_DAYS: u32 = 30;

pub fn now() -> Timestamp {
    Timestamp::from_millisecond(NOW_MS).expect("a valid time")
}

pub fn secret() -> SharedSecret {
    SharedSecret::new(Some(SECRET))
}

/// A POST as API Gateway hands it over, authenticated with the secret.
pub fn post(path: &str, content_type: &str, body: &[u8]) -> Request {
    let mut req = Request::new(Body::Binary(body.to_vec()));
    *req.method_mut() = Method::POST;
    *req.uri_mut() = path.parse().expect("a valid path");
    let headers = req.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type).expect("a valid content type"),
    );
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {SECRET}")).expect("a valid header"),
    );
    headers.insert(header::HOST, HeaderValue::from_static("hooks.example.com"));
    req
}

/// The handlers' invariant: accepted, or a 4xx with a message. The error
/// is also turned into the response the function would send.
pub fn check<T>(result: Result<T, ApiError>) {
    if let Err(error) = result {
        check_refusal(&error);
    }
}

pub fn check_refusal(error: &ApiError) {
    assert!(
        error.status.is_client_error(),
        "{} ({}) for a bad input: only a 4xx may refuse it",
        error.status,
        error.message
    );
    assert!(
        !error.message.trim().is_empty(),
        "a refusal without a message"
    );
    assert_eq!(error.to_response().status(), error.status);
}

/// What the handlers log about an event, computed as they compute it.
pub fn check_event(event: &Event, raw: &str) {
    assert_eq!(event.raw, raw, "the raw payload is kept as it came");
    let numbers = [event.from.as_ref(), event.to.as_ref()];
    let id = redact(&event.provider_id, &numbers);
    // Masks keep the character count (a sender id may not be ASCII).
    assert_eq!(id.chars().count(), event.provider_id.chars().count());
    for number in numbers.into_iter().flatten() {
        let key = number.as_str();
        assert!(!key.is_empty() && !key.contains('#'), "{key:?}");
        assert!(!key.chars().any(callhooks::phone::is_unsafe_char), "{key:?}");
        if let Some(e164) = number.e164() {
            assert_eq!(callhooks::phone::PhoneNumber::parse(e164).as_ref(), Ok(number));
        }
    }
    let _ = (mask(event.from.as_ref()), mask(event.to.as_ref()));
}

/// A number configuration with every feature on, from docs/providers/retell.md's sample
/// plus a Voxtelesys section, so answers take their longest paths.
pub fn sample_config() -> NumberConfig {
    let mut config: serde_json::Value =
        serde_json::from_str(include_str!("../../examples/number.json")).expect("sample JSON");
    config["voxtelesys"] = serde_json::json!({
        "greeting": "Hello & welcome <to> \"us\"",
        "forward_to": ["+14155552671", "+12137771234"],
        "ring_timeout_s": 25,
        "voicemail": {"enabled": true, "prompt": "Leave a message", "max_length_s": 60}
    });
    serde_json::from_value(config).expect("a valid number configuration")
}

pub fn sample_contact() -> Contact {
    serde_json::from_str(include_str!("../../examples/contact.json")).expect("a valid contact")
}

// DynamoDB's documented limits (Service, account, and table quotas; Data
// types; TransactWriteItems).
const MAX_ACTIONS: usize = 100;
const MAX_PARTITION_KEY_BYTES: usize = 2048;
const MAX_SORT_KEY_BYTES: usize = 1024;
const MAX_ITEM_BYTES: usize = 400 * 1024;
const MAX_TRANSACTION_BYTES: usize = 4 * 1024 * 1024;
const MAX_NESTING: usize = 32;
const MAX_NUMBER_DIGITS: usize = 38;
/// Nonzero numbers lie between 1E-130 and 9.99...E+125 in magnitude.
const NUMBER_EXPONENTS: std::ops::RangeInclusive<i64> = -130..=125;

/// Panics when DynamoDB would refuse the plan's transaction.
pub fn check_plan(plan: &WritePlan) {
    assert!(
        plan.action_count() <= MAX_ACTIONS,
        "{} actions in one transaction",
        plan.action_count()
    );
    let mut targets = HashSet::new();
    let mut total = 0;
    for put in &plan.puts {
        let item = &put.item;
        let key = (key_value(item, PK, true), key_value(item, SK, false));
        for (pk, sk) in [(GSI1PK, GSI1SK), (GSI2PK, GSI2SK)] {
            if item.contains_key(pk) || item.contains_key(sk) {
                key_value(item, pk, true);
                key_value(item, sk, false);
            }
        }
        let mut size = 0;
        for (name, value) in item {
            assert!(!name.is_empty(), "an empty attribute name");
            check_value(name, value, 0);
            size += name.len() + value_size(value);
        }
        assert!(size <= MAX_ITEM_BYTES, "a {size}-byte item");
        total += size;
        if let Some(condition) = &put.condition {
            for (name, value) in &condition.values {
                check_value(name, value, 0);
            }
        }
        assert!(targets.insert(key.clone()), "two actions on {key:?}");
    }
    for update in &plan.updates {
        check_key(PK, &update.pk, MAX_PARTITION_KEY_BYTES);
        check_key(SK, &update.sk, MAX_SORT_KEY_BYTES);
        let mut names = HashSet::new();
        let mut size = update.pk.len() + update.sk.len() + PK.len() + SK.len();
        let sets = update.set_once.iter().chain(&update.set);
        for (name, value) in sets {
            assert!(names.insert(name.as_str()), "{name} updated twice");
            assert!(name != PK && name != SK, "an update of the key {name}");
            assert!(!name.is_empty(), "an empty attribute name");
            check_value(name, value, 0);
            if [GSI1PK, GSI2PK].contains(&name.as_str()) {
                check_key_value(name, value, MAX_PARTITION_KEY_BYTES);
            }
            if [GSI1SK, GSI2SK].contains(&name.as_str()) {
                check_key_value(name, value, MAX_SORT_KEY_BYTES);
            }
            size += name.len() + value_size(value);
        }
        for (name, _) in &update.increment {
            assert!(names.insert(name.as_str()), "{name} updated twice");
            size += name.len() + 21;
        }
        assert!(size <= MAX_ITEM_BYTES, "a {size}-byte update");
        total += size;
        let expression = update.expression();
        for (name, value) in &expression.values {
            check_value(name, value, 0);
        }
        assert!(
            targets.insert((update.pk.clone(), update.sk.clone())),
            "two actions on {:?}",
            (&update.pk, &update.sk)
        );
    }
    assert!(total <= MAX_TRANSACTION_BYTES, "a {total}-byte transaction");
}

fn key_value(item: &Item, name: &str, partition: bool) -> String {
    let value = item
        .get(name)
        .unwrap_or_else(|| panic!("an item without {name}"));
    let limit = if partition {
        MAX_PARTITION_KEY_BYTES
    } else {
        MAX_SORT_KEY_BYTES
    };
    check_key_value(name, value, limit);
    value.as_s().expect("checked").clone()
}

fn check_key_value(name: &str, value: &AttributeValue, limit: usize) {
    match value {
        AttributeValue::S(text) => check_key(name, text, limit),
        other => panic!("{name} is not a string: {other:?}"),
    }
}

fn check_key(name: &str, text: &str, limit: usize) {
    assert!(!text.is_empty(), "{name} is empty");
    assert!(
        text.len() <= limit,
        "{name} is {} bytes, over {limit}",
        text.len()
    );
}

fn check_value(name: &str, value: &AttributeValue, depth: usize) {
    match value {
        AttributeValue::N(number) => {
            if let Err(problem) = check_number(number) {
                panic!("{name}: N {number:?} {problem}");
            }
        }
        AttributeValue::Ns(numbers) => {
            assert!(!numbers.is_empty(), "{name}: an empty set");
            for number in numbers {
                if let Err(problem) = check_number(number) {
                    panic!("{name}: N {number:?} {problem}");
                }
            }
        }
        AttributeValue::Ss(set) => assert!(!set.is_empty(), "{name}: an empty set"),
        AttributeValue::Bs(set) => assert!(!set.is_empty(), "{name}: an empty set"),
        AttributeValue::L(list) => {
            assert!(depth < MAX_NESTING, "{name}: nested deeper than 32 levels");
            for value in list {
                check_value(name, value, depth + 1);
            }
        }
        AttributeValue::M(map) => {
            assert!(depth < MAX_NESTING, "{name}: nested deeper than 32 levels");
            for value in map.values() {
                check_value(name, value, depth + 1);
            }
        }
        _ => {}
    }
}

/// An item's size as DynamoDB counts it, or a little less.
fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(text) => text.len(),
        AttributeValue::N(number) => number.len() / 2 + 1,
        AttributeValue::B(blob) => blob.len(),
        AttributeValue::L(list) => 3 + list.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
        AttributeValue::Ss(set) => set.iter().map(String::len).sum(),
        AttributeValue::Ns(set) => set.iter().map(|n| n.len() / 2 + 1).sum(),
        _ => 1,
    }
}

/// A DynamoDB number: an optional sign, digits with at most one point, an
/// optional exponent; at most 38 significant digits; zero, or a magnitude
/// from 1E-130 to below 1E+126.
pub fn check_number(text: &str) -> Result<(), String> {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => {
            let digits = e.strip_prefix(['-', '+']).unwrap_or(e);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err("has a malformed exponent".into());
            }
            // Past this many digits the magnitude is out of range anyway,
            // unless the number is zero.
            let exponent = e.parse::<i64>().unwrap_or(if e.starts_with('-') {
                i64::MIN / 2
            } else {
                i64::MAX / 2
            });
            (m, exponent)
        }
        None => (unsigned, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return Err("is not a decimal number".into());
    }
    let digits: Vec<u8> = int.bytes().chain(frac.bytes()).collect();
    let Some(first) = digits.iter().position(|&d| d != b'0') else {
        return Ok(()); // zero
    };
    let last = digits
        .iter()
        .rposition(|&d| d != b'0')
        .expect("a nonzero digit");
    if last - first + 1 > MAX_NUMBER_DIGITS {
        return Err(format!(
            "has {} significant digits, over {MAX_NUMBER_DIGITS}",
            last - first + 1
        ));
    }
    // The power of ten of the first significant digit.
    let magnitude = (int.len() as i64 - first as i64 - 1).saturating_add(exponent);
    if !NUMBER_EXPONENTS.contains(&magnitude) {
        return Err(format!("has magnitude 1E{magnitude}, out of range"));
    }
    Ok(())
}

/// A JSON route's delivery through the pipeline's own steps, as the
/// function runs them: accepted (or refused with a 4xx), then read into its
/// event and plan, or, when it cannot be read, planned as an unrecognized
/// delivery. Either way there is a plan that fits DynamoDB's limits: an
/// authenticated delivery is never refused for its content.
pub fn through_pipeline(route: callhooks::ingest::Route, body: &[u8]) -> Result<(), ApiError> {
    use callhooks::ingest::{edge, read, unrecognized};
    let req = post(route.path(), "application/json", body);
    let secret = secret();
    // The route's methods are the route table's.
    let (delivery, _) = edge::accept(&req, route, edge::Credentials::Token(&secret), now())?;
    match read::read(&delivery, RETENTION_DAYS) {
        Ok(recording) => {
            let raw = std::str::from_utf8(&delivery.body).expect("a read delivery is text");
            check_event(&recording.event, raw);
            check_plan(&recording.plan);
        }
        Err(unreadable) => {
            assert!(!unreadable.reason.trim().is_empty(), "an unread delivery without a reason");
            check_plan(&unrecognized::plan(&delivery, &unreadable.reason, RETENTION_DAYS));
        }
    }
    Ok(())
}
