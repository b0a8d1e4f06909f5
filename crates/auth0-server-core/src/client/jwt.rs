//! Validation of the JWTs the provider sends: ID tokens and back-channel logout tokens.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use josekit::jwk::Jwk;
use josekit::jws::{self, JwsVerifier};
use serde_json::{Map, Value};
use unicode_normalization::UnicodeNormalization as _;

use super::metadata::Provider;

/// Signing algorithms that may be allowed. `none` and the HMAC family never are: an HMAC
/// "verified" with a public key is a forgery anyone can make.
pub const SUPPORTED_ALGORITHMS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
];

/// The event a logout token must carry (OIDC Back-Channel Logout 1.0 §2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// What a token must satisfy besides its signature.
pub(crate) struct Expectations<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) algorithms: &'a [String],
    pub(crate) leeway: Duration,
    pub(crate) now: u64,
}

fn key_type(alg: &str) -> &'static str {
    match alg {
        a if a.starts_with("RS") || a.starts_with("PS") => "RSA",
        a if a.starts_with("ES") => "EC",
        _ => "OKP",
    }
}

fn verifier(alg: &str, jwk: &Jwk) -> Result<Box<dyn JwsVerifier>, String> {
    let made: Result<Box<dyn JwsVerifier>, josekit::JoseError> = match alg {
        "RS256" => jws::RS256.verifier_from_jwk(jwk).map(|v| Box::new(v) as _),
        "RS384" => jws::RS384.verifier_from_jwk(jwk).map(|v| Box::new(v) as _),
        "RS512" => jws::RS512.verifier_from_jwk(jwk).map(|v| Box::new(v) as _),
        "PS256" => jws::PS256.verifier_from_jwk(jwk).map(|v| Box::new(v) as _),
        "PS384" => jws::PS384.verifier_from_jwk(jwk).map(|v| Box::new(v) as _),
        "PS512" => jws::PS512.verifier_from_jwk(jwk).map(|v| Box::new(v) as _),
        "ES256" => jws::ES256.verifier_from_jwk(jwk).map(|v| Box::new(v) as _),
        "ES384" => jws::ES384.verifier_from_jwk(jwk).map(|v| Box::new(v) as _),
        "ES512" => jws::ES512.verifier_from_jwk(jwk).map(|v| Box::new(v) as _),
        "EdDSA" => jws::EdDSA.verifier_from_jwk(jwk).map(|v| Box::new(v) as _),
        other => return Err(format!("the algorithm {other} is not accepted")),
    };
    made.map_err(|e| format!("the provider's key cannot verify {alg}: {e}"))
}

/// Decodes the header without trusting it.
fn header(token: &str) -> Result<Map<String, Value>, String> {
    let mut parts = token.split('.');
    let (Some(h), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("it is not a JWT (three base64url parts separated by dots)".to_owned());
    };
    let bytes = B64
        .decode(h)
        .map_err(|_| "its header is not base64url".to_owned())?;
    serde_json::from_slice(&bytes).map_err(|_| "its header is not a JSON object".to_owned())
}

/// Checks the header's `alg` against the allow-list, fetches the key by `kid`, verifies the
/// signature, and returns the header and the claims. Errors are reasons, for the caller's
/// error variant.
pub(crate) async fn verify(
    token: &str,
    provider: &Provider,
    expect: &Expectations<'_>,
) -> Result<(Map<String, Value>, Map<String, Value>), VerifyError> {
    let header = header(token).map_err(VerifyError::Invalid)?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or_else(|| VerifyError::Invalid("it has no alg".to_owned()))?;
    if !expect.algorithms.iter().any(|a| a == alg) {
        return Err(VerifyError::Invalid(format!(
            "it is signed with {alg}, which is not among the accepted algorithms ({})",
            expect.algorithms.join(", ")
        )));
    }
    if header.contains_key("crit") {
        return Err(VerifyError::Invalid("it has a crit header".to_owned()));
    }
    let kid = header.get("kid").and_then(Value::as_str);
    let jwk = provider
        .key(kid, key_type(alg))
        .await
        .map_err(|e| match e {
            // An unknown key is the token's fault, whichever kind of token it is.
            super::Error::InvalidIdToken(reason) => VerifyError::Invalid(reason),
            other => VerifyError::Provider(other),
        })?;
    let verifier = verifier(alg, &jwk).map_err(VerifyError::Invalid)?;
    let (payload, _) = josekit::jwt::decode_with_verifier(token, &*verifier)
        .map_err(|e| VerifyError::Invalid(format!("its signature does not verify: {e}")))?;
    let claims: Map<String, Value> = payload.into();
    check_common(&claims, expect).map_err(VerifyError::Invalid)?;
    Ok((header, claims))
}

/// Why a token was refused.
#[derive(Debug)]
pub(crate) enum VerifyError {
    /// The token itself is wrong.
    Invalid(String),
    /// The provider's keys could not be had.
    Provider(super::Error),
}

fn number(claims: &Map<String, Value>, name: &str) -> Result<Option<u64>, String> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .map(Some)
            .ok_or_else(|| format!("its {name} is not a number")),
    }
}

/// `iss`, `aud`, `azp`, `iat`, `nbf` and (when present) `exp`.
fn check_common(claims: &Map<String, Value>, expect: &Expectations<'_>) -> Result<(), String> {
    let leeway = expect.leeway.as_secs();
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if iss != expect.issuer {
        return Err(format!("its issuer {iss:?} is not {:?}", expect.issuer));
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => return Err("it has no audience".to_owned()),
    };
    if !audiences.contains(&expect.client_id) {
        return Err(format!(
            "its audience {audiences:?} does not include this client"
        ));
    }
    match claims.get("azp").and_then(Value::as_str) {
        Some(azp) if azp != expect.client_id => {
            return Err(format!("its authorized party {azp:?} is not this client"));
        }
        None if audiences.len() > 1 => {
            return Err("it has several audiences but no authorized party (azp)".to_owned());
        }
        _ => {}
    }
    if let Some(exp) = number(claims, "exp")?
        && expect.now > exp.saturating_add(leeway)
    {
        return Err(format!("it expired at {exp} (now {})", expect.now));
    }
    let iat = number(claims, "iat")?.ok_or("it has no iat")?;
    if iat > expect.now.saturating_add(leeway) {
        return Err(format!(
            "it was issued in the future ({iat}, now {})",
            expect.now
        ));
    }
    if let Some(nbf) = number(claims, "nbf")?
        && nbf > expect.now.saturating_add(leeway)
    {
        return Err(format!("it is not valid before {nbf} (now {})", expect.now));
    }
    Ok(())
}

/// The ID-token rules on top of the common ones: `exp` and `sub` required, `nonce` equal.
pub(crate) fn check_id_token(
    claims: &Map<String, Value>,
    nonce: Option<&str>,
) -> Result<(), String> {
    if number(claims, "exp")?.is_none() {
        return Err("it has no exp".to_owned());
    }
    if claims
        .get("sub")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err("it has no sub".to_owned());
    }
    if let Some(nonce) = nonce {
        let got = claims.get("nonce").and_then(Value::as_str);
        let same = got
            .is_some_and(|g| subtle::ConstantTimeEq::ct_eq(g.as_bytes(), nonce.as_bytes()).into());
        if !same {
            return Err("its nonce does not match the one sent at login".to_owned());
        }
    }
    Ok(())
}

/// With a `max_age` sent at login (OIDC Core §3.1.2.1), `auth_time` is required and the
/// authentication must be recent enough: `auth_time + max_age + leeway >= now`.
pub(crate) fn check_auth_time(
    claims: &Map<String, Value>,
    max_age: Option<u64>,
    now: u64,
    leeway: Duration,
) -> Result<(), String> {
    let Some(max_age) = max_age else {
        return Ok(());
    };
    let auth_time = number(claims, "auth_time")?
        .ok_or("it has no auth_time, which the max_age sent at login requires")?;
    if auth_time
        .saturating_add(max_age)
        .saturating_add(leeway.as_secs())
        < now
    {
        return Err(format!(
            "the user authenticated at {auth_time}, longer ago than the max_age of {max_age} s \
             sent at login allows (now {now})"
        ));
    }
    Ok(())
}

/// The organization check of the Auth0 SDKs: an expected value starting with `org_` is an
/// organization id and must equal `org_id` exactly; any other is a name and must equal
/// `org_name` ignoring case (both sides NFC-normalised, so one letter written two ways in
/// Unicode still matches).
pub(crate) fn check_organization(
    claims: &Map<String, Value>,
    expected: &str,
) -> Result<(), String> {
    if expected.starts_with("org_") {
        match claims.get("org_id").and_then(Value::as_str) {
            None => Err(format!(
                "it has no org_id (a string), and the login asked for the organization {expected:?}"
            )),
            Some(actual) if actual != expected => Err(format!(
                "its org_id {actual:?} is not the organization {expected:?} the login asked for"
            )),
            Some(_) => Ok(()),
        }
    } else {
        let fold = |s: &str| s.nfc().collect::<String>().to_lowercase();
        match claims.get("org_name").and_then(Value::as_str) {
            None => Err(format!(
                "it has no org_name (a string), and the login asked for the organization {expected:?}"
            )),
            Some(actual) if fold(actual) != fold(expected) => Err(format!(
                "its org_name {actual:?} is not the organization {expected:?} the login asked for"
            )),
            Some(_) => Ok(()),
        }
    }
}

/// The logout-token rules of OIDC Back-Channel Logout 1.0 §2.6 on top of the common ones.
pub(crate) fn check_logout_token(
    header: &Map<String, Value>,
    claims: &Map<String, Value>,
) -> Result<(), String> {
    if let Some(typ) = header.get("typ").and_then(Value::as_str) {
        let typ = typ.to_ascii_lowercase();
        if typ != "logout+jwt" && typ != "application/logout+jwt" {
            return Err(format!("its typ {typ:?} is not logout+jwt"));
        }
    }
    let event = claims
        .get("events")
        .and_then(Value::as_object)
        .and_then(|events| events.get(BACKCHANNEL_LOGOUT_EVENT));
    if !event.is_some_and(Value::is_object) {
        return Err("it has no back-channel logout event".to_owned());
    }
    if claims.contains_key("nonce") {
        return Err("it has a nonce, which logout tokens must not have".to_owned());
    }
    let has = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    if !has("sid") && !has("sub") {
        return Err("it has neither sid nor sub".to_owned());
    }
    if !has("jti") {
        return Err("it has no jti".to_owned());
    }
    if !claims.get("exp").is_some_and(Value::is_number) {
        return Err("it has no exp".to_owned());
    }
    Ok(())
}
