//! Back-channel logout tokens already used, remembered in this process for the stores that
//! keep none themselves (cookies, memory, a backend without
//! [`SessionBackend::record_logout_token`](crate::store::SessionBackend::record_logout_token)).

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use crate::store::TokenUse;

/// How many logout-token ids one process remembers: 10,000 (about 1 MB). Only tokens that
/// passed validation (signed by the provider, for this client, unexpired) are recorded, so
/// the bound is reached only by a provider sending that many within their lifetime (a few
/// minutes); then the id that expires soonest is forgotten first, and a warning is logged.
pub const MAX_REMEMBERED_LOGOUT_TOKENS: usize = 10_000;

/// Ids with the time (unix seconds) their record may be dropped, and the same ordered by that
/// time, so expired ones go first and cheaply.
#[derive(Default)]
struct Seen {
    by_key: HashMap<String, u64>,
    by_expiry: BTreeSet<(u64, String)>,
}

/// The logout tokens this process has accepted, until they expire.
#[derive(Default)]
pub(crate) struct SeenLogoutTokens {
    seen: Mutex<Seen>,
}

impl SeenLogoutTokens {
    /// Records `key` until `expires_at`; [`TokenUse::First`] unless it is recorded and live.
    pub(crate) fn record(&self, key: &str, expires_at: u64, now: u64) -> TokenUse {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(first) = seen.by_expiry.first().cloned() {
            if first.0 > now && seen.by_key.len() < MAX_REMEMBERED_LOGOUT_TOKENS {
                break;
            }
            if first.0 > now {
                tracing::warn!(
                    limit = MAX_REMEMBERED_LOGOUT_TOKENS,
                    "too many live logout tokens to remember; forgetting the one that expires soonest"
                );
            }
            seen.by_expiry.pop_first();
            seen.by_key.remove(&first.1);
        }
        if seen.by_key.contains_key(key) {
            return TokenUse::Replayed;
        }
        seen.by_key.insert(key.to_owned(), expires_at);
        seen.by_expiry.insert((expires_at, key.to_owned()));
        TokenUse::First
    }

    /// Forgets `key` (its sessions could not be ended; the provider may send it again).
    pub(crate) fn forget(&self, key: &str) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(expires_at) = seen.by_key.remove(key) {
            seen.by_expiry.remove(&(expires_at, key.to_owned()));
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .by_key
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_id_is_a_replay_an_expired_one_is_forgotten() {
        let seen = SeenLogoutTokens::default();
        assert_eq!(seen.record("a", 100, 10), TokenUse::First);
        assert_eq!(seen.record("a", 100, 50), TokenUse::Replayed);
        assert_eq!(
            seen.record("a", 200, 100),
            TokenUse::First,
            "expired at 100"
        );
        seen.forget("a");
        assert_eq!(seen.record("a", 200, 100), TokenUse::First, "forgotten");
    }

    #[test]
    fn memory_stays_bounded() {
        let seen = SeenLogoutTokens::default();
        for i in 0..MAX_REMEMBERED_LOGOUT_TOKENS + 10 {
            let expires = 1_000 + i as u64;
            assert_eq!(seen.record(&format!("k{i}"), expires, 0), TokenUse::First);
        }
        assert_eq!(seen.len(), MAX_REMEMBERED_LOGOUT_TOKENS);
        // The newest are still known; the ones expiring soonest were let go.
        assert_eq!(
            seen.record(
                &format!("k{}", MAX_REMEMBERED_LOGOUT_TOKENS + 9),
                u64::MAX,
                0
            ),
            TokenUse::Replayed
        );
        assert_eq!(seen.record("k0", 1_000, 0), TokenUse::First);
    }
}
