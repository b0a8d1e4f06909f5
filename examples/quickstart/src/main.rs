//! `cargo run -p quickstart`: the quickstart on http://localhost:5000.

use std::net::SocketAddr;

use quickstart::{DEFAULT_PORT, Settings, app, serve};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), quickstart::BoxError> {
    let _ = dotenvy::dotenv();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(DEFAULT_PORT);
    let settings = Settings::from_env(port).await?;
    let router = app(&settings).await?;
    match &settings.dev_tenant {
        Some(tenant) => println!(
            "\n  No AUTH0_DOMAIN: using a local development tenant at {}.\n  \
             Open http://localhost:{port} and log in with any e-mail address.\n  \
             (Set AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET and AUTH0_SECRET in .env to use your Auth0 tenant.)\n",
            tenant.issuer()
        ),
        None => println!("\n  Open http://localhost:{port}\n"),
    }
    serve(router, SocketAddr::from(([127, 0, 0, 1], port))).await
}
