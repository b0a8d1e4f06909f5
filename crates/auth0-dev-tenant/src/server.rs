//! The tenant itself ([`DevTenant`]), its router, and the server task ([`RunningDevTenant`]).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use auth0_server_core::client::{ServerClient, ServerClientBuilder};
use axum::Router;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

use crate::config::{
    AllowedUris, BACKCHANNEL_LOGOUT_TIMEOUT, DevTenantBuilder, DevTenantConfig, is_loopback,
};
use crate::endpoints;
use crate::error::Error;
use crate::keys::SigningKey;
use crate::memory::Memory;

/// How long [`RunningDevTenant::shutdown`] lets requests in progress finish.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The state every endpoint shares.
pub(crate) struct Tenant {
    pub(crate) config: DevTenantConfig,
    /// The issuer, with a trailing slash as Auth0 writes it: `http://127.0.0.1:4000/`.
    pub(crate) issuer: String,
    pub(crate) key: SigningKey,
    memory: Mutex<Memory>,
    /// Accounts linked to users (`crate::linked`); locked after `memory`, never before.
    linked: Mutex<crate::linked::LinkedAccounts>,
    /// Sends back-channel logout requests.
    pub(crate) http: reqwest::Client,
    /// The provider session cookie's name; it names the port, because browsers share
    /// cookies between the ports of one host.
    pub(crate) cookie_name: String,
}

impl Tenant {
    /// The current time, in unix seconds.
    pub(crate) fn now(&self) -> u64 {
        self.config.clock.unix_seconds()
    }

    /// The memory, with what expired dropped. Never held across an `.await`.
    pub(crate) fn memory(&self) -> MutexGuard<'_, Memory> {
        let mut memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
        memory.sweep(self.now());
        memory
    }

    /// The linked accounts. Never held across an `.await`, nor while taking `memory`.
    pub(crate) fn linked(&self) -> MutexGuard<'_, crate::linked::LinkedAccounts> {
        self.linked.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An endpoint's absolute URL.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path.trim_start_matches('/'))
    }
}

/// A local OpenID provider for development and tests: one application, any e-mail address
/// logs in through a form, tokens signed with a key made at start. Cheap to clone.
///
/// Most users want [`DevTenant::start`], which listens on loopback in a task of its own;
/// [`DevTenant::new`] and [`DevTenant::router`] embed the tenant in an axum app instead.
///
/// ```
/// use auth0_dev_tenant::DevTenant;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), auth0_dev_tenant::Error> {
/// let tenant = DevTenant::builder().start().await?;
/// // AUTH0_DOMAIN=http://127.0.0.1:PORT, AUTH0_CLIENT_ID=dev-client, AUTH0_CLIENT_SECRET=…
/// assert!(tenant.domain().starts_with("http://127.0.0.1:"));
/// assert_eq!(tenant.client_id(), "dev-client");
/// tenant.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct DevTenant {
    pub(crate) inner: Arc<Tenant>,
}

impl std::fmt::Debug for DevTenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevTenant")
            .field("issuer", &self.inner.issuer)
            .field("config", &self.inner.config)
            .field("key", &self.inner.key)
            .finish_non_exhaustive()
    }
}

impl DevTenant {
    /// A builder with the defaults ([`DevTenantBuilder::new`]).
    pub fn builder() -> DevTenantBuilder {
        DevTenantBuilder::new()
    }

    /// A tenant whose issuer is `issuer` (an `http://` URL on this machine, where the caller
    /// serves [`router`](Self::router); a path is allowed, for a router nested under it).
    /// Makes the signing key, which takes a moment: call it once, at start.
    ///
    /// ```
    /// use auth0_dev_tenant::{DevTenant, DevTenantConfig};
    ///
    /// let tenant = DevTenant::new(DevTenantConfig::default(), "http://127.0.0.1:5000/dev-tenant")?;
    /// assert_eq!(tenant.issuer(), "http://127.0.0.1:5000/dev-tenant/");
    /// // app.nest("/dev-tenant", tenant.router())
    /// let _router: axum::Router = tenant.router();
    /// # Ok::<(), auth0_dev_tenant::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidIssuer`] for an issuer off this machine, with a query or a fragment;
    /// [`Error::SigningKey`] or [`Error::HttpClient`] when those cannot be made.
    pub fn new(config: DevTenantConfig, issuer: &str) -> Result<Self, Error> {
        let issuer = check_issuer(issuer)?;
        let key = SigningKey::generate().map_err(|source| Error::SigningKey { source })?;
        Self::with_key(config, issuer, key)
    }

    fn with_key(config: DevTenantConfig, issuer: Url, key: SigningKey) -> Result<Self, Error> {
        auth0_server_core::tls::ensure_crypto_provider();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(BACKCHANNEL_LOGOUT_TIMEOUT)
            .user_agent(concat!("auth0-dev-tenant/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| Error::HttpClient { source })?;
        let port = issuer.port_or_known_default().unwrap_or(80);
        Ok(Self {
            inner: Arc::new(Tenant {
                config,
                issuer: issuer.to_string(),
                key,
                memory: Mutex::new(Memory::default()),
                linked: Mutex::default(),
                http,
                cookie_name: format!("dev_tenant_session_{port}"),
            }),
        })
    }

    /// Starts a tenant on the configured loopback address, serving in a task of its own
    /// until [`RunningDevTenant::shutdown`] or until the handle is dropped.
    ///
    /// # Errors
    ///
    /// [`Error::NonLoopbackAddress`], [`Error::Bind`] when the port is taken, and the
    /// errors of [`DevTenant::new`].
    pub async fn start(config: DevTenantConfig) -> Result<RunningDevTenant, Error> {
        let address = config.bind_address;
        if !address.ip().is_loopback() {
            return Err(Error::NonLoopbackAddress { address });
        }
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|source| Error::Bind { address, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| Error::Bind { address, source })?;
        let key = tokio::task::spawn_blocking(SigningKey::generate)
            .await
            .map_err(|source| Error::StartTask { source })?
            .map_err(|source| Error::SigningKey { source })?;
        let issuer = check_issuer(&format!("http://{local}/"))?;
        let tenant = Self::with_key(config, issuer, key)?;
        let router = tenant.router();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                // A dropped sender stops the server too.
                let _ = stopped.await;
            })
            .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "the dev tenant stopped serving");
            }
        });
        tracing::info!(
            issuer = %tenant.inner.issuer,
            client_id = %tenant.inner.config.client_id,
            "dev tenant listening (local development only, not Auth0)"
        );
        Ok(RunningDevTenant {
            tenant,
            local_addr: local,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The `sub` this tenant gives the user with this e-mail address (`auth0|…`), who from
    /// now on may be named in a CIBA `login_hint` without having logged in here first.
    ///
    /// ```
    /// # use auth0_dev_tenant::{DevTenant, DevTenantConfig};
    /// let tenant = DevTenant::new(DevTenantConfig::default(), "http://127.0.0.1:5000/")?;
    /// assert!(tenant.user_id("ada@example.com").starts_with("auth0|"));
    /// # Ok::<(), auth0_dev_tenant::Error>(())
    /// ```
    pub fn user_id(&self, email: &str) -> String {
        let user = crate::memory::User::new(email, None);
        let sub = user.sub.clone();
        self.inner.memory().users.insert(sub.clone(), user);
        sub
    }

    /// The CIBA requests waiting for the user's answer (oldest first is not promised).
    pub fn backchannel_requests(&self) -> Vec<crate::PendingBackchannelRequest> {
        crate::endpoints::ciba::pending(&self.inner)
    }

    /// The user approves (`true`) or denies the pending CIBA request `id` (from
    /// [`backchannel_requests`](Self::backchannel_requests)); `false` when there is no such
    /// pending request.
    pub fn answer_backchannel_request(&self, id: &str, approve: bool) -> bool {
        crate::endpoints::ciba::answer(&self.inner, id, approve)
    }

    /// The current one-time password of the MFA OTP authenticator enrolled with `secret` (the
    /// `secret` of its enrollment answer): [`dev_otp`](crate::dev_otp) at the tenant's clock,
    /// a dev code, not RFC 6238.
    ///
    /// ```
    /// # use auth0_dev_tenant::{DevTenant, DevTenantConfig};
    /// let tenant = DevTenant::new(DevTenantConfig::default(), "http://127.0.0.1:5000/")?;
    /// assert_eq!(tenant.mfa_otp("JBSWY3DPEHPK3PXP").len(), 6);
    /// # Ok::<(), auth0_dev_tenant::Error>(())
    /// ```
    pub fn mfa_otp(&self, secret: &str) -> String {
        crate::endpoints::mfa::current_otp(&self.inner, secret)
    }

    /// The binding code last "sent" by SMS, voice or e-mail to this phone number or address
    /// (an MFA OOB enrollment or challenge), as the user would read it; `None` if none was.
    pub fn mfa_binding_code(&self, to: &str) -> Option<String> {
        crate::endpoints::mfa::binding_code_sent(&self.inner, to)
    }

    /// The passwordless code last "sent" to `recipient` (an e-mail address or an E.164
    /// phone number) and not yet used or expired: the dev tenant sends no mail or SMS.
    ///
    /// ```
    /// # use auth0_dev_tenant::{DevTenant, DevTenantConfig};
    /// let tenant = DevTenant::new(DevTenantConfig::default(), "http://127.0.0.1:5000/")?;
    /// assert_eq!(tenant.passwordless_code("ada@example.com"), None);
    /// # Ok::<(), auth0_dev_tenant::Error>(())
    /// ```
    pub fn passwordless_code(&self, recipient: &str) -> Option<String> {
        crate::endpoints::passwordless::code_for(&self.inner, recipient)
    }

    /// The magic link last "e-mailed" to `email` and not yet used or expired (the browser
    /// follows it to the app's callback).
    pub fn passwordless_link(&self, email: &str) -> Option<String> {
        crate::endpoints::passwordless::link_for(&self.inner, email)
    }

    /// The tenant's endpoints, to serve at its issuer.
    ///
    /// They answer requests from this machine only (the peer address must be loopback), so
    /// serve the app with `into_make_service_with_connect_info::<SocketAddr>()`: without the
    /// peer address every request gets a 403 page saying so. Behind a reverse proxy on the
    /// same machine every peer looks local: do not expose such a proxy.
    ///
    /// ```no_run
    /// # use std::net::SocketAddr;
    /// # use auth0_dev_tenant::{DevTenant, DevTenantConfig};
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
    /// let tenant = DevTenant::new(DevTenantConfig::default(), "http://127.0.0.1:5000/dev-tenant")?;
    /// let app = axum::Router::new().nest("/dev-tenant", tenant.router());
    /// axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
    /// # Ok(()) }
    /// ```
    pub fn router(&self) -> Router {
        endpoints::router().with_state(self.inner.clone())
    }

    /// The issuer, with a trailing slash as Auth0 writes it: `http://127.0.0.1:4000/`.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// What to give an app as `AUTH0_DOMAIN`: the issuer without its trailing slash,
    /// `http://127.0.0.1:4000`.
    pub fn domain(&self) -> &str {
        self.inner.issuer.trim_end_matches('/')
    }

    /// The application's client id (`AUTH0_CLIENT_ID`).
    pub fn client_id(&self) -> &str {
        &self.inner.config.client_id
    }

    /// The application's client secret (`AUTH0_CLIENT_SECRET`).
    pub fn client_secret(&self) -> &str {
        &self.inner.config.client_secret.0
    }

    /// The configuration.
    pub fn config(&self) -> &DevTenantConfig {
        &self.inner.config
    }
}

/// The issuer as a URL with a trailing slash: http(s), on loopback, no query or fragment.
fn check_issuer(issuer: &str) -> Result<Url, Error> {
    let bad = |reason| Error::InvalidIssuer {
        issuer: issuer.to_owned(),
        reason,
    };
    let mut url = Url::parse(issuer).map_err(|_| bad("it is not an absolute URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("it is not an http:// URL"));
    }
    if !is_loopback(&url) {
        return Err(bad("it is not on this machine"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("an issuer has no query and no fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("an issuer has no credentials"));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// A dev tenant serving on loopback. Dropping it stops the server (requests in progress
/// finish); [`shutdown`](Self::shutdown) also waits for that.
#[must_use = "the dev tenant stops when this handle is dropped"]
#[derive(Debug)]
pub struct RunningDevTenant {
    tenant: DevTenant,
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningDevTenant {
    /// The issuer: `http://127.0.0.1:PORT/`.
    pub fn issuer(&self) -> &str {
        self.tenant.issuer()
    }

    /// What to give an app as `AUTH0_DOMAIN`: `http://127.0.0.1:PORT`.
    pub fn domain(&self) -> &str {
        self.tenant.domain()
    }

    /// The application's client id.
    pub fn client_id(&self) -> &str {
        self.tenant.client_id()
    }

    /// The application's client secret.
    pub fn client_secret(&self) -> &str {
        self.tenant.client_secret()
    }

    /// The address the tenant listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A client builder for an app of this tenant: its domain, client id and secret, the
    /// first redirect URI and audience it was configured with, and the scope
    /// `openid profile email offline_access` (so `get_access_token` can refresh). The app adds
    /// its secret (`.secret(…)`) and, if it likes, a store; with a
    /// [client public key](crate::DevTenantBuilder::client_public_key) registered, also the
    /// private key (`.client_assertion_signing_key(…)`), which is used instead of the client
    /// secret.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use auth0_dev_tenant::DevTenant;
    ///
    /// let tenant = DevTenant::builder()
    ///     .redirect_uri("http://localhost:5000/callback")
    ///     .start()
    ///     .await?;
    /// let builder = tenant.client_builder().secret(auth0_server_core::generate_secret());
    /// # let _ = builder;
    /// # Ok(()) }
    /// ```
    pub fn client_builder(&self) -> ServerClientBuilder {
        let config = self.tenant.config();
        let mut builder = ServerClient::builder()
            .domain(self.issuer())
            .client_id(self.client_id())
            .client_secret(self.client_secret())
            .scope("openid profile email offline_access");
        if let AllowedUris::Only(uris) = config.redirect_uris()
            && let Some(uri) = uris.first()
        {
            builder = builder.redirect_uri(uri.as_str());
        }
        if let Some(audience) = config.audiences().first() {
            builder = builder.audience(audience.clone());
        }
        builder
    }

    /// The tenant (its configuration, and its router).
    pub fn tenant(&self) -> &DevTenant {
        &self.tenant
    }

    /// Stops accepting connections and waits up to [`SHUTDOWN_GRACE`] for the requests in
    /// progress, then stops the rest.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
        tracing::info!(issuer = %self.tenant.issuer(), "dev tenant stopped");
    }
}

impl Drop for RunningDevTenant {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check_issuer;

    #[test]
    fn issuers_get_a_trailing_slash_and_must_be_loopback() {
        assert_eq!(
            check_issuer("http://127.0.0.1:4000").unwrap().as_str(),
            "http://127.0.0.1:4000/"
        );
        assert_eq!(
            check_issuer("http://localhost:5000/dev").unwrap().as_str(),
            "http://localhost:5000/dev/"
        );
        for bad in [
            "https://tenant.auth0.com/",
            "http://127.0.0.1:4000/?x=1",
            "ftp://127.0.0.1/",
            "127.0.0.1:4000",
        ] {
            let err = check_issuer(bad).unwrap_err();
            assert_eq!(err.code(), "invalid_issuer", "{bad}");
        }
    }
}
