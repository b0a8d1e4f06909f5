//! Revoking the session's refresh token at the provider (RFC 7009; Auth0's `/oauth/revoke`):
//! after it, the token is refused at the token endpoint, wherever a copy of it is.

use super::http::{Http, Retry, TokenAnswer};
use super::{Error, ServerClient};
use crate::store::StoreContext;

impl ServerClient {
    /// Revokes the session's refresh token at the provider's `revocation_endpoint` (Auth0's
    /// `/oauth/revoke`), with the client's authentication (a secret or `private_key_jwt`),
    /// then drops it from the session: `get_access_token` can no longer refresh (it says
    /// [`Error::MissingRefreshToken`]) and a copy of the token anywhere else is refused too.
    /// The session, its user and its access tokens stay. Returns whether a token was revoked:
    /// `false` when the request has no session, or one without a refresh token, or another
    /// domain's.
    ///
    /// Call it before [`logout`](Self::logout) for a logout that also ends offline access, or
    /// when the user withdraws it. Neither Auth0 SDK revokes the refresh token for you.
    ///
    /// ```no_run
    /// # async fn demo(client: auth0_server_core::client::ServerClient,
    /// #               cx: auth0_server_core::store::StoreContext)
    /// # -> Result<(), auth0_server_core::client::Error> {
    /// if client.revoke_refresh_token(&cx).await? {
    ///     // send cx.take_changes() as Set-Cookie: the session changed
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] when the provider names no revocation endpoint;
    /// [`Error::ClientAuthentication`] when it refuses the client's credentials;
    /// [`Error::TokenEndpoint`] with the provider's `error` for another refusal (the token
    /// stays in the session then); network, discovery and store failures.
    #[tracing::instrument(name = "oidc.revoke_refresh_token", skip_all)]
    pub async fn revoke_refresh_token(&self, cx: &StoreContext) -> Result<bool, Error> {
        self.under_request_domain(cx, self.revoke_under_domain(cx))
            .await
    }

    async fn revoke_under_domain(&self, cx: &StoreContext) -> Result<bool, Error> {
        let identifier = &self.inner.config.state_identifier;
        let Some(mut state) = self.inner.state_store.get(identifier, cx).await? else {
            return Ok(false);
        };
        if !self.is_current_domain(state.domain.as_deref()) {
            return Ok(false);
        }
        let Some(token) = state.refresh_token.take() else {
            return Ok(false);
        };
        self.revoke_at_provider(token).await?;
        self.inner
            .state_store
            .set(identifier, &state, false, cx)
            .await?;
        Ok(true)
    }

    /// POSTs `token` to the revocation endpoint as a refresh token. 200 is done (also for a
    /// token the provider no longer knows, as RFC 7009 asks).
    async fn revoke_at_provider(&self, token: String) -> Result<(), Error> {
        let metadata = self.provider().metadata().await?;
        let endpoint = metadata.revocation_endpoint.clone().ok_or_else(|| {
            Error::Configuration(
                "the provider's discovery document names no revocation_endpoint: a refresh \
                 token cannot be revoked there"
                    .to_owned(),
            )
        })?;
        let form = [
            ("token".to_owned(), token),
            ("token_type_hint".to_owned(), "refresh_token".to_owned()),
        ];
        // Revoking twice is revoking once: retried like any idempotent request.
        let response = self
            .send_as_client(&endpoint, &form, Retry::Idempotent)
            .await?;
        if response.status().is_success() {
            return Ok(());
        }
        let answer =
            Http::oauth_answer::<serde_json::Value>(response, &endpoint, "revocation endpoint")
                .await?;
        match self.client_answer(answer)? {
            TokenAnswer::Ok(_) => Ok(()),
            TokenAnswer::Err { status, body } => Err(Error::TokenEndpoint {
                error: body.error,
                description: body.error_description,
                status,
            }),
        }
    }
}
