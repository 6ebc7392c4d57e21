//! The binary as people run it in a shell: output into a pipe whose reader
//! has gone (`callhooks ... | head -1`) ends quietly, and `--region` and
//! `--profile` choose the AWS region and profile as the AWS CLI's do.

use callhooks_tests::{project_root, python, TestStack};
use std::process::{Command, Stdio};

/// `callhooks args` with stdout a pipe closed before the command writes:
/// what it exited with and what it said on stderr.
fn into_a_closed_pipe(env: &[(&str, &str)], args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_callhooks"))
        .args(args)
        .current_dir(project_root())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", "dummy")
        .env("AWS_SECRET_ACCESS_KEY", "dummy")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("RUST_BACKTRACE", "1")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run callhooks");
    // The reader goes away before the command has written anything.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_closed_pipe_ends_every_kind_of_command_quietly() {
    let (code, stderr) = into_a_closed_pipe(&[], &["completions", "bash"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");

    let stack = TestStack::new().await;
    let env = [
        ("AWS_ENDPOINT_URL", stack.endpoint.as_str()),
        ("TABLE_NAME", stack.table_name.as_str()),
    ];
    for args in [
        &["calls", "list"][..],
        &["calls", "list", "--json"],
        &["unrecognized", "list"],
        &["alerts", "list"],
        &["stats"],
        &["--help"],
    ] {
        let (code, stderr) = into_a_closed_pipe(&env, args);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}

/// A table in moto's eu-west-3 only: found with `--region eu-west-3`, or
/// with a profile whose region it is, and not in the environment's region.
#[tokio::test]
async fn region_and_profile_choose_where_the_table_is_looked_for() {
    let endpoint = callhooks_tests::moto_endpoint();
    let table = format!("callhooks-region-{}", std::process::id());
    let created = Command::new(python())
        .arg(project_root().join("scripts/local_stack.py"))
        .args([
            "create",
            "--endpoint",
            endpoint,
            "--table",
            &table,
            "--topic",
            &table,
        ])
        .env("AWS_ACCESS_KEY_ID", "dummy")
        .env("AWS_SECRET_ACCESS_KEY", "dummy")
        .env("AWS_REGION", "eu-west-3")
        .env("AWS_DEFAULT_REGION", "eu-west-3")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let config = std::env::temp_dir().join(format!("callhooks-aws-config-{}", std::process::id()));
    std::fs::write(&config, "[profile paris]\nregion = eu-west-3\n").unwrap();
    let run = |with_region: bool, args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_callhooks"));
        command
            .args(args)
            .current_dir(project_root())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_ACCESS_KEY_ID", "dummy")
            .env("AWS_SECRET_ACCESS_KEY", "dummy")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_CONFIG_FILE", &config)
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .env("TABLE_NAME", &table);
        if with_region {
            command.env("AWS_REGION", "us-east-1");
        }
        command.output().unwrap()
    };
    let elsewhere = run(true, &["unrecognized", "list"]);
    assert_eq!(elsewhere.status.code(), Some(1), "not in us-east-1");
    for args in [
        &["--region", "eu-west-3", "unrecognized", "list"][..],
        &["unrecognized", "list", "--region", "eu-west-3"],
    ] {
        let out = run(true, args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = run(false, &["--profile", "paris", "unrecognized", "list"]);
    assert!(
        out.status.success(),
        "--profile: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_file(&config);
}
