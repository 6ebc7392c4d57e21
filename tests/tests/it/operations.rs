//! template.yaml's operations parts agree with the code and the files next
//! to it: the dashboard and alarms use metric names the code emits
//! (`callhooks::metrics`), every function logs to its own group with a
//! retention, every declared route is watched for latency, and the
//! `sam local` env file and events fit the template.

use callhooks::metrics::{ALL_DIMENSIONS, ALL_METRICS, NAMESPACE};
use callhooks_tests::project_root;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// template.yaml as JSON (scripts/template_json.py: short-form tags in
/// their long form).
fn template() -> Value {
    let python = std::env::var_os("CALLHOOKS_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| project_root().join(".venv/bin/python"));
    let output = Command::new(python)
        .arg(project_root().join("scripts/template_json.py"))
        .output()
        .expect("run scripts/template_json.py with .venv/bin/python");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("template JSON")
}

fn resources_of<'t>(template: &'t Value, kind: &str) -> Vec<(&'t str, &'t Value)> {
    template["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(name, r)| (name.as_str(), r))
        .collect()
}

/// The dashboard body with every `${...}` replaced by a placeholder, after
/// checking that each names something the template defines.
fn dashboard_body(template: &Value) -> Value {
    let dashboards = resources_of(template, "AWS::CloudWatch::Dashboard");
    assert_eq!(dashboards.len(), 1, "one dashboard");
    let sub = &dashboards[0].1["Properties"]["DashboardBody"]["Fn::Sub"];
    let (text, variables) = match sub {
        Value::String(text) => (text.as_str(), serde_json::Map::new()),
        Value::Array(parts) => (
            parts[0].as_str().expect("Sub text"),
            parts[1].as_object().cloned().unwrap_or_default(),
        ),
        other => panic!("DashboardBody must be a !Sub, not {other}"),
    };
    let resources = template["Resources"].as_object().unwrap();
    let parameters = template["Parameters"].as_object().unwrap();
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("closing brace") + start;
        let name = &rest[start + 2..end];
        let base = name.split('.').next().unwrap();
        assert!(
            name.starts_with("AWS::")
                || variables.contains_key(name)
                || resources.contains_key(base)
                || parameters.contains_key(name),
            "the dashboard refers to ${{{name}}}, which the template does not define"
        );
        out.push_str("placeholder");
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    serde_json::from_str(&out).expect("the dashboard body is JSON")
}

/// Metric names and dimension names a SEARCH expression over our namespace
/// uses: `SEARCH('{callhooks,Provider,Route} MetricName="Received"', ...)`.
fn search_terms(expression: &str) -> Option<(String, Vec<String>)> {
    let schema_start = expression.find(&format!("{{{NAMESPACE},"))?;
    let schema_end = expression[schema_start..].find('}')? + schema_start;
    let dimensions = expression[schema_start + 1..schema_end]
        .split(',')
        .skip(1)
        .map(str::to_string)
        .collect();
    let name_start = expression.find("MetricName=\"")? + "MetricName=\"".len();
    let name_end = expression[name_start..].find('"')? + name_start;
    Some((expression[name_start..name_end].to_string(), dimensions))
}

/// Every (metric name, dimension names) of our namespace the dashboard
/// draws, and the route keys of API Gateway metrics it draws.
fn dashboard_metrics(body: &Value) -> (Vec<(String, Vec<String>)>, BTreeSet<String>) {
    let mut ours = Vec::new();
    let mut routes = BTreeSet::new();
    for widget in body["widgets"].as_array().expect("widgets") {
        let Some(metrics) = widget["properties"]["metrics"].as_array() else {
            continue;
        };
        for entry in metrics {
            let entry = entry.as_array().expect("a metrics entry is an array");
            if let Some(expression) = entry[0]["expression"].as_str() {
                if let Some(found) = search_terms(expression) {
                    ours.push(found);
                } else {
                    assert!(
                        !expression.contains(NAMESPACE),
                        "unreadable expression over {NAMESPACE}: {expression}"
                    );
                }
                continue;
            }
            let strings: Vec<&str> = entry.iter().filter_map(Value::as_str).collect();
            if strings.first() == Some(&NAMESPACE) {
                let dimensions = strings[2..].iter().step_by(2).map(|d| d.to_string());
                ours.push((strings[1].to_string(), dimensions.collect()));
            }
            if strings.first() == Some(&"AWS/ApiGateway") {
                if let Some(i) = strings.iter().position(|s| *s == "Route") {
                    routes.insert(strings[i + 1].to_string());
                }
            }
        }
    }
    (ours, routes)
}

/// The route keys (`POST /zonitel/calls`) the template's functions declare.
fn declared_routes(template: &Value) -> BTreeSet<String> {
    let mut routes = BTreeSet::new();
    for (_, function) in resources_of(template, "AWS::Serverless::Function") {
        let Some(events) = function["Properties"]["Events"].as_object() else {
            continue;
        };
        for event in events.values().filter(|e| e["Type"] == "HttpApi") {
            let properties = &event["Properties"];
            routes.insert(format!(
                "{} {}",
                properties["Method"].as_str().unwrap().to_uppercase(),
                properties["Path"].as_str().unwrap()
            ));
        }
    }
    routes
}

#[test]
fn the_dashboard_draws_only_metrics_the_code_emits_and_all_of_them() {
    let template = template();
    let body = dashboard_body(&template);
    let (ours, _) = dashboard_metrics(&body);
    let mut drawn = BTreeSet::new();
    for (name, dimensions) in &ours {
        assert!(
            ALL_METRICS.contains(&name.as_str()),
            "the dashboard draws {NAMESPACE}/{name}, which callhooks::metrics does not emit"
        );
        for dimension in dimensions {
            assert!(
                ALL_DIMENSIONS.contains(&dimension.as_str()),
                "the dashboard uses the dimension {dimension}, which callhooks::metrics does not emit"
            );
        }
        drawn.insert(name.as_str());
    }
    for name in ALL_METRICS {
        assert!(
            drawn.contains(name),
            "{name} is emitted but not on the dashboard"
        );
    }
}

#[test]
fn alarms_on_our_metrics_use_names_the_code_emits_and_all_notify_someone() {
    let template = template();
    let alarms = resources_of(&template, "AWS::CloudWatch::Alarm");
    let mut watched = BTreeSet::new();
    for (name, alarm) in &alarms {
        let properties = &alarm["Properties"];
        // AlarmTopicArn when given, else the stack's own alarms topic.
        let action = &properties["AlarmActions"][0]["Fn::If"];
        assert_eq!(
            (action[1]["Ref"].as_str(), action[2]["Ref"].as_str()),
            (Some("AlarmTopicArn"), Some("AlarmsTopic")),
            "{name} must notify AlarmTopicArn, else AlarmsTopic"
        );
        let mut metrics = vec![properties.clone()];
        for query in properties["Metrics"].as_array().into_iter().flatten() {
            if !query["MetricStat"].is_null() {
                let metric = &query["MetricStat"]["Metric"];
                metrics.push(metric.clone());
            }
        }
        for metric in metrics {
            let namespace = metric["Namespace"].as_str().unwrap_or("");
            let metric_name = metric["MetricName"].as_str().unwrap_or("");
            watched.insert(format!("{namespace}/{metric_name}"));
            if namespace != NAMESPACE {
                continue;
            }
            assert!(
                ALL_METRICS.contains(&metric_name),
                "{name} watches {metric_name}, which callhooks::metrics does not emit"
            );
            for dimension in metric["Dimensions"].as_array().into_iter().flatten() {
                let dimension = dimension["Name"].as_str().unwrap();
                assert!(ALL_DIMENSIONS.contains(&dimension), "{name}: {dimension}");
            }
        }
    }
    for wanted in [
        "AWS/ApiGateway/5xx",
        "AWS/ApiGateway/Latency",
        "AWS/Lambda/Errors",
        "AWS/Lambda/Throttles",
        "callhooks/Unrecognized",
        "callhooks/Refused",
    ] {
        assert!(watched.contains(wanted), "no alarm watches {wanted}");
    }
}

/// Every route's p99 is watched against its provider's deadline: Retell's
/// routes by the Retell alarm, the others by the 5-second one; and the
/// dashboard draws each route's latency.
#[test]
fn every_declared_route_is_watched_against_its_deadline() {
    let template = template();
    let routes_of = |alarm: &str| -> BTreeSet<String> {
        let metrics = template["Resources"][alarm]["Properties"]["Metrics"]
            .as_array()
            .unwrap_or_else(|| panic!("{alarm} has Metrics"));
        metrics
            .iter()
            .filter_map(|q| q["MetricStat"]["Metric"]["Dimensions"].as_array())
            .flatten()
            .filter(|d| d["Name"] == "Route")
            .map(|d| d["Value"].as_str().unwrap().to_string())
            .collect()
    };
    let five = routes_of("FiveSecondRoutesLatencyAlarm");
    let retell = routes_of("RetellRoutesLatencyAlarm");
    let (_, drawn) = dashboard_metrics(&dashboard_body(&template));
    for route in declared_routes(&template) {
        if route.contains("/retell/") {
            assert!(
                retell.contains(&route),
                "RetellRoutesLatencyAlarm must watch {route}"
            );
        } else {
            assert!(
                five.contains(&route),
                "FiveSecondRoutesLatencyAlarm must watch {route}"
            );
        }
        assert!(
            drawn.contains(&route),
            "the dashboard must draw the latency of {route}"
        );
    }
    assert!(five
        .iter()
        .chain(&retell)
        .all(|r| declared_routes(&template).contains(r)));
}

#[test]
fn every_function_logs_to_its_own_group_kept_log_retention_days() {
    let template = template();
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["LoggingConfig"]["LogFormat"], "JSON");
    assert_eq!(
        globals["LoggingConfig"]["ApplicationLogLevel"]["Ref"],
        "LogLevel"
    );
    assert!(!globals["LoggingConfig"]["SystemLogLevel"].is_null());
    let groups: BTreeMap<&str, &Value> = resources_of(&template, "AWS::Logs::LogGroup")
        .into_iter()
        .collect();
    for group in groups.values() {
        assert_eq!(
            group["Properties"]["RetentionInDays"]["Ref"],
            "LogRetentionDays"
        );
    }
    let mut used = BTreeSet::new();
    for (name, function) in resources_of(&template, "AWS::Serverless::Function") {
        let group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} has no LoggingConfig.LogGroup"));
        assert!(
            groups.contains_key(group),
            "{name}: {group} is not a log group"
        );
        assert!(used.insert(group), "{group} is shared");
    }
    let api = &template["Resources"]["WebhookApi"]["Properties"];
    let destination = &api["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0];
    assert!(groups.contains_key(destination.as_str().unwrap()));
    // The access log never records the query string (a token can be there).
    let format = api["AccessLogSettings"]["Format"].as_str().unwrap();
    assert!(!format.contains("querystring") && !format.contains("$context.path"));
}

/// The variables a function sees: the template's Globals and its own.
fn declared_variables(template: &Value, function: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for variables in [
        &template["Globals"]["Function"]["Environment"]["Variables"],
        &function["Properties"]["Environment"]["Variables"],
    ] {
        if let Some(variables) = variables.as_object() {
            names.extend(variables.keys().cloned());
        }
    }
    names
}

/// `sam local invoke --env-vars events/env.json` overrides only variables
/// the template declares, so an entry for an undeclared one is silently
/// ignored: every function has an entry, and every entry's variables exist.
#[test]
fn the_sam_local_env_file_covers_every_function_with_declared_variables() {
    let template = template();
    assert_eq!(
        template["Globals"]["Function"]["Environment"]["Variables"]["AWS_ENDPOINT_URL"], "",
        "AWS_ENDPOINT_URL is declared empty in Globals"
    );
    let text = std::fs::read_to_string(project_root().join("events/env.json")).unwrap();
    let env: BTreeMap<String, BTreeMap<String, String>> = serde_json::from_str(&text).unwrap();
    let functions = resources_of(&template, "AWS::Serverless::Function");
    for (name, function) in &functions {
        let entry = env
            .get(*name)
            .unwrap_or_else(|| panic!("events/env.json has no entry for {name}"));
        let declared = declared_variables(&template, function);
        for variable in entry.keys() {
            assert!(
                declared.contains(variable),
                "events/env.json sets {variable} for {name}, which the template does not declare for it"
            );
        }
        assert!(entry["AWS_ENDPOINT_URL"].starts_with("http://host.docker.internal:"));
        assert!(!entry["TABLE_NAME"].is_empty());
    }
    for name in env.keys() {
        assert!(
            name == "Parameters" || functions.iter().any(|(f, _)| f == name),
            "events/env.json names {name}, which is not a function of the template"
        );
    }
}

/// Each sample event is one the template routes: an API Gateway event for
/// a declared route (method and path template), or a stream record for
/// the function the table's stream feeds.
#[test]
fn every_sample_event_targets_something_the_template_declares() {
    let template = template();
    let routes = declared_routes(&template);
    let mut seen = 0;
    for entry in std::fs::read_dir(project_root().join("events")).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        if !file.ends_with(".json") || file == "env.json" {
            continue;
        }
        seen += 1;
        let event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        if let Some(records) = event["Records"].as_array() {
            // The table's stream (DynamoDB) or the spillway queue (SQS).
            let source = records[0]["eventSource"].as_str().unwrap_or("");
            let kind = match source {
                "aws:dynamodb" => "DynamoDB",
                "aws:sqs" => "SQS",
                other => panic!("{file}: records from {other:?} reach no function"),
            };
            assert!(
                records.iter().all(|r| r["eventSource"] == source),
                "{file}: one source per event"
            );
            let routed = resources_of(&template, "AWS::Serverless::Function")
                .into_iter()
                .any(|(_, f)| {
                    f["Properties"]["Events"]
                        .as_object()
                        .is_some_and(|e| e.values().any(|e| e["Type"] == kind))
                });
            assert!(routed, "{file}: no function reads {source} records");
            continue;
        }
        if event["source"] == "aws.scheduler" {
            // The sweeper's schedule.
            let scheduled = resources_of(&template, "AWS::Serverless::Function")
                .into_iter()
                .any(|(_, f)| {
                    f["Properties"]["Events"]
                        .as_object()
                        .is_some_and(|e| e.values().any(|e| e["Type"] == "ScheduleV2"))
                });
            assert!(scheduled, "{file}: no function runs on a schedule");
            continue;
        }
        let route_key = event["routeKey"]
            .as_str()
            .unwrap_or_else(|| panic!("{file}: no routeKey"));
        assert!(
            routes.contains(route_key),
            "{file}: {route_key} is not a declared route"
        );
        assert_eq!(event["requestContext"]["routeKey"], route_key, "{file}");
        // The path fits the route's template (`{hook}` matches one segment).
        let (method, template_path) = route_key.split_once(' ').unwrap();
        assert_eq!(event["requestContext"]["http"]["method"], method, "{file}");
        let path = event["rawPath"].as_str().unwrap();
        let parts: Vec<&str> = path.split('/').collect();
        let wanted: Vec<&str> = template_path.split('/').collect();
        assert_eq!(
            parts.len(),
            wanted.len(),
            "{file}: {path} vs {template_path}"
        );
        for (part, want) in parts.iter().zip(&wanted) {
            assert!(
                want.starts_with('{') || part == want,
                "{file}: {path} vs {template_path}"
            );
        }
    }
    assert!(seen >= 10, "only {seen} sample events");
}
