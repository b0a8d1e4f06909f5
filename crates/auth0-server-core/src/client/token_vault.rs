//! Token Vault: [`ServerClient::get_access_token_for_connection`], an access token for an
//! upstream connection (Google, GitHub, …) got by exchanging the session's refresh token at
//! the token endpoint (Auth0's federated-connection access-token grant), kept per connection
//! in the session's `connection_token_sets`, exchanged again when it nears expiry, one
//! exchange at a time per session and connection.

use std::time::Instant;

use sha2::{Digest, Sha256};

use serde_json::Value;

use super::exchange_answer::{Flow, token_response};
use super::http::Retry;
use super::tokens::Refreshed;
use super::{Error, ServerClient, TokenEndpointResponse};
use crate::model::{ConnectionTokenSet, DEFAULT_AUDIENCE, StateData};
use crate::store::StoreContext;

/// Auth0's grant type for a connection's access token.
pub const FEDERATED_CONNECTION_GRANT_TYPE: &str =
    "urn:auth0:params:oauth:grant-type:token-exchange:federated-connection-access-token";
/// The `subject_token_type` of the exchange: the subject token is a refresh token.
pub const REFRESH_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:refresh_token";
/// The `requested_token_type` of the exchange: a connection's access token.
pub const FEDERATED_CONNECTION_TOKEN_TYPE: &str =
    "http://auth0.com/oauth/token-type/federated-connection-access-token";

/// What [`ServerClient::get_access_token_for_connection`] is asked for.
///
/// ```
/// use auth0_server_core::client::ConnectionTokenOptions;
/// let options = ConnectionTokenOptions::new("google-oauth2").login_hint("ada@example.com");
/// assert_eq!(options.connection, "google-oauth2");
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ConnectionTokenOptions {
    /// The connection's name, as in the Auth0 Dashboard (`google-oauth2`).
    pub connection: String,
    /// Which of the user's accounts at the connection, when they have several (sent as
    /// `login_hint`). A token is kept per hint: a call without one never gets the token of a
    /// call with one (none and `""` are the same).
    pub login_hint: Option<String>,
    /// Exchange again even if the session holds a token of the connection still valid (when
    /// the connection's API refused it). Concurrent calls still make one exchange.
    pub force_refresh: bool,
}

impl ConnectionTokenOptions {
    /// The token for `connection`.
    pub fn new(connection: impl Into<String>) -> Self {
        Self {
            connection: connection.into(),
            ..Self::default()
        }
    }

    /// For the user's account `login_hint` at the connection.
    ///
    /// ```
    /// use auth0_server_core::client::ConnectionTokenOptions;
    /// let options = ConnectionTokenOptions::new("google-oauth2").login_hint("ada@example.com");
    /// assert_eq!(options.login_hint.as_deref(), Some("ada@example.com"));
    /// ```
    pub fn login_hint(mut self, login_hint: impl Into<String>) -> Self {
        self.login_hint = Some(login_hint.into());
        self
    }

    /// Exchanges again even if the session holds a valid token (see
    /// [`force_refresh`](Self::force_refresh)).
    ///
    /// ```
    /// use auth0_server_core::client::ConnectionTokenOptions;
    /// let options = ConnectionTokenOptions::new("github").force_refresh(true);
    /// assert!(options.force_refresh);
    /// ```
    pub fn force_refresh(mut self, force: bool) -> Self {
        self.force_refresh = force;
        self
    }
}

/// A connection's access token. Its `Debug` never shows the token.
///
/// ```no_run
/// use auth0_server_core::client::{ConnectionTokenOptions, ServerClient};
/// use auth0_server_core::store::StoreContext;
///
/// # async fn demo(client: ServerClient, cx: StoreContext) -> Result<(), Box<dyn std::error::Error>> {
/// let github = client
///     .get_access_token_for_connection(ConnectionTokenOptions::new("github"), &cx)
///     .await?;
/// let repos = reqwest::Client::new()
///     .get("https://api.github.com/user/repos")
///     .bearer_auth(&github.token)
///     .send()
///     .await?;
/// assert!(!format!("{github:?}").contains(&github.token));
/// # let _ = repos; Ok(()) }
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionAccessToken {
    /// The token, to call the connection's API (Google's, GitHub's…) with.
    pub token: String,
    /// The connection it is for.
    pub connection: String,
    /// The scopes the connection granted.
    pub scope: Option<String>,
    /// When it expires (unix seconds).
    pub expires_at: u64,
}

impl std::fmt::Debug for ConnectionAccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionAccessToken")
            .field("token", &"[redacted]")
            .field("connection", &self.connection)
            .field("scope", &self.scope)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Whether a stored set is the one asked for: its connection, and exactly its login hint
/// (none asked is the empty hint).
fn matches(set: &ConnectionTokenSet, options: &ConnectionTokenOptions) -> bool {
    set.connection == options.connection
        && set.login_hint == options.login_hint.as_deref().unwrap_or_default()
}

/// The gate key of an exchange: the session's user and the hash of the refresh token it
/// holds (two sessions never share a key, even when neither knows a provider `sid`), the
/// connection and the hint, tagged apart from every other key of the gate.
fn exchange_key(sub: &str, used: &[u8; 32], options: &ConnectionTokenOptions) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"connection\0")
        .chain_update(sub.as_bytes())
        .chain_update([0])
        .chain_update(used)
        .chain_update(options.connection.as_bytes())
        .chain_update([0])
        .chain_update(options.login_hint.as_deref().unwrap_or_default().as_bytes())
        .finalize()
        .into()
}

fn access_token(set: &ConnectionTokenSet) -> ConnectionAccessToken {
    ConnectionAccessToken {
        token: set.access_token.clone(),
        connection: set.connection.clone(),
        scope: set.scope.clone(),
        expires_at: set.expires_at,
    }
}

/// Puts a connection token set into the session (the same account's replaced, else added),
/// and the refresh token the exchange was made with when it replaced the spent one
/// (`rotated`: spent, newer) the session still holds. `false` when the session holds both
/// already: another request saved them, and nothing is to be written.
fn merge(state: &mut StateData, set: &ConnectionTokenSet, rotated: Option<(&str, &str)>) -> bool {
    let newer = rotated
        .filter(|(spent, _)| state.refresh_token.as_deref() == Some(*spent))
        .map(|(_, newer)| newer.to_owned());
    let existing = state
        .connection_token_sets
        .iter_mut()
        .find(|t| t.connection == set.connection && t.login_hint == set.login_hint);
    if newer.is_none()
        && existing
            .as_ref()
            .is_some_and(|t| t.access_token == set.access_token)
    {
        return false;
    }
    if newer.is_some() {
        state.refresh_token = newer;
    }
    match existing {
        Some(existing) => {
            existing.access_token = set.access_token.clone();
            existing.scope = set.scope.clone();
            existing.expires_at = set.expires_at;
        }
        None => state.connection_token_sets.push(set.clone()),
    }
    true
}

impl ServerClient {
    /// An access token for an upstream connection (Auth0 Token Vault): the one stored in the
    /// session while it is valid for longer than the refresh margin, else a new one got by
    /// exchanging the session's refresh token (Auth0's
    /// [`FEDERATED_CONNECTION_GRANT_TYPE`]), saved in the session's `connection_token_sets`.
    ///
    /// Concurrent calls of this process for one session (user and refresh token) and account
    /// make one exchange, and the one that saves it is enough: the save is compare-and-set
    /// (another request's changes to the session are kept) and skipped when the session holds
    /// the token already. An exchange never sends a refresh token that a concurrent refresh of
    /// this process spent (refresh-token rotation): it takes the refresh token that refresh
    /// got. Across processes none of this holds; Auth0 requires rotation off for Token Vault.
    ///
    /// ```no_run
    /// use auth0_server_core::client::{ConnectionTokenOptions, ServerClient};
    /// use auth0_server_core::store::StoreContext;
    ///
    /// # async fn demo(client: ServerClient, cx: StoreContext) -> Result<(), auth0_server_core::client::Error> {
    /// let google = client
    ///     .get_access_token_for_connection(ConnectionTokenOptions::new("google-oauth2"), &cx)
    ///     .await?;
    /// // call Google's API with `Authorization: Bearer {google.token}`
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for an empty connection; [`Error::MissingSession`];
    /// [`Error::MissingRefreshToken`]; [`Error::ConnectionToken`] with the provider's
    /// refusal; [`Error::ClientAuthentication`]; network and store failures.
    #[tracing::instrument(name = "oidc.get_access_token_for_connection", skip_all, fields(connection = %options.connection))]
    pub async fn get_access_token_for_connection(
        &self,
        options: ConnectionTokenOptions,
        cx: &StoreContext,
    ) -> Result<ConnectionAccessToken, Error> {
        if options.connection.trim().is_empty() {
            return Err(Error::InvalidArgument(
                "the connection is empty: give its name, as in the Auth0 Dashboard \
                 (e.g. google-oauth2)"
                    .to_owned(),
            ));
        }
        self.under_request_domain(cx, self.connection_token_under_domain(options, cx))
            .await
    }

    /// An access token for an upstream connection for a refresh token the app keeps itself,
    /// outside any session (the Python SDK's `get_token_for_connection`): one exchange, with
    /// the configured domain, nothing cached or saved. Sessions use
    /// [`get_access_token_for_connection`](Self::get_access_token_for_connection).
    ///
    /// ```no_run
    /// use auth0_server_core::client::{ConnectionTokenOptions, ServerClient};
    ///
    /// # async fn demo(client: ServerClient, kept: String) -> Result<(), auth0_server_core::client::Error> {
    /// let github = client
    ///     .get_token_for_connection(&kept, ConnectionTokenOptions::new("github"))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for an empty refresh token or connection;
    /// [`Error::ConnectionToken`]; [`Error::ClientAuthentication`]; network failures.
    #[tracing::instrument(name = "oidc.get_token_for_connection", skip_all, fields(connection = %options.connection))]
    pub async fn get_token_for_connection(
        &self,
        refresh_token: &str,
        options: ConnectionTokenOptions,
    ) -> Result<ConnectionAccessToken, Error> {
        if refresh_token.trim().is_empty() || options.connection.trim().is_empty() {
            return Err(Error::InvalidArgument(
                "the refresh token or the connection is empty: give a refresh token of an \
                 earlier token response and the connection's name (e.g. google-oauth2)"
                    .to_owned(),
            ));
        }
        let response = self
            .exchange_for_connection(refresh_token, &options)
            .await?;
        Ok(ConnectionAccessToken {
            expires_at: response.expires_at,
            token: response.access_token,
            connection: options.connection,
            scope: response.scope,
        })
    }

    async fn connection_token_under_domain(
        &self,
        options: ConnectionTokenOptions,
        cx: &StoreContext,
    ) -> Result<ConnectionAccessToken, Error> {
        let state = self.current_session(cx).await?;
        let fresh_until = self
            .now()
            .saturating_add(self.inner.config.refresh_margin.as_secs());
        if !options.force_refresh
            && let Some(stored) = state
                .connection_token_sets
                .iter()
                .find(|t| matches(t, &options) && t.expires_at > fresh_until)
        {
            return Ok(access_token(stored));
        }
        let read = state
            .refresh_token
            .clone()
            .filter(|t| !t.is_empty())
            .ok_or(Error::MissingRefreshToken)?;
        let done = self.exchange_once(&state, &read, &options).await?;
        let set = ConnectionTokenSet {
            connection: options.connection.clone(),
            login_hint: options.login_hint.clone().unwrap_or_default(),
            audience: DEFAULT_AUDIENCE.to_owned(),
            access_token: done.response.access_token.clone(),
            scope: done.response.scope.clone(),
            expires_at: done.expires_at,
            extra: serde_json::Map::new(),
        };
        let rotated = done.response.refresh_token.as_deref();
        let rotated = rotated.map(|newer| (read.as_str(), newer));
        self.save_merged(state, cx, |s| merge(s, &set, rotated))
            .await?;
        Ok(access_token(&set))
    }

    /// This call's exchange, or the one another call with the same user, refresh token and
    /// account made while this one waited (or whose token is still fresh, unless forced).
    /// The answer's `refresh_token` is the one the exchange was made with when it replaced
    /// `read`, spent by a concurrent refresh (see
    /// [`claim_refresh_token`](Self::claim_refresh_token)).
    async fn exchange_once(
        &self,
        state: &StateData,
        read: &str,
        options: &ConnectionTokenOptions,
    ) -> Result<Refreshed, Error> {
        let used: [u8; 32] = Sha256::digest(read.as_bytes()).into();
        let sub = state
            .user
            .as_ref()
            .map(|u| u.sub.as_str())
            .unwrap_or_default();
        let started = Instant::now();
        let slot = self.inner.refreshes.slot(exchange_key(sub, &used, options));
        let mut guard = slot.lock().await;
        let fresh_until = self
            .now()
            .saturating_add(self.inner.config.refresh_margin.as_secs());
        if let Some(done) = guard.as_ref()
            && done.used == used
            && (done.at >= started || (!options.force_refresh && done.expires_at > fresh_until))
        {
            return Ok(done.clone());
        }
        let claim = self.claim_refresh_token(read).await;
        let answer = self
            .exchange_for_connection(&claim.refresh_token, options)
            .await?;
        let expires_at = answer.expires_at;
        let mut response = token_response(answer);
        response.refresh_token = (claim.refresh_token != read).then(|| claim.refresh_token.clone());
        let done = Refreshed {
            expires_at,
            response,
            at: Instant::now(),
            used,
        };
        *guard = Some(done.clone());
        Ok(done)
    }

    /// The federated-connection access-token grant at the token endpoint, its answer read
    /// and checked (see [`Flow::read`]).
    async fn exchange_for_connection(
        &self,
        refresh_token: &str,
        options: &ConnectionTokenOptions,
    ) -> Result<TokenEndpointResponse, Error> {
        let metadata = self.provider().metadata().await?;
        let mut form = vec![
            (
                "grant_type".to_owned(),
                FEDERATED_CONNECTION_GRANT_TYPE.to_owned(),
            ),
            (
                "subject_token_type".to_owned(),
                REFRESH_TOKEN_TYPE.to_owned(),
            ),
            ("subject_token".to_owned(), refresh_token.to_owned()),
            (
                "requested_token_type".to_owned(),
                FEDERATED_CONNECTION_TOKEN_TYPE.to_owned(),
            ),
            ("connection".to_owned(), options.connection.clone()),
        ];
        if let Some(hint) = options.login_hint.as_ref().filter(|h| !h.is_empty()) {
            form.push(("login_hint".to_owned(), hint.clone()));
        }
        // The grant does not spend the refresh token: a retry after a 5xx sends nothing
        // used up, and at worst has the provider issue the connection token again.
        let answer = self
            .request_as_client::<Value>(&metadata.token_endpoint, &form, Retry::Idempotent)
            .await;
        let flow = Flow::Connection {
            connection: &options.connection,
            subject_token: refresh_token,
        };
        flow.read(answer, self.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(connection: &str, hint: &str, token: &str) -> ConnectionTokenSet {
        ConnectionTokenSet {
            connection: connection.into(),
            login_hint: hint.into(),
            audience: DEFAULT_AUDIENCE.into(),
            access_token: token.into(),
            scope: None,
            expires_at: 1,
            extra: serde_json::Map::new(),
        }
    }

    #[test]
    fn merge_replaces_the_connections_set_and_keeps_the_others() {
        let mut state = StateData {
            connection_token_sets: vec![set("github", "", "gh"), set("google", "a@b", "old")],
            ..StateData::default()
        };
        assert!(merge(&mut state, &set("google", "a@b", "new"), None));
        let tokens: Vec<&str> = state
            .connection_token_sets
            .iter()
            .map(|t| t.access_token.as_str())
            .collect();
        assert_eq!(tokens, ["gh", "new"]);
        assert!(merge(&mut state, &set("google", "c@d", "second"), None));
        assert_eq!(
            state.connection_token_sets.len(),
            3,
            "another account: added"
        );
    }

    #[test]
    fn merge_writes_nothing_the_session_holds_and_takes_the_refresh_token_used() {
        let mut state = StateData {
            refresh_token: Some("spent".into()),
            connection_token_sets: vec![set("google", "", "same")],
            ..StateData::default()
        };
        assert!(!merge(&mut state, &set("google", "", "same"), None), "held");
        assert!(merge(
            &mut state,
            &set("google", "", "same"),
            Some(("spent", "newer"))
        ));
        assert_eq!(state.refresh_token.as_deref(), Some("newer"));
        state.refresh_token = Some("newest".into());
        assert!(
            !merge(
                &mut state,
                &set("google", "", "same"),
                Some(("spent", "newer"))
            ),
            "a refresh token saved since is kept"
        );
        assert_eq!(state.refresh_token.as_deref(), Some("newest"));
    }

    #[test]
    fn a_hint_matches_exactly_and_none_is_empty() {
        let stored = set("google", "ada@example.com", "t");
        let plain = set("google", "", "t");
        let asked = |hint: Option<&str>| ConnectionTokenOptions {
            login_hint: hint.map(str::to_owned),
            ..ConnectionTokenOptions::new("google")
        };
        assert!(matches(&stored, &asked(Some("ada@example.com"))));
        assert!(!matches(&stored, &asked(None)));
        assert!(!matches(&stored, &asked(Some(""))));
        assert!(matches(&plain, &asked(None)));
        assert!(matches(&plain, &asked(Some(""))));
        assert!(!matches(&plain, &asked(Some("ada@example.com"))));
    }

    #[test]
    fn the_token_never_shows_in_debug() {
        let token = access_token(&set("google", "", "secret-connection-token"));
        assert!(!format!("{token:?}").contains("secret"));
    }
}
