use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use auth0_store_core::Secrets;
use auth0_store_core::clock::{self, Clock};
use auth0_store_core::model::TransactionData;
use auth0_store_core::seal::{CookieSealer, Opened};
use auth0_store_core::store::{
    CookieOptions, LoginCookie, SetCookie, StoreContext, StoreError, StoreMeters, StoreOperation,
    StoreSettings, TransactionStore,
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
    meters: StoreMeters,
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
            meters: StoreMeters::new("cookie"),
        }
    }

    /// A store with a client's settings: its secrets, the login-cookie form of its cookie
    /// attributes ([`CookieOptions::for_logins`]) and its clock. This is the transaction
    /// store a client sets up when it is given none.
    pub fn from_settings(settings: &StoreSettings) -> Self {
        Self::new(settings.secrets.clone())
            .with_cookie_options(settings.cookie_options.clone())
            .with_clock(settings.clock.clone())
    }

    /// Sets the cookies' attributes (use the same `secure` as the session cookies).
    pub fn with_cookie_options(mut self, options: CookieOptions) -> Self {
        self.cookie = options.for_logins();
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
}

impl CookieTransactionStore {
    /// Seals the transaction into its cookie `name`.
    fn write(
        &self,
        key: &str,
        transaction: &TransactionData,
        name: String,
        cx: &StoreContext,
    ) -> Result<(), StoreError> {
        let expires_at = self
            .clock
            .unix_seconds()
            .saturating_add(self.max_age.as_secs());
        let token = self.sealer.seal(key, transaction, expires_at)?;
        cx.set_cookie(SetCookie::new(
            name,
            token,
            Some(self.max_age),
            &self.cookie,
        ));
        Ok(())
    }
}

impl CookieTransactionStore {
    /// The transaction under `key` in this request's cookies, if one opens.
    fn open(&self, key: &str, cx: &StoreContext) -> Option<TransactionData> {
        let (_, _, name) = LoginCookie::name_of(key, &self.cookie).ok()?;
        let token = cx.cookie(&name)?;
        self.sealer.open(key, &token).ok()
    }

    /// Removes the cookie of the transaction under `key`.
    fn remove(&self, key: &str, cx: &StoreContext) {
        if let Ok((_, _, name)) = LoginCookie::name_of(key, &self.cookie) {
            cx.remove_cookie(&name, &self.cookie);
        }
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
        let _timer = self.meters.time(StoreOperation::TransactionSet);
        let (prefix, _, name) = LoginCookie::name_of(key, &self.cookie)?;
        // Keep at most max_transactions - 1 others, dropping the oldest (earliest exp;
        // unreadable ones first). Only opened when some must go: a request's forged login
        // cookies cost nothing on a login that fits.
        let others: Vec<LoginCookie> = LoginCookie::all_in(prefix, &self.cookie, cx)
            .into_iter()
            .filter(|login| login.name != name)
            .collect();
        if others.len() < self.max_transactions {
            return self.write(key, transaction, name, cx);
        }
        let mut others: Vec<(u64, String)> = others
            .into_iter()
            .map(|login| {
                let exp = self
                    .sealer
                    .open_detailed::<TransactionData>(&login.key, &login.value)
                    .ok()
                    .and_then(|o: Opened<TransactionData>| o.expires_at)
                    .unwrap_or(0);
                (exp, login.name)
            })
            .collect();
        others.sort();
        let excess = (others.len() + 1).saturating_sub(self.max_transactions);
        for (_, old) in others.into_iter().take(excess) {
            cx.remove_cookie(&old, &self.cookie);
        }
        self.write(key, transaction, name, cx)
    }

    async fn get(
        &self,
        key: &str,
        cx: &StoreContext,
    ) -> Result<Option<TransactionData>, StoreError> {
        let _timer = self.meters.time(StoreOperation::TransactionGet);
        Ok(self.open(key, cx))
    }

    async fn take(
        &self,
        key: &str,
        cx: &StoreContext,
    ) -> Result<Option<TransactionData>, StoreError> {
        let _timer = self.meters.time(StoreOperation::TransactionTake);
        let transaction = self.open(key, cx);
        self.remove(key, cx);
        Ok(transaction)
    }

    async fn delete(&self, key: &str, cx: &StoreContext) -> Result<(), StoreError> {
        let _timer = self.meters.time(StoreOperation::TransactionDelete);
        self.remove(key, cx);
        Ok(())
    }

    async fn clear(
        &self,
        transaction_identifier: &str,
        cx: &StoreContext,
    ) -> Result<(), StoreError> {
        let _timer = self.meters.time(StoreOperation::TransactionClear);
        for login in LoginCookie::all_in(transaction_identifier, &self.cookie, cx) {
            cx.remove_cookie(&login.name, &self.cookie);
        }
        Ok(())
    }
}
