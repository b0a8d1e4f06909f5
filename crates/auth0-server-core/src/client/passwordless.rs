//! Passwordless login (Auth0's embedded passwordless, as the Python SDK's
//! `PasswordlessClient`): [`ServerClient::start_passwordless`] sends a one-time code by
//! e-mail or SMS, or a magic link by e-mail (`POST /passwordless/start`), and
//! [`ServerClient::verify_passwordless`] exchanges the code for tokens with the passwordless
//! OTP grant and starts a session, validated like an interactive login's. A magic link comes
//! back to the callback, completed by
//! [`complete_interactive_login`](ServerClient::complete_interactive_login).
//!
//! The e-mail address, phone number and code never show in `Debug`, errors or logs.

use std::fmt;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::http::{Http, Retry, TokenAnswer};
use super::login::{LoginResult, TokenResponse, random_token, user_claims};
use super::meters::{self, LoginFlow, LoginStep};
use super::params::AuthorizationParams;
use super::{Error, ServerClient};
use crate::model::{DEFAULT_AUDIENCE, TransactionData};
use crate::store::StoreContext;

/// The passwordless OTP grant type, sent to the token endpoint with the code.
pub const PASSWORDLESS_OTP_GRANT_TYPE: &str = "http://auth0.com/oauth/grant-type/passwordless/otp";
/// The scope of an e-mail code's tokens when none is given (the Python SDK's).
pub const DEFAULT_PASSWORDLESS_EMAIL_SCOPE: &str = "openid profile email";
/// The scope of an SMS code's tokens when none is given (no e-mail claim to ask for).
pub const DEFAULT_PASSWORDLESS_SMS_SCOPE: &str = "openid profile";
/// The header that tells Auth0 the end user's IP address (honoured when the application
/// trusts it: "Trust Token Endpoint IP Header").
pub const FORWARDED_FOR_HEADER: &str = "auth0-forwarded-for";
/// The `authParams` a caller may pass through (an allow-list, as the Python SDK's: a future
/// authorization parameter does not slip through unnoticed).
pub const PASSWORDLESS_AUTH_PARAMS: &[&str] = &[
    "audience",
    "login_hint",
    "ui_locales",
    "screen_hint",
    "prompt",
    "max_age",
    "acr_values",
    "scope",
];
/// The `state`-like key of a code's transaction (a `state` is 43 random characters, so it
/// never collides): one code login in progress per browser, the latest start's.
const CODE_TRANSACTION: &str = "passwordless-code";
/// The transaction field holding the recipient's digest (never the address itself).
const RECIPIENT_FIELD: &str = "passwordless_recipient";
/// The longest E.164 phone number: `+` and 15 digits.
const MAX_PHONE_DIGITS: usize = 15;

/// Where the code or link goes. Its `Debug` never shows the address or number.
///
/// ```
/// use auth0_server_core::client::PasswordlessRecipient;
///
/// let to = PasswordlessRecipient::Sms("+14155550100".into());
/// assert_eq!(to.connection(), "sms");
/// assert_eq!(format!("{to:?}"), "Sms([redacted])");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub enum PasswordlessRecipient {
    /// An e-mail address (the `email` connection).
    Email(String),
    /// A phone number in E.164 form, `+14155550100` (the `sms` connection).
    Sms(String),
}

impl fmt::Debug for PasswordlessRecipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Email(_) => f.write_str("Email([redacted])"),
            Self::Sms(_) => f.write_str("Sms([redacted])"),
        }
    }
}

impl PasswordlessRecipient {
    /// The connection: `email` or `sms`.
    pub fn connection(&self) -> &'static str {
        match self {
            Self::Email(_) => "email",
            Self::Sms(_) => "sms",
        }
    }

    /// The address or number.
    fn address(&self) -> &str {
        match self {
            Self::Email(a) | Self::Sms(a) => a.trim(),
        }
    }

    /// A digest naming the connection and the address (e-mail case-folded), kept in the
    /// code's transaction instead of the address.
    fn digest(&self) -> String {
        use base64::Engine as _;
        let named = format!("{}\0{}", self.connection(), self.address().to_lowercase());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(named))
    }

    /// The member naming the recipient in `/passwordless/start`.
    fn member(&self) -> &'static str {
        match self {
            Self::Email(_) => "email",
            Self::Sms(_) => "phone_number",
        }
    }

    fn check(&self) -> Result<(), Error> {
        let ok = match self {
            Self::Email(a) => a
                .trim()
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty() && !d.contains('@')),
            Self::Sms(n) => n.strip_prefix('+').is_some_and(|digits| {
                (2..=MAX_PHONE_DIGITS).contains(&digits.len())
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && !digits.starts_with('0')
            }),
        };
        ok.then_some(()).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "the {} is not usable: give an e-mail address, or a phone number in E.164 form \
                 (+14155550100)",
                self.member()
            ))
        })
    }
}

/// What is sent: a one-time code, or (e-mail only) a magic link.
///
/// ```
/// use auth0_server_core::client::PasswordlessSend;
///
/// assert_eq!(PasswordlessSend::default(), PasswordlessSend::Code);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PasswordlessSend {
    /// A code the user types into the app ([`ServerClient::verify_passwordless`]).
    #[default]
    Code,
    /// A link back to the app's callback (e-mail only).
    Link,
}

/// What [`ServerClient::start_passwordless`] is told.
///
/// ```
/// use auth0_server_core::client::{PasswordlessRecipient, PasswordlessSend, StartPasswordlessOptions};
///
/// let code = StartPasswordlessOptions::new(PasswordlessRecipient::Email("ada@example.com".into()));
/// let link = StartPasswordlessOptions {
///     send: PasswordlessSend::Link,
///     language: Some("fr".into()),
///     ..code.clone()
/// };
/// let mut hinted = link.clone();
/// hinted.auth_params.insert("login_hint".into(), "ada@example.com".into());
/// assert!(!format!("{link:?} {hinted:?}").contains("ada@"));
/// ```
#[derive(Clone)]
pub struct StartPasswordlessOptions {
    /// Where the code or link goes.
    pub recipient: PasswordlessRecipient,
    /// A code (the default) or a magic link.
    pub send: PasswordlessSend,
    /// Authorization parameters for the magic link's login ([`PASSWORDLESS_AUTH_PARAMS`]
    /// only; `scope` replaces [`DEFAULT_PASSWORDLESS_EMAIL_SCOPE`], `openid` always kept).
    pub auth_params: AuthorizationParams,
    /// The message's language, a BCP 47 tag (`x-request-language`).
    pub language: Option<String>,
    /// The end user's IP address, from a proxy you trust ([`FORWARDED_FOR_HEADER`]).
    pub client_ip: Option<String>,
    /// A CAPTCHA answer, when the tenant asks for one.
    pub captcha: Option<String>,
    /// For a magic link: anything to get back at the callback.
    pub app_state: Option<Value>,
}

/// Names only: `auth_params` may hold a `login_hint` (an e-mail address), and the IP and
/// CAPTCHA answer are the user's.
impl fmt::Debug for StartPasswordlessOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StartPasswordlessOptions")
            .field("recipient", &self.recipient)
            .field("send", &self.send)
            .field("auth_params", &self.auth_params.keys().collect::<Vec<_>>())
            .field("language", &self.language)
            .field("client_ip", &self.client_ip.as_ref().map(|_| "[redacted]"))
            .field("captcha", &self.captcha.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

impl StartPasswordlessOptions {
    /// A code for `recipient`, with nothing else set.
    pub fn new(recipient: PasswordlessRecipient) -> Self {
        Self {
            recipient,
            send: PasswordlessSend::Code,
            auth_params: AuthorizationParams::new(),
            language: None,
            client_ip: None,
            captcha: None,
            app_state: None,
        }
    }
}

/// What `/passwordless/start` answered: Auth0's request id (`_id`). Other members (which
/// repeat the address) are not kept.
///
/// ```
/// use auth0_server_core::client::PasswordlessStartResult;
///
/// let answer = serde_json::json!({"_id": "000001", "email": "ada@example.com"});
/// let result: PasswordlessStartResult = serde_json::from_value(answer)?;
/// assert_eq!(result.id.as_deref(), Some("000001"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, Default, Deserialize)]
#[non_exhaustive]
pub struct PasswordlessStartResult {
    /// The request's id.
    #[serde(rename = "_id", default)]
    pub id: Option<String>,
}

/// What [`ServerClient::verify_passwordless`] is told. Its `Debug` never shows the code or
/// the recipient.
///
/// ```
/// use auth0_server_core::client::{PasswordlessRecipient, VerifyPasswordlessOptions};
///
/// let options = VerifyPasswordlessOptions::new(
///     PasswordlessRecipient::Sms("+14155550100".into()),
///     "123456",
/// );
/// assert!(!format!("{options:?}").contains("123456"));
/// ```
#[derive(Clone)]
pub struct VerifyPasswordlessOptions {
    /// Where the code was sent (the `realm` and `username` of the grant).
    pub recipient: PasswordlessRecipient,
    /// The code the user typed.
    pub code: String,
    /// The scope (replaces the default of the connection; `openid` always kept).
    pub scope: Option<String>,
    /// The API the access token is for (else the configured audience).
    pub audience: Option<String>,
    /// The end user's IP address, from a proxy you trust ([`FORWARDED_FOR_HEADER`]).
    pub client_ip: Option<String>,
}

impl fmt::Debug for VerifyPasswordlessOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyPasswordlessOptions")
            .field("recipient", &self.recipient)
            .field("code", &"[redacted]")
            .field("scope", &self.scope)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl VerifyPasswordlessOptions {
    /// The code `code` sent to `recipient`, with nothing else set.
    pub fn new(recipient: PasswordlessRecipient, code: impl Into<String>) -> Self {
        Self {
            recipient,
            code: code.into(),
            scope: None,
            audience: None,
            client_ip: None,
        }
    }
}

/// `scope` with `openid` first when it lacks it, else as given.
fn with_openid(scope: &str) -> String {
    if scope.split_whitespace().any(|s| s == "openid") {
        scope.to_owned()
    } else {
        format!("openid {scope}").trim().to_owned()
    }
}

/// The caller's `authParams`, allow-listed.
fn checked_auth_params(params: &AuthorizationParams) -> Result<Map<String, Value>, Error> {
    let mut out = Map::new();
    for (name, value) in params {
        if !PASSWORDLESS_AUTH_PARAMS.contains(&name.as_str()) {
            return Err(Error::InvalidArgument(format!(
                "auth_params {name:?} is not passed through (the SDK sets redirect_uri, state \
                 and response_type itself; allowed: {})",
                PASSWORDLESS_AUTH_PARAMS.join(", ")
            )));
        }
        out.insert(name.clone(), Value::String(value.to_wire()));
    }
    Ok(out)
}

/// Headers of both requests: `x-request-language` and [`FORWARDED_FOR_HEADER`].
fn extra_headers(language: Option<&str>, client_ip: Option<&str>) -> Result<HeaderMap, Error> {
    let mut headers = HeaderMap::new();
    let bcp47 = |l: &str| {
        let mut parts = l.split('-');
        parts.next().is_some_and(|p| {
            (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic())
        }) && parts
            .all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
    };
    for (name, value, ok) in [
        ("x-request-language", language, language.is_none_or(bcp47)),
        (
            FORWARDED_FOR_HEADER,
            client_ip,
            client_ip.is_none_or(|ip| ip.trim().parse::<std::net::IpAddr>().is_ok()),
        ),
    ] {
        let Some(value) = value else { continue };
        let value = HeaderValue::from_str(value.trim())
            .ok()
            .filter(|_| ok)
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "{name} is not usable: give a BCP 47 language tag (fr, en-US) or an IP address"
                ))
            })?;
        headers.insert(HeaderName::from_static(name), value);
    }
    Ok(headers)
}

/// `Retry-After` in whole seconds, if sent.
fn retry_after(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The provider's error code, or the Python SDK's when its answer was not an OAuth error.
fn error_code(error: String, status: u16, fallback: &str) -> String {
    if error != format!("http_{status}") {
        error
    } else if status == 429 {
        "too_many_requests".to_owned()
    } else {
        fallback.to_owned()
    }
}

impl ServerClient {
    /// Sends a one-time code (e-mail or SMS) or a magic link (e-mail) to the user: `POST
    /// /passwordless/start` with the client's credentials in its JSON body (the Python SDK's
    /// `passwordless.start`). No session starts here: a code is then given to
    /// [`verify_passwordless`](Self::verify_passwordless); a magic link comes back to the
    /// callback with a code and `state`, completed by
    /// [`complete_interactive_login`](Self::complete_interactive_login) from the transaction
    /// stored in `cx` (this browser) once the provider accepted the request. A code's start
    /// stores a transaction too (a digest of the recipient, never the address): only this
    /// browser can then verify the code, so a code an attacker requested for their own
    /// address and posts cross-site logs nobody in (login CSRF). Protect the route that
    /// calls this, and the one that calls `verify_passwordless`, with an `Origin` check or a
    /// CSRF token all the same (docs/configuration.md).
    ///
    /// ```no_run
    /// use auth0_server_core::client::{PasswordlessRecipient, ServerClient, StartPasswordlessOptions};
    /// use auth0_server_core::store::StoreContext;
    ///
    /// # async fn demo(client: ServerClient, cx: StoreContext) -> Result<(), auth0_server_core::client::Error> {
    /// let to = PasswordlessRecipient::Email("ada@example.com".into());
    /// client.start_passwordless(StartPasswordlessOptions::new(to), &cx).await?;
    /// // show a form that asks for the code
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for an unusable address, number or language, an `auth_params`
    /// name not in [`PASSWORDLESS_AUTH_PARAMS`], or a link by SMS;
    /// [`Error::PasswordlessStart`] with the provider's refusal (`bad.connection`,
    /// `bad.email`, `too_many_requests` with its `retry_after`, …);
    /// [`Error::ClientAuthentication`]; network, discovery and store failures.
    #[tracing::instrument(name = "oidc.passwordless_start", skip_all, fields(connection = options.recipient.connection()))]
    pub async fn start_passwordless(
        &self,
        options: StartPasswordlessOptions,
        cx: &StoreContext,
    ) -> Result<PasswordlessStartResult, Error> {
        // A magic link completes at the callback, as an interactive login does.
        let flow = match options.send {
            PasswordlessSend::Link => LoginFlow::Interactive,
            PasswordlessSend::Code => LoginFlow::Passwordless,
        };
        let started = self
            .under_request_domain(cx, self.start_passwordless_under_domain(options, cx))
            .await;
        meters::login(flow, LoginStep::Start, &started);
        started
    }

    async fn start_passwordless_under_domain(
        &self,
        options: StartPasswordlessOptions,
        cx: &StoreContext,
    ) -> Result<PasswordlessStartResult, Error> {
        options.recipient.check()?;
        let headers = extra_headers(options.language.as_deref(), options.client_ip.as_deref())?;
        let recipient = &options.recipient;
        let mut body = Map::new();
        body.insert("connection".into(), recipient.connection().into());
        body.insert(recipient.member().into(), recipient.address().into());
        let mut auth_params = checked_auth_params(&options.auth_params)?;
        let link = match (recipient, options.send) {
            (PasswordlessRecipient::Email(_), send) => {
                let name = if send == PasswordlessSend::Link {
                    "link"
                } else {
                    "code"
                };
                body.insert("send".into(), name.into());
                send == PasswordlessSend::Link
            }
            (PasswordlessRecipient::Sms(_), PasswordlessSend::Code) => false,
            (PasswordlessRecipient::Sms(_), PasswordlessSend::Link) => {
                return Err(Error::InvalidArgument(
                    "a magic link goes by e-mail only: send a code by SMS".to_owned(),
                ));
            }
        };
        let transaction = if link {
            Some(
                self.magic_link_params(&mut auth_params, options.app_state, cx)
                    .await?,
            )
        } else {
            None
        };
        if !auth_params.is_empty() {
            body.insert("authParams".into(), Value::Object(auth_params));
        }
        if let Some(captcha) = options.captcha {
            body.insert("captcha".into(), captcha.into());
        }
        let result = self.post_passwordless_start(&body, &headers).await?;
        let (key, transaction) = match transaction {
            Some((state, transaction)) => (self.transaction_key(&state), transaction),
            None => (
                self.transaction_key(CODE_TRANSACTION),
                self.code_transaction(recipient),
            ),
        };
        self.inner
            .transaction_store
            .set(&key, &transaction, cx)
            .await?;
        Ok(result)
    }

    /// The transaction a code's [`verify_passwordless`](Self::verify_passwordless) redeems
    /// in this browser: the recipient's hash, the domain.
    fn code_transaction(&self, recipient: &PasswordlessRecipient) -> TransactionData {
        let mut transaction = TransactionData {
            domain: Some(self.provider().domain().to_owned()),
            ..TransactionData::default()
        };
        transaction
            .extra
            .insert(RECIPIENT_FIELD.to_owned(), recipient.digest().into());
        transaction
    }

    /// Takes this browser's code transaction for `recipient` (one use); a wrong recipient,
    /// domain or none at all is [`Error::MissingTransaction`].
    async fn take_code_transaction(
        &self,
        recipient: &PasswordlessRecipient,
        cx: &StoreContext,
    ) -> Result<TransactionData, Error> {
        let transaction = self
            .inner
            .transaction_store
            .take(&self.transaction_key(CODE_TRANSACTION), cx)
            .await?
            .ok_or(Error::MissingTransaction)?;
        let recorded = transaction
            .extra
            .get(RECIPIENT_FIELD)
            .and_then(Value::as_str);
        if recorded != Some(recipient.digest().as_str()) {
            return Err(Error::MissingTransaction);
        }
        self.check_transaction_domain(transaction.domain.as_deref())?;
        Ok(transaction)
    }

    /// The magic link's SDK-owned `authParams` (`redirect_uri`, `response_type`, `state`,
    /// `nonce`, the scope with `openid`), and the transaction its callback completes.
    async fn magic_link_params(
        &self,
        auth_params: &mut Map<String, Value>,
        app_state: Option<Value>,
        cx: &StoreContext,
    ) -> Result<(String, TransactionData), Error> {
        let redirect_uri = self
            .redirect_uri_for(cx)
            .await?
            .map(|u| u.to_string())
            .ok_or(super::config::MISSING_REDIRECT_URI)?;
        let (state, nonce) = (random_token(), random_token());
        let scope = auth_params
            .get("scope")
            .and_then(Value::as_str)
            .unwrap_or(DEFAULT_PASSWORDLESS_EMAIL_SCOPE);
        let scope = with_openid(scope);
        auth_params.insert("scope".into(), scope.into());
        auth_params.insert("redirect_uri".into(), redirect_uri.clone().into());
        auth_params.insert("response_type".into(), "code".into());
        auth_params.insert("state".into(), state.clone().into());
        // Ties the link's code to this transaction: the ID token must carry it back, so a
        // callback with another link's code under this `state` is refused.
        auth_params.insert("nonce".into(), nonce.clone().into());
        let transaction = TransactionData {
            app_state,
            audience: auth_params
                .get("audience")
                .and_then(Value::as_str)
                .map(str::to_owned),
            redirect_uri: Some(redirect_uri),
            domain: Some(self.provider().domain().to_owned()),
            nonce: Some(nonce),
            ..TransactionData::default()
        };
        Ok((state, transaction))
    }

    /// POSTs `/passwordless/start` (at the issuer) and reads its answer.
    async fn post_passwordless_start(
        &self,
        body: &Map<String, Value>,
        headers: &HeaderMap,
    ) -> Result<PasswordlessStartResult, Error> {
        let metadata = self.provider().metadata().await?;
        let endpoint = url::Url::parse(&metadata.issuer)
            .and_then(|issuer| issuer.join("passwordless/start"))
            .map_err(|_| Error::Discovery {
                document: "openid-configuration",
                reason: "its issuer is not a URL".to_owned(),
            })?
            .to_string();
        let response = self
            .send_as_client_with(&endpoint, &[], Some(body), headers, Retry::Unprocessed)
            .await?;
        let retry_after = retry_after(response.headers());
        let answer = Http::oauth_answer::<Value>(response, &endpoint, "passwordless start").await?;
        match self.client_answer(answer)? {
            TokenAnswer::Ok(answer) => Ok(serde_json::from_value(answer).unwrap_or_default()),
            TokenAnswer::Err { status, body } => {
                tracing::info!(error = %body.error, status, "passwordless start refused");
                Err(Error::PasswordlessStart {
                    error: error_code(body.error, status, "passwordless_start_failed"),
                    description: body.error_description,
                    status,
                    retry_after,
                })
            }
        }
    }

    /// Exchanges a passwordless code for tokens (the grant
    /// [`PASSWORDLESS_OTP_GRANT_TYPE`] with `realm`, `username`, `otp`, `scope` and
    /// `audience`), validates the ID token as a login's and starts a session in `cx` under a
    /// fresh id (the Python SDK's `passwordless.verify`). Only the browser that called
    /// [`start_passwordless`](Self::start_passwordless) for the same recipient can: it takes
    /// that start's transaction (one use; a refused code puts it back for another try).
    ///
    /// ```no_run
    /// use auth0_server_core::client::{PasswordlessRecipient, ServerClient, VerifyPasswordlessOptions};
    /// use auth0_server_core::store::StoreContext;
    ///
    /// # async fn demo(client: ServerClient, cx: StoreContext, typed: String) -> Result<(), auth0_server_core::client::Error> {
    /// let to = PasswordlessRecipient::Email("ada@example.com".into());
    /// let done = client.verify_passwordless(VerifyPasswordlessOptions::new(to, typed), &cx).await?;
    /// println!("welcome {}", done.user.sub);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::MissingTransaction`] when this browser started no code login for this
    /// recipient (another browser, another address, or already verified);
    /// [`Error::PasswordlessVerify`] when the code is refused (`invalid_grant`: wrong,
    /// expired, used, or too many attempts); [`Error::MfaRequired`];
    /// [`Error::ClientAuthentication`]; [`Error::InvalidIdToken`]; network, discovery and
    /// store failures.
    #[tracing::instrument(name = "oidc.passwordless_verify", skip_all, fields(connection = options.recipient.connection()))]
    pub async fn verify_passwordless(
        &self,
        options: VerifyPasswordlessOptions,
        cx: &StoreContext,
    ) -> Result<LoginResult, Error> {
        let verified = self
            .under_request_domain(cx, self.verify_passwordless_under_domain(options, cx))
            .await;
        meters::login(LoginFlow::Passwordless, LoginStep::Complete, &verified);
        verified
    }

    async fn verify_passwordless_under_domain(
        &self,
        options: VerifyPasswordlessOptions,
        cx: &StoreContext,
    ) -> Result<LoginResult, Error> {
        options.recipient.check()?;
        if options.code.trim().is_empty() {
            return Err(Error::InvalidArgument(
                "the code is empty: give the code the user received".to_owned(),
            ));
        }
        let headers = extra_headers(None, options.client_ip.as_deref())?;
        let audience = options
            .audience
            .clone()
            .or_else(|| self.inner.config.audience.clone());
        let tokens = self
            .redeem_code(&options, audience.as_deref(), &headers, cx)
            .await?;
        let metadata = self.provider().metadata().await?;
        let id_token = tokens.id_token.clone().ok_or_else(|| {
            Error::InvalidIdToken("the token response has no ID token: ask for openid".to_owned())
        })?;
        let claims = self
            .validate_id_token(&id_token, &metadata.issuer, None)
            .await?;
        let user = user_claims(&claims)?;
        let authorization_details = tokens.authorization_details.clone();
        let transaction = TransactionData {
            audience,
            ..TransactionData::default()
        };
        let state = self.login_session(tokens, id_token, &claims, &user, &transaction);
        let config = &self.inner.config;
        self.inner
            .state_store
            .set(&config.state_identifier, &state, true, cx)
            .await?;
        tracing::info!("passwordless login completed");
        Ok(LoginResult {
            app_state: None,
            organization: user.organization(),
            user,
            authorization_details,
        })
    }

    /// Takes this browser's code transaction, then runs the OTP grant; a refused code puts
    /// the transaction back, so a mistyped code may be typed again (in this browser only).
    async fn redeem_code(
        &self,
        options: &VerifyPasswordlessOptions,
        audience: Option<&str>,
        headers: &HeaderMap,
        cx: &StoreContext,
    ) -> Result<TokenResponse, Error> {
        let started = self.take_code_transaction(&options.recipient, cx).await?;
        let result = self.otp_grant(options, audience, headers).await;
        if let Err(Error::PasswordlessVerify { .. }) = &result {
            let key = self.transaction_key(CODE_TRANSACTION);
            self.inner.transaction_store.set(&key, &started, cx).await?;
        }
        result
    }

    /// The passwordless OTP grant at the token endpoint.
    async fn otp_grant(
        &self,
        options: &VerifyPasswordlessOptions,
        audience: Option<&str>,
        headers: &HeaderMap,
    ) -> Result<TokenResponse, Error> {
        let recipient = &options.recipient;
        let default_scope = match recipient {
            PasswordlessRecipient::Email(_) => DEFAULT_PASSWORDLESS_EMAIL_SCOPE,
            PasswordlessRecipient::Sms(_) => DEFAULT_PASSWORDLESS_SMS_SCOPE,
        };
        let scope = with_openid(options.scope.as_deref().unwrap_or(default_scope));
        let mut form = vec![
            (
                "grant_type".to_owned(),
                PASSWORDLESS_OTP_GRANT_TYPE.to_owned(),
            ),
            ("realm".to_owned(), recipient.connection().to_owned()),
            ("username".to_owned(), recipient.address().to_owned()),
            ("otp".to_owned(), options.code.trim().to_owned()),
            ("scope".to_owned(), scope.clone()),
        ];
        if let Some(audience) = audience {
            form.push(("audience".to_owned(), audience.to_owned()));
        }
        let endpoint = self.provider().metadata().await?.token_endpoint.clone();
        let response = self
            .send_as_client_with(&endpoint, &form, None, headers, Retry::Unprocessed)
            .await?;
        let retry_after = retry_after(response.headers());
        match self.client_answer(Http::token_answer::<TokenResponse>(response, &endpoint).await?)? {
            TokenAnswer::Ok(tokens) => Ok(tokens),
            TokenAnswer::Err { body, .. } if body.error == "mfa_required" => Err(self
                .mfa_required(
                    body.error_description,
                    body.mfa_token.as_ref(),
                    body.mfa_requirements.as_ref(),
                    audience.unwrap_or(DEFAULT_AUDIENCE),
                    &scope,
                )),
            TokenAnswer::Err { status, body } => {
                tracing::info!(error = %body.error, status, "passwordless code refused");
                Err(Error::PasswordlessVerify {
                    error: error_code(body.error, status, "invalid_grant"),
                    description: body.error_description,
                    status,
                    retry_after,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openid_is_added_once_and_the_rest_kept_in_order() {
        assert_eq!(with_openid("profile email"), "openid profile email");
        assert_eq!(with_openid("email openid"), "email openid");
        assert_eq!(with_openid(""), "openid");
    }

    #[test]
    fn recipients_are_checked_without_showing_them() {
        let bad = PasswordlessRecipient::Sms("3035550199".into())
            .check()
            .unwrap_err();
        assert!(!bad.to_string().contains("3035550199"), "{bad}");
        assert!(
            PasswordlessRecipient::Sms("+14155550100".into())
                .check()
                .is_ok()
        );
        assert!(PasswordlessRecipient::Sms("+0123".into()).check().is_err());
        assert!(
            PasswordlessRecipient::Email("ada@example.com".into())
                .check()
                .is_ok()
        );
        assert!(PasswordlessRecipient::Email("ada".into()).check().is_err());
    }

    #[test]
    fn auth_params_outside_the_allow_list_are_refused() {
        let mut params = AuthorizationParams::new();
        params.insert("login_hint".into(), "ada@example.com".into());
        assert!(checked_auth_params(&params).is_ok());
        for reserved in ["redirect_uri", "state", "response_mode", "connection_scope"] {
            let mut params = AuthorizationParams::new();
            params.insert(reserved.into(), "x".into());
            assert!(checked_auth_params(&params).is_err(), "{reserved}");
        }
    }

    #[test]
    fn the_language_must_be_a_tag() {
        assert!(extra_headers(Some("en-US"), Some("203.0.113.7")).is_ok());
        assert!(extra_headers(Some("not a tag"), None).is_err());
        let headers = extra_headers(Some("fr"), None).unwrap();
        assert_eq!(headers["x-request-language"], "fr");
    }

    #[test]
    fn the_forwarded_ip_must_be_an_ip_address() {
        assert!(extra_headers(None, Some("2001:db8::1")).is_ok());
        for bad in ["evil.example.com", "203.0.113.7, 10.0.0.1", "1.2.3"] {
            let error = extra_headers(None, Some(bad)).unwrap_err();
            assert_eq!(error.code(), "invalid_argument", "{bad}");
        }
    }
}
