//! `callhooks`: the operator's command for a deployed (or `make dev`)
//! callhooks.
//!
//! ```text
//! callhooks urls [--stack NAME] [--show-secrets]  # each provider's webhook URL with its token, and where it goes
//! callhooks register zonitel --calls-url URL --sms-url URL
//! callhooks register zonitel --stack NAME          # the stack's URLs with ZONITEL_WEBHOOK_TOKEN
//! callhooks register twilio --number +1... --stack NAME|--base-url URL [--dry-run]
//! callhooks numbers put FILE | get N | list | delete N   # our numbers' configuration (pattern 5)
//! callhooks contacts put FILE | get N | delete N         # callers' contact records (pattern 6)
//! callhooks calls list --number N [--since S] [--limit L] # a number's calls and messages (pattern 3)
//! callhooks calls show PROVIDER CALL_ID            # summary, events, transcript (patterns 1, 2)
//! callhooks sms show MESSAGE_ID [--provider P]     # status history (pattern 4)
//! callhooks calls list [--since S] [--missed]      # every number's calls and messages (day index)
//! callhooks stats [--since 7d]                     # calls, missed, errors, SMS failed per provider per day
//! callhooks completions bash|zsh|fish|powershell|elvish
//! callhooks alerts list [--since 1d] [--failed] [--limit N]  # the alert ledger: state, SNS message id
//! callhooks alerts replay ID...|--failed [--again]  # publish again through the ledger
//! callhooks console [--port 8787] [--open]          # the web console on 127.0.0.1 (docs/console.md)
//! ```
//!
//! Lists page back in time: a full page ends with the `--until` that
//! shows the next older one. `--region` and `--profile` work as the AWS
//! CLI's do.
//!
//! `--stack` (or `CALLHOOKS_STACK`; by default samconfig.toml's
//! `stack_name`) names the deployed stack once: commands that read the
//! table find it there when `--table`/`TABLE_NAME` is not given (see
//! docs/cli.md).
//!
//! It talks to whichever AWS the SDK is configured for (profile, region,
//! `AWS_ENDPOINT_URL` for `make dev`'s moto); the table is `--table` or
//! `TABLE_NAME`. Output is tables in local time (`TZ` or the system's zone),
//! coloured only on a terminal without `NO_COLOR`; `--json` is for scripts.
//! Exit codes: 0 done, 1 failure (storage, not found, a provider's refusal),
//! 2 bad input or usage.

pub mod alerts;
pub mod console;
pub mod history;
pub mod ops;
pub mod safe;
pub mod table;
pub mod twilio;
pub mod urls;
pub mod zonitel;

use callhooks::config::{parse_document, Contact, DocumentError, NumberConfig};
use callhooks::event::Provider;
use callhooks::phone::PhoneNumber;
use callhooks::schedule::{check_retell_config, RetellConfigError};
use callhooks::store::Store;
use clap::{Args, Parser, Subcommand};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use std::path::{Path, PathBuf};
use table::{Table, Tone};

/// Warm voxtelesys-voice and retell-inbound functions keep a number's
/// configuration for a while (`callhooks::config_cache`).
const TAKES_EFFECT: &str =
    "warm functions see the change within NUMBER_CONFIG_CACHE_SECONDS (default 30 s)";

#[derive(Debug, Parser)]
#[command(
    name = "callhooks",
    version,
    about = "Operate callhooks: webhook URLs, provider registration, numbers, contacts and call history"
)]
pub struct Cli {
    /// The DynamoDB table (the stack's EventsTableName output).
    #[arg(long, env = "TABLE_NAME", global = true)]
    pub table: Option<String>,
    /// Print JSON for scripts instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// The stack given to `sam deploy` (default: samconfig.toml's
    /// stack_name): its outputs give the table and the webhook URLs.
    #[arg(long, env = "CALLHOOKS_STACK", global = true)]
    pub stack: Option<String>,
    /// The AWS region, as the AWS CLI's --region (default: AWS_REGION, else
    /// the profile's).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// A named profile of ~/.aws/config and ~/.aws/credentials, as the AWS
    /// CLI's --profile (default: AWS_PROFILE, else `default`).
    #[arg(long, global = true)]
    pub profile: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

/// The SDK configuration the command runs with: the standard chain
/// (environment, profile files, `AWS_ENDPOINT_URL` for a local stack),
/// with `--profile` and `--region` taking precedence as in the AWS CLI.
pub async fn sdk_config(region: Option<String>, profile: Option<String>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(profile) = profile.filter(|p| !p.is_empty()) {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = region.filter(|r| !r.is_empty()) {
        loader = loader.region(aws_config::Region::new(region));
    }
    loader.load().await
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Each provider's webhook URL from the deployed stack (--stack), with
    /// its token, and where it goes.
    Urls {
        /// Print the tokens the stack generated (read from Secrets Manager)
        /// instead of masking them.
        #[arg(long)]
        show_secrets: bool,
    },
    /// Register our webhook URLs with a provider's API.
    Register {
        #[command(subcommand)]
        provider: RegisterProvider,
    },
    /// Numbers of ours: routing, forwarding, Retell agents.
    Numbers {
        #[command(subcommand)]
        action: NumberAction,
    },
    /// Callers we know: name, Retell dynamic variables and metadata.
    Contacts {
        #[command(subcommand)]
        action: ContactAction,
    },
    /// Calls (and messages) as recorded.
    Calls {
        #[command(subcommand)]
        action: CallsAction,
    },
    /// Text messages as recorded.
    Sms {
        #[command(subcommand)]
        action: SmsAction,
    },
    /// Deliveries that authenticated but could not be read: kept raw, with
    /// the reason, never refused.
    Unrecognized {
        #[command(subcommand)]
        action: UnrecognizedAction,
    },
    /// Calls, missed calls, errors and failed SMS per provider per day.
    Stats {
        /// From when: 7d (the default), 2026-11-23, or an RFC 3339 moment.
        #[arg(long, default_value = "7d")]
        since: String,
    },
    /// Print a shell's completion script (e.g. `callhooks completions bash > ~/.local/share/bash-completion/completions/callhooks`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Alerts as the ledger has them; publish failed ones again.
    Alerts {
        #[command(subcommand)]
        action: AlertsAction,
    },
    /// The web console on 127.0.0.1: overview, calls, callers, SMS, alerts,
    /// unrecognized deliveries, numbers, contacts and a routing dry run. The
    /// first line printed is its URL, with this run's token.
    Console {
        /// The port on 127.0.0.1 (0: any free port).
        #[arg(long, default_value_t = console::DEFAULT_PORT)]
        port: u16,
        /// Open the URL in the browser.
        #[arg(long)]
        open: bool,
        /// The alerts topic, for replays (default: the stack's AlertsTopicArn output).
        #[arg(long, env = "ALERTS_TOPIC_ARN")]
        topic_arn: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AlertsAction {
    /// Each alert: time, state, type, provider, numbers, SNS message id (newest first).
    List {
        /// From when (the incident's time): 2026-11-23T09:00:00Z, 2026-11-23, or 90m, 2h, 7d ago.
        #[arg(long, default_value = "1d")]
        since: String,
        /// Only alerts that were not published (failed, or stalled in progress).
        #[arg(long)]
        failed: bool,
        /// At most this many (the newest).
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Only those before this moment (the older page a full one names).
        #[arg(long)]
        until: Option<String>,
    },
    /// Publish alerts again through the ledger, marked `"replayed": true`.
    #[command(group(clap::ArgGroup::new("which").required(true).args(["ids", "failed"])))]
    Replay {
        /// Alert ids (from `alerts list`).
        ids: Vec<String>,
        /// Every failed (or stalled) alert.
        #[arg(long)]
        failed: bool,
        /// How far back to look for them.
        #[arg(long, default_value = "14d")]
        since: String,
        /// Send an already published alert once more.
        #[arg(long)]
        again: bool,
        /// The alerts topic (default: the stack's AlertsTopicArn output,
        /// the stack named as for the table).
        #[arg(long, env = "ALERTS_TOPIC_ARN")]
        topic_arn: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UnrecognizedAction {
    /// The most recent ones, newest first.
    List {
        /// Only those received since: a duration back from now (`30m`,
        /// `12h`, `7d`) or a date or time (`2026-05-01`, RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Only those received before this moment (the older page a full
        /// one names).
        #[arg(long)]
        until: Option<String>,
    },
}

/// A provider, as the command line names it: the choices are
/// `Provider::ALL`, by their names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProviderArg(pub Provider);

/// Every choice, in `Provider::ALL`'s order (clap lists them from a slice).
const PROVIDER_CHOICES: [ProviderArg; Provider::ALL.len()] = {
    let mut choices = [ProviderArg(Provider::ALL[0]); Provider::ALL.len()];
    let mut i = 0;
    while i < choices.len() {
        choices[i] = ProviderArg(Provider::ALL[i]);
        i += 1;
    }
    choices
};

impl clap::ValueEnum for ProviderArg {
    fn value_variants<'a>() -> &'a [Self] {
        &PROVIDER_CHOICES
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.0.as_str()))
    }
}

impl From<ProviderArg> for Provider {
    fn from(provider: ProviderArg) -> Self {
        provider.0
    }
}

#[derive(Debug, Subcommand)]
pub enum RegisterProvider {
    /// Zonitel: set the incoming-call and SMS webhook URLs, then read them back.
    /// Needs ZONITEL_CLIENT_ID and ZONITEL_ACCESS_TOKEN.
    Zonitel(ZonitelArgs),
    /// Twilio: point one of the account's numbers at the stack ("A call
    /// comes in", "Call status changes" and "A message comes in", each
    /// POST), then read the number back. Needs TWILIO_ACCOUNT_SID (or
    /// --account-sid) and TWILIO_AUTH_TOKEN; the URLs come from --stack's
    /// outputs or --base-url. Prints the message status callback your
    /// application passes when it sends.
    Twilio(TwilioArgs),
}

#[derive(Debug, Args)]
pub struct TwilioArgs {
    /// The account's Twilio number to point at the stack (E.164, e.g.
    /// +14155552671).
    #[arg(long)]
    pub number: String,
    /// The account the number belongs to (AC...; for a subaccount's number,
    /// the subaccount's SID).
    #[arg(long, env = "TWILIO_ACCOUNT_SID")]
    pub account_sid: Option<String>,
    /// Where Twilio reaches the stack, instead of --stack's outputs: the
    /// stack's ApiUrl output, or the custom domain in front of it (the
    /// signed URL is the one Twilio calls).
    #[arg(long)]
    pub base_url: Option<String>,
    /// Print what would be set; send nothing (no credentials needed).
    #[arg(long)]
    pub dry_run: bool,
    /// Twilio's API.
    #[arg(long, env = "TWILIO_API_BASE", default_value = twilio::DEFAULT_API_BASE)]
    pub api_base: String,
}

#[derive(Debug, Args)]
pub struct ZonitelArgs {
    /// The incoming-call URL (the ZonitelCallsUrl output, with ?token=...).
    #[arg(long)]
    pub calls_url: Option<String>,
    /// The SMS URL (the ZonitelSmsUrl output, with ?token=...).
    #[arg(long)]
    pub sms_url: Option<String>,
    /// Zonitel's API.
    #[arg(long, env = "ZONITEL_API_BASE", default_value = zonitel::DEFAULT_API_BASE)]
    pub api_base: String,
    /// With --stack and no URL: the token the stack's Zonitel functions
    /// expect, appended to both of its URLs.
    #[arg(long, env = "ZONITEL_WEBHOOK_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum NumberAction {
    /// Store (replace) the JSON document in FILE.
    Put { file: PathBuf },
    /// Print a number's configuration document (E.164).
    Get { number: String },
    /// Every configured number (a Scan of the table: reads all of it).
    List,
    /// Delete a number's configuration.
    Delete { number: String },
}

#[derive(Debug, Subcommand)]
pub enum ContactAction {
    /// Store (replace) the JSON document in FILE.
    Put { file: PathBuf },
    /// Print a caller's contact document (E.164).
    Get { number: String },
    /// Delete a caller's contact record.
    Delete { number: String },
}

#[derive(Debug, Subcommand)]
pub enum CallsAction {
    /// Recent calls and messages from or to a number (or of every number), newest first, all providers.
    List {
        /// The number (E.164, e.g. +14155552671); without it, every number's (the last 7 days unless --since).
        #[arg(long)]
        number: Option<String>,
        /// Missed calls only.
        #[arg(long)]
        missed: bool,
        /// Incomplete calls and stuck messages only (an expected event never came), most recently flagged first.
        #[arg(long, conflicts_with_all = ["number", "missed", "since"])]
        incomplete: bool,
        /// From when: 2026-11-23T09:00:00Z, 2026-11-23 (local midnight), or 90m, 2h, 7d ago.
        #[arg(long)]
        since: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 25)]
        limit: usize,
        /// Only those first seen before this moment (the older page a full
        /// one names).
        #[arg(long)]
        until: Option<String>,
    },
    /// One call: summary, events in order, transcript.
    Show {
        #[arg(value_enum)]
        provider: ProviderArg,
        call_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SmsAction {
    /// One message: summary and status history.
    Show {
        message_id: String,
        #[arg(long, value_enum, default_value = "zonitel")]
        provider: ProviderArg,
    },
}

/// How output is shown: decided once, from the terminal and environment.
#[derive(Clone, Debug)]
pub struct Context {
    pub color: bool,
    pub json: bool,
    pub tz: TimeZone,
    pub now: Timestamp,
}

impl Context {
    /// Colour by the anstream conventions ([`ops::color_on_stdout`]:
    /// `NO_COLOR`, `CLICOLOR_FORCE`, `TERM=dumb`, a terminal); the system
    /// time zone (`TZ` first), UTC if it cannot be found.
    pub fn from_env(json: bool) -> Self {
        Context {
            color: !json && ops::color_on_stdout(),
            json,
            tz: TimeZone::try_system().unwrap_or(TimeZone::UTC),
            now: Timestamp::now(),
        }
    }
}

/// Why the command failed; `exit_code` tells the shell which kind.
#[derive(Debug, PartialEq, Eq)]
pub enum CliError {
    /// The document or the command line is wrong: exit 2.
    Invalid(String),
    /// Storage refused or did not answer: exit 1.
    Storage(String),
    /// Anything else that did not work (not found, a provider refused): exit 1.
    Failure(String),
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Invalid(_) => 2,
            CliError::Storage(_) | CliError::Failure(_) => 1,
        }
    }

    /// The same error with its message safe for a terminal: messages may
    /// quote stored text or a provider's answer.
    pub fn made_safe(self) -> Self {
        let safe = |m: String| safe::visible(&m).into_owned();
        match self {
            CliError::Invalid(m) => CliError::Invalid(safe(m)),
            CliError::Storage(m) => CliError::Storage(safe(m)),
            CliError::Failure(m) => CliError::Failure(safe(m)),
        }
    }

    pub fn message(&self) -> &str {
        match self {
            CliError::Invalid(m) | CliError::Storage(m) | CliError::Failure(m) => m,
        }
    }
}

/// A number configuration document, parsed and checked (schedule days,
/// times and time zones included).
pub fn number_document(text: &str) -> Result<NumberConfig, NumberDocumentError> {
    let config: NumberConfig = parse_document(text)?;
    if let Some(retell) = &config.retell {
        check_retell_config(retell)?;
    }
    Ok(config)
}

/// Why a number configuration document was refused.
#[derive(Debug, thiserror::Error)]
pub enum NumberDocumentError {
    #[error(transparent)]
    Shape(#[from] DocumentError),
    #[error(transparent)]
    Retell(#[from] RetellConfigError),
}

/// A contact document, parsed and checked.
pub fn contact_document(text: &str) -> Result<Contact, DocumentError> {
    parse_document(text)
}

fn read(file: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(file)
        .map_err(|e| CliError::Invalid(format!("{}: cannot read: {e}", file.display())))
}

fn phone(input: &str) -> Result<PhoneNumber, CliError> {
    PhoneNumber::parse(input).map_err(|e| {
        CliError::Invalid(format!(
            "{input:?}: {e}; give the number in E.164, e.g. +14155552671"
        ))
    })
}

/// A number whose timeline is asked for, as providers send them: a short
/// code (`72345`), a sender id (`ACMEBANK`) or a number without its `+`
/// has a timeline too (documents, by contrast, are kept for E.164 numbers).
fn timeline_number(input: &str) -> Result<PhoneNumber, CliError> {
    PhoneNumber::read(input).ok_or_else(|| {
        CliError::Invalid(format!(
            "{input:?}: no number to look up (withheld callers have no timeline)"
        ))
    })
}

/// A stored document as JSON, also in text mode: unsafe characters as
/// `\uXXXX` escapes (not the text view's `\u{..}`), so it stays valid JSON
/// that `numbers put` / `contacts put` take back as it was.
fn pretty<T: serde::Serialize>(document: &T) -> String {
    safe::json_output(&serde_json::to_string_pretty(document).unwrap_or_default())
}

/// Runs the command. Returns what to print on success. What is printed,
/// success or failure, is made safe for a terminal ([`safe`]).
pub async fn run(
    cli: Cli,
    sdk: &aws_config::SdkConfig,
    context: &Context,
) -> Result<String, CliError> {
    match run_command(cli, sdk, context).await {
        Ok(out) if context.json => Ok(safe::json_output(&out)),
        Ok(out) => Ok(safe::text_output(&out)),
        Err(error) => Err(error.made_safe()),
    }
}

async fn run_command(
    cli: Cli,
    sdk: &aws_config::SdkConfig,
    context: &Context,
) -> Result<String, CliError> {
    // The table: --table/TABLE_NAME, else the stack's output (a stack named
    // by --stack, else samconfig.toml's), asked only by commands that read it.
    let reads_table = !matches!(
        cli.command,
        Command::Urls { .. } | Command::Register { .. } | Command::Completions { .. }
    );
    let default_stack = ops::stack_name(cli.stack.clone(), Path::new("."));
    let table_name = if reads_table {
        ops::resolve_table(cli.table, default_stack.as_deref(), sdk).await?
    } else {
        cli.table
    };
    let store = || -> Result<Store, CliError> {
        let table = table_name
            .clone()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                CliError::Invalid(
                "no table: pass --stack NAME (the stack given to `sam deploy`), --table NAME or set TABLE_NAME (the stack's EventsTableName output)"
                    .into(),
            )
            })?;
        Ok(Store::new(aws_sdk_dynamodb::Client::new(sdk), table))
    };
    let invalid = |file: &Path, e: &dyn std::fmt::Display| {
        CliError::Invalid(format!("{}: {e}", file.display()))
    };
    let storage = |e: callhooks::store::StoreError| CliError::Storage(e.to_string());
    match cli.command {
        Command::Console {
            port,
            open,
            topic_arn,
        } => {
            let topic_arn = match (topic_arn.filter(|t| !t.is_empty()), &default_stack) {
                (Some(arn), _) => Some(arn),
                (None, Some(stack)) => {
                    let client = aws_sdk_cloudformation::Client::new(sdk);
                    urls::stack_outputs(&client, stack)
                        .await
                        .ok()
                        .and_then(|outputs| outputs.get("AlertsTopicArn").cloned())
                }
                (None, None) => None,
            };
            let publisher = topic_arn.map(|topic_arn| callhooks::alerts::stream::SnsPublisher {
                sns: aws_sdk_sns::Client::new(sdk),
                topic_arn,
            });
            console::serve(store()?, publisher, port, open, context.tz.clone())
                .await
                .map_err(|e| CliError::Failure(e.to_string()))?;
            Ok("console stopped".into())
        }
        Command::Urls { show_secrets } => {
            let stack = default_stack.ok_or_else(|| {
                CliError::Invalid(
                    "no stack: pass --stack NAME (the stack given to `sam deploy`)".into(),
                )
            })?;
            let client = aws_sdk_cloudformation::Client::new(sdk);
            let outputs = urls::stack_outputs(&client, &stack).await?;
            let (mut found, missing) = urls::provider_urls(&outputs);
            let values = if show_secrets {
                let secrets = aws_sdk_secretsmanager::Client::new(sdk);
                urls::token_values(&secrets, &urls::secret_outputs(&outputs)).await?
            } else {
                Default::default()
            };
            urls::with_tokens(&mut found, &outputs, &values);
            let table = outputs.get("EventsTableName").map(String::as_str);
            let open = outputs.contains_key(urls::OPEN_ROUTES_OUTPUT);
            urls::render(&stack, &found, &missing, table, open, context)
        }
        Command::Register {
            provider: RegisterProvider::Zonitel(args),
        } => {
            // Only an explicit --stack: registering URLs is never guessed
            // from samconfig.toml.
            let args = match (&cli.stack, &args.calls_url, &args.sms_url) {
                (Some(stack), None, None) => {
                    let client = aws_sdk_cloudformation::Client::new(sdk);
                    let outputs = urls::stack_outputs(&client, stack).await?;
                    zonitel_args_of_stack(args, stack, &outputs)?
                }
                _ => args,
            };
            register_zonitel(args, |name| std::env::var(name).ok(), context).await
        }
        Command::Register {
            provider: RegisterProvider::Twilio(args),
        } => {
            // --base-url first, else only an explicit --stack: registering
            // URLs is never guessed from samconfig.toml.
            twilio::number_of(&args.number)?;
            let urls = match (&args.base_url, &cli.stack) {
                (Some(base), _) => twilio::urls_of_base(base)?,
                (None, Some(stack)) => {
                    let client = aws_sdk_cloudformation::Client::new(sdk);
                    let outputs = urls::stack_outputs(&client, stack).await?;
                    twilio::urls_of_stack(stack, &outputs)?
                }
                (None, None) => return Err(twilio::TwilioError::NoUrls.into()),
            };
            Ok(twilio::register(
                &args.number,
                urls,
                args.account_sid.as_deref(),
                &args.api_base,
                args.dry_run,
                |name| std::env::var(name).ok(),
                context,
            )
            .await?)
        }
        Command::Numbers { action } => match action {
            NumberAction::Put { file } => {
                let config = number_document(&read(&file)?).map_err(|e| invalid(&file, &e))?;
                let store = store()?;
                store.put_number_config(&config).await.map_err(storage)?;
                Ok(format!(
                    "stored the configuration of {} in {}; {TAKES_EFFECT}",
                    config.number,
                    store.table()
                ))
            }
            NumberAction::Get { number } => {
                let number = phone(&number)?;
                match store()?.number_config(&number).await.map_err(storage)? {
                    Some(config) => Ok(pretty(&config)),
                    None => Err(CliError::Failure(format!(
                        "no configuration for {number}: store one with `callhooks numbers put FILE` (see examples/number.json)"
                    ))),
                }
            }
            NumberAction::List => {
                let configs = store()?.number_configs().await.map_err(storage)?;
                if context.json {
                    return Ok(pretty(&configs));
                }
                if configs.is_empty() {
                    return Ok(
                        "no numbers configured: store one with `callhooks numbers put FILE`".into(),
                    );
                }
                let mut table = Table::new(&["NUMBER", "LABEL", "VOXTELESYS", "RETELL"]);
                for c in &configs {
                    let voxtelesys = c.voxtelesys.as_ref().map(|v| {
                        let forward = if v.forward_to.is_empty() {
                            "no forwarding".to_string()
                        } else {
                            format!("forward to {}", v.forward_to.len())
                        };
                        let voicemail = if v.voicemail.as_ref().is_some_and(|m| m.enabled) {
                            ", voicemail"
                        } else {
                            ""
                        };
                        format!("{forward}{voicemail}")
                    });
                    let retell = c.retell.as_ref().map(|r| {
                        let count = |n: usize, one: &str| {
                            format!("{n} {one}{}", if n == 1 { "" } else { "s" })
                        };
                        format!(
                            "{}, {}{}",
                            count(r.schedules.len(), "schedule"),
                            count(r.contacts.len(), "contact"),
                            if r.default_agent.is_some() {
                                ", default agent"
                            } else {
                                ""
                            }
                        )
                    });
                    table.row(vec![
                        (c.number.to_string(), Tone::Plain),
                        (c.label.clone().unwrap_or_else(|| "-".into()), Tone::Plain),
                        (voxtelesys.unwrap_or_else(|| "-".into()), Tone::Plain),
                        (retell.unwrap_or_else(|| "-".into()), Tone::Plain),
                    ]);
                }
                Ok(table.render(context.color).trim_end().to_string())
            }
            NumberAction::Delete { number } => {
                let number = phone(&number)?;
                match store()?.delete_number_config(&number).await.map_err(storage)? {
                    Some(_) => Ok(format!(
                        "deleted the configuration of {number}; {TAKES_EFFECT}"
                    )),
                    None => Err(CliError::Failure(format!(
                        "no configuration for {number}, nothing deleted: see `callhooks numbers list`"
                    ))),
                }
            }
        },
        Command::Contacts { action } => match action {
            ContactAction::Put { file } => {
                let contact = contact_document(&read(&file)?).map_err(|e| invalid(&file, &e))?;
                let store = store()?;
                store.put_contact(&contact).await.map_err(storage)?;
                Ok(format!(
                    "stored the contact {} in {}",
                    contact.number,
                    store.table()
                ))
            }
            ContactAction::Get { number } => {
                let number = phone(&number)?;
                match store()?.contact(&number).await.map_err(storage)? {
                    Some(contact) => Ok(pretty(&contact)),
                    None => Err(CliError::Failure(format!(
                        "no contact record for {number}: store one with `callhooks contacts put FILE` (see examples/contact.json)"
                    ))),
                }
            }
            ContactAction::Delete { number } => {
                let number = phone(&number)?;
                match store()?.delete_contact(&number).await.map_err(storage)? {
                    Some(_) => Ok(format!("deleted the contact record of {number}")),
                    None => Err(CliError::Failure(format!(
                        "no contact record for {number}, nothing deleted"
                    ))),
                }
            }
        },
        Command::Calls { action } => match action {
            CallsAction::List {
                number,
                missed,
                incomplete,
                since,
                limit,
                until,
            } => {
                if incomplete {
                    if limit == 0 {
                        return Err(CliError::Invalid("--limit must be at least 1".into()));
                    }
                    return ops::incomplete(&store()?, limit, context).await;
                }
                let number = number.as_deref().map(timeline_number).transpose()?;
                if limit == 0 {
                    return Err(CliError::Invalid("--limit must be at least 1".into()));
                }
                let since = since
                    .map(|s| history::parse_since(&s, context.now, &context.tz))
                    .transpose()?;
                let until = history::parse_until(until.as_deref(), context)?;
                let page = history::Page { limit, until };
                match number {
                    Some(number) if !missed => {
                        history::list(&store()?, &number, since, page, context).await
                    }
                    Some(_) => Err(CliError::Invalid(
                        "--missed lists every number's missed calls: leave out --number".into(),
                    )),
                    None => ops::recent(&store()?, since, page, missed, context).await,
                }
            }
            CallsAction::Show {
                provider: p,
                call_id,
            } => history::show_call(&store()?, p.into(), &call_id, context).await,
        },
        Command::Sms {
            action:
                SmsAction::Show {
                    message_id,
                    provider: p,
                },
        } => history::show_sms(&store()?, p.into(), &message_id, context).await,
        Command::Unrecognized {
            action:
                UnrecognizedAction::List {
                    since,
                    limit,
                    until,
                },
        } => {
            if limit == 0 {
                return Err(CliError::Invalid("--limit must be at least 1".into()));
            }
            let since = since
                .map(|s| history::parse_since(&s, context.now, &context.tz))
                .transpose()?
                .map(callhooks::time::to_key);
            let until = history::parse_until(until.as_deref(), context)?;
            let found = store()?
                .unrecognized_window(since.as_deref(), until.as_deref(), limit)
                .await
                .map_err(storage)?;
            let mut out = history::render_unrecognized(&found, context);
            if found.len() == limit {
                let last = found.last().map(|d| d.received_at.as_str());
                out.push_str(&history::older_page_hint(last, context));
            }
            Ok(out)
        }
        Command::Stats { since } => {
            let since = history::parse_since(&since, context.now, &context.tz)?;
            ops::stats(&store()?, since, context).await
        }
        Command::Completions { shell } => Ok(ops::completions(shell)),
        Command::Alerts { action } => {
            let since_of =
                |s: &str| history::parse_since(s, context.now, &context.tz).map_err(CliError::from);
            // Ledger items expire with the events; the retention does not
            // matter for reading and replaying.
            let ledger = |store| callhooks::alerts::ledger::Ledger::new(store, 1);
            match action {
                AlertsAction::List {
                    since,
                    failed,
                    limit,
                    until,
                } => {
                    if limit == 0 {
                        return Err(CliError::Invalid("--limit must be at least 1".into()));
                    }
                    let since = since_of(&since)?;
                    let until = history::parse_until(until.as_deref(), context)?;
                    let page = history::Page { limit, until };
                    alerts::list(&ledger(store()?), since, failed, page, context).await
                }
                AlertsAction::Replay {
                    ids,
                    failed,
                    since,
                    again,
                    topic_arn,
                } => {
                    let since = since_of(&since)?;
                    let topic_arn = match topic_arn.filter(|t| !t.is_empty()) {
                        Some(topic_arn) => topic_arn,
                        None => ops::resolve_topic(default_stack.as_deref(), sdk).await?,
                    };
                    let publisher = callhooks::alerts::stream::SnsPublisher {
                        sns: aws_sdk_sns::Client::new(sdk),
                        topic_arn,
                    };
                    let selection = if failed {
                        alerts::Selection::Failed
                    } else {
                        alerts::Selection::Ids(ids)
                    };
                    alerts::replay(
                        &ledger(store()?),
                        &publisher,
                        selection,
                        since,
                        again,
                        context,
                    )
                    .await
                }
            }
        }
    }
}

/// `register zonitel --stack NAME`: the stack's Zonitel URLs, each with the
/// token (`--token` or `ZONITEL_WEBHOOK_TOKEN`) its functions expect.
pub fn zonitel_args_of_stack(
    args: ZonitelArgs,
    stack: &str,
    outputs: &std::collections::HashMap<String, String>,
) -> Result<ZonitelArgs, CliError> {
    let token = args.token.clone().filter(|t| !t.is_empty()).ok_or_else(|| {
        CliError::Invalid(
            "--stack without --calls-url/--sms-url needs the Zonitel token: pass --token or set ZONITEL_WEBHOOK_TOKEN (the stack's ZonitelWebhookToken)".into(),
        )
    })?;
    let url = |output: &str| -> Result<String, CliError> {
        let url = outputs
            .get(output)
            .ok_or_else(|| CliError::Failure(format!("stack {stack:?} has no {output} output")))?;
        ops::with_token(url, &token)
    };
    Ok(ZonitelArgs {
        calls_url: Some(url("ZonitelCallsUrl")?),
        sms_url: Some(url("ZonitelSmsUrl")?),
        ..args
    })
}

/// `register zonitel`: checks every URL and the credentials before any
/// request, then registers and reads back each URL given. A URL that reads
/// back different is a failure.
pub async fn register_zonitel(
    args: ZonitelArgs,
    env: impl Fn(&str) -> Option<String>,
    context: &Context,
) -> Result<String, CliError> {
    use zonitel::Webhook;
    let mut wanted = Vec::new();
    if let Some(url) = &args.calls_url {
        zonitel::check_webhook_url("--calls-url", url)?;
        wanted.push((Webhook::Calls, url.clone()));
    }
    if let Some(url) = &args.sms_url {
        zonitel::check_webhook_url("--sms-url", url)?;
        wanted.push((Webhook::Sms, url.clone()));
    }
    if wanted.is_empty() {
        return Err(CliError::Invalid(
            "give --calls-url and/or --sms-url, or --stack NAME with the token (--token or ZONITEL_WEBHOOK_TOKEN)"
                .into(),
        ));
    }
    let credentials = zonitel::Credentials::from_env(env)?;
    let api = zonitel::Zonitel::new(&args.api_base, credentials)?;
    let mut results = Vec::new();
    for (webhook, url) in wanted {
        results.push(api.register(webhook, &url).await?);
    }
    let all_match = results.iter().all(|r| r.matches);
    let out = if context.json {
        let redacted: Vec<zonitel::Registered> = results
            .iter()
            .map(|r| zonitel::Registered {
                sent: zonitel::redact(&r.sent),
                read_back: r.read_back.as_deref().map(zonitel::redact),
                ..r.clone()
            })
            .collect();
        pretty(&redacted)
    } else {
        let mut table = Table::new(&["WEBHOOK", "REGISTERED", "ZONITEL NOW HAS", "MATCH"]);
        for r in &results {
            table.row(vec![
                (r.webhook.label().into(), Tone::Plain),
                (zonitel::redact(&r.sent), Tone::Plain),
                (
                    r.read_back
                        .as_deref()
                        .map(zonitel::redact)
                        .unwrap_or_else(|| "(none)".into()),
                    Tone::Plain,
                ),
                if r.matches {
                    ("yes".into(), Tone::Good)
                } else {
                    ("NO".into(), Tone::Bad)
                },
            ]);
        }
        table.render(context.color).trim_end().to_string()
    };
    if all_match {
        Ok(out)
    } else {
        Err(CliError::Failure(format!(
            "{out}\nZonitel reads back a different URL than the one registered: run `callhooks register zonitel` again; if it repeats, contact Zonitel support"
        )))
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
        assert!(
            err.to_string()
                .starts_with("retell.schedules[0].time_zone: "),
            "{err}"
        );
        let unknown = ok.replace("\"days\"", "\"weekdays\"");
        assert!(number_document(&unknown)
            .unwrap_err()
            .to_string()
            .contains("weekdays"));
    }

    #[test]
    fn contact_variables_must_be_strings() {
        let err =
            contact_document(r#"{"number": "+14155552671", "dynamic_variables": {"vip": true}}"#)
                .unwrap_err();
        assert!(
            err.to_string().starts_with("dynamic_variables.vip: "),
            "{err}"
        );
    }

    #[test]
    fn register_zonitel_with_a_stack_builds_the_token_urls() {
        let outputs = std::collections::HashMap::from([
            (
                "ZonitelCallsUrl".to_string(),
                "https://abc.execute-api.us-east-1.amazonaws.com/zonitel/calls".to_string(),
            ),
            (
                "ZonitelSmsUrl".to_string(),
                "https://abc.execute-api.us-east-1.amazonaws.com/zonitel/sms".to_string(),
            ),
        ]);
        let args = |token: Option<&str>| ZonitelArgs {
            calls_url: None,
            sms_url: None,
            api_base: "https://api.example".into(),
            token: token.map(str::to_string),
        };
        let built = zonitel_args_of_stack(args(Some("s3cret")), "hooks", &outputs).unwrap();
        assert_eq!(
            built.calls_url.as_deref(),
            Some("https://abc.execute-api.us-east-1.amazonaws.com/zonitel/calls?token=s3cret")
        );
        assert_eq!(
            built.sms_url.as_deref(),
            Some("https://abc.execute-api.us-east-1.amazonaws.com/zonitel/sms?token=s3cret")
        );
        let err = zonitel_args_of_stack(args(None), "hooks", &outputs).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.message().contains("ZONITEL_WEBHOOK_TOKEN"));
        let err = zonitel_args_of_stack(args(Some("t")), "hooks", &Default::default()).unwrap_err();
        assert!(err.message().contains("no ZonitelCallsUrl output"));
    }

    #[test]
    fn command_line_parses() {
        let cli =
            Cli::try_parse_from(["callhooks", "numbers", "put", "n.json", "--table", "t"]).unwrap();
        assert_eq!(cli.table.as_deref(), Some("t"));
        assert!(matches!(
            cli.command,
            Command::Numbers {
                action: NumberAction::Put { .. }
            }
        ));
        assert!(Cli::try_parse_from(["callhooks", "numbers", "remove", "n.json"]).is_err());
        // Without URLs it parses; run() asks for them or for --stack.
        let cli =
            Cli::try_parse_from(["callhooks", "register", "zonitel", "--stack", "s"]).unwrap();
        assert_eq!(cli.stack.as_deref(), Some("s"));
        // Providers are a value enum: --help lists them, typos are usage errors.
        let err = Cli::try_parse_from(["callhooks", "calls", "show", "skype", "1"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue);
        for provider in Provider::ALL {
            assert!(err.to_string().contains(provider.as_str()), "{err}");
            let cli = Cli::try_parse_from(["callhooks", "calls", "show", provider.as_str(), "1"])
                .unwrap();
            assert!(matches!(
                cli.command,
                Command::Calls {
                    action: CallsAction::Show { provider: p, .. }
                } if Provider::from(p) == provider
            ));
        }
        let cli = Cli::try_parse_from(["callhooks", "sms", "show", "m"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Sms {
                action: SmsAction::Show {
                    provider: ProviderArg(Provider::Zonitel),
                    ..
                }
            }
        ));
        let cli = Cli::try_parse_from([
            "callhooks",
            "register",
            "twilio",
            "--number",
            "+14155550100",
            "--base-url",
            "https://h.example",
            "--dry-run",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::Register {
                provider: RegisterProvider::Twilio(TwilioArgs { dry_run: true, .. })
            }
        ));
        let err = Cli::try_parse_from(["callhooks", "register", "twilio"]).unwrap_err();
        assert!(err.to_string().contains("--number"), "{err}");
        let cli = Cli::try_parse_from(["callhooks", "calls", "list", "--missed"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Calls {
                action: CallsAction::List {
                    number: None,
                    missed: true,
                    ..
                }
            }
        ));
        let cli = Cli::try_parse_from([
            "callhooks",
            "calls",
            "list",
            "--number",
            "+14155552671",
            "--json",
            "--since",
            "2h",
        ])
        .unwrap();
        assert!(cli.json);
    }
}
