//! Logout: RP-initiated (the browser) and back-channel (the provider).

use url::Url;

use super::jwt::{self, Expectations, VerifyError};
use super::{Error, ServerClient};
use crate::model::LogoutTokenClaims;
use crate::store::StoreContext;

/// What [`ServerClient::logout`] may be told.
#[derive(Clone, Debug, Default)]
pub struct LogoutOptions {
    /// Where the provider sends the browser after logout (it must be allowed there).
    pub return_to: Option<String>,
}

impl ServerClient {
    /// Ends the session here and returns the provider's logout URL to send the browser to:
    /// its `end_session_endpoint` when it has one, else Auth0's `/v2/logout`.
    ///
    /// # Errors
    ///
    /// Store failures, or the provider's metadata cannot be had.
    #[tracing::instrument(name = "oidc.logout", skip_all)]
    pub async fn logout(&self, options: LogoutOptions, cx: &StoreContext) -> Result<Url, Error> {
        let config = &self.inner.config;
        // The provider's metadata first: if it cannot be had, the user stays logged in
        // here rather than half logged out.
        let metadata = self.inner.provider.metadata().await?;
        let state = self
            .inner
            .state_store
            .get(&config.state_identifier, cx)
            .await?;
        self.inner
            .state_store
            .delete(&config.state_identifier, cx)
            .await?;
        let mut url = match &metadata.end_session_endpoint {
            Some(endpoint) => {
                let mut url = Url::parse(endpoint).map_err(|e| Error::Discovery {
                    document: "openid-configuration",
                    reason: format!("end_session_endpoint is not a URL: {e}"),
                })?;
                {
                    let mut q = url.query_pairs_mut();
                    q.append_pair("client_id", &config.client_id);
                    if let Some(id_token) = state.as_ref().and_then(|s| s.id_token.as_deref()) {
                        q.append_pair("id_token_hint", id_token);
                    }
                    if let Some(return_to) = &options.return_to {
                        q.append_pair("post_logout_redirect_uri", return_to);
                    }
                }
                url
            }
            None => {
                let mut url = config.issuer.join("v2/logout").map_err(|e| {
                    Error::Configuration(format!("the logout URL cannot be built: {e}"))
                })?;
                {
                    let mut q = url.query_pairs_mut();
                    q.append_pair("client_id", &config.client_id);
                    if let Some(return_to) = &options.return_to {
                        q.append_pair("returnTo", return_to);
                    }
                }
                url
            }
        };
        if url.query() == Some("") {
            url.set_query(None);
        }
        Ok(url)
    }

    /// Handles a back-channel logout request's `logout_token`: validates it (OIDC Back-Channel
    /// Logout 1.0: signature, `iss`, `aud`, `iat`, `exp`, the event, `sid` or `sub`, no
    /// `nonce`, `typ`) and ends the sessions it names. Returns how many ended.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidLogoutToken`] for a token that fails validation (answer 400),
    /// store failures (a cookie store answers `Unsupported`).
    #[tracing::instrument(name = "oidc.backchannel_logout", skip_all)]
    pub async fn handle_backchannel_logout(
        &self,
        logout_token: &str,
        cx: &StoreContext,
    ) -> Result<u64, Error> {
        let config = &self.inner.config;
        let metadata = self.inner.provider.metadata().await?;
        let expect = Expectations {
            issuer: &metadata.issuer,
            client_id: &config.client_id,
            algorithms: &config.id_token_algorithms,
            leeway: config.leeway,
            now: self.now(),
        };
        let (header, claims) = jwt::verify(logout_token, &self.inner.provider, &expect)
            .await
            .map_err(|e| match e {
                VerifyError::Invalid(reason) => Error::InvalidLogoutToken(reason),
                VerifyError::Provider(e) => e,
            })?;
        jwt::check_logout_token(&header, &claims).map_err(Error::InvalidLogoutToken)?;
        let claims: LogoutTokenClaims = serde_json::from_value(serde_json::Value::Object(claims))
            .map_err(|e| {
            Error::InvalidLogoutToken(format!("its claims are unreadable: {e}"))
        })?;
        Ok(self
            .inner
            .state_store
            .delete_by_logout_token(&claims, cx)
            .await?)
    }
}
