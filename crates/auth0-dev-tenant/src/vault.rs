//! Token Vault and custom token exchange at the dev tenant, each on with its builder call:
//! made-up federated connections whose access tokens a session's refresh token is exchanged
//! for, and Custom Token Exchange Profiles (a `subject_token_type`) whose subject tokens the
//! tenant itself hands out ([`DevTenant::issue_subject_token`]), good for one exchange.
//!
//! How the tenant decides a subject token is valid: it is one that
//! [`DevTenant::issue_subject_token`] issued for that `subject_token_type`, less than
//! [`SUBJECT_TOKEN_LIFETIME`] ago, and not yet exchanged (the check an Auth0 Action of the
//! profile makes on a legacy system's token, with a `jti` against replays). The user is the
//! one of the e-mail address it was issued for.

use std::collections::HashMap;
use std::time::Duration;

use crate::error::Error;
use crate::memory::{TokenHash, User, hash, random_token};
use crate::{DevTenant, DevTenantBuilder};

/// The federated connection every dev tenant serves.
pub const DEV_CONNECTION: &str = "dev-connection";

/// The scope a connection's access token is granted (as a Google social connection's
/// default).
pub const CONNECTION_SCOPE: &str = "openid profile email";

/// How long a subject token from [`DevTenant::issue_subject_token`] can be exchanged.
pub const SUBJECT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

/// Namespaces Auth0 reserves, which a Custom Token Exchange Profile's type may not use.
const RESERVED_TOKEN_TYPES: &[&str] = &[
    "http://auth0.com",
    "https://auth0.com",
    "http://okta.com",
    "https://okta.com",
    "urn:ietf",
    "urn:auth0",
    "urn:okta",
];

/// The connections and exchange profiles of the tenant.
#[derive(Clone, Debug, Default)]
pub(crate) struct Vault {
    /// Federated connections, besides [`DEV_CONNECTION`].
    pub(crate) connections: Vec<String>,
    /// `subject_token_type`s with a Custom Token Exchange Profile.
    pub(crate) custom_token_types: Vec<String>,
    /// Refresh tokens are not rotated (Auth0's setting for Token Vault): see
    /// [`DevTenantBuilder::refresh_token_rotation`].
    pub(crate) rotation_off: bool,
}

impl Vault {
    /// Validates what the builder was given.
    pub(crate) fn checked(self) -> Result<Self, Error> {
        for connection in &self.connections {
            let ok = !connection.is_empty()
                && connection
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !ok {
                return Err(Error::setting(
                    "federated connection",
                    connection,
                    "give a connection name of letters, digits, - and _, e.g. google-oauth2",
                ));
            }
        }
        for kind in &self.custom_token_types {
            let uri = kind.starts_with("https://") || kind.starts_with("urn:");
            let reserved = RESERVED_TOKEN_TYPES.iter().any(|r| kind.starts_with(r));
            if !uri || reserved || kind.len() < 8 || kind.len() > 100 {
                return Err(Error::setting(
                    "custom token type",
                    kind,
                    "give a URI of yours of 8 to 100 characters starting with https:// or urn: \
                     (not auth0.com, okta.com, urn:ietf, urn:auth0, urn:okta), e.g. \
                     urn:acme:legacy-token",
                ));
            }
        }
        Ok(self)
    }

    /// Whether the tenant serves the connection.
    pub(crate) fn has_connection(&self, name: &str) -> bool {
        name == DEV_CONNECTION || self.connections.iter().any(|c| c == name)
    }

    /// Whether refresh tokens rotate (see [`DevTenantBuilder::refresh_token_rotation`]).
    pub(crate) fn rotates(&self) -> bool {
        !self.rotation_off
    }

    /// Whether a profile has this `subject_token_type`.
    pub(crate) fn has_token_type(&self, kind: &str) -> bool {
        self.custom_token_types.iter().any(|t| t == kind)
    }
}

/// A subject token handed out and not yet exchanged.
#[derive(Debug)]
pub(crate) struct SubjectToken {
    pub(crate) token_type: String,
    pub(crate) user: User,
    pub(crate) expires_at: u64,
}

/// A connection access token issued, for [`DevTenant::connection_token_owner`].
#[derive(Debug)]
pub(crate) struct ConnectionToken {
    pub(crate) connection: String,
    pub(crate) sub: String,
    pub(crate) expires_at: u64,
}

/// What the tenant remembers of its exchanges, by the tokens' SHA-256.
#[derive(Debug, Default)]
pub(crate) struct VaultMemory {
    pub(crate) subject_tokens: HashMap<TokenHash, SubjectToken>,
    pub(crate) connection_tokens: HashMap<TokenHash, ConnectionToken>,
}

impl VaultMemory {
    /// Drops what expired at `now`.
    pub(crate) fn sweep(&mut self, now: u64) {
        self.subject_tokens.retain(|_, t| t.expires_at > now);
        self.connection_tokens.retain(|_, t| t.expires_at > now);
    }
}

impl DevTenantBuilder {
    /// Whether refresh tokens rotate (on by default): each refresh answers a new refresh
    /// token, and the one sent is used up (sent again, it revokes the whole grant: reuse
    /// detection). Off, as Auth0 requires for Token Vault (its federated-connection grant
    /// needs a refresh token that stays valid), the refresh grant answers no refresh token and
    /// the login's one keeps working until the grant ends. With rotation on, the dev tenant
    /// still serves Token Vault (unlike Auth0), so that what a client does when an exchange
    /// races a refresh can be tested.
    pub fn refresh_token_rotation(mut self, enabled: bool) -> Self {
        self.vault.rotation_off = !enabled;
        self
    }

    /// Serves a made-up federated connection (as `google-oauth2` would be) besides
    /// [`DEV_CONNECTION`]: every user who logged in has an account at it, whose access token
    /// the federated-connection grant gives for their refresh token.
    pub fn federated_connection(mut self, name: impl Into<String>) -> Self {
        self.vault.connections.push(name.into());
        self
    }

    /// Adds a Custom Token Exchange Profile for `subject_token_type` (e.g.
    /// `urn:acme:legacy-token`): the token-exchange grant accepts subject tokens of this type
    /// that [`DevTenant::issue_subject_token`] issued (see the module docs).
    pub fn custom_token_type(mut self, subject_token_type: impl Into<String>) -> Self {
        self.vault
            .custom_token_types
            .push(subject_token_type.into());
        self
    }
}

impl DevTenant {
    /// A subject token of `subject_token_type` for the user with this e-mail address, as the
    /// "legacy system" would issue: good for one custom token exchange within
    /// [`SUBJECT_TOKEN_LIFETIME`]. `None` when no profile has that type (see
    /// [`DevTenantBuilder::custom_token_type`]).
    ///
    /// ```
    /// # use auth0_dev_tenant::{DevTenant, DevTenantConfig};
    /// let config = DevTenant::builder().custom_token_type("urn:acme:legacy-token").build()?;
    /// let tenant = DevTenant::new(config, "http://127.0.0.1:4000/")?;
    /// let token = tenant.issue_subject_token("urn:acme:legacy-token", "ada@example.com");
    /// assert!(token.is_some());
    /// assert!(tenant.issue_subject_token("urn:acme:other", "ada@example.com").is_none());
    /// # Ok::<(), auth0_dev_tenant::Error>(())
    /// ```
    pub fn issue_subject_token(&self, subject_token_type: &str, email: &str) -> Option<String> {
        let tenant = &self.inner;
        if !tenant.config.vault.has_token_type(subject_token_type) {
            return None;
        }
        let token = random_token();
        let record = SubjectToken {
            token_type: subject_token_type.to_owned(),
            user: User::new(email, None),
            expires_at: tenant
                .now()
                .saturating_add(SUBJECT_TOKEN_LIFETIME.as_secs()),
        };
        tenant
            .memory()
            .vault
            .subject_tokens
            .insert(hash(&token), record);
        Some(token)
    }

    /// The connection and the user (`sub`) a connection access token the tenant issued is
    /// for, while it is valid: what the connection's API would check.
    pub fn connection_token_owner(&self, token: &str) -> Option<(String, String)> {
        let tenant = &self.inner;
        let now = tenant.now();
        tenant
            .memory()
            .vault
            .connection_tokens
            .get(&hash(token))
            .filter(|t| t.expires_at > now)
            .map(|t| (t.connection.clone(), t.sub.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_or_odd_token_types_are_refused() {
        for bad in [
            "urn:ietf:params:x",
            "https://auth0.com/t",
            "legacy",
            "urn:a",
        ] {
            let vault = Vault {
                custom_token_types: vec![bad.to_owned()],
                ..Vault::default()
            };
            assert!(vault.checked().is_err(), "{bad}");
        }
        let good = Vault {
            custom_token_types: vec!["urn:acme:legacy-token".to_owned()],
            connections: vec!["google-oauth2".to_owned()],
            ..Vault::default()
        };
        assert!(good.checked().is_ok());
    }
}
