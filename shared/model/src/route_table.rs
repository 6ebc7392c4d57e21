//! The one list of webhook routes and the providers behind them. Everything
//! that names a route or a provider takes it from here: the pipeline's
//! dispatch (which reader, which credential, which deadline, which answer),
//! the CLI's provider choices and URL table, the local stack's router, the
//! load generator, the fuzz target and the tests. What cannot be derived
//! (template.yaml, the sample events, `events/env.json`, the docs) is held
//! against this table by `tests/tests/it/route_table.rs`, which names the
//! place a new route or provider is missing from.

use crate::deadline::Deadline;
use crate::event::Provider;
use crate::providers::{
    retell, salpre, twilio, voxtelesys, zonitel, zonitel_sms, Payload, Reading,
};
use crate::providers::{ReadError, Reader};
use serde::Serialize;

/// A webhook route: where a delivery came in, and so who sent it and how it
/// is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    ZonitelCall,
    ZonitelSms,
    SalpreEvents,
    Voxtelesys(voxtelesys::Hook),
    RetellInbound,
    /// Retell's call events: joined to their call by reads
    /// (`ingest::call_events` in the AWS crate), so their reader here only
    /// says so.
    RetellEvents,
    Twilio(twilio::Hook),
}

/// An HTTP method a route accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    Post,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
        }
    }
}

/// How a provider proves who it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// A shared token: `Authorization: Bearer` or the `token` query
    /// parameter. The stack generates one when the operator gives none.
    SharedToken,
    /// Retell's `x-retell-signature`: HMAC-SHA256 of the body with the
    /// account's API key.
    RetellSignature,
    /// Twilio's `X-Twilio-Signature`: HMAC-SHA1 of the public URL and the
    /// sorted form parameters with the account's auth token.
    TwilioSignature,
}

/// How a route's answer is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerFormat {
    /// `{"status": <outcome>, ...}` with 200.
    Json,
    /// Call control in VoXML, decided from the number's configuration.
    Voxml,
    /// Retell's inbound-call answer: the agent and the caller's context.
    RetellInbound,
    /// Retell's call events: `{"status": <outcome>}` after the join.
    RetellEvents,
    /// Call control in TwiML, decided like VoXML; `<Response/>` to
    /// messages and status callbacks.
    Twiml,
}

/// Where a provider sends a shared token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenPlacement {
    /// `?token=` in the URL: the provider only takes a URL.
    Query,
    /// `Authorization: Bearer` in a header field of the provider's.
    Header,
}

/// One provider: its name, the secret it proves itself with, and the
/// prefix of its resources in template.yaml.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ProviderEntry {
    pub provider: Provider,
    /// `Zonitel`: template.yaml's `ZonitelWebhookToken`,
    /// `ZonitelSilenceHours`, `ZonitelSilenceAlarm`...
    pub template_prefix: &'static str,
    pub credential: CredentialKind,
    /// The environment variable holding the secret.
    pub secret_variable: &'static str,
    /// The template parameter that sets it.
    pub secret_parameter: &'static str,
    /// How it proves itself, in the words of its own settings (`callhooks
    /// urls` prints them).
    pub authenticated_by: &'static str,
    /// Where it sends a shared token; `None` for a provider that signs.
    pub token_placement: Option<TokenPlacement>,
}

/// One webhook route.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct RouteEntry {
    #[serde(skip)]
    pub route: Route,
    /// As API Gateway serves it (without a stage).
    pub path: &'static str,
    /// The route key's path in template.yaml (`/voxtelesys/{hook}` serves
    /// four hooks).
    pub api_path: &'static str,
    pub methods: &'static [HttpMethod],
    pub provider: Provider,
    /// The function serving it: its folder under `functions/`, its binary.
    pub function: &'static str,
    /// The stack output holding its URL (the hooks of `/voxtelesys/{hook}`
    /// share their voice URL's).
    pub output: &'static str,
    /// How long the function may spend on storage before it answers.
    #[serde(skip)]
    pub deadline: Deadline,
    pub answer: AnswerFormat,
    /// Where the operator pastes or registers its URL at the provider
    /// (`callhooks urls`); `None` for a callback our own call-control answer
    /// names (a `<Dial>` or `<Record>` action).
    pub pasted_into: Option<&'static str>,
    #[serde(skip)]
    pub read: Reader,
}

const POST: &[HttpMethod] = &[HttpMethod::Post];
const TOKEN_IN_THE_URL: &str = "token in the URL (?token=)";
const GET_OR_POST: &[HttpMethod] = &[HttpMethod::Get, HttpMethod::Post];

/// Every provider.
pub const PROVIDERS: &[ProviderEntry] = &[
    ProviderEntry {
        provider: Provider::Zonitel,
        template_prefix: "Zonitel",
        credential: CredentialKind::SharedToken,
        secret_variable: "ZONITEL_WEBHOOK_TOKEN",
        secret_parameter: "ZonitelWebhookToken",
        authenticated_by: TOKEN_IN_THE_URL,
        token_placement: Some(TokenPlacement::Query),
    },
    ProviderEntry {
        provider: Provider::Salpre,
        template_prefix: "Salpre",
        credential: CredentialKind::SharedToken,
        secret_variable: "SALPRE_WEBHOOK_TOKEN",
        secret_parameter: "SalpreWebhookToken",
        authenticated_by: "Additional Headers: Authorization: Bearer",
        token_placement: Some(TokenPlacement::Header),
    },
    ProviderEntry {
        provider: Provider::Voxtelesys,
        template_prefix: "Voxtelesys",
        credential: CredentialKind::SharedToken,
        secret_variable: "VOXTELESYS_WEBHOOK_TOKEN",
        secret_parameter: "VoxtelesysWebhookToken",
        authenticated_by: TOKEN_IN_THE_URL,
        token_placement: Some(TokenPlacement::Query),
    },
    ProviderEntry {
        provider: Provider::Retell,
        template_prefix: "Retell",
        credential: CredentialKind::RetellSignature,
        secret_variable: "RETELL_API_KEY",
        secret_parameter: "RetellApiKey",
        authenticated_by: "signed with the Retell API key (RetellApiKey)",
        token_placement: None,
    },
    ProviderEntry {
        provider: Provider::Twilio,
        template_prefix: "Twilio",
        credential: CredentialKind::TwilioSignature,
        secret_variable: "TWILIO_AUTH_TOKEN",
        secret_parameter: "TwilioAuthToken",
        authenticated_by: "X-Twilio-Signature with the account's auth token (TwilioAuthToken)",
        token_placement: None,
    },
];

/// Every webhook route.
pub const ROUTES: &[RouteEntry] = &[
    RouteEntry {
        route: Route::ZonitelCall,
        path: "/zonitel/calls",
        api_path: "/zonitel/calls",
        methods: POST,
        provider: Provider::Zonitel,
        function: "zonitel-call",
        output: "ZonitelCallsUrl",
        deadline: Deadline::FIVE_SECOND_PROVIDER,
        answer: AnswerFormat::Json,
        pasted_into: Some("incoming-call webhook (`callhooks register zonitel --calls-url`)"),
        read: zonitel::read_payload,
    },
    RouteEntry {
        route: Route::ZonitelSms,
        path: "/zonitel/sms",
        api_path: "/zonitel/sms",
        methods: POST,
        provider: Provider::Zonitel,
        function: "zonitel-sms",
        output: "ZonitelSmsUrl",
        deadline: Deadline::FIVE_SECOND_PROVIDER,
        answer: AnswerFormat::Json,
        pasted_into: Some("SMS webhook (`callhooks register zonitel --sms-url`)"),
        read: zonitel_sms::read_payload,
    },
    RouteEntry {
        route: Route::SalpreEvents,
        path: "/salpre/events",
        api_path: "/salpre/events",
        methods: POST,
        provider: Provider::Salpre,
        function: "salpre-events",
        output: "SalpreEventsUrl",
        deadline: Deadline::FIVE_SECOND_PROVIDER,
        answer: AnswerFormat::Json,
        pasted_into: Some("Settings > Integrations > Custom Webhook > Webhook URL"),
        read: salpre::read_payload,
    },
    voxtelesys_route(
        voxtelesys::Hook::Voice,
        "/voxtelesys/voice",
        Some("the number's voice URL"),
        |p, r| voxtelesys::read_payload(voxtelesys::Hook::Voice, p, r),
    ),
    voxtelesys_route(
        voxtelesys::Hook::Status,
        "/voxtelesys/status",
        Some("the number's status callback URL"),
        |p, r| voxtelesys::read_payload(voxtelesys::Hook::Status, p, r),
    ),
    voxtelesys_route(voxtelesys::Hook::Dial, "/voxtelesys/dial", None, |p, r| {
        voxtelesys::read_payload(voxtelesys::Hook::Dial, p, r)
    }),
    voxtelesys_route(
        voxtelesys::Hook::Recording,
        "/voxtelesys/recording",
        None,
        |p, r| voxtelesys::read_payload(voxtelesys::Hook::Recording, p, r),
    ),
    RouteEntry {
        route: Route::RetellInbound,
        path: "/retell/inbound",
        api_path: "/retell/inbound",
        methods: POST,
        provider: Provider::Retell,
        function: "retell-inbound",
        output: "RetellInboundUrl",
        deadline: Deadline::CALLER_WAITING,
        answer: AnswerFormat::RetellInbound,
        pasted_into: Some("phone number > inbound call webhook URL"),
        read: retell::read_inbound_payload,
    },
    RouteEntry {
        route: Route::RetellEvents,
        path: "/retell/events",
        api_path: "/retell/events",
        methods: POST,
        provider: Provider::Retell,
        function: "retell-inbound",
        output: "RetellEventsUrl",
        deadline: Deadline::CALL_EVENTS,
        answer: AnswerFormat::RetellEvents,
        pasted_into: Some("webhook URL (account or agent) for call events"),
        read: read_with_its_join,
    },
    twilio_route(
        twilio::Hook::Voice,
        GET_OR_POST,
        "TwilioVoiceUrl",
        Some("the number's \"A call comes in\" webhook (`callhooks register twilio`)"),
        |p, r| twilio::read_payload(twilio::Hook::Voice, p, r),
    ),
    twilio_route(
        twilio::Hook::Dial,
        GET_OR_POST,
        "TwilioVoiceUrl",
        None,
        |p, r| twilio::read_payload(twilio::Hook::Dial, p, r),
    ),
    twilio_route(
        twilio::Hook::CallStatus,
        POST,
        "TwilioCallStatusUrl",
        Some("the number's \"Call status changes\" URL (`callhooks register twilio`)"),
        |p, r| twilio::read_payload(twilio::Hook::CallStatus, p, r),
    ),
    twilio_route(
        twilio::Hook::Recording,
        GET_OR_POST,
        "TwilioVoiceUrl",
        None,
        |p, r| twilio::read_payload(twilio::Hook::Recording, p, r),
    ),
    twilio_route(
        twilio::Hook::Messages,
        POST,
        "TwilioMessagesUrl",
        Some("the number's \"A message comes in\" webhook (`callhooks register twilio`)"),
        |p, r| twilio::read_payload(twilio::Hook::Messages, p, r),
    ),
    twilio_route(
        twilio::Hook::MessageStatus,
        POST,
        "TwilioMessageStatusUrl",
        Some("the StatusCallback your app passes when it sends a message"),
        |p, r| twilio::read_payload(twilio::Hook::MessageStatus, p, r),
    ),
];

/// A Twilio route: one function serves `/twilio/{hook}`; a caller may be
/// listening on the voice routes, so all answer as fast as the five-second
/// providers (Twilio itself waits up to 15 s).
const fn twilio_route(
    hook: twilio::Hook,
    methods: &'static [HttpMethod],
    output: &'static str,
    pasted_into: Option<&'static str>,
    read: Reader,
) -> RouteEntry {
    RouteEntry {
        route: Route::Twilio(hook),
        path: hook.path(),
        api_path: "/twilio/{hook}",
        methods,
        provider: Provider::Twilio,
        function: "twilio",
        output,
        deadline: Deadline::FIVE_SECOND_PROVIDER,
        answer: AnswerFormat::Twiml,
        pasted_into,
        read,
    }
}

/// A Voxtelesys hook: a caller is listening, so it answers as fast as the
/// five-second providers.
const fn voxtelesys_route(
    hook: voxtelesys::Hook,
    path: &'static str,
    pasted_into: Option<&'static str>,
    read: Reader,
) -> RouteEntry {
    RouteEntry {
        route: Route::Voxtelesys(hook),
        path,
        api_path: "/voxtelesys/{hook}",
        methods: GET_OR_POST,
        provider: Provider::Voxtelesys,
        function: "voxtelesys-voice",
        output: "VoxtelesysVoiceUrl",
        deadline: Deadline::FIVE_SECOND_PROVIDER,
        answer: AnswerFormat::Voxml,
        pasted_into,
        read,
    }
}

/// Retell's call events are joined to their call by reads of the table:
/// the AWS crate's `ingest::call_events` reads them, for the webhook and
/// the spillway alike.
fn read_with_its_join(_: &Payload, _: u32) -> Result<Reading, ReadError> {
    Err(ReadError::field(
        "route",
        "a Retell call event is read with its join (ingest::call_events)",
    ))
}

impl Route {
    /// Every route, in the table's order.
    pub fn all() -> impl Iterator<Item = Route> {
        ROUTES.iter().map(|entry| entry.route)
    }

    /// This route's row of the table.
    pub fn entry(self) -> &'static RouteEntry {
        ROUTES
            .iter()
            .find(|entry| entry.route == self)
            .unwrap_or(&ROUTES[0])
    }

    /// The route's path, as API Gateway serves it.
    pub fn path(self) -> &'static str {
        self.entry().path
    }

    /// The route of a request's path, with or without a stage prefix or a
    /// trailing slash; `None` for a path no webhook serves.
    pub fn of_path(path: &str) -> Option<Route> {
        let path = path.trim_end_matches('/');
        ROUTES
            .iter()
            .find(|entry| path.ends_with(entry.path))
            .map(|entry| entry.route)
    }

    pub fn provider(self) -> Provider {
        self.entry().provider
    }

    /// The environment variable holding the secret this route checks.
    pub fn secret_variable(self) -> &'static str {
        self.provider().entry().secret_variable
    }

    pub fn credential(self) -> CredentialKind {
        self.provider().entry().credential
    }

    /// Whether the route accepts `method` (an HTTP method's name).
    pub fn accepts(self, method: &str) -> bool {
        self.entry()
            .methods
            .iter()
            .any(|m| m.as_str().eq_ignore_ascii_case(method))
    }
}

impl Provider {
    /// This provider's row of the table.
    pub fn entry(self) -> &'static ProviderEntry {
        PROVIDERS
            .iter()
            .find(|entry| entry.provider == self)
            .unwrap_or(&PROVIDERS[0])
    }

    /// The routes this provider sends to.
    pub fn routes(self) -> impl Iterator<Item = &'static RouteEntry> {
        ROUTES.iter().filter(move |entry| entry.provider == self)
    }
}

/// The functions serving webhook routes, each once, in the table's order.
pub fn webhook_functions() -> Vec<&'static str> {
    let mut functions: Vec<&'static str> = Vec::new();
    for entry in ROUTES {
        if !functions.contains(&entry.function) {
            functions.push(entry.function);
        }
    }
    functions
}

/// The table as JSON, for the scripts (`cargo run -p callhooks-model
/// --example route_table`): providers and routes with their plain fields.
pub fn to_json() -> serde_json::Value {
    serde_json::json!({
        "providers": PROVIDERS,
        "routes": ROUTES,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_found_by_its_path_with_or_without_a_stage() {
        for route in Route::all() {
            assert_eq!(Route::of_path(route.path()), Some(route));
            assert_eq!(
                Route::of_path(&format!("/prod{}", route.path())),
                Some(route)
            );
            assert_eq!(Route::of_path(&format!("{}/", route.path())), Some(route));
        }
        assert_eq!(Route::of_path("/voxtelesys/other"), None);
        assert_eq!(Route::of_path("/"), None);
    }

    #[test]
    fn every_provider_has_an_entry_and_a_route_and_every_route_one_row() {
        for provider in Provider::ALL {
            assert_eq!(provider.entry().provider, provider);
            assert!(provider.routes().next().is_some(), "{provider}");
        }
        assert_eq!(PROVIDERS.len(), Provider::ALL.len());
        for (index, entry) in ROUTES.iter().enumerate() {
            assert_eq!(entry.route.entry().path, entry.path);
            assert!(
                ROUTES[index + 1..]
                    .iter()
                    .all(|other| other.route != entry.route && other.path != entry.path),
                "{} is listed twice",
                entry.path
            );
            assert!(entry.path.starts_with('/') && !entry.path.ends_with('/'));
            assert!(!entry.methods.is_empty());
        }
    }

    #[test]
    fn an_api_path_with_a_parameter_matches_its_routes_paths() {
        for entry in ROUTES {
            let pattern: Vec<&str> = entry.api_path.split('/').collect();
            let path: Vec<&str> = entry.path.split('/').collect();
            assert_eq!(pattern.len(), path.len(), "{}", entry.path);
            for (p, segment) in pattern.iter().zip(path) {
                assert!(p.starts_with('{') || *p == segment, "{}", entry.path);
            }
        }
    }

    #[test]
    fn a_shared_token_has_a_place_and_only_call_control_names_its_own_callbacks() {
        for entry in PROVIDERS {
            let shared = entry.credential == CredentialKind::SharedToken;
            assert_eq!(
                entry.token_placement.is_some(),
                shared,
                "{}",
                entry.provider
            );
            assert!(!entry.authenticated_by.is_empty());
        }
        for entry in ROUTES {
            if entry.pasted_into.is_none() {
                assert!(
                    matches!(entry.answer, AnswerFormat::Voxml | AnswerFormat::Twiml),
                    "{} is named by no answer of ours: say where it is pasted",
                    entry.path
                );
            }
        }
        for provider in Provider::ALL {
            assert!(
                provider.routes().any(|r| r.pasted_into.is_some()),
                "{provider}: no URL to paste anywhere"
            );
        }
    }

    #[test]
    fn methods_are_matched_without_case() {
        assert!(Route::ZonitelCall.accepts("POST"));
        assert!(Route::ZonitelCall.accepts("post"));
        assert!(!Route::ZonitelCall.accepts("GET"));
        assert!(Route::Voxtelesys(voxtelesys::Hook::Voice).accepts("GET"));
    }

    #[test]
    fn the_json_names_every_route_and_provider() {
        let json = to_json();
        assert_eq!(json["routes"].as_array().unwrap().len(), ROUTES.len());
        assert_eq!(json["providers"].as_array().unwrap().len(), PROVIDERS.len());
        assert_eq!(json["routes"][0]["path"], "/zonitel/calls");
        assert_eq!(json["routes"][0]["methods"][0], "POST");
        assert_eq!(json["providers"][3]["credential"], "retell_signature");
    }
}
