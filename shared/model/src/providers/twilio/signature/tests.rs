//! Expected signatures here were computed independently of this module
//! (Python's `hmac`/`hashlib` over the documented string), except the
//! first, which is the worked example on Twilio's webhook security page.

use super::*;

const TOKEN: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
const FORM: &str = "CallSid=CA0123&From=%2B14155552671&To=%2B18339664835&CallStatus=ringing";

fn post<'a>(url: &'a str, body: &'a [u8]) -> SignedRequest<'a> {
    SignedRequest {
        url,
        is_post: true,
        body,
    }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

#[test]
fn twilios_worked_example() {
    // Twilio's security page: token 12345, this URL and these parameters.
    let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    let params = pairs(&[
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675310"),
        ("Digits", "1234"),
        ("From", "+14158675310"),
        ("To", "+18005551212"),
    ]);
    assert_eq!(sign("12345", url, &params), "GvWf1cFY/Q7PnoempGyD5oXAezc=");
    let body = "CallSid=CA1234567890ABCDE&Caller=%2B14158675310&Digits=1234&From=%2B14158675310&To=%2B18005551212";
    assert_eq!(
        verify(
            Some("12345"),
            Some("GvWf1cFY/Q7PnoempGyD5oXAezc="),
            &post(url, body.as_bytes())
        ),
        Ok(())
    );
    // twilio-node's fixture: the same with another caller.
    let body = body.replace("5310", "5309");
    assert_eq!(
        verify(
            Some("12345"),
            Some("RSOYDt4T1cUTdK1PDd93/VVr8B8="),
            &post(url, body.as_bytes())
        ),
        Ok(())
    );
}

#[test]
fn the_query_string_is_signed_as_given() {
    let url = "https://hooks.example.com/prod/twilio/voice?site=west&x=a%20b";
    let signature = "19CqyAA9lQiXFnxCJZY2q6F3QWY=";
    assert_eq!(
        verify(Some(TOKEN), Some(signature), &post(url, FORM.as_bytes())),
        Ok(())
    );
    // The same query decoded, or without it, is another URL.
    for other in [
        "https://hooks.example.com/prod/twilio/voice?site=west&x=a b",
        "https://hooks.example.com/prod/twilio/voice",
    ] {
        assert_eq!(
            verify(Some(TOKEN), Some(signature), &post(other, FORM.as_bytes())),
            Err(SignatureError::Mismatch),
            "{other}"
        );
    }
}

#[test]
fn a_get_is_signed_over_its_url_alone() {
    let url = "https://hooks.example.com/prod/twilio/voice?CallSid=CA0123&From=%2B14155552671";
    let request = SignedRequest {
        url,
        is_post: false,
        body: b"ignored=1",
    };
    assert_eq!(
        verify(Some(TOKEN), Some("/VDDqIm75NhGCu544mQVTYUTj/w="), &request),
        Ok(())
    );
}

#[test]
fn a_port_is_accepted_signed_with_or_without_it() {
    // Signed with the non-default port: requested with it.
    let with_port = "https://hooks.example.com:8443/prod/twilio/voice";
    let signed_with_port = "1YjVtFytMPuHDdwxzpqMDAoRslU=";
    assert_eq!(
        verify(
            Some(TOKEN),
            Some(signed_with_port),
            &post(with_port, FORM.as_bytes())
        ),
        Ok(())
    );
    // Signed with the default port, the URL known without it.
    let without_port = "https://hooks.example.com/prod/twilio/voice";
    let signed_with_443 = "mpBr61sFgHwUCsphrzeXN1p6X/g=";
    assert_eq!(
        verify(
            Some(TOKEN),
            Some(signed_with_443),
            &post(without_port, FORM.as_bytes())
        ),
        Ok(())
    );
    // Signed without a port, the URL known with one.
    let signed_without = sign(TOKEN, without_port, &form_params(FORM.as_bytes()));
    assert_eq!(
        verify(
            Some(TOKEN),
            Some(&signed_without),
            &post(with_port, FORM.as_bytes())
        ),
        Ok(())
    );
    // Another port is another URL.
    assert_eq!(
        verify(
            Some(TOKEN),
            Some(signed_with_port),
            &post(
                "https://hooks.example.com:9443/prod/twilio/voice",
                FORM.as_bytes()
            )
        ),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn port_toggling_keeps_everything_else() {
    assert_eq!(
        port_toggled("https://u:p@h.example:8443/a?b=1#rc=2").as_deref(),
        Some("https://u:p@h.example/a?b=1#rc=2")
    );
    assert_eq!(
        port_toggled("http://h.example/a").as_deref(),
        Some("http://h.example:80/a")
    );
    assert_eq!(
        port_toggled("https://[::1]:9000/a").as_deref(),
        Some("https://[::1]/a")
    );
    assert_eq!(
        port_toggled("https://[::1]/a").as_deref(),
        Some("https://[::1]:443/a")
    );
    assert_eq!(port_toggled("ftp://h.example/a"), None);
    assert_eq!(port_toggled("not a url"), None);
}

#[test]
fn a_connection_override_fragment_is_signed_as_twilio_signed_it() {
    let url = "https://hooks.example.com/prod/twilio/voice#rc=2&rp=all&ct=1000";
    let signature = "EhiJB/Qr94+yL/8iIN/11GPr47s=";
    assert_eq!(
        verify(Some(TOKEN), Some(signature), &post(url, FORM.as_bytes())),
        Ok(())
    );
    assert_eq!(
        verify(
            Some(TOKEN),
            Some(signature),
            &post(
                "https://hooks.example.com/prod/twilio/voice",
                FORM.as_bytes()
            )
        ),
        Err(SignatureError::Mismatch)
    );
    // The fragment reaches the signed URL through PublicBaseUrl.
    let base = PublicBaseUrl::parse("https://hooks.example.com/prod/#rc=2&rp=all&ct=1000").unwrap();
    let target = RequestTarget {
        host: "abc.execute-api.us-east-1.amazonaws.com",
        path: "/twilio/voice",
        route_path: "/twilio/voice",
        query: "",
    };
    assert_eq!(public_url(Some(&base), &target), url);
}

#[test]
fn a_json_body_is_covered_by_the_urls_body_sha256() {
    let body = br#"{"MessageSid":"SM1","MessageStatus":"delivered"}"#;
    let hash = "ce8c3c8da52a17f7dd3e526b3b67d41402b438513f6b2faf55189573f2873f02";
    let url = format!("https://hooks.example.com/prod/twilio/message-status?bodySHA256={hash}");
    let signature = "FhNi2UsvnE6vh/OWm9P90SjxzOo=";
    assert_eq!(
        verify(Some(TOKEN), Some(signature), &post(&url, body)),
        Ok(())
    );
    // Upper-case hex is the same digest.
    let upper = url.replace(hash, &hash.to_ascii_uppercase());
    let signed_upper = sign(TOKEN, &upper, &[]);
    assert_eq!(
        verify(Some(TOKEN), Some(&signed_upper), &post(&upper, body)),
        Ok(())
    );
    // Another body: refused before the signature is looked at.
    let other = br#"{"MessageSid":"SM1","MessageStatus":"failed"}"#;
    assert_eq!(
        verify(Some(TOKEN), Some(signature), &post(&url, other)),
        Err(SignatureError::BodyMismatch)
    );
    // The right body with another signature.
    assert_eq!(
        verify(
            Some(TOKEN),
            Some("GvWf1cFY/Q7PnoempGyD5oXAezc="),
            &post(&url, body)
        ),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn each_way_a_signature_can_be_wrong_is_named() {
    let url = "https://hooks.example.com:8443/prod/twilio/voice";
    let good = "1YjVtFytMPuHDdwxzpqMDAoRslU=";
    let request = post(url, FORM.as_bytes());
    assert_eq!(
        verify(None, Some(good), &request),
        Err(SignatureError::NotConfigured)
    );
    assert_eq!(
        verify(Some(""), Some(good), &request),
        Err(SignatureError::NotConfigured)
    );
    assert_eq!(
        verify(Some(TOKEN), None, &request),
        Err(SignatureError::Missing)
    );
    assert_eq!(
        verify(Some(TOKEN), Some("  "), &request),
        Err(SignatureError::Missing)
    );
    for malformed in ["not base64!", "AAAA", "1YjVtFytMPuHDdwxzpqMDAoRslUAAAA="] {
        assert_eq!(
            verify(Some(TOKEN), Some(malformed), &request),
            Err(SignatureError::Malformed),
            "{malformed}"
        );
    }
    assert_eq!(
        verify(Some("another-token"), Some(good), &request),
        Err(SignatureError::Mismatch)
    );
    let altered = FORM.replace("ringing", "completed");
    assert_eq!(
        verify(Some(TOKEN), Some(good), &post(url, altered.as_bytes())),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(verify(Some(TOKEN), Some(good), &request), Ok(()));
    for error in [
        SignatureError::NotConfigured,
        SignatureError::Missing,
        SignatureError::Malformed,
        SignatureError::Mismatch,
        SignatureError::BodyMismatch,
    ] {
        assert!(!error.to_string().is_empty());
    }
}

#[test]
fn parameter_order_does_not_matter() {
    let url = "https://hooks.example.com:8443/prod/twilio/voice";
    let reordered = "CallStatus=ringing&To=%2B18339664835&CallSid=CA0123&From=%2B14155552671";
    assert_eq!(
        verify(
            Some(TOKEN),
            Some("1YjVtFytMPuHDdwxzpqMDAoRslU="),
            &post(url, reordered.as_bytes())
        ),
        Ok(())
    );
}

#[test]
fn repeated_names_sign_each_value_sorted() {
    let url = "https://hooks.example.com/prod/twilio/messages";
    let signature = "lHH1BWz2Q/Tqjf4Aqnw4w0Ll/y4=";
    for body in [
        "MediaUrl=b&MediaUrl=a&MessageSid=SM1",
        "MessageSid=SM1&MediaUrl=a&MediaUrl=b",
    ] {
        assert_eq!(
            verify(Some(TOKEN), Some(signature), &post(url, body.as_bytes())),
            Ok(()),
            "{body}"
        );
    }
    // Dropping a repeat changes what was signed.
    assert_eq!(
        verify(
            Some(TOKEN),
            Some(signature),
            &post(url, b"MediaUrl=a&MessageSid=SM1")
        ),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn public_url_from_the_base_or_the_request() {
    let target = RequestTarget {
        host: "abc.execute-api.us-east-1.amazonaws.com",
        path: "/prod/twilio/dial",
        route_path: "/twilio/dial",
        query: "a=1&b=%2B2",
    };
    assert_eq!(
        public_url(None, &target),
        "https://abc.execute-api.us-east-1.amazonaws.com/prod/twilio/dial?a=1&b=%2B2"
    );
    for base in [
        "https://hooks.example.com/v1",
        "https://hooks.example.com/v1/",
        " https://hooks.example.com/v1/ ",
    ] {
        let base = PublicBaseUrl::parse(base).unwrap();
        assert_eq!(
            public_url(Some(&base), &target),
            "https://hooks.example.com/v1/twilio/dial?a=1&b=%2B2"
        );
        assert_eq!(base.fragment(), None);
    }
    let no_query = RequestTarget {
        query: "",
        ..target
    };
    assert_eq!(
        public_url(None, &no_query),
        "https://abc.execute-api.us-east-1.amazonaws.com/prod/twilio/dial"
    );
    let local = RequestTarget {
        host: "127.0.0.1:9000",
        path: "/twilio/voice",
        ..no_query
    };
    assert_eq!(
        public_url(None, &local),
        "http://127.0.0.1:9000/twilio/voice"
    );
    assert_eq!(
        PublicBaseUrl::parse("hooks.example.com"),
        Err(PublicBaseUrlError::Scheme("hooks.example.com".into()))
    );
    assert_eq!(
        PublicBaseUrl::parse("https:///prod"),
        Err(PublicBaseUrlError::NoHost)
    );
    assert_eq!(
        PublicBaseUrl::parse("https://h.example/p?x=1"),
        Err(PublicBaseUrlError::Query)
    );
}

#[test]
fn an_auth_token_fails_closed_unless_the_operator_opened_the_route() {
    let url = "https://hooks.example.com/twilio/voice";
    let body = FORM.as_bytes();
    let signature = sign(TOKEN, url, &form_params(body));
    let no_vars = |_: &str| None::<String>;
    let missing = AuthToken::from_vars("TWILIO_AUTH_TOKEN", no_vars);
    assert_eq!(
        missing.verify(Some(&signature), &post(url, body)),
        Err(SignatureError::NotConfigured)
    );
    let open = AuthToken::from_vars("TWILIO_AUTH_TOKEN", |name: &str| {
        (name == "ALLOW_UNAUTHENTICATED").then(|| "true".to_string())
    });
    assert!(open.is_open());
    assert_eq!(open.verify(None, &post(url, body)), Ok(()));
    let configured = AuthToken::from_vars("TWILIO_AUTH_TOKEN", |name: &str| {
        (name == "TWILIO_AUTH_TOKEN").then(|| TOKEN.to_string())
    });
    assert_eq!(
        configured.verify(Some(&signature), &post(url, body)),
        Ok(())
    );
    assert_eq!(
        configured.verify(None, &post(url, body)),
        Err(SignatureError::Missing)
    );
    assert!(!format!("{configured:?}").contains(TOKEN));
}
