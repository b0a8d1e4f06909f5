//! Account linking: [`ServerClient::start_link_user`] / [`ServerClient::complete_link_user`]
//! and [`ServerClient::start_unlink_user`] / [`ServerClient::complete_unlink_user`].
//!
//! Names and parameters follow the Python SDK: an authorization request with the session's
//! ID token as `id_token_hint`, `requested_connection` (and, to link,
//! `requested_connection_scope`), the scope `openid link_account` (or `openid
//! unlink_account`) and the audience `my-account`, which Auth0's account-linking Action
//! reads. It is completed like a login callback (`state`, `iss`, PKCE, the ID token with its
//! `nonce`), from a transaction bound to the browser that started it.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use url::Url;

use super::login::{
    RESERVED_PARAMS, TRANSACTION_MARK, TokenResponse, check_callback, random_token, user_claims,
};
use super::params::AuthorizationParams;
use super::{Error, ServerClient};
use crate::model::{StateData, TokenSet, TransactionData, UserClaims};
use crate::store::{StoreContext, StoreError};

/// The scope that asks Auth0's account-linking Action to link an account.
pub const LINK_ACCOUNT_SCOPE: &str = "link_account";
/// The scope that asks it to unlink one.
pub const UNLINK_ACCOUNT_SCOPE: &str = "unlink_account";
/// The audience of account-linking requests (the Python SDK's).
pub const MY_ACCOUNT_AUDIENCE: &str = "my-account";
/// The ID-token claim listing the user's linked accounts (Auth0's profile shape).
const IDENTITIES_CLAIM: &str = "identities";
/// Times a completed link re-reads the session after another request wrote it meanwhile.
const SAVE_ATTEMPTS: usize = 3;
/// Parameters the SDK sets itself in a link request (besides a login's).
const LINK_RESERVED_PARAMS: &[&str] = &[
    "id_token_hint",
    "requested_connection",
    "requested_connection_scope",
];

/// What [`ServerClient::start_link_user`] is told.
///
/// ```
/// use auth0_server_core::client::LinkUserOptions;
///
/// let options = LinkUserOptions {
///     connection_scope: Some("https://www.googleapis.com/auth/calendar".into()),
///     app_state: Some(serde_json::json!({"returnTo": "/settings"})),
///     ..LinkUserOptions::new("google-oauth2")
/// };
/// assert_eq!(options.connection, "google-oauth2");
/// ```
#[derive(Clone, Debug, Default)]
pub struct LinkUserOptions {
    /// The connection whose account is linked (`requested_connection`), e.g. `google-oauth2`.
    pub connection: String,
    /// Scopes asked of that connection (`requested_connection_scope`).
    pub connection_scope: Option<String>,
    /// Other authorization parameters; a `scope` is added to `openid link_account`, an
    /// `audience` replaces `my-account`; the SDK's own parameters are ignored.
    pub authorization_params: AuthorizationParams,
    /// Anything to get back when the link completes.
    pub app_state: Option<Value>,
    /// Another callback URL than the configured one (where the app calls
    /// [`ServerClient::complete_link_user`]).
    pub redirect_uri: Option<String>,
}

impl LinkUserOptions {
    /// Options to link the user's account at `connection`, with nothing else set.
    pub fn new(connection: impl Into<String>) -> Self {
        Self {
            connection: connection.into(),
            ..Self::default()
        }
    }
}

/// What [`ServerClient::start_unlink_user`] is told.
///
/// ```
/// use auth0_server_core::client::UnlinkUserOptions;
///
/// let options = UnlinkUserOptions::new("google-oauth2");
/// assert!(options.app_state.is_none());
/// ```
#[derive(Clone, Debug, Default)]
pub struct UnlinkUserOptions {
    /// The connection whose account is unlinked (`requested_connection`).
    pub connection: String,
    /// Other authorization parameters, as for [`LinkUserOptions::authorization_params`].
    pub authorization_params: AuthorizationParams,
    /// Anything to get back when the unlink completes.
    pub app_state: Option<Value>,
    /// Another callback URL than the configured one.
    pub redirect_uri: Option<String>,
}

impl UnlinkUserOptions {
    /// Options to unlink the user's account at `connection`, with nothing else set.
    pub fn new(connection: impl Into<String>) -> Self {
        Self {
            connection: connection.into(),
            ..Self::default()
        }
    }
}

/// The outcome of [`ServerClient::complete_link_user`] or
/// [`ServerClient::complete_unlink_user`].
///
/// ```no_run
/// # use auth0_server_core::client::ServerClient;
/// # use auth0_server_core::store::StoreContext;
/// # async fn demo(client: ServerClient, cx: StoreContext, url: &str) -> Result<(), auth0_server_core::client::Error> {
/// let done = client.complete_link_user(url, &cx).await?;
/// let back_to = done.app_state.as_ref().and_then(|s| s["returnTo"].as_str());
/// println!("{} now has {:?}", done.user.sub, done.user.extra.get("identities"));
/// # let _ = back_to; Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LinkUserResult {
    /// The `app_state` given at the start.
    pub app_state: Option<Value>,
    /// The session's user after the link: the new ID token's claims over the old ones.
    pub user: UserClaims,
}

/// Linking or unlinking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Link,
    Unlink,
}

impl Kind {
    fn mark(self) -> &'static str {
        match self {
            Self::Link => "link",
            Self::Unlink => "unlink",
        }
    }

    fn scope(self) -> &'static str {
        match self {
            Self::Link => LINK_ACCOUNT_SCOPE,
            Self::Unlink => UNLINK_ACCOUNT_SCOPE,
        }
    }
}

/// One link or unlink request.
struct Request {
    kind: Kind,
    connection: String,
    connection_scope: Option<String>,
    authorization_params: AuthorizationParams,
    app_state: Option<Value>,
    redirect_uri: Option<String>,
}

/// The authorization parameters of a link request, without the protocol's own (`state`,
/// `nonce`, PKCE, `redirect_uri`, `client_id`): the caller's (reserved ones dropped), the
/// scope, the audience, the hint and the connection.
fn link_params(request: &Request, id_token: &str) -> (BTreeMap<String, String>, String) {
    let mut params: BTreeMap<String, String> = request
        .authorization_params
        .iter()
        .filter(|(name, _)| {
            !RESERVED_PARAMS.contains(&name.as_str())
                && !LINK_RESERVED_PARAMS.contains(&name.as_str())
        })
        .map(|(name, value)| (name.clone(), value.to_wire()))
        .collect();
    let extra_scope = params.remove("scope");
    let scope = super::login::merge_scopes(&[Some(request.kind.scope()), extra_scope.as_deref()]);
    params.insert("scope".to_owned(), scope);
    let audience = params
        .entry("audience".to_owned())
        .or_insert_with(|| MY_ACCOUNT_AUDIENCE.to_owned())
        .clone();
    params.insert("id_token_hint".to_owned(), id_token.to_owned());
    params.insert(
        "requested_connection".to_owned(),
        request.connection.trim().to_owned(),
    );
    if let Some(scope) = request
        .connection_scope
        .as_deref()
        .filter(|s| !s.is_empty())
    {
        params.insert("requested_connection_scope".to_owned(), scope.to_owned());
    }
    (params, audience)
}

impl ServerClient {
    /// Starts linking another account (at `options.connection`) to the logged-in user:
    /// stores a transaction bound to this browser and returns the URL to send it to (the
    /// Python SDK's `start_link_user`). Complete it at the callback with
    /// [`complete_link_user`](Self::complete_link_user).
    ///
    /// ```no_run
    /// use auth0_server_core::client::{LinkUserOptions, ServerClient};
    /// use auth0_server_core::store::StoreContext;
    ///
    /// # async fn demo(client: ServerClient, cx: StoreContext) -> Result<(), auth0_server_core::client::Error> {
    /// let url = client.start_link_user(LinkUserOptions::new("google-oauth2"), &cx).await?;
    /// // redirect the browser to `url`, with cx.take_changes() as Set-Cookie headers
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::LinkUserWithoutSession`] without a logged-in user; [`Error::InvalidArgument`]
    /// for an empty connection or a redirect URI that is not a URL; discovery and store
    /// failures.
    #[tracing::instrument(name = "oidc.start_link_user", skip_all)]
    pub async fn start_link_user(
        &self,
        options: LinkUserOptions,
        cx: &StoreContext,
    ) -> Result<Url, Error> {
        let request = Request {
            kind: Kind::Link,
            connection: options.connection,
            connection_scope: options.connection_scope,
            authorization_params: options.authorization_params,
            app_state: options.app_state,
            redirect_uri: options.redirect_uri,
        };
        self.under_request_domain(cx, self.start_link_under_domain(request, cx))
            .await
    }

    /// Starts unlinking the user's account at `options.connection` (the Python SDK's
    /// `start_unlink_user`); complete it with [`complete_unlink_user`](Self::complete_unlink_user).
    ///
    /// ```no_run
    /// use auth0_server_core::client::{ServerClient, UnlinkUserOptions};
    /// use auth0_server_core::store::StoreContext;
    ///
    /// # async fn demo(client: ServerClient, cx: StoreContext) -> Result<(), auth0_server_core::client::Error> {
    /// let url = client.start_unlink_user(UnlinkUserOptions::new("google-oauth2"), &cx).await?;
    /// // redirect the browser to `url`, with cx.take_changes() as Set-Cookie headers
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// Those of [`start_link_user`](Self::start_link_user).
    #[tracing::instrument(name = "oidc.start_unlink_user", skip_all)]
    pub async fn start_unlink_user(
        &self,
        options: UnlinkUserOptions,
        cx: &StoreContext,
    ) -> Result<Url, Error> {
        let request = Request {
            kind: Kind::Unlink,
            connection: options.connection,
            connection_scope: None,
            authorization_params: options.authorization_params,
            app_state: options.app_state,
            redirect_uri: options.redirect_uri,
        };
        self.under_request_domain(cx, self.start_link_under_domain(request, cx))
            .await
    }

    async fn start_link_under_domain(
        &self,
        request: Request,
        cx: &StoreContext,
    ) -> Result<Url, Error> {
        if request.connection.trim().is_empty() {
            return Err(Error::InvalidArgument(
                "connection is empty: name the connection of the account, e.g. google-oauth2"
                    .to_owned(),
            ));
        }
        let id_token = self
            .link_session(cx)
            .await?
            .and_then(|s| s.id_token)
            .filter(|t| !t.is_empty())
            .ok_or(Error::LinkUserWithoutSession)?;
        let redirect_uri = self
            .link_redirect_uri(request.redirect_uri.as_deref(), cx)
            .await?;
        let metadata = self.provider().metadata().await?;
        let (mut params, audience) = link_params(&request, &id_token);
        let (state, nonce, verifier) = (random_token(), random_token(), random_token());
        let challenge = B64.encode(Sha256::digest(verifier.as_bytes()));
        for (name, value) in [
            ("client_id", self.inner.config.client_id.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("response_type", "code"),
            ("state", &state),
            ("nonce", &nonce),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ] {
            params.insert(name.to_owned(), value.to_owned());
        }
        // The login's builder: with client-wide PAR, the ID token (`id_token_hint`) goes in
        // the pushed request's body, not in the browser's URL.
        let pushed = self.inner.config.pushed_authorization_requests;
        let url = self.authorization_url(&metadata, &params, pushed).await?;
        let mut transaction = TransactionData {
            code_verifier: Some(verifier),
            nonce: Some(nonce),
            app_state: request.app_state,
            audience: Some(audience),
            redirect_uri: Some(redirect_uri),
            domain: Some(self.provider().domain().to_owned()),
            ..TransactionData::default()
        };
        transaction
            .extra
            .insert(TRANSACTION_MARK.to_owned(), request.kind.mark().into());
        self.inner
            .transaction_store
            .set(&self.transaction_key(&state), &transaction, cx)
            .await?;
        Ok(url)
    }

    /// The session of this request's domain, with its bookkeeping; `None` when there is none.
    async fn link_session(&self, cx: &StoreContext) -> Result<Option<StateData>, Error> {
        match self.current_session(cx).await {
            Ok(state) => Ok(Some(state)),
            Err(Error::MissingSession) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The link's callback: the one asked for, else the login's for this request's site
    /// ([`redirect_uri_for`](Self::redirect_uri_for)).
    async fn link_redirect_uri(
        &self,
        asked: Option<&str>,
        cx: &StoreContext,
    ) -> Result<String, Error> {
        match asked {
            Some(uri) => Url::parse(uri).map(|u| u.to_string()).map_err(|_| {
                Error::InvalidArgument(format!("redirect_uri {uri:?} is not an absolute URL"))
            }),
            None => self
                .redirect_uri_for(cx)
                .await?
                .map(|u| u.to_string())
                .ok_or(super::config::MISSING_REDIRECT_URI),
        }
    }

    /// Completes an account link from its callback URL (the Python SDK's
    /// `complete_link_user`): checks `state` (one use, this browser's), `iss` and the
    /// provider's answer, exchanges the code, validates the ID token as a login's, which
    /// must be for the session's user, and updates the session in place (compare-and-set): its ID
    /// token, its user (the new claims over the old ones) and the token set of the link's
    /// audience (`my-account`). The app's other token sets and the refresh token are kept.
    ///
    /// ```no_run
    /// # use auth0_server_core::client::ServerClient;
    /// # use auth0_server_core::store::StoreContext;
    /// # async fn demo(client: ServerClient, cx: StoreContext) -> Result<(), auth0_server_core::client::Error> {
    /// // GET /link/callback?code=…&state=…
    /// let done = client.complete_link_user("http://localhost:5000/link/callback?code=x&state=y", &cx).await?;
    /// let identities = done.user.extra.get("identities");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::MissingTransaction`] for a callback no link in this browser started;
    /// [`Error::CallbackOfAnotherFlow`] for a login's (or an unlink's); [`Error::Authorization`] when the
    /// provider refused the link; [`Error::LinkSessionEnded`] when the session ended
    /// meanwhile (it is not brought back); those of
    /// [`complete_interactive_login`](Self::complete_interactive_login) otherwise.
    #[tracing::instrument(name = "oidc.complete_link_user", skip_all)]
    pub async fn complete_link_user(
        &self,
        callback_url: &str,
        cx: &StoreContext,
    ) -> Result<LinkUserResult, Error> {
        self.under_request_domain(cx, self.complete_link(Kind::Link, callback_url, cx))
            .await
    }

    /// Completes an account unlink from its callback URL (the Python SDK's
    /// `complete_unlink_user`), as [`complete_link_user`](Self::complete_link_user) does.
    ///
    /// ```no_run
    /// # use auth0_server_core::client::ServerClient;
    /// # use auth0_server_core::store::StoreContext;
    /// # async fn demo(client: ServerClient, cx: StoreContext) -> Result<(), auth0_server_core::client::Error> {
    /// // GET /unlink/callback?code=…&state=…
    /// let done = client.complete_unlink_user("http://localhost:5000/unlink/callback?code=x&state=y", &cx).await?;
    /// println!("unlinked for {}", done.user.sub);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// Those of [`complete_link_user`](Self::complete_link_user).
    #[tracing::instrument(name = "oidc.complete_unlink_user", skip_all)]
    pub async fn complete_unlink_user(
        &self,
        callback_url: &str,
        cx: &StoreContext,
    ) -> Result<LinkUserResult, Error> {
        self.under_request_domain(cx, self.complete_link(Kind::Unlink, callback_url, cx))
            .await
    }

    async fn complete_link(
        &self,
        kind: Kind,
        callback_url: &str,
        cx: &StoreContext,
    ) -> Result<LinkUserResult, Error> {
        let query = self.callback_query(callback_url)?;
        let transaction = self
            .redeem_transaction(&query, Some(kind.mark()), cx)
            .await?;
        let metadata = self.provider().metadata().await?;
        let code = check_callback(&query, &metadata)?;
        let tokens = self.exchange_code(code, &transaction, &metadata).await?;
        let (id_token, claims) = self
            .validate_login(&tokens, &transaction, &metadata)
            .await?;
        let user = user_claims(&claims)?;
        let user = self
            .save_link(&tokens, &id_token, user, &transaction, cx)
            .await?;
        tracing::info!(kind = kind.mark(), "account link completed");
        Ok(LinkUserResult {
            app_state: transaction.app_state,
            user,
        })
    }

    /// Puts a completed link into the session and returns the session's user. The write is
    /// a compare-and-set under the same id (`rotate = false`: the user does not change, so
    /// there is no fixation to guard against), re-read and re-applied on a conflict, so a
    /// refresh-token rotation or a logout by another request between the read and the write
    /// is kept, never undone.
    async fn save_link(
        &self,
        tokens: &TokenResponse,
        id_token: &str,
        user: UserClaims,
        transaction: &TransactionData,
        cx: &StoreContext,
    ) -> Result<UserClaims, Error> {
        let identifier = self.inner.config.state_identifier.as_str();
        for attempt in 1..=SAVE_ATTEMPTS {
            let mut state = self
                .link_session(cx)
                .await?
                .ok_or(Error::LinkSessionEnded)?;
            let merged = merge_link(&mut state, tokens, id_token, &user, transaction, self.now())?;
            match self
                .inner
                .state_store
                .set(identifier, &state, false, cx)
                .await
            {
                Ok(()) => return Ok(merged),
                Err(StoreError::Conflict) if attempt < SAVE_ATTEMPTS => continue,
                Err(StoreError::SessionEnded) => return Err(Error::LinkSessionEnded),
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }
}

/// A link's results in the session: the ID token replaced, the user's claims overlaid with
/// the new ones, the token set of the link's audience replaced. Refused when the new ID
/// token is for another user than the session's.
fn merge_link(
    state: &mut StateData,
    tokens: &TokenResponse,
    id_token: &str,
    user: &UserClaims,
    transaction: &TransactionData,
    now: u64,
) -> Result<UserClaims, Error> {
    let old = state.user.clone().ok_or(Error::LinkSessionEnded)?;
    if old.sub != user.sub {
        return Err(Error::InvalidIdToken(
            "the account link's ID token is for another user (sub) than the session's; the \
             session is unchanged"
                .to_owned(),
        ));
    }
    let as_map = |u: &UserClaims| match serde_json::to_value(u) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let mut claims = as_map(&old);
    // The provider's list of linked accounts is the new token's or none: an old list would
    // show an account just unlinked.
    claims.remove(IDENTITIES_CLAIM);
    claims.extend(as_map(user).into_iter().filter(|(_, v)| !v.is_null()));
    let merged: UserClaims = serde_json::from_value(Value::Object(claims))
        .map_err(|e| Error::InvalidIdToken(format!("its claims are not a profile: {e}")))?;
    let audience = transaction
        .audience
        .clone()
        .unwrap_or_else(|| MY_ACCOUNT_AUDIENCE.to_owned());
    state.token_sets.retain(|t| t.audience != audience);
    state.token_sets.push(TokenSet {
        audience,
        access_token: tokens.access_token.clone(),
        scope: tokens.scope.clone(),
        expires_at: now.saturating_add(
            tokens
                .expires_in
                .unwrap_or(super::login::DEFAULT_EXPIRES_IN),
        ),
        extra: Map::new(),
    });
    state.id_token = Some(id_token.to_owned());
    state.user = Some(merged.clone());
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(value: serde_json::Value) -> UserClaims {
        serde_json::from_value(value).unwrap()
    }

    fn session() -> StateData {
        let set = |audience: &str| TokenSet {
            audience: audience.into(),
            access_token: format!("old-{audience}"),
            scope: None,
            expires_at: 10,
            extra: Map::new(),
        };
        StateData {
            user: Some(user(
                serde_json::json!({"sub": "auth0|1", "email": "a@b.c"}),
            )),
            id_token: Some("old-id".into()),
            refresh_token: Some("rt".into()),
            token_sets: vec![set("default"), set(MY_ACCOUNT_AUDIENCE)],
            ..StateData::default()
        }
    }

    fn tokens() -> TokenResponse {
        serde_json::from_value(serde_json::json!({"access_token": "new", "expires_in": 60}))
            .unwrap()
    }

    #[test]
    fn a_link_updates_the_id_token_user_and_its_audience_only() {
        let mut state = session();
        let transaction = TransactionData {
            audience: Some(MY_ACCOUNT_AUDIENCE.into()),
            ..TransactionData::default()
        };
        let new = user(serde_json::json!({"sub": "auth0|1", "identities": [{"connection": "x"}]}));
        let merged = merge_link(&mut state, &tokens(), "new-id", &new, &transaction, 100).unwrap();
        assert_eq!(
            merged.email.as_deref(),
            Some("a@b.c"),
            "kept from the login"
        );
        assert!(merged.extra.contains_key("identities"));
        assert_eq!(state.id_token.as_deref(), Some("new-id"));
        assert_eq!(state.refresh_token.as_deref(), Some("rt"));
        let tokens: Vec<(&str, &str)> = state
            .token_sets
            .iter()
            .map(|t| (t.audience.as_str(), t.access_token.as_str()))
            .collect();
        assert_eq!(
            tokens,
            [("default", "old-default"), (MY_ACCOUNT_AUDIENCE, "new")]
        );
    }

    #[test]
    fn identities_the_new_id_token_lacks_are_dropped() {
        let mut state = session();
        let mut old = state.user.clone().unwrap();
        old.extra.insert(
            "identities".into(),
            serde_json::json!([{"connection": "x"}]),
        );
        state.user = Some(old);
        let new = user(serde_json::json!({"sub": "auth0|1"}));
        let transaction = TransactionData::default();
        let merged = merge_link(&mut state, &tokens(), "id", &new, &transaction, 1).unwrap();
        assert!(!merged.extra.contains_key("identities"), "{merged:?}");
        assert_eq!(merged.email.as_deref(), Some("a@b.c"), "other claims kept");
    }

    #[test]
    fn a_link_for_another_user_leaves_the_session_alone() {
        let mut state = session();
        let other = user(serde_json::json!({"sub": "auth0|2"}));
        let result = merge_link(
            &mut state,
            &tokens(),
            "id",
            &other,
            &TransactionData::default(),
            1,
        );
        assert!(
            matches!(result, Err(Error::InvalidIdToken(_))),
            "{result:?}"
        );
        assert_eq!(state.id_token.as_deref(), Some("old-id"));
        assert_eq!(state.token_sets.len(), 2);
    }

    #[test]
    fn link_params_are_the_python_sdks_with_the_callers_additions() {
        let mut extra = AuthorizationParams::new();
        extra.insert("scope".into(), "profile".into());
        extra.insert("ui_locales".into(), "fr".into());
        extra.insert("id_token_hint".into(), "forged".into());
        extra.insert("state".into(), "forged".into());
        let request = Request {
            kind: Kind::Link,
            connection: "google-oauth2".into(),
            connection_scope: Some("calendar".into()),
            authorization_params: extra,
            app_state: None,
            redirect_uri: None,
        };
        let (params, audience) = link_params(&request, "the-id-token");
        assert_eq!(params["scope"], "openid link_account profile");
        assert_eq!(params["audience"], MY_ACCOUNT_AUDIENCE);
        assert_eq!(audience, MY_ACCOUNT_AUDIENCE);
        assert_eq!(params["id_token_hint"], "the-id-token");
        assert_eq!(params["requested_connection"], "google-oauth2");
        assert_eq!(params["requested_connection_scope"], "calendar");
        assert_eq!(params["ui_locales"], "fr");
        assert!(!params.contains_key("state"), "the SDK's own, set later");
        let unlink = Request {
            kind: Kind::Unlink,
            connection_scope: None,
            authorization_params: AuthorizationParams::new(),
            ..request
        };
        let (params, _) = link_params(&unlink, "t");
        assert_eq!(params["scope"], "openid unlink_account");
        assert!(!params.contains_key("requested_connection_scope"));
    }
}
