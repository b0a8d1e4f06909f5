//! Auth0's Flask quickstart, in Rust with axum: `/` (a login button, or the user),
//! `/profile` (protected), `/api-call` (an access token for `AUTH0_AUDIENCE`), and the login,
//! callback and logout routes of `auth0-axum`.
//!
//! Configuration comes from the environment (and a `.env` file): `AUTH0_DOMAIN`,
//! `AUTH0_CLIENT_ID`, `AUTH0_CLIENT_SECRET`, `AUTH0_SECRET`, `AUTH0_REDIRECT_URI`,
//! `AUTH0_AUDIENCE`. Without `AUTH0_DOMAIN` the app starts a local development tenant in the
//! same process, so it runs on a machine with no Auth0 account. `AUTH0_SESSION_STORE` picks
//! where sessions live: `cookie` (default), `memory`, `redis` (with `REDIS_URL`) or
//! `postgres` (with `DATABASE_URL`).

mod pages;
mod stores;

use std::net::SocketAddr;
use std::sync::Arc;

use auth0_axum::Auth0;
use auth0_dev_tenant::{DevTenant, RunningDevTenant};
use auth0_server::client::{ServerClient, ServerClientBuilder};
use auth0_server::store::CookieOptions;
use auth0_server::{Error, Secrets};
use axum::Router;
use axum::routing::get;

pub use stores::{StoreChoice, TransactionChoice};

/// Where the app listens unless `PORT` says otherwise: the Flask quickstart's port.
pub const DEFAULT_PORT: u16 = 5000;
/// The API the dev tenant issues access tokens for.
pub const DEV_AUDIENCE: &str = "https://quickstart.local/api";

/// What the app needs to start.
pub struct Settings {
    /// The client configuration (from the environment, or pointed at the dev tenant).
    pub builder: ServerClientBuilder,
    /// The callback URL.
    pub redirect_uri: String,
    /// The secret sessions are sealed with.
    pub secrets: Secrets,
    /// Where sessions live.
    pub store: StoreChoice,
    /// Where logins in progress wait (`AUTH0_TRANSACTION_STORE`; a cookie by default).
    pub transactions: TransactionChoice,
    /// The audience `/api-call` asks a token for.
    pub audience: Option<String>,
    /// The dev tenant, when the app runs one.
    pub dev_tenant: Option<RunningDevTenant>,
}

/// A boxed error for `main`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Settings {
    /// Reads the environment; without `AUTH0_DOMAIN`, starts the dev tenant for `port`.
    ///
    /// # Errors
    ///
    /// A configuration the client refuses, or a dev tenant that cannot start.
    pub async fn from_env(port: u16) -> Result<Self, BoxError> {
        let store = StoreChoice::from_env()?;
        let transactions = TransactionChoice::from_env()?;
        let redirect_uri = std::env::var("AUTH0_REDIRECT_URI")
            .unwrap_or_else(|_| format!("http://localhost:{port}/callback"));
        let redirect_uri_for_settings = redirect_uri.clone();
        let domain = std::env::var("AUTH0_DOMAIN")
            .ok()
            .filter(|d| !d.trim().is_empty());
        let (builder, secret, dev_tenant, audience) = match domain {
            Some(_) => {
                let secret = std::env::var("AUTH0_SECRET").unwrap_or_default();
                let audience = std::env::var("AUTH0_AUDIENCE")
                    .ok()
                    .filter(|a| !a.is_empty());
                (
                    ServerClient::from_env().redirect_uri(redirect_uri),
                    secret,
                    None,
                    audience,
                )
            }
            None => {
                let secret = std::env::var("AUTH0_SECRET")
                    .ok()
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(auth0_server::generate_secret);
                let (builder, tenant) = dev_tenant_client(port, &redirect_uri).await?;
                (builder, secret, Some(tenant), Some(DEV_AUDIENCE.to_owned()))
            }
        };
        let secrets = Secrets::parse(&secret)
            .map_err(|e| Error::Configuration(format!("AUTH0_SECRET: {e}")))?;
        Ok(Self {
            builder: builder.secret(secret),
            redirect_uri: redirect_uri_for_settings,
            secrets,
            store,
            transactions,
            audience,
            dev_tenant,
        })
    }
}

/// Starts the local dev tenant for an app on `port` whose callback is `redirect_uri`, and a
/// client builder pointed at it (without a secret or stores).
///
/// # Errors
///
/// The tenant cannot start.
pub async fn dev_tenant_client(
    port: u16,
    redirect_uri: &str,
) -> Result<(ServerClientBuilder, RunningDevTenant), BoxError> {
    let origin = url::Url::parse(redirect_uri)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|_| format!("http://localhost:{port}"));
    let tenant = DevTenant::builder()
        .redirect_uri(redirect_uri)
        .logout_uri(format!("{origin}/"))
        .audience(DEV_AUDIENCE)
        .backchannel_logout_uri(format!("http://127.0.0.1:{port}/backchannel-logout"))
        .start()
        .await?;
    let builder = ServerClient::builder()
        .domain(tenant.issuer().to_string())
        .client_id(tenant.client_id())
        .client_secret(tenant.client_secret())
        .redirect_uri(redirect_uri)
        .scope("openid profile email offline_access")
        .audience(DEV_AUDIENCE);
    Ok((builder, tenant))
}

/// The app's state: the integration and what the pages show.
#[derive(Clone)]
pub struct App {
    pub(crate) store_name: &'static str,
    pub(crate) audience: Option<String>,
    pub(crate) dev_tenant: Option<String>,
}

/// Builds the router.
///
/// # Errors
///
/// The client's configuration is refused, or the store cannot be reached.
pub async fn app(settings: &Settings) -> Result<Router, BoxError> {
    let redirect_uri = url::Url::parse(&settings.redirect_uri)
        .map_err(|e| Error::Configuration(format!("AUTH0_REDIRECT_URI: {e}")))?;
    let cookie_options = CookieOptions::for_redirect_uri(&redirect_uri);
    let (state_store, transaction_store) = stores::build(
        &settings.store,
        settings.transactions,
        &settings.secrets,
        &cookie_options,
    )
    .await?;
    let client = settings
        .builder
        .clone()
        .state_store(state_store)
        .transaction_store(transaction_store)
        .build()?;
    let auth0 = Auth0::new(client);
    let state = App {
        store_name: settings.store.name(),
        audience: settings.audience.clone(),
        dev_tenant: settings.dev_tenant.as_ref().map(|t| t.issuer().to_string()),
    };
    let protected = Router::new()
        .route("/profile", get(pages::profile))
        .route("/api-call", get(pages::api_call))
        .route_layer(auth0.require_auth());
    Ok(Router::new()
        .route("/", get(pages::home))
        .route("/static/style.css", get(pages::stylesheet))
        .merge(protected)
        .with_state(Arc::new(state))
        .merge(auth0.routes())
        .layer(auth0.layer()))
}

/// Serves the app on `addr` until Ctrl-C.
///
/// # Errors
///
/// The address cannot be bound.
pub async fn serve(router: Router, addr: SocketAddr) -> Result<(), BoxError> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
