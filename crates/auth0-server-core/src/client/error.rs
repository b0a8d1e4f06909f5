//! The one error type of [`ServerClient`](super::ServerClient).

use crate::store::StoreError;

/// A boxed cause, kept as the error's `source()`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong. [`Error::code`] is stable (the Python SDK's code where it has one);
/// `Display` says what to do. No variant ever carries a token or a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A required setting is missing.
    #[error("{argument} is required: {hint}")]
    MissingRequiredArgument {
        /// Which one.
        argument: &'static str,
        /// How to give it.
        hint: &'static str,
    },
    /// A setting has a value that cannot work.
    #[error("invalid configuration: {0}")]
    Configuration(String),
    /// An argument to a call cannot be used.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The provider could not be reached, or answered something that is not HTTP we expect.
    #[error(
        "could not reach the identity provider at {url}: {source}; check AUTH0_DOMAIN and the network"
    )]
    Network {
        /// Where the request went.
        url: String,
        /// The HTTP client's error.
        #[source]
        source: BoxError,
    },
    /// The provider did not answer in full within the client's `request_timeout` (a body
    /// that drips, a server that stalls mid-answer).
    #[error(
        "the identity provider at {url} timed out after {} (the client's request_timeout) \
         before its answer was complete: try again; if it is often this slow, raise \
         request_timeout",
        seconds(*after)
    )]
    Timeout {
        /// Where the request went.
        url: String,
        /// The timeout that ran out.
        after: std::time::Duration,
    },
    /// The provider's discovery document or key set is not usable.
    #[error("the identity provider's {document} is not usable: {reason}")]
    Discovery {
        /// Which document (`openid-configuration`, `jwks`).
        document: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// An answer of the provider (discovery document, key set, token endpoint, MFA API,
    /// passwordless) is larger than
    /// [`MAX_PROVIDER_RESPONSE_BYTES`](super::MAX_PROVIDER_RESPONSE_BYTES): it was refused
    /// without being read to its end. No Auth0 answer comes near; the URL names a server that
    /// is not the tenant, or something in between pads or loops.
    #[error(
        "the identity provider's {what} answer from {url} is larger than {limit} bytes and was \
         refused unread: check that AUTH0_DOMAIN (or the domain resolver) names your Auth0 \
         tenant and that no proxy in between alters its answers"
    )]
    ResponseTooLarge {
        /// Which answer (`openid-configuration`, `jwks`, `token endpoint`, `MFA API`,
        /// `passwordless start`).
        what: &'static str,
        /// Where the request went.
        url: String,
        /// The cap, in bytes.
        limit: usize,
        /// The HTTP status the answer came with.
        status: u16,
    },
    /// The callback does not belong to a login started here (no or unknown `state`, expired
    /// or already used transaction, or another browser).
    #[error(
        "this login callback matches no login in progress (missing, expired or already used \
         `state`, or another browser): start the login again"
    )]
    MissingTransaction,
    /// The callback URL cannot be parsed or lacks the authorization code.
    #[error("the callback URL is not usable: {0}")]
    InvalidCallback(String),
    /// The provider sent an `error` to the callback instead of a code.
    #[error("the identity provider refused the login: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Authorization {
        /// The OAuth error code, e.g. `access_denied`.
        error: String,
        /// The provider's `error_description`.
        description: Option<String>,
    },
    /// The issuer named in the callback (RFC 9207 `iss`) or a token is not the configured one.
    #[error("the issuer {actual:?} is not the expected {expected:?}: check AUTH0_DOMAIN")]
    IssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// What was received.
        actual: String,
    },
    /// A token endpoint call failed with an OAuth error.
    #[error("the token endpoint refused the request: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    TokenEndpoint {
        /// The OAuth error code, e.g. `invalid_grant`.
        error: String,
        /// The provider's `error_description`.
        description: Option<String>,
        /// The HTTP status.
        status: u16,
    },
    /// The ID token failed validation.
    #[error("the ID token is not valid: {0}; the login is refused")]
    InvalidIdToken(String),
    /// The back-channel logout token failed validation.
    #[error("the logout token is not valid: {0}")]
    InvalidLogoutToken(String),
    /// There is no session (the user is not logged in, or the session expired).
    #[error("there is no session: the user must log in")]
    MissingSession,
    /// A new access token is needed but the session has no refresh token.
    #[error(
        "the access token expired and the session has no refresh token: ask for the \
         `offline_access` scope at login, or log the user in again"
    )]
    MissingRefreshToken,
    /// The provider requires multi-factor authentication for this token (a token endpoint
    /// answered `mfa_required`, to a refresh or a code exchange). Continue with the MFA API
    /// using [`mfa_token`](Self::MfaRequired::mfa_token); neither it nor the raw token is
    /// ever in `Debug`, `Display` or the logs.
    #[error("multi-factor authentication is required for this token{}: continue with the MFA API using the error's mfa_token, or log the user in again", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    MfaRequired {
        /// The provider's `error_description`.
        description: Option<String>,
        /// The provider's `mfa_token`, sealed as the Python SDK seals it (`None` when the
        /// provider sent none).
        mfa_token: Option<super::MfaToken>,
        /// The factors the provider requires (`mfa_requirements`), when it said.
        mfa_requirements: Option<super::MfaRequirements>,
    },
    /// MFA API: the sealed `mfa_token` cannot be opened (not one this client sealed, or
    /// sealed under a secret no longer configured).
    #[error(
        "the MFA token is not valid (not sealed by this application, or under a secret it no \
         longer has): start again from the request that answered mfa_required"
    )]
    MfaTokenInvalid,
    /// MFA API: the sealed `mfa_token` is older than
    /// [`MFA_TOKEN_TTL`](super::MFA_TOKEN_TTL); nothing was sent.
    #[error(
        "the MFA token expired: start again from the request that answered mfa_required, which \
         gives a new one"
    )]
    MfaTokenExpired,
    /// MFA API: the sealed `mfa_token` was issued under another Auth0 domain, or (to
    /// [`Mfa::verify_and_save`](super::Mfa::verify_and_save)) for another user or session
    /// than the request's, or for none and the answer brought no ID token to check the
    /// user by. Nothing was sent (or, for an unbound token, nothing was saved).
    #[error(
        "the MFA token was issued for another user, session or Auth0 domain than this \
         request's: start again from this session's request that answered mfa_required"
    )]
    MfaTokenMismatch,
    /// MFA API: the provider says the `mfa_token` or the challenge expired (`expired_token`).
    #[error("the MFA token or challenge expired at the provider{}: challenge again, or start again from the request that answered mfa_required", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    MfaExpired {
        /// The provider's `error_description`.
        description: Option<String>,
    },
    /// MFA API: the provider refused the code (`invalid_grant` to an MFA grant: a wrong OTP
    /// or binding code, a used or unknown `oob_code` or recovery code).
    #[error("the MFA code was not accepted{}: ask the user for the code again (an OOB code or recovery code works once)", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    MfaCodeRejected {
        /// The provider's `error_description`.
        description: Option<String>,
    },
    /// MFA API: too many wrong codes (`too_many_attempts`).
    #[error("too many wrong MFA codes{}: wait, then start again from the request that answered mfa_required", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    MfaTooManyAttempts {
        /// The provider's `error_description`.
        description: Option<String>,
    },
    /// MFA API: another refusal by the provider.
    #[error("{operation} failed: {error}{}; check the factor, the authenticator id and that the application may use the MFA grant types", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Mfa {
        /// Which call.
        operation: super::MfaOperation,
        /// The OAuth error code.
        error: String,
        /// The provider's `error_description`.
        description: Option<String>,
        /// The HTTP status.
        status: u16,
    },
    /// The refresh failed.
    #[error("the access token could not be refreshed: {error}{}; the user may need to log in again", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    RefreshFailed {
        /// The OAuth error code.
        error: String,
        /// The provider's `error_description`.
        description: Option<String>,
    },
    /// A refresh returned an ID token for another user than the session's (OIDC Core 1.0
    /// §12.2: its `sub` must be the one of the login). The refresh result is refused and the
    /// session keeps its previous tokens.
    #[error(
        "the refreshed ID token is for another user (sub) than this session: the refresh result \
         was refused and the session keeps its previous tokens; log the user in again"
    )]
    RefreshSubjectMismatch,
    /// The ID token does not carry the organization the login asked for (`org_id` for an
    /// `org_…` id, else `org_name`).
    #[error(
        "the ID token does not carry the organization the login asked for: {0}; the login is \
         refused (check the organization parameter and the user's membership)"
    )]
    OrganizationMismatch(String),
    /// The client assertion signing key (`private_key_jwt`) cannot be used: unreadable, not a
    /// private key, or an algorithm that does not fit it. Found by `build()`.
    #[error(
        "the client assertion signing key (AUTH0_CLIENT_ASSERTION_SIGNING_KEY) cannot be used: {0}"
    )]
    InvalidClientAssertionKey(String),
    /// The provider did not accept the client's credentials (`invalid_client`) at the token,
    /// PAR or backchannel authentication endpoint: a wrong client id, secret or signing key,
    /// or an authentication method the application is not set up for.
    #[error("the identity provider did not accept this application's credentials ({method}){}: {}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default(), client_authentication_hint(method))]
    ClientAuthentication {
        /// How the client authenticated: `client_secret_basic`, `client_secret_post` or
        /// `private_key_jwt`.
        method: &'static str,
        /// The provider's `error_description`.
        description: Option<String>,
        /// The HTTP status.
        status: u16,
    },
    /// CIBA: the provider's discovery document names no `backchannel_authentication_endpoint`.
    #[error(
        "the identity provider does not offer Client-Initiated Backchannel Authentication (no \
         backchannel_authentication_endpoint in its discovery document): enable CIBA for the \
         tenant and the application (Auth0 Dashboard → Applications → Advanced → Grant Types)"
    )]
    BackchannelUnsupported,
    /// CIBA: the user refused the request on their device (`access_denied`).
    #[error("the user denied the backchannel login request{}; do not retry at once: ask the user what went wrong", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    BackchannelDenied {
        /// The provider's `error_description`.
        description: Option<String>,
    },
    /// CIBA: the request expired before the user answered (`expired_token`, or its
    /// `expires_in` passed while polling).
    #[error("the backchannel login request expired before the user answered{}; start a new one (a longer requested_expiry gives the user more time)", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    BackchannelExpired {
        /// The provider's `error_description`, when it said so.
        description: Option<String>,
    },
    /// CIBA: the backchannel authentication request was refused, or polling failed with an
    /// error that is not CIBA's (e.g. `unknown_user_id`, `invalid_binding_message`,
    /// `unauthorized_client`).
    #[error("the backchannel login failed: {error}{}; check the login hint, binding message and that the application may use CIBA", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Backchannel {
        /// The OAuth error code.
        error: String,
        /// The provider's `error_description`.
        description: Option<String>,
        /// The HTTP status.
        status: u16,
    },
    /// The domain resolver knows no Auth0 domain for the host the request was sent to
    /// (multiple custom domains): nothing was sent to any provider.
    #[error(
        "no Auth0 domain is configured for the host {host:?}: add it to the domain resolver's \
         list, or send the request to a host the app serves"
    )]
    UnknownDomain {
        /// The request's host as it came (empty when it had none); attacker-controlled.
        host: String,
    },
    /// A login's callback arrived under another domain (or, for two sites of one domain,
    /// another site: then `started` and `current` are the sites' origins) than the one the
    /// login started under.
    #[error(
        "this login started under the domain {started} but its callback came under {current}: \
         start the login again from the same site"
    )]
    DomainMismatch {
        /// The domain the login started under.
        started: String,
        /// The domain the callback request resolved to.
        current: String,
    },
    /// Token Vault: the provider refused an access token for the connection.
    #[error("no access token for the connection {connection:?}: {error}{}; {}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default(), connection_token_hint(error))]
    ConnectionToken {
        /// The connection asked for.
        connection: String,
        /// The OAuth error code, e.g. `invalid_grant`.
        error: String,
        /// The provider's `error_description`.
        description: Option<String>,
        /// The HTTP status.
        status: u16,
    },
    /// The provider refused a custom token exchange (RFC 8693).
    #[error("the custom token exchange failed: {error}{}; {}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default(), custom_token_exchange_hint(error))]
    CustomTokenExchange {
        /// The OAuth error code, e.g. `invalid_request`.
        error: String,
        /// The provider's `error_description`.
        description: Option<String>,
        /// The HTTP status.
        status: u16,
    },
    /// None of the user's sessions has the handle given (it ended meanwhile, or it is not
    /// theirs).
    #[error(
        "none of your sessions has that handle: it may have ended already; list the sessions again"
    )]
    SessionNotFound,
    /// Account linking: there is no logged-in user (no session for this domain, or one
    /// without an ID token) to link an account to or unlink one from.
    #[error(
        "there is no logged-in user to link or unlink an account for: log the user in first, \
         then start the account link"
    )]
    LinkUserWithoutSession,
    /// Account linking: the session ended (logout, expiry) between the link's start and its
    /// completion; it is not brought back.
    #[error(
        "the session ended before the account link completed: log the user in again, then \
         start the link again"
    )]
    LinkSessionEnded,
    /// The callback's transaction belongs to another flow: an account link's (or unlink's)
    /// callback given to `complete_interactive_login`, or a login's to
    /// `complete_link_user`. The transaction is left in place.
    #[error(
        "this callback does not complete the flow it was given to: call {complete_with} with \
         it (or give account links a redirect_uri of their own)"
    )]
    CallbackOfAnotherFlow {
        /// The `ServerClient` method that completes it.
        complete_with: &'static str,
    },
    /// Passwordless: `POST /passwordless/start` was refused (e.g. `bad.connection`,
    /// `bad.email`, `bad.phone_number`, `too_many_requests`). Never carries the e-mail
    /// address, phone number or code.
    /// `Display` leaves out the provider's `error_description` (it may repeat the address
    /// and tell whether a user exists); it stays in `description` for logs you control.
    #[error("the identity provider did not send the passwordless code or link: {error}; check the connection, the address and the application's passwordless settings{}", retry_after.map(|s| format!(" (retry after {s} s)")).unwrap_or_default())]
    PasswordlessStart {
        /// The provider's `error`.
        error: String,
        /// The provider's `error_description`.
        description: Option<String>,
        /// The HTTP status.
        status: u16,
        /// Seconds from the provider's `Retry-After`, when it sent whole seconds.
        retry_after: Option<u64>,
    },
    /// Passwordless: the code was refused at the token endpoint (`invalid_grant`: wrong,
    /// expired or already used, or too many attempts; `unauthorized_client`: the
    /// application may not use the passwordless OTP grant). Never carries the code.
    /// `Display` leaves out the provider's `error_description`, as for
    /// [`PasswordlessStart`](Self::PasswordlessStart).
    #[error(
        "the passwordless code was not accepted: {error}; ask the user for the code again, or start again for a new one"
    )]
    PasswordlessVerify {
        /// The provider's `error`.
        error: String,
        /// The provider's `error_description`.
        description: Option<String>,
        /// The HTTP status.
        status: u16,
        /// Seconds from the provider's `Retry-After`, when it sent whole seconds.
        retry_after: Option<u64>,
    },
    /// The session store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What to do when Token Vault gave no token, by the provider's `error`.
fn connection_token_hint(error: &str) -> &'static str {
    match error {
        "federated_connection_refresh_token_not_found" => {
            "the user has no account at this connection in the vault: log them in with it \
             (connection=…), or check the connection's name and the login_hint"
        }
        "invalid_grant" => {
            "the session's refresh token is no longer valid (revoked, expired, or spent under \
             refresh-token rotation, which Token Vault does not support): log the user in again"
        }
        "unauthorized_client" => {
            "the application may not use Token Vault: give it the Token Vault grant in the \
             Auth0 Dashboard"
        }
        super::exchange_answer::INVALID_RESPONSE => {
            "the token endpoint answered 200 with no usable token: check that the domain is \
             your Auth0 tenant's"
        }
        _ => {
            "check that the connection has Token Vault on and that the user logged in with it \
             (else log them in again with it)"
        }
    }
}

/// What to do when a custom token exchange failed, by the provider's `error`.
fn custom_token_exchange_hint(error: &str) -> &'static str {
    match error {
        super::exchange_answer::INVALID_RESPONSE => {
            "the token endpoint answered 200 with no usable token: check that the domain is \
             your Auth0 tenant's"
        }
        "unauthorized_client" => {
            "the application may not use token exchange: enable the Token Exchange grant for \
             it in the Auth0 Dashboard"
        }
        _ => {
            "check the subject token and that its subject_token_type is the one of the \
             tenant's Custom Token Exchange Profile"
        }
    }
}

/// What to check when the provider refused the client's credentials made with `method`.
fn client_authentication_hint(method: &str) -> &'static str {
    if method == "private_key_jwt" {
        "check that AUTH0_CLIENT_ID is the application's and that the public key registered for \
         it (Auth0 Dashboard → Applications → your application → Credentials) is the one of \
         AUTH0_CLIENT_ASSERTION_SIGNING_KEY, with AUTH0_CLIENT_ASSERTION_SIGNING_ALG among its \
         allowed algorithms"
    } else {
        "check AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET (Auth0 Dashboard → Applications → your \
         application → Settings), and that the application's authentication method is the \
         one configured (token_endpoint_auth)"
    }
}

impl Error {
    /// A stable, machine-readable code.
    ///
    /// ```
    /// use auth0_server_core::client::Error;
    /// assert_eq!(Error::MissingTransaction.code(), "missing_transaction_error");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingRequiredArgument { .. } => "missing_required_argument_error",
            Self::Configuration(_) => "configuration_error",
            Self::InvalidArgument(_) => "invalid_argument",
            Self::Network { .. } => "network_error",
            Self::Timeout { .. } => "timeout_error",
            Self::Discovery { .. } => "discovery_error",
            Self::ResponseTooLarge { .. } => "response_too_large",
            Self::MissingTransaction => "missing_transaction_error",
            Self::InvalidCallback(_) => "invalid_callback",
            Self::Authorization { .. } => "authorization_error",
            Self::IssuerMismatch { .. } => "issuer_validation_error",
            Self::TokenEndpoint { .. } => "token_endpoint_error",
            Self::InvalidIdToken(_) => "id_token_validation_error",
            Self::InvalidLogoutToken(_) => "backchannel_logout_error",
            Self::MissingSession => "missing_session",
            Self::MissingRefreshToken => "missing_refresh_token",
            Self::MfaRequired { .. } => "mfa_required",
            Self::MfaTokenInvalid => "mfa_token_invalid",
            Self::MfaTokenExpired => "mfa_token_expired",
            Self::MfaTokenMismatch => "mfa_token_mismatch",
            Self::MfaExpired { .. } => "mfa_expired",
            Self::MfaCodeRejected { .. } => "mfa_invalid_code",
            Self::MfaTooManyAttempts { .. } => "too_many_attempts",
            Self::Mfa { operation, .. } => operation.code(),
            Self::RefreshFailed { .. } => "failed_to_refresh_token",
            Self::RefreshSubjectMismatch => "refresh_subject_mismatch",
            Self::OrganizationMismatch(_) => "organization_token_validation_error",
            Self::InvalidClientAssertionKey(_) => "invalid_client_assertion_key",
            Self::ClientAuthentication { .. } => "invalid_client",
            Self::BackchannelUnsupported => "backchannel_unsupported",
            Self::BackchannelDenied { .. } => "access_denied",
            Self::BackchannelExpired { .. } => "expired_token",
            Self::Backchannel { .. } => "backchannel_error",
            Self::UnknownDomain { .. } => "unknown_domain",
            Self::DomainMismatch { .. } => "domain_mismatch",
            Self::ConnectionToken { .. } => "access_token_for_connection_error",
            Self::CustomTokenExchange { .. } => "token_exchange_failed",
            Self::SessionNotFound => "session_not_found",
            Self::LinkUserWithoutSession => "start_link_user_error",
            Self::CallbackOfAnotherFlow { .. } => "callback_of_another_flow",
            Self::LinkSessionEnded => "complete_link_user_error",
            Self::PasswordlessStart { .. } => "passwordless_start_error",
            Self::PasswordlessVerify { .. } => "passwordless_verify_error",
            Self::Store(e) => e.code(),
        }
    }

    pub(crate) fn network(url: &str, source: impl Into<BoxError>) -> Self {
        Self::Network {
            url: url.to_owned(),
            source: source.into(),
        }
    }

    /// The HTTP client's `error` for a request to `url`: [`Error::Timeout`] when the request's
    /// `timeout` (when known) ran out, else [`Error::Network`] (a connection that failed or
    /// timed out connecting: `connect_timeout`).
    pub(crate) fn transport(
        url: &str,
        error: reqwest::Error,
        timeout: Option<std::time::Duration>,
    ) -> Self {
        match timeout {
            Some(after) if error.is_timeout() && !error.is_connect() => Self::Timeout {
                url: url.to_owned(),
                after,
            },
            _ => Self::network(url, error),
        }
    }
}

/// `after` in seconds, for a message: `2 s`, `0.5 s`.
fn seconds(after: std::time::Duration) -> String {
    format!("{} s", after.as_secs_f64())
}
