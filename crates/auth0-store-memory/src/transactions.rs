use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use auth0_store_core::Secrets;
use auth0_store_core::clock::{self, Clock};
use auth0_store_core::store::{ServerSideTransactionStore, StoreError, TransactionBackend};

use crate::SWEEP_INTERVAL;

/// How many logins in progress are kept at most; past it the one closest to expiry is
/// dropped, so a flood of abandoned logins cannot exhaust memory.
pub const DEFAULT_MAX_TRANSACTIONS: usize = 10_000;

/// The memory transaction store: core's [`ServerSideTransactionStore`] over a
/// [`MemoryTransactionBackend`] (sealing, browser binding and bounds are core's).
pub type MemoryTransactionStore = ServerSideTransactionStore<MemoryTransactionBackend>;

/// A [`TransactionBackend`] in a map in this process. Entries expire after the time the
/// store gives them and at most [`DEFAULT_MAX_TRANSACTIONS`] are kept. Clones share the same
/// entries.
///
/// ```
/// use auth0_store_core::{model::TransactionData, store::{StoreContext, TransactionStore}};
/// use auth0_store_memory::MemoryTransactionBackend;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = MemoryTransactionBackend::new().transaction_store();
/// let cx = StoreContext::new(); // one browser's request (its cookies carry the binding)
/// store.set("_a0_tx:state1", &TransactionData::default(), &cx).await?;
/// assert!(store.get("_a0_tx:state1", &cx).await?.is_some());
/// assert!(store.get("_a0_tx:state1", &StoreContext::new()).await?.is_none(), "another browser");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct MemoryTransactionBackend {
    inner: Arc<Mutex<Entries>>,
    clock: Arc<dyn Clock>,
    max_entries: usize,
}

#[derive(Debug, Default)]
struct Entries {
    map: HashMap<String, (Vec<u8>, SystemTime)>,
    last_sweep: Option<SystemTime>,
}

impl Default for MemoryTransactionBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryTransactionBackend {
    /// An empty backend on the system clock.
    pub fn new() -> Self {
        Self {
            inner: Arc::default(),
            clock: clock::system(),
            max_entries: DEFAULT_MAX_TRANSACTIONS,
        }
    }

    /// The transaction store over this backend, sealing with a random secret of this
    /// process (nothing it seals outlives the process, so no configured secret is needed).
    pub fn transaction_store(self) -> MemoryTransactionStore {
        ServerSideTransactionStore::new(self, &Secrets::generate())
    }

    /// The same backend reading the time from `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
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

impl Entries {
    /// Drops expired entries now and then, and whenever the map is full.
    fn sweep(&mut self, now: SystemTime, max_entries: usize) {
        let due = self.last_sweep.is_none_or(|last| {
            now.duration_since(last)
                .is_ok_and(|elapsed| elapsed >= SWEEP_INTERVAL)
        });
        if due || self.map.len() >= max_entries {
            self.map.retain(|_, (_, expires)| *expires > now);
            self.last_sweep = Some(now);
        }
    }

    /// Drops the entries closest to expiry until one more fits.
    fn make_room(&mut self, key: &str, max_entries: usize) {
        while self.map.len() >= max_entries && !self.map.contains_key(key) {
            let oldest = self
                .map
                .iter()
                .min_by_key(|(_, (_, expires))| *expires)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(oldest) => self.map.remove(&oldest),
                None => break,
            };
        }
    }
}

#[async_trait]
impl TransactionBackend for MemoryTransactionBackend {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn put(&self, key: &str, sealed: &[u8], ttl: Duration) -> Result<(), StoreError> {
        let now = self.clock.now();
        let expires = now.checked_add(ttl).unwrap_or(now + Duration::from_secs(1));
        let mut entries = self.lock();
        entries.sweep(now, self.max_entries);
        entries.make_room(key, self.max_entries);
        entries
            .map
            .insert(key.to_owned(), (sealed.to_vec(), expires));
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let now = self.clock.now();
        let entries = self.lock();
        Ok(entries
            .map
            .get(key)
            .filter(|(_, expires)| *expires > now)
            .map(|(sealed, _)| sealed.clone()))
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let now = self.clock.now();
        let removed = self.lock().map.remove(key);
        Ok(removed
            .filter(|(_, expires)| *expires > now)
            .map(|(sealed, _)| sealed))
    }
}
