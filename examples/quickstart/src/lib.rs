//! Auth0's Flask quickstart in axum: `/`, `/profile` (protected), `/api-call` (an access
//! token for `AUTH0_AUDIENCE`), and `auth0-axum`'s login, callback and logout routes. It reads
//! the `AUTH0_*` variables (and `.env`); without `AUTH0_DOMAIN` it starts a local dev tenant.
//! `AUTH0_SESSION_STORE` picks the store: `cookie` (default), `memory`, `redis` or `postgres`.

mod pages;

use std::sync::Arc;

use auth0_axum::Auth0;
use auth0_dev_tenant::{DevOrganization, DevTenant, RunningDevTenant};
use auth0_server::client::{ServerClient, ServerClientBuilder};
use axum::{Router, routing::get};

pub use auth0_server::stores::{StoreChoice, TransactionChoice};

/// The API the dev tenant issues access tokens for.
pub const DEV_AUDIENCE: &str = "https://quickstart.local/api";
/// The dev tenant's organization, open to anyone: `/login?organization=quickstart`.
pub const DEV_ORGANIZATION: (&str, &str) = ("org_quickstart", "quickstart");

/// A boxed error for `main`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What the app needs to start.
pub struct Settings {
    /// The client configuration (from the environment, or pointed at the dev tenant).
    pub builder: ServerClientBuilder,
    /// Where sessions live.
    pub store: StoreChoice,
    /// Where logins in progress wait (`AUTH0_TRANSACTION_STORE`; a cookie by default).
    pub transactions: TransactionChoice,
    /// The audience `/api-call` asks a token for.
    pub audience: Option<String>,
    /// The dev tenant, when the app runs one.
    pub dev_tenant: Option<RunningDevTenant>,
}

impl Settings {
    /// Reads the environment; without `AUTH0_DOMAIN`, starts the dev tenant for `port`.
    ///
    /// # Errors
    ///
    /// An unknown store, or a dev tenant that cannot start.
    pub async fn from_env(port: u16) -> Result<Self, BoxError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let redirect_uri = var("AUTH0_REDIRECT_URI")
            .unwrap_or_else(|| format!("http://localhost:{port}/callback"));
        let (builder, audience, dev_tenant) = if var("AUTH0_DOMAIN").is_some() {
            let builder = ServerClient::from_env().redirect_uri(redirect_uri);
            (builder, var("AUTH0_AUDIENCE"), None)
        } else {
            let (builder, tenant) = dev_tenant_client(port, &redirect_uri).await?;
            let secret = var("AUTH0_SECRET").unwrap_or_else(auth0_server::generate_secret);
            let audience = Some(DEV_AUDIENCE.to_owned());
            (builder.secret(secret), audience, Some(tenant))
        };
        Ok(Self {
            builder,
            store: StoreChoice::from_env()?,
            transactions: TransactionChoice::from_env()?,
            audience,
            dev_tenant,
        })
    }
}

/// Starts the local dev tenant for an app on `port` whose callback is `redirect_uri`, and a
/// client builder pointed at it (without a secret).
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
        .organization(DevOrganization::new(DEV_ORGANIZATION.0, DEV_ORGANIZATION.1).anyone())
        .backchannel_logout_uri(format!("http://127.0.0.1:{port}/backchannel-logout"));
    let tenant = quickstart_features::dev_tenant_extras(tenant, redirect_uri)
        .start()
        .await?;
    Ok((tenant.client_builder(), tenant))
}

pub use quickstart_features::App;

/// Builds the router: the client (with the chosen store), the integration, the routes.
///
/// # Errors
///
/// The client's configuration is refused, or the store cannot be reached.
pub async fn app(settings: &Settings) -> Result<Router, BoxError> {
    let pages = Arc::new(App {
        store_name: settings.store.name(),
        audience: settings.audience.clone(),
        dev_tenant: settings.dev_tenant.as_ref().map(|t| t.issuer().to_string()),
    });
    // The auth wiring: the client (with the chosen store), the integration, the router.
    let client = (settings.store)
        .configure(settings.builder.clone(), settings.transactions)
        .await?
        .build()?;
    let auth0 = Auth0::new(client);
    Ok(Router::new()
        .route("/profile", get(pages::profile))
        .route("/api-call", get(pages::api_call))
        .route_layer(auth0.require_auth())
        .route("/", get(pages::home))
        .route("/static/style.css", get(pages::stylesheet))
        .merge(quickstart_features::routes(settings.dev_tenant.as_ref()))
        .with_state(pages)
        .merge(auth0.routes())
        .layer(auth0.layer()))
}
