//! `sam local invoke` as docs/local.md documents it, without Docker:
//! scripts/sam_local.py runs each documented invocation's function binary
//! under an emulated Lambda Runtime API with the environment SAM would give
//! it (template.yaml's variables, then events/env.json's where declared)
//! against moto, and fails on any non-2xx. Here: the binaries are built,
//! the script run, and its list of the variables each function reads is
//! held against the sources, so a variable the code starts reading cannot
//! miss the template, env.json or the docs.

use callhooks_tests::{moto_endpoint, project_root, python};
use std::collections::BTreeSet;
use std::process::Command;

/// Every function crate under `functions/`: the binaries the template
/// names, read from the folder so a new function cannot be left unbuilt.
fn function_binaries() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(project_root().join("functions"))
        .expect("read functions/")
        .map(|entry| entry.expect("functions/ entry").file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The target directory this test was built in (`target/tmp`'s parent).
fn target_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn every_documented_sam_local_invocation_answers_2xx() {
    // The functions as `sam build` makes them, in this build's profile.
    let mut build = Command::new(env!("CARGO"));
    build
        .current_dir(project_root())
        .args(["build", "--locked", "--bins"])
        .env("CARGO_TARGET_DIR", target_dir());
    for binary in function_binaries() {
        build.args(["-p", &binary]);
    }
    let built = build.status().expect("cargo build");
    assert!(built.success(), "the functions did not build");
    let out = Command::new(python())
        .arg(project_root().join("scripts/sam_local.py"))
        .args(["check", "--endpoint", moto_endpoint(), "--bin-dir"])
        .arg(target_dir().join("debug"))
        .env("AWS_ACCESS_KEY_ID", "dummy")
        .env("AWS_SECRET_ACCESS_KEY", "dummy")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("run scripts/sam_local.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every function ran at least one sample.
    for function in [
        "ZonitelCallFunction",
        "ZonitelSmsFunction",
        "SalpreEventsFunction",
        "VoxtelesysVoiceFunction",
        "RetellInboundFunction",
        "AlertsFunction",
        "SpillwayFunction",
        "SweeperFunction",
        "TwilioFunction",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(function) && l.ends_with(" ok")),
            "{function} ran no sample: {stdout}"
        );
    }
}

/// Environment variable names the sources read: `env::var("X")`,
/// `from_env("X")`, `..._ENV: &str = "X"`, `..._VAR: &str = "X"`,
/// `agent("X")`, a provider's `secret_variable: "X"` and a match arm's
/// `=> "X_Y"`.
fn variables_read_in(dir: &std::path::Path, found: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            // The crates' sources, not their tests, benches or build output.
            let skipped = ["tests", "benches", "target"];
            if !path
                .file_name()
                .is_some_and(|n| skipped.iter().any(|s| n == *s))
            {
                variables_read_in(&path, found);
            }
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        // Test modules name variables they set themselves.
        let text = text.split("#[cfg(test)]").next().unwrap();
        for marker in [
            "env::var(\"",
            "from_env(\"",
            "_ENV: &str = \"",
            "_VAR: &str = \"",
            "agent(\"",
            // A provider's secret variable (the route table's).
            "secret_variable: \"",
            "=> \"",
        ] {
            for piece in text.split(marker).skip(1) {
                let name: String = piece
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                if name.len() > 2 && name.contains('_') && piece[name.len()..].starts_with('"') {
                    found.insert(name);
                }
            }
        }
    }
}

#[test]
fn the_variables_each_function_reads_are_the_ones_the_check_knows() {
    let out = Command::new(python())
        .arg(project_root().join("scripts/sam_local.py"))
        .arg("reads")
        .output()
        .expect("run scripts/sam_local.py reads");
    assert!(out.status.success());
    let reads: std::collections::BTreeMap<String, Vec<String>> =
        serde_json::from_slice(&out.stdout).unwrap();
    let listed: BTreeSet<String> = reads.values().flatten().cloned().collect();
    let mut read = BTreeSet::new();
    variables_read_in(&project_root().join("shared"), &mut read);
    variables_read_in(&project_root().join("functions"), &mut read);
    // The runtime's own (Lambda sets them) and the SDK's.
    for name in [
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_LAMBDA_FUNCTION_NAME",
    ] {
        read.remove(name);
    }
    for name in &read {
        assert!(
            listed.contains(name),
            "the code reads {name}, which scripts/sam_local.py's READS does not list for any function"
        );
    }
    for name in &listed {
        assert!(
            read.contains(name),
            "READS lists {name}, which no code reads"
        );
    }
}
