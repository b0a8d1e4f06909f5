//! `cargo run -p quickstart`: the quickstart on http://localhost:5000 (or `PORT`).

use std::net::SocketAddr;

use quickstart::{Settings, app};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), quickstart::BoxError> {
    let _ = dotenvy::dotenv();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    // The Flask quickstart's port.
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(5000);
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
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
