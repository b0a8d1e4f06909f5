//! What the fuzz targets share: fixed secrets, keys, a fixed clock and an offline client, so
//! that the seed inputs in `fuzz/corpus/` (made by `src/bin/seeds.rs` with the same fixtures)
//! open, verify and validate whenever the targets run.
//!
//! Nothing here is secret: the keys are fixtures made for these targets and sign nothing
//! anywhere else.

use std::sync::{Arc, OnceLock};

use auth0_server_core::Secrets;
use auth0_server_core::client::{ProviderMetadata, ServerClient};
use auth0_server_core::clock::ManualClock;
use auth0_server_core::seal::{CookieSealer, RecordSealer};
use auth0_server_core::store::{CookieOptions, StateStore, TransactionStore};
use auth0_store_cookie::{CookieStateStore, CookieTransactionStore};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use josekit::jwk::KeyPair as _;
use josekit::jwk::alg::ec::EcKeyPair;
use josekit::jwk::alg::rsa::RsaKeyPair;
use josekit::jws::{ES256, JwsSigner as _, RS256};
use serde_json::{Map, Value, json};

/// The secrets, newest first: tokens sealed with either open, so rotation is fuzzed too.
pub const SECRETS: &str =
    "fuzz-secret-new-fuzz-secret-new-fuzz-secret-new,fuzz-secret-old-fuzz-secret-old-fuzz";
/// The time every target runs at (unix seconds): seeds sealed or signed for it stay valid.
pub const NOW: u64 = 1_800_000_000;
/// The session cookie's identifier.
pub const STATE_IDENTIFIER: &str = "_a0_session";
/// The transaction identifier (the cookie transaction store's salt is `{it}:{state}`).
pub const TRANSACTION_IDENTIFIER: &str = "_a0_tx";
/// The `state` of the transaction seeds of `jwe_open`.
pub const SEED_STATE: &str = "fuzz-state";
/// The tenant: the issuer is `https://{DOMAIN}/`.
pub const DOMAIN: &str = "fuzz.example";
/// The issuer tokens must carry.
pub const ISSUER: &str = "https://fuzz.example/";
/// The client id tokens must be for.
pub const CLIENT_ID: &str = "fuzz-client";
/// The nonce the ID-token target expects (unless its input says "no nonce").
pub const NONCE: &str = "fuzz-nonce";
/// The callback URL.
pub const REDIRECT_URI: &str = "https://app.fuzz.example/callback";
/// Clock skew the client tolerates (its default).
pub const LEEWAY: u64 = 60;
/// In a callback input, replaced by the `state` of the login the target started.
pub const STATE_PLACEHOLDER: &str = "{state}";
/// The `kid` of the RS256 fixture key.
pub const RS256_KID: &str = "fuzz-rs256";
/// The `kid` of the ES256 fixture key.
pub const ES256_KID: &str = "fuzz-es256";

const RS256_PEM: &str = include_str!("fixture-rs256.pem");
const ES256_PEM: &str = include_str!("fixture-es256.pem");

/// The fixed clock.
pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::at_unix(NOW))
}

/// The secrets.
pub fn secrets() -> Secrets {
    Secrets::parse(SECRETS).expect("the fixture secrets parse")
}

/// A cookie sealer on the fixed clock (it writes the rotating layout and reads both).
pub fn cookie_sealer() -> CookieSealer {
    CookieSealer::new(secrets()).with_clock(clock())
}

/// The record sealer of the server-side stores.
pub fn record_sealer() -> RecordSealer {
    RecordSealer::new(&secrets())
}

/// Cookie attributes with the plain names (`_a0_session.0`), whatever the default prefix.
pub fn cookie_options() -> CookieOptions {
    CookieOptions {
        host_prefix: false,
        ..CookieOptions::default()
    }
}

/// The cookie session store on the fixed clock, without its read cache (every read opens).
pub fn cookie_state_store() -> CookieStateStore {
    CookieStateStore::new(secrets())
        .with_clock(clock())
        .with_cookie_options(cookie_options())
        .with_read_cache(0)
}

/// The cookie transaction store on the fixed clock.
pub fn cookie_transaction_store() -> CookieTransactionStore {
    CookieTransactionStore::new(secrets())
        .with_clock(clock())
        .with_cookie_options(cookie_options())
}

/// The algorithms the fixture keys sign with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    /// RSA, the default of the client and of Auth0.
    Rs256,
    /// ECDSA P-256.
    Es256,
}

fn rs256() -> &'static RsaKeyPair {
    static KEY: OnceLock<RsaKeyPair> = OnceLock::new();
    KEY.get_or_init(|| RS256.key_pair_from_pem(RS256_PEM).expect("fixture RSA key"))
}

fn es256() -> &'static EcKeyPair {
    static KEY: OnceLock<EcKeyPair> = OnceLock::new();
    KEY.get_or_init(|| ES256.key_pair_from_pem(ES256_PEM).expect("fixture EC key"))
}

/// The provider's key set: both public keys, by `kid`.
pub fn jwks() -> Map<String, Value> {
    let mut rsa = rs256().to_jwk_public_key();
    rsa.set_key_id(RS256_KID);
    rsa.set_key_use("sig");
    let mut ec = es256().to_jwk_public_key();
    ec.set_key_id(ES256_KID);
    ec.set_key_use("sig");
    let keys: Vec<Value> = [rsa, ec]
        .iter()
        .map(|k| Value::Object(k.as_ref().clone()))
        .collect();
    match json!({ "keys": keys }) {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object literal"),
    }
}

/// A compact JWS over the exact bytes given as header and payload (not re-serialised, so
/// that odd JSON reaches the parser as it is), signed with the fixture key of `alg`.
pub fn sign(alg: Alg, header: &[u8], payload: &[u8]) -> String {
    let input = format!("{}.{}", B64.encode(header), B64.encode(payload));
    let signature = match alg {
        Alg::Rs256 => RS256
            .signer_from_jwk(&rs256().to_jwk_private_key())
            .and_then(|s| s.sign(input.as_bytes())),
        Alg::Es256 => ES256
            .signer_from_jwk(&es256().to_jwk_private_key())
            .and_then(|s| s.sign(input.as_bytes())),
    }
    .expect("the fixture keys sign");
    format!("{input}.{}", B64.encode(signature))
}

/// The provider's discovery document: its endpoints use a scheme the HTTP client refuses,
/// so that nothing ever goes to the network.
pub fn provider_metadata() -> ProviderMetadata {
    serde_json::from_value(json!({
        "issuer": ISSUER,
        "authorization_endpoint": "offline://fuzz.example/authorize",
        "token_endpoint": "offline://fuzz.example/oauth/token",
        "jwks_uri": "offline://fuzz.example/.well-known/jwks.json",
    }))
    .expect("fixture metadata")
}

/// A [`ServerClient`] for the fixture tenant that never reaches the network: discovery and
/// keys preloaded, the fixed clock, both fixture algorithms accepted.
pub async fn offline_client(
    state_store: Arc<dyn StateStore>,
    transaction_store: Arc<dyn TransactionStore>,
) -> ServerClient {
    let builder = ServerClient::builder()
        .domain(DOMAIN)
        .client_id(CLIENT_ID)
        .client_secret("fuzz-client-secret")
        .secret(SECRETS)
        .redirect_uri(REDIRECT_URI)
        .id_token_algorithms(["RS256", "ES256"])
        .clock(clock())
        .state_store(state_store)
        .transaction_store(transaction_store);
    auth0_server_core::fuzzing::offline_client(builder, provider_metadata(), jwks())
        .await
        .expect("the offline client builds")
}

/// The runtime the targets run the async API on (one thread, no I/O needed).
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

/// Splits a fuzz input at its first NUL byte (which no JSON text contains): the first part
/// and the rest (empty if there is none).
pub fn split_nul(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// The claims of a compact JWT, decoded without any check (for the targets' oracles).
pub fn unverified_claims(token: &str) -> Option<Map<String, Value>> {
    let payload = token.split('.').nth(1)?;
    serde_json::from_slice(&B64.decode(payload).ok()?).ok()
}

/// The header of a compact JWT, decoded without any check.
pub fn unverified_header(token: &str) -> Option<Map<String, Value>> {
    let header = token.split('.').next()?;
    serde_json::from_slice(&B64.decode(header).ok()?).ok()
}

/// A numeric claim as the validator reads it (integer, or a non-negative float).
pub fn number(claims: &Map<String, Value>, name: &str) -> Option<f64> {
    claims.get(name).and_then(Value::as_f64)
}

/// Whether claims would pass the checks every provider token needs: the issuer, this client
/// among the audiences, `azp` if present, not expired, not issued in the future.
pub fn assert_common_claims(claims: &Map<String, Value>) {
    assert_eq!(
        claims.get("iss").and_then(Value::as_str),
        Some(ISSUER),
        "accepted a token of another issuer"
    );
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        other => panic!("accepted a token whose audience is {other:?}"),
    };
    assert!(
        audiences.contains(&CLIENT_ID),
        "accepted a token for {audiences:?}"
    );
    if let Some(azp) = claims.get("azp").and_then(Value::as_str) {
        assert_eq!(
            azp, CLIENT_ID,
            "accepted a token for another authorized party"
        );
    }
    // The validator reads times as whole seconds (a fraction is dropped).
    if let Some(exp) = number(claims, "exp").map(f64::floor) {
        assert!(
            exp + LEEWAY as f64 >= NOW as f64,
            "accepted a token that expired at {exp}"
        );
    }
    let iat = number(claims, "iat")
        .map(f64::floor)
        .expect("accepted a token without iat");
    assert!(
        iat <= (NOW + LEEWAY) as f64,
        "accepted a token issued in the future ({iat})"
    );
}

/// One offline client over the cookie stores, made once and shared by every run of a target.
pub fn shared_client() -> &'static ServerClient {
    static CLIENT: OnceLock<ServerClient> = OnceLock::new();
    CLIENT.get_or_init(|| {
        runtime().block_on(offline_client(
            Arc::new(cookie_state_store()),
            Arc::new(cookie_transaction_store()),
        ))
    })
}

/// A token from a token target's input: the first byte picks the kind (`% 3`: 0 the rest as
/// a raw token, 1 and 2 a JSON header and payload split at a NUL, signed RS256 or ES256);
/// `None` for a raw token that is not UTF-8. The first byte comes back for other choices.
pub fn token_from(data: &[u8]) -> Option<(u8, String)> {
    let (&mode, rest) = data.split_first()?;
    let token = match mode % 3 {
        0 => std::str::from_utf8(rest).ok()?.to_owned(),
        alg => {
            let (header, payload) = split_nul(rest);
            let alg = if alg == 1 { Alg::Rs256 } else { Alg::Es256 };
            sign(alg, header, payload)
        }
    };
    Some((mode, token))
}
