//! Logout: RP-initiated (the browser) and back-channel (the provider).

use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use url::Url;

use super::jwt::{self, Expectations, VerifyError};
use super::{Error, ServerClient};
use super::{domains, meters};
use crate::model::LogoutTokenClaims;
use crate::store::{StoreContext, TokenUse};

/// The latest expiry handed to a store for a logout token's id: 9999-12-31T23:59:59Z.
const FAR_FUTURE_SECONDS: u64 = 253_402_300_799;

/// The key a logout token is remembered under: a digest of its issuer and `jti` (so tokens of
/// two issuers never collide, and no token text is stored), and when it may be forgotten:
/// its `exp` plus the leeway, past which it is refused anyway.
fn replay_key(claims: &Map<String, Value>, leeway: u64) -> (String, u64) {
    let text = |name: &str| claims.get(name).and_then(Value::as_str).unwrap_or_default();
    let digest = Sha256::new()
        .chain_update(text("iss").as_bytes())
        .chain_update([0])
        .chain_update(text("jti").as_bytes())
        .finalize();
    let exp = claims
        .get("exp")
        .and_then(|v| v.as_u64().or_else(|| v.as_f64().map(|f| f.max(0.0) as u64)))
        .unwrap_or_default();
    (B64.encode(digest), exp.saturating_add(leeway))
}

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
        let done = self
            .under_request_domain(cx, self.logout_under_domain(options, cx))
            .await;
        meters::logout(&done);
        done
    }

    async fn logout_under_domain(
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
            Ok(Some(state)) if !self.is_current_domain(state.domain.as_deref()) => {
                // Another domain's session is no session here: it is left as it is.
                return Ok(self.logout_redirect(&options, None).await);
            }
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
        Ok(self.logout_redirect(&options, id_token.as_deref()).await)
    }

    /// Where the browser goes after the session here ended (see [`Self::logout`]).
    async fn logout_redirect(
        &self,
        options: &LogoutOptions,
        id_token: Option<&str>,
    ) -> LogoutRedirect {
        match self.provider_logout_url(options, id_token).await {
            Ok(url) => LogoutRedirect::Provider(url),
            Err(reason) => {
                tracing::warn!(
                    code = reason.code(),
                    error = %reason,
                    "the session here ended, but the identity provider's logout URL cannot be \
                     had: the browser goes back to the app, and the provider's session (if any) \
                     stays"
                );
                LogoutRedirect::ProviderUnavailable { reason }
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
        let metadata = self.provider().metadata().await?;
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
                let mut url = self.provider().issuer().join("v2/logout").map_err(|e| {
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
    /// `nonce`, `typ`), refuses it if it was received before (its `jti`, within its lifetime),
    /// and ends the sessions it names. Returns how many ended.
    ///
    /// A token is accepted once: the Redis and PostgreSQL stores remember its `jti` in the
    /// store, so a copy sent to another instance is refused too; other stores rely on this
    /// process's memory ([`MAX_REMEMBERED_LOGOUT_TOKENS`](super::MAX_REMEMBERED_LOGOUT_TOKENS)).
    /// When ending the sessions fails, the token is forgotten again so that the provider may
    /// retry it.
    ///
    /// Under a domain resolver ([`ServerClientBuilder::domain_resolver`]), the request's host
    /// must be one the app serves, and the token may be of any domain the resolver lists
    /// ([`DomainResolver::domains`]) or the configured domain: it is verified with that
    /// domain's discovery document and keys, and ends only that domain's sessions. A token of
    /// another issuer is refused before any request goes out.
    ///
    /// [`ServerClientBuilder::domain_resolver`]: super::ServerClientBuilder::domain_resolver
    /// [`DomainResolver::domains`]: super::DomainResolver::domains
    ///
    /// # Errors
    ///
    /// [`Error::InvalidLogoutToken`] for a token that fails validation or is a replay (answer
    /// 400), store failures (a cookie store answers `Unsupported`).
    #[tracing::instrument(name = "oidc.backchannel_logout", skip_all)]
    pub async fn handle_backchannel_logout(
        &self,
        logout_token: &str,
        cx: &StoreContext,
    ) -> Result<u64, Error> {
        let ended = self.backchannel_logout_checked(logout_token, cx).await;
        meters::backchannel_logout(&ended);
        ended
    }

    async fn backchannel_logout_checked(
        &self,
        logout_token: &str,
        cx: &StoreContext,
    ) -> Result<u64, Error> {
        let request = self.request_provider(cx).await?;
        let provider = self.logout_token_provider(logout_token, request).await?;
        domains::within(
            provider,
            self.backchannel_logout_under_domain(logout_token, cx),
        )
        .await
    }

    async fn backchannel_logout_under_domain(
        &self,
        logout_token: &str,
        cx: &StoreContext,
    ) -> Result<u64, Error> {
        let (claims, key, expires_at) = self.verify_logout_token(logout_token).await?;
        let in_process = self.record_logout_token(&key, expires_at, cx).await?;
        let store = &self.inner.state_store;
        match store.delete_by_logout_token(&claims, cx).await {
            Ok(ended) => Ok(ended),
            // A store without back-channel logout (cookies) never ends anything: the token
            // stays used, so a copy is refused as a replay like everywhere else.
            Err(e @ crate::store::StoreError::Unsupported { .. }) => Err(e.into()),
            Err(e) => {
                // Nothing ended: let the provider send the token again.
                if in_process {
                    self.inner.logout_tokens.forget(&key);
                } else if let Err(forget) = store.forget_logout_token(&key, cx).await {
                    tracing::warn!(error = %forget, "could not forget a logout token whose sessions were not ended");
                }
                Err(e.into())
            }
        }
    }

    /// The logout token's claims once verified with the current domain's keys (see
    /// [`Self::handle_backchannel_logout`]), with its replay key and when that may be
    /// forgotten (see [`replay_key`]).
    async fn verify_logout_token(
        &self,
        logout_token: &str,
    ) -> Result<(LogoutTokenClaims, String, u64), Error> {
        let config = &self.inner.config;
        let metadata = self.provider().metadata().await?;
        let expect = Expectations {
            issuer: &metadata.issuer,
            client_id: &config.client_id,
            algorithms: &config.id_token_algorithms,
            leeway: config.leeway,
            now: self.now(),
        };
        let (header, claims) = jwt::verify(logout_token, &self.provider(), &expect)
            .await
            .map_err(|e| match e {
                VerifyError::Invalid(reason) => Error::InvalidLogoutToken(reason),
                VerifyError::Provider(e) => e,
            })?;
        jwt::check_logout_token(&header, &claims).map_err(Error::InvalidLogoutToken)?;
        let (key, expires_at) = replay_key(&claims, config.leeway.as_secs());
        let claims: LogoutTokenClaims = serde_json::from_value(serde_json::Value::Object(claims))
            .map_err(|e| {
            Error::InvalidLogoutToken(format!("its claims are unreadable: {e}"))
        })?;
        Ok((claims, key, expires_at))
    }

    /// Records the logout token `key` as used until `expires_at`, once only: in the store
    /// when it keeps token ids (so across instances), else in this process (then `true`).
    /// Recorded before any session ends, so that two copies arriving together cannot both
    /// pass.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidLogoutToken`] for a replay; store failures.
    async fn record_logout_token(
        &self,
        key: &str,
        expires_at: u64,
        cx: &StoreContext,
    ) -> Result<bool, Error> {
        let until = UNIX_EPOCH
            .checked_add(Duration::from_secs(expires_at))
            .unwrap_or(UNIX_EPOCH + Duration::from_secs(FAR_FUTURE_SECONDS));
        let store = &self.inner.state_store;
        let (first, in_process) = match store.record_logout_token(key, until, cx).await? {
            TokenUse::First => (true, false),
            TokenUse::Replayed => (false, false),
            // NotKept, or a kind a newer store crate adds: this process remembers the id.
            _ => {
                let recorded = self.inner.logout_tokens.record(key, expires_at, self.now());
                (recorded == TokenUse::First, true)
            }
        };
        if !first {
            tracing::warn!("back-channel logout token received again; refused as a replay");
            return Err(Error::InvalidLogoutToken(
                "it was received before (same issuer and jti): a replay".to_owned(),
            ));
        }
        Ok(in_process)
    }
}
