//! Cookie sealing: JWE compact serialization with `alg=dir`, `enc=A256CBC-HS512`.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use josekit::jwe::JweContentEncryption as _;
use josekit::jwe::enc::A256CBC_HS512;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use openssl::symm::{Cipher, decrypt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq as _;

use super::{OpenError, SealError, derive_key, random_bytes};
use crate::clock::{self, Clock};
use crate::secret::Secrets;

/// HKDF `info` of the key `auth0-server-python` derives from the secret and the identifier.
pub const PYTHON_KEY_INFO: &[u8] = b"Auth0 Generated Encryption";
/// HKDF `info` of the per-`kid` key of the rotating variant (as `@auth0/auth0-server-js`).
pub const ROTATING_KEY_INFO: &[u8] = b"derived cookie encryption secret";
/// How far past its `exp` a rotating token is still accepted, for clock skew between servers.
pub const EXP_TOLERANCE: Duration = Duration::from_secs(15);
/// Length of the A256CBC-HS512 key: 32 bytes for the HMAC, 32 for AES.
const KEY_LEN: usize = 64;
/// Length of the A256CBC-HS512 initialization vector.
const IV_LEN: usize = 16;
/// Length of the A256CBC-HS512 authentication tag.
const TAG_LEN: usize = 32;
/// Longest `kid` accepted: a UUID is 36 characters; anything much longer is not ours.
const MAX_KID_LEN: usize = 128;
/// How many derived keys are remembered before the cache is emptied and starts again.
const MAX_CACHED_KEYS: usize = 1024;

/// Which of the two token layouts [`CookieSealer`] writes. Both are always read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CookieFormat {
    /// What `auth0-server-python` writes: header exactly `{"alg":"dir","enc":"A256CBC-HS512"}`,
    /// key from the secret and the identifier, the JSON as plaintext, no expiry inside.
    Python,
    /// A random `kid` in the header selects the key (derived from the secret, the identifier
    /// and the `kid`), and the plaintext carries an `exp` claim that is checked on reading.
    #[default]
    Rotating,
}

/// What [`CookieSealer::open_detailed`] found besides the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened<T> {
    /// The value.
    pub value: T,
    /// The layout the token was written in.
    pub format: CookieFormat,
    /// The `exp` inside a rotating token (unix seconds); `None` for the Python layout.
    pub expires_at: Option<u64>,
    /// Which secret opened it (0 = the newest); more than 0 means it should be re-sealed.
    pub secret_index: usize,
}

/// Seals values into cookie-safe JWE tokens and opens them again.
///
/// The identifier (the cookie's name, e.g. `_a0_session`) is the HKDF salt, so a token made
/// for one identifier never opens under another: a transaction cookie cannot be replayed as
/// a session. Keys are derived once per (secret, identifier) and kept. Clones share the cache.
///
/// ```
/// use auth0_store_core::{Secrets, seal::{CookieSealer, CookieFormat}};
/// use serde_json::{json, Value};
///
/// let sealer = CookieSealer::new(Secrets::parse("a-secret-of-at-least-thirty-two-bytes")?);
/// let token = sealer.seal("_a0_session", &json!({"hello": "world"}), 4_102_444_800)?;
/// let value: Value = sealer.open("_a0_session", &token)?;
/// assert_eq!(value, json!({"hello": "world"}));
/// // Another identifier cannot open it.
/// assert!(sealer.open::<Value>("_a0_tx", &token).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct CookieSealer {
    inner: Arc<Inner>,
}

struct Inner {
    secrets: Secrets,
    format: CookieFormat,
    clock: Arc<dyn Clock>,
    /// The `kid` this sealer writes: one per sealer, so its key is derived once.
    write_kid: String,
    keys: RwLock<HashMap<KeyId, Arc<[u8; KEY_LEN]>>>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct KeyId {
    secret_index: usize,
    format: CookieFormat,
    salt: String,
}

impl fmt::Debug for CookieSealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieSealer")
            .field("secrets", &self.inner.secrets)
            .field("format", &self.inner.format)
            .finish_non_exhaustive()
    }
}

impl CookieSealer {
    /// A sealer writing the [`CookieFormat::Rotating`] layout, on the system clock.
    pub fn new(secrets: Secrets) -> Self {
        Self::build(secrets, CookieFormat::default(), clock::system())
    }

    /// The same sealer writing another layout.
    pub fn with_format(self, format: CookieFormat) -> Self {
        Self::build(self.inner.secrets.clone(), format, self.inner.clock.clone())
    }

    /// The same sealer reading the time (for `exp`) from another clock.
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        Self::build(self.inner.secrets.clone(), self.inner.format, clock)
    }

    fn build(secrets: Secrets, format: CookieFormat, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: Arc::new(Inner {
                secrets,
                format,
                clock,
                write_kid: random_uuid(),
                keys: RwLock::new(HashMap::new()),
            }),
        }
    }

    /// The layout this sealer writes.
    pub fn format(&self) -> CookieFormat {
        self.inner.format
    }

    /// Seals a value for `identifier`. `expires_at` (unix seconds) goes into the rotating
    /// layout as `exp`; the Python layout has no place for it.
    ///
    /// # Errors
    ///
    /// [`SealError::Serialize`] if the value does not serialize, [`SealError::NotAnObject`] if
    /// the rotating layout is asked to seal something other than a JSON object.
    pub fn seal<T: Serialize + ?Sized>(
        &self,
        identifier: &str,
        value: &T,
        expires_at: u64,
    ) -> Result<String, SealError> {
        let iv = random_bytes::<IV_LEN>();
        self.seal_with_iv(identifier, value, expires_at, &iv)
    }

    /// [`seal`](Self::seal) with a chosen IV: for known-answer tests only.
    pub(crate) fn seal_with_iv<T: Serialize + ?Sized>(
        &self,
        identifier: &str,
        value: &T,
        expires_at: u64,
        iv: &[u8; IV_LEN],
    ) -> Result<String, SealError> {
        let (header, kid, plaintext) = match self.inner.format {
            CookieFormat::Python => (
                r#"{"alg":"dir","enc":"A256CBC-HS512"}"#.to_owned(),
                None,
                serde_json::to_vec(value).map_err(SealError::Serialize)?,
            ),
            CookieFormat::Rotating => {
                let mut object = match serde_json::to_value(value).map_err(SealError::Serialize)? {
                    Value::Object(object) => object,
                    _ => return Err(SealError::NotAnObject),
                };
                object.insert("exp".to_owned(), Value::from(expires_at));
                let kid = self.inner.write_kid.as_str();
                (
                    format!(r#"{{"alg":"dir","enc":"A256CBC-HS512","kid":"{kid}"}}"#),
                    Some(kid),
                    serde_json::to_vec(&object).map_err(SealError::Serialize)?,
                )
            }
        };
        let key = self.key(0, identifier, kid);
        let header_b64 = B64.encode(header);
        let (ciphertext, tag) = A256CBC_HS512
            .encrypt(&key[..], Some(iv), &plaintext, header_b64.as_bytes())
            .map_err(|e| SealError::Crypto(Box::new(e)))?;
        let tag = tag.ok_or(SealError::Crypto("no authentication tag".into()))?;
        Ok(format!(
            "{header_b64}..{}.{}.{}",
            B64.encode(iv),
            B64.encode(ciphertext),
            B64.encode(tag)
        ))
    }

    /// Opens a token sealed for `identifier` with any of the secrets, in either layout.
    ///
    /// # Errors
    ///
    /// Every way a token can fail to open is an [`OpenError`]; none panics.
    pub fn open<T: DeserializeOwned>(&self, identifier: &str, token: &str) -> Result<T, OpenError> {
        self.open_detailed(identifier, token).map(|o| o.value)
    }

    /// Like [`open`](Self::open), also telling the layout, the expiry and which secret opened it.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    pub fn open_detailed<T: DeserializeOwned>(
        &self,
        identifier: &str,
        token: &str,
    ) -> Result<Opened<T>, OpenError> {
        let parts = CompactParts::split(token)?;
        let kid = parts.kid.as_deref();
        let format = if kid.is_some() {
            CookieFormat::Rotating
        } else {
            CookieFormat::Python
        };
        let (plaintext, secret_index) = self.decrypt(identifier, kid, &parts)?;
        match format {
            CookieFormat::Python => Ok(Opened {
                value: serde_json::from_slice(&plaintext).map_err(OpenError::Payload)?,
                format,
                expires_at: None,
                secret_index,
            }),
            CookieFormat::Rotating => {
                let mut object: Map<String, Value> =
                    serde_json::from_slice(&plaintext).map_err(OpenError::Payload)?;
                let exp = object
                    .remove("exp")
                    .and_then(|v| v.as_u64())
                    .ok_or(OpenError::MissingExpiry)?;
                let now = self.inner.clock.unix_seconds();
                if now > exp.saturating_add(EXP_TOLERANCE.as_secs()) {
                    return Err(OpenError::Expired { exp, now });
                }
                Ok(Opened {
                    value: serde_json::from_value(Value::Object(object))
                        .map_err(OpenError::Payload)?,
                    format,
                    expires_at: Some(exp),
                    secret_index,
                })
            }
        }
    }

    /// Checks the tag in constant time with each secret's key, then decrypts.
    ///
    /// The tag is checked before anything is decrypted, so nothing about the padding of a
    /// forged ciphertext is ever observable.
    fn decrypt(
        &self,
        identifier: &str,
        kid: Option<&str>,
        parts: &CompactParts<'_>,
    ) -> Result<(Vec<u8>, usize), OpenError> {
        for secret_index in 0..self.inner.secrets.len() {
            let key = self.key(secret_index, identifier, kid);
            let (mac_key, enc_key) = key.split_at(KEY_LEN / 2);
            let expected = compute_tag(
                mac_key,
                parts.header_b64.as_bytes(),
                &parts.iv,
                &parts.ciphertext,
            )
            .map_err(|e| OpenError::Crypto(Box::new(e)))?;
            if bool::from(expected[..TAG_LEN].ct_eq(&parts.tag)) {
                let plaintext = decrypt(
                    Cipher::aes_256_cbc(),
                    enc_key,
                    Some(&parts.iv),
                    &parts.ciphertext,
                )
                .map_err(|e| OpenError::Crypto(Box::new(e)))?;
                return Ok((plaintext, secret_index));
            }
        }
        Err(OpenError::Undecryptable)
    }

    /// The key for (secret, identifier, kid), derived once and then taken from the cache.
    fn key(&self, secret_index: usize, identifier: &str, kid: Option<&str>) -> Arc<[u8; KEY_LEN]> {
        let (format, salt) = match kid {
            None => (CookieFormat::Python, identifier.to_owned()),
            Some(kid) => (CookieFormat::Rotating, format!("{identifier}{kid}")),
        };
        let id = KeyId {
            secret_index,
            format,
            salt,
        };
        if let Some(key) = self
            .inner
            .keys
            .read()
            .ok()
            .and_then(|keys| keys.get(&id).cloned())
        {
            return key;
        }
        let info = match format {
            CookieFormat::Python => PYTHON_KEY_INFO,
            CookieFormat::Rotating => ROTATING_KEY_INFO,
        };
        let secret = self
            .inner
            .secrets
            .iter()
            .nth(secret_index)
            .unwrap_or_else(|| self.inner.secrets.current());
        let key: Arc<[u8; KEY_LEN]> = Arc::new(derive_key(
            secret.as_bytes(),
            Some(id.salt.as_bytes()),
            info,
        ));
        if let Ok(mut keys) = self.inner.keys.write() {
            if keys.len() >= MAX_CACHED_KEYS {
                keys.clear();
            }
            keys.insert(id, key.clone());
        }
        key
    }
}

/// HMAC-SHA-512 over `AAD ‖ IV ‖ ciphertext ‖ AL` (RFC 7518 §5.2.2.1); the tag is its first half.
fn compute_tag(
    mac_key: &[u8],
    aad: &[u8],
    iv: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, openssl::error::ErrorStack> {
    let key = PKey::hmac(mac_key)?;
    let mut signer = Signer::new(MessageDigest::sha512(), &key)?;
    signer.update(aad)?;
    signer.update(iv)?;
    signer.update(ciphertext)?;
    signer.update(&((aad.len() as u64) * 8).to_be_bytes())?;
    signer.sign_to_vec()
}

/// The five parts of a compact JWE, decoded and checked against what this crate accepts.
struct CompactParts<'a> {
    header_b64: &'a str,
    kid: Option<String>,
    iv: Vec<u8>,
    ciphertext: Vec<u8>,
    tag: Vec<u8>,
}

impl<'a> CompactParts<'a> {
    fn split(token: &'a str) -> Result<Self, OpenError> {
        let mut parts = token.trim().split('.');
        let (Some(header_b64), Some(encrypted_key), Some(iv), Some(ciphertext), Some(tag), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(OpenError::Malformed(
                "a JWE has exactly five parts separated by dots",
            ));
        };
        if !encrypted_key.is_empty() {
            return Err(OpenError::Malformed(
                "alg=dir tokens carry no encrypted key",
            ));
        }
        let header_json = B64
            .decode(header_b64)
            .map_err(|_| OpenError::Malformed("the header is not base64url"))?;
        let header: Map<String, Value> = serde_json::from_slice(&header_json)
            .map_err(|_| OpenError::Malformed("the header is not a JSON object"))?;
        for (name, value) in &header {
            match (name.as_str(), value) {
                ("alg", Value::String(alg)) if alg == "dir" => {}
                ("enc", Value::String(enc)) if enc == "A256CBC-HS512" => {}
                ("kid", Value::String(kid)) if !kid.is_empty() && kid.len() <= MAX_KID_LEN => {}
                ("typ" | "cty", Value::String(_)) => {}
                (name, value) => {
                    return Err(OpenError::UnsupportedHeader(format!("{name}: {value}")));
                }
            }
        }
        if !header.contains_key("alg") || !header.contains_key("enc") {
            return Err(OpenError::UnsupportedHeader(
                "alg and enc are required".to_owned(),
            ));
        }
        let kid = header.get("kid").and_then(Value::as_str).map(str::to_owned);
        let decode = |part: &str, what: &'static str| {
            B64.decode(part).map_err(|_| OpenError::Malformed(what))
        };
        let iv = decode(iv, "the IV is not base64url")?;
        let ciphertext = decode(ciphertext, "the ciphertext is not base64url")?;
        let tag = decode(tag, "the tag is not base64url")?;
        if iv.len() != IV_LEN || tag.len() != TAG_LEN {
            return Err(OpenError::Malformed(
                "the IV or the tag has the wrong length",
            ));
        }
        if ciphertext.is_empty() || ciphertext.len() % 16 != 0 {
            return Err(OpenError::Malformed(
                "the ciphertext is not whole AES blocks",
            ));
        }
        Ok(Self {
            header_b64,
            kid,
            iv,
            ciphertext,
            tag,
        })
    }
}

/// A random version-4 UUID in its usual text form.
fn random_uuid() -> String {
    let mut b = random_bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
