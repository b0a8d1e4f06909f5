//! Auth0's MFA API, continuing from [`Error::MfaRequired`]: list a user's authenticators,
//! enroll one (OTP, SMS, voice or e-mail), challenge one, verify (the `mfa-otp`, `mfa-oob`
//! and `mfa-recovery-code` grants), and delete one. The Python SDK's `server_client.mfa`
//! (`MfaClient`), with its names.
//!
//! Every call takes the error's sealed [`MfaToken`]: it is opened with the client's secret,
//! refused once older than [`MFA_TOKEN_TTL`], and only the provider's raw token inside is
//! sent. [`Mfa::verify_and_save`] files the verified tokens in the session as a refresh's are
//! (the ID token validated and for the session's user, the access token under the audience
//! the `mfa_token` was issued for).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::http::{OAuthErrorBody, Retry, TokenAnswer, read_capped};
use super::login::{DEFAULT_EXPIRES_IN, TokenResponse, user_claims};
use super::mfa::{MfaBinding, MfaRequirements};
use super::params::token_set_extra;
use super::refresh::TokenEndpointResponse;
use super::tokens::session_user;
use super::{Error, MFA_TOKEN_IDENTIFIER, MfaToken, ServerClient};
use crate::model::{TokenSet, UserClaims};
use crate::seal::CookieSealer;
use crate::store::StoreContext;

/// How long a sealed [`MfaToken`] is accepted after it was made (the Python SDK's
/// `DEFAULT_MFA_TOKEN_TTL`); older, the calls fail with [`Error::MfaTokenExpired`] without
/// asking the provider.
pub const MFA_TOKEN_TTL: Duration = Duration::from_secs(300);
/// The grant that verifies a one-time password.
pub const MFA_OTP_GRANT_TYPE: &str = "http://auth0.com/oauth/grant-type/mfa-otp";
/// The grant that verifies an out-of-band challenge (SMS, voice, e-mail, push).
pub const MFA_OOB_GRANT_TYPE: &str = "http://auth0.com/oauth/grant-type/mfa-oob";
/// The grant that verifies a recovery code.
pub const MFA_RECOVERY_CODE_GRANT_TYPE: &str =
    "http://auth0.com/oauth/grant-type/mfa-recovery-code";

/// Which MFA API call failed, in [`Error::Mfa`]; its [`code`](Self::code) is the Python
/// SDK's error code for that call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MfaOperation {
    /// `GET /mfa/authenticators`.
    ListAuthenticators,
    /// `POST /mfa/associate`.
    Enroll,
    /// `POST /mfa/challenge`.
    Challenge,
    /// One of the MFA grants at the token endpoint.
    Verify,
    /// `DELETE /mfa/authenticators/{id}`.
    DeleteAuthenticator,
}

impl MfaOperation {
    /// The stable error code: `mfa_list_authenticators_error`, `mfa_enrollment_error`,
    /// `mfa_challenge_error`, `mfa_verify_error` or `mfa_delete_authenticator_error`.
    pub fn code(self) -> &'static str {
        match self {
            Self::ListAuthenticators => "mfa_list_authenticators_error",
            Self::Enroll => "mfa_enrollment_error",
            Self::Challenge => "mfa_challenge_error",
            Self::Verify => "mfa_verify_error",
            Self::DeleteAuthenticator => "mfa_delete_authenticator_error",
        }
    }
}

impl fmt::Display for MfaOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ListAuthenticators => "listing the MFA authenticators",
            Self::Enroll => "enrolling an MFA authenticator",
            Self::Challenge => "the MFA challenge",
            Self::Verify => "the MFA verification",
            Self::DeleteAuthenticator => "deleting an MFA authenticator",
        })
    }
}

/// An enrolled authenticator, as `GET /mfa/authenticators` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Authenticator {
    /// Its id (`totp|dev_…`, `sms|dev_…`, `recovery-code|dev_…`).
    pub id: String,
    /// `otp`, `oob` or `recovery-code` (kept as a string: Auth0 may add types).
    pub authenticator_type: String,
    /// Whether its enrollment was confirmed.
    #[serde(default)]
    pub active: bool,
    /// For `oob`: `sms`, `voice`, `email` or `auth0` (push).
    #[serde(default)]
    pub oob_channel: Option<String>,
    /// A display name (the masked phone number or address).
    #[serde(default)]
    pub name: Option<String>,
    /// Anything else the provider said (`created_at`, `last_auth`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Authenticator {
    /// The challenge type that challenges it: `otp` for OTP authenticators, `oob` for the
    /// others except recovery codes (which need no challenge: verify with the code).
    pub fn challenge_type(&self) -> Option<MfaChallengeType> {
        match self.authenticator_type.as_str() {
            "otp" => Some(MfaChallengeType::Otp),
            "oob" => Some(MfaChallengeType::Oob),
            _ => None,
        }
    }
}

/// What to enroll ([`Mfa::enroll_authenticator`]); the Python SDK's `factor_type`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MfaEnrollment {
    /// An authenticator app (time-based one-time passwords).
    Otp,
    /// Codes by SMS to a phone number in E.164 form (`+12025551234`).
    Sms {
        /// The phone number.
        phone_number: String,
    },
    /// Codes by voice call.
    Voice {
        /// The phone number.
        phone_number: String,
    },
    /// Codes by e-mail.
    Email {
        /// The address.
        email: String,
    },
}

impl MfaEnrollment {
    /// The `/mfa/associate` body: `authenticator_types` and `oob_channels` as arrays
    /// (Auth0's documented form, and the Python SDK's).
    fn body(&self) -> Value {
        match self {
            Self::Otp => json!({"authenticator_types": ["otp"]}),
            Self::Sms { phone_number } => json!({
                "authenticator_types": ["oob"], "oob_channels": ["sms"], "phone_number": phone_number,
            }),
            Self::Voice { phone_number } => json!({
                "authenticator_types": ["oob"], "oob_channels": ["voice"], "phone_number": phone_number,
            }),
            Self::Email { email } => json!({
                "authenticator_types": ["oob"], "oob_channels": ["email"], "email": email,
            }),
        }
    }
}

/// The answer to an enrollment: for OTP the `secret` and `barcode_uri` to show the user;
/// for OOB the `oob_code` to verify with the code the user receives; the first enrollment
/// also brings `recovery_codes` (show them once). Its `Debug` shows none of those.
#[derive(Clone, Deserialize)]
#[non_exhaustive]
pub struct Enrollment {
    /// `otp` or `oob`.
    pub authenticator_type: String,
    /// Its id, when the provider said.
    #[serde(default)]
    pub id: Option<String>,
    /// OTP: the shared secret (base32).
    #[serde(default)]
    pub secret: Option<String>,
    /// OTP (and push): the `otpauth://` URI to show as a QR code (checked: never another
    /// scheme, so it is safe in a link).
    #[serde(default)]
    pub barcode_uri: Option<String>,
    /// OOB: the channel.
    #[serde(default)]
    pub oob_channel: Option<String>,
    /// OOB: what to verify with ([`MfaVerification::Oob`]).
    #[serde(default)]
    pub oob_code: Option<String>,
    /// OOB: `prompt` when the user must type the code received.
    #[serde(default)]
    pub binding_method: Option<String>,
    /// The user's recovery codes, on their first enrollment.
    #[serde(default)]
    pub recovery_codes: Option<Vec<String>>,
}

impl fmt::Debug for Enrollment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |v: bool| v.then_some("[redacted]");
        f.debug_struct("Enrollment")
            .field("authenticator_type", &self.authenticator_type)
            .field("id", &self.id)
            .field("secret", &redacted(self.secret.is_some()))
            .field("barcode_uri", &redacted(self.barcode_uri.is_some()))
            .field("oob_channel", &self.oob_channel)
            .field("oob_code", &redacted(self.oob_code.is_some()))
            .field("binding_method", &self.binding_method)
            .field("recovery_codes", &redacted(self.recovery_codes.is_some()))
            .finish()
    }
}

/// Which kind of challenge to start ([`Mfa::challenge_authenticator`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MfaChallengeType {
    /// A one-time password from an authenticator app (nothing is sent).
    Otp,
    /// A code sent by SMS, voice or e-mail, or a push notification.
    Oob,
}

impl MfaChallengeType {
    fn wire(self) -> &'static str {
        match self {
            Self::Otp => "otp",
            Self::Oob => "oob",
        }
    }
}

/// The answer to a challenge; its `Debug` never shows the `oob_code`.
#[derive(Clone, Deserialize)]
#[non_exhaustive]
pub struct Challenge {
    /// `otp` or `oob`.
    pub challenge_type: String,
    /// OOB: what to verify with.
    #[serde(default)]
    pub oob_code: Option<String>,
    /// OOB: `prompt` when the user must type the code received.
    #[serde(default)]
    pub binding_method: Option<String>,
    /// Seconds the challenge lives, when the provider said.
    #[serde(default)]
    pub expires_in: Option<u64>,
}

impl fmt::Debug for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Challenge")
            .field("challenge_type", &self.challenge_type)
            .field("oob_code", &self.oob_code.as_ref().map(|_| "[redacted]"))
            .field("binding_method", &self.binding_method)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// What the user gives to pass MFA ([`Mfa::verify`]); its `Debug` never shows a code.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MfaVerification {
    /// The one-time password from the authenticator app (`mfa-otp`).
    Otp(String),
    /// An OOB challenge's `oob_code` and the code the user received (`mfa-oob`; no
    /// `binding_code` for a push the user approves on the device).
    Oob {
        /// From the challenge or the enrollment.
        oob_code: String,
        /// What the user typed.
        binding_code: Option<String>,
    },
    /// A recovery code (`mfa-recovery-code`); the answer brings the new one.
    RecoveryCode(String),
}

impl fmt::Debug for MfaVerification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Otp(_) => "Otp([redacted])",
            Self::Oob { .. } => "Oob([redacted])",
            Self::RecoveryCode(_) => "RecoveryCode([redacted])",
        })
    }
}

impl MfaVerification {
    /// The grant's form, the `mfa_token` apart.
    fn form(&self) -> Vec<(String, String)> {
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        match self {
            Self::Otp(otp) => vec![pair("grant_type", MFA_OTP_GRANT_TYPE), pair("otp", otp)],
            Self::Oob {
                oob_code,
                binding_code,
            } => {
                let mut form = vec![
                    pair("grant_type", MFA_OOB_GRANT_TYPE),
                    pair("oob_code", oob_code),
                ];
                if let Some(code) = binding_code {
                    form.push(pair("binding_code", code));
                }
                form
            }
            Self::RecoveryCode(code) => vec![
                pair("grant_type", MFA_RECOVERY_CODE_GRANT_TYPE),
                pair("recovery_code", code),
            ],
        }
    }
}

/// The outcome of a verification: the tokens (the ID token already validated), the user
/// they are for (when an ID token came), and the new recovery code after one was used. Its
/// `Debug` shows no token or code.
#[derive(Clone)]
#[non_exhaustive]
pub struct MfaVerified {
    /// The token endpoint's answer.
    pub tokens: TokenEndpointResponse,
    /// The user, from the validated ID token.
    pub user: Option<UserClaims>,
    /// The user's new recovery code (the used one no longer works): show it once.
    pub recovery_code: Option<String>,
    /// The audience the access token was asked for (the one the `mfa_token` was issued
    /// for; `default` for none).
    pub audience: String,
}

impl fmt::Debug for MfaVerified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MfaVerified")
            .field("tokens", &self.tokens)
            .field("user", &self.user.as_ref().map(|u| &u.sub))
            .field(
                "recovery_code",
                &self.recovery_code.as_ref().map(|_| "[redacted]"),
            )
            .field("audience", &self.audience)
            .finish()
    }
}

/// What a sealed [`MfaToken`] holds (the Python SDK's `MfaTokenContext`).
#[derive(Deserialize, Serialize)]
pub(crate) struct MfaTokenContext {
    pub(crate) mfa_token: String,
    #[serde(default)]
    pub(crate) audience: String,
    #[serde(default)]
    pub(crate) scope: String,
    #[serde(default)]
    pub(crate) mfa_requirements: Option<MfaRequirements>,
    pub(crate) created_at: u64,
    /// Whom it is for (fields the Python SDK does not seal, nor read).
    #[serde(flatten)]
    pub(crate) binding: MfaBinding,
}

impl fmt::Debug for MfaTokenContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MfaTokenContext")
            .field("audience", &self.audience)
            .field("created_at", &self.created_at)
            .field("binding", &self.binding)
            .finish_non_exhaustive()
    }
}

/// The MFA API of a [`ServerClient`]: [`ServerClient::mfa`].
#[derive(Clone, Copy, Debug)]
pub struct Mfa<'a> {
    client: &'a ServerClient,
}

impl ServerClient {
    /// The MFA API (the Python SDK's `server_client.mfa`), for the [`MfaToken`] of an
    /// [`Error::MfaRequired`].
    ///
    /// ```no_run
    /// use auth0_server_core::client::{AccessTokenOptions, Error, MfaVerification, ServerClient};
    /// use auth0_server_core::store::StoreContext;
    ///
    /// # async fn demo(client: ServerClient, cx: StoreContext, otp: String) -> Result<(), Error> {
    /// match client.get_access_token(AccessTokenOptions::default(), &cx).await {
    ///     Err(Error::MfaRequired { mfa_token: Some(token), .. }) => {
    ///         let mfa = client.mfa();
    ///         let enrolled = mfa.list_authenticators(&token, &cx).await?;
    ///         // … show them; the user types the code of their authenticator app:
    ///         mfa.verify_and_save(&token, MfaVerification::Otp(otp), &cx).await?;
    ///         // The session now holds the token: this call succeeds without a refresh.
    ///         client.get_access_token(AccessTokenOptions::default(), &cx).await?;
    ///     }
    ///     other => { other?; }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn mfa(&self) -> Mfa<'_> {
        Mfa { client: self }
    }
}

impl Mfa<'_> {
    /// Opens a sealed token: the provider's raw `mfa_token`, the audience and scope it was
    /// issued for (the Python SDK's `decrypt_mfa_token`), refused when too old or issued
    /// under another domain than the call's (so it is called under the call's domain).
    fn open(&self, token: &MfaToken) -> Result<MfaTokenContext, Error> {
        let sealer = CookieSealer::new(self.client.inner.config.secrets.clone());
        let context: MfaTokenContext = sealer
            .open(MFA_TOKEN_IDENTIFIER, token.expose())
            .map_err(|_| Error::MfaTokenInvalid)?;
        let now = self.client.now();
        if now.saturating_sub(context.created_at) > MFA_TOKEN_TTL.as_secs() {
            return Err(Error::MfaTokenExpired);
        }
        context
            .binding
            .check_domain(self.client.provider().domain())?;
        Ok(context)
    }

    /// An MFA API endpoint's URL at the request's domain (`https://{domain}/mfa/…`).
    async fn endpoint(&self, path: &str) -> Result<String, Error> {
        let metadata = self.client.provider().metadata().await?;
        Ok(format!("{}/{path}", metadata.issuer.trim_end_matches('/')))
    }

    /// One MFA API request with a Bearer token (the raw `mfa_token`, or for a deletion an
    /// access token), `body` as JSON; its answer.
    async fn with_bearer(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: &str,
        body: Option<&Value>,
    ) -> Result<TokenAnswer<Vec<u8>>, Error> {
        let url = self.endpoint(path).await?;
        let retry = if method == reqwest::Method::GET {
            Retry::Idempotent
        } else {
            Retry::Unprocessed
        };
        let http = self.client.provider();
        let response = http
            .http()
            .send(&url, retry, |c| {
                let request = c.request(method.clone(), &url).bearer_auth(bearer);
                match body {
                    Some(body) => request.json(body),
                    None => request,
                }
            })
            .await?;
        answer(response, &url).await
    }

    /// The user's authenticators (`GET /mfa/authenticators`, `Authorization: Bearer
    /// <mfa_token>`).
    ///
    /// ```no_run
    /// # use auth0_server_core::client::{Error, MfaToken, ServerClient};
    /// # use auth0_server_core::store::StoreContext;
    /// # async fn demo(client: ServerClient, token: MfaToken, cx: StoreContext) -> Result<(), Error> {
    /// for authenticator in client.mfa().list_authenticators(&token, &cx).await? {
    ///     println!("{} {} active={}", authenticator.id, authenticator.authenticator_type, authenticator.active);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::MfaTokenInvalid`], [`Error::MfaTokenExpired`], [`Error::MfaTokenMismatch`]
    /// (sealed under another domain); the provider's refusal as [`Error::MfaExpired`] or
    /// [`Error::Mfa`] (also for an answer that is not the expected JSON); network and
    /// discovery failures; [`Error::UnknownDomain`].
    #[tracing::instrument(name = "mfa.list_authenticators", skip_all)]
    pub async fn list_authenticators(
        &self,
        token: &MfaToken,
        cx: &StoreContext,
    ) -> Result<Vec<Authenticator>, Error> {
        self.client
            .under_request_domain(cx, async {
                let context = self.open(token)?;
                let get = reqwest::Method::GET;
                let answer = self
                    .with_bearer(get, "mfa/authenticators", &context.mfa_token, None)
                    .await?;
                finish(answer, MfaOperation::ListAuthenticators)
            })
            .await
    }

    /// Enrolls an authenticator (`POST /mfa/associate` with a JSON body, `Authorization:
    /// Bearer <mfa_token>`). It is active once verified: with [`MfaVerification::Otp`] (a
    /// code of the app the user set up) or [`MfaVerification::Oob`] (the enrollment's
    /// `oob_code` and the code received). Auth0 refuses it (`access_denied`) once the user
    /// has an active authenticator.
    ///
    /// ```no_run
    /// # use auth0_server_core::client::{Error, MfaEnrollment, MfaToken, ServerClient};
    /// # use auth0_server_core::store::StoreContext;
    /// # async fn demo(client: ServerClient, token: MfaToken, cx: StoreContext) -> Result<(), Error> {
    /// let enrolled = client.mfa().enroll_authenticator(&token, MfaEnrollment::Otp, &cx).await?;
    /// // Show enrolled.barcode_uri as a QR code, and enrolled.recovery_codes once.
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`list_authenticators`](Self::list_authenticators), with
    /// [`MfaOperation::Enroll`]; [`Error::Mfa`] (`invalid_response`) for a `barcode_uri` that
    /// is not an `otpauth:` URI.
    #[tracing::instrument(name = "mfa.enroll_authenticator", skip_all)]
    pub async fn enroll_authenticator(
        &self,
        token: &MfaToken,
        enrollment: MfaEnrollment,
        cx: &StoreContext,
    ) -> Result<Enrollment, Error> {
        self.client
            .under_request_domain(cx, async {
                let context = self.open(token)?;
                let body = enrollment.body();
                let post = reqwest::Method::POST;
                let answer = self
                    .with_bearer(post, "mfa/associate", &context.mfa_token, Some(&body))
                    .await?;
                finish(answer, MfaOperation::Enroll).and_then(otpauth_only)
            })
            .await
    }

    /// Starts a challenge (`POST /mfa/challenge`, a JSON body with `mfa_token`, `client_id`,
    /// `challenge_type`, `authenticator_id` and the client's authentication): for OOB, the
    /// provider sends the user a code and answers the `oob_code` to verify with.
    ///
    /// ```no_run
    /// # use auth0_server_core::client::{Error, MfaChallengeType, MfaToken, ServerClient};
    /// # use auth0_server_core::store::StoreContext;
    /// # async fn demo(client: ServerClient, token: MfaToken, cx: StoreContext) -> Result<(), Error> {
    /// let mfa = client.mfa();
    /// let phone = &mfa.list_authenticators(&token, &cx).await?[0];
    /// let challenge = mfa
    ///     .challenge_authenticator(&token, MfaChallengeType::Oob, Some(&phone.id), &cx)
    ///     .await?;
    /// // Ask for the code sent; verify with challenge.oob_code and it.
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`list_authenticators`](Self::list_authenticators), with
    /// [`MfaOperation::Challenge`]; [`Error::ClientAuthentication`].
    #[tracing::instrument(name = "mfa.challenge_authenticator", skip_all)]
    pub async fn challenge_authenticator(
        &self,
        token: &MfaToken,
        challenge_type: MfaChallengeType,
        authenticator_id: Option<&str>,
        cx: &StoreContext,
    ) -> Result<Challenge, Error> {
        self.client
            .under_request_domain(cx, async {
                let context = self.open(token)?;
                let client_id = self.client.inner.config.client_id.clone();
                let mut form = vec![
                    ("mfa_token".to_owned(), context.mfa_token.clone()),
                    ("client_id".to_owned(), client_id),
                    (
                        "challenge_type".to_owned(),
                        challenge_type.wire().to_owned(),
                    ),
                ];
                if let Some(id) = authenticator_id {
                    form.push(("authenticator_id".to_owned(), id.to_owned()));
                }
                let url = self.endpoint("mfa/challenge").await?;
                let response = self.post_json_as_client(&url, &form).await?;
                let answer = self.client.client_answer(answer(response, &url).await?)?;
                finish(answer, MfaOperation::Challenge)
            })
            .await
    }

    /// Deletes an authenticator (`DELETE /mfa/authenticators/{id}`). Auth0 asks for an
    /// **access token** here, not the `mfa_token`: one for the audience
    /// `https://{domain}/mfa/` with the scope `remove:authenticators` (from
    /// [`get_access_token`](ServerClient::get_access_token) once the user passed MFA).
    ///
    /// ```no_run
    /// # use auth0_server_core::client::{AccessTokenOptions, Error, ServerClient};
    /// # use auth0_server_core::store::StoreContext;
    /// # async fn demo(client: ServerClient, cx: StoreContext) -> Result<(), Error> {
    /// let options = AccessTokenOptions {
    ///     audience: Some("https://example.us.auth0.com/mfa/".into()),
    ///     scope: Some("remove:authenticators".into()),
    ///     ..AccessTokenOptions::default()
    /// };
    /// let token = client.get_access_token(options, &cx).await?;
    /// client.mfa().delete_authenticator(&token.token, "totp|dev_3b5e", &cx).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for an id that is not one of Auth0's (letters, digits,
    /// `|`, `_` and `-`: nothing is sent); the provider's refusal as [`Error::Mfa`] with
    /// [`MfaOperation::DeleteAuthenticator`] (401: the token may not; 404: no such
    /// authenticator); network and discovery failures; [`Error::UnknownDomain`].
    #[tracing::instrument(name = "mfa.delete_authenticator", skip_all)]
    pub async fn delete_authenticator(
        &self,
        access_token: &str,
        authenticator_id: &str,
        cx: &StoreContext,
    ) -> Result<(), Error> {
        check_authenticator_id(authenticator_id)?;
        self.client
            .under_request_domain(cx, async {
                // `|`, in every Auth0 id, escaped as `%7C` (the JS SDK's `encodeURIComponent`).
                let path = format!(
                    "mfa/authenticators/{}",
                    authenticator_id.replace('|', "%7C")
                );
                let delete = reqwest::Method::DELETE;
                match self.with_bearer(delete, &path, access_token, None).await? {
                    TokenAnswer::Ok(_) => Ok(()),
                    TokenAnswer::Err { status, body } => {
                        Err(refusal(MfaOperation::DeleteAuthenticator, status, body))
                    }
                }
            })
            .await
    }
}

/// The longest authenticator id sent (Auth0's are about 30 characters).
const MAX_AUTHENTICATOR_ID_LEN: usize = 128;

/// Refuses an authenticator id outside Auth0's shape (`totp|dev_…`, `sms|dev_…`,
/// `recovery-code|dev_…`): only ASCII letters, digits, `|`, `_` and `-`, so it is one path
/// segment (never `.`, `..`, a `/` or an escape) of the deletion's URL.
fn check_authenticator_id(id: &str) -> Result<(), Error> {
    let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '|' | '_' | '-');
    if id.is_empty() || id.len() > MAX_AUTHENTICATOR_ID_LEN || !id.chars().all(safe) {
        return Err(Error::InvalidArgument(
            "the authenticator id is not one of Auth0's (letters, digits, `|`, `_` and `-`, \
             as `totp|dev_…`): give an id from list_authenticators"
                .to_owned(),
        ));
    }
    Ok(())
}

impl Mfa<'_> {
    /// POSTs `fields` as a JSON object of strings with the client's authentication (each
    /// attempt its own, as `send_as_client` does for forms): Auth0's `/mfa/challenge` takes
    /// JSON, as the Python and JS SDKs send it.
    async fn post_json_as_client(
        &self,
        url: &str,
        fields: &[(String, String)],
    ) -> Result<reqwest::Response, Error> {
        let client = self.client;
        let config = &client.inner.config;
        let metadata = client.provider().metadata().await?;
        let provider = client.provider();
        provider
            .http()
            .try_send(url, Retry::Unprocessed, |c| {
                let mut fields = fields.to_vec();
                let request = config.client_auth.apply(
                    c.post(url),
                    &config.client_id,
                    &metadata.issuer,
                    client.now(),
                    &mut fields,
                )?;
                let body: Map<String, Value> = fields
                    .into_iter()
                    .map(|(name, value)| (name, Value::String(value)))
                    .collect();
                Ok(request.json(&body))
            })
            .await
    }
}

/// An MFA API answer: the body of a success, else the OAuth error body (a stub naming the
/// status when it is not one).
async fn answer(response: reqwest::Response, url: &str) -> Result<TokenAnswer<Vec<u8>>, Error> {
    let status = response.status();
    let bytes = read_capped(response, url, "MFA API").await?;
    if status.is_success() {
        return Ok(TokenAnswer::Ok(bytes));
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

/// A successful answer read as `T`, else the refusal, for `operation`.
fn finish<T: serde::de::DeserializeOwned>(
    answer: TokenAnswer<Vec<u8>>,
    operation: MfaOperation,
) -> Result<T, Error> {
    match answer {
        TokenAnswer::Ok(bytes) => {
            serde_json::from_slice(&bytes).map_err(|e| unreadable(operation, &e))
        }
        TokenAnswer::Err { status, body } => Err(refusal(operation, status, body)),
    }
}

/// An enrollment whose `barcode_uri` (when there is one) is an `otpauth:` URI; anything
/// else (`javascript:`, `data:`, `https:`) is [`Error::Mfa`] (`invalid_response`): apps put
/// it in a link or a QR code, and HTML escaping does not stop a `javascript:` link. The
/// message never quotes the URI (it holds the secret).
fn otpauth_only(enrollment: Enrollment) -> Result<Enrollment, Error> {
    let Some(uri) = enrollment.barcode_uri.as_deref() else {
        return Ok(enrollment);
    };
    match url::Url::parse(uri) {
        Ok(parsed) if parsed.scheme() == "otpauth" => Ok(enrollment),
        _ => {
            tracing::warn!(
                "the MFA API's enrollment answer has a barcode_uri that is not otpauth:"
            );
            Err(invalid_response(
                MfaOperation::Enroll,
                "the answer's barcode_uri is not an otpauth:// URI; the provider is not the \
                 MFA API it should be, check AUTH0_DOMAIN"
                    .to_owned(),
            ))
        }
    }
}

#[cfg(test)]
mod otpauth_tests {
    use super::{Enrollment, Error, otpauth_only};

    fn enrollment(barcode_uri: Option<&str>) -> Enrollment {
        serde_json::from_value(serde_json::json!({
            "authenticator_type": "otp", "secret": "JBSWSECRET", "barcode_uri": barcode_uri,
        }))
        .unwrap()
    }

    #[test]
    fn only_an_otpauth_barcode_uri_is_accepted() {
        let good = "otpauth://totp/app:me?secret=JBSWSECRET&issuer=app";
        assert!(otpauth_only(enrollment(Some(good))).is_ok());
        assert!(otpauth_only(enrollment(Some("OTPAUTH://totp/x?secret=S"))).is_ok());
        assert!(otpauth_only(enrollment(None)).is_ok());
        for hostile in [
            "javascript:alert(document.cookie)//otpauth://",
            " javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "https://evil.example/otpauth://totp",
            "otpauth-x://totp",
            "/relative",
            "",
        ] {
            match otpauth_only(enrollment(Some(hostile))) {
                Err(Error::Mfa {
                    error, description, ..
                }) => {
                    assert_eq!(error, "invalid_response");
                    assert!(!description.unwrap_or_default().contains("alert"));
                }
                other => panic!("{hostile:?} was accepted: {other:?}"),
            }
        }
    }
}

/// A success answer that is not the expected JSON, as [`Error::Mfa`] (`invalid_response`):
/// only where and what kind of fault, never serde's text (it can quote a value of the
/// answer: a recovery code sent where an array was expected).
fn unreadable(operation: MfaOperation, e: &serde_json::Error) -> Error {
    let kind = match e.classify() {
        serde_json::error::Category::Io => "it could not be read",
        serde_json::error::Category::Syntax => "it is not JSON",
        serde_json::error::Category::Eof => "it ends early",
        serde_json::error::Category::Data => "a member is missing or of the wrong type",
    };
    let at = if e.line() > 0 {
        format!(" (line {}, column {})", e.line(), e.column())
    } else {
        String::new()
    };
    tracing::warn!(%operation, "the MFA API's answer is not the expected JSON");
    invalid_response(
        operation,
        format!("the answer is not the expected JSON: {kind}{at}"),
    )
}

/// [`Error::Mfa`] for a success answer the SDK cannot use.
fn invalid_response(operation: MfaOperation, description: String) -> Error {
    Error::Mfa {
        operation,
        error: "invalid_response".to_owned(),
        description: Some(description),
        status: 200,
    }
}

/// The provider's refusal as a typed error: `expired_token`, `too_many_attempts`, a wrong
/// code at verification (`invalid_grant`), else [`Error::Mfa`].
pub(crate) fn refusal(operation: MfaOperation, status: u16, body: OAuthErrorBody) -> Error {
    tracing::info!(%operation, error = body.error, status, "the MFA API refused");
    let description = body.error_description;
    match body.error.as_str() {
        "expired_token" => Error::MfaExpired { description },
        "too_many_attempts" => Error::MfaTooManyAttempts { description },
        "invalid_grant" if operation == MfaOperation::Verify => {
            Error::MfaCodeRejected { description }
        }
        _ => Error::Mfa {
            operation,
            error: body.error,
            description,
            status,
        },
    }
}

/// The longest access-token lifetime taken from a verification's `expires_in` (Auth0's
/// longest, 30 days): a larger one is read as this.
pub const MAX_MFA_EXPIRES_IN: u64 = 30 * 24 * 60 * 60;

/// A verification's tokens and the claims of its ID token (validated), if one came.
struct Granted {
    verified: MfaVerified,
    claims: Option<Map<String, Value>>,
}

impl Mfa<'_> {
    /// Verifies the user's code (the `mfa-otp`, `mfa-oob` or `mfa-recovery-code` grant at
    /// the token endpoint, with `mfa_token` in the form and the client's authentication) and
    /// returns the tokens, without touching any session (the Python SDK's `verify` with
    /// `persist=False`). An ID token in the answer is validated.
    ///
    /// ```no_run
    /// # use auth0_server_core::client::{Error, MfaToken, MfaVerification, ServerClient};
    /// # use auth0_server_core::store::StoreContext;
    /// # async fn demo(client: ServerClient, token: MfaToken, cx: StoreContext, otp: String) -> Result<(), Error> {
    /// let verified = client.mfa().verify(&token, MfaVerification::Otp(otp), &cx).await?;
    /// let bearer = verified.tokens.access_token; // for verified.audience
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::MfaTokenInvalid`], [`Error::MfaTokenExpired`], [`Error::MfaTokenMismatch`]
    /// (sealed under another domain); [`Error::MfaCodeRejected`] (a wrong, used or unknown
    /// code), [`Error::MfaExpired`], [`Error::MfaTooManyAttempts`], [`Error::Mfa`] (also for
    /// an answer without an access token or not the expected JSON); [`Error::MfaRequired`]
    /// when another factor is required (its token sealed again, bound as this one);
    /// [`Error::InvalidIdToken`]; [`Error::ClientAuthentication`]; network and discovery
    /// failures; [`Error::UnknownDomain`].
    #[tracing::instrument(name = "mfa.verify", skip_all)]
    pub async fn verify(
        &self,
        token: &MfaToken,
        verification: MfaVerification,
        cx: &StoreContext,
    ) -> Result<MfaVerified, Error> {
        self.client
            .under_request_domain(cx, async {
                let context = self.open(token)?;
                Ok(self.grant(context, &verification).await?.verified)
            })
            .await
    }

    /// [`verify`](Self::verify), then files the tokens in the session of `cx` as a refresh's
    /// are: the access token under the audience (and scope) the `mfa_token` was issued for,
    /// the refresh token rotated and the ID token and user replaced when new ones came (the
    /// ID token must be for the session's user and organization). The Python SDK's
    /// `verify(persist=True)`.
    ///
    /// The token must be this session's: one from its own
    /// [`get_access_token`](ServerClient::get_access_token) is bound to the session's user
    /// and to the session, and another's is refused before anything is sent. An unbound one
    /// (sealed by the Python SDK, or by a login's code exchange) is sent, and its tokens are
    /// saved only when they bring an ID token of the session's user.
    ///
    /// ```no_run
    /// # use auth0_server_core::client::{Error, MfaToken, MfaVerification, ServerClient};
    /// # use auth0_server_core::store::StoreContext;
    /// # async fn demo(client: ServerClient, token: MfaToken, cx: StoreContext, otp: String) -> Result<(), Error> {
    /// let verified = client.mfa().verify_and_save(&token, MfaVerification::Otp(otp), &cx).await?;
    /// if let Some(code) = verified.recovery_code {
    ///     // Show the new recovery code once.
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// Those of [`verify`](Self::verify); [`Error::MissingSession`] when `cx` has none, and
    /// [`Error::MfaTokenMismatch`] for a token of another user or session (in both cases
    /// nothing is sent, so the code is not spent); [`Error::MfaTokenMismatch`] too for an
    /// unbound token whose answer has no ID token, and [`Error::RefreshSubjectMismatch`] or
    /// [`Error::OrganizationMismatch`] for an ID token of another user or organization (the
    /// code is then spent, the session left as it was); store failures.
    #[tracing::instrument(name = "mfa.verify_and_save", skip_all)]
    pub async fn verify_and_save(
        &self,
        token: &MfaToken,
        verification: MfaVerification,
        cx: &StoreContext,
    ) -> Result<MfaVerified, Error> {
        self.client
            .under_request_domain(
                cx,
                self.verify_and_save_under_domain(token, verification, cx),
            )
            .await
    }

    async fn verify_and_save_under_domain(
        &self,
        token: &MfaToken,
        verification: MfaVerification,
        cx: &StoreContext,
    ) -> Result<MfaVerified, Error> {
        let client = self.client;
        let state = client.current_session(cx).await?;
        let context = self.open(token)?;
        let bound = context.binding.check_session(&state)?;
        let scope = context.scope.clone();
        let Granted { verified, claims } = self.grant(context, &verification).await?;
        let user = match &claims {
            Some(claims) => Some(session_user(&state, claims)?),
            None if bound => None,
            None => {
                tracing::warn!("an unbound MFA token's answer has no ID token: not saved");
                return Err(Error::MfaTokenMismatch);
            }
        };
        let response = token_response(&verified.tokens);
        let set = token_set(&verified, &response, &scope);
        client
            .save_refreshed(state, &set, &response, user.as_ref(), cx)
            .await?;
        tracing::info!("MFA verified; the session holds the new tokens");
        Ok(verified)
    }

    /// The grant, its answer read once, its ID token validated once.
    async fn grant(
        &self,
        context: MfaTokenContext,
        verification: &MfaVerification,
    ) -> Result<Granted, Error> {
        let client = self.client;
        let metadata = client.provider().metadata().await?;
        let mut form = verification.form();
        form.push(("mfa_token".to_owned(), context.mfa_token.clone()));
        let answer = client
            .request_as_client::<Value>(&metadata.token_endpoint, &form, Retry::Unprocessed)
            .await?;
        let body = match answer {
            TokenAnswer::Ok(body) => body,
            TokenAnswer::Err { body, .. } if body.error == "mfa_required" => {
                let raw = (
                    body.error_description,
                    body.mfa_token.as_ref(),
                    body.mfa_requirements.as_ref(),
                );
                let (audience, scope) = (&context.audience, &context.scope);
                return Err(client.mfa_required_bound(raw, audience, scope, context.binding));
            }
            TokenAnswer::Err { status, body } => {
                return Err(refusal(MfaOperation::Verify, status, body));
            }
        };
        let mut tokens = verified_tokens(body, client.now())?;
        let recovery_code = tokens
            .extra
            .shift_remove("recovery_code")
            .and_then(|v| v.as_str().map(str::to_owned));
        let (user, claims) = match &tokens.id_token {
            Some(id_token) => {
                let claims = client
                    .validate_id_token(id_token, &metadata.issuer, None)
                    .await?;
                (Some(user_claims(&claims)?), Some(claims))
            }
            None => (None, None),
        };
        let verified = MfaVerified {
            tokens,
            user,
            recovery_code,
            audience: context.audience,
        };
        Ok(Granted { verified, claims })
    }
}

/// A verification's answer as tokens: one with an access token, its lifetime at most
/// [`MAX_MFA_EXPIRES_IN`].
fn verified_tokens(body: Value, now: u64) -> Result<TokenEndpointResponse, Error> {
    let operation = MfaOperation::Verify;
    let mut tokens: TokenEndpointResponse =
        serde_json::from_value(body).map_err(|e| unreadable(operation, &e))?;
    if tokens.access_token.trim().is_empty() {
        return Err(invalid_response(
            operation,
            "the answer has an empty access_token".to_owned(),
        ));
    }
    tokens.expires_in = Some(
        tokens
            .expires_in
            .unwrap_or(DEFAULT_EXPIRES_IN)
            .min(MAX_MFA_EXPIRES_IN),
    );
    tokens.expires_at = now.saturating_add(tokens.expires_in.unwrap_or(DEFAULT_EXPIRES_IN));
    Ok(tokens)
}

/// The tokens as a refresh's answer, to file them as one.
fn token_response(tokens: &TokenEndpointResponse) -> TokenResponse {
    TokenResponse {
        access_token: tokens.access_token.clone(),
        id_token: tokens.id_token.clone(),
        refresh_token: tokens.refresh_token.clone(),
        expires_in: tokens.expires_in,
        scope: tokens.scope.clone(),
        authorization_details: tokens.authorization_details.clone(),
    }
}

/// The token set a verification files: under the `mfa_token`'s audience, with the scope
/// granted, else the one the `mfa_token` was issued for (as a refresh's is filed).
fn token_set(verified: &MfaVerified, response: &TokenResponse, asked: &str) -> TokenSet {
    let asked = (!asked.trim().is_empty()).then(|| asked.to_owned());
    TokenSet {
        audience: verified.audience.clone(),
        access_token: response.access_token.clone(),
        scope: response.scope.clone().or(asked),
        expires_at: verified.tokens.expires_at,
        extra: token_set_extra(response.authorization_details.as_ref()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_secrets_never_show_in_debug() {
        for v in [
            MfaVerification::Otp("123456".into()),
            MfaVerification::Oob {
                oob_code: "oob-secret".into(),
                binding_code: Some("654321".into()),
            },
            MfaVerification::RecoveryCode("RECOVERYSECRET".into()),
        ] {
            let shown = format!("{v:?}");
            for secret in ["123456", "oob-secret", "654321", "RECOVERYSECRET"] {
                assert!(!shown.contains(secret), "{shown}");
            }
        }
        let enrollment: Enrollment = serde_json::from_value(json!({
            "authenticator_type": "otp", "secret": "JBSWSECRET",
            "barcode_uri": "otpauth://totp/x?secret=JBSWSECRET", "recovery_codes": ["RC-SECRET"],
        }))
        .unwrap();
        let shown = format!("{enrollment:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        let challenge: Challenge =
            serde_json::from_value(json!({"challenge_type": "oob", "oob_code": "OOBSECRET"}))
                .unwrap();
        assert!(!format!("{challenge:?}").contains("OOBSECRET"));
    }

    #[test]
    fn a_verification_without_scope_is_filed_under_the_mfa_tokens_scope() {
        let body = json!({"access_token": "at", "expires_in": 60});
        let tokens = verified_tokens(body, 1000).unwrap();
        let response = token_response(&tokens);
        let verified = MfaVerified {
            tokens,
            user: None,
            recovery_code: None,
            audience: "https://api.example.com".into(),
        };
        let set = token_set(&verified, &response, "read:messages");
        assert_eq!(set.scope.as_deref(), Some("read:messages"));
        assert_eq!(set.expires_at, 1060);
        assert_eq!(token_set(&verified, &response, "").scope, None);
    }

    #[test]
    fn the_mfa_token_errors_read_as_one_sentence() {
        for err in [
            Error::MfaTokenInvalid,
            Error::MfaTokenExpired,
            Error::MfaTokenMismatch,
        ] {
            let text = err.to_string();
            assert!(!text.contains("  "), "{text:?}");
        }
    }

    #[test]
    fn only_auth0_shaped_authenticator_ids_are_sent() {
        for id in ["totp|dev_3b5e", "sms|dev_x-1", "recovery-code|dev_AB"] {
            assert!(check_authenticator_id(id).is_ok(), "{id}");
        }
        for id in [
            "",
            ".",
            "..",
            "a/b",
            "a%2F",
            "a b",
            "a\\b",
            &"x".repeat(200),
        ] {
            assert!(check_authenticator_id(id).is_err(), "{id}");
        }
    }

    #[test]
    fn the_grants_send_auth0s_fields() {
        let form = |v: MfaVerification| v.form();
        assert_eq!(
            form(MfaVerification::Otp("1".into())),
            [
                ("grant_type".to_owned(), MFA_OTP_GRANT_TYPE.to_owned()),
                ("otp".to_owned(), "1".to_owned())
            ]
        );
        let oob = form(MfaVerification::Oob {
            oob_code: "o".into(),
            binding_code: None,
        });
        assert!(!oob.iter().any(|(k, _)| k == "binding_code"), "{oob:?}");
        assert_eq!(
            form(MfaVerification::RecoveryCode("r".into()))[1].0,
            "recovery_code"
        );
        assert_eq!(
            MfaEnrollment::Sms {
                phone_number: "+1".into()
            }
            .body(),
            json!({"authenticator_types": ["oob"], "oob_channels": ["sms"], "phone_number": "+1"})
        );
    }
}
