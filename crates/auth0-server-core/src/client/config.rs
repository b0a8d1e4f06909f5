//! Configuration of [`ServerClient`](super::ServerClient): from code with the builder, or from
//! the environment.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::Error;
use super::client_auth::{ClientAuth, Credentials, KeySource};
use super::params::{AUTHORIZATION_DETAILS, AuthorizationParams, ParamValue};
use super::stores::StoreChoice;
use crate::clock::{self, Clock};
use crate::model::normalize_domain;
use crate::store::{
    CookieOptions, OwnedCookies, SameSite, SessionLifetime, StateStore, StoreSettings,
    TransactionStore, is_loopback,
};
use crate::{SecretError, Secrets};

/// The scope asked for when none is configured. `openid` is always added.
pub const DEFAULT_SCOPE: &str = "openid profile email";
/// The session cookie's name.
pub const DEFAULT_STATE_IDENTIFIER: &str = "_a0_session";
/// The prefix of login transactions' keys (and cookie names).
pub const DEFAULT_TRANSACTION_IDENTIFIER: &str = "_a0_tx";
/// Clock skew tolerated when checking `exp`, `iat` and `nbf`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);
/// An access token this close to its expiry is refreshed instead of returned.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(30);
/// Time allowed to open a connection to the provider.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time allowed for a whole request to the provider.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// How long discovery documents and key sets are cached.
pub const DEFAULT_METADATA_TTL: Duration = Duration::from_secs(600);

/// How the client authenticates to the token endpoint with its client secret. A client
/// assertion signing key, when given, takes the place of the secret
/// ([`ServerClientBuilder::client_assertion_signing_key`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TokenEndpointAuth {
    /// HTTP Basic with the client id and secret (the default).
    #[default]
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
}

/// Retries of requests to the provider: token requests (code exchange, refresh) answered
/// with 429 or 503 or that could not connect, which the provider did not carry out;
/// discovery and JWKS fetches also after any other 5xx.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The longest first backoff; the ceiling doubles with each retry, and each wait is a
    /// random time below it ("full jitter", so that instances that failed together do not
    /// retry in step).
    pub base_delay: Duration,
    /// The longest single wait, also the cap on `Retry-After` (which, when the provider sends
    /// it, is waited instead of the backoff).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

/// The client secret; its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(pub(crate) String);

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret([redacted])")
    }
}

/// The validated configuration.
#[derive(Clone)]
pub struct Config {
    pub(crate) issuer: Url,
    pub(crate) domain: String,
    pub(crate) client_id: String,
    /// The client secret or signing key, and how it is sent.
    pub(crate) client_auth: ClientAuth,
    pub(crate) secrets: Secrets,
    pub(crate) redirect_uri: Option<Url>,
    pub(crate) audience: Option<String>,
    pub(crate) scope: String,
    pub(crate) authorization_params: AuthorizationParams,
    pub(crate) state_identifier: String,
    pub(crate) transaction_identifier: String,
    pub(crate) id_token_algorithms: Vec<String>,
    pub(crate) leeway: Duration,
    pub(crate) refresh_margin: Duration,
    pub(crate) pushed_authorization_requests: bool,
    pub(crate) connect_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) metadata_ttl: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) cookie_options: CookieOptions,
    pub(crate) session_lifetime: SessionLifetime,
    /// The organization every login is pinned to (see [`ServerClientBuilder::organization`]).
    pub(crate) organization: Option<String>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("issuer", &self.issuer.as_str())
            .field("client_id", &self.client_id)
            .field("client_auth", &self.client_auth)
            .field("secrets", &self.secrets)
            .field("redirect_uri", &self.redirect_uri.as_ref().map(Url::as_str))
            .field("audience", &self.audience)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// The issuer URL derived from the domain, e.g. `https://tenant.auth0.com/`.
    pub fn issuer(&self) -> &Url {
        &self.issuer
    }
    /// The normalised domain sessions are recorded with.
    pub fn domain(&self) -> &str {
        &self.domain
    }
    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
    /// The default API audience (`AUTH0_AUDIENCE`), if any.
    pub fn audience(&self) -> Option<&str> {
        self.audience.as_deref()
    }
    /// The scope asked for at login ([`DEFAULT_SCOPE`] unless set).
    pub fn scope(&self) -> &str {
        &self.scope
    }
    /// The ID-token signing algorithms accepted (`RS256` unless set).
    pub fn id_token_algorithms(&self) -> &[String] {
        &self.id_token_algorithms
    }
    /// How the client authenticates to the provider: `client_secret_basic`,
    /// `client_secret_post` or `private_key_jwt` (when a client assertion signing key is
    /// given).
    ///
    /// ```no_run
    /// use auth0_server_core::client::ServerClient;
    ///
    /// let client = ServerClient::from_env().build()?;
    /// tracing::info!(method = client.config().client_authentication_method(), "client ready");
    /// # Ok::<(), auth0_server_core::client::Error>(())
    /// ```
    pub fn client_authentication_method(&self) -> &'static str {
        self.client_auth.method()
    }
    /// The default redirect URI; `None` for a client that logs users in by CIBA only
    /// (interactive logins then need one per call).
    pub fn redirect_uri(&self) -> Option<&Url> {
        self.redirect_uri.as_ref()
    }
    /// The session cookie's name.
    pub fn state_identifier(&self) -> &str {
        &self.state_identifier
    }
    /// The prefix of the login (transaction) cookies' names.
    pub fn transaction_identifier(&self) -> &str {
        &self.transaction_identifier
    }
    /// The cookies this client's stores may name, with and without the `__Host-` prefix:
    /// what an integration keeps of a request's Cookie header
    /// ([`StoreContext::from_headers_owned`](crate::store::StoreContext::from_headers_owned)).
    pub fn owned_cookies(&self) -> OwnedCookies {
        OwnedCookies::new()
            .with_identifier(&self.state_identifier)
            .with_identifier(&self.transaction_identifier)
    }
    /// The secrets sessions are sealed with.
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }
    /// The session cookies' attributes (login cookies use their
    /// [`for_logins`](CookieOptions::for_logins) form).
    pub fn cookie_options(&self) -> &CookieOptions {
        &self.cookie_options
    }
    /// When sessions end.
    pub fn session_lifetime(&self) -> SessionLifetime {
        self.session_lifetime
    }
    /// What this client hands every store it sets up: its secrets, cookie attributes,
    /// session lifetime and clock.
    pub fn store_settings(&self) -> StoreSettings {
        // The cookie options derived from the URL are replaced at once by the client's own.
        let base = self.redirect_uri.as_ref().unwrap_or(&self.issuer);
        StoreSettings::for_redirect_uri(self.secrets.clone(), base)
            .with_cookie_options(self.cookie_options.clone())
            .with_lifetime(self.session_lifetime)
            .with_clock(self.clock.clone())
    }
}

/// Builds a [`ServerClient`](super::ServerClient). Every problem is found by
/// [`build`](Self::build), with a message that says the fix.
///
/// ```
/// use auth0_server_core::client::ServerClient;
///
/// let err = ServerClient::builder()
///     .domain("tenant.eu.auth0.com")
///     .client_id("my-client-id")
///     .client_secret("my-client-secret")
///     .redirect_uri("http://localhost:5000/callback")
///     .build()
///     .unwrap_err();
/// // No secret given: the error names AUTH0_SECRET and how to make one.
/// assert_eq!(err.code(), "missing_required_argument_error");
/// assert!(err.to_string().contains("auth0-server secret"));
/// ```
#[derive(Clone, Default)]
pub struct ServerClientBuilder {
    domain: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    client_assertion_signing_key: Option<KeySource>,
    client_assertion_signing_alg: Option<String>,
    secret: Option<String>,
    redirect_uri: Option<String>,
    audience: Option<String>,
    scope: Option<String>,
    authorization_params: AuthorizationParams,
    state_identifier: Option<String>,
    transaction_identifier: Option<String>,
    token_endpoint_auth: TokenEndpointAuth,
    id_token_algorithms: Option<Vec<String>>,
    leeway: Option<Duration>,
    refresh_margin: Option<Duration>,
    pushed_authorization_requests: bool,
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    metadata_ttl: Option<Duration>,
    retry: Option<RetryPolicy>,
    clock: Option<Arc<dyn Clock>>,
    cookie_options: Option<CookieOptions>,
    session_lifetime: Option<SessionLifetime>,
    pub(crate) state_store: Option<StoreChoice<dyn StateStore>>,
    pub(crate) transaction_store: Option<StoreChoice<dyn TransactionStore>>,
    /// Picks the domain per request (see [`ServerClientBuilder::domain_resolver`]).
    pub(crate) domain_resolver: Option<Arc<dyn super::DomainResolver>>,
    organization: Option<String>,
}

impl fmt::Debug for ServerClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerClientBuilder")
            .field("domain", &self.domain)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Environment variables read by [`ServerClientBuilder::from_env`].
pub mod env {
    /// The tenant's domain, e.g. `my-tenant.eu.auth0.com`.
    pub const DOMAIN: &str = "AUTH0_DOMAIN";
    /// The application's client id.
    pub const CLIENT_ID: &str = "AUTH0_CLIENT_ID";
    /// The application's client secret.
    pub const CLIENT_SECRET: &str = "AUTH0_CLIENT_SECRET";
    /// The private key client assertions are signed with (`private_key_jwt`): the path of a
    /// PEM or JWK file, or the PEM (or JWK) itself. Used instead of the client secret.
    pub const CLIENT_ASSERTION_SIGNING_KEY: &str = "AUTH0_CLIENT_ASSERTION_SIGNING_KEY";
    /// The client assertions' algorithm: `RS256` (the default for an RSA key), `PS256`, or
    /// `ES256` (the default for an EC P-256 key).
    pub const CLIENT_ASSERTION_SIGNING_ALG: &str = "AUTH0_CLIENT_ASSERTION_SIGNING_ALG";
    /// The secret(s) sessions are sealed with, comma-separated, newest first.
    pub const SECRET: &str = "AUTH0_SECRET";
    /// The callback URL.
    pub const REDIRECT_URI: &str = "AUTH0_REDIRECT_URI";
    /// The default API audience.
    pub const AUDIENCE: &str = "AUTH0_AUDIENCE";
    /// The default scope.
    pub const SCOPE: &str = "AUTH0_SCOPE";
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty => $field:ident) => {
        $(#[$doc])*
        pub fn $name(mut self, value: impl Into<$ty>) -> Self {
            self.$field = Some(value.into());
            self
        }
    };
}

impl ServerClientBuilder {
    /// A builder with nothing set.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder with what the environment has: `AUTH0_DOMAIN`, `AUTH0_CLIENT_ID`,
    /// `AUTH0_CLIENT_SECRET`, `AUTH0_CLIENT_ASSERTION_SIGNING_KEY` (a path, or the PEM or JWK
    /// itself), `AUTH0_CLIENT_ASSERTION_SIGNING_ALG`, `AUTH0_SECRET`, `AUTH0_REDIRECT_URI`,
    /// `AUTH0_AUDIENCE`, `AUTH0_SCOPE`. Empty variables count as unset. Setters called after
    /// override them. A key file is read by [`build`](Self::build).
    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) with the variables `lookup` gives.
    fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        Self {
            domain: var(env::DOMAIN),
            client_id: var(env::CLIENT_ID),
            client_secret: var(env::CLIENT_SECRET),
            client_assertion_signing_key: var(env::CLIENT_ASSERTION_SIGNING_KEY)
                .map(KeySource::from_env_value),
            client_assertion_signing_alg: var(env::CLIENT_ASSERTION_SIGNING_ALG),
            secret: var(env::SECRET),
            redirect_uri: var(env::REDIRECT_URI),
            audience: var(env::AUDIENCE),
            scope: var(env::SCOPE),
            ..Self::default()
        }
    }

    setter!(
        /// The tenant's domain (`tenant.eu.auth0.com`; `https://` is accepted and dropped;
        /// `http://` only for a loopback provider in development and tests).
        domain: String => domain
    );
    setter!(
        /// The application's client id.
        client_id: String => client_id
    );
    setter!(
        /// The application's client secret. Not needed when a
        /// [client assertion signing key](Self::client_assertion_signing_key) is given (which
        /// is then used instead).
        client_secret: String => client_secret
    );
    setter!(
        /// The client assertions' algorithm (`private_key_jwt`): `RS256`, `PS256` or `ES256`.
        /// Unset: the JWK's `alg`, else RS256 for an RSA key and ES256 for an EC P-256 key.
        client_assertion_signing_alg: String => client_assertion_signing_alg
    );

    /// The private key the client signs its client assertions with (`private_key_jwt`,
    /// instead of a client secret): a PEM (PKCS#8 `BEGIN PRIVATE KEY`, PKCS#1 `BEGIN RSA
    /// PRIVATE KEY`, SEC1 `BEGIN EC PRIVATE KEY`) or a private JWK. Its public key must be
    /// registered for the application (Auth0 Dashboard → Applications → Credentials →
    /// Private Key JWT). It is read and checked by [`build`](Self::build), and never shown by
    /// `Debug`. With a client secret given too, the key is used (as in the JS SDK).
    ///
    /// ```
    /// use auth0_server_core::client::ServerClient;
    ///
    /// # let pem = "-----BEGIN PRIVATE KEY-----\n…\n-----END PRIVATE KEY-----\n";
    /// let builder = ServerClient::builder()
    ///     .domain("tenant.eu.auth0.com")
    ///     .client_id("my-client-id")
    ///     .client_assertion_signing_key(pem)
    ///     .client_assertion_signing_alg("RS256");
    /// // .secret(…).redirect_uri(…).build()?
    /// ```
    pub fn client_assertion_signing_key(mut self, pem_or_jwk: impl Into<String>) -> Self {
        self.client_assertion_signing_key = Some(KeySource::Text(pem_or_jwk.into()));
        self
    }

    /// [`client_assertion_signing_key`](Self::client_assertion_signing_key) from a file (a
    /// PEM or a private JWK), read by [`build`](Self::build).
    pub fn client_assertion_signing_key_file(
        mut self,
        path: impl Into<std::path::PathBuf>,
    ) -> Self {
        self.client_assertion_signing_key = Some(KeySource::File(path.into()));
        self
    }
    setter!(
        /// The secret(s) sessions and transactions are sealed with: at least 32 bytes each,
        /// comma-separated, newest first.
        secret: String => secret
    );
    setter!(
        /// The absolute callback URL, e.g. `http://localhost:5000/callback`.
        redirect_uri: String => redirect_uri
    );
    setter!(
        /// The API that access tokens are for by default.
        audience: String => audience
    );
    setter!(
        /// The scope asked for at login ([`DEFAULT_SCOPE`] if unset; `openid` is always added).
        scope: String => scope
    );
    setter!(
        /// The session cookie's name ([`DEFAULT_STATE_IDENTIFIER`]).
        state_identifier: String => state_identifier
    );
    setter!(
        /// The prefix of transaction keys ([`DEFAULT_TRANSACTION_IDENTIFIER`]).
        transaction_identifier: String => transaction_identifier
    );
    setter!(
        /// Clock skew tolerated on token times ([`DEFAULT_LEEWAY`]).
        leeway: Duration => leeway
    );
    setter!(
        /// How close to expiry an access token is refreshed ([`DEFAULT_REFRESH_MARGIN`]).
        refresh_margin: Duration => refresh_margin
    );
    setter!(
        /// Time allowed to connect to the provider ([`DEFAULT_CONNECT_TIMEOUT`]).
        connect_timeout: Duration => connect_timeout
    );
    setter!(
        /// Time allowed for a whole request ([`DEFAULT_REQUEST_TIMEOUT`]).
        request_timeout: Duration => request_timeout
    );
    setter!(
        /// How long discovery and keys are cached ([`DEFAULT_METADATA_TTL`]).
        metadata_ttl: Duration => metadata_ttl
    );
    setter!(
        /// Retries of token requests on 429 and 5xx.
        retry: RetryPolicy => retry
    );

    /// An extra parameter for every authorization request (reserved ones are ignored). The
    /// value is a string, or any JSON value ([`ParamValue`]: sent as its JSON text), such as
    /// `authorization_details` (Rich Authorization Requests) or, for `scope`, a map from
    /// audience to scope (as the Python SDK's; see [`scope_for_audience`](super::scope_for_audience)).
    ///
    /// ```
    /// use auth0_server_core::client::ServerClient;
    /// use serde_json::json;
    ///
    /// let builder = ServerClient::builder()
    ///     .authorization_param("prompt", "login")
    ///     .authorization_param(
    ///         "authorization_details",
    ///         json!([{"type": "payment_initiation", "amount": "10.00"}]),
    ///     );
    /// ```
    pub fn authorization_param(
        mut self,
        name: impl Into<String>,
        value: impl Into<ParamValue>,
    ) -> Self {
        self.authorization_params.insert(name.into(), value.into());
        self
    }

    /// How the client authenticates to the token endpoint.
    pub fn token_endpoint_auth(mut self, auth: TokenEndpointAuth) -> Self {
        self.token_endpoint_auth = auth;
        self
    }

    /// The ID-token signing algorithms accepted (`RS256` only, by default). `none` and the
    /// HMAC algorithms are never accepted.
    pub fn id_token_algorithms<I, S>(mut self, algorithms: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.id_token_algorithms = Some(algorithms.into_iter().map(Into::into).collect());
        self
    }

    /// Sends authorization requests by PAR (RFC 9126); the provider must support it.
    pub fn pushed_authorization_requests(mut self, on: bool) -> Self {
        self.pushed_authorization_requests = on;
        self
    }

    /// The clock (for tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The session cookies' attributes. Unset, they follow the redirect URI
    /// ([`CookieOptions::for_redirect_uri`]: `Secure` unless the app is plain `http` on this
    /// machine, `SameSite=Lax`, `Path=/`, `__Host-` names), which is right for nearly every
    /// app; set them to share cookies with `auth0-server-python` (`host_prefix: false`) or
    /// across subdomains (`domain`). Every store the client sets up gets them.
    pub fn cookie_options(mut self, options: CookieOptions) -> Self {
        self.cookie_options = Some(options);
        self
    }

    /// When sessions end ([`SessionLifetime::default`]: a day without use, three days at
    /// most). Every store the client sets up gets it.
    pub fn session_lifetime(mut self, lifetime: SessionLifetime) -> Self {
        self.session_lifetime = Some(lifetime);
        self
    }

    /// Validates the settings.
    ///
    /// # Errors
    ///
    /// [`Error::MissingRequiredArgument`] naming the setting and its variable, or
    /// [`Error::Configuration`] saying what is wrong and how to fix it.
    pub(crate) fn config(&self) -> Result<Config, Error> {
        let domain = self.domain.as_deref().ok_or(Error::MissingRequiredArgument {
            argument: "domain",
            hint: "set AUTH0_DOMAIN to your tenant's domain, e.g. my-tenant.eu.auth0.com (Auth0 \
                   Dashboard → Applications → your application → Settings)",
        })?;
        let issuer = issuer_url(domain)?;
        let client_id = self
            .client_id
            .clone()
            .ok_or(Error::MissingRequiredArgument {
                argument: "client_id",
                hint: "set AUTH0_CLIENT_ID to your application's Client ID (Auth0 Dashboard → \
                   Applications → your application → Settings)",
            })?;
        let client_auth = ClientAuth::from_credentials(&Credentials {
            secret: self.client_secret.as_deref(),
            method: self.token_endpoint_auth,
            key: self.client_assertion_signing_key.as_ref(),
            alg: self.client_assertion_signing_alg.as_deref(),
        })?;
        let secrets = match Secrets::parse(self.secret.as_deref().unwrap_or("")) {
            Ok(secrets) => secrets,
            Err(SecretError::Missing) => {
                return Err(Error::MissingRequiredArgument {
                    argument: "secret",
                    hint: "set AUTH0_SECRET to at least 32 random bytes: `auth0-server secret` \
                           or `openssl rand -hex 32` prints one",
                });
            }
            Err(e) => return Err(Error::Configuration(format!("AUTH0_SECRET: {e}"))),
        };
        // Optional: a client that logs users in by CIBA only has no callback
        // (interactive logins without one fail with MISSING_REDIRECT_URI).
        let redirect_uri = self.redirect_uri.as_deref().map(absolute_url).transpose()?;
        let algorithms = self
            .id_token_algorithms
            .clone()
            .unwrap_or_else(|| vec!["RS256".to_owned()]);
        for alg in &algorithms {
            if !super::jwt::SUPPORTED_ALGORITHMS.contains(&alg.as_str()) {
                return Err(Error::Configuration(format!(
                    "the ID-token algorithm {alg:?} is not accepted: use one of {}",
                    super::jwt::SUPPORTED_ALGORITHMS.join(", ")
                )));
            }
        }
        for (name, value) in &self.authorization_params {
            super::params::check_param(name, value).map_err(Error::Configuration)?;
        }
        if let Some(max_age) = self.authorization_params.get("max_age") {
            super::login::parse_max_age(max_age)
                .map_err(|e| Error::Configuration(e.to_string()))?;
        }
        let organization = self.configured_organization()?;
        if let Some(details) = self.authorization_params.get(AUTHORIZATION_DETAILS) {
            super::params::check_authorization_details(details).map_err(|e| {
                Error::Configuration(format!(
                    "authorization_details: {e}; give a JSON array of objects with a \"type\", \
                     e.g. [{{\"type\": \"payment_initiation\"}}] (RFC 9396)"
                ))
            })?;
        }
        for (name, value) in [
            ("state identifier", &self.state_identifier),
            ("transaction identifier", &self.transaction_identifier),
        ] {
            if let Some(value) = value {
                crate::store::validate_identifier(value)
                    .map_err(|e| Error::Configuration(format!("{name}: {e}")))?;
            }
        }
        Ok(Config {
            domain: normalize_domain(issuer.as_str()),
            issuer,
            client_id,
            client_auth,
            secrets,
            audience: self.audience.clone(),
            scope: self
                .scope
                .clone()
                .unwrap_or_else(|| DEFAULT_SCOPE.to_owned()),
            authorization_params: self.authorization_params.clone(),
            state_identifier: self
                .state_identifier
                .clone()
                .unwrap_or_else(|| DEFAULT_STATE_IDENTIFIER.to_owned()),
            transaction_identifier: self
                .transaction_identifier
                .clone()
                .unwrap_or_else(|| DEFAULT_TRANSACTION_IDENTIFIER.to_owned()),
            id_token_algorithms: algorithms,
            leeway: self.leeway.unwrap_or(DEFAULT_LEEWAY),
            refresh_margin: self.refresh_margin.unwrap_or(DEFAULT_REFRESH_MARGIN),
            pushed_authorization_requests: self.pushed_authorization_requests,
            connect_timeout: self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            request_timeout: self.request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT),
            metadata_ttl: self.metadata_ttl.unwrap_or(DEFAULT_METADATA_TTL),
            retry: self.retry.unwrap_or_default(),
            clock: self.clock.clone().unwrap_or_else(clock::system),
            cookie_options: cookie_options(self.cookie_options.clone(), redirect_uri.as_ref())?,
            session_lifetime: self.session_lifetime.unwrap_or_default(),
            redirect_uri,
            organization,
        })
    }
}

/// Organizations (Auth0 Organizations): the client-wide one.
impl ServerClientBuilder {
    /// Pins every login to an organization: its id (`org_…`) or its name. It is sent as
    /// `organization` with each login, and the ID token must carry it (`org_id` equal to an
    /// id, else `org_name` equal to the name ignoring case). A login may repeat it but not
    /// ask for another (see [`StartLoginOptions::organization`](super::StartLoginOptions::organization)).
    ///
    /// ```
    /// use auth0_server_core::client::ServerClient;
    /// let builder = ServerClient::builder().organization("org_W1Xf0cm2eDEqXoLy");
    /// ```
    pub fn organization(mut self, organization: impl Into<String>) -> Self {
        self.organization = Some(organization.into());
        self
    }

    /// The organization of [`organization`](Self::organization), else of the
    /// `organization` authorization parameter; a blank one, or two that differ, are refused.
    fn configured_organization(&self) -> Result<Option<String>, Error> {
        let param = self.authorization_params.get("organization");
        if param.is_some_and(|p| p.as_str().is_none()) {
            return Err(Error::Configuration(
                "the organization authorization parameter must be a string: give its id \
                 (org_…) or its name"
                    .to_owned(),
            ));
        }
        let param = param.and_then(ParamValue::as_str);
        if let (Some(typed), Some(param)) = (self.organization.as_deref(), param)
            && typed.trim() != param.trim()
        {
            return Err(Error::Configuration(format!(
                "the organization is {typed:?} but the organization authorization parameter \
                 is {param:?}: give it once (organization(…)), or give the same value"
            )));
        }
        let given = self
            .organization
            .clone()
            .or_else(|| param.map(str::to_owned));
        match given {
            Some(o) if o.trim().is_empty() => Err(Error::Configuration(
                "the organization must not be blank: give its id (org_…) or its name, or none"
                    .to_owned(),
            )),
            other => Ok(other),
        }
    }
}

/// The cookie attributes for an app whose callback is `redirect_uri`: those derived from it,
/// or `given` when they can work there. Refused: `Secure` cookies for an app on plain `http`
/// on this machine (the browser would never send them back: login would fail silently),
/// `SameSite=None` without `Secure` (browsers drop such cookies), and a `Path` the callback is
/// not under (the login cookie would never reach it).
fn cookie_options(
    given: Option<CookieOptions>,
    redirect_uri: Option<&Url>,
) -> Result<CookieOptions, Error> {
    // Without a callback (a CIBA-only client), the strictest defaults: Secure, __Host-.
    let Some(redirect_uri) = redirect_uri else {
        return Ok(given.unwrap_or_default());
    };
    let derived = CookieOptions::for_redirect_uri(redirect_uri);
    let Some(options) = given else {
        return Ok(derived);
    };
    let refuse = |why: &str| Err(Error::Configuration(format!("cookie options: {why}")));
    if options.secure && !derived.secure {
        return refuse(&format!(
            "Secure cookies are not sent back over plain http, and the redirect URI \
             {redirect_uri} is http: start from CookieOptions::for_redirect_uri (Secure off on \
             http://localhost) or serve the app over https"
        ));
    }
    if options.same_site == SameSite::None && !options.secure {
        return refuse("SameSite=None needs Secure (browsers drop such cookies): use Lax");
    }
    if !redirect_uri.path().starts_with(&options.path) {
        return refuse(&format!(
            "the cookie path {:?} does not cover the callback {:?}, so the login cookie \
             would never reach it: use \"/\"",
            options.path,
            redirect_uri.path()
        ));
    }
    Ok(options)
}

/// What an interactive login without a redirect URI fails with.
pub(crate) const MISSING_REDIRECT_URI: Error = Error::MissingRequiredArgument {
    argument: "redirect_uri",
    hint: "set AUTH0_REDIRECT_URI to your app's callback URL, e.g. \
           http://localhost:5000/callback, and add it to Allowed Callback URLs (only a client \
           that logs users in by CIBA alone may go without)",
};

/// The issuer URL for a domain: `https://{domain}/`, or `http://` for a loopback provider.
pub(crate) fn issuer_url(domain: &str) -> Result<Url, Error> {
    let domain = domain.trim();
    let (scheme, rest) = if let Some(rest) = domain.strip_prefix("https://") {
        ("https", rest)
    } else if let Some(rest) = domain.strip_prefix("http://") {
        ("http", rest)
    } else {
        ("https", domain)
    };
    let rest = rest.trim_end_matches('/');
    // Never the credentials a domain may (wrongly) carry: error messages get logged.
    let domain = &without_userinfo(domain);
    let bad = |why: &str| {
        Error::Configuration(format!(
            "AUTH0_DOMAIN {domain:?} {why}: give the tenant's domain, e.g. my-tenant.eu.auth0.com"
        ))
    };
    if rest.is_empty() || rest.contains(['?', '#', ' ']) {
        return Err(bad("is not a domain"));
    }
    let url = Url::parse(&format!("{scheme}://{rest}/")).map_err(|_| bad("is not a domain"))?;
    let host = url.host().ok_or_else(|| bad("has no host"))?;
    if scheme == "http" && !is_loopback(&host) {
        return Err(Error::Configuration(format!(
            "AUTH0_DOMAIN {domain:?} uses http://, which is only allowed for a provider on this \
             machine (localhost, 127.0.0.1, ::1): use https:// or just the domain"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not contain credentials"));
    }
    Ok(url)
}

/// `value` with any `user:password@` before its host replaced by `***@`, for messages.
fn without_userinfo(value: &str) -> String {
    let start = value.find("://").map_or(0, |i| i + 3);
    let authority_end = value[start..]
        .find(['/', '?', '#'])
        .map_or(value.len(), |i| start + i);
    match value[start..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &value[..start], &value[start + at..]),
        None => value.to_owned(),
    }
}

fn absolute_url(value: &str) -> Result<Url, Error> {
    let shown = without_userinfo(value);
    let url = Url::parse(value.trim()).map_err(|_| {
        Error::Configuration(format!(
            "AUTH0_REDIRECT_URI {shown:?} is not an absolute URL: give the full callback URL, e.g. \
             http://localhost:5000/callback"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(Error::Configuration(format!(
            "AUTH0_REDIRECT_URI {shown:?} must be an http(s) URL with a host, e.g. \
             http://localhost:5000/callback"
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use serde_json::json;

    fn full() -> ServerClientBuilder {
        ServerClientBuilder::new()
            .domain("tenant.eu.auth0.com")
            .client_id("cid")
            .client_secret("csecret")
            .secret("a-secret-of-at-least-thirty-two-bytes")
            .redirect_uri("http://localhost:5000/callback")
    }

    fn err(builder: ServerClientBuilder) -> Error {
        builder.config().unwrap_err()
    }

    #[test]
    fn a_domain_or_redirect_uri_with_credentials_is_refused_without_showing_them() {
        for domain in [
            "admin:hunter2@tenant.eu.auth0.com",
            "https://admin:hunter2@t.example",
        ] {
            let shown = err(full().domain(domain)).to_string();
            assert!(shown.contains("credentials"), "{shown}");
            assert!(!shown.contains("hunter2"), "{shown}");
        }
        let shown = err(full().redirect_uri("ftp://u:hunter2@localhost/cb")).to_string();
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn cookie_options_follow_the_redirect_uri_unless_given() {
        let local = full().config().unwrap();
        assert!(!local.cookie_options().secure, "plain http on this machine");
        let public = full().redirect_uri("https://app.example.com/callback");
        let public = public.config().unwrap();
        assert!(public.cookie_options().secure && public.cookie_options().host_prefix);
        let python = CookieOptions {
            host_prefix: false,
            ..CookieOptions::for_redirect_uri(public.redirect_uri().unwrap())
        };
        let given = full().redirect_uri("https://app.example.com/callback");
        let given = given.cookie_options(python.clone()).config().unwrap();
        assert_eq!(given.cookie_options(), &python);
        assert_eq!(
            given.store_settings().cookie_options,
            python,
            "stores get them too"
        );
    }

    #[test]
    fn cookie_options_that_would_break_login_are_refused() {
        let secure_on_http = CookieOptions {
            host_prefix: false,
            ..CookieOptions::default()
        };
        let none_without_secure = CookieOptions {
            secure: false,
            same_site: SameSite::None,
            ..CookieOptions::default()
        };
        let elsewhere = CookieOptions {
            secure: false,
            path: "/admin".to_owned(),
            ..CookieOptions::default()
        };
        for (options, says) in [
            (secure_on_http, "plain http"),
            (none_without_secure, "SameSite=None needs Secure"),
            (elsewhere, "does not cover the callback"),
        ] {
            let error = err(full().cookie_options(options));
            assert_eq!(error.code(), "configuration_error");
            assert!(error.to_string().contains(says), "{error}");
        }
    }

    #[test]
    fn a_complete_configuration_builds() {
        let c = full().config().unwrap();
        assert_eq!(c.issuer.as_str(), "https://tenant.eu.auth0.com/");
        assert_eq!(c.domain, "tenant.eu.auth0.com");
        assert_eq!(c.scope, DEFAULT_SCOPE);
        assert!(
            !format!("{c:?}").contains("csecret"),
            "client secret in Debug"
        );
        assert!(!format!("{c:?}").contains("thirty-two"), "secret in Debug");
    }

    #[test]
    fn missing_secret_names_the_variable_and_how_to_make_one() {
        let mut b = full();
        b.secret = None;
        let e = err(b);
        assert_eq!(e.code(), "missing_required_argument_error");
        let text = e.to_string();
        assert!(
            text.contains("AUTH0_SECRET") && text.contains("auth0-server secret"),
            "{text}"
        );
    }

    #[test]
    fn short_secret_says_how_long_it_must_be() {
        let e = err(full().secret("short"));
        assert_eq!(e.code(), "configuration_error");
        assert!(e.to_string().contains("32"), "{e}");
    }

    #[test]
    fn each_missing_setting_names_its_variable() {
        for (field, var) in [
            ("domain", "AUTH0_DOMAIN"),
            ("client_id", "AUTH0_CLIENT_ID"),
            ("client_secret", "AUTH0_CLIENT_SECRET"),
        ] {
            let mut b = full();
            match field {
                "domain" => b.domain = None,
                "client_id" => b.client_id = None,
                "client_secret" => b.client_secret = None,
                _ => b.redirect_uri = None,
            }
            let e = err(b);
            assert!(e.to_string().contains(var), "{field}: {e}");
        }
    }

    /// A builder from these variables, as `from_env` reads them.
    fn from_vars(vars: &[(&str, &str)]) -> ServerClientBuilder {
        let vars: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ServerClientBuilder::from_vars(|name| vars.get(name).cloned())
    }

    const BASE_VARS: [(&str, &str); 4] = [
        (env::DOMAIN, "tenant.eu.auth0.com"),
        (env::CLIENT_ID, "cid"),
        (env::SECRET, "a-secret-of-at-least-thirty-two-bytes"),
        (env::REDIRECT_URI, "http://localhost:5000/callback"),
    ];

    fn with_base(extra: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        BASE_VARS
            .iter()
            .map(|(k, v)| (*k, (*v).to_owned()))
            .chain(extra.iter().map(|(k, v)| (*k, (*v).to_owned())))
            .collect()
    }

    fn config_from(vars: &[(&'static str, String)]) -> Result<Config, Error> {
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        from_vars(&vars).config()
    }

    fn ec_pem() -> String {
        use josekit::jwk::KeyPair as _;
        let pair = josekit::jws::ES256.generate_key_pair().unwrap();
        String::from_utf8(pair.to_pem_private_key()).unwrap()
    }

    /// Whether `text` shows any line of the PEM's key body.
    fn shows_key(text: &str, pem: &str) -> bool {
        pem.lines()
            .filter(|l| !l.starts_with("-----") && !l.is_empty())
            .any(|l| text.contains(l))
    }

    #[test]
    fn a_configured_null_param_or_array_scope_is_refused_at_build() {
        for (name, value) in [("prompt", json!(null)), ("scope", json!(["read"]))] {
            let e = from_vars(&BASE_VARS)
                .client_secret("s")
                .authorization_param(name, value)
                .config()
                .unwrap_err();
            assert!(matches!(e, Error::Configuration(_)), "{e:?}");
            assert!(e.to_string().contains("give a string"), "{e}");
        }
    }

    #[test]
    fn conflicting_typed_and_param_organizations_are_refused_at_build() {
        let base = || from_vars(&BASE_VARS).client_secret("s");
        let e = base()
            .organization("org_A")
            .authorization_param("organization", "org_B")
            .config()
            .unwrap_err();
        assert!(matches!(e, Error::Configuration(_)), "{e:?}");
        assert!(
            e.to_string().contains("org_A") && e.to_string().contains("org_B"),
            "{e}"
        );
        let same = base()
            .organization("org_A")
            .authorization_param("organization", "org_A")
            .config();
        assert!(same.is_ok(), "{same:?}");
    }

    #[test]
    fn a_signing_key_in_matching_quotes_is_read_without_them() {
        let pem = ec_pem();
        let one_line = pem.trim_end().replace('\n', "\\n");
        for quoted in [
            format!("\"{pem}\""),
            format!("'{pem}'"),
            format!("\"{one_line}\""),
        ] {
            let vars = with_base(&[(env::CLIENT_ASSERTION_SIGNING_KEY, &quoted)]);
            let config = config_from(&vars).unwrap();
            assert_eq!(config.client_authentication_method(), "private_key_jwt");
        }
    }

    #[test]
    fn a_signing_key_that_is_not_recognised_is_never_echoed() {
        use base64::Engine as _;
        let pem = ec_pem();
        let one_line = pem.trim_end().replace('\n', "\\n");
        for value in [
            base64::engine::general_purpose::STANDARD.encode(&pem),
            format!("\"{one_line}'"),
            format!("`{one_line}`"),
        ] {
            let vars = with_base(&[(env::CLIENT_ASSERTION_SIGNING_KEY, &value)]);
            let e = config_from(&vars).unwrap_err();
            assert!(matches!(e, Error::InvalidClientAssertionKey(_)), "{e:?}");
            let (shown, debug) = (e.to_string(), format!("{e:?}"));
            assert!(
                !shows_key(&shown, &pem) && !shown.contains(&value),
                "{shown}"
            );
            assert!(
                !shows_key(&debug, &pem) && !debug.contains(&value),
                "{debug}"
            );
            assert!(shown.contains("give the PEM itself"), "{shown}");
            let builder = format!(
                "{:?}",
                from_vars(&[(env::CLIENT_ASSERTION_SIGNING_KEY, &value)])
            );
            assert!(!shows_key(&builder, &pem), "builder Debug: {builder}");
        }
    }

    #[test]
    fn the_environment_gives_a_signing_key_inline_or_by_path_instead_of_a_secret() {
        let pem = ec_pem();
        let inline = config_from(&with_base(&[(env::CLIENT_ASSERTION_SIGNING_KEY, &pem)])).unwrap();
        assert_eq!(inline.client_authentication_method(), "private_key_jwt");

        let path = std::env::temp_dir().join(format!("pkjwt-{}.pem", std::process::id()));
        std::fs::write(&path, &pem).unwrap();
        let by_path = with_base(&[(env::CLIENT_ASSERTION_SIGNING_KEY, path.to_str().unwrap())]);
        let by_path = config_from(&by_path);
        std::fs::remove_file(&path).unwrap();
        let by_path = by_path.unwrap();
        assert_eq!(by_path.client_authentication_method(), "private_key_jwt");
        let shown = format!("{by_path:?}");
        assert!(
            !shown.contains(pem.lines().nth(1).unwrap()),
            "key in Debug: {shown}"
        );

        let es = with_base(&[
            (env::CLIENT_ASSERTION_SIGNING_KEY, &pem),
            (env::CLIENT_ASSERTION_SIGNING_ALG, "ES256"),
        ]);
        assert!(config_from(&es).is_ok());
    }

    #[test]
    fn a_signing_alg_that_does_not_fit_the_key_is_a_typed_error() {
        let pem = ec_pem();
        let vars = with_base(&[
            (env::CLIENT_ASSERTION_SIGNING_KEY, &pem),
            (env::CLIENT_ASSERTION_SIGNING_ALG, "RS256"),
        ]);
        let e = config_from(&vars).unwrap_err();
        assert!(matches!(e, Error::InvalidClientAssertionKey(_)), "{e:?}");
        assert!(
            e.to_string()
                .contains("AUTH0_CLIENT_ASSERTION_SIGNING_ALG is RS256"),
            "{e}"
        );
        assert!(
            !e.to_string().contains(pem.lines().nth(1).unwrap()),
            "key in message"
        );
        let vars = with_base(&[
            (env::CLIENT_ASSERTION_SIGNING_KEY, &pem),
            (env::CLIENT_ASSERTION_SIGNING_ALG, "HS256"),
        ]);
        let e = config_from(&vars).unwrap_err();
        assert!(e.to_string().contains("RS256, PS256, ES256"), "{e}");
        let missing = with_base(&[(env::CLIENT_ASSERTION_SIGNING_KEY, "/nonexistent/key.pem")]);
        let e = config_from(&missing).unwrap_err();
        assert_eq!(e.code(), "invalid_client_assertion_key");
        assert!(
            e.to_string().contains("no readable file at the path given"),
            "{e}"
        );
        assert!(
            !e.to_string().contains("/nonexistent/key.pem"),
            "never echoed: {e}"
        );
    }

    #[test]
    fn neither_secret_nor_key_names_both_variables() {
        let e = config_from(&with_base(&[])).unwrap_err();
        assert_eq!(e.code(), "missing_required_argument_error");
        let text = e.to_string();
        assert!(
            text.contains("AUTH0_CLIENT_SECRET")
                && text.contains("AUTH0_CLIENT_ASSERTION_SIGNING_KEY"),
            "{text}"
        );
        let alg_only = with_base(&[
            (env::CLIENT_SECRET, "csecret"),
            (env::CLIENT_ASSERTION_SIGNING_ALG, "RS256"),
        ]);
        let e = config_from(&alg_only).unwrap_err();
        assert_eq!(e.code(), "configuration_error");
        assert!(e.to_string().contains("no key is given"), "{e}");
        let secret = config_from(&with_base(&[(env::CLIENT_SECRET, "csecret")])).unwrap();
        assert_eq!(secret.client_authentication_method(), "client_secret_basic");
    }

    #[test]
    fn a_client_without_redirect_uri_builds_with_the_strictest_cookies() {
        let mut b = full();
        b.redirect_uri = None;
        let c = b.config().unwrap();
        assert!(c.redirect_uri().is_none());
        assert_eq!(c.cookie_options(), &CookieOptions::default());
        assert!(c.cookie_options().secure && c.cookie_options().host_prefix);
        assert!(
            MISSING_REDIRECT_URI
                .to_string()
                .contains("AUTH0_REDIRECT_URI")
        );
    }

    #[test]
    fn https_domain_is_accepted_and_normalised() {
        let c = full()
            .domain("https://Tenant.EU.auth0.com/")
            .config()
            .unwrap();
        assert_eq!(c.issuer.as_str(), "https://tenant.eu.auth0.com/");
        assert_eq!(c.domain, "tenant.eu.auth0.com");
    }

    #[test]
    fn http_domain_is_refused_unless_loopback() {
        let e = err(full().domain("http://tenant.auth0.com"));
        assert_eq!(e.code(), "configuration_error");
        assert!(
            e.to_string()
                .contains("only allowed for a provider on this machine"),
            "{e}"
        );
        for ok in [
            "http://localhost:3000",
            "http://127.0.0.1:4000/",
            "http://[::1]:8080",
        ] {
            let c = full().domain(ok).config().unwrap();
            assert_eq!(c.issuer.scheme(), "http", "{ok}");
        }
    }

    #[test]
    fn relative_redirect_uri_is_refused_with_an_example() {
        for bad in ["/callback", "callback", "ftp://x/cb", ""] {
            let e = err(full().redirect_uri(bad));
            assert_eq!(e.code(), "configuration_error", "{bad}");
            assert!(
                e.to_string().contains("http://localhost:5000/callback"),
                "{e}"
            );
        }
    }

    #[test]
    fn hmac_and_none_algorithms_cannot_be_configured() {
        for alg in ["none", "HS256", "HS512"] {
            let e = err(full().id_token_algorithms([alg]));
            assert_eq!(e.code(), "configuration_error", "{alg}");
        }
    }

    #[test]
    fn garbage_domains_are_refused() {
        for bad in [
            "",
            "https://",
            "a b",
            "x?y",
            "https://user:pw@tenant.auth0.com",
        ] {
            assert!(full().domain(bad).config().is_err(), "{bad:?}");
        }
    }
}
