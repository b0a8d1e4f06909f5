//! The application's public key, when it authenticates with `private_key_jwt` (as an Auth0
//! application whose authentication method is Private Key JWT): read from a PEM (a public
//! key, a PKCS#1 RSA public key or a certificate) or a public JWK, and the client assertions
//! it verifies.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use josekit::jwk::Jwk;
use josekit::jws::{ES256, JwsVerifier, PS256, RS256};
use openssl::bn::{BigNum, BigNumContext};
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Public};
use serde_json::{Map, Value, json};

/// The algorithms client assertions may be signed with: RS256 and PS256 with an RSA key,
/// ES256 with an EC P-256 key (what the SDK signs with).
pub const CLIENT_ASSERTION_ALGORITHMS: &[&str] = &["RS256", "PS256", "ES256"];

/// The public key a client assertion must verify with, and the algorithms it accepts.
pub(crate) struct ClientKey {
    verifiers: Vec<(&'static str, Box<dyn JwsVerifier>)>,
}

impl fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientKey")
            .field("algorithms", &self.algorithms())
            .finish_non_exhaustive()
    }
}

impl ClientKey {
    /// Reads a public key: a PEM (`PUBLIC KEY`, `RSA PUBLIC KEY` or `CERTIFICATE`) or a
    /// public JWK (its `alg`, when it has one, is the only one accepted).
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let jwk = if text.starts_with('{') {
            Jwk::from_bytes(text.as_bytes())
                .map_err(|_| "it is not a JSON Web Key: give a JSON object with kty".to_owned())?
        } else if text.starts_with("-----BEGIN") {
            pem_to_jwk(text)?
        } else {
            return Err("give a PEM public key or certificate, or a public JWK".to_owned());
        };
        if jwk.parameter("d").is_some() {
            return Err(
                "it is a private key: give its public key (the private key stays with \
                        the application)"
                    .to_owned(),
            );
        }
        let fitting: &[&'static str] = match (jwk.key_type(), jwk.curve()) {
            ("RSA", _) => &["RS256", "PS256"],
            ("EC", Some("P-256")) => &["ES256"],
            _ => return Err("give an RSA key (2048 bits or more) or an EC P-256 key".to_owned()),
        };
        let mut verifiers: Vec<(&'static str, Box<dyn JwsVerifier>)> = Vec::new();
        for alg in fitting {
            if jwk.algorithm().is_some_and(|a| a != *alg) {
                continue;
            }
            let verifier: Result<Box<dyn JwsVerifier>, _> = match *alg {
                "PS256" => PS256.verifier_from_jwk(&jwk).map(|v| Box::new(v) as _),
                "ES256" => ES256.verifier_from_jwk(&jwk).map(|v| Box::new(v) as _),
                _ => RS256.verifier_from_jwk(&jwk).map(|v| Box::new(v) as _),
            };
            verifiers.push((
                alg,
                verifier.map_err(|e| format!("it cannot verify {alg}: {e}"))?,
            ));
        }
        if verifiers.is_empty() {
            return Err(format!(
                "its alg {:?} does not fit the key: use one of {}",
                jwk.algorithm().unwrap_or_default(),
                fitting.join(", ")
            ));
        }
        Ok(Self { verifiers })
    }

    /// The algorithms assertions may be signed with.
    pub(crate) fn algorithms(&self) -> Vec<&'static str> {
        self.verifiers.iter().map(|(alg, _)| *alg).collect()
    }

    /// The claims of an assertion whose signature verifies with this key, by the algorithm
    /// its header names (one of [`algorithms`](Self::algorithms)).
    pub(crate) fn verify(&self, assertion: &str) -> Result<Map<String, Value>, String> {
        let (payload, _) = josekit::jwt::decode_with_verifier_selector(assertion, |header| {
            let alg = header.algorithm().unwrap_or_default();
            Ok(self
                .verifiers
                .iter()
                .find(|(a, _)| *a == alg)
                .map(|(_, v)| v.as_ref()))
        })
        .map_err(|_| {
            format!(
                "the client assertion is not a JWT signed with the public key registered for \
                 this client ({}): sign it with the matching private key",
                self.algorithms().join(" or ")
            )
        })?;
        Ok(payload.into())
    }
}

/// A PEM public key (or certificate) as a public JWK.
fn pem_to_jwk(pem: &str) -> Result<Jwk, String> {
    let unreadable = |_| {
        "it is not a PEM public key (BEGIN PUBLIC KEY, BEGIN RSA PUBLIC KEY) or certificate"
            .to_owned()
    };
    let key: PKey<Public> = if pem.contains("BEGIN CERTIFICATE") {
        openssl::x509::X509::from_pem(pem.as_bytes())
            .and_then(|cert| cert.public_key())
            .map_err(unreadable)?
    } else if pem.contains("BEGIN RSA PUBLIC KEY") {
        openssl::rsa::Rsa::public_key_from_pem_pkcs1(pem.as_bytes())
            .and_then(PKey::from_rsa)
            .map_err(unreadable)?
    } else {
        PKey::public_key_from_pem(pem.as_bytes()).map_err(unreadable)?
    };
    let map = match key.id() {
        Id::RSA => {
            let rsa = key.rsa().map_err(unreadable)?;
            json!({"kty": "RSA", "n": B64.encode(rsa.n().to_vec()), "e": B64.encode(rsa.e().to_vec())})
        }
        Id::EC => {
            let ec = key.ec_key().map_err(unreadable)?;
            if ec.group().curve_name() != Some(Nid::X9_62_PRIME256V1) {
                return Err("it is an EC key on another curve than P-256".to_owned());
            }
            let coordinate = || BigNum::new().map_err(unreadable);
            let (mut x, mut y) = (coordinate()?, coordinate()?);
            let mut context = BigNumContext::new().map_err(unreadable)?;
            ec.public_key()
                .affine_coordinates(ec.group(), &mut x, &mut y, &mut context)
                .map_err(unreadable)?;
            let padded = |n: &BigNum| n.to_vec_padded(32).map(|b| B64.encode(b));
            json!({"kty": "EC", "crv": "P-256",
                   "x": padded(&x).map_err(unreadable)?, "y": padded(&y).map_err(unreadable)?})
        }
        _ => return Err("give an RSA key (2048 bits or more) or an EC P-256 key".to_owned()),
    };
    let Value::Object(map) = map else {
        return Err("the key could not be read".to_owned());
    };
    Jwk::from_map(map).map_err(|_| "the key could not be read".to_owned())
}

#[cfg(test)]
mod tests {
    use josekit::jwk::KeyPair as _;
    use josekit::jws::JwsHeader;
    use josekit::jwt::JwtPayload;

    use super::*;

    fn signed(signer: &dyn josekit::jws::JwsSigner) -> String {
        let mut payload = JwtPayload::new();
        payload.set_subject("dev-client");
        josekit::jwt::encode_with_signer(&payload, &JwsHeader::new(), signer).unwrap()
    }

    #[test]
    fn an_rsa_pem_public_key_verifies_rs256_and_ps256() {
        let mut pair = RS256.generate_key_pair(2048).unwrap();
        pair.set_algorithm(None);
        let public = String::from_utf8(pair.to_pem_public_key()).unwrap();
        let key = ClientKey::parse(&public).unwrap();
        assert_eq!(key.algorithms(), ["RS256", "PS256"]);
        let private = pair.to_jwk_private_key();
        for token in [
            signed(&RS256.signer_from_jwk(&private).unwrap()),
            signed(&PS256.signer_from_jwk(&private).unwrap()),
        ] {
            assert_eq!(key.verify(&token).unwrap()["sub"], "dev-client");
        }
        let other = RS256.generate_key_pair(2048).unwrap();
        let wrong = signed(&RS256.signer_from_jwk(&other.to_jwk_private_key()).unwrap());
        assert!(
            key.verify(&wrong)
                .unwrap_err()
                .contains("matching private key")
        );
    }

    #[test]
    fn an_ec_pem_and_a_jwk_verify_es256() {
        let pair = ES256.generate_key_pair().unwrap();
        let token = signed(&ES256.signer_from_jwk(&pair.to_jwk_private_key()).unwrap());
        let pem = String::from_utf8(pair.to_pem_public_key()).unwrap();
        for text in [pem, pair.to_jwk_public_key().to_string()] {
            let key = ClientKey::parse(&text).unwrap();
            assert_eq!(key.algorithms(), ["ES256"]);
            assert!(key.verify(&token).is_ok());
        }
    }

    #[test]
    fn a_private_key_or_garbage_is_refused() {
        let pair = ES256.generate_key_pair().unwrap();
        let private = pair.to_jwk_private_key().to_string();
        assert!(
            ClientKey::parse(&private)
                .unwrap_err()
                .contains("private key")
        );
        assert!(ClientKey::parse("hello").is_err());
        assert!(
            ClientKey::parse("-----BEGIN PUBLIC KEY-----\nxx\n-----END PUBLIC KEY-----").is_err()
        );
    }
}
