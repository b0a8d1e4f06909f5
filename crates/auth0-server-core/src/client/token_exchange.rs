//! Custom token exchange (RFC 8693 with the application's own `subject_token_type`):
//! [`ServerClient::custom_token_exchange`] trades a token of another system (a legacy
//! login, a partner's token) for the provider's tokens, and
//! [`ServerClient::login_with_custom_token_exchange`] starts a session from them, validated
//! as an interactive login's.

use serde_json::{Map, Value};

use super::exchange_answer::{Flow, token_response};
use super::http::Retry;
use super::login::{LoginResult, StartLoginOptions, user_claims};
use super::meters::{self, LoginFlow};
use super::{Error, ServerClient, TokenEndpointResponse, jwt};
use crate::model::TransactionData;
use crate::store::StoreContext;

/// The RFC 8693 token-exchange grant type.
pub const TOKEN_EXCHANGE_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// Form fields the SDK sets itself, which [`CustomTokenExchangeOptions::extra_params`] may
/// not name (the Python SDK's forbidden list, and the fields the options have).
const RESERVED_PARAMS: &[&str] = &[
    "grant_type",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "subject_token",
    "subject_token_type",
    "actor_token",
    "actor_token_type",
    "audience",
    "scope",
    "organization",
];

/// What [`ServerClient::custom_token_exchange`] sends. Its `Debug` never shows a token.
///
/// ```
/// use auth0_server_core::client::CustomTokenExchangeOptions;
/// let options = CustomTokenExchangeOptions::new("legacy-token-value", "urn:acme:legacy-token")
///     .audience("https://api.example.com")
///     .scope("read:messages");
/// assert!(!format!("{options:?}").contains("legacy-token-value"));
/// ```
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct CustomTokenExchangeOptions {
    /// The token to exchange, without `Bearer `.
    pub subject_token: String,
    /// Its type: the `subject_token_type` of the tenant's Custom Token Exchange Profile
    /// (`urn:acme:legacy-token`).
    pub subject_token_type: String,
    /// The API the access token is for.
    pub audience: Option<String>,
    /// The scopes asked for.
    pub scope: Option<String>,
    /// The acting party's token (delegation), without `Bearer `.
    pub actor_token: Option<String>,
    /// Its type; required with `actor_token`.
    pub actor_token_type: Option<String>,
    /// The organization (id `org_…` or name) the tokens are for.
    pub organization: Option<String>,
    /// Other form fields the exchange profile's Action reads.
    pub extra_params: Vec<(String, String)>,
}

impl std::fmt::Debug for CustomTokenExchangeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomTokenExchangeOptions")
            .field("subject_token", &"[redacted]")
            .field("subject_token_type", &self.subject_token_type)
            .field("audience", &self.audience)
            .field("scope", &self.scope)
            .field(
                "actor_token",
                &self.actor_token.as_ref().map(|_| "[redacted]"),
            )
            .field("actor_token_type", &self.actor_token_type)
            .field("organization", &self.organization)
            .field("extra_params", &self.extra_params.len())
            .finish()
    }
}

impl CustomTokenExchangeOptions {
    /// An exchange of `subject_token`, of type `subject_token_type`.
    ///
    /// ```
    /// use auth0_server_core::client::CustomTokenExchangeOptions;
    /// let options = CustomTokenExchangeOptions::new("legacy-token", "urn:acme:legacy-token");
    /// assert_eq!(options.subject_token_type, "urn:acme:legacy-token");
    /// ```
    pub fn new(subject_token: impl Into<String>, subject_token_type: impl Into<String>) -> Self {
        Self {
            subject_token: subject_token.into(),
            subject_token_type: subject_token_type.into(),
            ..Self::default()
        }
    }

    /// For the API `audience`.
    ///
    /// ```
    /// use auth0_server_core::client::CustomTokenExchangeOptions;
    /// let options = CustomTokenExchangeOptions::new("t", "urn:acme:legacy-token")
    ///     .audience("https://api.example.com");
    /// assert_eq!(options.audience.as_deref(), Some("https://api.example.com"));
    /// ```
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Asking for `scope` (space-separated).
    ///
    /// ```
    /// use auth0_server_core::client::CustomTokenExchangeOptions;
    /// let options = CustomTokenExchangeOptions::new("t", "urn:acme:legacy-token")
    ///     .scope("openid read:messages");
    /// assert_eq!(options.scope.as_deref(), Some("openid read:messages"));
    /// ```
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// With an acting party's token and its type (delegation, RFC 8693 §1.1).
    ///
    /// ```
    /// use auth0_server_core::client::CustomTokenExchangeOptions;
    /// let options = CustomTokenExchangeOptions::new("t", "urn:acme:agent-token")
    ///     .actor("service-token", "urn:ietf:params:oauth:token-type:access_token");
    /// assert!(!format!("{options:?}").contains("service-token"));
    /// ```
    pub fn actor(mut self, token: impl Into<String>, token_type: impl Into<String>) -> Self {
        self.actor_token = Some(token.into());
        self.actor_token_type = Some(token_type.into());
        self
    }

    /// For an organization (id `org_…` or name).
    ///
    /// ```
    /// use auth0_server_core::client::CustomTokenExchangeOptions;
    /// let options = CustomTokenExchangeOptions::new("t", "urn:acme:legacy-token")
    ///     .organization("org_abc123");
    /// assert_eq!(options.organization.as_deref(), Some("org_abc123"));
    /// ```
    pub fn organization(mut self, organization: impl Into<String>) -> Self {
        self.organization = Some(organization.into());
        self
    }

    /// Adds a form field the exchange profile's Action reads (`event.request.body`). A field
    /// the SDK sets itself (`grant_type`, `client_assertion`, `audience`, …) is refused when
    /// the exchange is made ([`Error::InvalidArgument`], nothing sent).
    ///
    /// ```
    /// use auth0_server_core::client::CustomTokenExchangeOptions;
    /// let options = CustomTokenExchangeOptions::new("t", "urn:acme:legacy-token")
    ///     .extra_param("device_id", "kiosk-7");
    /// assert_eq!(options.extra_params, [("device_id".to_owned(), "kiosk-7".to_owned())]);
    /// ```
    pub fn extra_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_params.push((name.into(), value.into()));
        self
    }

    /// The checks the Python SDK makes before sending anything.
    fn check(&self) -> Result<(), Error> {
        let bad = |what: &str| Err(Error::InvalidArgument(what.to_owned()));
        let bearer = |t: &str| t.trim_start().starts_with("Bearer ");
        if self.subject_token.trim().is_empty() {
            return bad("subject_token is empty: give the token to exchange");
        }
        if self.subject_token_type.trim().is_empty() {
            return bad("subject_token_type is empty: give the profile's token type (a URI)");
        }
        if bearer(&self.subject_token) {
            return bad("subject_token starts with 'Bearer ': give the token alone");
        }
        // A blank type is no type: an actor token with one is refused, not sent untyped.
        let actor_token_type = self
            .actor_token_type
            .as_deref()
            .filter(|t| !t.trim().is_empty());
        match (&self.actor_token, actor_token_type) {
            (Some(t), _) if t.trim().is_empty() => bad("actor_token is empty: give it, or none"),
            (Some(t), _) if bearer(t) => bad("actor_token starts with 'Bearer ': give it alone"),
            (Some(_), None) => bad("actor_token_type is required with actor_token"),
            (None, Some(_)) => bad("actor_token is required with actor_token_type"),
            _ => match self
                .extra_params
                .iter()
                .find(|(k, _)| RESERVED_PARAMS.contains(&k.as_str()))
            {
                Some((k, _)) => Err(Error::InvalidArgument(format!(
                    "extra_params may not set {k:?}: the SDK sets it (use the option of that name)"
                ))),
                None => Ok(()),
            },
        }
    }

    /// The form, in the Python SDK's order (client authentication is added when sending).
    fn form(&self) -> Vec<(String, String)> {
        let mut form = vec![
            (
                "grant_type".to_owned(),
                TOKEN_EXCHANGE_GRANT_TYPE.to_owned(),
            ),
            ("subject_token".to_owned(), self.subject_token.clone()),
            (
                "subject_token_type".to_owned(),
                self.subject_token_type.clone(),
            ),
        ];
        let optional = [
            ("audience", &self.audience),
            ("scope", &self.scope),
            ("actor_token", &self.actor_token),
            ("actor_token_type", &self.actor_token_type),
            ("organization", &self.organization),
        ];
        for (name, value) in optional {
            if let Some(value) = value.as_ref().filter(|v| !v.trim().is_empty()) {
                form.push((name.to_owned(), value.clone()));
            }
        }
        form.extend(self.extra_params.iter().cloned());
        form
    }
}

impl ServerClient {
    /// Exchanges a token of another system for the provider's tokens (RFC 8693 token
    /// exchange with the tenant's Custom Token Exchange Profile), without a session. An ID
    /// token in the answer is validated (signature, issuer, audience, times, and the
    /// organization asked for) before the answer is returned; its `issued_token_type` is in
    /// [`TokenEndpointResponse::extra`].
    ///
    /// ```no_run
    /// use auth0_server_core::client::{CustomTokenExchangeOptions, ServerClient};
    /// use auth0_server_core::store::StoreContext;
    ///
    /// # async fn demo(client: ServerClient, legacy: String) -> Result<(), auth0_server_core::client::Error> {
    /// let options = CustomTokenExchangeOptions::new(legacy, "urn:acme:legacy-token")
    ///     .audience("https://api.example.com");
    /// let tokens = client.custom_token_exchange(options, &StoreContext::new()).await?;
    /// let bearer = tokens.access_token;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] (nothing sent) for an empty token or type, a `Bearer `
    /// prefix, an actor token without its type or the reverse, or a reserved extra field;
    /// [`Error::CustomTokenExchange`] with the provider's refusal; [`Error::InvalidIdToken`];
    /// [`Error::OrganizationMismatch`]; [`Error::ClientAuthentication`]; network failures.
    #[tracing::instrument(name = "oidc.custom_token_exchange", skip_all, fields(subject_token_type = %options.subject_token_type))]
    pub async fn custom_token_exchange(
        &self,
        options: CustomTokenExchangeOptions,
        cx: &StoreContext,
    ) -> Result<TokenEndpointResponse, Error> {
        options.check()?;
        self.under_request_domain(cx, async {
            Ok(self.exchange_custom_token(&options).await?.response)
        })
        .await
    }

    /// Exchanges a token of another system (see
    /// [`custom_token_exchange`](Self::custom_token_exchange)) and starts a session in `cx`
    /// from the answer, as an interactive login does: the answer must have an ID token, valid
    /// as a login's is (and for the organization asked for, or the configured one). The
    /// scope, audience and organization asked for are those `/login` would ask for with
    /// `options`' (the configured scope and `authorization_params` included, so a configured
    /// `offline_access` gives the session a refresh token). The session replaces any in `cx`, under
    /// a new id.
    ///
    /// ```no_run
    /// use auth0_server_core::client::{CustomTokenExchangeOptions, ServerClient};
    /// use auth0_server_core::store::StoreContext;
    ///
    /// # async fn demo(client: ServerClient, legacy: String) -> Result<(), auth0_server_core::client::Error> {
    /// let cx = StoreContext::new();
    /// let options = CustomTokenExchangeOptions::new(legacy, "urn:acme:legacy-token");
    /// let login = client.login_with_custom_token_exchange(options, &cx).await?;
    /// println!("welcome {}", login.user.sub); // then send cx.take_changes() as Set-Cookie
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// Those of [`custom_token_exchange`](Self::custom_token_exchange),
    /// [`Error::InvalidIdToken`] when the answer has no ID token, and store failures.
    #[tracing::instrument(name = "oidc.login_with_custom_token_exchange", skip_all)]
    pub async fn login_with_custom_token_exchange(
        &self,
        options: CustomTokenExchangeOptions,
        cx: &StoreContext,
    ) -> Result<LoginResult, Error> {
        let logged_in = self.login_with_exchange_planned(options, cx).await;
        meters::one_call_login(LoginFlow::TokenExchange, &logged_in);
        logged_in
    }

    /// [`login_with_custom_token_exchange`](Self::login_with_custom_token_exchange)'s checks
    /// and plan, then the exchange under the request's domain.
    async fn login_with_exchange_planned(
        &self,
        mut options: CustomTokenExchangeOptions,
        cx: &StoreContext,
    ) -> Result<LoginResult, Error> {
        options.check()?;
        // What `/login` would ask for: the same scope, audience and organization resolution.
        let plan = self.login_plan(&StartLoginOptions {
            audience: options.audience.take(),
            scope: options.scope.take(),
            organization: options.organization.take(),
            ..StartLoginOptions::default()
        })?;
        options.scope = plan.params.get("scope").cloned();
        options.audience = plan.audience;
        options.organization = plan.organization;
        self.under_request_domain(cx, self.login_with_exchange_under_domain(options, cx))
            .await
    }

    async fn login_with_exchange_under_domain(
        &self,
        options: CustomTokenExchangeOptions,
        cx: &StoreContext,
    ) -> Result<LoginResult, Error> {
        let Exchanged { response, claims } = self.exchange_custom_token(&options).await?;
        let (Some(id_token), Some(claims)) = (response.id_token.clone(), claims) else {
            return Err(Error::InvalidIdToken(
                "the token exchange answered no ID token: ask for the openid scope".to_owned(),
            ));
        };
        let user = user_claims(&claims)?;
        let authorization_details = response.authorization_details.clone();
        let transaction = TransactionData {
            audience: options.audience.clone(),
            ..TransactionData::default()
        };
        let tokens = token_response(response);
        let state = self.login_session(tokens, id_token, &claims, &user, &transaction);
        let config = &self.inner.config;
        self.inner
            .state_store
            .set(&config.state_identifier, &state, true, cx)
            .await?;
        tracing::info!("login with custom token exchange completed");
        Ok(LoginResult {
            app_state: None,
            organization: user.organization(),
            user,
            authorization_details,
        })
    }

    /// The exchange at the token endpoint: the answer read and checked once (see
    /// [`Flow::read`]), and the claims of its ID token, validated (and its organization
    /// checked when one was asked for).
    async fn exchange_custom_token(
        &self,
        options: &CustomTokenExchangeOptions,
    ) -> Result<Exchanged, Error> {
        let metadata = self.provider().metadata().await?;
        // Not retried after any 5xx, not even a 503: a subject token may be good for one
        // exchange only, and the provider may have used it before failing.
        let answer = self
            .request_as_client::<Value>(&metadata.token_endpoint, &options.form(), Retry::Unsent)
            .await;
        let flow = Flow::Custom {
            subject_token: &options.subject_token,
        };
        let response = flow.read(answer, self.now())?;
        let claims = match &response.id_token {
            Some(id_token) => {
                let claims = self
                    .validate_id_token(id_token, &metadata.issuer, None)
                    .await?;
                check_organization(&claims, options.organization.as_deref())?;
                Some(claims)
            }
            None => None,
        };
        Ok(Exchanged { response, claims })
    }
}

/// A custom token exchange's answer, and its ID token's claims.
struct Exchanged {
    response: TokenEndpointResponse,
    claims: Option<Map<String, Value>>,
}

/// The ID token carries the organization asked for, when one was.
fn check_organization(claims: &Map<String, Value>, asked: Option<&str>) -> Result<(), Error> {
    match asked.filter(|o| !o.is_empty()) {
        Some(organization) => {
            jwt::check_organization(claims, organization).map_err(Error::OrganizationMismatch)
        }
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(options: CustomTokenExchangeOptions) -> String {
        match options.check() {
            Err(Error::InvalidArgument(message)) => message,
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }

    #[test]
    fn what_the_python_sdk_refuses_is_refused_before_sending() {
        let ok = || CustomTokenExchangeOptions::new("t", "urn:acme:legacy-token");
        assert!(ok().check().is_ok());
        assert!(refused(CustomTokenExchangeOptions::new(" ", "urn:x")).contains("subject_token"));
        assert!(refused(CustomTokenExchangeOptions::new("t", " ")).contains("subject_token_type"));
        assert!(refused(CustomTokenExchangeOptions::new("Bearer t", "urn:x")).contains("Bearer"));
        let mut no_type = ok();
        no_type.actor_token = Some("a".into());
        assert!(refused(no_type).contains("actor_token_type is required"));
        let mut no_token = ok();
        no_token.actor_token_type = Some("urn:x".into());
        assert!(refused(no_token).contains("actor_token is required"));
        assert!(refused(ok().actor(" ", "urn:x")).contains("empty"));
        let mut reserved = ok();
        reserved.extra_params = vec![("client_assertion".into(), "forged".into())];
        assert!(refused(reserved).contains("client_assertion"));
    }

    #[test]
    fn a_blank_actor_token_type_is_no_type() {
        let ok = || CustomTokenExchangeOptions::new("t", "urn:acme:legacy-token");
        assert!(refused(ok().actor("a", "")).contains("actor_token_type is required"));
        assert!(refused(ok().actor("a", "  ")).contains("actor_token_type is required"));
        let mut blank_type_alone = ok();
        blank_type_alone.actor_token_type = Some(String::new());
        assert!(
            blank_type_alone.check().is_ok(),
            "a blank type alone is none"
        );
        assert!(
            !blank_type_alone
                .form()
                .iter()
                .any(|(k, _)| k == "actor_token_type")
        );
    }

    #[test]
    fn extra_params_are_added_one_by_one() {
        let options = CustomTokenExchangeOptions::new("t", "urn:acme:legacy-token")
            .extra_param("device", "kiosk")
            .extra_param("locale", "fr");
        let form = options.form();
        assert!(form.contains(&("device".into(), "kiosk".into())));
        assert!(form.contains(&("locale".into(), "fr".into())));
        let reserved = CustomTokenExchangeOptions::new("t", "urn:acme:legacy-token")
            .extra_param("client_assertion", "forged");
        assert!(refused(reserved).contains("client_assertion"));
    }

    #[test]
    fn the_form_has_the_python_sdks_fields() {
        let mut options = CustomTokenExchangeOptions::new("subject", "urn:acme:legacy-token")
            .audience("https://api")
            .scope("read")
            .actor("actor", "urn:ietf:params:oauth:token-type:access_token")
            .organization("org_1");
        options.extra_params = vec![("device".into(), "kiosk".into())];
        let form = options.form();
        let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("grant_type"), Some(TOKEN_EXCHANGE_GRANT_TYPE));
        assert_eq!(get("subject_token"), Some("subject"));
        assert_eq!(get("subject_token_type"), Some("urn:acme:legacy-token"));
        assert_eq!(get("audience"), Some("https://api"));
        assert_eq!(get("scope"), Some("read"));
        assert_eq!(get("actor_token"), Some("actor"));
        assert_eq!(
            get("actor_token_type"),
            Some("urn:ietf:params:oauth:token-type:access_token")
        );
        assert_eq!(get("organization"), Some("org_1"));
        assert_eq!(get("device"), Some("kiosk"));
    }
}
