//! The `callhooks` binary against DynamoDB served by moto, configured the
//! way a user configures the AWS SDK (environment, AWS_ENDPOINT_URL).

use callhooks::config::{parse_document, Contact, NumberConfig};
use callhooks::phone::PhoneNumber;
use callhooks_tests::{project_root, TestStack};
use std::process::{Command, Output};

fn callhooks(stack: &TestStack, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_callhooks"))
        .args(args)
        .current_dir(project_root())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_ENDPOINT_URL", &stack.endpoint)
        .env("AWS_ACCESS_KEY_ID", "dummy")
        .env("AWS_SECRET_ACCESS_KEY", "dummy")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("TABLE_NAME", &stack.table_name)
        .output()
        .expect("run callhooks")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn temp_file(name: &str, text: &str) -> String {
    let path = std::env::temp_dir().join(format!("callhooks-cli-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

#[tokio::test]
async fn examples_load_into_the_table() {
    let stack = TestStack::new().await;
    let out = callhooks(&stack, &["numbers", "put", "examples/number.json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("+12137771235"));
    let out = callhooks(
        &stack,
        &[
            "contacts",
            "put",
            "examples/contact.json",
            "--table",
            &stack.table_name,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));

    let read =
        |name: &str| std::fs::read_to_string(project_root().join("examples").join(name)).unwrap();
    let config: NumberConfig = parse_document(&read("number.json")).unwrap();
    let contact: Contact = parse_document(&read("contact.json")).unwrap();
    let store = stack.store();
    assert_eq!(
        store.number_config(&config.number).await.unwrap(),
        Some(config)
    );
    let caller = PhoneNumber::parse("+12137771234").unwrap();
    assert_eq!(store.contact(&caller).await.unwrap(), Some(contact));
}

#[tokio::test]
async fn bad_documents_are_refused_naming_the_field_and_nothing_is_written() {
    let stack = TestStack::new().await;
    let cases = [
        (
            "numbers",
            r#"{"number": "+12137771235", "retell": {"default_agent": {"agent_id": "a"}, "fallback": true}}"#,
            "retell.fallback",
        ),
        (
            "numbers",
            r#"{"number": "+12137771235", "retell": {"schedules": [{"days": ["mon"], "start": "09:00", "end": "17:00", "time_zone": "America/Los_Angelos", "agent": {"agent_id": "a"}}]}}"#,
            "retell.schedules[0].time_zone",
        ),
        (
            "contacts",
            r#"{"number": "+12137771234", "dynamic_variables": {"visits": 3}}"#,
            "dynamic_variables.visits",
        ),
        (
            "contacts",
            r#"{"number": "+12137771234", "nickname": "J"}"#,
            "nickname",
        ),
        ("contacts", r#"{"number": "12"}"#, "number"),
    ];
    for (i, (kind, document, field)) in cases.into_iter().enumerate() {
        let file = temp_file(&format!("{i}.json"), document);
        let out = callhooks(&stack, &[kind, "put", &file]);
        assert_eq!(out.status.code(), Some(2), "{document}");
        let message = stderr(&out);
        assert!(
            message.contains(&format!("{file}: {field}")),
            "{document}: {message}"
        );
        std::fs::remove_file(file).unwrap();
    }
    let out = callhooks(&stack, &["numbers", "put", "no/such/file.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no/such/file.json"));
    assert!(stack.all_items().await.is_empty(), "nothing written");
}

#[tokio::test]
async fn unreachable_table_is_a_failure_not_a_silence() {
    let stack = TestStack::new().await;
    let out = callhooks(
        &stack,
        &[
            "numbers",
            "put",
            "examples/number.json",
            "--table",
            "no-such-table",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("storage error"), "{}", stderr(&out));
}
