//! Retell's signature check: any header is refused with a 401 unless it
//! is the body's own; a signature holds for its key, body and time only.
#![no_main]

use arbitrary::Arbitrary;
use callhooks::http::ApiError;
use callhooks::signature::{self, SignatureError, SigningKey, MAX_SKEW_MS, SIGNATURE_HEADER};
use callhooks::time::Timestamp;
use lambda_http::http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    key: String,
    header: String,
    body: Vec<u8>,
    now_ms: u64,
    signed_ms: u64,
    skew_ms: i32,
}

/// Up to 13 digits: today's times and the centuries after.
const MAX_SIGNED_MS: u64 = 10_000_000_000_000;
/// Jiff's last representable millisecond is in the year 9999.
const MAX_NOW_MS: u64 = 253_402_207_200_000;

fn refused(result: Result<(), SignatureError>) -> Option<SignatureError> {
    let error = result.err()?;
    let api: ApiError = error.into();
    assert_eq!(api.status.as_u16(), 401);
    assert!(!api.message.is_empty());
    Some(error)
}

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).expect("in range")
}

fuzz_target!(|input: Input| {
    let key = input.key.as_bytes();
    let now = at((input.now_ms % MAX_NOW_MS) as i64);

    // Any header, directly and as a request header.
    refused(signature::verify(key, &input.header, &input.body, now));
    let signing_key = SigningKey::new(Some(&input.key));
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&input.header) {
        headers.insert(SIGNATURE_HEADER, value);
    }
    let result = signing_key.verify_request(callhooks::http::header_value(&headers, SIGNATURE_HEADER), &input.body, now);
    if signing_key.is_enabled() {
        refused(result);
    } else {
        assert_eq!(result, Ok(()));
    }

    // A real signature: valid within 5 minutes of its time, stale beyond,
    // and for nothing else.
    let signed_ms = (input.signed_ms % MAX_SIGNED_MS) as i64;
    let header = signature::sign(key, &input.body, signed_ms);
    let skew = i64::from(input.skew_ms);
    let then = at(signed_ms + skew);
    if skew.abs() <= MAX_SKEW_MS {
        assert_eq!(signature::verify(key, &header, &input.body, then), Ok(()));
        let mut other = input.body.clone();
        other.push(b' ');
        assert_eq!(
            refused(signature::verify(key, &header, &other, then)),
            Some(SignatureError::Mismatch)
        );
        let mut wrong = key.to_vec();
        match wrong.first_mut() {
            Some(first) => *first ^= 1,
            None => wrong.push(1),
        }
        assert_eq!(
            refused(signature::verify(&wrong, &header, &input.body, then)),
            Some(SignatureError::Mismatch)
        );
        let moved = header.replacen(
            &format!("v={signed_ms},"),
            &format!("v={},", signed_ms + 1),
            1,
        );
        // One millisecond later is still within the window, except at its edge.
        let expected = if (skew - 1).abs() <= MAX_SKEW_MS {
            SignatureError::Mismatch
        } else {
            SignatureError::Stale
        };
        assert_eq!(
            refused(signature::verify(key, &moved, &input.body, then)),
            Some(expected)
        );
    } else {
        assert_eq!(
            refused(signature::verify(key, &header, &input.body, then)),
            Some(SignatureError::Stale)
        );
    }
});
