//! [`ReadCache`]: opened sessions kept in memory, so a request that brings the same sealed
//! bytes as an earlier one skips decrypting and parsing them again.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::model::StateData;

/// How many opened sessions a store keeps by default: at about 6 KB each for a realistic
/// session, some 6 MB (the cookie store also keeps the sealed token, about 12 MB).
pub const DEFAULT_READ_CACHE_CAPACITY: usize = 1024;

/// An opened session and, for stores whose sealed form carries one, when it expires.
#[derive(Clone)]
pub struct CachedSession {
    /// The session, as opening the sealed bytes gave it.
    pub state: Arc<StateData>,
    /// Unix seconds after which the session is over, if the sealed form said so.
    pub expires_at: Option<u64>,
}

impl fmt::Debug for CachedSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedSession")
            .field("state", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// How a [`ReadCache`] has done since it was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadCacheStats {
    /// Reads answered from the cache.
    pub hits: u64,
    /// Reads that had to open the sealed bytes.
    pub misses: u64,
    /// Sessions held now.
    pub entries: usize,
}

/// A bounded map from "these exact sealed bytes" to the session they open to.
///
/// Stores use it to skip the decryption and JSON parsing of a session they opened before;
/// the key must name the sealed bytes exactly (the cookie store uses the whole token; the
/// server-side store the cookie name, session id and record version, which the backends
/// never reuse for other contents), so a hit returns what opening would have returned. What
/// opening cannot know — is the record still there, has it expired — the store still checks
/// on every read. When full, an arbitrary entry makes room. Clones share the same entries.
///
/// A capacity of 0 turns caching off.
///
/// ```
/// use std::sync::Arc;
/// use auth0_store_core::model::StateData;
/// use auth0_store_core::store::{CachedSession, ReadCache};
///
/// let cache = ReadCache::new(2);
/// let session = CachedSession { state: Arc::new(StateData::default()), expires_at: None };
/// cache.insert("sealed-bytes-1".to_owned(), session);
/// assert!(cache.get(&"sealed-bytes-1".to_owned()).is_some());
/// assert!(cache.get(&"sealed-bytes-2".to_owned()).is_none());
/// assert_eq!(cache.stats().hits, 1);
/// ```
pub struct ReadCache<K> {
    capacity: usize,
    entries: Arc<Mutex<HashMap<K, CachedSession>>>,
    hits: Arc<AtomicU64>,
    misses: Arc<AtomicU64>,
}

impl<K> Clone for ReadCache<K> {
    fn clone(&self) -> Self {
        Self {
            capacity: self.capacity,
            entries: self.entries.clone(),
            hits: self.hits.clone(),
            misses: self.misses.clone(),
        }
    }
}

impl<K> fmt::Debug for ReadCache<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadCache")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl<K: Hash + Eq + Clone> ReadCache<K> {
    /// A cache holding up to `capacity` sessions (0: none).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Arc::new(Mutex::new(HashMap::new())),
            hits: Arc::new(AtomicU64::new(0)),
            misses: Arc::new(AtomicU64::new(0)),
        }
    }

    /// How many sessions it may hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, CachedSession>> {
        // A panic while the lock was held cannot leave the map half-written (every change
        // is one insert or remove), so a poisoned lock is still good to use.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The session `key` opened to before, if it is still held.
    pub fn get(&self, key: &K) -> Option<CachedSession> {
        if self.capacity == 0 {
            return None;
        }
        let found = self.lock().get(key).cloned();
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Remembers what `key` opens to, making room first when full.
    pub fn insert(&self, key: K, session: CachedSession) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.lock();
        if entries.len() >= self.capacity
            && !entries.contains_key(&key)
            && let Some(evicted) = entries.keys().next().cloned()
        {
            entries.remove(&evicted);
        }
        entries.insert(key, session);
    }

    /// Forgets `key` (the session it opened to has ended).
    pub fn remove(&self, key: &K) {
        if self.capacity > 0 {
            self.lock().remove(key);
        }
    }

    /// Hits, misses and entries so far.
    pub fn stats(&self) -> ReadCacheStats {
        ReadCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: if self.capacity == 0 {
                0
            } else {
                self.lock().len()
            },
        }
    }
}

/// How many trailing bytes of a [`SealedToken`] its hash covers: the token's last segment is
/// its authentication tag, different for every sealing.
const SEALED_TOKEN_HASHED_TAIL: usize = 64;

/// A sealed session token (a cookie store's joined chunks) as a [`ReadCache`] key.
///
/// Hashing covers only the tail (the authentication tag) so a lookup costs little; equality
/// compares the whole token without stopping at the first difference, so the time a lookup
/// takes says nothing about how much of a forged token matches a real one.
///
/// ```
/// use auth0_store_core::store::SealedToken;
///
/// assert_eq!(SealedToken::new("a.b.c".to_owned()), SealedToken::new("a.b.c".to_owned()));
/// assert_ne!(SealedToken::new("a.b.c".to_owned()), SealedToken::new("a.b.d".to_owned()));
/// assert_eq!(format!("{:?}", SealedToken::new("a.b.c".to_owned())), "SealedToken([redacted])");
/// ```
#[derive(Clone)]
pub struct SealedToken(String);

impl SealedToken {
    /// Wraps a token.
    pub fn new(token: String) -> Self {
        Self(token)
    }

    /// The token.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SealedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealedToken([redacted])")
    }
}

impl Hash for SealedToken {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let bytes = self.0.as_bytes();
        state.write_usize(bytes.len());
        state.write(&bytes[bytes.len().saturating_sub(SEALED_TOKEN_HASHED_TAIL)..]);
    }
}

impl PartialEq for SealedToken {
    fn eq(&self, other: &Self) -> bool {
        same_bytes(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl Eq for SealedToken {}

/// Whether `a` and `b` are equal, looking at every byte whatever the first difference (the
/// lengths, which are public, are compared first). Eight bytes at a time: a token of 6 KB
/// takes well under a microsecond.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (a_words, b_words) = (a.chunks_exact(8), b.chunks_exact(8));
    let tails = a_words.remainder().iter().zip(b_words.remainder());
    let word = |w: &[u8]| u64::from_ne_bytes(w.try_into().unwrap_or([0; 8]));
    let mut diff = a_words
        .zip(b_words)
        .fold(0u64, |acc, (x, y)| acc | (word(x) ^ word(y)));
    diff = tails.fold(diff, |acc, (x, y)| acc | u64::from(x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(sid: &str) -> CachedSession {
        let mut state = StateData::default();
        state.internal.sid = sid.to_owned();
        CachedSession {
            state: Arc::new(state),
            expires_at: Some(10),
        }
    }

    #[test]
    fn sealed_tokens_are_equal_only_when_every_byte_is() {
        let token = "h.".to_owned() + &"x".repeat(5000) + ".tag";
        let key = SealedToken::new(token.clone());
        assert_eq!(key, SealedToken::new(token.clone()));
        // A difference anywhere — first byte, middle, last, length — is a different key.
        for changed in [0, 2500, token.len() - 1] {
            let mut bytes = token.clone().into_bytes();
            bytes[changed] ^= 1;
            let other = SealedToken::new(String::from_utf8(bytes).unwrap());
            assert_ne!(key, other, "byte {changed} differs");
        }
        assert_ne!(key, SealedToken::new(token[..token.len() - 1].to_owned()));
        assert!(same_bytes(b"", b""));
        assert!(!same_bytes(b"abc", b"abd"));
    }

    #[test]
    fn a_forged_token_with_the_same_tail_is_another_key() {
        let cache = ReadCache::new(4);
        let real = "header.iv.ciphertext-of-ada.the-tag".to_owned();
        let forged = "header.iv.ciphertext-of-eve.the-tag".to_owned();
        cache.insert(SealedToken::new(real.clone()), session("ada"));
        assert!(cache.get(&SealedToken::new(forged)).is_none());
        assert!(cache.get(&SealedToken::new(real)).is_some());
    }

    #[test]
    fn holds_no_more_than_its_capacity() {
        let cache = ReadCache::new(3);
        for i in 0..10 {
            cache.insert(i, session(&i.to_string()));
        }
        assert_eq!(cache.stats().entries, 3);
        assert!(cache.get(&9).is_some(), "the newest entry is kept");
    }

    #[test]
    fn a_hit_gives_back_what_was_inserted() {
        let cache = ReadCache::new(4);
        cache.insert("a", session("sid-a"));
        cache.insert("b", session("sid-b"));
        let hit = cache.get(&"b").unwrap();
        assert_eq!(hit.state.internal.sid, "sid-b");
        assert_eq!(hit.expires_at, Some(10));
        assert!(cache.get(&"c").is_none());
        assert_eq!(
            cache.stats(),
            ReadCacheStats {
                hits: 1,
                misses: 1,
                entries: 2
            }
        );
    }

    #[test]
    fn capacity_zero_keeps_nothing() {
        let cache = ReadCache::new(0);
        cache.insert("a", session("sid-a"));
        assert!(cache.get(&"a").is_none());
        assert_eq!(cache.stats(), ReadCacheStats::default());
    }

    #[test]
    fn removed_entries_are_gone_and_clones_share_entries() {
        let cache = ReadCache::new(4);
        let clone = cache.clone();
        cache.insert("a", session("sid-a"));
        assert!(clone.get(&"a").is_some());
        clone.remove(&"a");
        assert!(cache.get(&"a").is_none());
    }
}
