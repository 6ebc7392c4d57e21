//! The shared-secret check of Zonitel, Salpre and Voxtelesys requests:
//! only the secret, in the Authorization header or else the token query
//! parameter, is accepted; everything else is a 401 with a message.
#![no_main]

use arbitrary::Arbitrary;
use callhooks::auth::{Credential, SharedSecret};
use callhooks_fuzz::check_refusal;
use lambda_http::http::{header, HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    secret: String,
    authorization: Option<Vec<u8>>,
    query_token: Option<String>,
}

fuzz_target!(|input: Input| {
    let check = SharedSecret::new(Some(&input.secret));
    let mut headers = HeaderMap::new();
    // A value HTTP cannot carry never arrives.
    if let Some(value) = input
        .authorization
        .as_deref()
        .and_then(|v| HeaderValue::from_bytes(v).ok())
    {
        headers.insert(header::AUTHORIZATION, value);
    }
    let query = input.query_token.as_deref();
    match check.verify(callhooks::http::header_value(&headers, "authorization"), query) {
        Ok(Credential::NotRequired) => assert!(input.secret.is_empty()),
        Ok(Credential::Signed { .. }) => panic!("a shared token is no signature"),
        Ok(Credential::BearerHeader) => {
            let value = headers[header::AUTHORIZATION].to_str().unwrap();
            assert!(value.trim().ends_with(&input.secret), "{value:?}");
        }
        Ok(Credential::QueryToken(token)) => {
            assert!(headers.is_empty());
            assert_eq!(Some(token.as_str()), query);
            assert_eq!(token, input.secret);
        }
        Err(error) => {
            let error = callhooks::http::ApiError::from(error);
            check_refusal(&error);
            assert_eq!(error.status.as_u16(), 401);
            assert!(!input.secret.is_empty());
            assert!(
                !(headers.is_empty() && query == Some(input.secret.as_str())),
                "the right token refused"
            );
        }
    }
    // The secret itself, as a provider sends it, is accepted: a secret of
    // printable ASCII (what a Bearer token is), not starting or ending with
    // a space.
    let sendable = input
        .secret
        .bytes()
        .all(|b| b.is_ascii_graphic() || b == b' ');
    if sendable && input.secret.trim() == input.secret && !input.secret.is_empty() {
        if let Ok(value) = HeaderValue::from_str(&format!("Bearer {}", input.secret)) {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, value);
            assert_eq!(
                check.verify(callhooks::http::header_value(&headers, "authorization"), None).ok(),
                Some(Credential::BearerHeader)
            );
        }
    }
});
