use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use auth0_server_core::Secrets;
use auth0_server_core::clock::{self, Clock};
use auth0_server_core::model::TransactionData;
use auth0_server_core::seal::{CookieSealer, Opened};
use auth0_server_core::store::{
    CookieOptions, SetCookie, StoreContext, StoreError, TransactionStore, split_transaction_key,
};

/// How long a login may take: one hour, as `Max-Age` and as the token's `exp`.
pub const DEFAULT_TRANSACTION_MAX_AGE: Duration = Duration::from_secs(60 * 60);
/// How many logins in progress one browser keeps; past it the oldest cookie goes.
pub const DEFAULT_MAX_TRANSACTIONS: usize = 5;

/// A [`TransactionStore`] with one cookie per login attempt, `__Host-{tx_identifier}_{state}`
/// (without `__Host-` when the cookie options rule it out, see [`CookieOptions::cookie_name`]),
/// sealed with the salt `{tx_identifier}:{state}`, so logins in several tabs complete
/// independently and a transaction cookie never opens as a session (or another login).
///
/// At most [`DEFAULT_MAX_TRANSACTIONS`] are kept (the oldest is dropped), and a successful
/// login removes them all, so cookies never pile up into a `431 Request Header Fields Too
/// Large`.
#[derive(Clone, Debug)]
pub struct CookieTransactionStore {
    sealer: CookieSealer,
    cookie: CookieOptions,
    clock: Arc<dyn Clock>,
    max_age: Duration,
    max_transactions: usize,
}

impl CookieTransactionStore {
    /// A store sealing with `secrets` (newest first).
    pub fn new(secrets: Secrets) -> Self {
        Self {
            sealer: CookieSealer::new(secrets),
            cookie: CookieOptions::default(),
            clock: clock::system(),
            max_age: DEFAULT_TRANSACTION_MAX_AGE,
            max_transactions: DEFAULT_MAX_TRANSACTIONS,
        }
    }

    /// Sets the cookies' attributes (use the same `secure` as the session cookies).
    pub fn with_cookie_options(mut self, options: CookieOptions) -> Self {
        self.cookie = options;
        self
    }

    /// Sets the clock (for tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.sealer = self.sealer.with_clock(clock.clone());
        self.clock = clock;
        self
    }

    /// Sets how many logins in progress are kept (at least one).
    pub fn with_max_transactions(mut self, max: usize) -> Self {
        self.max_transactions = max.max(1);
        self
    }

    /// The browser's name of the cookie of login `state`: `__Host-{prefix}_{state}`, or
    /// `{prefix}_{state}` when the cookie options rule the prefix out. Only that name is read,
    /// never a plain one a sibling subdomain planted.
    fn cookie_name(&self, prefix: &str, state: &str) -> String {
        self.cookie.cookie_name(&format!("{prefix}_{state}"))
    }

    /// The transaction cookies of `prefix` in this request: `(cookie name, key, value)`.
    fn cookies_of(&self, prefix: &str, cx: &StoreContext) -> Vec<(String, String, String)> {
        let named = self.cookie.cookie_name(prefix);
        cx.cookies()
            .into_iter()
            .filter_map(|(name, value)| {
                let state = name.strip_prefix(named.as_str())?.strip_prefix('_')?;
                let key = format!("{prefix}:{state}");
                split_transaction_key(&key)?;
                Some((name, key, value))
            })
            .collect()
    }
}

#[async_trait]
impl TransactionStore for CookieTransactionStore {
    async fn set(
        &self,
        key: &str,
        transaction: &TransactionData,
        cx: &StoreContext,
    ) -> Result<(), StoreError> {
        let (prefix, state) =
            split_transaction_key(key).ok_or_else(|| StoreError::InvalidIdentifier {
                identifier: key.to_owned(),
            })?;
        let name = self.cookie_name(prefix, state);
        auth0_server_core::store::validate_identifier(&name)?;
        // Keep at most max_transactions - 1 others, dropping the oldest (earliest exp;
        // unreadable ones first).
        let mut others: Vec<(u64, String)> = self
            .cookies_of(prefix, cx)
            .into_iter()
            .filter(|(n, _, _)| *n != name)
            .map(|(n, k, v)| {
                let exp = self
                    .sealer
                    .open_detailed::<TransactionData>(&k, &v)
                    .ok()
                    .and_then(|o: Opened<TransactionData>| o.expires_at)
                    .unwrap_or(0);
                (exp, n)
            })
            .collect();
        others.sort();
        let excess = (others.len() + 1).saturating_sub(self.max_transactions);
        for (_, old) in others.into_iter().take(excess) {
            cx.remove_cookie(&old, &self.cookie);
        }
        let expires_at = self.clock.unix_seconds() + self.max_age.as_secs();
        let token = self.sealer.seal(key, transaction, expires_at)?;
        cx.set_cookie(SetCookie::new(
            name,
            token,
            Some(self.max_age),
            &self.cookie,
        ));
        Ok(())
    }

    async fn get(
        &self,
        key: &str,
        cx: &StoreContext,
    ) -> Result<Option<TransactionData>, StoreError> {
        let Some((prefix, state)) = split_transaction_key(key) else {
            return Ok(None);
        };
        let Some(token) = cx.cookie(&self.cookie_name(prefix, state)) else {
            return Ok(None);
        };
        Ok(self.sealer.open(key, &token).ok())
    }

    async fn delete(&self, key: &str, cx: &StoreContext) -> Result<(), StoreError> {
        if let Some((prefix, state)) = split_transaction_key(key) {
            cx.remove_cookie(&self.cookie_name(prefix, state), &self.cookie);
        }
        Ok(())
    }

    async fn clear(
        &self,
        transaction_identifier: &str,
        cx: &StoreContext,
    ) -> Result<(), StoreError> {
        for (name, _, _) in self.cookies_of(transaction_identifier, cx) {
            cx.remove_cookie(&name, &self.cookie);
        }
        Ok(())
    }
}
