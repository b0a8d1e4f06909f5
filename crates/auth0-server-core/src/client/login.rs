//! Interactive login: the redirect to the provider and the callback.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use url::Url;

use super::http::{Retry, TokenAnswer};
use super::jwt::{self, Expectations, VerifyError};
use super::meters::{self, LoginFlow, LoginStep};
use super::params::{
    AUTHORIZATION_DETAILS, AuthorizationParams, ParamValue, audience_param,
    check_authorization_details, check_param, scope_for_audience, token_set_extra,
};
use super::{Error, ProviderMetadata, ServerClient};
use crate::model::{
    DEFAULT_AUDIENCE, Internal, Organization, StateData, TokenSet, TransactionData, UserClaims,
};
use crate::seal::random_bytes;
use crate::store::StoreContext;

/// Authorization parameters the SDK sets itself; callers' values for them are ignored. The
/// client's credentials are among them: they belong to client authentication, never in a
/// browser URL or a PAR body beside the SDK's own.
pub(crate) const RESERVED_PARAMS: &[&str] = &[
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "redirect_uri",
    "response_type",
    "response_mode",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "request_uri",
    "request",
];

/// ID-token claims that describe the token, not the user; they are not kept in the profile.
const PROTOCOL_CLAIMS: &[&str] = &[
    "iss",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "azp",
    "nonce",
    "auth_time",
    "at_hash",
    "c_hash",
    "s_hash",
];

/// What [`ServerClient::start_interactive_login`] may be told.
///
/// ```
/// use auth0_server_core::client::StartLoginOptions;
/// use serde_json::json;
///
/// let mut options = StartLoginOptions {
///     organization: Some("org_W1Xf0cm2eDEqXoLy".to_owned()),
///     ..StartLoginOptions::default()
/// };
/// options.authorization_params.insert("prompt".into(), "login".into());
/// options.authorization_params.insert(
///     "authorization_details".into(),
///     json!([{"type": "payment_initiation", "amount": "10.00"}]).into(),
/// );
/// ```
#[derive(Clone, Debug, Default)]
pub struct StartLoginOptions {
    /// Anything to get back after the login (for example where to return to).
    pub app_state: Option<Value>,
    /// The API the access token is for (else an `audience` in
    /// [`authorization_params`](Self::authorization_params), else the configured audience).
    /// The login's token set is filed under it, so [`ServerClient::get_access_token`] for
    /// that audience finds it.
    pub audience: Option<String>,
    /// Scopes on top of the configured ones.
    pub scope: Option<String>,
    /// Other authorization parameters (`prompt`, `login_hint`, `organization`, `max_age`,
    /// `audience`, `authorization_details`, …). Values are strings or any JSON value
    /// ([`ParamValue`]), sent as their JSON text; a `scope` may be a map from audience to
    /// scope (see [`scope_for_audience`](super::scope_for_audience)).
    ///
    /// With `organization` (here, in [`organization`](Self::organization) or in the
    /// configuration), the ID token must carry it: `org_id` equal to it for an `org_…` id,
    /// else `org_name` equal to it ignoring case. With `max_age`, the ID token must carry an
    /// `auth_time` no older than that (plus the leeway). `authorization_details` (Rich
    /// Authorization Requests) must be a JSON array of objects with a `type`.
    pub authorization_params: AuthorizationParams,
    /// Another callback URL than the configured one.
    pub redirect_uri: Option<String>,
    /// The organization to log in to (its `org_…` id or its name); wins over an
    /// `organization` in [`authorization_params`](Self::authorization_params). Must not be
    /// blank, and must be the configured one when the client has one.
    pub organization: Option<String>,
    /// An organization invitation's id (from the invitation link's `invitation`), sent as
    /// `invitation`.
    pub invitation: Option<String>,
    /// Whether this login's authorization request is pushed (PAR, RFC 9126): `Some(true)`
    /// or `Some(false)` overrides the client-wide
    /// [`pushed_authorization_requests`](super::ServerClientBuilder::pushed_authorization_requests)
    /// for this call; `None` follows it. With PAR, only `client_id` and the `request_uri`
    /// the provider returned travel through the browser.
    ///
    /// ```
    /// use auth0_server_core::client::StartLoginOptions;
    ///
    /// let pushed = StartLoginOptions {
    ///     pushed_authorization_requests: Some(true),
    ///     ..StartLoginOptions::default()
    /// };
    /// # let _ = pushed;
    /// ```
    pub pushed_authorization_requests: Option<bool>,
}

/// What a login asks for besides the protocol's own parameters.
pub(super) struct LoginPlan {
    pub(super) params: BTreeMap<String, String>,
    pub(super) audience: Option<String>,
    pub(super) organization: Option<String>,
    max_age: Option<u64>,
}

/// The outcome of a completed login.
#[derive(Clone, Debug)]
pub struct LoginResult {
    /// The `app_state` given at the start of the login.
    pub app_state: Option<Value>,
    /// The logged-in user.
    pub user: UserClaims,
    /// The organization the user logged in to (the ID token's `org_id` and `org_name`),
    /// when there is one.
    pub organization: Option<Organization>,
    /// The `authorization_details` the token endpoint answered (Rich Authorization
    /// Requests), when it sent any.
    pub authorization_details: Option<Value>,
}

/// A token endpoint's successful answer (code exchange or refresh).
#[derive(Clone, Deserialize)]
pub(crate) struct TokenResponse {
    pub(crate) access_token: String,
    #[serde(default)]
    pub(crate) id_token: Option<String>,
    #[serde(default)]
    pub(crate) refresh_token: Option<String>,
    /// Seconds the access token lives. Read leniently (see [`lenient_expires_in`]): a
    /// provider's odd number never fails a login.
    #[serde(default, deserialize_with = "lenient_expires_in")]
    pub(crate) expires_in: Option<u64>,
    #[serde(default)]
    pub(crate) scope: Option<String>,
    /// What a Rich Authorization Request was granted (RFC 9396 §7).
    #[serde(default)]
    pub(crate) authorization_details: Option<Value>,
}

/// `expires_in` as a provider may send it: a whole number (as large as it likes: sums with it
/// saturate), a float, a negative number (already expired: 0), or digits in a string. Anything
/// else reads as absent, so the default lifetime applies.
pub(crate) fn lenient_expires_in<'de, D>(deserializer: D) -> Result<Option<u64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Ok(match Option::<Value>::deserialize(deserializer)? {
        Some(Value::Number(n)) => n.as_u64().or_else(|| {
            // `as` saturates: a float past u64::MAX is u64::MAX, a negative one 0.
            n.as_f64().map(|f| f.max(0.0) as u64)
        }),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        _ => None,
    })
}

/// Reads a `max_age` authorization parameter: whole seconds (digits, or a JSON number).
pub(crate) fn parse_max_age(value: &ParamValue) -> Result<u64, Error> {
    if let Some(seconds) = value.as_json().as_u64() {
        return Ok(seconds);
    }
    let value = value.to_wire();
    value.trim().parse::<u64>().map_err(|_| {
        Error::InvalidArgument(format!(
            "max_age {value:?} is not a whole number of seconds: give e.g. \"300\""
        ))
    })
}

/// The access token's lifetime assumed when the token endpoint gives no `expires_in`.
pub(crate) const DEFAULT_EXPIRES_IN: u64 = 3600;

/// The longest an access token is taken to live, whatever `expires_in` says: Auth0's own
/// maximum for an API's tokens (30 days). A provider's `expires_in` of years (or
/// `u64::MAX`) would else keep a token in the session, unrefreshed, long after it stops
/// working.
pub(crate) const MAX_EXPIRES_IN: u64 = 30 * 24 * 3600;

/// When a token the token endpoint answered `expires_in` for (at `now`, unix seconds)
/// expires: [`DEFAULT_EXPIRES_IN`] when it said nothing, at most [`MAX_EXPIRES_IN`] ahead.
/// `0` is `now`: already expired, so the next request asks again (never the same request in
/// a loop).
pub(crate) fn expires_at(now: u64, expires_in: Option<u64>) -> u64 {
    now.saturating_add(expires_in.unwrap_or(DEFAULT_EXPIRES_IN).min(MAX_EXPIRES_IN))
}

#[derive(Deserialize)]
struct ParResponse {
    request_uri: String,
}

pub(super) fn random_token() -> String {
    B64.encode(random_bytes::<32>())
}

/// `openid` first, then the rest, without duplicates.
pub(crate) fn merge_scopes(parts: &[Option<&str>]) -> String {
    let mut out: Vec<&str> = vec!["openid"];
    for part in parts.iter().flatten() {
        for scope in part.split_whitespace() {
            if !out.contains(&scope) {
                out.push(scope);
            }
        }
    }
    out.join(" ")
}

impl ServerClient {
    pub(crate) fn transaction_key(&self, state: &str) -> String {
        format!("{}:{state}", self.inner.config.transaction_identifier)
    }

    /// Starts a login: stores the transaction and returns the URL to send the browser to.
    ///
    /// PKCE (S256), `state` and `nonce` are always used; `openid` is always in the scope.
    ///
    /// # Errors
    ///
    /// The provider's metadata cannot be had, PAR fails, or the store fails;
    /// [`Error::InvalidArgument`] for a blank or conflicting organization, a `max_age` that
    /// is not whole seconds, or `authorization_details` that is not an array of typed objects.
    #[tracing::instrument(name = "oidc.start_login", skip_all)]
    pub async fn start_interactive_login(
        &self,
        options: StartLoginOptions,
        cx: &StoreContext,
    ) -> Result<Url, Error> {
        let started = self
            .under_request_domain(cx, self.start_login_under_domain(options, cx))
            .await;
        meters::login(LoginFlow::Interactive, LoginStep::Start, &started);
        started
    }

    async fn start_login_under_domain(
        &self,
        options: StartLoginOptions,
        cx: &StoreContext,
    ) -> Result<Url, Error> {
        let config = &self.inner.config;
        let metadata = self.provider().metadata().await?;
        let state = random_token();
        let nonce = random_token();
        let verifier = random_token();
        let challenge = B64.encode(Sha256::digest(verifier.as_bytes()));
        let redirect_uri = match &options.redirect_uri {
            Some(uri) => Url::parse(uri).map_err(|_| {
                Error::InvalidArgument(format!("redirect_uri {uri:?} is not an absolute URL"))
            })?,
            None => self
                .redirect_uri_for(cx)
                .await?
                .ok_or(super::config::MISSING_REDIRECT_URI)?,
        };
        let LoginPlan {
            mut params,
            audience,
            organization,
            max_age,
        } = self.login_plan(&options)?;
        params.insert("client_id".to_owned(), config.client_id.clone());
        params.insert("redirect_uri".to_owned(), redirect_uri.to_string());
        params.insert("response_type".to_owned(), "code".to_owned());
        params.insert("state".to_owned(), state.clone());
        params.insert("nonce".to_owned(), nonce.clone());
        params.insert("code_challenge".to_owned(), challenge);
        params.insert("code_challenge_method".to_owned(), "S256".to_owned());
        let pushed = options
            .pushed_authorization_requests
            .unwrap_or(config.pushed_authorization_requests);
        let url = self.authorization_url(&metadata, &params, pushed).await?;
        let transaction = TransactionData {
            code_verifier: Some(verifier),
            nonce: Some(nonce),
            app_state: options.app_state,
            audience,
            redirect_uri: Some(redirect_uri.to_string()),
            domain: Some(self.provider().domain().to_owned()),
            organization,
            max_age,
            ..TransactionData::default()
        };
        self.inner
            .transaction_store
            .set(&self.transaction_key(&state), &transaction, cx)
            .await?;
        Ok(url)
    }

    /// What a login asks for besides the protocol's own parameters: the configured and the
    /// per-login authorization parameters (reserved ones dropped, JSON values as JSON text),
    /// the merged scope, the audience (typed, else an `audience` parameter, per login first)
    /// and the organization.
    pub(super) fn login_plan(&self, options: &StartLoginOptions) -> Result<LoginPlan, Error> {
        let config = &self.inner.config;
        let mut merged = AuthorizationParams::new();
        for (name, value) in config
            .authorization_params
            .iter()
            .chain(&options.authorization_params)
        {
            if !RESERVED_PARAMS.contains(&name.as_str()) {
                merged.insert(name.clone(), value.clone());
            }
        }
        for (name, value) in &merged {
            check_param(name, value).map_err(Error::InvalidArgument)?;
        }
        let max_age = merged.get("max_age").map(parse_max_age).transpose()?;
        if let Some(details) = merged.get(AUTHORIZATION_DETAILS) {
            check_authorization_details(details).map_err(|e| {
                Error::InvalidArgument(format!(
                    "authorization_details: {e}; give a JSON array of objects with a \"type\" \
                     (RFC 9396)"
                ))
            })?;
        }
        let audience = options
            .audience
            .clone()
            .or_else(|| audience_param(&options.authorization_params))
            .or_else(|| config.audience.clone())
            .or_else(|| audience_param(&config.authorization_params));
        let organization =
            login_organization(config.organization.as_deref(), asked_organization(options)?)?;
        if let Some(invitation) = options.invitation.as_deref().filter(|i| !i.is_empty()) {
            merged.insert("invitation".to_owned(), invitation.into());
        }
        let scope = self.login_scope(options, audience.as_deref());
        let mut params: BTreeMap<String, String> = merged
            .iter()
            .filter(|(name, _)| !matches!(name.as_str(), "scope" | "organization" | "audience"))
            .map(|(name, value)| (name.clone(), value.to_wire()))
            .collect();
        params.insert("scope".to_owned(), scope);
        if let Some(organization) = &organization {
            params.insert("organization".to_owned(), organization.clone());
        }
        if let Some(audience) = &audience {
            params.insert("audience".to_owned(), audience.clone());
        }
        Ok(LoginPlan {
            params,
            audience,
            organization,
            max_age,
        })
    }

    /// The login's scope: `openid`, the configured scope, the `scope` authorization parameter
    /// of the configuration and of the login (for `audience`, when a map), and the login's
    /// own scope.
    fn login_scope(&self, options: &StartLoginOptions, audience: Option<&str>) -> String {
        let scope_of = |params: &AuthorizationParams| {
            params
                .get("scope")
                .and_then(|s| scope_for_audience(s, audience).map(str::to_owned))
        };
        merge_scopes(&[
            Some(self.inner.config.scope.as_str()),
            scope_of(&self.inner.config.authorization_params).as_deref(),
            scope_of(&options.authorization_params).as_deref(),
            options.scope.as_deref(),
        ])
    }

    /// The URL to send the browser to: the authorization endpoint with the parameters, or
    /// with a `request_uri` for them when pushed authorization requests are on.
    pub(super) async fn authorization_url(
        &self,
        metadata: &ProviderMetadata,
        params: &BTreeMap<String, String>,
        pushed: bool,
    ) -> Result<Url, Error> {
        let config = &self.inner.config;
        let mut url =
            Url::parse(&metadata.authorization_endpoint).map_err(|e| Error::Discovery {
                document: "openid-configuration",
                reason: format!("authorization_endpoint is not a URL: {e}"),
            })?;
        if pushed {
            let endpoint = metadata
                .pushed_authorization_request_endpoint
                .clone()
                .ok_or_else(|| {
                    Error::Configuration(
                        "pushed authorization requests are on, but the provider has no \
                         pushed_authorization_request_endpoint: turn them off or enable PAR"
                            .to_owned(),
                    )
                })?;
            let request_uri = self.push_authorization_request(&endpoint, params).await?;
            url.query_pairs_mut()
                .append_pair("client_id", &config.client_id)
                .append_pair("request_uri", &request_uri);
        } else {
            url.query_pairs_mut().extend_pairs(params.iter());
        }
        Ok(url)
    }

    async fn push_authorization_request(
        &self,
        endpoint: &str,
        params: &BTreeMap<String, String>,
    ) -> Result<String, Error> {
        let form: Vec<(String, String)> =
            params.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        match self
            .request_as_client::<ParResponse>(endpoint, &form, Retry::Unprocessed)
            .await?
        {
            TokenAnswer::Ok(par) => Ok(par.request_uri),
            TokenAnswer::Err { status, body } => Err(Error::TokenEndpoint {
                error: body.error,
                description: body.error_description,
                status,
            }),
        }
    }

    /// Completes a login from the callback URL: checks `state`, `iss`, exchanges the code,
    /// validates the ID token, and stores the session under a fresh id.
    ///
    /// # Errors
    ///
    /// [`Error::MissingTransaction`] for a callback no login here started,
    /// [`Error::Authorization`] when the provider sent an error, [`Error::IssuerMismatch`],
    /// [`Error::TokenEndpoint`], [`Error::InvalidIdToken`] (also for an `auth_time` missing
    /// or too old when `max_age` was sent), [`Error::OrganizationMismatch`], or store
    /// failures.
    #[tracing::instrument(name = "oidc.complete_login", skip_all)]
    pub async fn complete_interactive_login(
        &self,
        callback_url: &str,
        cx: &StoreContext,
    ) -> Result<LoginResult, Error> {
        let completed = self
            .under_request_domain(cx, self.complete_login_under_domain(callback_url, cx))
            .await;
        meters::login(LoginFlow::Interactive, LoginStep::Complete, &completed);
        completed
    }

    async fn complete_login_under_domain(
        &self,
        callback_url: &str,
        cx: &StoreContext,
    ) -> Result<LoginResult, Error> {
        let config = &self.inner.config;
        let query = self.callback_query(callback_url)?;
        let transaction = self.redeem_transaction(&query, None, cx).await?;
        let metadata = self.provider().metadata().await?;
        let code = check_callback(&query, &metadata)?;
        let tokens = self.exchange_code(code, &transaction, &metadata).await?;
        let (id_token, claims) = self
            .validate_login(&tokens, &transaction, &metadata)
            .await?;
        let user = user_claims(&claims)?;
        let authorization_details = tokens.authorization_details.clone();
        let state_data = self.login_session(tokens, id_token, &claims, &user, &transaction);
        self.inner
            .state_store
            .set(&config.state_identifier, &state_data, true, cx)
            .await?;
        // Abandoned logins (other tabs) go too, so their cookies do not pile up.
        self.inner
            .transaction_store
            .clear(&config.transaction_identifier, cx)
            .await?;
        tracing::info!("login completed");
        Ok(LoginResult {
            app_state: transaction.app_state,
            organization: user.organization(),
            user,
            authorization_details,
        })
    }

    /// Redeems the transaction a callback's `state` names, for the flow `mark` (`None`: a
    /// login; `Some("link")`/`Some("unlink")`: an account link): one use only, whatever
    /// happens next, and only in the browser, domain and site that started it (stores bind
    /// transactions to the browser, so a callback URL opened in another browser finds none).
    /// A transaction of another flow is refused and left in place, so the app can give the
    /// same callback to the right function.
    pub(super) async fn redeem_transaction(
        &self,
        query: &BTreeMap<String, String>,
        mark: Option<&str>,
        cx: &StoreContext,
    ) -> Result<TransactionData, Error> {
        let state = query
            .get("state")
            .filter(|s| !s.is_empty())
            .ok_or(Error::MissingTransaction)?;
        let key = self.transaction_key(state);
        let store = &self.inner.transaction_store;
        let peeked = store
            .get(&key, cx)
            .await?
            .ok_or(Error::MissingTransaction)?;
        check_flow(&peeked, mark)?;
        let transaction = store
            .take(&key, cx)
            .await?
            .ok_or(Error::MissingTransaction)?;
        check_flow(&transaction, mark)?;
        self.check_transaction_domain(transaction.domain.as_deref())?;
        self.check_transaction_site(transaction.redirect_uri.as_deref(), cx)
            .await?;
        Ok(transaction)
    }

    /// The callback URL's query (the URL may be relative to the redirect URI).
    pub(super) fn callback_query(
        &self,
        callback_url: &str,
    ) -> Result<BTreeMap<String, String>, Error> {
        let base = self.inner.config.redirect_uri.as_ref();
        let url = Url::parse(callback_url)
            .ok()
            .or_else(|| base.and_then(|base| base.join(callback_url).ok()))
            .ok_or_else(|| Error::InvalidCallback("it is not a URL".to_owned()))?;
        Ok(url.query_pairs().into_owned().collect())
    }

    /// Exchanges the authorization code (with the PKCE verifier) at the token endpoint.
    pub(super) async fn exchange_code(
        &self,
        code: &str,
        transaction: &TransactionData,
        metadata: &ProviderMetadata,
    ) -> Result<TokenResponse, Error> {
        let redirect_uri = transaction
            .redirect_uri
            .clone()
            .or_else(|| self.inner.config.redirect_uri.as_ref().map(Url::to_string))
            .ok_or(super::config::MISSING_REDIRECT_URI)?;
        let mut form = vec![
            ("grant_type".to_owned(), "authorization_code".to_owned()),
            ("code".to_owned(), code.to_owned()),
            ("redirect_uri".to_owned(), redirect_uri),
        ];
        if let Some(verifier) = &transaction.code_verifier {
            form.push(("code_verifier".to_owned(), verifier.clone()));
        }
        let endpoint = &metadata.token_endpoint;
        match self
            .request_as_client::<TokenResponse>(endpoint, &form, Retry::Unprocessed)
            .await?
        {
            TokenAnswer::Ok(tokens) => Ok(tokens),
            TokenAnswer::Err { body, .. } if body.error == "mfa_required" => Err(self
                .mfa_required(
                    body.error_description,
                    body.mfa_token.as_ref(),
                    body.mfa_requirements.as_ref(),
                    transaction.audience.as_deref().unwrap_or(DEFAULT_AUDIENCE),
                    "",
                )),
            TokenAnswer::Err { status, body } => Err(Error::TokenEndpoint {
                error: body.error,
                description: body.error_description,
                status,
            }),
        }
    }

    /// The login's ID token, validated with what the login asked for (nonce, `max_age`,
    /// organization), and its claims.
    pub(super) async fn validate_login(
        &self,
        tokens: &TokenResponse,
        transaction: &TransactionData,
        metadata: &ProviderMetadata,
    ) -> Result<(String, Map<String, Value>), Error> {
        let id_token = tokens.id_token.clone().ok_or_else(|| {
            Error::InvalidIdToken("the token response has no ID token".to_owned())
        })?;
        let claims = self
            .validate_id_token(&id_token, &metadata.issuer, transaction.nonce.as_deref())
            .await?;
        let leeway = self.inner.config.leeway;
        jwt::check_auth_time(&claims, transaction.max_age, self.now(), leeway)
            .map_err(Error::InvalidIdToken)?;
        if let Some(organization) = &transaction.organization {
            jwt::check_organization(&claims, organization).map_err(Error::OrganizationMismatch)?;
        }
        Ok((id_token, claims))
    }

    /// The session a completed login starts.
    pub(super) fn login_session(
        &self,
        tokens: TokenResponse,
        id_token: String,
        claims: &Map<String, Value>,
        user: &UserClaims,
        transaction: &TransactionData,
    ) -> StateData {
        let now = self.now();
        let sid = claims
            .get("sid")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .unwrap_or_else(random_token);
        StateData {
            token_sets: vec![TokenSet {
                audience: transaction
                    .audience
                    .clone()
                    .unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned()),
                access_token: tokens.access_token,
                scope: tokens.scope,
                expires_at: expires_at(now, tokens.expires_in),
                extra: token_set_extra(tokens.authorization_details.as_ref()),
            }],
            id_token: Some(id_token),
            refresh_token: tokens.refresh_token,
            domain: Some(self.provider().domain().to_owned()),
            internal: Internal {
                sid,
                created_at: now,
                session_expires_at: user.session_expiry.and_then(|v| u64::try_from(v).ok()),
                extra: Map::new(),
            },
            user: Some(user.clone()),
            ..StateData::default()
        }
    }

    /// Validates an ID token (signature, algorithm, `iss`, `aud`, `azp`, times, `sub`, and
    /// `nonce` when given) and returns its claims.
    pub(crate) async fn validate_id_token(
        &self,
        token: &str,
        issuer: &str,
        nonce: Option<&str>,
    ) -> Result<Map<String, Value>, Error> {
        let config = &self.inner.config;
        let expect = Expectations {
            issuer,
            client_id: &config.client_id,
            algorithms: &config.id_token_algorithms,
            leeway: config.leeway,
            now: self.now(),
        };
        let (_, claims) = jwt::verify(token, &self.provider(), &expect)
            .await
            .map_err(|e| match e {
                VerifyError::Invalid(reason) => Error::InvalidIdToken(reason),
                VerifyError::Provider(e) => e,
            })?;
        jwt::check_id_token(&claims, nonce).map_err(Error::InvalidIdToken)?;
        Ok(claims)
    }
}

/// Checks the provider's answer in the callback (`iss` per RFC 9207, an `error`) and returns
/// its authorization code.
pub(super) fn check_callback<'q>(
    query: &'q BTreeMap<String, String>,
    metadata: &ProviderMetadata,
) -> Result<&'q str, Error> {
    match query.get("iss") {
        Some(iss) if *iss != metadata.issuer => {
            return Err(Error::IssuerMismatch {
                expected: metadata.issuer.clone(),
                actual: iss.clone(),
            });
        }
        None if metadata.authorization_response_iss_parameter_supported => {
            return Err(Error::InvalidCallback(
                "the provider sends `iss` with every callback, and this one has none".to_owned(),
            ));
        }
        _ => {}
    }
    if let Some(error) = query.get("error") {
        return Err(Error::Authorization {
            error: error.clone(),
            description: query.get("error_description").cloned(),
        });
    }
    query
        .get("code")
        .filter(|c| !c.is_empty())
        .map(String::as_str)
        .ok_or_else(|| Error::InvalidCallback("it has no authorization code".to_owned()))
}

/// The transaction field that marks an account link's transaction (`"link"` or
/// `"unlink"`); a login's has none.
pub(super) const TRANSACTION_MARK: &str = "account_linking";

/// Refuses a transaction of another flow than `mark` ([`redeem_transaction`]).
///
/// [`redeem_transaction`]: ServerClient::redeem_transaction
fn check_flow(transaction: &TransactionData, mark: Option<&str>) -> Result<(), Error> {
    let started = transaction
        .extra
        .get(TRANSACTION_MARK)
        .and_then(Value::as_str);
    if started == mark {
        return Ok(());
    }
    Err(Error::CallbackOfAnotherFlow {
        complete_with: match started {
            Some("link") => "complete_link_user",
            Some("unlink") => "complete_unlink_user",
            _ => "complete_interactive_login",
        },
    })
}

/// The organization a login asks for. An organization in the configuration pins every login
/// to it: a login may repeat it (or leave it empty) but not name another, so that a
/// `?organization=` from the browser (the axum `/login` forwards it) cannot take a user of
/// another organization in, nor drop the check.
pub(super) fn login_organization(
    configured: Option<&str>,
    asked: Option<&str>,
) -> Result<Option<String>, Error> {
    let configured = configured.filter(|o| !o.is_empty());
    let asked = asked.filter(|o| !o.is_empty());
    match (configured, asked) {
        (Some(pinned), Some(other)) if other != pinned => Err(Error::InvalidArgument(format!(
            "this app logs in to the organization {pinned:?} only, and a login asked for \
             {other:?}: drop the per-login `organization`, or the one in the configuration"
        ))),
        (Some(pinned), _) => Ok(Some(pinned.to_owned())),
        (None, asked) => Ok(asked.map(str::to_owned)),
    }
}

/// The organization one login asks for: [`StartLoginOptions::organization`] (which must not
/// be blank), else its `organization` authorization parameter (a string; empty is none, as
/// a browser's `?organization=` may be).
fn asked_organization(options: &StartLoginOptions) -> Result<Option<&str>, Error> {
    if let Some(organization) = &options.organization {
        if organization.trim().is_empty() {
            return Err(Error::InvalidArgument(
                "organization must not be blank: give its id (org_…) or its name, or none"
                    .to_owned(),
            ));
        }
        return Ok(Some(organization));
    }
    match options.authorization_params.get("organization") {
        None => Ok(None),
        Some(value) if value.is_blank() => Ok(None),
        Some(value) => value.as_str().map(Some).ok_or_else(|| {
            Error::InvalidArgument(
                "the organization authorization parameter must be a string: its id (org_…) \
                 or its name"
                    .to_owned(),
            )
        }),
    }
}

/// The user's profile from ID-token claims: everything but the protocol claims.
pub(crate) fn user_claims(claims: &Map<String, Value>) -> Result<UserClaims, Error> {
    let profile: Map<String, Value> = claims
        .iter()
        .filter(|(k, _)| !PROTOCOL_CLAIMS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    serde_json::from_value(Value::Object(profile))
        .map_err(|e| Error::InvalidIdToken(format!("its claims are not a profile: {e}")))
}

#[cfg(test)]
mod tests {
    use super::{TokenResponse, merge_scopes};

    #[test]
    fn odd_expires_in_values_never_fail_the_token_response() {
        let read = |v: serde_json::Value| {
            serde_json::from_value::<TokenResponse>(
                serde_json::json!({"access_token": "a", "expires_in": v}),
            )
            .map(|t| t.expires_in)
            .unwrap()
        };
        assert_eq!(read(serde_json::json!(3600)), Some(3600));
        assert_eq!(read(serde_json::json!(u64::MAX)), Some(u64::MAX));
        assert_eq!(read(serde_json::json!(1.0e30)), Some(u64::MAX));
        assert_eq!(read(serde_json::json!(-5)), Some(0));
        assert_eq!(read(serde_json::json!("120")), Some(120));
        assert_eq!(read(serde_json::json!("soon")), None);
        assert_eq!(read(serde_json::json!(null)), None);
        assert_eq!(read(serde_json::json!({})), None);
    }

    #[test]
    fn openid_is_always_first_and_scopes_are_not_repeated() {
        assert_eq!(
            merge_scopes(&[Some("profile email"), None]),
            "openid profile email"
        );
        assert_eq!(
            merge_scopes(&[Some("email openid"), Some("offline_access email")]),
            "openid email offline_access"
        );
        assert_eq!(merge_scopes(&[]), "openid");
    }
}
