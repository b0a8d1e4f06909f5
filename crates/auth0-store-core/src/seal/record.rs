//! Record sealing for server-side stores: XChaCha20-Poly1305 bound to the session.

use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

use super::{OpenError, SealError, derive_key, random_bytes};
use crate::secret::Secrets;

/// HKDF `info` of the record key.
pub const RECORD_KEY_INFO: &[u8] = b"auth0-server record v1";
/// The first byte of every sealed record: the layout version.
pub const RECORD_VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// Seals session records for server-side stores (Redis, PostgreSQL, memory).
///
/// Layout: `version (1 byte) ‖ nonce (24 bytes) ‖ ciphertext with tag`. The associated data
/// binds the record to where it is kept (the store passes the cookie identifier and the
/// session id), so a record copied under another id does not open. Keys are derived once, at
/// construction, one per secret; sealing uses the newest, opening tries each.
///
/// ```
/// use auth0_store_core::{Secrets, seal::RecordSealer};
///
/// let sealer = RecordSealer::new(&Secrets::parse("a-secret-of-at-least-thirty-two-bytes")?);
/// let sealed = sealer.seal(b"session-id-1", b"{\"refresh_token\":\"v1.x\"}")?;
/// assert_eq!(sealer.open(b"session-id-1", &sealed)?, b"{\"refresh_token\":\"v1.x\"}");
/// assert!(sealer.open(b"session-id-2", &sealed).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct RecordSealer {
    ciphers: Vec<XChaCha20Poly1305>,
}

impl fmt::Debug for RecordSealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordSealer({} key(s), redacted)", self.ciphers.len())
    }
}

impl RecordSealer {
    /// Derives one key per secret: HKDF-SHA-256(secret, no salt, info [`RECORD_KEY_INFO`]).
    pub fn new(secrets: &Secrets) -> Self {
        let ciphers = secrets
            .iter()
            .map(|s| {
                let key: [u8; 32] = derive_key(s.as_bytes(), None, RECORD_KEY_INFO);
                XChaCha20Poly1305::new(&Key::from(key))
            })
            .collect();
        Self { ciphers }
    }

    /// Seals `plaintext`, binding it to `aad`.
    ///
    /// # Errors
    ///
    /// [`SealError::Crypto`] if the cipher fails (it does not for inputs that fit in memory).
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let nonce = random_bytes::<NONCE_LEN>();
        let cipher = &self.ciphers[0];
        let ciphertext = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|e| SealError::Crypto(e.to_string().into()))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        out.push(RECORD_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    /// Opens a sealed record with any of the keys.
    ///
    /// # Errors
    ///
    /// [`OpenError::Malformed`] for a record of another layout or too short,
    /// [`OpenError::Undecryptable`] when no key opens it with this `aad`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        let Some((&version, rest)) = sealed.split_first() else {
            return Err(OpenError::Malformed("the record is empty"));
        };
        if version != RECORD_VERSION {
            return Err(OpenError::Malformed(
                "the record has an unknown layout version",
            ));
        }
        if rest.len() < NONCE_LEN + TAG_LEN {
            return Err(OpenError::Malformed("the record is too short"));
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let mut nonce_bytes = [0u8; NONCE_LEN];
        nonce_bytes.copy_from_slice(nonce);
        let nonce = XNonce::from(nonce_bytes);
        self.ciphers
            .iter()
            .find_map(|c| {
                c.decrypt(
                    &nonce,
                    Payload {
                        msg: ciphertext,
                        aad,
                    },
                )
                .ok()
            })
            .ok_or(OpenError::Undecryptable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(list: &str) -> Secrets {
        Secrets::parse(list).unwrap()
    }
    const A: &str = "secret-a-secret-a-secret-a-secret-a";
    const B: &str = "secret-b-secret-b-secret-b-secret-b";

    #[test]
    fn round_trip_and_layout() {
        let sealer = RecordSealer::new(&secrets(A));
        let sealed = sealer.seal(b"id", b"hello").unwrap();
        assert_eq!(sealed[0], RECORD_VERSION);
        assert_eq!(sealed.len(), 1 + NONCE_LEN + 5 + TAG_LEN);
        assert_eq!(sealer.open(b"id", &sealed).unwrap(), b"hello");
        assert_ne!(
            sealer.seal(b"id", b"hello").unwrap(),
            sealed,
            "a fresh nonce every time"
        );
    }

    #[test]
    fn old_secret_opens_after_rotation_and_wrong_secret_does_not() {
        let old = RecordSealer::new(&secrets(B)).seal(b"id", b"x").unwrap();
        let rotated = RecordSealer::new(&secrets(&format!("{A},{B}")));
        assert_eq!(rotated.open(b"id", &old).unwrap(), b"x");
        assert!(matches!(
            RecordSealer::new(&secrets(A)).open(b"id", &old),
            Err(OpenError::Undecryptable)
        ));
    }

    #[test]
    fn tampered_truncated_and_foreign_records_do_not_open() {
        let sealer = RecordSealer::new(&secrets(A));
        let sealed = sealer.seal(b"id", b"payload").unwrap();
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(sealer.open(b"id", &bad).is_err(), "flipped byte {i} opened");
        }
        for len in 0..sealed.len() {
            assert!(
                sealer.open(b"id", &sealed[..len]).is_err(),
                "truncated to {len} opened"
            );
        }
        assert!(sealer.open(b"other", &sealed).is_err());
    }
}
