//! CloudWatch metrics as Embedded Metric Format (EMF) log lines: one line
//! per request a webhook answers, one per alert published. CloudWatch Logs
//! turns each line into metrics in the `callhooks` namespace; no API call,
//! no client, nothing to wait for. The lines are plain functions of an
//! outcome value (tested here); [`emit`] prints one to stdout.
//!
//! A refused request's line is also its log line (issue: a provider with a
//! wrong token must be visible): route, status, error code and source IP,
//! never a credential, a header or the body.
//!
//! The names below are the vocabulary the template's dashboard and alarms
//! use; a test over template.yaml checks that every metric name they refer
//! to is one of [`ALL_METRICS`]. docs/observability.md lists them.

use serde_json::{json, Map, Value};

/// The CloudWatch namespace of every metric here.
pub const NAMESPACE: &str = "callhooks";

/// Every request that reached a webhook function (whatever its answer).
pub const RECEIVED: &str = "Received";
/// A delivery recorded for the first time.
pub const RECORDED: &str = "Recorded";
/// A provider's retry of a delivery already recorded (answered 2xx, no
/// second record).
pub const DUPLICATE: &str = "Duplicate";
/// An authenticated delivery no parser could read, kept raw.
pub const UNRECOGNIZED: &str = "Unrecognized";
/// A delivery the table could not take at once, handed to the spillway
/// queue to be written later.
pub const SPILLED: &str = "Spilled";
/// A request refused with a 4xx (or a 500); dimension `Status` says which.
pub const REFUSED: &str = "Refused";
/// A 503: neither the table nor the spillway could keep the delivery.
pub const UNAVAILABLE: &str = "Unavailable503";
/// Milliseconds from the handler receiving the request to its answer.
pub const ANSWER_LATENCY: &str = "AnswerLatency";
/// One alert published to the topic; dimension `AlertType`.
pub const ALERTS_PUBLISHED: &str = "AlertsPublished";
/// Lifecycles the sweeper flagged incomplete in one sweep; dimension
/// `Provider` (the incomplete-rate alarm and the dashboard widget).
pub const LIFECYCLES_INCOMPLETE: &str = "LifecyclesIncomplete";

/// Every metric name this module emits.
pub const ALL_METRICS: &[&str] = &[
    RECEIVED,
    RECORDED,
    DUPLICATE,
    UNRECOGNIZED,
    SPILLED,
    REFUSED,
    UNAVAILABLE,
    ANSWER_LATENCY,
    ALERTS_PUBLISHED,
    LIFECYCLES_INCOMPLETE,
];

/// Dimension names.
pub const PROVIDER: &str = "Provider";
pub const ROUTE: &str = "Route";
pub const STATUS: &str = "Status";
pub const ALERT_TYPE: &str = "AlertType";

/// Every dimension name this module emits.
pub const ALL_DIMENSIONS: &[&str] = &[PROVIDER, ROUTE, STATUS, ALERT_TYPE];

/// The route or provider of a request that matched none we know.
pub const OTHER: &str = "other";

/// How a request ended, as counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestOutcome {
    Recorded,
    Duplicate,
    Unrecognized,
    Spilled,
    /// A 2xx whose handler noted nothing more specific (an answer that
    /// records nothing, such as a lookup).
    Answered,
    /// Refused with this status (4xx, or 500).
    Refused {
        status: u16,
    },
    /// 503: the delivery could not be kept; the provider retries.
    Unavailable,
}

impl RequestOutcome {
    /// The lower-case name in the line's `outcome` property.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestOutcome::Recorded => "recorded",
            RequestOutcome::Duplicate => "duplicate",
            RequestOutcome::Unrecognized => "unrecognized",
            RequestOutcome::Spilled => "spilled",
            RequestOutcome::Answered => "answered",
            RequestOutcome::Refused { .. } => "refused",
            RequestOutcome::Unavailable => "unavailable",
        }
    }

    /// The counter this outcome adds one to, besides [`RECEIVED`].
    pub fn metric(self) -> Option<&'static str> {
        match self {
            RequestOutcome::Recorded => Some(RECORDED),
            RequestOutcome::Duplicate => Some(DUPLICATE),
            RequestOutcome::Unrecognized => Some(UNRECOGNIZED),
            RequestOutcome::Spilled => Some(SPILLED),
            RequestOutcome::Answered => None,
            RequestOutcome::Refused { .. } => Some(REFUSED),
            RequestOutcome::Unavailable => Some(UNAVAILABLE),
        }
    }

    /// The outcome of an answer a handler did not describe, from its status.
    pub fn of_status(status: u16) -> RequestOutcome {
        match status {
            503 => RequestOutcome::Unavailable,
            s if s >= 400 => RequestOutcome::Refused { status: s },
            _ => RequestOutcome::Answered,
        }
    }
}

/// One answered request, as counted.
#[derive(Clone, Debug, PartialEq)]
pub struct CountedRequest<'a> {
    /// `zonitel`, `salpre`, ... or [`OTHER`]: never taken from the request
    /// as is, so a caller cannot create metrics (each dimension value is a
    /// metric CloudWatch bills).
    pub provider: &'static str,
    /// API Gateway's route key (`POST /zonitel/calls`): a template the
    /// stack declares, never the request's own path; or [`OTHER`].
    pub route: &'a str,
    pub outcome: RequestOutcome,
    pub latency_ms: f64,
    /// The caller's address, logged only for refusals.
    pub source_ip: Option<&'a str>,
    /// A refusal's `error.code` ([`refusal_code`]), logged only for
    /// refusals.
    pub code: Option<&'a str>,
}

fn metric(name: &str, unit: &str) -> Value {
    json!({"Name": name, "Unit": unit})
}

fn directive(dimensions: Value, metrics: Vec<Value>) -> Value {
    json!({"Namespace": NAMESPACE, "Dimensions": dimensions, "Metrics": metrics})
}

/// The EMF line of one answered request, at `timestamp_ms` (Unix
/// milliseconds). Counters are 1 for what happened; latency in
/// milliseconds. Dimension sets:
/// - `Provider, Route` for every metric;
/// - `Provider, Route, Status` and `Status` alone for [`REFUSED`] (the 401
///   burst alarm watches `Status=401` across routes);
/// - none (the whole namespace) as well for [`UNRECOGNIZED`] and
///   [`SPILLED`], which alarms watch across routes.
///
/// A refusal or a 503 is logged at WARN with its route, status, code and
/// source IP; any other line at INFO (Lambda's log-level filter reads
/// `level`).
pub fn delivery_line(delivery: &CountedRequest, timestamp_ms: i64) -> String {
    traced_delivery_line(delivery, &RequestIds::default(), timestamp_ms)
}

/// Where a request can be found in the other logs: API Gateway's request
/// id (the access log's `requestId`) and Lambda's (its `REPORT` line, the
/// access log's `lambdaRequestId`), and whether this invocation started
/// the execution environment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestIds<'a> {
    pub api_request_id: Option<&'a str>,
    pub lambda_request_id: Option<&'a str>,
    pub cold_start: bool,
}

/// True for the first call in this process (the invocation that paid the
/// cold start), false after.
pub fn first_invocation() -> bool {
    static SEEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    !SEEN.swap(true, std::sync::atomic::Ordering::Relaxed)
}

/// [`delivery_line`] with the request's ids and cold-start flag
/// (`api_request_id`, `lambda_request_id`, `cold_start` on the line).
pub fn traced_delivery_line(
    delivery: &CountedRequest,
    ids: &RequestIds,
    timestamp_ms: i64,
) -> String {
    let outcome = delivery.outcome;
    let mut root = Map::with_capacity(12);
    let mut main_metrics = vec![
        metric(RECEIVED, "Count"),
        metric(ANSWER_LATENCY, "Milliseconds"),
    ];
    let mut directives = Vec::with_capacity(2);
    root.insert(RECEIVED.into(), 1.into());
    root.insert(ANSWER_LATENCY.into(), json!(round_ms(delivery.latency_ms)));
    match outcome {
        RequestOutcome::Refused { status } => {
            root.insert(REFUSED.into(), 1.into());
            root.insert(STATUS.into(), status.to_string().into());
            // By provider too: the alarm on a provider whose every request
            // is refused divides this by Received per provider.
            directives.push(directive(
                json!([[PROVIDER, ROUTE, STATUS], [STATUS], [PROVIDER]]),
                vec![metric(REFUSED, "Count")],
            ));
        }
        RequestOutcome::Unrecognized | RequestOutcome::Spilled => {
            let name = outcome.metric().unwrap_or(RECEIVED);
            root.insert(name.into(), 1.into());
            directives.push(directive(
                json!([[PROVIDER, ROUTE], []]),
                vec![metric(name, "Count")],
            ));
        }
        _ => {
            if let Some(name) = outcome.metric() {
                root.insert(name.into(), 1.into());
                main_metrics.push(metric(name, "Count"));
            }
        }
    }
    directives.insert(0, directive(json!([[PROVIDER, ROUTE]]), main_metrics));
    // Received per provider alone (the refused-share and silence alarms),
    // without multiplying the other metrics by a dimension set.
    directives.push(directive(
        json!([[PROVIDER]]),
        vec![metric(RECEIVED, "Count")],
    ));
    let refused = matches!(
        outcome,
        RequestOutcome::Refused { .. } | RequestOutcome::Unavailable
    );
    if refused {
        root.insert(
            "code".into(),
            delivery.code.map_or(Value::Null, |code| code.into()),
        );
        root.insert(
            "source_ip".into(),
            delivery.source_ip.map_or(Value::Null, |ip| ip.into()),
        );
    }
    root.insert(PROVIDER.into(), delivery.provider.into());
    root.insert(ROUTE.into(), delivery.route.into());
    root.insert("api_request_id".into(), ids.api_request_id.into());
    root.insert("lambda_request_id".into(), ids.lambda_request_id.into());
    root.insert("cold_start".into(), ids.cold_start.into());
    root.insert("outcome".into(), outcome.as_str().into());
    root.insert("level".into(), if refused { "WARN" } else { "INFO" }.into());
    root.insert(
        "message".into(),
        if refused {
            "request refused"
        } else {
            "request answered"
        }
        .into(),
    );
    root.insert(
        "_aws".into(),
        json!({"Timestamp": timestamp_ms, "CloudWatchMetrics": directives}),
    );
    Value::Object(root).to_string()
}

/// The EMF line of one alert published: [`ALERTS_PUBLISHED`] by
/// `AlertType` (missed calls, errors and failed SMS per day on the
/// dashboard). The provider rides along as a property, not a dimension.
pub fn alert_line(alert_type: &str, provider: &str, timestamp_ms: i64) -> String {
    json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [directive(
                json!([[ALERT_TYPE]]),
                vec![metric(ALERTS_PUBLISHED, "Count")],
            )],
        },
        ALERT_TYPE: alert_type,
        "provider": provider,
        ALERTS_PUBLISHED: 1,
        "level": "INFO",
        "message": "alert metrics",
    })
    .to_string()
}

/// The EMF line of one sweep's flags of one provider's lifecycles:
/// [`LIFECYCLES_INCOMPLETE`] by `Provider` and across providers (0 too, so
/// the rate has a denominator of sweeps that found nothing).
pub fn incomplete_line(provider: &str, flagged: u64, timestamp_ms: i64) -> String {
    json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [directive(
                json!([[PROVIDER], []]),
                vec![metric(LIFECYCLES_INCOMPLETE, "Count")],
            )],
        },
        PROVIDER: provider,
        LIFECYCLES_INCOMPLETE: flagged,
        "level": "INFO",
        "message": "sweep metrics",
    })
    .to_string()
}

/// Tenths of a millisecond are plenty, and keep the line short.
fn round_ms(ms: f64) -> f64 {
    (ms * 10.0).round() / 10.0
}

/// The provider a route key names (`POST /zonitel/calls` -> `zonitel`), or
/// [`OTHER`].
pub fn provider_of_route(route_key: &str) -> &'static str {
    let path = route_key.split_once(' ').map_or(route_key, |(_, p)| p);
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    crate::event::Provider::parse(first).map_or(OTHER, |p| p.as_str())
}

/// The route dimension of a request: API Gateway's route key, which names a
/// route the stack declares (`$default` and a missing key become
/// [`OTHER`]). Capped in length: it is a metric dimension.
pub fn route_dimension(route_key: Option<&str>) -> &str {
    match route_key {
        Some(key) if !key.is_empty() && !key.starts_with('$') && key.len() <= 64 => key,
        _ => OTHER,
    }
}

/// The `error.code` of a refusal body (`{"error": {"code": ...}}`), if it
/// looks like one of ours: lower-case letters, digits and `_`, at most 48
/// characters (nothing else from a body reaches the log).
pub fn refusal_code(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Refusal<'a> {
        #[serde(borrow)]
        error: Inner<'a>,
    }
    #[derive(serde::Deserialize)]
    struct Inner<'a> {
        code: &'a str,
    }
    let code = serde_json::from_slice::<Refusal>(body).ok()?.error.code;
    let plain = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
    (!code.is_empty() && code.len() <= 48 && code.chars().all(plain)).then(|| code.to_string())
}

/// Prints the [`alert_line`] of an alert just published.
pub fn emit_alert(alert_type: &str, provider: &str) {
    emit(&alert_line(
        alert_type,
        provider,
        crate::time::Timestamp::now().as_millisecond(),
    ));
}

tokio::task_local! {
    /// What the handler of the request being answered said became of it;
    /// [`crate::runtime::run_http`] scopes one per request.
    static NOTED: std::cell::Cell<Option<RequestOutcome>>;
}

/// Notes what became of the delivery being answered (recorded, duplicate,
/// unrecognized, spilled), for its metrics line. Outside a request (tests
/// calling a handler directly) it does nothing.
pub fn note(outcome: RequestOutcome) {
    let _ = NOTED.try_with(|cell| cell.set(Some(outcome)));
}

/// Runs `future` (one request's handler) with a place for [`note`], and
/// returns its output with what was noted.
pub async fn noting<F: std::future::Future>(future: F) -> (F::Output, Option<RequestOutcome>) {
    NOTED
        .scope(std::cell::Cell::new(None), async {
            let output = future.await;
            (output, NOTED.with(std::cell::Cell::get))
        })
        .await
}

/// Prints one line to stdout, where Lambda's log stream (and so
/// CloudWatch's EMF extraction) reads it.
pub fn emit(line: &str) {
    use std::io::Write;
    // A log line that cannot be written is not worth failing a delivery.
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: i64 = 1_700_000_000_000;

    fn delivery(outcome: RequestOutcome) -> CountedRequest<'static> {
        CountedRequest {
            provider: "zonitel",
            route: "POST /zonitel/calls",
            outcome,
            latency_ms: 12.34,
            source_ip: Some("203.0.113.9"),
            code: None,
        }
    }

    /// Checks `line` the way CloudWatch does: a JSON object whose `_aws`
    /// has a timestamp and directives, each directive's dimension keys and
    /// metric names present at the root, counters numbers. Returns the
    /// metric names with their dimension sets.
    /// A metric name with its dimension sets.
    type Found = Vec<(String, Vec<Vec<String>>)>;

    fn parse_emf(line: &str) -> (Value, Found) {
        assert!(!line.contains('\n'), "one line: {line}");
        let root: Value = serde_json::from_str(line).expect("JSON");
        let aws = &root["_aws"];
        assert_eq!(aws["Timestamp"], AT);
        let mut found = Vec::new();
        for directive in aws["CloudWatchMetrics"].as_array().expect("directives") {
            assert_eq!(directive["Namespace"], NAMESPACE);
            let sets: Vec<Vec<String>> =
                serde_json::from_value(directive["Dimensions"].clone()).expect("dimension sets");
            for key in sets.iter().flatten() {
                assert!(ALL_DIMENSIONS.contains(&key.as_str()), "{key}");
                assert!(root[key].is_string(), "dimension {key} at the root: {line}");
            }
            for m in directive["Metrics"].as_array().expect("metrics") {
                let name = m["Name"].as_str().expect("name");
                assert!(ALL_METRICS.contains(&name), "{name}");
                assert!(root[name].is_number(), "{name} at the root: {line}");
                let unit = m["Unit"].as_str().expect("unit");
                assert!(["Count", "Milliseconds"].contains(&unit));
                found.push((name.to_string(), sets.clone()));
            }
        }
        (root, found)
    }

    /// The metric names, each once, in their first order.
    fn names(found: &Found) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for (name, _) in found {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
        names
    }

    #[test]
    fn a_recorded_delivery_counts_received_recorded_and_latency() {
        let line = delivery_line(&delivery(RequestOutcome::Recorded), AT);
        let (root, found) = parse_emf(&line);
        assert_eq!(names(&found), [RECEIVED, ANSWER_LATENCY, RECORDED]);
        assert_eq!(found[0].1, [["Provider", "Route"]]);
        assert_eq!(root["Provider"], "zonitel");
        assert_eq!(root["Route"], "POST /zonitel/calls");
        assert_eq!(root["AnswerLatency"], 12.3);
        assert_eq!(root["level"], "INFO");
        // The caller's address is logged for refusals only.
        assert!(root.get("source_ip").is_none());
    }

    #[test]
    fn every_outcome_counts_its_own_metric() {
        for (outcome, name) in [
            (RequestOutcome::Duplicate, Some(DUPLICATE)),
            (RequestOutcome::Unrecognized, Some(UNRECOGNIZED)),
            (RequestOutcome::Spilled, Some(SPILLED)),
            (RequestOutcome::Answered, None),
            (RequestOutcome::Unavailable, Some(UNAVAILABLE)),
            (RequestOutcome::Refused { status: 413 }, Some(REFUSED)),
        ] {
            let (root, found) = parse_emf(&delivery_line(&delivery(outcome), AT));
            let mut expected = vec![RECEIVED, ANSWER_LATENCY];
            expected.extend(name);
            let mut got = names(&found);
            got.sort();
            expected.sort();
            assert_eq!(got, expected, "{outcome:?}");
            assert_eq!(root["outcome"], outcome.as_str());
        }
    }

    #[test]
    fn unrecognized_and_spilled_are_also_counted_across_routes() {
        for outcome in [RequestOutcome::Unrecognized, RequestOutcome::Spilled] {
            let (_, found) = parse_emf(&delivery_line(&delivery(outcome), AT));
            let (_, sets) = found
                .iter()
                .find(|(n, _)| n == outcome.metric().unwrap())
                .unwrap();
            assert!(sets.contains(&vec![]), "{outcome:?}: {sets:?}");
        }
    }

    #[test]
    fn a_refusal_is_one_warn_line_with_route_status_code_and_source_ip() {
        let line = delivery_line(
            &CountedRequest {
                code: Some("unauthorized"),
                ..delivery(RequestOutcome::Refused { status: 401 })
            },
            AT,
        );
        let (root, found) = parse_emf(&line);
        let (_, sets) = found.iter().find(|(n, _)| n == REFUSED).unwrap();
        assert_eq!(
            *sets,
            [
                vec!["Provider", "Route", "Status"],
                vec!["Status"],
                vec!["Provider"]
            ]
        );
        assert_eq!(root["Status"], "401");
        assert_eq!(root["code"], "unauthorized");
        assert_eq!(root["source_ip"], "203.0.113.9");
        assert_eq!(root["Route"], "POST /zonitel/calls");
        assert_eq!(root["level"], "WARN");
        assert_eq!(root["message"], "request refused");
        // Nothing else from the request: the keys are all known ones.
        let keys: Vec<&str> = root
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        for key in keys {
            assert!(
                [
                    "_aws",
                    "Received",
                    "AnswerLatency",
                    "Refused",
                    "Status",
                    "code",
                    "source_ip",
                    "Provider",
                    "Route",
                    "api_request_id",
                    "lambda_request_id",
                    "cold_start",
                    "outcome",
                    "level",
                    "message"
                ]
                .contains(&key),
                "{key}"
            );
        }
    }

    #[test]
    fn every_line_names_the_request_ids_and_counts_received_per_provider() {
        let ids = RequestIds {
            api_request_id: Some("Kx1abcDEFoAMEbQ="),
            lambda_request_id: Some("8f5c1e2a-0000-4000-8000-000000000001"),
            cold_start: true,
        };
        for outcome in [
            RequestOutcome::Recorded,
            RequestOutcome::Refused { status: 401 },
        ] {
            let line = traced_delivery_line(&delivery(outcome), &ids, AT);
            let (root, found) = parse_emf(&line);
            assert_eq!(root["api_request_id"], "Kx1abcDEFoAMEbQ=");
            assert_eq!(
                root["lambda_request_id"],
                "8f5c1e2a-0000-4000-8000-000000000001"
            );
            assert_eq!(root["cold_start"], true);
            assert!(found
                .iter()
                .any(|(n, sets)| n == RECEIVED && sets == &[vec!["Provider".to_string()]]));
        }
        // Without ids (a request outside Lambda) the keys are still there.
        let (root, _) = parse_emf(&delivery_line(&delivery(RequestOutcome::Recorded), AT));
        assert!(root["api_request_id"].is_null());
        assert_eq!(root["cold_start"], false);
    }

    #[test]
    fn only_the_first_invocation_is_a_cold_start() {
        // Other tests in this process may have called it already.
        let _ = first_invocation();
        assert!(!first_invocation());
    }

    #[test]
    fn a_503_is_logged_at_warn_with_its_source() {
        let (root, _) = parse_emf(&delivery_line(&delivery(RequestOutcome::Unavailable), AT));
        assert_eq!(root["level"], "WARN");
        assert_eq!(root["Unavailable503"], 1);
        assert_eq!(root["source_ip"], "203.0.113.9");
    }

    #[test]
    fn statuses_map_to_outcomes() {
        assert_eq!(RequestOutcome::of_status(200), RequestOutcome::Answered);
        assert_eq!(RequestOutcome::of_status(503), RequestOutcome::Unavailable);
        assert_eq!(
            RequestOutcome::of_status(401),
            RequestOutcome::Refused { status: 401 }
        );
        assert_eq!(
            RequestOutcome::of_status(500),
            RequestOutcome::Refused { status: 500 }
        );
    }

    #[test]
    fn an_alert_line_counts_by_alert_type() {
        let line = alert_line("missed_call", "zonitel", AT);
        let (root, found) = parse_emf(&line);
        assert_eq!(
            found,
            [(
                ALERTS_PUBLISHED.to_string(),
                vec![vec!["AlertType".to_string()]]
            )]
        );
        assert_eq!(root["AlertType"], "missed_call");
        assert_eq!(root["provider"], "zonitel");
    }

    #[test]
    fn routes_and_providers_come_from_declared_route_keys_only() {
        assert_eq!(provider_of_route("POST /zonitel/calls"), "zonitel");
        assert_eq!(provider_of_route("GET /voxtelesys/{hook}"), "voxtelesys");
        assert_eq!(provider_of_route("POST /retell/inbound"), "retell");
        assert_eq!(provider_of_route("$default"), OTHER);
        assert_eq!(provider_of_route("POST /evil/route"), OTHER);
        assert_eq!(
            route_dimension(Some("POST /salpre/events")),
            "POST /salpre/events"
        );
        assert_eq!(route_dimension(Some("$default")), OTHER);
        assert_eq!(route_dimension(None), OTHER);
        assert_eq!(route_dimension(Some(&"x".repeat(100))), OTHER);
    }

    #[tokio::test]
    async fn a_noted_outcome_is_seen_by_its_request_only() {
        let (value, noted) = noting(async {
            note(RequestOutcome::Duplicate);
            7
        })
        .await;
        assert_eq!((value, noted), (7, Some(RequestOutcome::Duplicate)));
        let ((), noted) = noting(async {}).await;
        assert_eq!(noted, None);
        // Outside a request: nothing to note into, and no panic.
        note(RequestOutcome::Recorded);
    }

    #[test]
    fn refusal_codes_are_read_from_our_error_bodies_only() {
        let body = crate::http::ApiError::unauthorized("no").to_response();
        assert_eq!(
            refusal_code(body.body().as_ref()).as_deref(),
            Some("unauthorized")
        );
        assert_eq!(
            refusal_code(br#"{"error": {"code": "secret_missing", "message": "x"}}"#).as_deref(),
            Some("secret_missing")
        );
        for body in [
            &br#"{"error": {"code": "Bearer abc", "message": "x"}}"#[..],
            br#"{"error": {"code": "\u001b[2J", "message": "x"}}"#,
            b"<Response/>",
        ] {
            assert_eq!(refusal_code(body), None);
        }
    }
}
