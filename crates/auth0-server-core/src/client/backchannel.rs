//! Client-Initiated Backchannel Authentication (OpenID CIBA Core 1.0, poll mode): the app asks
//! the provider to authenticate a known user on their own device, then polls the token
//! endpoint until the user approves or denies, or the request expires.
//!
//! Names and parameters follow the Python SDK's `login_backchannel` and
//! `backchannel_authentication`: the user is named by `sub`, sent as Auth0's `login_hint`
//! JSON (`{"format":"iss_sub","iss":…,"sub":…}`).

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::http::{Http, Retry, TokenAnswer};
use super::login::{RESERVED_PARAMS, TokenResponse, merge_scopes, user_claims};
use super::meters::{self, LoginFlow};
use super::refresh::TokenEndpointResponse;
use super::{Error, ProviderMetadata, ServerClient};
use crate::model::{TransactionData, UserClaims};
use crate::store::StoreContext;

/// The CIBA grant type, sent to the token endpoint with the `auth_req_id`.
pub const CIBA_GRANT_TYPE: &str = "urn:openid:params:grant-type:ciba";
/// The wait between polls when the provider names no `interval` (CIBA Core §7.3).
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);
/// How much longer the wait between polls becomes after each `slow_down` (CIBA Core §11,
/// "at least 5 seconds").
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// The shortest wait between polls, whatever the provider says (an `interval` of 0 would
/// otherwise poll in a tight loop).
pub const MIN_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How long a request lives when the provider's answer has no `expires_in` (which CIBA
/// requires; the Python SDK assumes the same two minutes).
pub const DEFAULT_BACKCHANNEL_EXPIRES_IN: Duration = Duration::from_secs(120);
/// How errors name the answer of the backchannel authentication endpoint (`/bc-authorize`).
const BACKCHANNEL_ENDPOINT: &str = "backchannel authentication endpoint";

/// Parameters the SDK sets itself in a backchannel authentication request; callers' values
/// for them are ignored (besides those of interactive logins, [`RESERVED_PARAMS`]).
const CIBA_RESERVED_PARAMS: &[&str] = &[
    "scope",
    "login_hint",
    "login_hint_token",
    "id_token_hint",
    "binding_message",
    "requested_expiry",
    "auth_req_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
];

/// Who is to log in: the user's `sub` at the provider (Auth0's user id, e.g.
/// `auth0|65f…`), as the Python SDK's `login_hint={"sub": …}`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoginHint {
    /// The user's subject identifier.
    pub sub: String,
}

impl LoginHint {
    /// The hint for the user with this `sub`.
    pub fn sub(sub: impl Into<String>) -> Self {
        Self { sub: sub.into() }
    }
}

/// What [`ServerClient::login_backchannel`] and [`ServerClient::backchannel_authentication`]
/// are told.
///
/// ```
/// use auth0_server_core::client::{BackchannelOptions, LoginHint};
///
/// let options = BackchannelOptions {
///     binding_message: Some("Transfer-4711".into()),
///     audience: Some("https://api.example.com".into()),
///     requested_expiry: Some(300),
///     ..BackchannelOptions::new(LoginHint::sub("auth0|65f0c0ffee"))
/// };
/// assert_eq!(options.login_hint.sub, "auth0|65f0c0ffee");
/// ```
#[derive(Clone, Debug, Default)]
pub struct BackchannelOptions {
    /// The user to authenticate (required).
    pub login_hint: LoginHint,
    /// A short message shown on the user's device and in the app, so the user knows which
    /// request they approve (Auth0: up to 64 characters of letters, digits, spaces and
    /// `+-_.,:#`).
    pub binding_message: Option<String>,
    /// Scopes on top of the configured ones (`openid` is always sent).
    pub scope: Option<String>,
    /// The API the access token is for (else the configured audience).
    pub audience: Option<String>,
    /// Seconds the user has to answer (the provider's default when unset).
    pub requested_expiry: Option<u64>,
    /// Other parameters of the backchannel authentication request (on top of the
    /// configured authorization parameters; the SDK's own are ignored).
    pub authorization_params: super::AuthorizationParams,
}

impl BackchannelOptions {
    /// Options for logging in the user `login_hint` names, with nothing else set.
    pub fn new(login_hint: LoginHint) -> Self {
        Self {
            login_hint,
            ..Self::default()
        }
    }
}

/// The outcome of a CIBA login: the user (from the validated ID token) and the token
/// endpoint's answer.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BackchannelResult {
    /// The user who approved.
    pub user: UserClaims,
    /// The tokens (the ID token already validated).
    pub tokens: TokenEndpointResponse,
}

impl BackchannelResult {
    /// The rich authorization details (RFC 9396) granted, when there are some (the Python
    /// SDK's `login_backchannel` result).
    pub fn authorization_details(&self) -> Option<&Value> {
        self.tokens.authorization_details.as_ref()
    }
}

/// The backchannel authentication endpoint's answer (CIBA Core §7.3).
#[derive(Deserialize)]
struct Initiated {
    auth_req_id: String,
    #[serde(default)]
    expires_in: Option<f64>,
    #[serde(default)]
    interval: Option<f64>,
}

/// One poll's outcome, for [`poll_until`].
#[derive(Debug)]
pub(crate) enum Poll {
    /// The user approved: the token endpoint's answer.
    Done(Value),
    /// `authorization_pending`: ask again after the interval.
    Pending,
    /// `slow_down`: ask again after a longer interval (at least the provider's
    /// `Retry-After`, when it sent one).
    SlowDown(Option<Duration>),
    /// The poll did not reach the provider (e.g. a pooled connection the server had just
    /// closed, which a wait of a few seconds between polls meets often) or got no answer in
    /// time: ask again after the interval (a provider refuses an `auth_req_id` it already
    /// answered with tokens, so nothing is issued twice); this error is the outcome if it is
    /// still so at the deadline.
    Unreachable(Error),
}

/// The provider's seconds as a wait: absent, negative or not a number gives `default`.
fn seconds(value: Option<f64>, default: Duration) -> Duration {
    value
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(default, |s| Duration::from_secs_f64(s.min(u32::MAX.into())))
}

/// Polls with `poll` until it is done or fails, waiting `interval` before each poll (longer
/// after each `slow_down`), and gives up with [`Error::BackchannelExpired`] once a poll
/// after `expires_in` was still pending. The waits use tokio's clock, so a test with paused
/// time runs them at once.
pub(crate) async fn poll_until<F, Fut>(
    interval: Duration,
    expires_in: Duration,
    mut poll: F,
) -> Result<Value, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll, Error>>,
{
    // A deadline past what the clock can hold is no deadline (the provider's seconds are
    // capped, so this is a far future anyway).
    let deadline = Instant::now().checked_add(expires_in);
    let mut interval = interval.max(MIN_POLL_INTERVAL);
    loop {
        // Never wait past the deadline: the last poll comes at it, whatever the interval or
        // a `Retry-After` asked for.
        let left = deadline.map_or(interval, |d| d.saturating_duration_since(Instant::now()));
        tokio::time::sleep(interval.min(left)).await;
        let mut unreachable = None;
        match poll().await? {
            Poll::Done(tokens) => return Ok(tokens),
            Poll::Pending => {}
            Poll::SlowDown(retry_after) => {
                interval = interval
                    .saturating_add(SLOW_DOWN_STEP)
                    .max(retry_after.unwrap_or_default());
                tracing::debug!(?interval, "slow_down: polling less often");
            }
            Poll::Unreachable(error) => {
                tracing::warn!(%error, "a backchannel poll did not reach the provider or got no answer in time");
                unreachable = Some(error);
            }
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(unreachable.unwrap_or(Error::BackchannelExpired { description: None }));
        }
    }
}

impl ServerClient {
    /// Logs a user in by CIBA and starts a session for them in `cx`, as an interactive login
    /// does (the Python SDK's `login_backchannel`): see
    /// [`backchannel_authentication`](Self::backchannel_authentication) for the flow. The
    /// session replaces any in `cx`, under a new id.
    ///
    /// ```no_run
    /// use auth0_server_core::client::{BackchannelOptions, LoginHint, ServerClient};
    /// use auth0_server_core::store::StoreContext;
    ///
    /// # async fn demo(client: ServerClient) -> Result<(), auth0_server_core::client::Error> {
    /// let cx = StoreContext::new();
    /// let options = BackchannelOptions {
    ///     binding_message: Some("Login-123".into()),
    ///     ..BackchannelOptions::new(LoginHint::sub("auth0|65f0c0ffee"))
    /// };
    /// // Give up after a minute, whatever the provider allows: dropping the future stops it.
    /// let done = tokio::time::timeout(
    ///     std::time::Duration::from_secs(60),
    ///     client.login_backchannel(options, &cx),
    /// )
    /// .await;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// Those of [`backchannel_authentication`](Self::backchannel_authentication), and store
    /// failures.
    #[tracing::instrument(name = "oidc.login_backchannel", skip_all)]
    pub async fn login_backchannel(
        &self,
        options: BackchannelOptions,
        cx: &StoreContext,
    ) -> Result<BackchannelResult, Error> {
        // Under multiple custom domains, the request's domain: its provider is asked, and the
        // session is recorded under it.
        let logged_in = self
            .under_request_domain(cx, self.login_backchannel_under_domain(options, cx))
            .await;
        meters::one_call_login(LoginFlow::Ciba, &logged_in);
        logged_in
    }

    /// [`login_backchannel`](Self::login_backchannel) under the domain already chosen.
    async fn login_backchannel_under_domain(
        &self,
        options: BackchannelOptions,
        cx: &StoreContext,
    ) -> Result<BackchannelResult, Error> {
        let audience = options
            .audience
            .clone()
            .or_else(|| self.inner.config.audience.clone());
        let (result, claims) = self.ciba(options).await?;
        let id_token = result.tokens.id_token.clone().unwrap_or_default();
        let body = serde_json::to_value(TokenFields::of(&result.tokens))
            .map_err(|e| Error::InvalidArgument(format!("token set: {e}")))?;
        let tokens: TokenResponse = serde_json::from_value(body)
            .map_err(|e| Error::InvalidArgument(format!("token set: {e}")))?;
        let transaction = TransactionData {
            audience,
            ..TransactionData::default()
        };
        let state = self.login_session(tokens, id_token, &claims, &result.user, &transaction);
        let config = &self.inner.config;
        self.inner
            .state_store
            .set(&config.state_identifier, &state, true, cx)
            .await?;
        tracing::info!("backchannel login completed");
        Ok(result)
    }

    /// Authenticates a user by CIBA without a session (the Python SDK's
    /// `backchannel_authentication`): asks the provider's backchannel authentication endpoint
    /// to authenticate `options.login_hint`'s user on their device, then polls the token
    /// endpoint (`grant_type=urn:openid:params:grant-type:ciba`) every `interval` seconds
    /// the provider names ([`DEFAULT_POLL_INTERVAL`] if none), [`SLOW_DOWN_STEP`] longer after
    /// each `slow_down`, until the user answers or the request's `expires_in` passes. The ID
    /// token is validated as an interactive login's is, and must be for the user asked for.
    ///
    /// **Cancelling**: drop the future (`tokio::time::timeout`, a `tokio::select!` branch, or
    /// an aborted task). Nothing runs in the background: polling stops with it, and the
    /// provider lets the request expire.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for an empty `sub`; [`Error::BackchannelUnsupported`] when
    /// the provider has no backchannel authentication endpoint;
    /// [`Error::Backchannel`] when the request is refused (`unknown_user_id`,
    /// `invalid_binding_message`, `unauthorized_client`, …) or polling fails otherwise;
    /// [`Error::BackchannelDenied`] when the user denied; [`Error::BackchannelExpired`];
    /// [`Error::InvalidIdToken`]; network and discovery failures.
    #[tracing::instrument(name = "oidc.backchannel_authentication", skip_all)]
    pub async fn backchannel_authentication(
        &self,
        options: BackchannelOptions,
    ) -> Result<BackchannelResult, Error> {
        Ok(self.ciba(options).await?.0)
    }

    /// The flow of [`backchannel_authentication`](Self::backchannel_authentication), with
    /// the ID token's claims.
    async fn ciba(
        &self,
        options: BackchannelOptions,
    ) -> Result<(BackchannelResult, serde_json::Map<String, Value>), Error> {
        let sub = options.login_hint.sub.trim().to_owned();
        if sub.is_empty() {
            return Err(Error::InvalidArgument(
                "login_hint.sub is empty: give the user's id at the provider, e.g. auth0|65f…"
                    .to_owned(),
            ));
        }
        let metadata = self.provider().metadata().await?;
        let endpoint = metadata
            .backchannel_authentication_endpoint
            .clone()
            .ok_or(Error::BackchannelUnsupported)?;
        let params = self.backchannel_params(&options, &metadata, &sub);
        let initiated = self.initiate_backchannel(&endpoint, &params).await?;
        let interval = seconds(initiated.interval, DEFAULT_POLL_INTERVAL);
        let expires_in = seconds(initiated.expires_in, DEFAULT_BACKCHANNEL_EXPIRES_IN);
        let body = poll_until(interval, expires_in, || {
            self.poll_backchannel(&metadata.token_endpoint, &initiated.auth_req_id)
        })
        .await?;
        let tokens = TokenEndpointResponse::from_json(body, self.now())?;
        let id_token = tokens.id_token.as_deref().ok_or_else(|| {
            Error::InvalidIdToken("the token response has no ID token".to_owned())
        })?;
        let claims = self
            .validate_id_token(id_token, &metadata.issuer, None)
            .await?;
        let user = user_claims(&claims)?;
        if user.sub != sub {
            return Err(Error::InvalidIdToken(
                "it is for another user (sub) than the login hint named".to_owned(),
            ));
        }
        Ok((BackchannelResult { user, tokens }, claims))
    }

    /// The backchannel authentication request's parameters (client authentication apart).
    fn backchannel_params(
        &self,
        options: &BackchannelOptions,
        metadata: &ProviderMetadata,
        sub: &str,
    ) -> Vec<(String, String)> {
        let config = &self.inner.config;
        let mut params: BTreeMap<String, String> = config
            .authorization_params
            .iter()
            .chain(&options.authorization_params)
            .filter(|(name, _)| {
                !RESERVED_PARAMS.contains(&name.as_str())
                    && !CIBA_RESERVED_PARAMS.contains(&name.as_str())
            })
            .map(|(k, v)| (k.clone(), v.to_wire()))
            .collect();
        params.insert(
            "scope".to_owned(),
            merge_scopes(&[Some(config.scope.as_str()), options.scope.as_deref()]),
        );
        let hint = json!({"format": "iss_sub", "iss": metadata.issuer, "sub": sub});
        params.insert("login_hint".to_owned(), hint.to_string());
        if let Some(message) = &options.binding_message {
            params.insert("binding_message".to_owned(), message.clone());
        }
        if let Some(expiry) = options.requested_expiry {
            params.insert("requested_expiry".to_owned(), expiry.to_string());
        }
        if let Some(audience) = options.audience.as_ref().or(config.audience.as_ref()) {
            params.insert("audience".to_owned(), audience.clone());
        }
        params.into_iter().collect()
    }

    /// POSTs the backchannel authentication request, with the client's authentication; its
    /// answer is named [`BACKCHANNEL_ENDPOINT`] in errors (not the token endpoint's).
    async fn initiate_backchannel(
        &self,
        endpoint: &str,
        params: &[(String, String)],
    ) -> Result<Initiated, Error> {
        let response = self
            .send_as_client(endpoint, params, Retry::Unprocessed)
            .await?;
        match Http::oauth_answer::<Initiated>(response, endpoint, BACKCHANNEL_ENDPOINT)
            .await
            .and_then(|answer| self.client_answer(answer))
        {
            Ok(TokenAnswer::Ok(initiated)) if !initiated.auth_req_id.is_empty() => Ok(initiated),
            Ok(TokenAnswer::Ok(_)) => Err(Error::Backchannel {
                error: "invalid_response".to_owned(),
                description: Some("the answer has an empty auth_req_id".to_owned()),
                status: 200,
            }),
            Ok(TokenAnswer::Err { status, body }) => Err(Error::Backchannel {
                error: body.error,
                description: body.error_description,
                status,
            }),
            Err(Error::TokenEndpoint {
                error,
                description,
                status,
            }) => Err(Error::Backchannel {
                error,
                description,
                status,
            }),
            Err(e) => Err(e),
        }
    }

    /// One poll of the token endpoint with the CIBA grant.
    async fn poll_backchannel(&self, endpoint: &str, auth_req_id: &str) -> Result<Poll, Error> {
        let form = [
            ("grant_type".to_owned(), CIBA_GRANT_TYPE.to_owned()),
            ("auth_req_id".to_owned(), auth_req_id.to_owned()),
        ];
        let sent = self
            .send_as_client(endpoint, &form, Retry::Unprocessed)
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error @ (Error::Network { .. } | Error::Timeout { .. })) => {
                return Ok(Poll::Unreachable(error));
            }
            Err(error) => return Err(error),
        };
        let retry_after = retry_after_seconds(response.headers());
        match self.client_answer(Http::token_answer::<Value>(response, endpoint).await?)? {
            TokenAnswer::Ok(body) => Ok(Poll::Done(body)),
            TokenAnswer::Err { status, body } => match body.error.as_str() {
                "authorization_pending" => Ok(Poll::Pending),
                "slow_down" => Ok(Poll::SlowDown(retry_after)),
                "access_denied" => Err(Error::BackchannelDenied {
                    description: body.error_description,
                }),
                "expired_token" => Err(Error::BackchannelExpired {
                    description: body.error_description,
                }),
                _ => Err(Error::Backchannel {
                    error: body.error,
                    description: body.error_description,
                    status,
                }),
            },
        }
    }
}

/// `Retry-After` in whole seconds, if sent.
fn retry_after_seconds(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The token response's fields the session keeps, for the internal token response type.
#[derive(serde::Serialize)]
struct TokenFields<'a> {
    access_token: &'a str,
    id_token: Option<&'a str>,
    refresh_token: Option<&'a str>,
    expires_in: Option<u64>,
    scope: Option<&'a str>,
}

impl<'a> TokenFields<'a> {
    fn of(tokens: &'a TokenEndpointResponse) -> Self {
        Self {
            access_token: &tokens.access_token,
            id_token: tokens.id_token.as_deref(),
            refresh_token: tokens.refresh_token.as_deref(),
            expires_in: tokens.expires_in,
            scope: tokens.scope.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use super::*;

    /// Polls that answer `script` in turn, recording how long after the start each came.
    async fn run(
        interval: Duration,
        expires_in: Duration,
        script: Vec<Result<Poll, Error>>,
    ) -> (Result<Value, Error>, Vec<Duration>) {
        let start = Instant::now();
        let script = Mutex::new(VecDeque::from(script));
        let times = Mutex::new(Vec::new());
        let result = poll_until(interval, expires_in, || {
            times.lock().unwrap().push(start.elapsed());
            let next = script.lock().unwrap().pop_front();
            async move { next.unwrap_or(Ok(Poll::Pending)) }
        })
        .await;
        (result, times.into_inner().unwrap())
    }

    fn secs(list: &[u64]) -> Vec<Duration> {
        list.iter().map(|s| Duration::from_secs(*s)).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn pending_polls_wait_the_interval_and_approval_ends_them() {
        let script = vec![
            Ok(Poll::Pending),
            Ok(Poll::Pending),
            Ok(Poll::Done(json!({"access_token": "a"}))),
        ];
        let (result, times) = run(DEFAULT_POLL_INTERVAL, Duration::from_secs(120), script).await;
        assert_eq!(result.unwrap()["access_token"], "a");
        assert_eq!(times, secs(&[5, 10, 15]));
    }

    #[tokio::test(start_paused = true)]
    async fn no_wait_goes_past_the_deadline_whatever_the_provider_asks() {
        // An interval longer than the request's life: one poll, at the deadline.
        let (result, times) =
            run(Duration::from_secs(3600), Duration::from_secs(120), vec![]).await;
        assert!(
            matches!(result, Err(Error::BackchannelExpired { .. })),
            "{result:?}"
        );
        assert_eq!(times, secs(&[120]));
        // A Retry-After of a day after slow_down: the next poll is still at the deadline.
        let day = Duration::from_secs(86_400);
        let script = vec![Ok(Poll::SlowDown(Some(day)))];
        let (result, times) = run(Duration::from_secs(5), Duration::from_secs(120), script).await;
        assert!(
            matches!(result, Err(Error::BackchannelExpired { .. })),
            "{result:?}"
        );
        assert_eq!(times, secs(&[5, 120]));
    }

    #[tokio::test(start_paused = true)]
    async fn slow_downs_at_the_largest_interval_do_not_overflow() {
        let script = vec![
            Ok(Poll::SlowDown(Some(Duration::MAX))),
            Ok(Poll::SlowDown(Some(Duration::MAX))),
            Ok(Poll::SlowDown(None)),
        ];
        let (result, times) = run(Duration::MAX, Duration::from_secs(30), script).await;
        assert!(
            matches!(result, Err(Error::BackchannelExpired { .. })),
            "{result:?}"
        );
        assert_eq!(times, secs(&[30]));
    }

    #[tokio::test(start_paused = true)]
    async fn each_slow_down_makes_the_interval_five_seconds_longer() {
        let script = vec![
            Ok(Poll::SlowDown(None)),
            Ok(Poll::SlowDown(None)),
            Ok(Poll::Pending),
            Ok(Poll::Done(json!({}))),
        ];
        let (result, times) = run(Duration::from_secs(2), Duration::from_secs(600), script).await;
        assert!(result.is_ok());
        // 2, then 2+5=7, then 7+5=12 (twice).
        assert_eq!(times, secs(&[2, 9, 21, 33]));
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_after_longer_than_the_step_is_honoured() {
        let script = vec![
            Ok(Poll::SlowDown(Some(Duration::from_secs(30)))),
            Ok(Poll::Done(json!({}))),
        ];
        let (_, times) = run(Duration::from_secs(1), Duration::from_secs(600), script).await;
        assert_eq!(times, secs(&[1, 31]));
    }

    #[tokio::test(start_paused = true)]
    async fn polling_stops_expired_once_expires_in_has_passed() {
        let (result, times) = run(Duration::from_secs(5), Duration::from_secs(12), vec![]).await;
        let error = result.unwrap_err();
        assert_eq!(error.code(), "expired_token");
        assert!(error.to_string().contains("start a new one"), "{error}");
        // The last poll comes at the deadline, not an interval past it.
        assert_eq!(times, secs(&[5, 10, 12]));
    }

    #[tokio::test(start_paused = true)]
    async fn a_denial_or_expiry_from_the_provider_ends_polling_at_once() {
        let denied = Err(Error::BackchannelDenied { description: None });
        let (result, times) = run(
            Duration::from_secs(5),
            Duration::from_secs(60),
            vec![Ok(Poll::Pending), denied],
        )
        .await;
        assert_eq!(result.unwrap_err().code(), "access_denied");
        assert_eq!(times.len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_poll_that_did_not_reach_the_provider_is_tried_again() {
        let unreachable = || Poll::Unreachable(Error::network("http://p/token", "closed"));
        let script = vec![Ok(unreachable()), Ok(Poll::Done(json!({})))];
        let (result, times) = run(Duration::from_secs(5), Duration::from_secs(60), script).await;
        assert!(result.is_ok());
        assert_eq!(times, secs(&[5, 10]));
        // Still unreachable at the deadline: that is the outcome, not an expiry.
        let script = vec![Ok(unreachable()), Ok(unreachable())];
        let (result, _) = run(Duration::from_secs(5), Duration::from_secs(10), script).await;
        assert_eq!(result.unwrap_err().code(), "network_error");
    }

    #[tokio::test(start_paused = true)]
    async fn an_interval_of_zero_does_not_poll_in_a_tight_loop() {
        let (_, times) = run(Duration::ZERO, Duration::from_secs(3), vec![]).await;
        assert_eq!(times, secs(&[1, 2, 3]));
    }

    #[test]
    fn odd_provider_seconds_fall_back_to_the_default() {
        let default = Duration::from_secs(7);
        assert_eq!(seconds(None, default), default);
        assert_eq!(seconds(Some(-3.0), default), default);
        assert_eq!(seconds(Some(f64::NAN), default), default);
        assert_eq!(seconds(Some(2.0), default), Duration::from_secs(2));
        assert!(seconds(Some(1e300), default) <= Duration::from_secs(u32::MAX.into()));
    }
}
