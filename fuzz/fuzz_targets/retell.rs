//! POST /retell/inbound with the signature check on. The first byte picks
//! how the rest is sent:
//! - 0: as the body, signed by Retell with the key a second ago: the check
//!   must pass, then the body goes through the handler's steps;
//! - 1: as the body, with no key configured (the check is off);
//! - 2: a header line, then the body: a header nobody signed with the key
//!   is refused with a 401 before the body is read.
#![no_main]

use callhooks::http::ApiError;
use callhooks::ingest::edge::{accept, Credentials};
use callhooks::ingest::Route;
use callhooks::providers::retell;
use callhooks::signature::{self, SigningKey, SIGNATURE_HEADER};
use callhooks_fuzz::{
    check, check_event, check_plan, check_refusal, now, post, sample_config, sample_contact,
    NOW_MS, RETENTION_DAYS,
};
use lambda_http::http::HeaderValue;
use lambda_http::Request;
use libfuzzer_sys::fuzz_target;

const KEY: &str = "key_fuzz_retell_api";

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else {
        return;
    };
    let key = SigningKey::new(Some(KEY));
    match mode % 3 {
        0 => {
            let header = signature::sign(KEY.as_bytes(), input, NOW_MS - 1_000);
            let req = request(input, Some(header.as_bytes()));
            assert_eq!(key.verify_request(Some(&header), input, now()), Ok(()));
            check(handle(&req, &key));
        }
        1 => check(handle(&request(input, None), &SigningKey::new(None))),
        _ => {
            let split = input
                .iter()
                .position(|&b| b == b'\n')
                .unwrap_or(input.len());
            let (header, body) = (&input[..split], input.get(split + 1..).unwrap_or(&[]));
            let req = request(body, Some(header));
            match handle(&req, &key) {
                Ok(()) => panic!("an unsigned request accepted: {header:?}"),
                Err(error) => {
                    check_refusal(&error);
                    assert_eq!(error.status.as_u16(), 401, "{}", error.message);
                }
            }
        }
    }
});

fn request(body: &[u8], signature: Option<&[u8]>) -> Request {
    let mut req = post("/retell/inbound", "application/json", body);
    // A value HTTP cannot carry never arrives: the header is then missing.
    if let Some(value) = signature.and_then(|s| HeaderValue::from_bytes(s).ok()) {
        req.headers_mut().insert(SIGNATURE_HEADER, value);
    }
    req
}

/// The edge (signature, method, size), then the inbound route's reading and
/// answer: what cannot be read is kept by the route, so it ends here.
fn handle(req: &Request, key: &SigningKey) -> Result<(), ApiError> {
    let route = Route::RetellInbound;
    let (delivery, _) = accept(req, route, Credentials::RetellSignature(key), now())?;
    let body = delivery.body.as_slice();
    let Ok(call) = retell::parse_inbound(body) else {
        return Ok(());
    };
    let Ok(raw) = std::str::from_utf8(body) else {
        return Ok(());
    };
    let event = retell::inbound_event(&call, raw, now());
    check_event(&event, raw);
    check_plan(&retell::inbound_plan(&event, &call, RETENTION_DAYS, None));
    let (config, contact) = (sample_config(), sample_contact());
    for (config, contact) in [(None, None), (Some(&config), Some(&contact))] {
        let lookup = config.map_or(retell::ConfigLookup::Absent, retell::ConfigLookup::Found);
        let answer = retell::decide(&call, lookup, contact, None, None, now()).answer;
        serde_json::to_vec(&answer).expect("the answer serializes");
    }
    Ok(())
}
