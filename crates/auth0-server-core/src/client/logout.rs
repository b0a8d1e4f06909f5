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

/// Where to send the browser after [`ServerClient::logout`] ended the session here.
///
/// ```
/// use auth0_server_core::client::LogoutRedirect;
///
/// fn location(redirect: &LogoutRedirect, local_return_to: &str) -> String {
///     match redirect.provider_url() {
///         Some(url) => url.to_string(),
///         // The provider is down: the user is logged out here all the same.
///         None => local_return_to.to_owned(),
///     }
/// }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum LogoutRedirect {
    /// The provider's logout URL (its `end_session_endpoint`, else Auth0's `/v2/logout`),
    /// which ends the provider's session too and then sends the browser to `return_to`.
    Provider(Url),
    /// The provider's logout URL cannot be had (its discovery failed: it is down, or
    /// misconfigured). The session here has ended all the same; send the browser to the
    /// app's own return page. The provider's session, if any, is still there, so the next
    /// login may not ask for credentials. Already logged as a warning.
    ProviderUnavailable {
        /// Why the provider's logout URL could not be built.
        reason: Error,
    },
}

impl LogoutRedirect {
    /// The provider's logout URL, when there is one.
    ///
    /// ```
    /// use auth0_server_core::client::{Error, LogoutRedirect};
    ///
    /// let down = LogoutRedirect::ProviderUnavailable { reason: Error::MissingSession };
    /// assert!(down.provider_url().is_none());
    /// ```
    pub fn provider_url(&self) -> Option<&Url> {
        match self {
            Self::Provider(url) => Some(url),
            Self::ProviderUnavailable { .. } => None,
        }
    }
}

impl ServerClient {
    /// Ends the session here, then says where to send the browser: to the provider's
    /// logout URL (its `end_session_endpoint` when it has one, else Auth0's `/v2/logout`),
    /// or, when the provider's metadata cannot be had, back to the app
    /// ([`LogoutRedirect::ProviderUnavailable`], with a `tracing` warning).
    ///
    /// The session is deleted first, so a provider that is down never keeps a user logged
    /// in here. Metadata cached from an earlier request (see `metadata_ttl`) is used as it
    /// is: a provider that went down since is noticed by the browser, not here.
    ///
    /// # Errors
    ///
    /// Store failures only ([`Error::Store`]): then the session may not have ended.
    #[tracing::instrument(name = "oidc.logout", skip_all)]
    pub async fn logout(
        &self,
        options: LogoutOptions,
        cx: &StoreContext,
    ) -> Result<LogoutRedirect, Error> {
        let config = &self.inner.config;
        // Read for the id_token_hint only: a session that cannot be read is still deleted.
        let id_token = match self
            .inner
            .state_store
            .get(&config.state_identifier, cx)
            .await
        {
            Ok(state) => state.and_then(|s| s.id_token),
            Err(error) => {
                tracing::warn!(code = error.code(), %error, "the session could not be read before logout; it is deleted without an id_token_hint");
                None
            }
        };
        self.inner
            .state_store
            .delete(&config.state_identifier, cx)
            .await?;
        match self
            .provider_logout_url(&options, id_token.as_deref())
            .await
        {
            Ok(url) => Ok(LogoutRedirect::Provider(url)),
            Err(reason) => {
                tracing::warn!(
                    code = reason.code(),
                    error = %reason,
                    "the session here ended, but the identity provider's logout URL cannot be \
                     had: the browser goes back to the app, and the provider's session (if any) \
                     stays"
                );
                Ok(LogoutRedirect::ProviderUnavailable { reason })
            }
        }
    }

    /// The provider's logout URL: its `end_session_endpoint`, else Auth0's `/v2/logout`.
    async fn provider_logout_url(
        &self,
        options: &LogoutOptions,
        id_token: Option<&str>,
    ) -> Result<Url, Error> {
        let config = &self.inner.config;
        let metadata = self.inner.provider.metadata().await?;
        let mut url = match &metadata.end_session_endpoint {
            Some(endpoint) => {
                let mut url = Url::parse(endpoint).map_err(|e| Error::Discovery {
                    document: "openid-configuration",
                    reason: format!("end_session_endpoint is not a URL: {e}"),
                })?;
                {
                    let mut q = url.query_pairs_mut();
                    q.append_pair("client_id", &config.client_id);
                    if let Some(id_token) = id_token {
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
