use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use auth0_server_core::clock::{self, Clock};
use auth0_server_core::model::TransactionData;
use auth0_server_core::store::{StoreContext, StoreError, TransactionStore};

use crate::SWEEP_INTERVAL;

/// How long a login may take between the redirect and the callback: one hour.
pub const DEFAULT_TRANSACTION_TTL: Duration = Duration::from_secs(60 * 60);
/// How many logins in progress are kept at most; past it the oldest is dropped.
pub const DEFAULT_MAX_TRANSACTIONS: usize = 10_000;

/// A [`TransactionStore`] in a map in this process. Entries expire after
/// [`DEFAULT_TRANSACTION_TTL`] and at most [`DEFAULT_MAX_TRANSACTIONS`] are kept, so a flood
/// of abandoned logins cannot exhaust memory. Clones share the same entries.
///
/// ```
/// use auth0_server_core::{model::TransactionData, store::{StoreContext, TransactionStore}};
/// use auth0_store_memory::MemoryTransactionStore;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = MemoryTransactionStore::new();
/// let cx = StoreContext::new();
/// store.set("_a0_tx:state1", &TransactionData::default(), &cx).await?;
/// assert!(store.get("_a0_tx:state1", &cx).await?.is_some());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct MemoryTransactionStore {
    inner: Arc<Mutex<Entries>>,
    clock: Arc<dyn Clock>,
    ttl: Duration,
    max_entries: usize,
}

#[derive(Debug, Default)]
struct Entries {
    map: HashMap<String, (TransactionData, SystemTime)>,
    last_sweep: Option<SystemTime>,
}

impl Default for MemoryTransactionStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryTransactionStore {
    /// An empty store on the system clock.
    pub fn new() -> Self {
        Self {
            inner: Arc::default(),
            clock: clock::system(),
            ttl: DEFAULT_TRANSACTION_TTL,
            max_entries: DEFAULT_MAX_TRANSACTIONS,
        }
    }

    /// The same store reading the time from `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sets how long a transaction lives.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Sets how many transactions are kept at most (at least one).
    pub fn with_max_entries(mut self, max: usize) -> Self {
        self.max_entries = max.max(1);
        self
    }

    /// How many entries are held, live or expired but not yet swept.
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl TransactionStore for MemoryTransactionStore {
    async fn set(
        &self,
        key: &str,
        transaction: &TransactionData,
        _cx: &StoreContext,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        let mut entries = self.lock();
        let due = entries.last_sweep.is_none_or(|last| {
            now.duration_since(last)
                .is_ok_and(|elapsed| elapsed >= SWEEP_INTERVAL)
        });
        if due || entries.map.len() >= self.max_entries {
            entries.map.retain(|_, (_, expires)| *expires > now);
            entries.last_sweep = Some(now);
        }
        while entries.map.len() >= self.max_entries && !entries.map.contains_key(key) {
            let oldest = entries
                .map
                .iter()
                .min_by_key(|(_, (_, expires))| *expires)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(oldest) => entries.map.remove(&oldest),
                None => break,
            };
        }
        entries
            .map
            .insert(key.to_owned(), (transaction.clone(), now + self.ttl));
        Ok(())
    }

    async fn get(
        &self,
        key: &str,
        _cx: &StoreContext,
    ) -> Result<Option<TransactionData>, StoreError> {
        let now = self.clock.now();
        let mut entries = self.lock();
        match entries.map.get(key) {
            Some((tx, expires)) if *expires > now => Ok(Some(tx.clone())),
            Some(_) => {
                entries.map.remove(key);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    async fn delete(&self, key: &str, _cx: &StoreContext) -> Result<(), StoreError> {
        self.lock().map.remove(key);
        Ok(())
    }
}
