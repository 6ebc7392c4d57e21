//! GET or POST /twilio/{hook}: the first byte picks the hook, the method
//! and whether a public base URL is configured; the rest is the form body
//! (POST) or the query string (GET). The request is signed as Twilio signs
//! it for the URL the edge computes, so it passes the signature check and
//! goes through the handler's own steps: read (or kept raw), planned within
//! DynamoDB's limits, answered TwiML that is well-formed XML with exactly
//! the elements of its verbs. The same bytes with a forged or another
//! token's signature are refused with a 401, and the raw bytes as a
//! signature, over the raw bytes as a URL, never panic.
#![no_main]

use callhooks::http::ApiError;
use callhooks::ingest::edge::{accept, Credentials};
use callhooks::ingest::{unrecognized, Route};
use callhooks::providers::twilio::signature::{
    self, form_params, public_url, AuthToken, PublicBaseUrl, RequestTarget, SignedRequest,
    SIGNATURE_HEADER,
};
use callhooks::providers::twilio::{self as twilio, Hook, Inbound};
use callhooks::twiml::{self, CallbackLinks};
use callhooks::voxml::Verb;
use callhooks_fuzz::{
    check, check_event, check_plan, check_refusal, now, sample_config, RETENTION_DAYS,
};
use lambda_http::http::{header, HeaderValue, Method, Uri};
use lambda_http::{Body, Request};
use libfuzzer_sys::fuzz_target;
use quick_xml::events::Event as XmlEvent;
use quick_xml::Reader;

const TOKEN: &str = "fuzz-twilio-auth-token";
const HOST: &str = "hooks.example.com";
const DEFAULT_MESSAGE: &str = "Sorry, nobody can take your call.";

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    let hook = Hook::ALL[usize::from(selector & 7) % Hook::ALL.len()];
    let get = selector & 8 != 0;
    let public_base = (selector & 16 != 0).then(|| {
        PublicBaseUrl::parse("https://hooks.example.com/prod#rc=2&ct=1000").expect("a valid base")
    });
    // Any bytes as a signature, over any bytes as a URL: refused, never a
    // panic (the port toggling reads the URL).
    let text = String::from_utf8_lossy(input);
    let forged = SignedRequest {
        url: &text,
        is_post: !get,
        body: input,
    };
    assert!(signature::verify(Some(TOKEN), Some(&text), &forged).is_err());
    check(handle(hook, get, public_base.as_ref(), input));
});

fn request(hook: Hook, get: bool, input: &[u8]) -> Option<Request> {
    let path = hook.path();
    let mut req = if get {
        let query = String::from_utf8_lossy(input);
        // Not a URL API Gateway could pass on: nothing to sign.
        let uri = format!("{path}?{query}").parse::<Uri>().ok()?;
        let mut req = Request::new(Body::Empty);
        *req.method_mut() = Method::GET;
        *req.uri_mut() = uri;
        req
    } else {
        let mut req = Request::new(Body::Binary(input.to_vec()));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = path.parse().expect("a valid path");
        req.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        req
    };
    req.headers_mut()
        .insert(header::HOST, HeaderValue::from_static(HOST));
    Some(req)
}

/// The request's URL as the edge computes it, and its signature.
fn signed(req: &mut Request, hook: Hook, public_base: Option<&PublicBaseUrl>, token: &str) {
    let target = RequestTarget {
        host: HOST,
        path: req.uri().path(),
        route_path: hook.path(),
        query: req.uri().query().unwrap_or(""),
    };
    let url = public_url(public_base, &target);
    let params = if req.method() == Method::POST {
        form_params(req.body().as_ref())
    } else {
        Vec::new()
    };
    let signature = signature::sign(token, &url, &params);
    req.headers_mut().insert(
        SIGNATURE_HEADER,
        HeaderValue::from_str(&signature).expect("base64 is a valid header"),
    );
}

fn handle(
    hook: Hook,
    get: bool,
    public_base: Option<&PublicBaseUrl>,
    input: &[u8],
) -> Result<(), ApiError> {
    let Some(mut req) = request(hook, get, input) else {
        return Ok(());
    };
    let token = AuthToken::new(Some(TOKEN));
    let credentials = Credentials::TwilioSignature {
        token: &token,
        public_base,
    };
    // Another token's signature, and the right one with a character
    // changed, are refused before anything else is looked at.
    let Some(mut another) = request(hook, get, input) else {
        return Ok(());
    };
    signed(&mut another, hook, public_base, "another-token");
    let Some(mut altered) = request(hook, get, input) else {
        return Ok(());
    };
    signed(&mut altered, hook, public_base, TOKEN);
    let value = altered.headers()[SIGNATURE_HEADER]
        .to_str()
        .expect("base64 is text")
        .to_string();
    let first = if value.starts_with('A') { "B" } else { "A" };
    altered.headers_mut().insert(
        SIGNATURE_HEADER,
        HeaderValue::from_str(&format!("{first}{}", &value[1..]))
            .expect("base64 is a valid header"),
    );
    for forged in [another, altered] {
        let refused = accept(&forged, Route::Twilio(hook), credentials, now())
            .err()
            .expect("a forged signature is refused");
        check_refusal(&refused);
        assert_eq!(refused.status.as_u16(), 401, "{}", refused.message);
    }

    signed(&mut req, hook, public_base, TOKEN);
    // A GET on a POST-only hook (405) or an oversized body (413) is refused
    // here, with a 4xx that says why.
    let (delivery, _) = accept(&req, Route::Twilio(hook), credentials, now())?;
    let payload = delivery.as_payload();
    let inbound = Inbound {
        hook,
        is_post: payload.is_post,
        query: payload.query,
        body: payload.body,
        content_type: payload.content_type,
    };
    let reading = match twilio::read(&inbound, now(), RETENTION_DAYS) {
        Ok(reading) => reading,
        Err(error) => {
            let reason = error.to_string();
            assert!(
                !reason.trim().is_empty(),
                "an unread delivery without a reason"
            );
            check_plan(&unrecognized::plan(&delivery, &reason, RETENTION_DAYS));
            return Ok(());
        }
    };
    check_event(&reading.event, &reading.event.raw);
    check_plan(&reading.plan);

    let links = CallbackLinks::new(public_base, &format!("https://{HOST}"));
    let config = sample_config();
    for config in [None, Some(&config)] {
        let answer = reading.answer(config, DEFAULT_MESSAGE);
        let verbs = twiml::verbs(&answer, &links);
        check_twiml(&verbs, &twiml::render_answer(&answer, &links));
    }
    Ok(())
}

/// Well-formed, only characters XML 1.0 allows, one element per verb (and
/// per dialled number) inside one `<Response>`.
fn check_twiml(verbs: &[Verb], xml: &str) {
    assert!(
        xml.chars().all(|c| matches!(c, '\t' | '\n' | '\r')
            || ('\u{20}'..='\u{D7FF}').contains(&c)
            || ('\u{E000}'..='\u{FFFD}').contains(&c)
            || c >= '\u{10000}'),
        "a character XML forbids in {xml:?}"
    );
    let expected = 1 + verbs
        .iter()
        .map(|verb| match verb {
            Verb::Dial { numbers, .. } => 1 + numbers.len(),
            _ => 1,
        })
        .sum::<usize>();
    let mut reader = Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut elements = 0;
    loop {
        match reader.read_event() {
            Ok(XmlEvent::Eof) => break,
            Ok(XmlEvent::Start(e) | XmlEvent::Empty(e)) => {
                for attribute in e.attributes() {
                    let attribute = attribute.unwrap_or_else(|e| panic!("{e} in {xml:?}"));
                    attribute
                        .unescape_value()
                        .unwrap_or_else(|e| panic!("{e} in {xml:?}"));
                }
                elements += 1;
            }
            Ok(XmlEvent::Text(text)) => {
                text.unescape().unwrap_or_else(|e| panic!("{e} in {xml:?}"));
            }
            Ok(_) => {}
            Err(error) => panic!("malformed TwiML ({error}): {xml:?}"),
        }
    }
    assert_eq!(elements, expected, "elements of {verbs:?} in {xml:?}");
}
