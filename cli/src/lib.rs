//! `callhooks`: load the documents operators keep in the table, checked
//! first, with any error naming the field.
//!
//! ```text
//! callhooks numbers put FILE     # one number's configuration (access pattern 5)
//! callhooks contacts put FILE    # one caller's contact record (access pattern 6)
//! ```
//!
//! It talks to whichever DynamoDB the AWS SDK is configured for (profile,
//! region, `AWS_ENDPOINT_URL` for `make dev`'s moto); the table is
//! `--table` or `TABLE_NAME`.

use callhooks::config::{parse_document, Contact, NumberConfig};
use callhooks::schedule::check_retell_config;
use callhooks::store::Store;
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};

#[derive(Debug, Parser)]
#[command(
    name = "callhooks",
    version,
    about = "Load callhooks configuration into its DynamoDB table"
)]
pub struct Cli {
    /// The DynamoDB table (the stack's EventsTableName output).
    #[arg(long, env = "TABLE_NAME", global = true)]
    pub table: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Numbers of ours: routing, forwarding, Retell agents.
    Numbers {
        #[command(subcommand)]
        action: PutAction,
    },
    /// Callers we know: name, Retell dynamic variables and metadata.
    Contacts {
        #[command(subcommand)]
        action: PutAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum PutAction {
    /// Store (replace) the JSON document in FILE.
    Put { file: PathBuf },
}

/// Why the command failed; `exit_code` tells the shell which kind.
#[derive(Debug, PartialEq, Eq)]
pub enum CliError {
    /// The document or the command line is wrong: exit 2.
    Invalid(String),
    /// Storage refused or did not answer: exit 1.
    Storage(String),
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Invalid(_) => 2,
            CliError::Storage(_) => 1,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            CliError::Invalid(m) | CliError::Storage(m) => m,
        }
    }
}

/// A number configuration document, parsed and checked (schedule days,
/// times and time zones included).
pub fn number_document(text: &str) -> Result<NumberConfig, String> {
    let config: NumberConfig = parse_document(text)?;
    if let Some(retell) = &config.retell {
        check_retell_config(retell)?;
    }
    Ok(config)
}

/// A contact document, parsed and checked.
pub fn contact_document(text: &str) -> Result<Contact, String> {
    parse_document(text)
}

fn read(file: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(file)
        .map_err(|e| CliError::Invalid(format!("{}: cannot read: {e}", file.display())))
}

/// Checks the document, then stores it. Returns what to print.
pub async fn run(cli: Cli, sdk: &aws_config::SdkConfig) -> Result<String, CliError> {
    let store = |table: Option<String>| -> Result<Store, CliError> {
        let table = table.filter(|t| !t.is_empty()).ok_or_else(|| {
            CliError::Invalid("no table: pass --table NAME or set TABLE_NAME".into())
        })?;
        Ok(Store::new(aws_sdk_dynamodb::Client::new(sdk), table))
    };
    let invalid = |file: &Path, e: String| CliError::Invalid(format!("{}: {e}", file.display()));
    let storage = |e: callhooks::store::StoreError| CliError::Storage(e.to_string());
    match cli.command {
        Command::Numbers {
            action: PutAction::Put { file },
        } => {
            let config = number_document(&read(&file)?).map_err(|e| invalid(&file, e))?;
            let store = store(cli.table)?;
            store.put_number_config(&config).await.map_err(storage)?;
            Ok(format!(
                "stored the configuration of {} in {}",
                config.number,
                store.table()
            ))
        }
        Command::Contacts {
            action: PutAction::Put { file },
        } => {
            let contact = contact_document(&read(&file)?).map_err(|e| invalid(&file, e))?;
            let store = store(cli.table)?;
            store.put_contact(&contact).await.map_err(storage)?;
            Ok(format!(
                "stored the contact {} in {}",
                contact.number,
                store.table()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_documents_are_checked_beyond_their_shape() {
        let ok = r#"{"number": "+12137771235", "retell": {"schedules": [{"days": ["mon"], "start": "09:00", "end": "17:00", "time_zone": "Europe/Paris", "agent": {"agent_id": "a"}}]}}"#;
        assert!(number_document(ok).is_ok());
        let bad_zone = ok.replace("Europe/Paris", "Europe/Pariss");
        let err = number_document(&bad_zone).unwrap_err();
        assert!(err.starts_with("retell.schedules[0].time_zone: "), "{err}");
        let unknown = ok.replace("\"days\"", "\"weekdays\"");
        assert!(number_document(&unknown).unwrap_err().contains("weekdays"));
    }

    #[test]
    fn contact_variables_must_be_strings() {
        let err =
            contact_document(r#"{"number": "+14155552671", "dynamic_variables": {"vip": true}}"#)
                .unwrap_err();
        assert!(err.starts_with("dynamic_variables.vip: "), "{err}");
    }

    #[test]
    fn command_line_parses() {
        let cli =
            Cli::try_parse_from(["callhooks", "numbers", "put", "n.json", "--table", "t"]).unwrap();
        assert_eq!(cli.table.as_deref(), Some("t"));
        assert!(matches!(
            cli.command,
            Command::Numbers {
                action: PutAction::Put { .. }
            }
        ));
        assert!(Cli::try_parse_from(["callhooks", "numbers", "delete", "n.json"]).is_err());
    }
}
