use std::future::Future;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use auth0_store_core::store::{
    LoadedRecord, LogoutFilter, SessionBackend, SessionId, SessionRecord, StoreError, TokenUse,
    UpdateOutcome,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use futures_util::future::join_all;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, Script};
use sha2::{Digest, Sha256};

/// How many of a user's sessions `list_by_sub` reads in one round trip.
const LIST_BATCH: usize = 64;

/// The key prefix unless another is set.
pub const DEFAULT_PREFIX: &str = "auth0:";
/// How long one store operation may take before it fails with `StoreError::Timeout`.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(2);

/// Creates the session hash unless one exists: `KEYS[1]` session; `ARGV`: data, sid, sub,
/// domain, expiry (unix ms). Returns 1 when created, 0 when the id is taken. The expiry is
/// both the key's (Redis drops it then) and the field `expires`, so that `load` reads all it
/// needs with one `HMGET`.
static CREATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
        redis.call('HSET', KEYS[1], 'data', ARGV[1], 'version', 1, 'sid', ARGV[2], 'sub', ARGV[3], 'domain', ARGV[4], 'expires', ARGV[5])
        redis.call('PEXPIREAT', KEYS[1], ARGV[5])
        return 1
        ",
    )
});

/// Compare-and-set: `KEYS[1]` session; `ARGV`: expected version, data, sid, sub, domain,
/// expiry (unix ms). Returns 1 updated, 0 missing, 2 conflict.
static UPDATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local version = redis.call('HGET', KEYS[1], 'version')
        if not version then return 0 end
        if version ~= ARGV[1] then return 2 end
        redis.call('HSET', KEYS[1], 'data', ARGV[2], 'version', tonumber(version) + 1, 'sid', ARGV[3], 'sub', ARGV[4], 'domain', ARGV[5], 'expires', ARGV[6])
        redis.call('PEXPIREAT', KEYS[1], ARGV[6])
        return 1
        ",
    )
});

/// Adds a session id to an index set and makes the set live at least as long as it:
/// `KEYS[1]` index; `ARGV`: id, expiry (unix ms).
static INDEX: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        redis.call('SADD', KEYS[1], ARGV[1])
        local current = redis.call('PEXPIRETIME', KEYS[1])
        if current < tonumber(ARGV[2]) then redis.call('PEXPIREAT', KEYS[1], ARGV[2]) end
        return 1
        ",
    )
});

/// A [`SessionBackend`] on Redis.
///
/// Generic over the connection: a [`ConnectionManager`] by default (it reconnects by itself
/// after Redis restarts), or any [`ConnectionLike`], such as a cluster connection. Every
/// operation is bounded by a timeout ([`DEFAULT_OPERATION_TIMEOUT`]), so a Redis that is
/// down gives a [`StoreError::Timeout`] or [`StoreError::Backend`] quickly instead of a hang.
#[derive(Clone)]
pub struct RedisBackend<C = ConnectionManager> {
    pub(crate) conn: C,
    pub(crate) prefix: Arc<str>,
    pub(crate) timeout: Duration,
}

impl<C> std::fmt::Debug for RedisBackend<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBackend")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

pub(crate) fn backend_error(e: RedisError) -> StoreError {
    StoreError::backend("redis", e)
}

impl RedisBackend<ConnectionManager> {
    /// Connects to the Redis at `url` (`redis://`, `rediss://` for TLS, `redis+unix://`),
    /// with the user and password the URL carries.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the URL is not valid or Redis cannot be reached now.
    pub async fn from_url(url: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(backend_error)?;
        Self::new(client).await
    }

    /// Connects to a `rediss://` URL whose server certificate is signed by `root_pem` (a
    /// private CA, in PEM) instead of one in the system's trust store.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the URL or the certificate is not valid, or Redis cannot
    /// be reached now (a certificate it does not trust included).
    pub async fn from_url_with_root_certificate(
        url: &str,
        root_pem: &[u8],
    ) -> Result<Self, StoreError> {
        auth0_store_core::tls::ensure_crypto_provider();
        let client = redis::Client::build_with_tls(
            url,
            redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(root_pem.to_vec()),
            },
        )
        .map_err(backend_error)?;
        Self::new(client).await
    }

    /// Connects with a client; the connection manager reconnects by itself when Redis comes
    /// back after an outage.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when Redis cannot be reached now.
    pub async fn new(client: redis::Client) -> Result<Self, StoreError> {
        auth0_store_core::tls::ensure_crypto_provider();
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(DEFAULT_OPERATION_TIMEOUT))
            .set_response_timeout(Some(DEFAULT_OPERATION_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let manager = tokio::time::timeout(
            DEFAULT_OPERATION_TIMEOUT,
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| StoreError::Timeout {
            backend: "redis",
            after: DEFAULT_OPERATION_TIMEOUT,
        })?
        .map_err(backend_error)?;
        Ok(Self::with_connection(manager))
    }
}

impl<C: ConnectionLike + Clone + Send + Sync + 'static> RedisBackend<C> {
    /// A backend on an existing connection (a `ConnectionManager`, a cluster connection, …).
    pub fn with_connection(conn: C) -> Self {
        Self {
            conn,
            prefix: Arc::from(DEFAULT_PREFIX),
            timeout: DEFAULT_OPERATION_TIMEOUT,
        }
    }

    /// Sets the key prefix (`auth0:` by default), to share one Redis between apps. Keep `{`
    /// and `}` out of it: the braces after it are the cluster hash tags, and braces in the
    /// prefix would put every key in one slot.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Arc::from(prefix.into());
        self
    }

    /// Sets how long one operation may take.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The session's key.
    pub fn session_key(&self, id: &SessionId) -> String {
        format!("{}s:{{{}}}", self.prefix, id.as_str())
    }

    /// The key that records a back-channel logout token's id (`key`: the digest the client
    /// computes from its issuer and `jti`).
    pub fn logout_token_key(&self, key: &str) -> String {
        format!("{}logout:{{{key}}}", self.prefix)
    }

    /// The key of an index set (`kind` is `sid` or `sub`).
    pub fn index_key(&self, kind: &str, domain: &str, value: &str) -> String {
        let digest = Sha256::new()
            .chain_update(domain.as_bytes())
            .chain_update([0])
            .chain_update(value.as_bytes())
            .finalize();
        format!("{}{kind}:{{{}}}", self.prefix, B64.encode(digest))
    }

    pub(crate) async fn run<T>(
        &self,
        operation: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, operation).await {
            Ok(result) => result.map_err(backend_error),
            Err(_) => Err(StoreError::Timeout {
                backend: "redis",
                after: self.timeout,
            }),
        }
    }

    /// Adds `id` to the sid and sub index sets of `record`. The two sets live in other
    /// slots than the session (and than each other), so they are two commands; they are sent
    /// together, costing one round trip rather than two.
    async fn add_to_indexes(
        &self,
        id: &SessionId,
        record: &SessionRecord,
        expiry_ms: u64,
    ) -> Result<(), StoreError> {
        let domain = record.domain.as_deref().unwrap_or_default();
        let [by_sid, by_sub] =
            self.index_keys(domain, record.sid.as_deref(), record.sub.as_deref());
        let add = |key: Option<String>| {
            let mut conn = self.conn.clone();
            async move {
                let Some(key) = key else { return Ok(()) };
                let mut invocation = INDEX.key(key);
                invocation.arg(id.as_str()).arg(expiry_ms);
                self.run(invocation.invoke_async::<i64>(&mut conn))
                    .await
                    .map(drop)
            }
        };
        tokio::try_join!(add(by_sid), add(by_sub))?;
        Ok(())
    }

    /// The keys of the sid and sub index sets for `sid` and `sub` at `domain`; `None` for a
    /// value that is absent or empty (never indexed).
    fn index_keys(
        &self,
        domain: &str,
        sid: Option<&str>,
        sub: Option<&str>,
    ) -> [Option<String>; 2] {
        [("sid", sid), ("sub", sub)].map(|(kind, value)| {
            value
                .filter(|v| !v.is_empty())
                .map(|value| self.index_key(kind, domain, value))
        })
    }

    /// Removes `id` from its sid and sub index sets, as far as Redis lets it: an entry left
    /// behind is harmless (back-channel logout checks each session's own fields, drops
    /// entries of sessions that are gone, and the sets expire), so a failure here is logged
    /// rather than failing a delete whose session is already gone.
    async fn remove_from_indexes(
        &self,
        id: &SessionId,
        sid: Option<&str>,
        sub: Option<&str>,
        domain: &str,
    ) {
        // As in `add_to_indexes`: two commands, one round trip.
        let [by_sid, by_sub] = self.index_keys(domain, sid, sub);
        let remove = |key: Option<String>| {
            let mut conn = self.conn.clone();
            async move {
                let Some(key) = key else { return Ok(()) };
                let mut command = redis::cmd("SREM");
                command.arg(key).arg(id.as_str());
                self.run(command.query_async::<i64>(&mut conn))
                    .await
                    .map(drop)
            }
        };
        let (by_sid, by_sub) = tokio::join!(remove(by_sid), remove(by_sub));
        for (index, result) in [("sid", by_sid), ("sub", by_sub)] {
            if let Err(error) = result {
                tracing::warn!(
                    session = id.short(),
                    index,
                    %error,
                    "could not remove a deleted session from its index set; the entry is \
                     dropped by the next back-channel logout that reads it, or when the set expires"
                );
            }
        }
    }

    /// The clear fields of a session: (sid, sub, domain), or `None` if it is gone.
    /// Drops from the index set `index` the entries of sessions found gone, in one command.
    /// Safe against a login at the same moment: a session's hash is written before its index
    /// entries, and ids are never reused. A failure is logged: a stale entry is harmless and
    /// expires with its set.
    async fn drop_stale_entries(&self, index: &str, gone: &[&SessionId]) {
        if gone.is_empty() {
            return;
        }
        let mut command = redis::cmd("SREM");
        command.arg(index);
        for id in gone {
            command.arg(id.as_str());
        }
        let mut conn = self.conn.clone();
        if let Err(error) = self.run(command.query_async::<i64>(&mut conn)).await {
            tracing::warn!(%error, "could not drop stale index entries");
        }
    }

    async fn lookup_fields(
        &self,
        id: &SessionId,
    ) -> Result<Option<(String, String, String)>, StoreError> {
        let mut conn = self.conn.clone();
        let fields: (Option<String>, Option<String>, Option<String>) = self
            .run(
                redis::cmd("HMGET")
                    .arg(self.session_key(id))
                    .arg("sid")
                    .arg("sub")
                    .arg("domain")
                    .query_async(&mut conn),
            )
            .await?;
        Ok(match fields {
            (None, None, None) => None,
            (sid, sub, domain) => Some((
                sid.unwrap_or_default(),
                sub.unwrap_or_default(),
                domain.unwrap_or_default(),
            )),
        })
    }
}

fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn some_if_set(value: String) -> Option<String> {
    (!value.is_empty()).then_some(value)
}

#[async_trait]
impl<C: ConnectionLike + Clone + Send + Sync + 'static> SessionBackend for RedisBackend<C> {
    fn name(&self) -> &'static str {
        "redis"
    }

    async fn create(&self, id: &SessionId, record: &SessionRecord) -> Result<(), StoreError> {
        let expiry = unix_ms(record.expires_at);
        let mut conn = self.conn.clone();
        let created: i64 = self
            .run(
                CREATE
                    .key(self.session_key(id))
                    .arg(&record.data[..])
                    .arg(record.sid.as_deref().unwrap_or_default())
                    .arg(record.sub.as_deref().unwrap_or_default())
                    .arg(record.domain.as_deref().unwrap_or_default())
                    .arg(expiry)
                    .invoke_async(&mut conn),
            )
            .await?;
        if created == 0 {
            return Err(StoreError::Conflict);
        }
        self.add_to_indexes(id, record, expiry).await
    }

    async fn load(&self, id: &SessionId) -> Result<Option<LoadedRecord>, StoreError> {
        let mut conn = self.conn.clone();
        type Fields = (
            Option<Vec<u8>>,
            Option<u64>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<u64>,
        );
        let key = self.session_key(id);
        // One command, so it sees one state of the hash (a pipeline of two could see the key
        // expire in between).
        let (data, version, sid, sub, domain, expires_ms): Fields = self
            .run(
                redis::cmd("HMGET")
                    .arg(&key)
                    .arg("data")
                    .arg("version")
                    .arg("sid")
                    .arg("sub")
                    .arg("domain")
                    .arg("expires")
                    .query_async(&mut conn),
            )
            .await?;
        let (Some(data), Some(version)) = (data, version) else {
            return Ok(None);
        };
        let expires_ms = match expires_ms {
            Some(ms) if ms > unix_ms(SystemTime::now()) => ms,
            // A record written before the hash had `expires`, or one whose key an older
            // instance's update moved without the field (the field is then in the past while
            // the key lives on): the key's own expiry.
            _ => {
                let ms: i64 = self
                    .run(redis::cmd("PEXPIRETIME").arg(&key).query_async(&mut conn))
                    .await?;
                match u64::try_from(ms) {
                    Ok(ms) => ms,
                    // -2: gone since the HMGET; -1: no expiry, which this store never sets.
                    Err(_) => return Ok(None),
                }
            }
        };
        Ok(Some(LoadedRecord {
            record: SessionRecord {
                data,
                sid: sid.and_then(some_if_set),
                sub: sub.and_then(some_if_set),
                domain: domain.and_then(some_if_set),
                expires_at: UNIX_EPOCH + Duration::from_millis(expires_ms),
            },
            version,
        }))
    }

    async fn update(
        &self,
        id: &SessionId,
        record: &SessionRecord,
        expected_version: u64,
    ) -> Result<UpdateOutcome, StoreError> {
        let expiry = unix_ms(record.expires_at);
        // The index entries first: if they fail, nothing changed; if the compare-and-set
        // then loses, an extra entry is harmless (logout checks each session's own fields).
        // The other way round, a failure after the write could leave a session that lives
        // longer than its index sets, out of reach of back-channel logout.
        self.add_to_indexes(id, record, expiry).await?;
        let mut conn = self.conn.clone();
        let outcome: i64 = self
            .run(
                UPDATE
                    .key(self.session_key(id))
                    .arg(expected_version)
                    .arg(&record.data[..])
                    .arg(record.sid.as_deref().unwrap_or_default())
                    .arg(record.sub.as_deref().unwrap_or_default())
                    .arg(record.domain.as_deref().unwrap_or_default())
                    .arg(expiry)
                    .invoke_async(&mut conn),
            )
            .await?;
        Ok(match outcome {
            1 => UpdateOutcome::Updated,
            2 => UpdateOutcome::Conflict,
            _ => UpdateOutcome::Missing,
        })
    }

    async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        let Some((sid, sub, domain)) = self.lookup_fields(id).await? else {
            return Ok(());
        };
        let mut conn = self.conn.clone();
        self.run(
            redis::cmd("DEL")
                .arg(self.session_key(id))
                .query_async::<i64>(&mut conn),
        )
        .await?;
        self.remove_from_indexes(id, Some(&sid), Some(&sub), &domain)
            .await;
        Ok(())
    }

    /// `SET key 1 NX PXAT expiry`: atomic, so of two instances given the same token at once
    /// exactly one records it first; Redis drops the key when the token expires.
    async fn record_logout_token(
        &self,
        key: &str,
        expires_at: SystemTime,
    ) -> Result<TokenUse, StoreError> {
        let mut conn = self.conn.clone();
        let set: Option<String> = self
            .run(
                redis::cmd("SET")
                    .arg(self.logout_token_key(key))
                    .arg(1)
                    .arg("NX")
                    .arg("PXAT")
                    .arg(unix_ms(expires_at).max(1))
                    .query_async(&mut conn),
            )
            .await?;
        Ok(if set.is_some() {
            TokenUse::First
        } else {
            TokenUse::Replayed
        })
    }

    async fn forget_logout_token(&self, key: &str) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        self.run(
            redis::cmd("DEL")
                .arg(self.logout_token_key(key))
                .query_async::<i64>(&mut conn),
        )
        .await?;
        Ok(())
    }

    /// `SMEMBERS` of the `(domain, sub)` index set, then the sessions' hashes, read
    /// [`LIST_BATCH`] at a time in one round trip (the reads share the multiplexed
    /// connection). The index may name sessions that are gone: they are skipped and dropped
    /// from the set. It never names sessions of another user that get listed
    /// (`ServerSideStateStore` checks each record's own `sub` and `domain`).
    async fn list_by_sub(
        &self,
        domain: &str,
        sub: &str,
        limit: usize,
    ) -> Result<Vec<(SessionId, LoadedRecord)>, StoreError> {
        let mut conn = self.conn.clone();
        let index = self.index_key("sub", domain, sub);
        let members: Vec<String> = self
            .run(redis::cmd("SMEMBERS").arg(&index).query_async(&mut conn))
            .await?;
        let ids: Vec<SessionId> = members.iter().filter_map(|m| SessionId::parse(m)).collect();
        let (mut found, mut gone) = (Vec::new(), Vec::new());
        for batch in ids.chunks(LIST_BATCH) {
            if found.len() >= limit {
                break;
            }
            let loaded = join_all(batch.iter().map(|id| self.load(id))).await;
            for (id, record) in batch.iter().zip(loaded) {
                match record? {
                    Some(record) => found.push((id.clone(), record)),
                    None => gone.push(id),
                }
            }
        }
        found.truncate(limit);
        self.drop_stale_entries(&index, &gone).await;
        Ok(found)
    }

    async fn delete_by_logout(&self, filter: &LogoutFilter) -> Result<u64, StoreError> {
        let index = match (&filter.sid, &filter.sub) {
            (Some(sid), _) => self.index_key("sid", &filter.domain, sid),
            (None, Some(sub)) => self.index_key("sub", &filter.domain, sub),
            (None, None) => return Ok(0),
        };
        let mut conn = self.conn.clone();
        let members: Vec<String> = self
            .run(redis::cmd("SMEMBERS").arg(&index).query_async(&mut conn))
            .await?;
        let mut ended = 0;
        for member in members {
            let Some(id) = SessionId::parse(&member) else {
                continue;
            };
            match self.lookup_fields(&id).await? {
                Some((sid, sub, domain)) => {
                    let (sid, sub, domain) =
                        (some_if_set(sid), some_if_set(sub), some_if_set(domain));
                    if filter.matches(sid.as_deref(), sub.as_deref(), domain.as_deref()) {
                        let mut conn = self.conn.clone();
                        let removed: i64 = self
                            .run(
                                redis::cmd("DEL")
                                    .arg(self.session_key(&id))
                                    .query_async(&mut conn),
                            )
                            .await?;
                        ended += u64::try_from(removed).unwrap_or(0);
                        self.remove_from_indexes(
                            &id,
                            sid.as_deref(),
                            sub.as_deref(),
                            domain.as_deref().unwrap_or_default(),
                        )
                        .await;
                    }
                }
                None => {
                    // Expired or deleted meanwhile: drop the stale entry, if Redis lets us
                    // (it is harmless and expires with the set otherwise).
                    let mut conn = self.conn.clone();
                    let dropped = self
                        .run(
                            redis::cmd("SREM")
                                .arg(&index)
                                .arg(&member)
                                .query_async::<i64>(&mut conn),
                        )
                        .await;
                    if let Err(error) = dropped {
                        tracing::warn!(%error, "could not drop a stale index entry");
                    }
                }
            }
        }
        Ok(ended)
    }
}
