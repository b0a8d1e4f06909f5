//! Entry points for the fuzz targets in the repository's `fuzz/` directory, compiled only with
//! the `fuzzing` feature.
//!
//! **Not public API.** Hidden from the docs, outside any semver promise, and never enabled by
//! the facade: it exists so that the fuzz targets reach the token validation through the same
//! code a login runs, without a provider on the network.
//!
//! An offline client is an ordinary [`ServerClient`] whose discovery document and key set are
//! already cached (for as long as its `metadata_ttl`, which [`offline_client`] sets to
//! [`OFFLINE_TTL`]) and whose provider endpoints use a scheme the HTTP client refuses, so that
//! anything that would go to the network (a code exchange, a key-set refetch for an unknown
//! `kid`) fails at once with [`Error::Network`] instead.

use std::time::Duration;

use josekit::jwk::JwkSet;
use serde_json::{Map, Value};

use super::{Error, ProviderMetadata, RetryPolicy, ServerClient, ServerClientBuilder};
use crate::model::UserClaims;

/// How long an offline client keeps its preloaded discovery document and keys: longer than
/// any fuzzing run, so it never tries to fetch them.
pub const OFFLINE_TTL: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// Builds `builder` into a client that never asks the network for `metadata` and `jwks` (a
/// JWK Set document, `{"keys": [...]}`), and never retries.
///
/// # Errors
///
/// [`Error::Configuration`] when an endpoint of `metadata` is `http` or `https` (an offline
/// client must not reach anything) or `jwks` is not a key set; the builder's own errors.
pub async fn offline_client(
    builder: ServerClientBuilder,
    metadata: ProviderMetadata,
    jwks: Map<String, Value>,
) -> Result<ServerClient, Error> {
    let endpoints = [
        Some(&metadata.authorization_endpoint),
        Some(&metadata.token_endpoint),
        Some(&metadata.jwks_uri),
        metadata.end_session_endpoint.as_ref(),
        metadata.pushed_authorization_request_endpoint.as_ref(),
    ];
    if let Some(online) = endpoints
        .into_iter()
        .flatten()
        .find(|e| e.starts_with("http:") || e.starts_with("https:"))
    {
        return Err(Error::Configuration(format!(
            "an offline client's endpoints must not be reachable, and {online} is: use a \
             scheme the HTTP client refuses, such as offline://"
        )));
    }
    let jwks = JwkSet::from_map(jwks)
        .map_err(|e| Error::Configuration(format!("the offline key set is not a JWKS: {e}")))?;
    let client = builder
        .metadata_ttl(OFFLINE_TTL)
        .retry(RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        })
        .build()?;
    client
        .inner
        .domains
        .default_provider()
        .preload(metadata, jwks)
        .await;
    Ok(client)
}

/// Validates an ID token as the callback does (signature, algorithm, `iss`, `aud`, times,
/// `sub`, `nonce` when given, against the client's cached issuer and keys) and makes the
/// user's profile from its claims, as a completed login does.
///
/// # Errors
///
/// [`Error::InvalidIdToken`] for a token that fails; [`Error::Network`] when the token's `kid`
/// is unknown and the (offline) key set would have to be fetched again.
pub async fn validate_id_token(
    client: &ServerClient,
    token: &str,
    nonce: Option<&str>,
) -> Result<UserClaims, Error> {
    let issuer = client.provider_metadata().await?.issuer.clone();
    let claims = client.validate_id_token(token, &issuer, nonce).await?;
    super::login::user_claims(&claims)
}

/// A site or request host (`host` or `host:port`) as multiple custom domains read it:
/// normalised (lower case ASCII, no trailing dot, the port if it has one), or `None` when it
/// is not one.
pub fn parse_site(input: &str) -> Option<String> {
    super::domains::normalised_host(input)
}

/// The callback a login on `site` comes back to: `configured` with the site's host (and
/// port, when it has one).
///
/// # Errors
///
/// [`Error::Configuration`] when `site` is not a host or `host:port`.
pub fn site_callback(configured: &url::Url, site: &str) -> Result<url::Url, Error> {
    super::domains::on_site(configured, site)
}

/// A JWT's `iss`, read without verifying anything, as back-channel logout picks the domain
/// whose keys then verify the token.
pub fn unverified_issuer(token: &str) -> Option<String> {
    super::domains::unverified_issuer(token)
}
