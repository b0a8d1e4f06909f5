//! The one error type of the dev tenant: what can go wrong while configuring and starting it.
//! (Requests that fail are answered with OAuth error JSON or an error page, never with this.)

use std::net::SocketAddr;

/// Why the dev tenant could not be configured or started. [`Error::code`] is stable;
/// `Display` says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The address to listen on is not a loopback address.
    #[error(
        "the dev tenant only listens on this machine, and {address} is not a loopback address: \
         bind to 127.0.0.1 or [::1] (it is a development tool, not a production provider)"
    )]
    NonLoopbackAddress {
        /// The address that was refused.
        address: SocketAddr,
    },
    /// The issuer given to [`DevTenant::new`](crate::DevTenant::new) is not a loopback URL.
    #[error(
        "the issuer {issuer:?} is not usable: {reason}; give an http:// URL on this machine, \
         e.g. http://127.0.0.1:4000/"
    )]
    InvalidIssuer {
        /// The issuer that was refused.
        issuer: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The listening socket could not be opened.
    #[error(
        "the dev tenant could not listen on {address}: {source}; pick another port, or 0 for any free one"
    )]
    Bind {
        /// The address asked for.
        address: SocketAddr,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A setting has a value that cannot work.
    #[error("the dev tenant's {setting} {value} is not usable: {reason}")]
    InvalidSetting {
        /// Which setting (`redirect URI`, `client id`, …).
        setting: &'static str,
        /// The value, quoted (`[redacted]` for the client secret).
        value: String,
        /// What is wrong and what to give instead.
        reason: String,
    },
    /// The RSA signing key could not be made.
    #[error("the dev tenant's signing key could not be made: {source}")]
    SigningKey {
        /// josekit's (OpenSSL's) error.
        #[source]
        source: josekit::JoseError,
    },
    /// The HTTP client that sends back-channel logout requests could not be built.
    #[error("the dev tenant's HTTP client for back-channel logout could not be built: {source}")]
    HttpClient {
        /// reqwest's error.
        #[source]
        source: reqwest::Error,
    },
    /// The task that makes the signing key did not finish (the runtime is shutting down).
    #[error("the dev tenant's start-up task failed: {source}")]
    StartTask {
        /// Tokio's error.
        #[source]
        source: tokio::task::JoinError,
    },
}

impl Error {
    /// A stable, machine-readable code.
    ///
    /// ```
    /// use auth0_dev_tenant::Error;
    /// let err = Error::NonLoopbackAddress { address: "0.0.0.0:4000".parse().unwrap() };
    /// assert_eq!(err.code(), "non_loopback_address");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            Self::NonLoopbackAddress { .. } => "non_loopback_address",
            Self::InvalidIssuer { .. } => "invalid_issuer",
            Self::Bind { .. } => "bind_failed",
            Self::InvalidSetting { .. } => "invalid_setting",
            Self::SigningKey { .. } => "signing_key_error",
            Self::HttpClient { .. } => "http_client_error",
            Self::StartTask { .. } => "start_task_failed",
        }
    }

    pub(crate) fn setting(setting: &'static str, value: &str, reason: impl Into<String>) -> Self {
        Self::InvalidSetting {
            setting,
            value: format!("{value:?}"),
            reason: reason.into(),
        }
    }
}
