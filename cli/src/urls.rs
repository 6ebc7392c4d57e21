//! `callhooks urls --stack NAME`: each provider's webhook URL from the
//! deployed stack's Outputs (CloudFormation DescribeStacks), with the field
//! it goes into at the provider and how that provider authenticates.

use crate::table::{Table, Tone};
use crate::{CliError, Context};
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use serde::Serialize;
use std::collections::HashMap;

/// One place a URL is pasted or registered.
#[derive(Clone, Copy, Debug)]
pub struct Destination {
    /// The stack output holding the URL (template.yaml's Outputs).
    pub output: &'static str,
    pub provider: &'static str,
    /// Where it goes at the provider.
    pub field: &'static str,
    /// Replace the URL's last path segment (Voxtelesys's status callback is
    /// the voice URL's sibling).
    pub hook: Option<&'static str>,
    /// How the provider proves itself to us.
    pub auth: &'static str,
}

/// Every webhook URL an operator gives a provider, in template.yaml's
/// output names.
pub const DESTINATIONS: &[Destination] = &[
    Destination {
        output: "ZonitelCallsUrl",
        provider: "zonitel",
        field: "incoming-call webhook (`callhooks register zonitel --calls-url`)",
        hook: None,
        auth: "append ?token=<ZonitelWebhookToken>",
    },
    Destination {
        output: "ZonitelSmsUrl",
        provider: "zonitel",
        field: "SMS webhook (`callhooks register zonitel --sms-url`)",
        hook: None,
        auth: "append ?token=<ZonitelWebhookToken>",
    },
    Destination {
        output: "SalpreEventsUrl",
        provider: "salpre",
        field: "Settings > Integrations > Custom Webhook > Webhook URL",
        hook: None,
        auth: "Additional Headers: Authorization: Bearer <SalpreWebhookToken>",
    },
    Destination {
        output: "VoxtelesysVoiceUrl",
        provider: "voxtelesys",
        field: "the number's voice URL",
        hook: None,
        auth: "append ?token=<VoxtelesysWebhookToken>",
    },
    Destination {
        output: "VoxtelesysVoiceUrl",
        provider: "voxtelesys",
        field: "the number's status callback URL",
        hook: Some("status"),
        auth: "append ?token=<VoxtelesysWebhookToken>",
    },
    Destination {
        output: "RetellInboundUrl",
        provider: "retell",
        field: "phone number > inbound call webhook URL",
        hook: None,
        auth: "signed with the Retell API key (RetellApiKey)",
    },
    Destination {
        output: "RetellEventsUrl",
        provider: "retell",
        field: "webhook URL (account or agent) for call events",
        hook: None,
        auth: "signed with the Retell API key (RetellApiKey)",
    },
];

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ProviderUrl {
    pub provider: String,
    pub field: String,
    pub url: String,
    pub auth: String,
    pub output: String,
}

/// The URLs of `outputs` (output name to value), in [`DESTINATIONS`]
/// order, and the outputs the stack lacks.
pub fn provider_urls(outputs: &HashMap<String, String>) -> (Vec<ProviderUrl>, Vec<&'static str>) {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for d in DESTINATIONS {
        let Some(value) = outputs.get(d.output) else {
            if !missing.contains(&d.output) {
                missing.push(d.output);
            }
            continue;
        };
        let url = match d.hook {
            Some(hook) => match value.rsplit_once('/') {
                Some((base, _)) => format!("{base}/{hook}"),
                None => value.clone(),
            },
            None => value.clone(),
        };
        found.push(ProviderUrl {
            provider: d.provider.into(),
            field: d.field.into(),
            url,
            auth: d.auth.into(),
            output: d.output.into(),
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

/// The table (or JSON list) of URLs; `table_name` (the EventsTableName
/// output) is said under the table, for `TABLE_NAME`.
pub fn render(
    stack: &str,
    urls: &[ProviderUrl],
    missing: &[&str],
    table_name: Option<&str>,
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
            (u.auth.clone(), Tone::Dim),
        ]);
    }
    let mut out = table.render(context.color);
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
                DESTINATIONS.iter().any(|d| d.output == name),
                webhook,
                "{name}"
            );
        }
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
