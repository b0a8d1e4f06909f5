//! HTTP to the provider: reqwest with rustls (ring), no redirects, timeouts, telemetry, and
//! bounded retries on 429 and 5xx.

use std::time::Duration;

use base64::Engine as _;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::Error;
use super::config::{Config, RetryPolicy};

/// The `Auth0-Client` telemetry header: base64 of `{"name":…,"version":…}`.
pub const TELEMETRY_HEADER: &str = "Auth0-Client";
/// The name this SDK reports in telemetry.
pub const TELEMETRY_NAME: &str = "auth0-server-rust";

/// Which failures a request may be retried after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Retry {
    /// 429, any 5xx, and connection failures: the request had no effect or may be repeated
    /// (discovery and JWKS fetches).
    Idempotent,
    /// 429 and 503, and connection failures only: the provider did not process it (an
    /// authorization code, or a refresh token under rotation, must not be sent twice if it
    /// may have been used).
    Unprocessed,
}

#[derive(Clone, Debug)]
pub(crate) struct Http {
    client: reqwest::Client,
    retry: RetryPolicy,
}

/// An OAuth error body (RFC 6749 §5.2).
#[derive(Debug, Deserialize)]
pub(crate) struct OAuthErrorBody {
    pub(crate) error: String,
    #[serde(default)]
    pub(crate) error_description: Option<String>,
}

/// What a token endpoint answered: the body on success, or the OAuth error.
pub(crate) enum TokenAnswer<T> {
    Ok(T),
    Err { status: u16, body: OAuthErrorBody },
}

impl Http {
    pub(crate) fn new(config: &Config) -> Result<Self, Error> {
        crate::tls::ensure_crypto_provider();
        let telemetry = base64::engine::general_purpose::STANDARD.encode(format!(
            r#"{{"name":"{TELEMETRY_NAME}","version":"{}"}}"#,
            env!("CARGO_PKG_VERSION")
        ));
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("auth0-client"),
            HeaderValue::from_str(&telemetry)
                .map_err(|e| Error::Configuration(format!("telemetry header: {e}")))?,
        );
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .default_headers(headers)
            .user_agent(concat!("auth0-server-rust/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                Error::Configuration(format!("the HTTP client could not be built: {e}"))
            })?;
        Ok(Self {
            client,
            retry: config.retry,
        })
    }

    /// Sends the request made by `build`, retrying as `retry` allows, with exponential
    /// backoff honouring `Retry-After` (capped).
    pub(crate) async fn send(
        &self,
        url: &str,
        retry: Retry,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Response, Error> {
        let mut attempt = 0u32;
        loop {
            let outcome = build(&self.client).send().await;
            let retryable = match &outcome {
                Ok(response) => {
                    let status = response.status();
                    status == StatusCode::TOO_MANY_REQUESTS
                        || status == StatusCode::SERVICE_UNAVAILABLE
                        || (retry == Retry::Idempotent && status.is_server_error())
                }
                Err(e) => e.is_connect(),
            };
            if !retryable || attempt >= self.retry.max_retries {
                return outcome.map_err(|e| Error::network(url, e));
            }
            let wait = outcome
                .as_ref()
                .ok()
                .and_then(|r| retry_after(r.headers()))
                .unwrap_or_else(|| self.retry.base_delay.saturating_mul(1 << attempt.min(16)))
                .min(self.retry.max_delay);
            tracing::debug!(url, attempt, ?wait, "retrying");
            attempt += 1;
            tokio::time::sleep(wait).await;
        }
    }

    /// GETs a JSON document.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        url: &str,
        what: &'static str,
    ) -> Result<T, Error> {
        let response = self.send(url, Retry::Idempotent, |c| c.get(url)).await?;
        if !response.status().is_success() {
            return Err(Error::Discovery {
                document: what,
                reason: format!("{url} answered HTTP {}", response.status()),
            });
        }
        response.json().await.map_err(|e| Error::Discovery {
            document: what,
            reason: format!("{url} did not answer the expected JSON: {e}"),
        })
    }

    /// Reads a token endpoint's answer.
    pub(crate) async fn token_answer<T: DeserializeOwned>(
        response: Response,
        url: &str,
    ) -> Result<TokenAnswer<T>, Error> {
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| Error::network(url, e))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map(TokenAnswer::Ok)
                .map_err(|e| Error::TokenEndpoint {
                    error: "invalid_response".to_owned(),
                    description: Some(format!("the token response is not the expected JSON: {e}")),
                    status: status.as_u16(),
                });
        }
        let body = serde_json::from_slice::<OAuthErrorBody>(&bytes).unwrap_or(OAuthErrorBody {
            error: format!("http_{}", status.as_u16()),
            error_description: None,
        });
        Ok(TokenAnswer::Err {
            status: status.as_u16(),
            body,
        })
    }
}

/// `Retry-After` in seconds (the HTTP-date form is not honoured; the backoff applies).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}
