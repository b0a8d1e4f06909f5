//! MFA step-up data: a token endpoint's `mfa_required` answer becomes
//! [`Error::MfaRequired`](super::Error::MfaRequired), with the provider's `mfa_token` sealed
//! as the Python SDK seals it (so an app can carry it to the MFA API without holding the raw
//! token), and its `mfa_requirements`.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::mfa_api::MfaTokenContext;
use super::{Error, ServerClient};
use crate::model::{StateData, normalize_domain};
use crate::seal::{CookieFormat, CookieSealer};

/// The HKDF salt (identifier) MFA tokens are sealed under: the Python SDK's, so a token
/// sealed by one opens in the other when both have the same secret.
pub const MFA_TOKEN_IDENTIFIER: &str = "mfa_token";

/// The provider's `mfa_token`, sealed: a JWE (`dir`, `A256CBC-HS512`) of
/// `{"mfa_token", "audience", "scope", "mfa_requirements", "created_at"}` with a key derived
/// from the client's secret and [`MFA_TOKEN_IDENTIFIER`], the layout and key of the Python
/// SDK's `_encrypt_mfa_token`, plus what binds it: the Auth0 `domain` it was issued under
/// and, for a session's step-up, the session's user (`sub`) and a digest of the session
/// (`session`), so that it works only there. Its `Debug` never shows it, and it has no
/// `Display`.
///
/// ```
/// use auth0_server_core::client::MfaToken;
/// let token = MfaToken::from_sealed("eyJhbGciOiJkaXIi...".to_owned());
/// assert_eq!(format!("{token:?}"), "MfaToken([redacted])");
/// assert!(token.expose().starts_with("eyJ"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct MfaToken(String);

impl MfaToken {
    /// A sealed token, as [`expose`](Self::expose) gave it (for example back from a form).
    pub fn from_sealed(sealed: String) -> Self {
        Self(sealed)
    }

    /// The sealed token, to hand to the MFA API's calls (or to a page that posts it back).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for MfaToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MfaToken([redacted])")
    }
}

/// What the provider requires before it issues the token (Auth0's `mfa_requirements`):
/// factors to enroll, or to be challenged with.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaRequirements {
    /// Factors the user must enroll first.
    #[serde(default)]
    pub enroll: Option<Vec<MfaRequirement>>,
    /// Factors the user may be challenged with.
    #[serde(default)]
    pub challenge: Option<Vec<MfaRequirement>>,
}

/// One factor of [`MfaRequirements`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaRequirement {
    /// Its type: `otp`, `push-notification`, `phone`, `email`, `recovery-code`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// Anything else the provider said of it.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The raw `mfa_token` of an error answer; its `Debug` never shows it.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub(crate) struct RawMfaToken(pub(super) String);

impl fmt::Debug for RawMfaToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Whom a sealed [`MfaToken`] is for, sealed as members of our own beside the Python SDK's: the Auth0 domain whose provider issued it, and, for a step-up of a session's
/// [`get_access_token`](ServerClient::get_access_token), the session's user and a digest of
/// the session (its `sid` and creation time). A token without them (the Python SDK's, or a
/// login's) is unbound.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MfaBinding {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) session: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) domain: Option<String>,
}

impl MfaBinding {
    /// The digest of a session that binds a token to it: SHA-256 of its `sid` and creation
    /// time, the first 16 bytes in hex (another login, even of the same user, has another).
    fn session_digest(state: &StateData) -> String {
        let digest = Sha256::new()
            .chain_update(state.internal.sid.as_bytes())
            .chain_update([0])
            .chain_update(state.internal.created_at.to_be_bytes())
            .finalize();
        digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
    }

    /// Checks the binding against the request's session: `Ok(true)` when the token is bound
    /// to it, `Ok(false)` when the token is bound to no session.
    ///
    /// # Errors
    ///
    /// [`Error::MfaTokenMismatch`] when it is bound to another user or session.
    pub(crate) fn check_session(&self, state: &StateData) -> Result<bool, Error> {
        if self.sub.is_none() && self.session.is_none() {
            return Ok(false);
        }
        let sub = state.user.as_ref().map(|u| u.sub.as_str());
        let same_user = self.sub.is_some() && self.sub.as_deref() == sub;
        let same_session = self.session.as_deref() == Some(&Self::session_digest(state));
        if same_user && same_session {
            Ok(true)
        } else {
            tracing::warn!("an MFA token of another user or session was refused");
            Err(Error::MfaTokenMismatch)
        }
    }

    /// Checks the domain the token was issued under against the call's.
    ///
    /// # Errors
    ///
    /// [`Error::MfaTokenMismatch`] for another domain.
    pub(crate) fn check_domain(&self, current: &str) -> Result<(), Error> {
        match &self.domain {
            Some(domain) if normalize_domain(domain) != current => {
                tracing::warn!("an MFA token of another Auth0 domain was refused");
                Err(Error::MfaTokenMismatch)
            }
            _ => Ok(()),
        }
    }
}

impl ServerClient {
    /// The error for an `mfa_required` answer to a token request made for `audience` and
    /// `scope`: the token sealed (bound to the call's domain), the requirements read
    /// leniently (a shape not understood is left out rather than failing).
    pub(crate) fn mfa_required(
        &self,
        description: Option<String>,
        token: Option<&RawMfaToken>,
        requirements: Option<&Value>,
        audience: &str,
        scope: &str,
    ) -> Error {
        let raw = (description, token, requirements);
        self.mfa_required_bound(raw, audience, scope, MfaBinding::default())
    }

    /// [`mfa_required`](Self::mfa_required) with the token bound as `binding` says (its
    /// domain, when it names none, the call's).
    pub(crate) fn mfa_required_bound(
        &self,
        (description, token, requirements): (Option<String>, Option<&RawMfaToken>, Option<&Value>),
        audience: &str,
        scope: &str,
        mut binding: MfaBinding,
    ) -> Error {
        let mfa_requirements: Option<MfaRequirements> =
            requirements.and_then(|r| serde_json::from_value(r.clone()).ok());
        if binding.domain.is_none() {
            binding.domain = Some(self.provider().domain().to_owned());
        }
        let mfa_token = token.and_then(|token| {
            self.seal_mfa_context(&MfaTokenContext {
                mfa_token: token.0.clone(),
                audience: audience.to_owned(),
                scope: scope.to_owned(),
                mfa_requirements: mfa_requirements.clone(),
                created_at: self.now(),
                binding,
            })
        });
        tracing::info!(
            has_token = mfa_token.is_some(),
            "the provider requires multi-factor authentication"
        );
        Error::MfaRequired {
            description,
            mfa_token,
            mfa_requirements,
        }
    }

    /// An `MfaRequired` of a session's refresh with its token bound to the session (its user
    /// and a digest of it); any other error as it was. A token that cannot be bound is
    /// dropped (the error then has none), never handed out unbound.
    pub(crate) fn bind_mfa_to_session(&self, error: Error, state: &StateData) -> Error {
        let Error::MfaRequired {
            description,
            mfa_token: Some(token),
            mfa_requirements,
        } = error
        else {
            return error;
        };
        let sealer = CookieSealer::new(self.inner.config.secrets.clone());
        let bound = sealer
            .open::<MfaTokenContext>(MFA_TOKEN_IDENTIFIER, token.expose())
            .ok()
            .and_then(|mut context| {
                context.binding.sub = state.user.as_ref().map(|u| u.sub.clone());
                context.binding.session = Some(MfaBinding::session_digest(state));
                self.seal_mfa_context(&context)
            });
        Error::MfaRequired {
            description,
            mfa_token: bound,
            mfa_requirements,
        }
    }

    /// Seals a context as the Python SDK does; `None` (logged) when it cannot be.
    fn seal_mfa_context(&self, context: &MfaTokenContext) -> Option<MfaToken> {
        let sealer =
            CookieSealer::new(self.inner.config.secrets.clone()).with_format(CookieFormat::Python);
        match sealer.seal(MFA_TOKEN_IDENTIFIER, context, 0) {
            Ok(sealed) => Some(MfaToken(sealed)),
            Err(e) => {
                tracing::error!(error = %e, "the mfa_token could not be sealed");
                None
            }
        }
    }
}
