use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use async_trait::async_trait;
use auth0_store_core::clock::{self, Clock};
use auth0_store_core::store::{
    LoadedRecord, LogoutFilter, SessionBackend, SessionId, SessionRecord, StoreError, UpdateOutcome,
};

use crate::SWEEP_INTERVAL;

/// A [`SessionBackend`] in a map in this process, with indexes by `sid` and `sub` for
/// back-channel logout and an injectable clock.
///
/// Clones share the same sessions.
///
/// ```
/// use auth0_store_core::clock::ManualClock;
/// use auth0_store_memory::MemoryBackend;
/// use std::sync::Arc;
///
/// let clock = ManualClock::starting_now();
/// let backend = MemoryBackend::new().with_clock(Arc::new(clock.clone()));
/// assert_eq!(backend.len(), 0);
/// ```
#[derive(Clone, Debug)]
pub struct MemoryBackend {
    inner: Arc<Mutex<Sessions>>,
    clock: Arc<dyn Clock>,
}

#[derive(Debug, Default)]
struct Sessions {
    records: HashMap<SessionId, LoadedRecord>,
    /// (domain, sid) → ids.
    by_sid: HashMap<IndexKey, HashSet<SessionId>>,
    /// (domain, sub) → ids.
    by_sub: HashMap<IndexKey, HashSet<SessionId>>,
    last_sweep: Option<SystemTime>,
}

/// A key of the `sid` or `sub` index: (domain, value).
type IndexKey = (String, String);

fn index_keys(record: &SessionRecord) -> (Option<IndexKey>, Option<IndexKey>) {
    let domain = record.domain.clone().unwrap_or_default();
    (
        record.sid.clone().map(|sid| (domain.clone(), sid)),
        record.sub.clone().map(|sub| (domain, sub)),
    )
}

impl Sessions {
    fn insert(&mut self, id: &SessionId, loaded: LoadedRecord) {
        self.remove(id);
        let (sid, sub) = index_keys(&loaded.record);
        if let Some(key) = sid {
            self.by_sid.entry(key).or_default().insert(id.clone());
        }
        if let Some(key) = sub {
            self.by_sub.entry(key).or_default().insert(id.clone());
        }
        self.records.insert(id.clone(), loaded);
    }

    fn remove(&mut self, id: &SessionId) -> bool {
        let Some(old) = self.records.remove(id) else {
            return false;
        };
        let (sid, sub) = index_keys(&old.record);
        for (index, key) in [(&mut self.by_sid, sid), (&mut self.by_sub, sub)] {
            if let Some(key) = key
                && let Some(ids) = index.get_mut(&key)
            {
                ids.remove(id);
                if ids.is_empty() {
                    index.remove(&key);
                }
            }
        }
        true
    }

    /// The live record under `id`; an expired one is dropped.
    fn live(&mut self, id: &SessionId, now: SystemTime) -> Option<&LoadedRecord> {
        if self
            .records
            .get(id)
            .is_some_and(|l| l.record.expires_at <= now)
        {
            self.remove(id);
        }
        self.records.get(id)
    }

    fn sweep(&mut self, now: SystemTime) -> u64 {
        let expired: Vec<SessionId> = self
            .records
            .iter()
            .filter(|(_, l)| l.record.expires_at <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &expired {
            self.remove(id);
        }
        self.last_sweep = Some(now);
        expired.len() as u64
    }

    fn sweep_if_due(&mut self, now: SystemTime) {
        let due = self.last_sweep.is_none_or(|last| {
            now.duration_since(last)
                .is_ok_and(|elapsed| elapsed >= SWEEP_INTERVAL)
        });
        if due {
            self.sweep(now);
        }
    }
}

impl Default for MemoryBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryBackend {
    /// An empty backend on the system clock.
    pub fn new() -> Self {
        Self {
            inner: Arc::default(),
            clock: clock::system(),
        }
    }

    /// The same backend reading the time from `clock` (give the store the same clock).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How many records are held, live or expired but not yet swept.
    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many entries the `sid` and `sub` indexes hold (for tests of index cleanup).
    pub fn index_len(&self) -> usize {
        let inner = self.lock();
        inner.by_sid.len() + inner.by_sub.len()
    }

    fn lock(&self) -> MutexGuard<'_, Sessions> {
        // Never held across an await; a panic while holding it leaves consistent data.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl SessionBackend for MemoryBackend {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn create(&self, id: &SessionId, record: &SessionRecord) -> Result<(), StoreError> {
        let now = self.clock.now();
        let mut inner = self.lock();
        inner.sweep_if_due(now);
        if inner.live(id, now).is_some() {
            return Err(StoreError::Conflict);
        }
        inner.insert(
            id,
            LoadedRecord {
                record: record.clone(),
                version: 1,
            },
        );
        Ok(())
    }

    async fn load(&self, id: &SessionId) -> Result<Option<LoadedRecord>, StoreError> {
        let now = self.clock.now();
        Ok(self.lock().live(id, now).cloned())
    }

    async fn update(
        &self,
        id: &SessionId,
        record: &SessionRecord,
        expected_version: u64,
    ) -> Result<UpdateOutcome, StoreError> {
        let now = self.clock.now();
        let mut inner = self.lock();
        inner.sweep_if_due(now);
        match inner.live(id, now).map(|l| l.version) {
            None => Ok(UpdateOutcome::Missing),
            Some(version) if version != expected_version => Ok(UpdateOutcome::Conflict),
            Some(version) => {
                inner.insert(
                    id,
                    LoadedRecord {
                        record: record.clone(),
                        version: version + 1,
                    },
                );
                Ok(UpdateOutcome::Updated)
            }
        }
    }

    async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        self.lock().remove(id);
        Ok(())
    }

    async fn delete_by_logout(&self, filter: &LogoutFilter) -> Result<u64, StoreError> {
        let now = self.clock.now();
        let mut inner = self.lock();
        let candidates: Vec<SessionId> = match (&filter.sid, &filter.sub) {
            (Some(sid), _) => inner.by_sid.get(&(filter.domain.clone(), sid.clone())),
            (None, Some(sub)) => inner.by_sub.get(&(filter.domain.clone(), sub.clone())),
            (None, None) => None,
        }
        .map(|ids| ids.iter().cloned().collect())
        .unwrap_or_default();
        let mut ended = 0;
        for id in candidates {
            let (matches, live) = inner.records.get(&id).map_or((false, false), |l| {
                (
                    filter.matches(
                        l.record.sid.as_deref(),
                        l.record.sub.as_deref(),
                        l.record.domain.as_deref(),
                    ),
                    l.record.expires_at > now,
                )
            });
            // Expired matches go too, but only live sessions count as ended.
            if matches && inner.remove(&id) && live {
                ended += 1;
            }
        }
        Ok(ended)
    }

    async fn delete_expired(&self) -> Result<u64, StoreError> {
        let now = self.clock.now();
        Ok(self.lock().sweep(now))
    }

    async fn list_by_sub(
        &self,
        domain: &str,
        sub: &str,
        limit: usize,
    ) -> Result<Vec<(SessionId, LoadedRecord)>, StoreError> {
        let now = self.clock.now();
        let inner = self.lock();
        let Some(ids) = inner.by_sub.get(&(domain.to_owned(), sub.to_owned())) else {
            return Ok(Vec::new());
        };
        Ok(ids
            .iter()
            .filter_map(|id| {
                let loaded = inner.records.get(id)?;
                (loaded.record.expires_at > now).then(|| (id.clone(), loaded.clone()))
            })
            .take(limit)
            .collect())
    }
}
