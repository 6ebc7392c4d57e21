//! Prints the route table as JSON for the scripts (`make dev`'s front,
//! `make load`, the fuzz seeds): `cargo run -q -p callhooks-model
//! --example route_table`. Builds the model crate only.

use std::io::Write;

fn main() -> std::process::ExitCode {
    let table = callhooks_model::route_table::to_json();
    // A reader that stops early (a closed pipe) is not an error to panic on.
    match writeln!(std::io::stdout(), "{table}") {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(_) => std::process::ExitCode::FAILURE,
    }
}
