use std::time::Duration;

use async_trait::async_trait;
use auth0_store_core::Secrets;
use auth0_store_core::store::{ServerSideTransactionStore, StoreError, TransactionBackend};
use redis::aio::{ConnectionLike, ConnectionManager};

use crate::RedisBackend;

/// The Redis transaction store: core's [`ServerSideTransactionStore`] (sealing, browser
/// binding, bounds) over a [`RedisTransactionBackend`]. Made by
/// [`RedisBackend::transaction_store`].
pub type RedisTransactionStore<C = ConnectionManager> =
    ServerSideTransactionStore<RedisTransactionBackend<C>>;

/// A [`TransactionBackend`] on the same Redis, connection and prefix as a [`RedisBackend`]:
/// each login in progress is one key, `{prefix}tx:{K}`, that expires with the login (`SET
/// … PX`), read with `GET` and taken with `GETDEL` (one step, so of two concurrent callbacks
/// only one gets it).
#[derive(Clone)]
pub struct RedisTransactionBackend<C = ConnectionManager> {
    backend: RedisBackend<C>,
}

impl<C> std::fmt::Debug for RedisTransactionBackend<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTransactionBackend")
            .field("prefix", &self.backend.prefix)
            .finish_non_exhaustive()
    }
}

impl<C: ConnectionLike + Clone + Send + Sync + 'static> RedisBackend<C> {
    /// The transaction backend on this backend's connection and prefix.
    pub fn transaction_backend(&self) -> RedisTransactionBackend<C> {
        RedisTransactionBackend {
            backend: self.clone(),
        }
    }

    /// A transaction store on this backend's connection and prefix, sealing with `secrets`.
    pub fn transaction_store(&self, secrets: &Secrets) -> RedisTransactionStore<C> {
        ServerSideTransactionStore::new(self.transaction_backend(), secrets)
    }
}

impl<C: ConnectionLike + Clone + Send + Sync + 'static> RedisTransactionBackend<C> {
    /// The Redis key; the store's key is already a hash, in braces as a cluster hash tag.
    fn key(&self, key: &str) -> String {
        format!("{}tx:{{{key}}}", self.backend.prefix)
    }

    async fn fetch(&self, command: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut conn = self.backend.conn.clone();
        self.backend
            .run(
                redis::cmd(command)
                    .arg(self.key(key))
                    .query_async(&mut conn),
            )
            .await
    }
}

#[async_trait]
impl<C: ConnectionLike + Clone + Send + Sync + 'static> TransactionBackend
    for RedisTransactionBackend<C>
{
    fn name(&self) -> &'static str {
        "redis"
    }

    async fn put(&self, key: &str, sealed: &[u8], ttl: Duration) -> Result<(), StoreError> {
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut conn = self.backend.conn.clone();
        self.backend
            .run(
                redis::cmd("SET")
                    .arg(self.key(key))
                    .arg(sealed)
                    .arg("PX")
                    .arg(millis)
                    .query_async::<()>(&mut conn),
            )
            .await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.fetch("GET", key).await
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.fetch("GETDEL", key).await
    }
}
