//! Prints the route table as JSON for the scripts (`make dev`'s front,
//! `make load`, the fuzz seeds): `cargo run -q -p callhooks-model
//! --example route_table`. Builds the model crate only.

fn main() {
    println!("{}", callhooks_model::route_table::to_json());
}
