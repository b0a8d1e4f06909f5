//! `cargo run -p quickstart`: the quickstart on http://localhost:5000 (or `PORT`).

use std::net::SocketAddr;

use quickstart::{Settings, app};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), quickstart::BoxError> {
    let _ = dotenvy::dotenv();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    let port = std::env::var("PORT").map_or(Ok(5000), |p| p.parse())?; // Flask's port
    let settings = Settings::from_env(port).await?;
    let router = app(&settings).await?;
    if let Some(tenant) = &settings.dev_tenant {
        let issuer = tenant.issuer();
        println!("\n  No AUTH0_DOMAIN: a local dev tenant runs at {issuer} (any e-mail logs in).");
    }
    println!("\n  Open http://localhost:{port}\n");
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
