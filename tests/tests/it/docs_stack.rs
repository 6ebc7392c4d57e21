//! The docs name what the stack has: every environment variable a function
//! reads (scripts/sam_local.py's list, held against the sources by
//! sam_local.rs) and every variable the template sets, in
//! docs/operating.md's configuration table; every output of template.yaml
//! in docs/operating.md; every alarm in docs/observability.md's alarm
//! table; and the README says how to install the CLI by its real package.

use callhooks_tests::{project_root, python};
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;

fn template() -> Value {
    let out = Command::new(python())
        .arg(project_root().join("scripts/local_stack.py"))
        .arg("template")
        .output()
        .expect("run scripts/local_stack.py template");
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(project_root().join(path)).unwrap()
}

/// Every inline code span of `markdown` (`like this`), outside fences.
fn code_spans(markdown: &str) -> BTreeSet<String> {
    let mut in_fence = false;
    let mut spans = BTreeSet::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let mut parts = line.split('`');
        parts.next();
        while let (Some(inside), Some(_)) = (parts.next(), parts.next()) {
            spans.insert(inside.to_string());
        }
    }
    spans
}

/// The lines of the table that follows `heading` in `markdown`.
fn table_after<'a>(markdown: &'a str, heading: &str) -> Vec<&'a str> {
    let start = markdown
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading:?}"));
    markdown[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .collect()
}

#[test]
fn operating_md_names_every_variable_a_function_reads_or_is_given() {
    let out = Command::new(python())
        .arg(project_root().join("scripts/sam_local.py"))
        .arg("reads")
        .output()
        .unwrap();
    assert!(out.status.success());
    let reads: std::collections::BTreeMap<String, Vec<String>> =
        serde_json::from_slice(&out.stdout).unwrap();
    let mut wanted: BTreeSet<String> = reads.into_values().flatten().collect();
    let t = template();
    let globals = t["Globals"]["Function"]["Environment"]["Variables"]
        .as_object()
        .unwrap();
    wanted.extend(globals.keys().cloned());
    for resource in t["Resources"].as_object().unwrap().values() {
        if let Some(own) = resource["Properties"]["Environment"]["Variables"].as_object() {
            wanted.extend(own.keys().cloned());
        }
    }
    let operating = read("docs/operating.md");
    let table = table_after(&operating, "### Configuration (environment)").join("\n");
    let named = code_spans(&table);
    for variable in &wanted {
        assert!(
            named.contains(variable),
            "docs/operating.md's configuration table does not name {variable}"
        );
    }
}

#[test]
fn operating_md_names_every_output_of_the_stack() {
    let t = template();
    let operating = code_spans(&read("docs/operating.md"));
    for output in t["Outputs"].as_object().unwrap().keys() {
        assert!(
            operating.contains(output),
            "docs/operating.md does not name the output {output}"
        );
    }
}

#[test]
fn observability_md_lists_every_alarm() {
    let t = template();
    let observability = read("docs/observability.md");
    let table = table_after(&observability, "## Alarms").join("\n");
    let listed = code_spans(&table);
    let alarms: Vec<&String> = t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm")
        .map(|(name, _)| name)
        .collect();
    assert!(alarms.len() >= 13);
    // One silence alarm per provider, named by the route table's prefix,
    // is documented once as `<Provider>SilenceAlarm`.
    let per_provider = |alarm: &str| {
        listed.contains("<Provider>SilenceAlarm")
            && callhooks::route_table::PROVIDERS
                .iter()
                .any(|p| alarm == format!("{}SilenceAlarm", p.template_prefix))
    };
    for alarm in alarms {
        assert!(
            listed.contains(alarm) || per_provider(alarm),
            "docs/observability.md's alarm table does not list {alarm}"
        );
    }
}

#[test]
fn the_readme_says_how_to_install_the_cli_and_no_doc_runs_a_missing_binary() {
    let readme = read("README.md");
    assert!(
        readme.contains("cargo install --locked --path cli"),
        "the README says how to install callhooks"
    );
    let cli = read("cli/Cargo.toml");
    assert!(cli.contains("name = \"callhooks-cli\""));
    let mut files = vec![project_root().join("README.md")];
    for entry in std::fs::read_dir(project_root().join("docs")).unwrap() {
        files.push(entry.unwrap().path());
    }
    for file in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "md"))
    {
        // `-p callhooks --` runs the library package, which has no binary.
        let text = std::fs::read_to_string(file).unwrap().replace('\n', " ");
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            !text.contains("-p callhooks -- "),
            "{}: `cargo run -p callhooks --` runs no binary (the CLI is callhooks-cli)",
            file.display()
        );
    }
}
