//! Interactive login: the redirect to the provider and the callback.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use url::Url;

use super::config::TokenEndpointAuth;
use super::http::{Retry, TokenAnswer};
use super::jwt::{self, Expectations, VerifyError};
use super::{Error, ProviderMetadata, ServerClient};
use crate::model::{DEFAULT_AUDIENCE, Internal, StateData, TokenSet, TransactionData, UserClaims};
use crate::seal::random_bytes;
use crate::store::StoreContext;

/// Authorization parameters the SDK sets itself; callers' values for them are ignored.
pub(crate) const RESERVED_PARAMS: &[&str] = &[
    "client_id",
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
#[derive(Clone, Debug, Default)]
pub struct StartLoginOptions {
    /// Anything to get back after the login (for example where to return to).
    pub app_state: Option<Value>,
    /// The API the access token is for (else the configured audience).
    pub audience: Option<String>,
    /// Scopes on top of the configured ones.
    pub scope: Option<String>,
    /// Other authorization parameters (`prompt`, `login_hint`, `organization`, `max_age`, …).
    ///
    /// With `organization` (here or in the configuration), the ID token must carry it:
    /// `org_id` equal to it for an `org_…` id, else `org_name` equal to it ignoring case.
    /// With `max_age`, the ID token must carry an `auth_time` no older than that (plus the
    /// leeway).
    pub authorization_params: BTreeMap<String, String>,
    /// Another callback URL than the configured one.
    pub redirect_uri: Option<String>,
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

/// The outcome of a completed login.
#[derive(Clone, Debug)]
pub struct LoginResult {
    /// The `app_state` given at the start of the login.
    pub app_state: Option<Value>,
    /// The logged-in user.
    pub user: UserClaims,
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

/// Reads a `max_age` authorization parameter: whole seconds.
pub(crate) fn parse_max_age(value: &str) -> Result<u64, Error> {
    value.trim().parse::<u64>().map_err(|_| {
        Error::InvalidArgument(format!(
            "max_age {value:?} is not a whole number of seconds: give e.g. \"300\""
        ))
    })
}

/// The access token's lifetime assumed when the token endpoint gives no `expires_in`.
pub(crate) const DEFAULT_EXPIRES_IN: u64 = 3600;

#[derive(Deserialize)]
struct ParResponse {
    request_uri: String,
}

fn random_token() -> String {
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

    /// Adds the client's credentials to a token-endpoint request.
    pub(crate) fn authenticate(
        &self,
        request: reqwest::RequestBuilder,
        form: &mut Vec<(String, String)>,
    ) -> reqwest::RequestBuilder {
        let config = &self.inner.config;
        match config.token_endpoint_auth {
            TokenEndpointAuth::ClientSecretBasic => {
                let encode = |s: &str| {
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                };
                request.basic_auth(
                    encode(&config.client_id),
                    Some(encode(&config.client_secret.0)),
                )
            }
            TokenEndpointAuth::ClientSecretPost => {
                form.push(("client_id".to_owned(), config.client_id.clone()));
                form.push(("client_secret".to_owned(), config.client_secret.0.clone()));
                request
            }
        }
    }

    /// Starts a login: stores the transaction and returns the URL to send the browser to.
    ///
    /// PKCE (S256), `state` and `nonce` are always used; `openid` is always in the scope.
    ///
    /// # Errors
    ///
    /// The provider's metadata cannot be had, PAR fails, or the store fails.
    #[tracing::instrument(name = "oidc.start_login", skip_all)]
    pub async fn start_interactive_login(
        &self,
        options: StartLoginOptions,
        cx: &StoreContext,
    ) -> Result<Url, Error> {
        let config = &self.inner.config;
        let metadata = self.inner.provider.metadata().await?;
        let state = random_token();
        let nonce = random_token();
        let verifier = random_token();
        let challenge = B64.encode(Sha256::digest(verifier.as_bytes()));
        let redirect_uri = match &options.redirect_uri {
            Some(uri) => Url::parse(uri).map_err(|_| {
                Error::InvalidArgument(format!("redirect_uri {uri:?} is not an absolute URL"))
            })?,
            None => config
                .redirect_uri
                .clone()
                .ok_or(super::config::MISSING_REDIRECT_URI)?,
        };
        let audience = options.audience.clone().or_else(|| config.audience.clone());

        let mut params: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in config
            .authorization_params
            .iter()
            .chain(&options.authorization_params)
        {
            if !RESERVED_PARAMS.contains(&name.as_str()) {
                params.insert(name.clone(), value.clone());
            }
        }
        let max_age = params
            .get("max_age")
            .map(|v| parse_max_age(v))
            .transpose()?;
        let organization = login_organization(
            config.authorization_params.get("organization"),
            options.authorization_params.get("organization"),
        )?;
        match &organization {
            Some(organization) => params.insert("organization".to_owned(), organization.clone()),
            None => params.remove("organization"),
        };
        let extra_scope = params.remove("scope");
        params.insert(
            "scope".to_owned(),
            merge_scopes(&[
                Some(config.scope.as_str()),
                extra_scope.as_deref(),
                options.scope.as_deref(),
            ]),
        );
        if let Some(audience) = &audience {
            params.insert("audience".to_owned(), audience.clone());
        }
        params.insert("client_id".to_owned(), config.client_id.clone());
        params.insert("redirect_uri".to_owned(), redirect_uri.to_string());
        params.insert("response_type".to_owned(), "code".to_owned());
        params.insert("state".to_owned(), state.clone());
        params.insert("nonce".to_owned(), nonce.clone());
        params.insert("code_challenge".to_owned(), challenge);
        params.insert("code_challenge_method".to_owned(), "S256".to_owned());

        let mut url =
            Url::parse(&metadata.authorization_endpoint).map_err(|e| Error::Discovery {
                document: "openid-configuration",
                reason: format!("authorization_endpoint is not a URL: {e}"),
            })?;
        let pushed = options
            .pushed_authorization_requests
            .unwrap_or(config.pushed_authorization_requests);
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
            let request_uri = self.push_authorization_request(&endpoint, &params).await?;
            url.query_pairs_mut()
                .append_pair("client_id", &config.client_id)
                .append_pair("request_uri", &request_uri);
        } else {
            url.query_pairs_mut().extend_pairs(params.iter());
        }

        let transaction = TransactionData {
            code_verifier: Some(verifier),
            nonce: Some(nonce),
            app_state: options.app_state,
            audience,
            redirect_uri: Some(redirect_uri.to_string()),
            domain: Some(config.domain.clone()),
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

    async fn push_authorization_request(
        &self,
        endpoint: &str,
        params: &BTreeMap<String, String>,
    ) -> Result<String, Error> {
        let response = self
            .inner
            .provider
            .http()
            .send(endpoint, Retry::Unprocessed, |c| {
                let mut form: Vec<(String, String)> =
                    params.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                let request = self.authenticate(c.post(endpoint), &mut form);
                request.form(&form)
            })
            .await?;
        match super::http::Http::token_answer::<ParResponse>(response, endpoint).await? {
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
        let config = &self.inner.config;
        let query = self.callback_query(callback_url)?;
        let state = query
            .get("state")
            .filter(|s| !s.is_empty())
            .ok_or(Error::MissingTransaction)?;
        // One use only, whatever happens next. Stores bind transactions to the browser that
        // started the login, so a callback URL opened in another browser finds none.
        let transaction = self
            .inner
            .transaction_store
            .take(&self.transaction_key(state), cx)
            .await?
            .ok_or(Error::MissingTransaction)?;
        let metadata = self.inner.provider.metadata().await?;
        let code = check_callback(&query, &metadata)?;
        let tokens = self.exchange_code(code, &transaction, &metadata).await?;
        let (id_token, claims) = self
            .validate_login(&tokens, &transaction, &metadata)
            .await?;
        let user = user_claims(&claims)?;
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
            user,
        })
    }

    /// The callback URL's query (the URL may be relative to the redirect URI).
    fn callback_query(&self, callback_url: &str) -> Result<BTreeMap<String, String>, Error> {
        let base = self.inner.config.redirect_uri.as_ref();
        let url = Url::parse(callback_url)
            .ok()
            .or_else(|| base.and_then(|base| base.join(callback_url).ok()))
            .ok_or_else(|| Error::InvalidCallback("it is not a URL".to_owned()))?;
        Ok(url.query_pairs().into_owned().collect())
    }

    /// Exchanges the authorization code (with the PKCE verifier) at the token endpoint.
    async fn exchange_code(
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
        let endpoint = metadata.token_endpoint.clone();
        let response = self
            .inner
            .provider
            .http()
            .send(&endpoint, Retry::Unprocessed, |c| {
                let mut form = vec![
                    ("grant_type".to_owned(), "authorization_code".to_owned()),
                    ("code".to_owned(), code.to_owned()),
                    ("redirect_uri".to_owned(), redirect_uri.clone()),
                ];
                if let Some(verifier) = &transaction.code_verifier {
                    form.push(("code_verifier".to_owned(), verifier.clone()));
                }
                let request = self.authenticate(c.post(&endpoint), &mut form);
                request.form(&form)
            })
            .await?;
        match super::http::Http::token_answer::<TokenResponse>(response, &endpoint).await? {
            TokenAnswer::Ok(tokens) => Ok(tokens),
            TokenAnswer::Err { status, body } => Err(Error::TokenEndpoint {
                error: body.error,
                description: body.error_description,
                status,
            }),
        }
    }

    /// The login's ID token, validated with what the login asked for (nonce, `max_age`,
    /// organization), and its claims.
    async fn validate_login(
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
                expires_at: now.saturating_add(tokens.expires_in.unwrap_or(DEFAULT_EXPIRES_IN)),
                extra: Map::new(),
            }],
            id_token: Some(id_token),
            refresh_token: tokens.refresh_token,
            domain: Some(self.inner.config.domain.clone()),
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
        let (_, claims) = jwt::verify(token, &self.inner.provider, &expect)
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
fn check_callback<'q>(
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

/// The organization a login asks for. An organization in the configuration pins every login
/// to it: a login may repeat it (or leave it empty) but not name another, so that a
/// `?organization=` from the browser (the axum `/login` forwards it) cannot take a user of
/// another organization in, nor drop the check.
fn login_organization(
    configured: Option<&String>,
    asked: Option<&String>,
) -> Result<Option<String>, Error> {
    let configured = configured.filter(|o| !o.is_empty());
    let asked = asked.filter(|o| !o.is_empty());
    match (configured, asked) {
        (Some(pinned), Some(other)) if other != pinned => Err(Error::InvalidArgument(format!(
            "this app logs in to the organization {pinned:?} only, and a login asked for \
             {other:?}: drop the per-login `organization`, or the one in the configuration"
        ))),
        (Some(pinned), _) => Ok(Some(pinned.clone())),
        (None, asked) => Ok(asked.cloned()),
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
