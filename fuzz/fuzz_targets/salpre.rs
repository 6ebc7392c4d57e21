//! POST /salpre/events: any body, through the handler's own steps.
#![no_main]

use callhooks::http::ApiError;
use callhooks::providers::salpre;
use callhooks::webhook::{accept_json_post, body_text};
use callhooks_fuzz::{check, check_event, check_plan, now, post, secret, RETENTION_DAYS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| check(handle(body)));

fn handle(body: &[u8]) -> Result<(), ApiError> {
    let req = post("/salpre/events", "application/json", body);
    let (body, _) = accept_json_post(&req, &secret())?;
    let delivery = salpre::parse_delivery(body)?;
    let raw = body_text(body)?;
    let mapped = salpre::map_delivery(&delivery, raw, now(), RETENTION_DAYS)?;
    let _ = delivery.is_known();
    check_event(&mapped.event, raw);
    check_plan(&mapped.plan);
    Ok(())
}
