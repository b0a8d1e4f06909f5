//! [`ServerClient`]: login, callback, sessions, access tokens and logout with Auth0 or any
//! OpenID Connect provider.
//!
//! ```no_run
//! use auth0_server_core::client::{ServerClient, StartLoginOptions};
//! use auth0_server_core::store::StoreContext;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! // AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET, AUTH0_SECRET, AUTH0_REDIRECT_URI…
//! // Sessions in cookies (the `cookie` feature), or `.session_backend(…)` for a server.
//! let client = ServerClient::from_env().build()?;
//!
//! // GET /login
//! let cx = StoreContext::new();
//! let url = client.start_interactive_login(StartLoginOptions::default(), &cx).await?;
//! // redirect the browser to `url`, with cx.take_changes() as Set-Cookie headers
//!
//! // GET /callback?code=…&state=…
//! let done = client.complete_interactive_login("http://localhost:5000/callback?code=x&state=y", &cx).await?;
//! let user = client.get_user(&cx).await?;
//! # Ok(()) }
//! ```

mod backchannel;
mod client_auth;
mod config;
mod domains;
mod error;
mod exchange_answer;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod http;
mod jwt;
mod linking;
mod login;
mod logout;
mod metadata;
pub mod meters;
mod mfa;
mod mfa_api;
mod params;
mod passwordless;
mod refresh;
mod replay;
mod revocation;
mod stores;
mod token_exchange;
mod token_vault;
mod tokens;
mod user_sessions;

use std::sync::Arc;

pub use backchannel::{
    BackchannelOptions, BackchannelResult, CIBA_GRANT_TYPE, DEFAULT_BACKCHANNEL_EXPIRES_IN,
    DEFAULT_POLL_INTERVAL, LoginHint, MIN_POLL_INTERVAL, SLOW_DOWN_STEP,
};
pub use client_auth::{
    CLIENT_ASSERTION_ALGORITHMS, CLIENT_ASSERTION_LIFETIME, CLIENT_ASSERTION_TYPE,
};
pub use config::{
    ClientSecret, Config, DEFAULT_CONNECT_TIMEOUT, DEFAULT_LEEWAY, DEFAULT_METADATA_TTL,
    DEFAULT_REFRESH_MARGIN, DEFAULT_REQUEST_TIMEOUT, DEFAULT_SCOPE, DEFAULT_STATE_IDENTIFIER,
    DEFAULT_TRANSACTION_IDENTIFIER, RetryPolicy, ServerClientBuilder, TokenEndpointAuth, env,
};
pub use domains::{AllowListResolver, DomainResolver, DomainResolverContext, MAX_CACHED_DOMAINS};
pub use error::Error;
pub use http::{MAX_PROVIDER_RESPONSE_BYTES, TELEMETRY_HEADER, TELEMETRY_NAME};
pub use jwt::{BACKCHANNEL_LOGOUT_EVENT, SUPPORTED_ALGORITHMS};
pub use linking::{
    LINK_ACCOUNT_SCOPE, LinkUserOptions, LinkUserResult, MY_ACCOUNT_AUDIENCE, UNLINK_ACCOUNT_SCOPE,
    UnlinkUserOptions,
};
pub use login::{LoginResult, StartLoginOptions};
pub use logout::{LogoutOptions, LogoutRedirect};
pub use metadata::{JWKS_REFETCH_COOLDOWN, ProviderMetadata};
pub use mfa::{MFA_TOKEN_IDENTIFIER, MfaRequirement, MfaRequirements, MfaToken};
pub use mfa_api::{
    Authenticator, Challenge, Enrollment, MAX_MFA_EXPIRES_IN, MFA_OOB_GRANT_TYPE,
    MFA_OTP_GRANT_TYPE, MFA_RECOVERY_CODE_GRANT_TYPE, MFA_TOKEN_TTL, Mfa, MfaChallengeType,
    MfaEnrollment, MfaOperation, MfaVerification, MfaVerified,
};
pub use params::{AUTHORIZATION_DETAILS, AuthorizationParams, ParamValue, scope_for_audience};
pub use passwordless::{
    DEFAULT_PASSWORDLESS_EMAIL_SCOPE, DEFAULT_PASSWORDLESS_SMS_SCOPE, FORWARDED_FOR_HEADER,
    PASSWORDLESS_AUTH_PARAMS, PASSWORDLESS_OTP_GRANT_TYPE, PasswordlessRecipient, PasswordlessSend,
    PasswordlessStartResult, StartPasswordlessOptions, VerifyPasswordlessOptions,
};
pub use refresh::{RefreshTokenOptions, TokenEndpointResponse};
pub use replay::MAX_REMEMBERED_LOGOUT_TOKENS;
pub use token_exchange::{CustomTokenExchangeOptions, TOKEN_EXCHANGE_GRANT_TYPE};
pub use token_vault::{
    ConnectionAccessToken, ConnectionTokenOptions, FEDERATED_CONNECTION_GRANT_TYPE,
    FEDERATED_CONNECTION_TOKEN_TYPE, REFRESH_TOKEN_TYPE,
};
pub use tokens::{AccessToken, AccessTokenOptions};

use crate::model::{StateData, UserClaims};
use crate::store::{StateStore, StoreContext, TransactionStore};

/// The SDK's entry point: one per application, shared by every request (it is cheap to
/// clone and safe to use concurrently).
#[derive(Clone)]
pub struct ServerClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    /// The configured domain's provider, the resolver and the other domains' providers.
    domains: domains::Domains,
    state_store: Arc<dyn StateStore>,
    transaction_store: Arc<dyn TransactionStore>,
    refreshes: tokens::RefreshGate,
    /// Logout tokens used, for stores that keep none.
    logout_tokens: replay::SeenLogoutTokens,
}

impl std::fmt::Debug for ServerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerClient")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl ServerClient {
    /// A builder with nothing set.
    pub fn builder() -> ServerClientBuilder {
        ServerClientBuilder::new()
    }

    /// A builder filled from the environment (see [`ServerClientBuilder::from_env`]).
    pub fn from_env() -> ServerClientBuilder {
        ServerClientBuilder::from_env()
    }

    pub(crate) fn build(builder: &ServerClientBuilder) -> Result<Self, Error> {
        let config = builder.config()?;
        let (state_store, transaction_store) = stores::resolve(builder, &config)?;
        let http = http::Http::new(&config)?;
        let provider = metadata::Provider::new(http.clone(), &config.issuer, config.metadata_ttl);
        let resolver = builder.domain_resolver.clone();
        let domains =
            domains::Domains::new(Arc::new(provider), resolver, http, config.metadata_ttl);
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                domains,
                state_store,
                transaction_store,
                refreshes: tokens::RefreshGate::default(),
                logout_tokens: replay::SeenLogoutTokens::default(),
            }),
        })
    }

    /// The validated configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The configured domain's discovery document (cached).
    ///
    /// # Errors
    ///
    /// [`Error::Network`], [`Error::Timeout`], [`Error::ResponseTooLarge`] or
    /// [`Error::Discovery`] when it cannot be had.
    pub async fn provider_metadata(&self) -> Result<Arc<ProviderMetadata>, Error> {
        self.provider().metadata().await
    }

    /// The logged-in user's claims, or `None`.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub async fn get_user(&self, cx: &StoreContext) -> Result<Option<UserClaims>, Error> {
        Ok(self.get_session(cx).await?.and_then(|s| s.user))
    }

    /// The session without the SDK's internal bookkeeping, or `None` (also for a session
    /// created under another domain, see [`ServerClientBuilder::domain_resolver`]).
    ///
    /// # Errors
    ///
    /// Store failures; [`Error::UnknownDomain`] when the domain resolver knows no domain
    /// for the request.
    pub async fn get_session(&self, cx: &StoreContext) -> Result<Option<StateData>, Error> {
        self.under_request_domain(cx, async {
            let state = self
                .inner
                .state_store
                .get(&self.inner.config.state_identifier, cx)
                .await?;
            Ok(state
                .filter(|s| self.is_current_domain(s.domain.as_deref()))
                .map(|mut s| {
                    s.internal = Default::default();
                    s
                }))
        })
        .await
    }

    fn now(&self) -> u64 {
        self.inner.config.clock.unix_seconds()
    }
}

impl ServerClientBuilder {
    /// Builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::MissingRequiredArgument`] or [`Error::Configuration`], each naming the
    /// setting and the fix.
    pub fn build(&self) -> Result<ServerClient, Error> {
        ServerClient::build(self)
    }
}
