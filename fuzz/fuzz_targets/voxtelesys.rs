//! GET or POST /voxtelesys/{hook}: the first byte picks the hook and the
//! method, the rest is the form body (POST) or the query string (GET).
//! Through the handler's own steps to the VoXML answer, which must be
//! well-formed XML with exactly the elements of its verbs (nothing a
//! parameter carries can add markup).
#![no_main]

use callhooks::auth::{Credential, TOKEN_QUERY_PARAM};
use callhooks::http::{header_str, ApiError};
use callhooks::providers::voxtelesys::{self, CallParams, Hook, Inbound, Method as HookMethod};
use callhooks::voxml::{self, CallbackLinks, Origin, Verb};
use callhooks_fuzz::{
    check, check_event, check_plan, now, post, sample_config, secret, RETENTION_DAYS,
};
use lambda_http::http::{header, HeaderValue, Method, Uri};
use lambda_http::{Body, Request};
use libfuzzer_sys::fuzz_target;
use quick_xml::events::Event as XmlEvent;
use quick_xml::Reader;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    let hook = Hook::ALL[usize::from(selector & 3)];
    check(handle(hook, selector & 4 != 0, input));
});

fn handle(hook: Hook, get: bool, input: &[u8]) -> Result<(), ApiError> {
    let path = format!("/voxtelesys/{}", hook.as_str());
    assert_eq!(Hook::of_path(&path), Some(hook));
    let (req, credential) = if get {
        let query = String::from_utf8_lossy(input);
        let Ok(uri) = format!("https://hooks.example.com{path}?{query}").parse::<Uri>() else {
            // Not a URL API Gateway could pass on; still read it the way
            // read_inbound reads a query string.
            let params = CallParams::from_form(query.as_bytes());
            let raw = voxtelesys::without_token(&query);
            // What cannot be read is kept raw as unrecognized, not refused.
            if let Ok(callback) = voxtelesys::parse_callback(hook, params, &raw, now()) {
                check_plan(&callback.plan(RETENTION_DAYS));
            }
            return Ok(());
        };
        let mut req = Request::new(Body::Empty);
        *req.method_mut() = Method::GET;
        *req.uri_mut() = uri;
        req.headers_mut()
            .insert(header::HOST, HeaderValue::from_static("hooks.example.com"));
        // A token in the query: the callbacks handed out must carry it.
        let token = form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == TOKEN_QUERY_PARAM)
            .map(|(_, value)| value.into_owned());
        let credential = token.map_or(Credential::BearerHeader, Credential::QueryToken);
        (req, credential)
    } else {
        let req = post(&path, "application/x-www-form-urlencoded", input);
        let credential = secret().verify(callhooks::http::header_value(req.headers(), "authorization"), None)?;
        (req, credential)
    };

    let inbound = Inbound {
        method: if get { HookMethod::Get } else { HookMethod::Post },
        path: &path,
        query: req.uri().query().unwrap_or(""),
        body: req.body().as_ref(),
        content_type: header_str(req.headers(), "content-type"),
    };
    // What cannot be read is kept raw as unrecognized, not refused.
    let Ok((params, raw, _anomalies)) = voxtelesys::read_inbound(&inbound) else {
        return Ok(());
    };
    if get {
        assert!(
            !form_urlencoded::parse(raw.as_bytes()).any(|(name, _)| name == TOKEN_QUERY_PARAM),
            "the token is kept in the stored payload: {raw:?}"
        );
    }
    let Ok(callback) = voxtelesys::parse_callback(hook, params, &raw, now()) else {
        return Ok(());
    };
    check_event(&callback.event, &raw);
    let _ = callback.delivery_parts();
    check_plan(&callback.plan(RETENTION_DAYS));

    let origin = Origin {
        host: header_str(req.headers(), "host"),
        ..Origin::default()
    };
    let token = match &credential {
        Credential::QueryToken(token) => Some(token.as_str()),
        _ => None,
    };
    let links = CallbackLinks::new(
        &origin,
        if get { HookMethod::Get } else { HookMethod::Post },
        token,
    );
    let config = sample_config();
    for config in [None, Some(&config)] {
        let answer = callback.answer(config, voxtelesys::DEFAULT_MESSAGE);
        let verbs = voxml::verbs(&answer, &links);
        check_voxml(&verbs, &voxml::render_answer(&answer, &links));
    }
    Ok(())
}

/// Well-formed, only characters XML 1.0 allows, one element per verb
/// (and per dialled number) inside one `<Response>`.
fn check_voxml(verbs: &[Verb], xml: &str) {
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
            Err(error) => panic!("malformed VoXML ({error}): {xml:?}"),
        }
    }
    assert_eq!(elements, expected, "elements of {verbs:?} in {xml:?}");
}
