use aws_config::BehaviorVersion;
use callhooks_cli::{run, Cli, Context};
use clap::Parser;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let cli = Cli::parse();
    let context = Context::from_env(cli.json);
    // The standard chain: profile, region, AWS_ENDPOINT_URL for a local stack.
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    match run(cli, &sdk, &context).await {
        Ok(message) => println!("{message}"),
        Err(error) => {
            eprintln!("callhooks: {}", error.message());
            std::process::exit(error.exit_code());
        }
    }
}
