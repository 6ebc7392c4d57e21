//! Hostile and malformed requests on every route. What the contract
//! refuses (method 405, credentials 401, size 413, an unknown hook 404)
//! gets its 4xx with a JSON error whose message names the problem and
//! writes nothing. Everything else came from a sender that authenticated:
//! it is answered 200 and kept (as its event, or raw as an unrecognized
//! delivery), bounded by DynamoDB's limits, never a 5xx. Nothing panics (a
//! panic fails the test).

use callhooks::time::Timestamp;
use callhooks_tests::{
    answer, api_request, base64_request, Credentials, Functions, Hook, Route, TestStack,
};
use lambda_http::Request;

const T0: i64 = 1_795_449_082_000;

fn now() -> Timestamp {
    Timestamp::from_millisecond(T0).unwrap()
}

/// Every function on the stack's table, with no secret set: these
/// requests come from a sender that proved who it is (or needed not).
fn functions(stack: &TestStack) -> Functions {
    Functions::new(stack.store(), stack.store(), Credentials::none())
}

/// One hostile request and what it must get.
struct Case {
    name: String,
    route: Route,
    request: Request,
    expect: Expect,
}

enum Expect {
    /// What the contract refuses: this status and a JSON error whose
    /// message contains these words (case-insensitive); nothing written.
    Refused(u16, &'static str),
    /// Authenticated (no secret is set here), so answered 200 and kept.
    Kept,
}

fn refused(
    name: impl Into<String>,
    route: Route,
    request: Request,
    status: u16,
    names: &'static str,
) -> Case {
    Case {
        name: name.into(),
        route,
        request,
        expect: Expect::Refused(status, names),
    }
}

fn kept(name: impl Into<String>, route: Route, request: Request) -> Case {
    Case {
        name: name.into(),
        route,
        request,
        expect: Expect::Kept,
    }
}

fn with_type(route: Route, content_type: &str, body: &str) -> Request {
    api_request(
        "POST",
        route.path(),
        &[("content-type", content_type)],
        Some(body),
        false,
    )
}

fn json(route: Route, body: &str) -> Request {
    with_type(route, "application/json", body)
}

fn form(route: Route, body: &str) -> Request {
    with_type(route, "application/x-www-form-urlencoded", body)
}

/// A body of raw bytes, as API Gateway hands binary bodies over: base64.
fn bytes(route: Route, content_type: &str, body: &[u8]) -> Request {
    base64_request("POST", route.path(), content_type, body)
}

fn nested_arrays(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

fn nested_objects(depth: usize) -> String {
    format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth))
}

const ZONITEL_CALL: &str = r#"{"caller_id_name": "John Doe", "caller_id_number": "+14155552671", "destination_number": "+18339664835"}"#;
const SMS: &str = r#"{"status": "received", "data": {"id": "11111111-aaaa-2222-bbbb-333333333333", "segments": 1, "direction": "inbound", "messageText": "Hi", "from": "+10000000010", "to": "+10000000020", "medias": []}, "message": "ok"}"#;
const SALPRE: &str = r#"{"event_type":"call_initiated","timestamp_utc":1795449000,"payload":{"call_id":1,"from":"+14155552671","to":"+18339664835","direction":"inbound"}}"#;
const RETELL: &str = r#"{"event": "call_inbound", "call_inbound": {"agent_id": "agent_1", "from_number": "+14155552671", "to_number": "+18339664835"}}"#;
const VOX: &str =
    "CallSid=CA1&From=%2B14155552671&To=%2B18339664835&CallStatus=ringing&Direction=inbound";

fn zonitel_with(field: &str, value: serde_json::Value) -> String {
    let mut body: serde_json::Value = serde_json::from_str(ZONITEL_CALL).unwrap();
    body[field] = value;
    body.to_string()
}

fn sms_with(path: &[&str], value: serde_json::Value) -> String {
    let mut body: serde_json::Value = serde_json::from_str(SMS).unwrap();
    let mut slot = &mut body;
    for key in path {
        slot = &mut slot[*key];
    }
    *slot = value;
    body.to_string()
}

fn salpre_with(path: &[&str], value: serde_json::Value) -> String {
    let mut body: serde_json::Value = serde_json::from_str(SALPRE).unwrap();
    let mut slot = &mut body;
    for key in path {
        slot = &mut slot[*key];
    }
    *slot = value;
    body.to_string()
}

fn cases() -> Vec<Case> {
    let zc = Route::ZonitelCall;
    let sms = Route::ZonitelSms;
    let sal = Route::SalpreEvents;
    let vox = Route::Voxtelesys(Hook::Voice);
    let ret = Route::RetellInbound;
    let json_routes = [zc, sms, sal, ret];
    let all_routes = [zc, sms, sal, vox, ret];
    let too_big = " ".repeat(callhooks::http::MAX_BODY_BYTES + 1);
    let mut cases = Vec::new();

    // Every method but the route's own, on every route.
    for route in all_routes {
        for method in ["GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"] {
            if method == "GET" && matches!(route, Route::Voxtelesys(_)) {
                continue;
            }
            let request = api_request(method, route.path(), &[], None, false);
            cases.push(refused(
                format!("{method} {route:?}"),
                route,
                request,
                405,
                "not allowed",
            ));
        }
    }
    // Every content type but JSON: kept raw.
    for route in json_routes {
        for content_type in [
            "text/plain",
            "application/xml",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "",
        ] {
            cases.push(kept(
                format!("{content_type:?} on {route:?}"),
                route,
                with_type(route, content_type, "{}"),
            ));
        }
    }
    // A form labelled text/plain or text/xml is read as the form it is
    // (see `kept_cases`); JSON is not Voxtelesys's.
    cases.push(kept(
        "\"application/json\" on voxtelesys",
        vox,
        with_type(vox, "application/json", VOX),
    ));
    // The same broken bodies on every JSON route.
    for route in json_routes {
        let name = format!("{route:?}");
        cases.push(kept(format!("empty body {name}"), route, json(route, "")));
        cases.push(kept(
            format!("whitespace body {name}"),
            route,
            json(route, " \n\t "),
        ));
        cases.push(kept(
            format!("truncated {name}"),
            route,
            json(route, &ZONITEL_CALL[..40]),
        ));
        cases.push(kept(
            format!("100k nested arrays {name}"),
            route,
            json(route, &nested_arrays(100_000)),
        ));
        cases.push(kept(
            format!("100k nested objects {name}"),
            route,
            json(route, &nested_objects(100_000)),
        ));
        cases.push(kept(
            format!("array body {name}"),
            route,
            json(route, "[1, 2, 3]"),
        ));
        cases.push(kept(
            format!("invalid UTF-8 {name}"),
            route,
            bytes(route, "application/json", b"{\"a\": \"\xff\xfe\"}"),
        ));
        let invalid_base64 = api_request(
            "POST",
            route.path(),
            &[("content-type", "application/json")],
            Some("{not base64!}"),
            true,
        );
        cases.push(kept(
            format!("invalid base64 {name}"),
            route,
            invalid_base64,
        ));
        cases.push(refused(
            format!("body over the limit {name}"),
            route,
            json(route, &too_big),
            413,
            "limit",
        ));
        cases.push(kept(
            format!("trailing garbage {name}"),
            route,
            json(route, "{} {}"),
        ));
    }

    // Zonitel incoming call: a destination that names no number of ours.
    for value in [
        serde_json::json!(true),
        serde_json::json!(""),
        serde_json::json!("   "),
        serde_json::json!("anonymous"),
        serde_json::json!(null),
        serde_json::json!(["+18339664835"]),
    ] {
        let shown: String = value.to_string().chars().take(30).collect();
        cases.push(kept(
            format!("zonitel destination_number = {shown}"),
            zc,
            json(zc, &zonitel_with("destination_number", value)),
        ));
    }
    cases.push(kept(
        "zonitel unknown fields but no destination",
        zc,
        json(
            zc,
            r#"{"caller_id_number": "+14155552671", "surprise": {"deep": [1, 2]}, "x": null}"#,
        ),
    ));

    // Zonitel SMS: no status, or nothing naming the message.
    for (path, value) in [
        (&["status"][..], serde_json::json!("")),
        (&["status"][..], serde_json::json!(["sent"])),
        (&["data"][..], serde_json::json!(null)),
        (&["data"][..], serde_json::json!("text")),
        (&["data", "id"][..], serde_json::json!("")),
        (&["data", "id"][..], serde_json::json!({"id": 1})),
    ] {
        let shown: String = value.to_string().chars().take(30).collect();
        cases.push(kept(
            format!("sms {} = {shown}", path.join(".")),
            sms,
            json(sms, &sms_with(path, value)),
        ));
    }

    // Salpre: event types that name no event. (Odd times, ids, numbers and
    // flags are read around: `kept_cases`.)
    for value in [
        serde_json::json!(""),
        serde_json::json!("call#ended"),
        serde_json::json!("a".repeat(10_000)),
        serde_json::json!(5),
    ] {
        let shown: String = value.to_string().chars().take(30).collect();
        cases.push(kept(
            format!("salpre event_type = {shown}"),
            sal,
            json(sal, &salpre_with(&["event_type"], value)),
        ));
    }

    // Voxtelesys form bodies and queries.
    for body in [
        "",
        "=&=&&&=x",
        "CallSid=C%20A&From=%2B14155552671&To=%2B18339664835",
        "CallSid=%0A&From=%2B14155552671&To=%2B18339664835",
    ] {
        cases.push(kept(
            format!("voxtelesys form {body:?}"),
            vox,
            form(vox, body),
        ));
    }
    cases.push(kept(
        "voxtelesys GET without parameters",
        vox,
        api_request("GET", "/voxtelesys/voice", &[], None, false),
    ));
    cases.push(refused(
        "voxtelesys unknown hook",
        // The path names no hook; the function serving /voxtelesys/{hook}
        // answers it.
        Route::Voxtelesys(Hook::Voice),
        api_request(
            "POST",
            "/voxtelesys/shell",
            &[("content-type", "application/x-www-form-urlencoded")],
            Some(VOX),
            false,
        ),
        404,
        "unknown hook",
    ));
    cases.push(kept(
        "voxtelesys invalid UTF-8 form",
        vox,
        bytes(
            vox,
            "application/x-www-form-urlencoded",
            b"CallSid=CA1&From=\xff&To=%2B18339664835",
        ),
    ));
    cases.push(kept(
        "voxtelesys invalid base64",
        vox,
        api_request(
            "POST",
            "/voxtelesys/voice",
            &[("content-type", "application/x-www-form-urlencoded")],
            Some("CallSid=CA1&From=%2B1"),
            true,
        ),
    ));
    cases.push(refused(
        "voxtelesys body over the limit",
        vox,
        form(vox, &too_big),
        413,
        "limit",
    ));

    // Retell: unreadable numbers in an authenticated call_inbound are read
    // around (anonymous caller, no configuration) and named in the event's
    // anomalies, never refused: tests/tests/it/retell_inbound.rs. What cannot
    // be an inbound request at all is kept raw too.
    for body in [
        r#"{"event": "call_ended", "call_inbound": {}}"#,
        r#"{"event": "call_inbound"}"#,
        r#"{"event": "call_inbound", "call_inbound": null}"#,
        r#"{"event": "call_inbound", "call_inbound": []}"#,
        r#"{"call_inbound": {"from_number": "+14155552671", "to_number": "+18339664835"}}"#,
    ] {
        cases.push(kept(format!("retell {body}"), ret, json(ret, body)));
    }
    cases
}

#[tokio::test]
async fn every_refused_request_gets_its_4xx_names_the_problem_and_writes_nothing() {
    let stack = TestStack::new().await;
    let functions = functions(&stack);
    let cases: Vec<(String, Route, Request, u16, &str)> = cases()
        .into_iter()
        .filter_map(|c| match c.expect {
            Expect::Refused(status, names) => Some((c.name, c.route, c.request, status, names)),
            Expect::Kept => None,
        })
        .collect();
    assert!(cases.len() >= 30, "{} cases", cases.len());
    let mut failures = Vec::new();
    for (name, route, request, expected, names) in cases {
        let response = functions.call(route, request, now()).await;
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let (status, body) = answer(&response);
        let message = body["error"]["message"].as_str().unwrap_or("");
        let code = body["error"]["code"].as_str().unwrap_or("");
        if status != expected
            || content_type != "application/json"
            || code.is_empty()
            || !message.to_lowercase().contains(&names.to_lowercase())
        {
            let shown: String = body.to_string().chars().take(300).collect();
            failures.push(format!(
                "{name}: expected {expected} naming {names:?}, got {status} {shown}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let items = stack.all_items().await;
    assert!(items.is_empty(), "refused requests wrote {items:?}");
}

#[tokio::test]
async fn every_authenticated_hostile_body_is_answered_200_and_kept() {
    let stack = TestStack::new().await;
    let functions = functions(&stack);
    let cases: Vec<Case> = cases()
        .into_iter()
        .filter(|c| matches!(c.expect, Expect::Kept))
        .collect();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in cases {
        let response = functions.call(case.route, case.request, now()).await;
        let status = response.status().as_u16();
        let text = String::from_utf8_lossy(response.body().as_ref()).to_string();
        let kept = match case.route {
            // VoXML: the call is answered whatever came.
            Route::Voxtelesys(_) => status == 200,
            // An empty object, which overrides nothing.
            Route::RetellInbound => {
                status == 200
                    && serde_json::from_str::<serde_json::Value>(&text).ok()
                        == Some(serde_json::json!({}))
            }
            _ => {
                let body: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                status == 200
                    && ["recorded", "duplicate", "unrecognized"]
                        .contains(&body["status"].as_str().unwrap_or(""))
            }
        };
        if !kept {
            let shown: String = text.chars().take(300).collect();
            failures.push(format!("{}: got {status} {shown}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let counts = stack.count_by_type().await;
    assert!(
        counts.get("unrecognized").copied().unwrap_or(0) >= 10,
        "unreadable bodies kept raw: {counts:?}"
    );
    for item in stack.all_items().await {
        if callhooks_tests::attr(&item, "item_type") == Some("unrecognized") {
            assert!(callhooks_tests::attr(&item, "reason").is_some_and(|r| !r.is_empty()));
            let empty = item.get("body_bytes").and_then(|v| v.as_n().ok()) == Some(&"0".into());
            assert!(
                empty
                    || ["raw", "raw_parts", "raw_bytes"]
                        .iter()
                        .any(|a| item.contains_key(*a)),
                "the body is kept: {item:?}"
            );
        }
    }
}

/// Zonitel deliveries in shapes real senders use but the documents do not
/// show (numbers in every odd form, withheld callers, huge names, fields of
/// the wrong type): read around, recorded, answered 200, never a 5xx.
fn zonitel_read_around() -> Vec<(String, Route, Request)> {
    let zc = Route::ZonitelCall;
    let sms = Route::ZonitelSms;
    let huge = "x".repeat(1024 * 1024);
    let mut cases = Vec::new();
    for (n, (value, field)) in [
        (serde_json::json!(14155552671_i64), "caller_id_number"),
        (serde_json::json!(null), "caller_id_number"),
        (serde_json::json!(["+14155552671"]), "caller_id_number"),
        (serde_json::json!({"n": "+14155552671"}), "caller_id_number"),
        (serde_json::json!("not a number"), "destination_number"),
        (serde_json::json!("+0123456789"), "destination_number"),
        (serde_json::json!("+1234567"), "destination_number"),
        (
            serde_json::json!("+12345678901234567"),
            "destination_number",
        ),
        (serde_json::json!("++14155552671"), "destination_number"),
        (serde_json::json!("+1415555267１"), "destination_number"),
        (serde_json::json!("+1415\u{0}5552671"), "destination_number"),
        (serde_json::json!("tel:+14155552671"), "destination_number"),
        (
            serde_json::json!("+14155552671;ext=1"),
            "destination_number",
        ),
        (serde_json::json!("a#b#c"), "destination_number"),
        (serde_json::json!(huge.clone()), "destination_number"),
        (serde_json::json!(huge.clone()), "caller_id_name"),
        (serde_json::json!(vec!["x"; 100_000]), "caller_id_name"),
    ]
    .into_iter()
    .enumerate()
    {
        let shown: String = value.to_string().chars().take(30).collect();
        // Call ids are the arrival time and the caller: each case gets a
        // caller (or, for a withheld one, a destination) of its own, so
        // none is taken for another's retry.
        let mut body: serde_json::Value =
            serde_json::from_str(&zonitel_with(field, value)).unwrap();
        if field == "caller_id_number" {
            body["destination_number"] = serde_json::json!(format!("+1833966{n:04}"));
        } else {
            body["caller_id_number"] = serde_json::json!(format!("+1415555{n:04}"));
        }
        cases.push((
            format!("zonitel {field} = {shown}"),
            zc,
            json(zc, &body.to_string()),
        ));
    }
    for (n, (path, value)) in [
        (&["status"][..], serde_json::json!(7)),
        (&["data", "id"][..], serde_json::json!(12)),
        (&["data", "id"][..], serde_json::json!(huge.clone())),
        (&["data", "from"][..], serde_json::json!("12")),
        (&["data", "to"][..], serde_json::json!("+99999999999999999")),
        (&["data", "direction"][..], serde_json::json!(["inbound"])),
        (&["data", "medias"][..], serde_json::json!("http://x")),
        (&["data", "segments"][..], serde_json::json!("one")),
    ]
    .into_iter()
    .enumerate()
    {
        let shown: String = value.to_string().chars().take(30).collect();
        // A message id of its own each, so no case is another's retry.
        let mut body: serde_json::Value = serde_json::from_str(&sms_with(path, value)).unwrap();
        if path != ["data", "id"] {
            body["data"]["id"] = serde_json::json!(format!("odd-{n}"));
        }
        cases.push((
            format!("sms {} = {shown}", path.join(".")),
            sms,
            json(sms, &body.to_string()),
        ));
    }
    cases
}

#[tokio::test]
async fn zonitel_oddities_are_recorded_not_refused() {
    let stack = TestStack::new().await;
    let functions = functions(&stack);
    let cases = zonitel_read_around();
    let count = cases.len();
    let mut failures = Vec::new();
    for (name, route, request) in cases {
        let (status, body) = answer(&functions.call(route, request, now()).await);
        if status != 200 || body["status"] != "recorded" {
            let shown: String = body.to_string().chars().take(300).collect();
            failures.push(format!(
                "{name}: expected 200 recorded, got {status} {shown}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let counts = stack.count_by_type().await;
    let events = counts.get("call_event").unwrap_or(&0) + counts.get("sms_event").unwrap_or(&0);
    assert_eq!(events, count, "each delivery stored once: {counts:?}");
}

/// Authenticated deliveries that are odd but can be read (around): each is
/// answered 200 and kept, with its oddities named on the stored event.
fn kept_cases() -> Vec<(String, Route, Request)> {
    let sal = Route::SalpreEvents;
    let vox = Route::Voxtelesys(Hook::Voice);
    let mut cases = Vec::new();
    for content_type in ["text/plain", "text/xml"] {
        let body = VOX.replace("CA1", &format!("CA-{}", content_type.len()));
        cases.push((
            format!("{content_type:?} on voxtelesys"),
            vox,
            with_type(vox, content_type, &body),
        ));
    }
    // Salpre: times far in the past and the future or unreadable, odd
    // payloads, numbers and flags.
    for (path, value, _field) in [
        (
            &["timestamp_utc"][..],
            serde_json::json!(0),
            "timestamp_utc",
        ),
        (
            &["timestamp_utc"][..],
            serde_json::json!(-1),
            "timestamp_utc",
        ),
        (
            &["timestamp_utc"][..],
            serde_json::json!(i64::MIN),
            "timestamp_utc",
        ),
        (
            &["timestamp_utc"][..],
            serde_json::json!(u64::MAX),
            "timestamp_utc",
        ),
        (
            &["timestamp_utc"][..],
            serde_json::json!(1_795_449_000_000_i64),
            "timestamp_utc",
        ),
        (
            &["timestamp_utc"][..],
            serde_json::json!(7_258_118_400_i64),
            "timestamp_utc",
        ),
        (
            &["timestamp_utc"][..],
            serde_json::json!(86_400),
            "timestamp_utc",
        ),
        (
            &["timestamp_utc"][..],
            serde_json::json!(1.5e300),
            "timestamp_utc",
        ),
        (
            &["timestamp_utc"][..],
            serde_json::json!("yesterday"),
            "timestamp_utc",
        ),
        (&["payload"][..], serde_json::json!([1, 2]), "payload"),
        (
            &["payload", "call_id"][..],
            serde_json::json!({"id": 1}),
            "call_id",
        ),
        (
            &["payload", "from"][..],
            serde_json::json!("++14155552671"),
            "from",
        ),
        (&["payload", "to"][..], serde_json::json!("call me"), "to"),
        (&["is_test"][..], serde_json::json!("yes"), "is_test"),
    ] {
        let shown: String = value.to_string().chars().take(30).collect();
        cases.push((
            format!("salpre {} = {shown}", path.join(".")),
            sal,
            json(sal, &salpre_with(path, value)),
        ));
    }
    // Voxtelesys: repeated, missing and unreadable parameters (each its own
    // call, so none is a retry of another).
    for (index, body) in [
        "CallSid=CA1&CallSid=CA2&From=%2B14155552671&To=%2B18339664835",
        "CallSid=CA1&From=%2B14155552671&To=%2B18339664835&To=%2B18339664836",
        "CallSid=CA1&From=%2B14155552671&To=",
        "CallSid=CA1&From=%2B14155552671",
        "CallSid=CA1&To=%2B18339664835",
        "CallSid=CA1&From=%2B1415555ABCD&To=%2B18339664835",
        "CallSid=CA1&From=%2B14155552671&To=%00",
        "CallSid=CA1&From=%2B14155552671&To=%2B18339664835&DialCallDuration=-5",
    ]
    .into_iter()
    .enumerate()
    {
        let body = body.replacen("CallSid=CA1", &format!("CallSid=CA-form-{index}"), 1);
        cases.push((format!("voxtelesys form {body:?}"), vox, form(vox, &body)));
    }
    let long_name = format!("{VOX}&CallerName={}", "N".repeat(100_000)).replace("CA1", "CA-name");
    cases.push((
        "voxtelesys huge CallerName".into(),
        vox,
        form(vox, &long_name),
    ));
    cases.push((
        "voxtelesys GET with repeated To".into(),
        vox,
        api_request(
            "GET",
            "/voxtelesys/voice?CallSid=CA-get&From=%2B14155552671&To=%2B18339664835&To=%2B1",
            &[],
            None,
            false,
        ),
    ));
    let status = Route::Voxtelesys(Hook::Status);
    cases.push((
        "voxtelesys status hook without CallStatus".into(),
        status,
        form(
            status,
            "CallSid=CA-status&From=%2B14155552671&To=%2B18339664835",
        ),
    ));
    cases
}

#[tokio::test]
async fn odd_but_readable_deliveries_are_answered_200_and_kept() {
    let stack = TestStack::new().await;
    let functions = functions(&stack);
    let mut failures = Vec::new();
    for (name, route, request) in kept_cases() {
        let response = functions.call(route, request, now()).await;
        if response.status().as_u16() != 200 {
            failures.push(format!("{name}: {}", response.status()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let items = stack.all_items().await;
    let flagged = items.iter().filter(|i| i.contains_key("anomalies")).count();
    // Every Voxtelesys case is its own call; the Salpre ones share call 1
    // (its later copies are duplicates of the same lifecycle event).
    assert!(flagged >= 12, "{flagged} events with anomalies");
}

/// The valid bodies the cases above are mutations of are accepted, so each
/// refusal is caused by its mutation and nothing else.
#[tokio::test]
async fn the_unmutated_bodies_are_accepted() {
    let stack = TestStack::new().await;
    let functions = functions(&stack);
    for (route, request) in [
        (Route::ZonitelCall, json(Route::ZonitelCall, ZONITEL_CALL)),
        (Route::ZonitelSms, json(Route::ZonitelSms, SMS)),
        (Route::SalpreEvents, json(Route::SalpreEvents, SALPRE)),
        (
            Route::Voxtelesys(Hook::Voice),
            form(Route::Voxtelesys(Hook::Voice), VOX),
        ),
        (Route::RetellInbound, json(Route::RetellInbound, RETELL)),
        // Unknown fields are what providers add over time: accepted.
        (
            Route::ZonitelCall,
            json(
                Route::ZonitelCall,
                &zonitel_with("added_later", serde_json::json!({"x": [1]})),
            ),
        ),
    ] {
        let response = functions.call(route, request, now()).await;
        assert_eq!(
            response.status().as_u16(),
            200,
            "{route:?}: {:?}",
            std::str::from_utf8(response.body().as_ref())
        );
    }
}
