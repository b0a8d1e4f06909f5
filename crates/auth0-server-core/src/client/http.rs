//! HTTP to the provider: reqwest with rustls (ring), no redirects, timeouts, telemetry, and
//! bounded retries on 429 and 5xx, with exponential backoff and full jitter.

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

/// The most of any answer of the provider that is read (discovery document, key set, token
/// endpoint, MFA API, passwordless): far more than any of them (ID tokens with many claims
/// and key sets with several keys are a few KiB), little enough that a hostile or broken
/// server cannot make the app buffer without bound. A larger answer is
/// [`Error::ResponseTooLarge`].
///
/// ```
/// assert_eq!(auth0_server_core::client::MAX_PROVIDER_RESPONSE_BYTES, 1024 * 1024);
/// ```
pub const MAX_PROVIDER_RESPONSE_BYTES: usize = 1 << 20;

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
    /// 429 and connection failures only: no 5xx at all, not even a 503 (a proxy may answer
    /// it after the provider used the request), for what must never be sent twice (a
    /// single-use subject token).
    Unsent,
}

#[derive(Clone, Debug)]
pub(crate) struct Http {
    client: reqwest::Client,
    retry: RetryPolicy,
    timeout: Duration,
}

/// The `request_timeout` a response was sent under, in its extensions, so that reading its
/// body can say which timeout ran out.
#[derive(Clone, Copy)]
struct RequestTimeout(Duration);

/// An OAuth error body (RFC 6749 §5.2).
#[derive(Debug, Deserialize)]
pub(crate) struct OAuthErrorBody {
    pub(crate) error: String,
    #[serde(default, deserialize_with = "lenient_string")]
    pub(crate) error_description: Option<String>,
    /// Auth0's `mfa_required` answer: the token to continue with the MFA API. Anything but a
    /// string is read as no token, so the answer still says `mfa_required`.
    #[serde(default, deserialize_with = "lenient_mfa_token")]
    pub(crate) mfa_token: Option<super::mfa::RawMfaToken>,
    /// Auth0's `mfa_required` answer: what the user must enroll or be challenged with.
    #[serde(default)]
    pub(crate) mfa_requirements: Option<serde_json::Value>,
}

/// An optional string member read leniently: a number, object, array or `null` is `None`
/// rather than a body that cannot be read (which would lose the `error` code).
fn lenient_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Some(s),
        _ => None,
    })
}

/// [`lenient_string`] for the `mfa_token`.
fn lenient_mfa_token<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<super::mfa::RawMfaToken>, D::Error> {
    lenient_string(d).map(|s| s.map(super::mfa::RawMfaToken))
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
            timeout: config.request_timeout,
        })
    }

    /// Sends the request made by `build`, retrying as `retry` allows, after the waits
    /// [`Backoff`] chooses.
    pub(crate) async fn send(
        &self,
        url: &str,
        retry: Retry,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Response, Error> {
        self.try_send(url, retry, |c| Ok(build(c))).await
    }

    /// [`Http::send`] with a `build` that may fail (making a client assertion for the
    /// attempt); its error ends the sending.
    pub(crate) async fn try_send(
        &self,
        url: &str,
        retry: Retry,
        build: impl Fn(&reqwest::Client) -> Result<RequestBuilder, Error>,
    ) -> Result<Response, Error> {
        self.send_with(url, retry, build, &mut Backoff::new(self.retry))
            .await
    }

    async fn send_with(
        &self,
        url: &str,
        retry: Retry,
        build: impl Fn(&reqwest::Client) -> Result<RequestBuilder, Error>,
        backoff: &mut Backoff,
    ) -> Result<Response, Error> {
        let mut attempt = 0u32;
        loop {
            let outcome = build(&self.client)?.send().await;
            let retryable = match &outcome {
                Ok(response) => {
                    let status = response.status();
                    status == StatusCode::TOO_MANY_REQUESTS
                        || (status == StatusCode::SERVICE_UNAVAILABLE && retry != Retry::Unsent)
                        || (retry == Retry::Idempotent && status.is_server_error())
                }
                Err(e) => e.is_connect(),
            };
            if !retryable || attempt >= self.retry.max_retries {
                let timeout = RequestTimeout(self.timeout);
                return outcome
                    .map(|mut response| {
                        response.extensions_mut().insert(timeout);
                        response
                    })
                    .map_err(|e| Error::transport(url, e, Some(self.timeout)));
            }
            let retry_after = outcome.as_ref().ok().and_then(|r| retry_after(r.headers()));
            let wait = backoff.wait(attempt, retry_after);
            tracing::debug!(url, attempt, ?wait, "retrying");
            attempt += 1;
            tokio::time::sleep(wait).await;
        }
    }

    /// GETs a JSON document (at most [`MAX_PROVIDER_RESPONSE_BYTES`]).
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
        let bytes = read_capped(response, url, what).await?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Discovery {
            document: what,
            reason: format!("{url} did not answer the expected JSON: {e}"),
        })
    }

    /// Reads a token endpoint's answer (at most [`MAX_PROVIDER_RESPONSE_BYTES`]).
    pub(crate) async fn token_answer<T: DeserializeOwned>(
        response: Response,
        url: &str,
    ) -> Result<TokenAnswer<T>, Error> {
        Self::oauth_answer(response, url, "token endpoint").await
    }

    /// [`Http::token_answer`] for another endpoint answering as OAuth does (`what` names it).
    pub(crate) async fn oauth_answer<T: DeserializeOwned>(
        response: Response,
        url: &str,
        what: &'static str,
    ) -> Result<TokenAnswer<T>, Error> {
        let status = response.status();
        let bytes = read_capped(response, url, what).await?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map(TokenAnswer::Ok)
                .map_err(|e| Error::TokenEndpoint {
                    error: "invalid_response".to_owned(),
                    description: Some(format!("the {what}'s answer is not the expected JSON: {e}")),
                    status: status.as_u16(),
                });
        }
        let body = serde_json::from_slice::<OAuthErrorBody>(&bytes).unwrap_or(OAuthErrorBody {
            error: format!("http_{}", status.as_u16()),
            error_description: None,
            mfa_token: None,
            mfa_requirements: None,
        });
        Ok(TokenAnswer::Err {
            status: status.as_u16(),
            body,
        })
    }
}

/// A response's body, refused with [`Error::ResponseTooLarge`] past
/// [`MAX_PROVIDER_RESPONSE_BYTES`]: at once when its `Content-Length` says so, else as soon as
/// the chunks read pass it (an endless chunked body is not read to its end). Every answer of
/// the provider is read here; `what` names it in the error. A body still coming when the
/// request's timeout runs out is [`Error::Timeout`].
pub(crate) async fn read_capped(
    mut response: Response,
    url: &str,
    what: &'static str,
) -> Result<Vec<u8>, Error> {
    let status = response.status().as_u16();
    let too_large = || {
        tracing::warn!(
            url,
            what,
            status,
            "the provider's answer is over the size cap"
        );
        Error::ResponseTooLarge {
            what,
            url: url.to_owned(),
            limit: MAX_PROVIDER_RESPONSE_BYTES,
            status,
        }
    };
    if response
        .content_length()
        .is_some_and(|n| n > MAX_PROVIDER_RESPONSE_BYTES as u64)
    {
        return Err(too_large());
    }
    let timeout = response.extensions().get::<RequestTimeout>().map(|t| t.0);
    let failed = |e| Error::transport(url, e, timeout);
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(failed)? {
        if body.len() + chunk.len() > MAX_PROVIDER_RESPONSE_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The waits between attempts: the provider's `Retry-After` when it sent one, else "full
/// jitter" — a random wait between zero and `base_delay × 2^attempt` — each at most
/// `max_delay`.
///
/// Jitter spreads out the retries of many instances that failed at the same moment (a
/// provider outage), which would otherwise come back in step and fail again together.
/// (backon's jitter adds a random part on top of the exponential wait, so its waits never
/// fall below it and pass the cap by up to twice; full jitter is one line on fastrand.)
pub(crate) struct Backoff {
    policy: RetryPolicy,
    rng: fastrand::Rng,
    /// Every wait chosen, for the tests.
    #[cfg(test)]
    chosen: Vec<Duration>,
}

impl Backoff {
    pub(crate) fn new(policy: RetryPolicy) -> Self {
        Self::with_rng(policy, fastrand::Rng::new())
    }

    fn with_rng(policy: RetryPolicy, rng: fastrand::Rng) -> Self {
        Self {
            policy,
            rng,
            #[cfg(test)]
            chosen: Vec::new(),
        }
    }

    /// The wait before retry number `attempt` (0 for the first), given the provider's
    /// `Retry-After`, if any.
    fn wait(&mut self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let max = self.policy.max_delay;
        let wait = match retry_after {
            Some(asked) => asked.min(max),
            None => {
                let ceiling = self
                    .policy
                    .base_delay
                    .saturating_mul(1 << attempt.min(16))
                    .min(max);
                ceiling.mul_f64(self.rng.f64())
            }
        };
        #[cfg(test)]
        self.chosen.push(wait);
        wait
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::http::header::RETRY_AFTER;
    use axum::response::IntoResponse;

    use super::*;

    const BASE: Duration = Duration::from_millis(1);
    const MAX: Duration = Duration::from_millis(6);

    fn policy(max_retries: u32) -> RetryPolicy {
        RetryPolicy {
            max_retries,
            base_delay: BASE,
            max_delay: MAX,
        }
    }

    /// A provider on loopback answering every request with `status` (and `Retry-After:
    /// retry_after` when given); returns its URL and how many requests it had.
    async fn provider(
        status: u16,
        retry_after: Option<&'static str>,
    ) -> (String, Arc<AtomicUsize>) {
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        let app = axum::Router::new().fallback(move || {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                let status = axum::http::StatusCode::from_u16(status).unwrap_or_default();
                match retry_after {
                    Some(value) => (status, [(RETRY_AFTER, value)]).into_response(),
                    None => status.into_response(),
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/token", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, hits)
    }

    /// Sends to `url` as `retry` allows under `policy`, with a seeded backoff; returns the
    /// final status and the waits chosen.
    async fn send(url: &str, retry: Retry, policy: RetryPolicy, seed: u64) -> (u16, Vec<Duration>) {
        crate::tls::ensure_crypto_provider();
        let http = Http {
            client: reqwest::Client::new(),
            retry: policy,
            timeout: Duration::from_secs(15),
        };
        let mut backoff = Backoff::with_rng(policy, fastrand::Rng::with_seed(seed));
        let response = http
            .send_with(url, retry, |c| Ok(c.get(url)), &mut backoff)
            .await
            .unwrap();
        (response.status().as_u16(), backoff.chosen)
    }

    /// The most retry `n` (from 0) may wait without `Retry-After`.
    fn ceiling(n: usize) -> Duration {
        BASE.saturating_mul(1 << n).min(MAX)
    }

    #[tokio::test]
    async fn retries_wait_random_times_under_a_ceiling_that_doubles_up_to_the_cap() {
        let (url, hits) = provider(503, None).await;
        let (status, waits) = send(&url, Retry::Idempotent, policy(6), 7).await;
        assert_eq!(status, 503, "the last answer once the retries are spent");
        assert_eq!(
            hits.load(Ordering::SeqCst),
            7,
            "the first attempt and six retries"
        );
        assert_eq!(waits.len(), 6);
        for (n, wait) in waits.iter().enumerate() {
            assert!(
                *wait <= ceiling(n),
                "retry {n} waited {wait:?}, over {:?}",
                ceiling(n)
            );
        }
        // Another client failing at the same moment waits other times: not in step.
        let (_, other) = send(&url, Retry::Idempotent, policy(6), 8).await;
        assert_ne!(waits, other, "two clients' waits are the same: no jitter");
    }

    #[test]
    fn full_jitter_spreads_waits_over_the_whole_range() {
        let policy = RetryPolicy {
            max_retries: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
        };
        let mut backoff = Backoff::with_rng(policy, fastrand::Rng::with_seed(42));
        for (attempt, ceiling) in [(0, 100), (3, 800), (9, 5_000)] {
            let waits: Vec<Duration> = (0..1_000).map(|_| backoff.wait(attempt, None)).collect();
            let ceiling = Duration::from_millis(ceiling);
            assert!(
                waits.iter().all(|w| *w <= ceiling),
                "attempt {attempt}: over {ceiling:?}"
            );
            let (low, high) = (ceiling / 10, ceiling * 9 / 10);
            assert!(
                waits.iter().any(|w| *w < low),
                "attempt {attempt}: none under {low:?}"
            );
            assert!(
                waits.iter().any(|w| *w > high),
                "attempt {attempt}: none over {high:?}"
            );
        }
    }

    #[tokio::test]
    async fn retry_after_is_honoured_and_capped() {
        // Asked to come back at once: no wait at all, whatever the backoff would say.
        let (url, hits) = provider(429, Some("0")).await;
        let (status, waits) = send(&url, Retry::Unprocessed, policy(3), 1).await;
        assert_eq!((status, hits.load(Ordering::SeqCst)), (429, 4));
        assert_eq!(waits, vec![Duration::ZERO; 3]);
        // Asked for two minutes: the cap.
        let (url, _) = provider(503, Some("120")).await;
        let (_, waits) = send(&url, Retry::Unprocessed, policy(2), 1).await;
        assert_eq!(waits, vec![MAX; 2]);
    }

    #[tokio::test]
    async fn a_token_request_answered_500_is_not_retried() {
        let (url, hits) = provider(500, None).await;
        let (status, waits) = send(&url, Retry::Unprocessed, policy(3), 1).await;
        assert_eq!((status, hits.load(Ordering::SeqCst)), (500, 1));
        assert!(waits.is_empty());
    }

    /// A provider that reads each request and never answers; returns its URL and how many
    /// requests it read.
    async fn silent_provider() -> (String, Arc<AtomicUsize>) {
        use tokio::io::AsyncReadExt as _;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/token", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((mut socket, _)) = listener.accept().await {
                let _ = socket.read(&mut [0u8; 4096]).await;
                counted.fetch_add(1, Ordering::SeqCst);
                held.push(socket);
            }
        });
        (url, hits)
    }

    /// Sends a POST to `url` as `retry` allows, each attempt given `timeout`; returns the
    /// error and the waits chosen (one per retry).
    async fn post_failing(url: &str, retry: Retry, timeout: Duration) -> (Error, Vec<Duration>) {
        crate::tls::ensure_crypto_provider();
        let http = Http {
            client: reqwest::Client::builder().timeout(timeout).build().unwrap(),
            retry: policy(2),
            timeout,
        };
        let mut backoff = Backoff::with_rng(policy(2), fastrand::Rng::with_seed(1));
        let build = |c: &reqwest::Client| Ok(c.post(url).body("code=good-once"));
        let error = http
            .send_with(url, retry, build, &mut backoff)
            .await
            .unwrap_err();
        (error, backoff.chosen)
    }

    #[tokio::test]
    async fn a_request_sent_but_not_answered_in_time_is_never_sent_again() {
        // A code, a passwordless OTP or a subject token may be good once: the provider may
        // have used it before its answer was lost, whatever the retry class.
        for retry in [Retry::Unprocessed, Retry::Unsent, Retry::Idempotent] {
            let (url, hits) = silent_provider().await;
            let (error, waits) = post_failing(&url, retry, Duration::from_millis(300)).await;
            assert!(
                matches!(error, Error::Timeout { .. }),
                "{retry:?}: {error:?}"
            );
            assert_eq!(hits.load(Ordering::SeqCst), 1, "{retry:?}: sent again");
            assert!(waits.is_empty(), "{retry:?}: {waits:?}");
        }
    }

    #[tokio::test]
    async fn a_provider_not_reached_is_tried_again_and_is_a_network_error() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/token", closed.local_addr().unwrap());
        drop(closed);
        let (error, waits) = post_failing(&url, Retry::Unsent, Duration::from_secs(5)).await;
        assert!(matches!(error, Error::Network { .. }), "{error:?}");
        assert_eq!(
            waits.len(),
            2,
            "the connection failed before sending: tried again"
        );
    }
}
