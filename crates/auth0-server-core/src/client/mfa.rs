//! MFA step-up data: a token endpoint's `mfa_required` answer becomes
//! [`Error::MfaRequired`](super::Error::MfaRequired), with the provider's `mfa_token` sealed
//! as the Python SDK seals it (so an app can carry it to the MFA API without holding the raw
//! token), and its `mfa_requirements`.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Error, ServerClient};
use crate::seal::{CookieFormat, CookieSealer};

/// The HKDF salt (identifier) MFA tokens are sealed under: the Python SDK's, so a token
/// sealed by one opens in the other when both have the same secret.
pub const MFA_TOKEN_IDENTIFIER: &str = "mfa_token";

/// The provider's `mfa_token`, sealed: a JWE (`dir`, `A256CBC-HS512`) of
/// `{"mfa_token", "audience", "scope", "mfa_requirements", "created_at"}` with a key derived
/// from the client's secret and [`MFA_TOKEN_IDENTIFIER`], the layout and key of the Python
/// SDK's `_encrypt_mfa_token`. Its `Debug` never shows it, and it has no `Display`.
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

/// What is sealed into an [`MfaToken`] (the Python SDK's `MfaTokenContext`).
#[derive(Serialize)]
struct MfaTokenContext<'a> {
    mfa_token: &'a str,
    audience: &'a str,
    scope: &'a str,
    mfa_requirements: Option<&'a MfaRequirements>,
    created_at: u64,
}

impl ServerClient {
    /// The error for an `mfa_required` answer to a token request made for `audience` and
    /// `scope`: the token sealed, the requirements read leniently (a shape not understood
    /// is left out rather than failing).
    pub(crate) fn mfa_required(
        &self,
        description: Option<String>,
        token: Option<&RawMfaToken>,
        requirements: Option<&Value>,
        audience: &str,
        scope: &str,
    ) -> Error {
        let mfa_requirements: Option<MfaRequirements> =
            requirements.and_then(|r| serde_json::from_value(r.clone()).ok());
        let mfa_token = token.and_then(|token| {
            let context = MfaTokenContext {
                mfa_token: &token.0,
                audience,
                scope,
                mfa_requirements: mfa_requirements.as_ref(),
                created_at: self.now(),
            };
            let sealer = CookieSealer::new(self.inner.config.secrets.clone())
                .with_format(CookieFormat::Python);
            match sealer.seal(MFA_TOKEN_IDENTIFIER, &context, 0) {
                Ok(sealed) => Some(MfaToken(sealed)),
                Err(e) => {
                    tracing::error!(error = %e, "the mfa_token could not be sealed");
                    None
                }
            }
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
}
