//! What every function's `main` does once at start-up: read its settings,
//! build the SDK configuration with deadlines that fit its provider, and run
//! the HTTP handler behind a guard for API Gateway's base64 bodies.

use crate::http::REJECTED_BODY_HEADER;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_http::request::LambdaRequest;
use lambda_http::tower::{Service, ServiceExt};
use lambda_http::{Adapter, IntoResponse, LambdaEvent, Request};

pub use callhooks_model::deadline::Deadline;

/// The SDK configuration for a function with this deadline: the standard
/// credential and region chain, bounded timeouts, bounded retries.
pub async fn sdk_config(deadline: Deadline) -> SdkConfig {
    sdk_config_loader(deadline).load().await
}

/// The SDK configuration for a Lambda function, from its environment alone:
/// Lambda always gives a function its region (`AWS_REGION`) and its role's
/// credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`) as environment variables, so the standard chain's
/// profile files, SSO, web identity, STS and instance metadata are never
/// used there. Leaving them out saves start-up time and binary size (see
/// docs/performance.md). `AWS_ENDPOINT_URL` is honoured for `make dev` and
/// the benchmarks. Same deadlines as [`sdk_config`].
pub fn lambda_sdk_config(deadline: Deadline) -> SdkConfig {
    use aws_config::environment::EnvironmentVariableCredentialsProvider;
    use aws_config::Region;
    use aws_sdk_dynamodb::config::SharedCredentialsProvider;

    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let region = env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION"));
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(region.map(Region::new))
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .timeout_config(timeout_config(deadline))
        .retry_config(retry_config(deadline));
    if let Some(endpoint) = env("AWS_ENDPOINT_URL") {
        builder = builder.endpoint_url(endpoint);
    }
    builder.build()
}

/// `client` with `deadline`'s timeouts and retries: the same HTTP client
/// (one connector, its root certificates loaded once), for a function with
/// two deadlines. A second `Client::new` would set all that up again at
/// every cold start.
pub fn dynamodb_with_deadline(
    client: &aws_sdk_dynamodb::Client,
    deadline: Deadline,
) -> aws_sdk_dynamodb::Client {
    let config = client
        .config()
        .to_builder()
        .timeout_config(timeout_config(deadline))
        .retry_config(retry_config(deadline))
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

fn retry_config(deadline: Deadline) -> RetryConfig {
    RetryConfig::standard().with_max_attempts(deadline.max_attempts)
}

fn timeout_config(deadline: Deadline) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(deadline.connect)
        .operation_attempt_timeout(deadline.attempt)
        .operation_timeout(deadline.total)
        .build()
}

/// [`sdk_config`] before loading, for callers that must pin the endpoint,
/// region or credentials (the integration tests).
pub fn sdk_config_loader(deadline: Deadline) -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeout_config(deadline))
        .retry_config(retry_config(deadline))
}

/// Settings every webhook reads from its environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub table_name: String,
    /// Days event items are kept before DynamoDB's TTL removes them.
    pub retention_days: u32,
}

pub const DEFAULT_RETENTION_DAYS: u32 = 400;

/// A setting every webhook needs is missing or not what it must be: the
/// function stops at start-up, naming it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("TABLE_NAME is not set")]
    NoTable,
    #[error("RETENTION_DAYS must be a positive number of days, not {0:?}")]
    RetentionDays(String),
}

impl Settings {
    pub fn from_env() -> Result<Self, SettingsError> {
        let table_name = std::env::var("TABLE_NAME")
            .ok()
            .filter(|t| !t.is_empty())
            .ok_or(SettingsError::NoTable)?;
        let retention_days = match std::env::var("RETENTION_DAYS") {
            Ok(value) if !value.is_empty() => value
                .parse::<u32>()
                .ok()
                .filter(|d| *d > 0)
                .ok_or(SettingsError::RetentionDays(value))?,
            _ => DEFAULT_RETENTION_DAYS,
        };
        Ok(Settings {
            table_name,
            retention_days,
        })
    }
}

/// Runs an HTTP handler like `lambda_http::run`, but first checks a body
/// that API Gateway flags as base64: `lambda_http` would panic decoding a
/// broken one. Such a body is dropped and the request marked
/// ([`REJECTED_BODY_HEADER`]): the edge keeps it as an unrecognized delivery,
/// naming why.
pub async fn run_http<'a, S, R, E>(handler: S) -> Result<(), lambda_http::Error>
where
    S: Service<Request, Response = R, Error = E> + Send,
    S::Future: Send + 'a,
    R: IntoResponse + Send + 'a,
    E: std::fmt::Debug + Into<lambda_http::lambda_runtime::Diagnostic> + Send + 'a,
{
    let guarded = Adapter::from(Measured::new(handler)).map_request(
        |mut event: LambdaEvent<LambdaRequest>| {
            if let LambdaRequest::ApiGatewayV2(request) = &mut event.payload {
                guard_base64_body(request);
            }
            event
        },
    );
    lambda_http::lambda_runtime::run(guarded).await
}

/// A handler that prints one metrics line ([`crate::metrics::delivery_line`])
/// per request it answers: route key and provider from API Gateway's
/// request context, latency from the call to the answer, outcome from what
/// the handler noted ([`crate::metrics::note`]) or, for a refusal, from the
/// answer's status and error code. Refusals carry the source IP.
pub struct Measured<'a, S> {
    inner: S,
    /// Where the line goes: [`crate::metrics::emit`] (stdout) but in tests.
    sink: fn(&str),
    _future: std::marker::PhantomData<&'a ()>,
}

impl<S> Measured<'_, S> {
    pub fn new(inner: S) -> Self {
        Self::with_sink(inner, crate::metrics::emit)
    }

    pub fn with_sink(inner: S, sink: fn(&str)) -> Self {
        Measured {
            inner,
            sink,
            _future: std::marker::PhantomData,
        }
    }
}

impl<'a, S, R> Service<Request> for Measured<'a, S>
where
    S: Service<Request, Response = R>,
    S::Future: Send + 'a,
    S::Error: Send + 'a,
    R: IntoResponse + Send + 'a,
{
    type Response = lambda_http::Response<lambda_http::Body>;
    type Error = S::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, S::Error>> + Send + 'a>,
    >;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        use lambda_http::request::RequestContext;
        use lambda_http::RequestExt;
        let (route_key, source_ip, api_request_id) = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(context)) => (
                context.route_key.clone(),
                context.http.source_ip.clone(),
                context.request_id.clone(),
            ),
            _ => (None, None, None),
        };
        let lambda_request_id = req.lambda_context_ref().map(|c| c.request_id.clone());
        let cold_start = crate::metrics::first_invocation();
        let started = std::time::Instant::now();
        let sink = self.sink;
        let answer = self.inner.call(req);
        Box::pin(async move {
            let (result, noted) = crate::metrics::noting(answer).await;
            let response = result?.into_response().await;
            let latency_ms = started.elapsed().as_secs_f64() * 1e3;
            let status = response.status().as_u16();
            let outcome = match noted {
                Some(noted) if status < 400 => noted,
                _ => crate::metrics::RequestOutcome::of_status(status),
            };
            let code = (status >= 400)
                .then(|| crate::metrics::refusal_code(response.body().as_ref()))
                .flatten();
            let route = crate::metrics::route_dimension(route_key.as_deref());
            let delivery = crate::metrics::CountedRequest {
                provider: crate::metrics::provider_of_route(route),
                route,
                outcome,
                latency_ms,
                source_ip: source_ip.as_deref(),
                code: code.as_deref(),
            };
            let now_ms = crate::time::Timestamp::now().as_millisecond();
            let ids = crate::metrics::RequestIds {
                api_request_id: api_request_id.as_deref(),
                lambda_request_id: lambda_request_id.as_deref(),
                cold_start,
            };
            sink(&crate::metrics::traced_delivery_line(
                &delivery, &ids, now_ms,
            ));
            Ok(response)
        })
    }
}

/// Drops a body flagged as base64 that does not decode, and marks the
/// request so the handler can refuse it. A client's own copy of the marker
/// header is always removed.
pub fn guard_base64_body(request: &mut ApiGatewayV2httpRequest) {
    request.headers.remove(REJECTED_BODY_HEADER);
    if !request.is_base64_encoded {
        return;
    }
    use base64::Engine;
    let valid = request.body.as_deref().is_none_or(|body| {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .is_ok()
    });
    if !valid {
        request.body = None;
        request.is_base64_encoded = false;
        request.headers.insert(
            REJECTED_BODY_HEADER,
            lambda_http::http::HeaderValue::from_static("invalid-base64"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_base64_body_is_dropped_and_marked() {
        let mut request = ApiGatewayV2httpRequest::default();
        request.is_base64_encoded = true;
        request.body = Some("not base64 !!".into());
        guard_base64_body(&mut request);
        assert_eq!(request.body, None);
        assert!(request.headers.contains_key(REJECTED_BODY_HEADER));
        // lambda_http can now build the request without panicking.
        let built: Request = LambdaRequest::ApiGatewayV2(request).into();
        assert!(built.headers().contains_key(REJECTED_BODY_HEADER));
        assert!(built.body().is_empty());
    }

    #[test]
    fn a_client_with_another_deadline_keeps_the_rest_of_its_configuration() {
        let config = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .endpoint_url("http://127.0.0.1:1")
            .timeout_config(timeout_config(Deadline::CALLER_WAITING))
            .build();
        let inbound = aws_sdk_dynamodb::Client::new(&config);
        let events = dynamodb_with_deadline(&inbound, Deadline::CALL_EVENTS);
        let timeouts = events.config().timeout_config().unwrap();
        assert_eq!(
            timeouts.operation_timeout(),
            Some(Deadline::CALL_EVENTS.total)
        );
        assert_eq!(
            timeouts.operation_attempt_timeout(),
            Some(Deadline::CALL_EVENTS.attempt)
        );
        assert_eq!(
            events.config().retry_config().unwrap().max_attempts(),
            Deadline::CALL_EVENTS.max_attempts
        );
        assert_eq!(events.config().region().unwrap().as_ref(), "eu-west-1");
        // The original keeps its own.
        let original = inbound.config().timeout_config().unwrap();
        assert_eq!(
            original.operation_timeout(),
            Some(Deadline::CALLER_WAITING.total)
        );
    }

    thread_local! {
        static LINES: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
    }

    fn keep(line: &str) {
        LINES.with(|lines| lines.borrow_mut().push(line.to_string()));
    }

    /// One request through [`Measured`] around `answer`, with this route
    /// key and source IP; returns the line it printed.
    async fn measured_line(
        answer: fn() -> Result<lambda_http::Response<lambda_http::Body>, crate::http::ApiError>,
        noted: Option<crate::metrics::RequestOutcome>,
    ) -> serde_json::Value {
        let mut request = ApiGatewayV2httpRequest::default();
        request.request_context.route_key = Some("POST /zonitel/calls".into());
        request.request_context.http.source_ip = Some("198.51.100.7".into());
        request.request_context.request_id = Some("api-request-7".into());
        request.raw_path = Some("/zonitel/calls".into());
        request.headers.insert(
            "authorization",
            lambda_http::http::HeaderValue::from_static("Bearer secret-token"),
        );
        request.body = Some("{\"caller\": \"secret body\"}".into());
        let built: Request = LambdaRequest::ApiGatewayV2(request).into();
        let mut context = lambda_http::Context::default();
        context.request_id = "lambda-request-7".into();
        let built = lambda_http::RequestExt::with_lambda_context(built, context);
        let mut service = Measured::with_sink(
            lambda_http::service_fn(move |_req: Request| async move {
                if let Some(outcome) = noted {
                    crate::metrics::note(outcome);
                }
                Ok::<_, lambda_http::Error>(crate::http::respond(answer()))
            }),
            keep,
        );
        LINES.with(|lines| lines.borrow_mut().clear());
        let response = service.call(built).await.unwrap();
        let lines = LINES.with(|lines| lines.borrow().clone());
        assert_eq!(lines.len(), 1, "one line per request: {lines:?}");
        assert!(!lines[0].contains("secret"), "{}", lines[0]);
        let line: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(line["Received"], 1);
        assert_eq!(line["Route"], "POST /zonitel/calls");
        assert_eq!(line["Provider"], "zonitel");
        // Findable in the access log and Lambda's own lines.
        assert_eq!(line["api_request_id"], "api-request-7");
        assert_eq!(line["lambda_request_id"], "lambda-request-7");
        assert!(line["cold_start"].is_boolean());
        let _ = response;
        line
    }

    #[tokio::test]
    async fn every_request_gets_one_metrics_line_and_refusals_say_who() {
        let refused = measured_line(
            || Err(crate::http::ApiError::unauthorized("wrong token")),
            None,
        )
        .await;
        assert_eq!(refused["Refused"], 1);
        assert_eq!(refused["Status"], "401");
        assert_eq!(refused["code"], "unauthorized");
        assert_eq!(refused["source_ip"], "198.51.100.7");
        assert_eq!(refused["level"], "WARN");

        let unavailable =
            measured_line(|| Err(crate::http::ApiError::storage_unavailable()), None).await;
        assert_eq!(unavailable["Unavailable503"], 1);

        let ok = || {
            Ok(crate::http::json_response(
                lambda_http::http::StatusCode::OK,
                &serde_json::json!({}),
            ))
        };
        let duplicate = measured_line(ok, Some(crate::metrics::RequestOutcome::Duplicate)).await;
        assert_eq!(duplicate["Duplicate"], 1);
        assert_eq!(duplicate["outcome"], "duplicate");
        assert!(duplicate.get("source_ip").is_none());
        let answered = measured_line(ok, None).await;
        assert_eq!(answered["outcome"], "answered");
        assert!(answered["AnswerLatency"].is_number());
    }

    #[test]
    fn valid_base64_body_is_kept_and_spoofed_marker_removed() {
        let mut request = ApiGatewayV2httpRequest::default();
        request.is_base64_encoded = true;
        request.body = Some("Q2FsbFNpZD1DQTE=".into());
        request.headers.insert(
            REJECTED_BODY_HEADER,
            lambda_http::http::HeaderValue::from_static("x"),
        );
        guard_base64_body(&mut request);
        assert!(!request.headers.contains_key(REJECTED_BODY_HEADER));
        let built: Request = LambdaRequest::ApiGatewayV2(request).into();
        let body: &[u8] = built.body().as_ref();
        assert_eq!(body, b"CallSid=CA1");
    }
}
