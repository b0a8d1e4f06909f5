//! The provider's discovery document and signing keys: cached, fetched once at a time, and
//! refetched once on an unknown `kid` (with a cooldown).

use std::sync::Arc;
use std::time::{Duration, Instant};

use josekit::jwk::{Jwk, JwkSet};
use serde::Deserialize;
use tokio::sync::Mutex;

use super::Error;
use super::http::Http;
use crate::model::normalize_domain;

/// The shortest time between two key-set fetches caused by unknown `kid`s, so that a flood
/// of forged tokens cannot make us hammer the provider.
pub const JWKS_REFETCH_COOLDOWN: Duration = Duration::from_secs(30);

/// The parts of the OpenID Provider metadata this client uses.
#[derive(Clone, Debug, Deserialize)]
pub struct ProviderMetadata {
    /// The issuer identifier; tokens' `iss` must equal it.
    pub issuer: String,
    /// Where the browser is sent to log in.
    pub authorization_endpoint: String,
    /// Where codes and refresh tokens are exchanged.
    pub token_endpoint: String,
    /// The signing keys.
    pub jwks_uri: String,
    /// RP-initiated logout, when the provider has it.
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
    /// Pushed authorization requests (RFC 9126), when the provider has them.
    #[serde(default)]
    pub pushed_authorization_request_endpoint: Option<String>,
    /// Client-Initiated Backchannel Authentication (CIBA), when the provider has it.
    #[serde(default)]
    pub backchannel_authentication_endpoint: Option<String>,
    /// Token revocation (RFC 7009), when the provider has it (Auth0: `/oauth/revoke`).
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    /// Whether the provider sends `iss` to the callback (RFC 9207).
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

struct Cached<T> {
    value: Arc<T>,
    fetched: Instant,
    generation: u64,
}

pub(crate) struct Provider {
    http: Http,
    discovery_url: String,
    issuer: url::Url,
    expected_domain: String,
    ttl: Duration,
    metadata: Mutex<Option<Cached<ProviderMetadata>>>,
    jwks: Mutex<Option<Cached<JwkSet>>>,
    last_forced_refetch: std::sync::Mutex<Option<Instant>>,
}

impl Provider {
    pub(crate) fn new(http: Http, issuer: &url::Url, ttl: Duration) -> Self {
        let base = issuer.as_str().trim_end_matches('/');
        Self {
            http,
            discovery_url: format!("{base}/.well-known/openid-configuration"),
            issuer: issuer.clone(),
            expected_domain: normalize_domain(issuer.as_str()),
            ttl,
            metadata: Mutex::new(None),
            jwks: Mutex::new(None),
            last_forced_refetch: std::sync::Mutex::new(None),
        }
    }

    /// The issuer URL the domain was turned into (`https://{domain}/`).
    pub(crate) fn issuer(&self) -> &url::Url {
        &self.issuer
    }

    /// The normalised domain (issuer) this provider serves, as sessions record it.
    pub(crate) fn domain(&self) -> &str {
        &self.expected_domain
    }

    pub(crate) fn http(&self) -> &Http {
        &self.http
    }

    /// Fills both caches as if `metadata` and `jwks` had just been fetched, so a client can
    /// validate tokens without a provider to ask (the fuzz targets' offline client).
    #[cfg(feature = "fuzzing")]
    pub(crate) async fn preload(&self, metadata: ProviderMetadata, jwks: JwkSet) {
        *self.metadata.lock().await = Some(Cached {
            value: Arc::new(metadata),
            fetched: Instant::now(),
            generation: 1,
        });
        *self.jwks.lock().await = Some(Cached {
            value: Arc::new(jwks),
            fetched: Instant::now(),
            generation: 1,
        });
    }

    /// The discovery document, from the cache when it is fresh. Concurrent callers wait for
    /// one fetch.
    pub(crate) async fn metadata(&self) -> Result<Arc<ProviderMetadata>, Error> {
        let mut slot = self.metadata.lock().await;
        if let Some(cached) = slot.as_ref().filter(|c| c.fetched.elapsed() < self.ttl) {
            return Ok(cached.value.clone());
        }
        tracing::debug!(url = %self.discovery_url, "oidc.discovery");
        let metadata: ProviderMetadata = self
            .http
            .get_json(&self.discovery_url, "openid-configuration")
            .await?;
        if normalize_domain(&metadata.issuer) != self.expected_domain {
            return Err(Error::IssuerMismatch {
                expected: self.expected_domain.clone(),
                actual: metadata.issuer,
            });
        }
        let value = Arc::new(metadata);
        *slot = Some(Cached {
            value: value.clone(),
            fetched: Instant::now(),
            generation: 1,
        });
        Ok(value)
    }

    /// The key set and its generation (how many times it was fetched). With
    /// `refetch_unless_newer_than = Some(g)`, it is fetched again unless another caller
    /// already fetched a generation newer than `g`.
    async fn key_set(
        &self,
        refetch_unless_newer_than: Option<u64>,
    ) -> Result<(Arc<JwkSet>, u64), Error> {
        let metadata = self.metadata().await?;
        let mut slot = self.jwks.lock().await;
        if let Some(cached) = slot.as_ref() {
            let usable = match refetch_unless_newer_than {
                None => cached.fetched.elapsed() < self.ttl,
                Some(seen) => cached.generation > seen,
            };
            if usable {
                return Ok((cached.value.clone(), cached.generation));
            }
        }
        let raw: serde_json::Map<String, serde_json::Value> =
            self.http.get_json(&metadata.jwks_uri, "jwks").await?;
        let set = JwkSet::from_map(raw).map_err(|e| Error::Discovery {
            document: "jwks",
            reason: e.to_string(),
        })?;
        let generation = slot.as_ref().map_or(1, |c| c.generation + 1);
        let value = Arc::new(set);
        *slot = Some(Cached {
            value: value.clone(),
            fetched: Instant::now(),
            generation,
        });
        Ok((value, generation))
    }

    /// The key that signed a token: by `kid` (refetching the set once if it is unknown and
    /// the cooldown allows), or the only key of the right type when the token has no `kid`.
    pub(crate) async fn key(&self, kid: Option<&str>, kty: &str) -> Result<Jwk, Error> {
        let (set, generation) = self.key_set(None).await?;
        if let Some(key) = find(&set, kid, kty) {
            return Ok(key);
        }
        let may_refetch = {
            let mut last = self
                .last_forced_refetch
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let allowed = last.is_none_or(|t| t.elapsed() >= JWKS_REFETCH_COOLDOWN);
            if allowed {
                *last = Some(Instant::now());
            }
            allowed
        };
        if may_refetch {
            let (set, _) = self.key_set(Some(generation)).await?;
            if let Some(key) = find(&set, kid, kty) {
                return Ok(key);
            }
        }
        Err(Error::InvalidIdToken(format!(
            "no signing key {}of type {kty} in the provider's key set",
            kid.map(|k| format!("with kid {k:?} ")).unwrap_or_default()
        )))
    }
}

fn find(set: &JwkSet, kid: Option<&str>, kty: &str) -> Option<Jwk> {
    let usable = |k: &&Jwk| k.key_type() == kty && k.key_use().is_none_or(|u| u == "sig");
    match kid {
        Some(kid) => set.get(kid).into_iter().find(usable).cloned(),
        None => {
            let mut candidates = set.keys().into_iter().filter(usable);
            let first = candidates.next()?;
            candidates.next().is_none().then(|| first.clone())
        }
    }
}
