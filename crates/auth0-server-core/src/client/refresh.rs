//! The token endpoint's answer as the public [`TokenEndpointResponse`], and
//! [`ServerClient::get_token_by_refresh_token`]: a refresh token exchanged outside any
//! session (the Python SDK's `get_token_by_refresh_token`).

use serde::Deserialize;
use serde_json::{Map, Value};

use super::login::{expires_at, lenient_expires_in};
use super::{Error, ServerClient};
use crate::model::DEFAULT_AUDIENCE;

/// What a token endpoint answered to a successful request: a CIBA login
/// ([`ServerClient::backchannel_authentication`]) or a refresh
/// ([`ServerClient::get_token_by_refresh_token`]). Its `Debug` never shows a token.
#[derive(Clone, Deserialize)]
#[non_exhaustive]
pub struct TokenEndpointResponse {
    /// The access token.
    pub access_token: String,
    /// Its type, normally `Bearer`.
    #[serde(default)]
    pub token_type: Option<String>,
    /// The ID token, when `openid` was in the scope (already validated by the SDK).
    #[serde(default)]
    pub id_token: Option<String>,
    /// A refresh token, when `offline_access` was granted (a new one when the provider
    /// rotates them: keep it, the one sent is used up).
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Seconds the access token lives, as the provider said (read leniently).
    #[serde(default, deserialize_with = "lenient_expires_in")]
    pub expires_in: Option<u64>,
    /// The scopes granted.
    #[serde(default)]
    pub scope: Option<String>,
    /// Rich authorization request details (RFC 9396), when the provider granted some.
    #[serde(default)]
    pub authorization_details: Option<Value>,
    /// When the access token expires (unix seconds): filled in by the SDK from
    /// `expires_in` (an hour when the provider gave none).
    #[serde(skip)]
    pub expires_at: u64,
    /// Other fields of the answer, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl std::fmt::Debug for TokenEndpointResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |t: &Option<String>| t.as_ref().map(|_| "[redacted]");
        f.debug_struct("TokenEndpointResponse")
            .field("access_token", &"[redacted]")
            .field("token_type", &self.token_type)
            .field("id_token", &redacted(&self.id_token))
            .field("refresh_token", &redacted(&self.refresh_token))
            .field("expires_in", &self.expires_in)
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl TokenEndpointResponse {
    /// Reads a token endpoint's JSON answer; `now` (unix seconds) dates `expires_at`.
    pub(crate) fn from_json(body: Value, now: u64) -> Result<Self, Error> {
        let mut response: Self =
            serde_json::from_value(body).map_err(|e| Error::TokenEndpoint {
                error: "invalid_response".to_owned(),
                description: Some(format!("the token response is not the expected JSON: {e}")),
                status: 200,
            })?;
        response.expires_at = expires_at(now, response.expires_in);
        Ok(response)
    }
}

/// What [`ServerClient::get_token_by_refresh_token`] asks for.
#[derive(Clone, Debug, Default)]
pub struct RefreshTokenOptions {
    /// The API the new access token is for (else the configured audience, else none).
    pub audience: Option<String>,
    /// The scopes asked for, sent as given (at most those of the original grant); none
    /// sent when unset, so the provider grants the original ones.
    pub scope: Option<String>,
}

impl ServerClient {
    /// Exchanges a refresh token at the token endpoint, outside any session: for a refresh
    /// token the application keeps itself (a background job, a CIBA login's tokens). The
    /// session's tokens are refreshed by [`get_access_token`](Self::get_access_token)
    /// instead.
    ///
    /// An ID token in the answer is validated (signature, issuer, audience, times) before
    /// the answer is returned. When the provider rotates refresh tokens, the answer's
    /// `refresh_token` replaces the one sent, which is used up.
    ///
    /// ```no_run
    /// use auth0_server_core::client::{RefreshTokenOptions, ServerClient};
    ///
    /// # async fn demo(client: ServerClient, stored: String) -> Result<(), auth0_server_core::client::Error> {
    /// let options = RefreshTokenOptions {
    ///     audience: Some("https://api.example.com".into()),
    ///     ..RefreshTokenOptions::default()
    /// };
    /// let tokens = client.get_token_by_refresh_token(&stored, options).await?;
    /// let bearer = tokens.access_token; // valid until tokens.expires_at
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for an empty refresh token; [`Error::RefreshFailed`] with
    /// the provider's error (`invalid_grant`: the refresh token is unknown, used up,
    /// revoked or expired — log the user in again); [`Error::MfaRequired`];
    /// [`Error::InvalidIdToken`]; network and discovery failures.
    #[tracing::instrument(name = "oidc.refresh_token_grant", skip_all)]
    pub async fn get_token_by_refresh_token(
        &self,
        refresh_token: &str,
        options: RefreshTokenOptions,
    ) -> Result<TokenEndpointResponse, Error> {
        if refresh_token.trim().is_empty() {
            return Err(Error::InvalidArgument(
                "the refresh token is empty: pass the refresh_token of an earlier token response"
                    .to_owned(),
            ));
        }
        let audience = options
            .audience
            .or_else(|| self.inner.config.audience.clone())
            .unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned());
        let body: Value = self
            .refresh(refresh_token, &audience, options.scope.as_deref())
            .await?;
        let response = TokenEndpointResponse::from_json(body, self.now())?;
        if let Some(id_token) = &response.id_token {
            let metadata = self.provider().metadata().await?;
            self.validate_id_token(id_token, &metadata.issuer, None)
                .await?;
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::login::DEFAULT_EXPIRES_IN;

    #[test]
    fn tokens_never_show_in_debug_and_expiry_is_dated() {
        let body = serde_json::json!({
            "access_token": "at-secret", "id_token": "id-secret", "refresh_token": "rt-secret",
            "token_type": "Bearer", "expires_in": 60, "scope": "openid", "custom": 1
        });
        let response = TokenEndpointResponse::from_json(body, 1000).unwrap();
        let debug = format!("{response:?}");
        assert!(!debug.contains("secret"), "{debug}");
        assert_eq!(response.expires_at, 1060);
        assert_eq!(response.extra["custom"], 1);
        let bare = TokenEndpointResponse::from_json(serde_json::json!({"access_token": "a"}), 5);
        assert_eq!(bare.unwrap().expires_at, 5 + DEFAULT_EXPIRES_IN);
    }
}
