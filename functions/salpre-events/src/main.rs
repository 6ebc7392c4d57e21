use callhooks::ingest::{edge::serve_json, Route};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    serve_json(Route::SalpreEvents).await
}
