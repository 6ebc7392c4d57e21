//! The route table (`callhooks::route_table`) walked against every place
//! that cannot be derived from it: template.yaml (function, route, secret
//! parameter and secret, environment, log group, key policy, alarms,
//! dashboard, outputs), the sample events, `events/env.json`, the provider
//! pages and the README (`sam local`'s check finds each route's samples by
//! their path, so docs/local.md names no function per route). Each missing place is named, all of them at once, so a new
//! provider or route is added by following this test's list.

use callhooks::route_table::{CredentialKind, RouteEntry, PROVIDERS, ROUTES};
use callhooks_tests::project_root;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// template.yaml as JSON (scripts/template_json.py).
fn template() -> Value {
    let output = Command::new(callhooks_tests::python())
        .arg(project_root().join("scripts/template_json.py"))
        .output()
        .expect("run scripts/template_json.py");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("template JSON")
}

/// `zonitel-call` → `ZonitelCall`: the template's name for a function.
fn pascal(function: &str) -> String {
    function
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The method and path of a sample event (API Gateway's payload 2.0).
fn sample_routes() -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(project_root().join("events")).unwrap() {
        let path = entry.unwrap().path();
        let Ok(event) = serde_json::from_str::<Value>(&read(&path)) else {
            continue;
        };
        let http = &event["requestContext"]["http"];
        if let (Some(method), Some(route_path)) = (http["method"].as_str(), http["path"].as_str()) {
            found.push((
                path.file_name().unwrap().to_string_lossy().into_owned(),
                method.to_uppercase(),
                route_path.to_string(),
            ));
        }
    }
    found
}

#[test]
fn every_route_and_provider_of_the_table_is_in_every_place_that_lists_them() {
    let template = template();
    let resources = &template["Resources"];
    let parameters = &template["Parameters"];
    let outputs = &template["Outputs"];
    let env_file: Value =
        serde_json::from_str(&read(&project_root().join("events/env.json"))).expect("env.json");
    let readme = read(&project_root().join("README.md"));
    let key_policy = resources["FunctionsKey"].to_string();
    let dashboard = resources["OperationsDashboard"].to_string();
    let samples = sample_routes();
    let mut missing: Vec<String> = Vec::new();
    // A place a provider's several routes share is named once.
    let mut need = |ok: bool, place: String| {
        if !ok && !missing.contains(&place) {
            missing.push(place);
        }
    };

    for provider in PROVIDERS {
        let prefix = provider.template_prefix;
        let name = provider.provider.as_str();
        need(
            parameters[provider.secret_parameter].is_object(),
            format!("template.yaml Parameters: {}", provider.secret_parameter),
        );
        need(
            parameters[format!("{prefix}SilenceHours")].is_object(),
            format!("template.yaml Parameters: {prefix}SilenceHours"),
        );
        need(
            resources[format!("{prefix}SilenceAlarm")].is_object(),
            format!("template.yaml Resources: {prefix}SilenceAlarm"),
        );
        if provider.credential == CredentialKind::SharedToken {
            need(
                resources[format!("{prefix}WebhookSecret")].is_object(),
                format!("template.yaml Resources: {prefix}WebhookSecret (the generated token)"),
            );
            need(
                outputs[format!("{prefix}TokenSecretArn")].is_object(),
                format!("template.yaml Outputs: {prefix}TokenSecretArn"),
            );
        }
        let page = project_root().join(format!("docs/providers/{name}.md"));
        need(page.exists(), format!("docs/providers/{name}.md"));
        need(
            readme.contains(&format!("docs/providers/{name}.md")),
            format!("README.md: a link to docs/providers/{name}.md"),
        );
        let docs_page = read(&page);
        for route in provider.provider.routes() {
            need(
                docs_page.contains(route.path) || docs_page.contains(route.api_path),
                format!("docs/providers/{name}.md: the route {}", route.path),
            );
        }
    }

    for route in ROUTES {
        let function = pascal(route.function);
        let resource = &resources[format!("{function}Function")];
        let secret_variable = route.provider.entry().secret_variable;
        need(
            resource["Metadata"]["BuildProperties"]["Binary"] == route.function,
            format!(
                "template.yaml Resources: {function}Function building binary {}",
                route.function
            ),
        );
        for method in route.methods {
            need(
                serves(resource, method.as_str(), route.api_path),
                format!(
                    "template.yaml {function}Function Events: HttpApi {} {}",
                    method.as_str(),
                    route.api_path
                ),
            );
            let route_key = format!("{} {}", method.as_str(), route.api_path);
            need(
                dashboard.contains(&route_key),
                format!("template.yaml OperationsDashboard: a latency line for {route_key}"),
            );
        }
        need(
            resource["Properties"]["Environment"]["Variables"][secret_variable].is_object()
                || resource["Properties"]["Environment"]["Variables"][secret_variable].is_string(),
            format!("template.yaml {function}Function Environment: {secret_variable}"),
        );
        need(
            resources[format!("{function}LogGroup")].is_object()
                && resource["Properties"]["LoggingConfig"]
                    .to_string()
                    .contains(&format!("{function}LogGroup")),
            format!("template.yaml Resources: {function}LogGroup, the function's LoggingConfig"),
        );
        need(
            key_policy.contains(&format!("{function}FunctionRole")),
            format!("template.yaml FunctionsKey policy: {function}FunctionRole may decrypt"),
        );
        for alarm in [
            "WebhookFunctionErrorsAlarm",
            "WebhookFunctionThrottlesAlarm",
        ] {
            need(
                resources[alarm]
                    .to_string()
                    .contains(&format!("{function}Function")),
                format!("template.yaml {alarm}: watches {function}Function"),
            );
        }
        need(
            dashboard.contains(&format!("{function}Function")),
            format!("template.yaml OperationsDashboard: {function}Function's errors"),
        );
        need(
            output_serves(&outputs[route.output], route),
            format!(
                "template.yaml Outputs: {} with the URL of {}",
                route.output, route.path
            ),
        );
        need(
            samples
                .iter()
                .any(|(_, method, path)| path == route.path && route.route.accepts(method)),
            format!("events/: a sample event for {}", route.path),
        );
        need(
            env_file[format!("{function}Function")][secret_variable].is_string(),
            format!("events/env.json: {function}Function's {secret_variable}"),
        );
    }
    assert!(
        missing.is_empty(),
        "the route table's routes and providers are missing from:\n  {}",
        missing.join("\n  ")
    );
}

/// Whether a function's events include the HTTP API route.
fn serves(function: &Value, method: &str, path: &str) -> bool {
    function["Properties"]["Events"]
        .as_object()
        .is_some_and(|events| {
            events.values().any(|event| {
                event["Type"] == "HttpApi"
                    && event["Properties"]["Path"] == path
                    && event["Properties"]["Method"]
                        .as_str()
                        .is_some_and(|m| m.eq_ignore_ascii_case(method))
            })
        })
}

/// Whether a stack output's URL is the route's (a hook of a `{hook}` route
/// is its voice URL's sibling, so its output names the route's folder).
fn output_serves(output: &Value, route: &RouteEntry) -> bool {
    let value = output["Value"].to_string();
    match route.api_path.find('{') {
        Some(at) => value.contains(&route.api_path[..at]),
        None => value.contains(route.path),
    }
}

#[test]
fn every_sample_event_is_for_a_route_of_the_table() {
    for (file, method, path) in sample_routes() {
        let route = callhooks::route_table::Route::of_path(&path)
            .unwrap_or_else(|| panic!("events/{file}: {path} is not in the route table"));
        assert!(route.accepts(&method), "events/{file}: {method} {path}");
    }
}

#[test]
fn the_local_router_serves_the_tables_routes() {
    // scripts/api_gateway.py (make dev's front) reads the table through
    // `cargo run -p callhooks-model --example route_table`.
    let output = Command::new(env!("CARGO"))
        .current_dir(project_root())
        .args([
            "run",
            "-q",
            "--locked",
            "-p",
            "callhooks-model",
            "--example",
            "route_table",
        ])
        .output()
        .expect("cargo run --example route_table");
    assert!(output.status.success());
    let table: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(table, callhooks::route_table::to_json());
}
