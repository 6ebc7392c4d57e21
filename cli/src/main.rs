use callhooks_cli::{run, sdk_config, Cli, Context};
use clap::Parser;
use std::io::Write;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let cli = Cli::parse();
    let context = Context::from_env(cli.json);
    // The standard chain (profile, region, AWS_ENDPOINT_URL for a local
    // stack), with --profile and --region first.
    let sdk = sdk_config(cli.region.clone(), cli.profile.clone()).await;
    match run(cli, &sdk, &context).await {
        Ok(message) => print_or_leave(&message),
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "callhooks: {}", error.message());
            std::process::exit(error.exit_code());
        }
    }
}

/// Prints the output; a reader that went away (`callhooks ... | head`)
/// ends the command quietly, as it does for any Unix tool, instead of a
/// panic.
fn print_or_leave(message: &str) {
    let mut out = std::io::stdout().lock();
    let written = writeln!(out, "{message}").and_then(|()| out.flush());
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "callhooks: cannot write the output: {e}");
            std::process::exit(1);
        }
    }
}
