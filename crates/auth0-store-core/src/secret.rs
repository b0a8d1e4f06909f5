//! Secrets used to seal cookies and records, with rotation.

use std::fmt;

/// The shortest secret accepted, in bytes. HKDF turns any secret into keys, but a short one
/// can be guessed; 32 bytes of randomness (`auth0-server secret` prints 64) is the floor.
pub const MIN_SECRET_LEN: usize = 32;

/// A fresh secret for `AUTH0_SECRET`: 32 bytes from the operating system's random source, as
/// 64 hex characters.
///
/// ```
/// let secret = auth0_store_core::generate_secret();
/// assert_eq!(secret.len(), 64);
/// assert!(auth0_store_core::Secrets::parse(&secret).is_ok());
/// ```
pub fn generate_secret() -> String {
    crate::seal::random_bytes::<32>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Why a secret was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretError {
    /// No secret was given.
    #[error(
        "no secret was given: set AUTH0_SECRET to at least {MIN_SECRET_LEN} random bytes \
         (make one with `auth0-server secret` or `openssl rand -hex 32`)"
    )]
    Missing,
    /// A secret is shorter than [`MIN_SECRET_LEN`].
    #[error(
        "a secret (number {position} in the list, newest first) has only {len} byte(s), but at \
         least {MIN_SECRET_LEN} are needed: make one with `auth0-server secret` or \
         `openssl rand -hex 32`"
    )]
    TooShort {
        /// Where the secret stands in the list (1 = newest).
        position: usize,
        /// Its length in bytes.
        len: usize,
    },
}

/// One secret. Its `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret's bytes (its UTF-8 encoding, as the other Auth0 SDKs use it).
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// The secrets in use, newest first: data is sealed with the first and opened with any.
///
/// To rotate, put the new secret in front (`AUTH0_SECRET=new,old`), deploy, and remove the old
/// one once every session sealed with it has expired.
///
/// ```
/// use auth0_store_core::Secrets;
///
/// let secrets = Secrets::parse("a-new-secret-that-is-32-bytes-long!!, an-old-secret-that-is-32-bytes-long!!")?;
/// assert_eq!(secrets.len(), 2);
/// assert!(!format!("{secrets:?}").contains("new-secret"));
/// # Ok::<(), auth0_store_core::SecretError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secrets(Vec<Secret>);

impl Secrets {
    /// Builds the list from secrets given newest first.
    ///
    /// # Errors
    ///
    /// [`SecretError::Missing`] for an empty list, [`SecretError::TooShort`] for a secret under
    /// [`MIN_SECRET_LEN`] bytes.
    pub fn new<I, S>(secrets: I) -> Result<Self, SecretError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let list: Vec<Secret> = secrets.into_iter().map(|s| Secret(s.into())).collect();
        if list.is_empty() {
            return Err(SecretError::Missing);
        }
        for (i, secret) in list.iter().enumerate() {
            if secret.0.len() < MIN_SECRET_LEN {
                return Err(SecretError::TooShort {
                    position: i + 1,
                    len: secret.0.len(),
                });
            }
        }
        Ok(Self(list))
    }

    /// One fresh random secret (as [`generate_secret`] makes), for data that never leaves
    /// this process (the memory transaction store seals with one).
    ///
    /// ```
    /// assert_eq!(auth0_store_core::Secrets::generate().len(), 1);
    /// ```
    pub fn generate() -> Self {
        Self(vec![Secret(generate_secret())])
    }

    /// Parses a comma-separated list (the form of `AUTH0_SECRET`), newest first; blanks around
    /// each secret are trimmed and empty entries ignored.
    ///
    /// # Errors
    ///
    /// As [`Secrets::new`].
    pub fn parse(list: &str) -> Result<Self, SecretError> {
        Self::new(list.split(',').map(str::trim).filter(|s| !s.is_empty()))
    }

    /// The secret new data is sealed with.
    pub fn current(&self) -> &Secret {
        &self.0[0]
    }

    /// All secrets, newest first.
    pub fn iter(&self) -> impl Iterator<Item = &Secret> {
        self.0.iter()
    }

    /// How many secrets there are (at least one).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always `false`: a `Secrets` holds at least one secret.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets([{} redacted])", self.0.len())
    }
}

impl std::str::FromStr for Secrets {
    type Err = SecretError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_missing_secrets_are_refused_with_a_fix() {
        assert_eq!(Secrets::parse(" , "), Err(SecretError::Missing));
        let err = Secrets::parse(&format!("{},short", "x".repeat(32))).unwrap_err();
        assert_eq!(
            err,
            SecretError::TooShort {
                position: 2,
                len: 5
            }
        );
        assert!(err.to_string().contains("auth0-server secret"));
    }

    #[test]
    fn list_is_trimmed_and_ordered_newest_first() {
        let s = Secrets::parse(&format!(" {} ,{}", "n".repeat(32), "o".repeat(40))).unwrap();
        assert_eq!(s.current().as_bytes(), "n".repeat(32).as_bytes());
        assert_eq!(s.iter().count(), 2);
    }
}
