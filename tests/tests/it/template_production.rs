//! template.yaml, read as data, for what running it in production needs
//! (docs/security.md, docs/observability.md):
//! - the functions' environment is encrypted with a key the stack makes,
//!   which only the functions' roles may decrypt;
//! - the log level cannot reach TRACE (the Lambda runtime logs raw
//!   requests there); X-Ray tracing is a parameter; every log line and the
//!   access log carry the request ids;
//! - every alarm notifies on the way back to OK too; 5xx, errors and
//!   unrecognized deliveries need 2 of 3 periods; a provider whose every
//!   request is refused pages at any volume; a provider gone silent pages
//!   when asked for; the dashboard shows paging alarms apart from warnings;
//! - spill messages are signed with a key the stack makes;
//! - `make deploy` asks nothing.

use callhooks_tests::project_root;
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;

fn template() -> Value {
    let out = Command::new(callhooks_tests::python())
        .arg(project_root().join("scripts/local_stack.py"))
        .arg("template")
        .output()
        .expect("run scripts/local_stack.py template");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn resources_of<'t>(t: &'t Value, kind: &str) -> Vec<(&'t str, &'t Value)> {
    t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(name, r)| (name.as_str(), r))
        .collect()
}

fn as_list(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => vec![],
        other => vec![other],
    }
}

/// The role a function runs as: its own `Role`, or the one SAM makes for
/// it (`<Function>Role`).
fn role_of(function: &str, resource: &Value) -> String {
    match resource["Properties"]["Role"]["GetAtt"].as_str() {
        Some(role) => role.trim_end_matches(".Arn").to_string(),
        None => format!("{function}Role"),
    }
}

#[test]
fn the_functions_environment_is_encrypted_with_a_key_only_their_roles_decrypt() {
    let t = template();
    let globals = &t["Globals"]["Function"];
    assert_eq!(globals["KmsKeyArn"]["GetAtt"], "FunctionsKey.Arn");
    let key = &t["Resources"]["FunctionsKey"];
    assert_eq!(key["Type"], "AWS::KMS::Key");
    assert_eq!(key["Properties"]["EnableKeyRotation"], true);
    let functions = resources_of(&t, "AWS::Serverless::Function");
    assert!(functions.len() >= 7);
    let roles: BTreeSet<String> = functions.iter().map(|(f, r)| role_of(f, r)).collect();
    let mut decrypters = BTreeSet::new();
    for statement in as_list(&key["Properties"]["KeyPolicy"]["Statement"]) {
        assert_eq!(statement["Effect"], "Allow");
        let actions: Vec<&str> = as_list(&statement["Action"])
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let principals = as_list(&statement["Principal"]["AWS"]);
        assert!(!actions.contains(&"kms:*"), "{statement}");
        assert!(
            !principals.iter().any(|p| *p == "*"),
            "a key open to everyone: {statement}"
        );
        let decrypts = actions
            .iter()
            .any(|a| ["kms:Decrypt", "kms:Decrypt*", "kms:ReEncrypt*"].contains(a));
        if decrypts {
            for principal in principals {
                let role = principal["GetAtt"]
                    .as_str()
                    .unwrap_or_else(|| panic!("decrypt for {principal}, not a function's role"))
                    .trim_end_matches(".Arn");
                decrypters.insert(role.to_string());
            }
        } else {
            // The account administers (and deploys: Encrypt, CreateGrant)
            // but cannot decrypt through its IAM policies.
            assert_eq!(
                principals[0]["Sub"], "arn:${AWS::Partition}:iam::${AWS::AccountId}:root",
                "{statement}"
            );
            assert!(actions.contains(&"kms:PutKeyPolicy") || actions.contains(&"kms:Put*"));
        }
    }
    assert_eq!(
        decrypters, roles,
        "exactly the functions' roles may decrypt"
    );
}

#[test]
fn the_log_level_cannot_reach_trace_and_tracing_is_a_parameter() {
    let t = template();
    let level = &t["Parameters"]["LogLevel"];
    let allowed: Vec<&str> = as_list(&level["AllowedValues"])
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(!allowed.contains(&"TRACE"), "{allowed:?}");
    assert!(allowed.contains(&level["Default"].as_str().unwrap()));
    let mapped: Vec<&String> = t["Mappings"]["SystemLogLevel"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert!(mapped.iter().all(|l| allowed.contains(&l.as_str())));
    assert_eq!(t["Globals"]["Function"]["Tracing"]["Ref"], "Tracing");
    let tracing = &t["Parameters"]["Tracing"];
    assert_eq!(tracing["Default"], "PassThrough");
    assert!(as_list(&tracing["AllowedValues"]).contains(&&Value::from("Active")));
    // The access log names Lambda's request id beside API Gateway's, the
    // two ids every metrics line carries (callhooks::metrics::RequestIds).
    let format = t["Resources"]["WebhookApi"]["Properties"]["AccessLogSettings"]["Format"]
        .as_str()
        .unwrap();
    assert!(format.contains("\"requestId\":\"$context.requestId\""));
    assert!(format.contains("\"lambdaRequestId\":\"$context.integration.requestId\""));
}

#[test]
fn every_alarm_says_when_it_is_over_and_noisy_ones_need_two_periods() {
    let t = template();
    let alarms = resources_of(&t, "AWS::CloudWatch::Alarm");
    for (name, alarm) in &alarms {
        let properties = &alarm["Properties"];
        assert_eq!(
            properties["OKActions"], properties["AlarmActions"],
            "{name}: OKActions must go where AlarmActions go"
        );
    }
    for name in [
        "ApiServerErrorsAlarm",
        "WebhookFunctionErrorsAlarm",
        "AlertsFunctionErrorsAlarm",
        "SpillwayFunctionErrorsAlarm",
        "UnrecognizedDeliveriesAlarm",
    ] {
        let properties = &t["Resources"][name]["Properties"];
        let m = properties["DatapointsToAlarm"].as_u64().unwrap_or(1);
        let n = properties["EvaluationPeriods"].as_u64().unwrap();
        assert!(m >= 2 && n > m, "{name}: {m} of {n}");
    }
}

const PROVIDERS: [&str; 4] = ["zonitel", "salpre", "voxtelesys", "retell"];

#[test]
fn a_provider_whose_every_request_is_refused_pages_at_any_volume() {
    let t = template();
    let properties = &t["Resources"]["ProviderRefusedAlarm"]["Properties"];
    let metrics = as_list(&properties["Metrics"]);
    let stat = |metric: &str, provider: &str| {
        metrics.iter().any(|q| {
            let m = &q["MetricStat"]["Metric"];
            m["Namespace"] == callhooks::metrics::NAMESPACE
                && m["MetricName"] == metric
                && as_list(&m["Dimensions"])
                    == vec![&serde_json::json!({"Name": "Provider", "Value": provider})]
        })
    };
    for provider in PROVIDERS {
        assert!(stat(callhooks::metrics::RECEIVED, provider), "{provider}");
        assert!(stat(callhooks::metrics::REFUSED, provider), "{provider}");
        // The share refused, not a count: one refusal of one request is 1.
        let share = metrics
            .iter()
            .find(|q| q["Id"] == provider)
            .unwrap_or_else(|| panic!("{provider}'s share"));
        let expression = share["Expression"].as_str().unwrap();
        assert!(
            expression.contains(&format!("{provider}refused"))
                && expression.contains(&format!("/ {provider}received")),
            "{expression}"
        );
    }
    let returned: Vec<&&Value> = metrics
        .iter()
        .filter(|q| q["ReturnData"] != false)
        .collect();
    assert_eq!(returned.len(), 1);
    assert!(returned[0]["Expression"]
        .as_str()
        .unwrap()
        .starts_with("MAX("));
    assert_eq!(properties["Threshold"], 1);
    assert_eq!(
        properties["ComparisonOperator"],
        "GreaterThanOrEqualToThreshold"
    );
    // The metrics lines carry Received and Refused by provider alone.
    let ids = callhooks::metrics::RequestIds::default();
    for outcome in [
        callhooks::metrics::RequestOutcome::Recorded,
        callhooks::metrics::RequestOutcome::Refused { status: 401 },
    ] {
        let line = callhooks::metrics::traced_delivery_line(
            &callhooks::metrics::CountedRequest {
                provider: "zonitel",
                route: "POST /zonitel/calls",
                outcome,
                latency_ms: 1.0,
                source_ip: None,
                code: None,
            },
            &ids,
            0,
        );
        let line: Value = serde_json::from_str(&line).unwrap();
        let by_provider: Vec<&str> = line["_aws"]["CloudWatchMetrics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| {
                as_list(&d["Dimensions"])
                    .iter()
                    .any(|set| *set == &serde_json::json!(["Provider"]))
            })
            .flat_map(|d| as_list(&d["Metrics"]))
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert!(by_provider.contains(&"Received"), "{line}");
        if let callhooks::metrics::RequestOutcome::Refused { .. } = outcome {
            assert!(by_provider.contains(&"Refused"), "{line}");
        }
    }
}

#[test]
fn a_silent_provider_pages_only_when_asked_for() {
    let t = template();
    for provider in PROVIDERS {
        let title = format!("{}{}", provider[..1].to_uppercase(), &provider[1..]);
        let parameter = &t["Parameters"][format!("{title}SilenceHours")];
        assert_eq!(parameter["Default"], "", "{title}: off by default");
        let alarm = &t["Resources"][format!("{title}SilenceAlarm")];
        let condition = alarm["Condition"].as_str().unwrap();
        assert_eq!(
            t["Conditions"][condition],
            serde_json::json!({"Not": [{"Equals": [{"Ref": format!("{title}SilenceHours")}, ""]}]})
        );
        let properties = &alarm["Properties"];
        assert_eq!(properties["MetricName"], "Received");
        assert_eq!(
            as_list(&properties["Dimensions"]),
            vec![&serde_json::json!({"Name": "Provider", "Value": provider})]
        );
        assert_eq!(properties["TreatMissingData"], "breaching");
        assert_eq!(properties["ComparisonOperator"], "LessThanThreshold");
        assert_eq!(properties["Period"], 3600);
        assert_eq!(
            properties["EvaluationPeriods"]["Ref"],
            format!("{title}SilenceHours")
        );
    }
}

#[test]
fn the_dashboard_shows_paging_alarms_apart_from_warnings_and_every_alarm_once() {
    let t = template();
    let sub = &t["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]["Sub"][0];
    let text = sub.as_str().unwrap();
    let mut drawn: Vec<(String, String)> = Vec::new();
    // Every `${Name}` placeholder sits inside a JSON string.
    let body: Value = serde_json::from_str(text).expect("the dashboard body is JSON");
    for widget in body["widgets"].as_array().unwrap() {
        if widget["type"] != "alarm" {
            continue;
        }
        let title = widget["properties"]["title"].as_str().unwrap().to_string();
        for arn in as_list(&widget["properties"]["alarms"]) {
            let name = arn
                .as_str()
                .unwrap()
                .strip_prefix("${")
                .and_then(|a| a.strip_suffix(".Arn}"))
                .unwrap();
            drawn.push((name.to_string(), title.clone()));
        }
    }
    let titles: BTreeSet<&str> = drawn.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(
        titles.len(),
        2,
        "a paging widget and a warnings one: {titles:?}"
    );
    assert!(titles.iter().any(|t| t.starts_with("Paging")));
    assert!(titles.iter().any(|t| t.starts_with("Warnings")));
    for (name, alarm) in resources_of(&t, "AWS::CloudWatch::Alarm") {
        let times = drawn.iter().filter(|(n, _)| n == name).count();
        if alarm["Condition"].is_null() {
            assert_eq!(times, 1, "{name} is drawn {times} times");
        } else {
            // An alarm that may not exist cannot be named in the body.
            assert_eq!(times, 0, "{name} is conditional");
        }
    }
}

#[test]
fn spill_messages_are_signed_with_a_key_the_stack_makes() {
    let t = template();
    let variables = &t["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(
        variables["SPILLWAY_SIGNING_KEY"]["Sub"],
        "{{resolve:secretsmanager:${SpillwaySigningSecret}:SecretString}}"
    );
    let secret = &t["Resources"]["SpillwaySigningSecret"];
    assert_eq!(secret["Type"], "AWS::SecretsManager::Secret");
    assert!(secret["Condition"].is_null());
    let generate = &secret["Properties"]["GenerateSecretString"];
    assert!(generate["PasswordLength"].as_u64().unwrap() >= 32);
    assert_eq!(
        t["Resources"]["SpillwayFunction"]["Properties"]["Environment"]["Variables"]
            ["SPILLWAY_DEAD_LETTER_QUEUE_URL"]["Ref"],
        "SpillwayDeadLetterQueue"
    );
}

#[test]
fn make_deploy_asks_nothing_and_deploy_guided_asks() {
    let samconfig = std::fs::read_to_string(project_root().join("samconfig.toml")).unwrap();
    let deploy = samconfig
        .split("[default.deploy.parameters]")
        .nth(1)
        .expect("deploy parameters")
        .split("\n[")
        .next()
        .unwrap();
    assert!(
        deploy.contains("confirm_changeset = false"),
        "samconfig.toml's deploy must not stop at a changeset prompt: {deploy}"
    );
    let makefile = std::fs::read_to_string(project_root().join("Makefile")).unwrap();
    let recipe = |target: &str| -> String {
        let start = makefile
            .find(&format!("\n{target}:"))
            .unwrap_or_else(|| panic!("no {target} target"));
        makefile[start + 1..]
            .lines()
            .skip(1)
            .take_while(|l| l.starts_with('\t'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(recipe("deploy").contains("sam deploy") && !recipe("deploy").contains("--guided"));
    assert!(recipe("deploy-guided").contains("sam deploy --guided"));
}
