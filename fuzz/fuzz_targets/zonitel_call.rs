//! POST /zonitel/calls: any body, through the handler's own steps.
#![no_main]

use callhooks::http::ApiError;
use callhooks::providers::zonitel;
use callhooks::webhook::{accept_json_post, body_text};
use callhooks_fuzz::{check, check_event, check_plan, now, post, secret, RETENTION_DAYS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| check(handle(body)));

fn handle(body: &[u8]) -> Result<(), ApiError> {
    let req = post("/zonitel/calls", "application/json", body);
    let (body, _) = accept_json_post(&req, &secret())?;
    let call = zonitel::parse_incoming_call(body)?;
    let raw = body_text(body)?;
    let event = zonitel::incoming_call_event(&call, raw, now())?;
    check_event(&event, raw);
    check_plan(&zonitel::incoming_call_plan(&event, RETENTION_DAYS));
    Ok(())
}
