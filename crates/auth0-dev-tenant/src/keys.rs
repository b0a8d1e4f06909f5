//! The tenant's signing key: an RSA key made at start, published in the JWKS, signing every
//! token with RS256.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use josekit::JoseError;
use josekit::jwk::Jwk;
use josekit::jws::alg::rsassa::{RsassaJwsSigner, RsassaJwsVerifier};
use josekit::jws::{JwsHeader, RS256};
use josekit::jwt::JwtPayload;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// The size of the RSA key, in bits.
pub const KEY_BITS: u32 = 2048;

/// The one algorithm the tenant signs with.
pub const SIGNING_ALGORITHM: &str = "RS256";

pub(crate) struct SigningKey {
    kid: String,
    signer: RsassaJwsSigner,
    verifier: RsassaJwsVerifier,
    public: Jwk,
}

impl SigningKey {
    /// Makes a new key (this takes a moment: run it off the async threads).
    pub(crate) fn generate() -> Result<Self, JoseError> {
        let pair = RS256.generate_key_pair(KEY_BITS)?;
        let mut public = pair.to_jwk_public_key();
        // The key's id: a hash of its modulus, so it names this key and no other.
        let modulus = public
            .parameter("n")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let kid = B64.encode(&Sha256::digest(modulus.as_bytes())[..16]);
        public.set_key_id(&kid);
        public.set_algorithm(SIGNING_ALGORITHM);
        public.set_key_use("sig");
        let mut private = pair.to_jwk_private_key();
        private.set_key_id(&kid);
        let signer = RS256.signer_from_jwk(&private)?;
        let verifier = RS256.verifier_from_jwk(&public)?;
        Ok(Self {
            kid,
            signer,
            verifier,
            public,
        })
    }

    /// The JWKS document: the public key only.
    pub(crate) fn jwks(&self) -> Value {
        json!({ "keys": [Value::Object(self.public.as_ref().clone())] })
    }

    /// Signs `claims` as a JWT of type `typ`.
    pub(crate) fn sign(&self, typ: &str, claims: Map<String, Value>) -> Result<String, JoseError> {
        let mut header = JwsHeader::new();
        header.set_token_type(typ);
        header.set_key_id(&self.kid);
        let payload = JwtPayload::from_map(claims)?;
        josekit::jwt::encode_with_signer(&payload, &header, &self.signer)
    }

    /// The claims of a JWT this key signed: the header's `alg` must be RS256 and its `kid`
    /// this key's (the verifier carries the `kid`); the caller checks the claims.
    pub(crate) fn verify(&self, token: &str) -> Result<Map<String, Value>, JoseError> {
        let (payload, _) = josekit::jwt::decode_with_verifier(token, &self.verifier)?;
        Ok(payload.into())
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_tokens_verify_and_name_the_key() {
        let key = SigningKey::generate().unwrap();
        let claims = json!({"sub": "auth0|1", "iat": 1});
        let token = key
            .sign("JWT", claims.as_object().unwrap().clone())
            .unwrap();
        let back = key.verify(&token).unwrap();
        assert_eq!(back["sub"], "auth0|1");
        let jwks = key.jwks();
        assert_eq!(jwks["keys"][0]["kid"], key.kid);
        assert_eq!(jwks["keys"][0]["alg"], "RS256");
        assert!(jwks["keys"][0].get("d").is_none(), "private part published");

        let other = SigningKey::generate().unwrap();
        assert!(other.verify(&token).is_err());
    }
}
