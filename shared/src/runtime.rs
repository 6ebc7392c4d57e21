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
use std::time::Duration;

/// How long a function may spend on storage before it must answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    /// The whole budget for storage in one invocation; past it the handler
    /// answers 503 (or its degraded answer) so the provider can retry.
    pub total: Duration,
    /// One HTTP attempt to DynamoDB.
    pub attempt: Duration,
    pub connect: Duration,
    pub max_attempts: u32,
}

impl Deadline {
    /// Zonitel and Salpre want a 200 within 5 s: the table gets 2.6 s at
    /// most (up to three attempts of up to 1 s each, with backoff), then the
    /// spillway up to [`Deadline::SPILL`]'s 1.2 s, leaving room for a cold
    /// start and the answer.
    pub const FIVE_SECOND_PROVIDER: Deadline = Deadline {
        total: Duration::from_millis(2600),
        attempt: Duration::from_millis(1000),
        connect: Duration::from_millis(500),
        max_attempts: 3,
    };

    /// Retell waits up to 10 s for its inbound-call answer while the caller
    /// hears ringing, and a late answer is retried (more ringing). Lookups
    /// and the recording run concurrently and get 2 s in all (two attempts
    /// of up to 1 s); past that the handler answers with what it knows.
    pub const CALLER_WAITING: Deadline = Deadline {
        total: Duration::from_millis(2000),
        attempt: Duration::from_millis(1000),
        connect: Duration::from_millis(300),
        max_attempts: 2,
    };

    /// The alerts function answers no provider: it may wait longer for
    /// SNS, but never so long that one slow publish holds its shard. A
    /// publish that still fails is that record's batch item failure, and
    /// Lambda retries it. (The label lookup gets [`Deadline::BEST_EFFORT_READ`].)
    pub const ALERTS: Deadline = Deadline {
        total: Duration::from_secs(10),
        attempt: Duration::from_secs(3),
        connect: Duration::from_secs(1),
        max_attempts: 3,
    };

    /// Sending a delivery to the spillway queue after the table failed:
    /// what is left of a five-second provider's budget.
    pub const SPILL: Deadline = Deadline {
        total: Duration::from_millis(1200),
        attempt: Duration::from_millis(550),
        connect: Duration::from_millis(250),
        max_attempts: 2,
    };

    /// A read whose answer is nice to have and never waited for long: one
    /// attempt, half a second.
    pub const BEST_EFFORT_READ: Deadline = Deadline {
        total: Duration::from_millis(500),
        attempt: Duration::from_millis(500),
        connect: Duration::from_millis(250),
        max_attempts: 1,
    };
}

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
/// README "Performance"). `AWS_ENDPOINT_URL` is honoured for `make dev` and
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
        .retry_config(RetryConfig::standard().with_max_attempts(deadline.max_attempts));
    if let Some(endpoint) = env("AWS_ENDPOINT_URL") {
        builder = builder.endpoint_url(endpoint);
    }
    builder.build()
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
        .retry_config(RetryConfig::standard().with_max_attempts(deadline.max_attempts))
}

/// Settings every webhook reads from its environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub table_name: String,
    /// Days event items are kept before DynamoDB's TTL removes them.
    pub retention_days: u32,
}

pub const DEFAULT_RETENTION_DAYS: u32 = 400;

impl Settings {
    pub fn from_env() -> Result<Self, String> {
        let table_name = std::env::var("TABLE_NAME")
            .ok()
            .filter(|t| !t.is_empty())
            .ok_or("TABLE_NAME is not set")?;
        let retention_days = match std::env::var("RETENTION_DAYS") {
            Ok(value) if !value.is_empty() => value
                .parse::<u32>()
                .ok()
                .filter(|d| *d > 0)
                .ok_or_else(|| {
                    format!("RETENTION_DAYS must be a positive number of days, not {value:?}")
                })?,
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
/// broken one. Such a body is dropped and the request marked, so the
/// handler answers 400 through [`crate::http::body_bytes`].
pub async fn run_http<'a, S, R, E>(handler: S) -> Result<(), lambda_http::Error>
where
    S: Service<Request, Response = R, Error = E> + Send,
    S::Future: Send + 'a,
    R: IntoResponse,
    E: std::fmt::Debug + Into<lambda_http::lambda_runtime::Diagnostic>,
{
    let guarded = Adapter::from(handler).map_request(|mut event: LambdaEvent<LambdaRequest>| {
        if let LambdaRequest::ApiGatewayV2(request) = &mut event.payload {
            guard_base64_body(request);
        }
        event
    });
    lambda_http::lambda_runtime::run(guarded).await
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
        assert!(crate::http::body_bytes(&built).is_err());
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
        assert_eq!(crate::http::body_bytes(&built).unwrap(), b"CallSid=CA1");
    }
}
