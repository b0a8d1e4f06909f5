//! How the client proves who it is wherever the provider authenticates clients (the token
//! endpoint for code exchanges and refreshes, the PAR endpoint, the backchannel
//! authentication endpoint): a client secret (HTTP Basic or in the form), or a client
//! assertion signed with the application's private key (`private_key_jwt`, RFC 7523 §2.2 and
//! OpenID Connect Core §9).
//!
//! [`ServerClient::request_as_client`] is the one place the credentials are put on a
//! request.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use josekit::jwk::{Jwk, KeyPair as _};
use josekit::jws::{ES256, JwsHeader, JwsSigner, PS256, RS256};
use josekit::jwt::JwtPayload;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::config::{ClientSecret, TokenEndpointAuth};
use super::http::{Http, Retry, TokenAnswer};
use super::{Error, ServerClient};
use crate::seal::random_bytes;

/// The `client_assertion_type` of a signed client assertion (RFC 7523 §2.2).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// How long a client assertion is valid after it is signed. Each request gets a fresh one,
/// so it only has to outlive one round trip (plus clock skew); the provider remembers its
/// `jti` until then to refuse a replay.
pub const CLIENT_ASSERTION_LIFETIME: Duration = Duration::from_secs(60);
/// The algorithms a client assertion may be signed with: `RS256` and `PS256` with an RSA key
/// (2048 bits or more), `ES256` with an EC key on P-256.
pub const CLIENT_ASSERTION_ALGORITHMS: &[&str] = &["RS256", "PS256", "ES256"];
/// Random bytes in a client assertion's `jti`.
const JTI_BYTES: usize = 32;

/// Where the client assertion signing key comes from: its text (a PEM or a JWK), or a file
/// holding it. Its `Debug` never shows the key.
#[derive(Clone)]
pub(crate) enum KeySource {
    /// The PEM or the JWK itself.
    Text(String),
    /// A file holding the PEM or the JWK.
    File(PathBuf),
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(_) => f.write_str("KeySource::Text([redacted])"),
            // The path may be a mistyped key (a quoted or base64 PEM in the environment).
            Self::File(_) => f.write_str("KeySource::File([path])"),
        }
    }
}

impl KeySource {
    /// `AUTH0_CLIENT_ASSERTION_SIGNING_KEY`'s value: the PEM (`-----BEGIN …`) or the JWK (`{…}`)
    /// itself, else the path of a file holding one. A value wrapped in matching quotes
    /// (`"…"` or `'…'`, as `docker --env-file` keeps them) is read without them.
    pub(crate) fn from_env_value(value: String) -> Self {
        let value = unquote(value.trim()).to_owned();
        if value.starts_with("-----BEGIN") || value.starts_with('{') {
            Self::Text(value)
        } else {
            Self::File(PathBuf::from(value))
        }
    }

    /// The key's text. A file that cannot be read is reported without its path: the "path"
    /// may be a key that was not recognised (a base64 PEM), which must not reach a log.
    fn read(&self) -> Result<String, Error> {
        match self {
            Self::Text(text) => Ok(text.clone()),
            Self::File(path) => std::fs::read_to_string(path).map_err(|e| {
                // io::Error's Display names the kind of failure, never the path.
                Error::InvalidClientAssertionKey(format!(
                    "it is not a PEM or JWK, and there is no readable file at the path given \
                     ({e}): give the PEM itself (-----BEGIN PRIVATE KEY-----, with \\n for line \
                     breaks on one line) or the path of a file holding the PEM or JWK"
                ))
            }),
        }
    }
}

/// `value` without one pair of matching surrounding quotes (`"…"` or `'…'`).
fn unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|rest| rest.strip_suffix(quote))
        {
            return inner.trim();
        }
    }
    value
}

/// The kinds of keys a client assertion may be signed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    EcP256,
}

impl KeyKind {
    fn default_algorithm(self) -> &'static str {
        match self {
            Self::Rsa => "RS256",
            Self::EcP256 => "ES256",
        }
    }

    fn fits(self, alg: &str) -> bool {
        match self {
            Self::Rsa => matches!(alg, "RS256" | "PS256"),
            Self::EcP256 => alg == "ES256",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Rsa => "an RSA key, which signs RS256 or PS256",
            Self::EcP256 => "an EC P-256 key, which signs ES256",
        }
    }
}

fn bad_key(reason: impl Into<String>) -> Error {
    Error::InvalidClientAssertionKey(reason.into())
}

/// The private key client assertions are signed with, read and checked at `build()`. Its
/// `Debug` shows the algorithm and key id only.
pub(crate) struct AssertionKey {
    alg: &'static str,
    kid: Option<String>,
    signer: Box<dyn JwsSigner>,
}

impl fmt::Debug for AssertionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssertionKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl AssertionKey {
    /// Reads the key (a PEM: PKCS#8, PKCS#1 or SEC1; or a private JWK) and picks its
    /// algorithm: `alg` when given, else the JWK's `alg`, else RS256 for an RSA key and ES256
    /// for an EC P-256 key.
    pub(crate) fn read(source: &KeySource, alg: Option<&str>) -> Result<Self, Error> {
        let text = source.read()?;
        // A PEM in an environment file is often written on one line with `\n` escapes.
        let text = if text.contains('\n') {
            text
        } else {
            text.replace("\\n", "\n")
        };
        let start = text.trim_start();
        if start.starts_with('{') {
            Self::from_jwk(start, alg)
        } else if start.starts_with("-----BEGIN") {
            Self::from_pem(start, alg)
        } else {
            Err(bad_key(
                "it is neither a PEM private key (-----BEGIN PRIVATE KEY-----) nor a JWK (a JSON \
                 object): give the private key whose public key is registered for the \
                 application",
            ))
        }
    }

    fn from_pem(pem: &str, alg: Option<&str>) -> Result<Self, Error> {
        if pem.contains("PUBLIC KEY-----") || pem.contains("CERTIFICATE-----") {
            return Err(bad_key(
                "it is a public key or a certificate: give the private key (its public key or \
                 certificate is what the application has registered)",
            ));
        }
        if pem.contains("ENCRYPTED PRIVATE KEY-----") {
            return Err(bad_key(
                "it is an encrypted PEM: decrypt it first (openssl pkcs8 -in key.pem -out \
                 decrypted.pem) and keep it as a secret",
            ));
        }
        // Read as a key pair, then signed with as a JWK (with no `alg` of its own): one way
        // to every algorithm the key fits (josekit's PS256 reads no rsaEncryption PEM).
        let jwk = if let Ok(mut pair) = RS256.key_pair_from_pem(pem) {
            pair.set_algorithm(None);
            pair.to_jwk_private_key()
        } else if let Ok(mut pair) = ES256.key_pair_from_pem(pem) {
            pair.set_algorithm(None);
            pair.to_jwk_private_key()
        } else {
            return Err(bad_key(
                "it is not an RSA (2048 bits or more) or EC P-256 private key in PEM (PKCS#8 \
                 BEGIN PRIVATE KEY, PKCS#1 BEGIN RSA PRIVATE KEY, or SEC1 BEGIN EC PRIVATE KEY)",
            ));
        };
        Self::from_private_jwk(&jwk, alg)
    }

    fn from_jwk(json: &str, alg: Option<&str>) -> Result<Self, Error> {
        // The parser's message may quote the input: it is not passed on.
        let jwk = Jwk::from_bytes(json.as_bytes()).map_err(|_| {
            bad_key(
                "it is not a JSON Web Key: give a JSON object with kty, and d for the private part",
            )
        })?;
        Self::from_private_jwk(&jwk, alg)
    }

    fn from_private_jwk(jwk: &Jwk, alg: Option<&str>) -> Result<Self, Error> {
        if jwk.parameter("d").is_none() {
            return Err(bad_key(
                "the JWK is a public key (it has no \"d\"): give the private key (its public \
                 half is what the application has registered)",
            ));
        }
        let kind = match (jwk.key_type(), jwk.curve()) {
            ("RSA", _) => KeyKind::Rsa,
            ("EC", Some("P-256")) => KeyKind::EcP256,
            ("EC", curve) => {
                return Err(bad_key(format!(
                    "the JWK is an EC key on {}: client assertions are signed with ES256, which \
                     needs P-256",
                    curve.unwrap_or("an unnamed curve")
                )));
            }
            (kty, _) => {
                return Err(bad_key(format!(
                    "the JWK's kty {kty:?} is not supported: give an RSA or EC P-256 key"
                )));
            }
        };
        let alg = choose_algorithm(kind, alg, jwk.algorithm())?;
        let signer: Result<Box<dyn JwsSigner>, _> = match alg {
            "PS256" => PS256.signer_from_jwk(jwk).map(|s| Box::new(s) as _),
            "ES256" => ES256.signer_from_jwk(jwk).map(|s| Box::new(s) as _),
            _ => RS256.signer_from_jwk(jwk).map(|s| Box::new(s) as _),
        };
        let signer = signer.map_err(|_| {
            bad_key(format!(
                "the JWK cannot sign {alg} (an RSA key needs 2048 bits or more; \"use\" must be \
                 \"sig\" and \"key_ops\", if given, must include \"sign\")"
            ))
        })?;
        Ok(Self {
            alg,
            kid: jwk.key_id().map(str::to_owned),
            signer,
        })
    }

    /// The signing algorithm.
    pub(crate) fn algorithm(&self) -> &'static str {
        self.alg
    }

    /// A fresh client assertion: `iss` and `sub` the client id, `aud` the provider's issuer,
    /// `iat` now, `exp` [`CLIENT_ASSERTION_LIFETIME`] later, a random `jti`, and the JWK's
    /// `kid` in the header when it has one.
    pub(crate) fn sign(&self, client_id: &str, audience: &str, now: u64) -> Result<String, Error> {
        let mut payload = JwtPayload::new();
        let claims = [
            ("iss", json!(client_id)),
            ("sub", json!(client_id)),
            ("aud", json!(audience)),
            ("iat", json!(now)),
            (
                "exp",
                json!(now.saturating_add(CLIENT_ASSERTION_LIFETIME.as_secs())),
            ),
            ("jti", json!(B64.encode(random_bytes::<JTI_BYTES>()))),
        ];
        for (name, value) in claims {
            payload
                .set_claim(name, Some(value))
                .map_err(|e| bad_key(format!("the client assertion cannot be made: {e}")))?;
        }
        josekit::jwt::encode_with_signer(&payload, &JwsHeader::new(), self.signer.as_ref())
            .map_err(|e| bad_key(format!("signing a client assertion failed: {e}")))
    }
}

/// The algorithm for a key of `kind`: the configured one, else the JWK's, else the kind's
/// default; refused when it is not supported or does not fit the key.
fn choose_algorithm(
    kind: KeyKind,
    configured: Option<&str>,
    jwk_alg: Option<&str>,
) -> Result<&'static str, Error> {
    if let (Some(configured), Some(jwk_alg)) = (configured, jwk_alg)
        && configured != jwk_alg
    {
        return Err(bad_key(format!(
            "the JWK says alg {jwk_alg} and AUTH0_CLIENT_ASSERTION_SIGNING_ALG says {configured}: \
             make them the same, or drop one"
        )));
    }
    let wanted = configured
        .or(jwk_alg)
        .unwrap_or(kind.default_algorithm())
        .trim();
    let alg = CLIENT_ASSERTION_ALGORITHMS
        .iter()
        .find(|a| **a == wanted)
        .ok_or_else(|| {
            bad_key(format!(
                "the algorithm {wanted:?} is not supported for client assertions: set \
                 AUTH0_CLIENT_ASSERTION_SIGNING_ALG to {}",
                CLIENT_ASSERTION_ALGORITHMS.join(", ")
            ))
        })?;
    if !kind.fits(alg) {
        return Err(bad_key(format!(
            "AUTH0_CLIENT_ASSERTION_SIGNING_ALG is {alg}, which does not fit the key ({}): \
             change the algorithm, or give a key of the other kind",
            kind.describe()
        )));
    }
    Ok(alg)
}

/// How the client authenticates, decided at `build()`.
#[derive(Clone)]
pub(crate) enum ClientAuth {
    /// The client secret, by HTTP Basic or in the form.
    Secret {
        secret: ClientSecret,
        method: TokenEndpointAuth,
    },
    /// A client assertion signed with the application's private key.
    PrivateKeyJwt(Arc<AssertionKey>),
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Secret { secret, method } => f
                .debug_struct("Secret")
                .field("secret", secret)
                .field("method", method)
                .finish(),
            Self::PrivateKeyJwt(key) => f.debug_tuple("PrivateKeyJwt").field(key).finish(),
        }
    }
}

/// What `build()` was given to authenticate the client with.
pub(crate) struct Credentials<'a> {
    pub(crate) secret: Option<&'a str>,
    pub(crate) method: TokenEndpointAuth,
    pub(crate) key: Option<&'a KeySource>,
    pub(crate) alg: Option<&'a str>,
}

impl ClientAuth {
    /// The way the client authenticates: a signing key when one is given (a client secret
    /// given as well is then not used, as in the JS SDK), else the client secret.
    ///
    /// # Errors
    ///
    /// [`Error::MissingRequiredArgument`] when there is neither; [`Error::Configuration`] for
    /// an algorithm without a key; [`Error::InvalidClientAssertionKey`] for a key that cannot
    /// sign.
    pub(crate) fn from_credentials(given: &Credentials<'_>) -> Result<Self, Error> {
        if let Some(source) = given.key {
            let key = AssertionKey::read(source, given.alg)?;
            if given.secret.is_some() {
                tracing::info!(
                    alg = key.algorithm(),
                    "a client secret and a client assertion signing key are both configured: \
                     the client authenticates with private_key_jwt and the secret is not sent"
                );
            }
            return Ok(Self::PrivateKeyJwt(Arc::new(key)));
        }
        if let Some(alg) = given.alg {
            return Err(Error::Configuration(format!(
                "AUTH0_CLIENT_ASSERTION_SIGNING_ALG is {alg:?} but no key is given: set \
                 AUTH0_CLIENT_ASSERTION_SIGNING_KEY to the private key (a PEM or JWK file, or \
                 the PEM itself), or unset the algorithm to use the client secret"
            )));
        }
        match given.secret {
            Some(secret) => Ok(Self::Secret {
                secret: ClientSecret(secret.to_owned()),
                method: given.method,
            }),
            None => Err(Error::MissingRequiredArgument {
                argument: "client_secret or client_assertion_signing_key",
                hint: "set AUTH0_CLIENT_SECRET to your application's Client Secret, or \
                       AUTH0_CLIENT_ASSERTION_SIGNING_KEY to the private key (a PEM or JWK file, \
                       or the PEM itself) whose public key the application uses for Private Key \
                       JWT (Auth0 Dashboard → Applications → your application → Credentials)",
            }),
        }
    }

    /// The `token_endpoint_auth_method` this is: `client_secret_basic`,
    /// `client_secret_post` or `private_key_jwt`.
    pub(crate) fn method(&self) -> &'static str {
        match self {
            Self::Secret {
                method: TokenEndpointAuth::ClientSecretBasic,
                ..
            } => "client_secret_basic",
            Self::Secret {
                method: TokenEndpointAuth::ClientSecretPost,
                ..
            } => "client_secret_post",
            Self::PrivateKeyJwt(_) => "private_key_jwt",
        }
    }

    /// Puts the credentials on one attempt of a request: HTTP Basic, or `client_id` with the
    /// secret or a fresh assertion for `audience` in the form.
    pub(crate) fn apply(
        &self,
        request: reqwest::RequestBuilder,
        client_id: &str,
        audience: &str,
        now: u64,
        form: &mut Vec<(String, String)>,
    ) -> Result<reqwest::RequestBuilder, Error> {
        match self {
            Self::Secret {
                secret,
                method: TokenEndpointAuth::ClientSecretBasic,
            } => {
                // RFC 6749 §2.3.1: each part form-urlencoded before Basic's base64.
                let encode = |s: &str| {
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                };
                Ok(request.basic_auth(encode(client_id), Some(encode(&secret.0))))
            }
            Self::Secret {
                secret,
                method: TokenEndpointAuth::ClientSecretPost,
            } => {
                push_client_id(form, client_id);
                form.push(("client_secret".to_owned(), secret.0.clone()));
                Ok(request)
            }
            Self::PrivateKeyJwt(key) => {
                let assertion = key.sign(client_id, audience, now)?;
                push_client_id(form, client_id);
                form.push((
                    "client_assertion_type".to_owned(),
                    CLIENT_ASSERTION_TYPE.to_owned(),
                ));
                form.push(("client_assertion".to_owned(), assertion));
                Ok(request)
            }
        }
    }
}

/// Adds `client_id` to the form unless it is there already (a PAR request carries it among
/// the authorization parameters; a parameter sent twice is refused).
fn push_client_id(form: &mut Vec<(String, String)>, client_id: &str) {
    if !form.iter().any(|(name, _)| name == "client_id") {
        form.push(("client_id".to_owned(), client_id.to_owned()));
    }
}

impl ServerClient {
    /// POSTs `form` to `endpoint` as this client and reads the OAuth answer: the one place
    /// client authentication is applied (token endpoint, PAR, backchannel authentication).
    /// Each attempt (retries included) gets its credentials anew, so a client assertion is
    /// never sent twice. An `invalid_client` answer is [`Error::ClientAuthentication`].
    ///
    /// # Errors
    ///
    /// The provider's metadata cannot be had, the request fails, the answer is not JSON of
    /// the expected shape, or the client was not accepted.
    pub(crate) async fn request_as_client<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        form: &[(String, String)],
        retry: Retry,
    ) -> Result<TokenAnswer<T>, Error> {
        let response = self.send_as_client(endpoint, form, retry).await?;
        self.client_answer(Http::token_answer::<T>(response, endpoint).await?)
    }

    /// `answer`, except that an `invalid_client` error is [`Error::ClientAuthentication`].
    pub(crate) fn client_answer<T>(&self, answer: TokenAnswer<T>) -> Result<TokenAnswer<T>, Error> {
        match answer {
            TokenAnswer::Err { status, body } if body.error == "invalid_client" => {
                tracing::warn!(
                    status,
                    "the provider did not accept the client's credentials"
                );
                Err(Error::ClientAuthentication {
                    method: self.inner.config.client_auth.method(),
                    description: body.error_description,
                    status,
                })
            }
            answer => Ok(answer),
        }
    }

    /// Sends `form` to `endpoint` with the client's authentication (a fresh assertion per
    /// attempt), retrying as `retry` allows, and gives back the provider's response as it
    /// came: for the callers that read more than the JSON (CIBA's `Retry-After`).
    ///
    /// # Errors
    ///
    /// The provider's metadata cannot be had, or the request fails.
    #[tracing::instrument(name = "oidc.client_request", skip_all, fields(endpoint, method))]
    pub(crate) async fn send_as_client(
        &self,
        endpoint: &str,
        form: &[(String, String)],
        retry: Retry,
    ) -> Result<reqwest::Response, Error> {
        let config = &self.inner.config;
        let span = tracing::Span::current();
        span.record("endpoint", endpoint);
        span.record("method", config.client_auth.method());
        // The assertion's audience: the issuer as the provider names it (what Auth0, the
        // Python SDK and openid-client use; oidc-provider also takes its token endpoint).
        let metadata = self.provider().metadata().await?;
        let provider = self.provider();
        provider
            .http()
            .try_send(endpoint, retry, |c| {
                let mut form = form.to_vec();
                let request = config.client_auth.apply(
                    c.post(endpoint),
                    &config.client_id,
                    &metadata.issuer,
                    self.now(),
                    &mut form,
                )?;
                Ok(request.form(&form))
            })
            .await
    }
}

impl ClientAuth {
    /// The credentials as body fields, for endpoints that read no HTTP Basic: `client_id`
    /// with the secret (whatever the configured method) or a fresh assertion.
    fn apply_in_body(
        &self,
        client_id: &str,
        audience: &str,
        now: u64,
        form: &mut Vec<(String, String)>,
    ) -> Result<(), Error> {
        push_client_id(form, client_id);
        match self {
            Self::Secret { secret, .. } => {
                form.push(("client_secret".to_owned(), secret.0.clone()));
            }
            Self::PrivateKeyJwt(key) => {
                let assertion = key.sign(client_id, audience, now)?;
                form.push((
                    "client_assertion_type".to_owned(),
                    CLIENT_ASSERTION_TYPE.to_owned(),
                ));
                form.push(("client_assertion".to_owned(), assertion));
            }
        }
        Ok(())
    }
}

impl ServerClient {
    /// Sends `form` to `endpoint` as this client, as [`send_as_client`](Self::send_as_client)
    /// does, with `headers` added. With `json`, the fields (the credentials too) are members
    /// of that JSON object instead, for Auth0's JSON endpoints (`/passwordless/start`), which
    /// read the client's credentials from the body only.
    ///
    /// # Errors
    ///
    /// The provider's metadata cannot be had, or the request fails.
    #[tracing::instrument(name = "oidc.client_request", skip_all, fields(endpoint))]
    pub(crate) async fn send_as_client_with(
        &self,
        endpoint: &str,
        form: &[(String, String)],
        json: Option<&serde_json::Map<String, serde_json::Value>>,
        headers: &reqwest::header::HeaderMap,
        retry: Retry,
    ) -> Result<reqwest::Response, Error> {
        tracing::Span::current().record("endpoint", endpoint);
        let config = &self.inner.config;
        let metadata = self.provider().metadata().await?;
        let (client_id, issuer) = (config.client_id.as_str(), metadata.issuer.as_str());
        let provider = self.provider();
        provider
            .http()
            .try_send(endpoint, retry, |c| {
                let mut form = form.to_vec();
                let request = c.post(endpoint).headers(headers.clone());
                let Some(object) = json else {
                    let request = config.client_auth.apply(
                        request,
                        client_id,
                        issuer,
                        self.now(),
                        &mut form,
                    )?;
                    return Ok(request.form(&form));
                };
                config
                    .client_auth
                    .apply_in_body(client_id, issuer, self.now(), &mut form)?;
                let mut body = object.clone();
                body.extend(form.into_iter().map(|(k, v)| (k, v.into())));
                Ok(request.json(&body))
            })
            .await
    }
}

/// The claims of a client assertion, for the tests.
#[cfg(test)]
pub(crate) fn assertion_claims(assertion: &str) -> serde_json::Map<String, serde_json::Value> {
    let payload = assertion.split('.').nth(1).unwrap_or_default();
    serde_json::from_slice(&B64.decode(payload).unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    /// An RSA key pair whose JWKs name no algorithm (it fits RS256 and PS256).
    fn rsa_pair() -> josekit::jwk::alg::rsa::RsaKeyPair {
        let mut pair = RS256.generate_key_pair(2048).unwrap();
        pair.set_algorithm(None);
        pair
    }

    fn ed25519() -> String {
        let curve = josekit::jwk::alg::ed::EdCurve::Ed25519;
        let pair = josekit::jws::EdDSA.generate_key_pair(curve).unwrap();
        pair.to_jwk_private_key().to_string()
    }

    fn text(s: impl AsRef<[u8]>) -> KeySource {
        KeySource::Text(String::from_utf8(s.as_ref().to_vec()).unwrap())
    }

    fn header(jwt: &str) -> serde_json::Map<String, Value> {
        serde_json::from_slice(&B64.decode(jwt.split('.').next().unwrap()).unwrap()).unwrap()
    }

    #[test]
    fn an_rsa_pem_signs_rs256_by_default_and_ps256_when_asked() {
        let pair = rsa_pair();
        for pem in [
            pair.to_pem_private_key(),
            pair.to_traditional_pem_private_key(),
        ] {
            let key = AssertionKey::read(&text(&pem), None).unwrap();
            assert_eq!(key.algorithm(), "RS256");
            let jwt = key.sign("cid", "https://tenant.example/", 1_000).unwrap();
            let public = pair.to_jwk_public_key();
            let verifier = RS256.verifier_from_jwk(&public).unwrap();
            josekit::jwt::decode_with_verifier(&jwt, &verifier).expect("an RS256 signature");
            let ps = AssertionKey::read(&text(&pem), Some("PS256")).unwrap();
            let jwt = ps.sign("cid", "aud", 1_000).unwrap();
            let verifier = PS256.verifier_from_jwk(&public).unwrap();
            josekit::jwt::decode_with_verifier(&jwt, &verifier).expect("a PS256 signature");
        }
    }

    #[test]
    fn an_ec_pem_signs_es256_by_default() {
        let pair = ES256.generate_key_pair().unwrap();
        for pem in [
            pair.to_pem_private_key(),
            pair.to_traditional_pem_private_key(),
        ] {
            let key = AssertionKey::read(&text(&pem), None).unwrap();
            assert_eq!(key.algorithm(), "ES256");
            let jwt = key.sign("cid", "aud", 1_000).unwrap();
            let verifier = ES256.verifier_from_jwk(&pair.to_jwk_public_key()).unwrap();
            josekit::jwt::decode_with_verifier(&jwt, &verifier).expect("an ES256 signature");
        }
    }

    #[test]
    fn the_assertion_carries_the_claims_the_provider_checks() {
        let key = AssertionKey::read(&text(rsa_pair().to_pem_private_key()), None).unwrap();
        let a = key
            .sign("my-client", "https://tenant.example/", 1_000)
            .unwrap();
        let b = key
            .sign("my-client", "https://tenant.example/", 1_000)
            .unwrap();
        let claims = assertion_claims(&a);
        assert_eq!(claims["iss"], "my-client");
        assert_eq!(claims["sub"], "my-client");
        assert_eq!(claims["aud"], "https://tenant.example/");
        assert_eq!(claims["iat"], 1_000);
        assert_eq!(claims["exp"], 1_060);
        assert_ne!(claims["jti"], assertion_claims(&b)["jti"], "a jti per use");
        assert_eq!(header(&a)["alg"], "RS256");
        assert!(header(&a).get("kid").is_none(), "a PEM has no kid");
    }

    #[test]
    fn a_private_jwk_signs_with_its_kid_and_alg() {
        let pair = ES256.generate_key_pair().unwrap();
        let mut jwk = pair.to_jwk_private_key();
        jwk.set_key_id("key-1");
        let key = AssertionKey::read(&KeySource::Text(jwk.to_string()), None).unwrap();
        let jwt = key.sign("cid", "aud", 1).unwrap();
        assert_eq!(header(&jwt)["kid"], "key-1");
        assert_eq!(header(&jwt)["alg"], "ES256");

        let mut rsa = rsa_pair().to_jwk_private_key();
        rsa.set_algorithm("PS256");
        let key = AssertionKey::read(&KeySource::Text(rsa.to_string()), None).unwrap();
        assert_eq!(
            key.algorithm(),
            "PS256",
            "the JWK's alg when none is configured"
        );
        let err = AssertionKey::read(&KeySource::Text(rsa.to_string()), Some("RS256")).unwrap_err();
        assert!(err.to_string().contains("make them the same"), "{err}");
    }

    #[test]
    fn an_algorithm_that_does_not_fit_the_key_says_what_would() {
        let rsa = text(rsa_pair().to_pem_private_key());
        let err = AssertionKey::read(&rsa, Some("ES256")).unwrap_err();
        assert_eq!(err.code(), "invalid_client_assertion_key");
        assert!(
            err.to_string().contains("RS256 or PS256"),
            "names what fits: {err}"
        );
        let ec = text(ES256.generate_key_pair().unwrap().to_pem_private_key());
        let err = AssertionKey::read(&ec, Some("RS256")).unwrap_err();
        assert!(err.to_string().contains("ES256"), "{err}");
        for unsupported in ["HS256", "none", "RS512"] {
            let err = AssertionKey::read(&rsa, Some(unsupported)).unwrap_err();
            assert!(
                err.to_string().contains("RS256, PS256, ES256"),
                "{unsupported}: {err}"
            );
        }
    }

    #[test]
    fn bad_keys_are_refused_with_what_to_give() {
        let pair = rsa_pair();
        let cases = [
            (text(pair.to_pem_public_key()), "give the private key"),
            (
                KeySource::Text(pair.to_jwk_public_key().to_string()),
                "has no \"d\"",
            ),
            (
                text("-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n"),
                "PKCS#8",
            ),
            (text("just some words"), "neither a PEM"),
            (KeySource::Text(ed25519()), "kty \"OKP\""),
            (
                KeySource::File(PathBuf::from("/nonexistent/key.pem")),
                "no readable file at the path given",
            ),
        ];
        for (source, says) in cases {
            let err = AssertionKey::read(&source, None).unwrap_err();
            assert_eq!(err.code(), "invalid_client_assertion_key", "{source:?}");
            assert!(err.to_string().contains(says), "{source:?}: {err}");
        }
    }

    #[test]
    fn an_rsa_key_under_2048_bits_is_refused_as_a_pem_and_as_a_jwk() {
        // josekit refuses to sign with one; this keeps the documented floor from moving.
        let pair = josekit::jwk::alg::rsa::RsaKeyPair::generate(1024).unwrap();
        for source in [
            text(pair.to_pem_private_key()),
            KeySource::Text(pair.to_jwk_private_key().to_string()),
        ] {
            let err = AssertionKey::read(&source, None).unwrap_err();
            assert_eq!(err.code(), "invalid_client_assertion_key");
            assert!(err.to_string().contains("2048 bits or more"), "{err}");
        }
    }

    #[test]
    fn a_jwk_parse_error_never_quotes_the_key() {
        // A private value where a number belongs: serde would quote it in its message.
        let source = text(r#"{"kty":"RSA","d":"TOP-SECRET-PRIVATE-PART","n":1}"#);
        let err = AssertionKey::read(&source, None).unwrap_err();
        assert!(!err.to_string().contains("TOP-SECRET"), "{err}");
    }

    #[test]
    fn a_pem_written_on_one_line_with_escapes_is_read() {
        let pem = String::from_utf8(rsa_pair().to_pem_private_key()).unwrap();
        let one_line = pem.replace('\n', "\\n");
        assert!(AssertionKey::read(&KeySource::Text(one_line), None).is_ok());
    }

    #[test]
    fn debug_never_shows_the_key() {
        let pem = String::from_utf8(rsa_pair().to_pem_private_key()).unwrap();
        let body = pem.lines().nth(1).unwrap().to_owned();
        let source = KeySource::Text(pem);
        let auth = ClientAuth::from_credentials(&Credentials {
            secret: Some("the-client-secret"),
            method: TokenEndpointAuth::default(),
            key: Some(&source),
            alg: None,
        })
        .unwrap();
        for shown in [format!("{source:?}"), format!("{auth:?}")] {
            assert!(!shown.contains(&body), "key in Debug: {shown}");
            assert!(!shown.contains("the-client-secret"), "{shown}");
        }
        assert_eq!(
            auth.method(),
            "private_key_jwt",
            "the key wins over the secret"
        );
    }

    #[test]
    fn the_env_value_is_a_pem_a_jwk_or_a_path() {
        let pem = KeySource::from_env_value("  -----BEGIN PRIVATE KEY-----\n…".to_owned());
        assert!(matches!(pem, KeySource::Text(_)));
        let jwk = KeySource::from_env_value(r#"{"kty":"EC"}"#.to_owned());
        assert!(matches!(jwk, KeySource::Text(_)));
        let path = KeySource::from_env_value(" /etc/app/key.pem\n".to_owned());
        assert!(
            matches!(path, KeySource::File(p) if p == std::path::Path::new("/etc/app/key.pem"))
        );
    }
}
