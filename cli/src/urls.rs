//! `callhooks urls --stack NAME [--show-secrets]`: each provider's webhook
//! URL from the deployed stack's Outputs (CloudFormation DescribeStacks),
//! ready to paste with its token, with the field it goes into at the
//! provider and how that provider authenticates. Tokens the stack generated
//! are read from Secrets Manager only with `--show-secrets`; otherwise they
//! are masked. A stack deployed with `AllowUnauthenticated=true` is said
//! first, as a warning.
//!
//! The rows are the route table's routes (`callhooks::route_table`): their
//! outputs, paths and providers, where each URL is pasted at the provider,
//! how the provider authenticates and where its token goes.

use crate::table::{Table, Tone};
use crate::{CliError, Context};
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use callhooks::route_table::{CredentialKind, ProviderEntry, Route, RouteEntry, ROUTES};
use serde::Serialize;
use std::collections::HashMap;

/// Where a shared token goes at its provider (the route table's).
pub use callhooks::route_table::TokenPlacement as Placement;

/// A webhook token: the template parameter an operator may set, and the
/// output naming the secret the stack generated when they did not.
#[derive(Clone, Debug)]
pub struct Token {
    pub parameter: &'static str,
    /// `<TemplatePrefix>TokenSecretArn` (the route-table test holds
    /// template.yaml to that name).
    pub secret_output: String,
    pub placement: Placement,
}

/// One URL an operator gives a provider: a route of the table with its
/// provider's and its own words.
#[derive(Clone, Debug)]
pub struct Webhook {
    pub route: &'static RouteEntry,
    pub provider: &'static ProviderEntry,
    /// Where it goes at the provider.
    pub field: &'static str,
    /// How the provider proves itself to us.
    pub auth: &'static str,
    /// The token it sends, and where (`None` for signed requests).
    pub token: Option<Token>,
}

/// Every URL an operator gives a provider, in the route table's order:
/// the routes pasted somewhere (the callbacks our own answers name are
/// not).
pub fn webhooks() -> Vec<Webhook> {
    ROUTES
        .iter()
        .filter_map(|route| {
            let field = route.pasted_into?;
            let provider = route.provider.entry();
            let token = match (provider.credential, provider.token_placement) {
                (CredentialKind::SharedToken, Some(placement)) => Some(Token {
                    parameter: provider.secret_parameter,
                    secret_output: format!("{}TokenSecretArn", provider.template_prefix),
                    placement,
                }),
                _ => None,
            };
            Some(Webhook {
                route,
                provider,
                field,
                auth: provider.authenticated_by,
                token,
            })
        })
        .collect()
}

/// The stack output present when the stack accepts unauthenticated
/// requests on routes without a secret.
pub const OPEN_ROUTES_OUTPUT: &str = "UnauthenticatedRoutesWarning";

/// Shown instead of a token without `--show-secrets`.
pub const MASK: &str = "********";

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ProviderUrl {
    /// The route of the table it serves (not printed: `output` and
    /// `field` say it).
    #[serde(skip)]
    pub route: Route,
    pub provider: String,
    pub field: String,
    /// Ready to paste: with `?token=` where the provider sends it there.
    pub url: String,
    /// How it authenticates, with the header to set where it sends one.
    pub auth: String,
    pub output: String,
    /// The token as shown: the value (`--show-secrets`), [`MASK`], or
    /// `<Parameter>` when the operator passed their own (the stack cannot
    /// tell it). Absent for providers that sign their requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Set when this route may accept unauthenticated requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// The warning for a stack deployed with `AllowUnauthenticated=true`.
pub const OPEN_ROUTES_WARNING: &str = "WARNING: this stack was deployed with AllowUnauthenticated=true: a route whose secret is empty accepts requests without authentication (anyone can read contacts and forwarding numbers, forge calls and alerts). Redeploy with AllowUnauthenticated=false.";

/// Where each token comes from: the secret the stack generated (by its
/// output name, for [`token_values`]), else the operator's parameter.
pub fn secret_outputs(outputs: &HashMap<String, String>) -> Vec<(String, String)> {
    let mut seen: Vec<(String, String)> = Vec::new();
    for webhook in webhooks() {
        if let Some(token) = webhook.token {
            if let Some(arn) = outputs.get(&token.secret_output) {
                if !seen.iter().any(|(o, _)| *o == token.secret_output) {
                    seen.push((token.secret_output, arn.clone()));
                }
            }
        }
    }
    seen
}

/// Puts each token into its URL or header: `values` holds the generated
/// ones read from Secrets Manager (by secret output name), only with
/// `--show-secrets`; without, generated tokens are masked.
pub fn with_tokens(
    urls: &mut [ProviderUrl],
    outputs: &HashMap<String, String>,
    values: &HashMap<String, String>,
) {
    let open = outputs.contains_key(OPEN_ROUTES_OUTPUT);
    let webhooks = webhooks();
    for u in urls.iter_mut() {
        let Some(webhook) = webhooks.iter().find(|w| w.route.route == u.route) else {
            continue;
        };
        let Some(token) = &webhook.token else {
            // Signed with a key the operator passed: the stack cannot tell
            // whether it is empty.
            if open {
                u.warning = Some(format!(
                    "{} may be empty: then this route accepts anything",
                    webhook.provider.secret_parameter
                ));
            }
            continue;
        };
        let shown = match (
            outputs.contains_key(&token.secret_output),
            values.get(&token.secret_output),
        ) {
            (true, Some(value)) => value.clone(),
            (true, None) => MASK.to_string(),
            (false, _) => format!("<{}>", token.parameter),
        };
        match token.placement {
            Placement::Query => {
                let separator = if u.url.contains('?') { '&' } else { '?' };
                u.url = format!("{}{separator}token={shown}", u.url);
            }
            Placement::Header => {
                u.auth = format!(
                    "{}: Bearer {shown}",
                    webhook.auth.trim_end_matches(": Bearer")
                )
            }
        }
        if !outputs.contains_key(&token.secret_output) && open {
            u.warning = Some(format!(
                "{} may be empty: then this route accepts anything",
                token.parameter
            ));
        }
        u.token = Some(shown);
    }
}

/// A route's URL from its output's value: the output's own route's URL,
/// or a sibling's (Voxtelesys's status callback shares the voice URL's
/// output) with the route's path in place of the owner's.
pub(crate) fn route_url(value: &str, route: &RouteEntry) -> String {
    if value.trim_end_matches('/').ends_with(route.path) {
        return value.to_string();
    }
    match Route::of_path(value) {
        Some(owner) => {
            let base = value.trim_end_matches('/');
            let base = base.strip_suffix(owner.path()).unwrap_or(base);
            format!("{base}{}", route.path)
        }
        None => value.to_string(),
    }
}

/// The URLs of `outputs` (output name to value), in the route table's
/// order, and the outputs the stack lacks.
pub fn provider_urls(outputs: &HashMap<String, String>) -> (Vec<ProviderUrl>, Vec<&'static str>) {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for webhook in webhooks() {
        let output = webhook.route.output;
        let Some(value) = outputs.get(output) else {
            if !missing.contains(&output) {
                missing.push(output);
            }
            continue;
        };
        found.push(ProviderUrl {
            route: webhook.route.route,
            provider: webhook.route.provider.as_str().into(),
            field: webhook.field.into(),
            url: route_url(value, webhook.route),
            auth: webhook.auth.into(),
            output: output.into(),
            token: None,
            warning: None,
        });
    }
    (found, missing)
}

/// The stack's outputs, by name.
pub async fn stack_outputs(
    client: &aws_sdk_cloudformation::Client,
    stack: &str,
) -> Result<HashMap<String, String>, CliError> {
    let output = client
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| match e.as_service_error() {
            Some(service) if service.message().is_some_and(|m| m.contains("does not exist")) => {
                CliError::Failure(format!(
                    "no stack {stack:?} in this account and region: check --stack (the name you gave `sam deploy`), AWS_PROFILE and AWS_REGION"
                ))
            }
            Some(service) => CliError::Failure(format!(
                "CloudFormation refused DescribeStacks: {}: {}",
                service.code().unwrap_or("error"),
                service.message().unwrap_or("")
            )),
            None => CliError::Failure(format!(
                "cannot reach CloudFormation ({e}); check your AWS credentials, AWS_REGION and network"
            )),
        })?;
    let stack = output.stacks().first().ok_or_else(|| {
        CliError::Failure(format!("no stack {stack:?}: check --stack and AWS_REGION"))
    })?;
    Ok(stack
        .outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string())))
        .collect())
}

/// The generated tokens, read from Secrets Manager (`--show-secrets`), by
/// their secret output name.
pub async fn token_values(
    client: &aws_sdk_secretsmanager::Client,
    secrets: &[(String, String)],
) -> Result<HashMap<String, String>, CliError> {
    let mut values = HashMap::new();
    for (output, arn) in secrets {
        let value = client
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .map_err(|e| {
                CliError::Failure(format!(
                    "cannot read the generated token {output} ({arn}) from Secrets Manager: {}",
                    e.as_service_error()
                        .and_then(|s| s.message())
                        .map(str::to_string)
                        .unwrap_or_else(|| e.to_string())
                ))
            })?;
        let Some(text) = value.secret_string() else {
            return Err(CliError::Failure(format!("the secret {arn} holds no text")));
        };
        values.insert(output.clone(), text.to_string());
    }
    Ok(values)
}

/// The table (or JSON list) of URLs; `table_name` (the EventsTableName
/// output) is said under the table, for `TABLE_NAME`. `open` puts the
/// open-routes warning first.
pub fn render(
    stack: &str,
    urls: &[ProviderUrl],
    missing: &[&str],
    table_name: Option<&str>,
    open: bool,
    context: &Context,
) -> Result<String, CliError> {
    if urls.is_empty() {
        return Err(CliError::Failure(format!(
            "stack {stack:?} has none of the webhook outputs ({}): is it a callhooks stack? deploy with `make deploy`",
            missing.join(", ")
        )));
    }
    if context.json {
        return Ok(serde_json::to_string_pretty(urls).unwrap_or_default());
    }
    let mut table = Table::new(&["PROVIDER", "WHERE IT GOES", "URL", "AUTHENTICATION"]);
    for u in urls {
        table.row(vec![
            (u.provider.clone(), Tone::Plain),
            (u.field.clone(), Tone::Plain),
            (u.url.clone(), Tone::Good),
            match &u.warning {
                Some(warning) => (format!("{} ({warning})", u.auth), Tone::Bad),
                None => (u.auth.clone(), Tone::Dim),
            },
        ]);
    }
    let mut out = String::new();
    if open {
        out.push_str(&crate::table::paint(
            OPEN_ROUTES_WARNING,
            Tone::Bad,
            context.color,
        ));
        out.push_str("\n\n");
    }
    out.push_str(&table.render(context.color));
    if urls.iter().any(|u| u.token.as_deref() == Some(MASK)) {
        out.push_str(&format!(
            "\ntokens the stack generated are shown as {MASK}: add --show-secrets to print them (read from Secrets Manager)\n"
        ));
    }
    if let Some(name) = table_name {
        out.push_str(&format!(
            "\nthe table: export TABLE_NAME={name}  (for numbers, contacts, calls, sms)\n"
        ));
    }
    if !missing.is_empty() {
        out.push_str(&format!(
            "\nthe stack has no output {}: deployed from an older template? run `make deploy` again\n",
            missing.join(", ")
        ));
    }
    Ok(out.trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_webhook_output_of_the_template_has_a_destination() {
        let template = include_str!("../../template.yaml");
        let outputs = template.split("\nOutputs:\n").nth(1).unwrap();
        let names: Vec<&str> = outputs
            .lines()
            .filter(|l| l.starts_with("  ") && !l.starts_with("   ") && l.trim_end().ends_with(':'))
            .map(|l| l.trim().trim_end_matches(':'))
            .collect();
        assert!(names.contains(&"ZonitelCallsUrl"), "{names:?}");
        for name in names {
            let webhook = name.ends_with("Url") && name != "ApiUrl" && !name.contains("Queue");
            assert_eq!(
                webhooks().iter().any(|w| w.route.output == name),
                webhook,
                "{name}"
            );
        }
    }

    #[test]
    fn twilio_urls_come_from_its_outputs_with_the_signature_said() {
        let outputs = outputs(&[
            ("TwilioVoiceUrl", "https://a.example/twilio/voice"),
            (
                "TwilioCallStatusUrl",
                "https://a.example/twilio/call-status",
            ),
            ("TwilioMessagesUrl", "https://a.example/twilio/messages"),
            (
                "TwilioMessageStatusUrl",
                "https://a.example/twilio/message-status",
            ),
            (OPEN_ROUTES_OUTPUT, "AllowUnauthenticated=true"),
        ]);
        let (mut urls, missing) = provider_urls(&outputs);
        with_tokens(&mut urls, &outputs, &HashMap::new());
        let twilio: Vec<&ProviderUrl> = urls.iter().filter(|u| u.provider == "twilio").collect();
        let listed: Vec<(&str, &str)> = twilio
            .iter()
            .map(|u| (u.output.as_str(), u.url.as_str()))
            .collect();
        assert_eq!(
            listed,
            [
                ("TwilioVoiceUrl", "https://a.example/twilio/voice"),
                (
                    "TwilioCallStatusUrl",
                    "https://a.example/twilio/call-status"
                ),
                ("TwilioMessagesUrl", "https://a.example/twilio/messages"),
                (
                    "TwilioMessageStatusUrl",
                    "https://a.example/twilio/message-status"
                ),
            ],
            "the <Dial> and <Record> actions are ours to name, never pasted"
        );
        assert!(twilio[0].field.contains("A call comes in"));
        assert!(twilio[1].field.contains("Call status changes"));
        assert!(twilio[2].field.contains("A message comes in"));
        assert!(twilio[3].field.contains("StatusCallback"));
        for u in &twilio {
            assert_eq!(
                u.auth,
                "X-Twilio-Signature with the account's auth token (TwilioAuthToken)"
            );
            assert_eq!(u.token, None);
            assert_eq!(
                u.warning.as_deref(),
                Some("TwilioAuthToken may be empty: then this route accepts anything")
            );
        }
        assert!(!missing.contains(&"TwilioVoiceUrl"));
        assert!(missing.contains(&"ZonitelCallsUrl"));
    }

    fn outputs(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const BASE: &str = "https://a.example";

    fn all_urls() -> Vec<(&'static str, &'static str)> {
        vec![
            ("ZonitelCallsUrl", "https://a.example/zonitel/calls"),
            ("ZonitelSmsUrl", "https://a.example/zonitel/sms"),
            ("SalpreEventsUrl", "https://a.example/salpre/events"),
            ("VoxtelesysVoiceUrl", "https://a.example/voxtelesys/voice"),
            ("RetellInboundUrl", "https://a.example/retell/inbound"),
        ]
    }

    #[test]
    fn generated_tokens_are_masked_or_shown_and_own_tokens_named() {
        let mut pairs = all_urls();
        pairs.push(("ZonitelTokenSecretArn", "arn:zon"));
        pairs.push(("SalpreTokenSecretArn", "arn:sal"));
        let outputs = outputs(&pairs);
        assert_eq!(
            secret_outputs(&outputs),
            vec![
                ("ZonitelTokenSecretArn".to_string(), "arn:zon".to_string()),
                ("SalpreTokenSecretArn".to_string(), "arn:sal".to_string())
            ]
        );
        let (mut masked, _) = provider_urls(&outputs);
        with_tokens(&mut masked, &outputs, &HashMap::new());
        assert_eq!(masked[0].url, format!("{BASE}/zonitel/calls?token={MASK}"));
        assert_eq!(masked[2].url, format!("{BASE}/salpre/events"));
        assert_eq!(
            masked[2].auth,
            format!("Additional Headers: Authorization: Bearer {MASK}")
        );
        // Voxtelesys's token was the operator's: named, never guessed.
        assert_eq!(
            masked[3].url,
            format!("{BASE}/voxtelesys/voice?token=<VoxtelesysWebhookToken>")
        );
        assert_eq!(masked[5].token, None);
        assert!(masked.iter().all(|u| u.warning.is_none()));

        let values = HashMap::from([
            ("ZonitelTokenSecretArn".to_string(), "Zt0k".to_string()),
            ("SalpreTokenSecretArn".to_string(), "St0k".to_string()),
        ]);
        let (mut shown, _) = provider_urls(&outputs);
        with_tokens(&mut shown, &outputs, &values);
        assert_eq!(shown[0].url, format!("{BASE}/zonitel/calls?token=Zt0k"));
        assert_eq!(shown[1].url, format!("{BASE}/zonitel/sms?token=Zt0k"));
        assert_eq!(
            shown[2].auth,
            "Additional Headers: Authorization: Bearer St0k"
        );
        assert_eq!(shown[2].token.as_deref(), Some("St0k"));
    }

    #[test]
    fn an_open_stack_is_said_first_and_on_each_route_without_a_secret() {
        let mut pairs = all_urls();
        pairs.push(("ZonitelTokenSecretArn", "arn:zon"));
        pairs.push((OPEN_ROUTES_OUTPUT, "AllowUnauthenticated=true"));
        let outputs = outputs(&pairs);
        let (mut urls, missing) = provider_urls(&outputs);
        with_tokens(&mut urls, &outputs, &HashMap::new());
        assert!(urls[0].warning.is_none());
        assert!(urls[2]
            .warning
            .as_deref()
            .unwrap()
            .contains("SalpreWebhookToken"));
        let context = crate::Context {
            color: false,
            json: false,
            tz: jiff::tz::TimeZone::UTC,
            now: jiff::Timestamp::UNIX_EPOCH,
        };
        let text = render("s", &urls, &missing, None, true, &context).unwrap();
        assert!(text.starts_with("WARNING: "), "{text}");
        assert!(text.contains("--show-secrets"), "{text}");
    }

    #[test]
    fn voxtelesys_status_is_the_voice_url_sibling() {
        let outputs = HashMap::from([(
            "VoxtelesysVoiceUrl".to_string(),
            "https://a.example/voxtelesys/voice".to_string(),
        )]);
        let (urls, missing) = provider_urls(&outputs);
        assert_eq!(urls.len(), 2);
        assert_eq!(urls[1].url, "https://a.example/voxtelesys/status");
        assert!(missing.contains(&"ZonitelCallsUrl"));
    }
}
