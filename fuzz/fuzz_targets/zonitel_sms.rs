//! POST /zonitel/sms: any body, through the handler's own steps.
#![no_main]

use callhooks::http::ApiError;
use callhooks::providers::zonitel_sms;
use callhooks::webhook::{accept_json_post, body_text};
use callhooks_fuzz::{check, check_event, check_plan, now, post, secret, RETENTION_DAYS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| check(handle(body)));

fn handle(body: &[u8]) -> Result<(), ApiError> {
    let req = post("/zonitel/sms", "application/json", body);
    let (body, _) = accept_json_post(&req, &secret())?;
    let notification = zonitel_sms::parse_notification(body)?;
    let raw = body_text(body)?;
    let delivery = zonitel_sms::sms_delivery(&notification, raw, now())?;
    check_event(&delivery.event, raw);
    let _ = (
        delivery.status_name(),
        delivery.status_contradicts_direction(),
    );
    check_plan(&zonitel_sms::sms_plan(&delivery, RETENTION_DAYS));
    Ok(())
}
