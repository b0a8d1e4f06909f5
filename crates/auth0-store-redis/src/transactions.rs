use std::time::Duration;

use async_trait::async_trait;
use auth0_server_core::Secrets;
use auth0_server_core::model::TransactionData;
use auth0_server_core::seal::RecordSealer;
use auth0_server_core::store::{StoreContext, StoreError, TransactionStore};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use redis::aio::{ConnectionLike, ConnectionManager};
use sha2::{Digest, Sha256};

use crate::RedisBackend;

/// How long a login may take: one hour.
const TRANSACTION_TTL: Duration = Duration::from_secs(60 * 60);

/// A [`TransactionStore`] on the same Redis as the sessions: each login in progress is a
/// key that expires after an hour, sealed (it holds the PKCE verifier) and bound to its key.
///
/// Made by [`RedisBackend::transaction_store`].
#[derive(Clone)]
pub struct RedisTransactionStore<C = ConnectionManager> {
    backend: RedisBackend<C>,
    sealer: RecordSealer,
}

impl<C> std::fmt::Debug for RedisTransactionStore<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTransactionStore")
            .field("prefix", &self.backend.prefix)
            .finish_non_exhaustive()
    }
}

impl<C: ConnectionLike + Clone + Send + Sync + 'static> RedisBackend<C> {
    /// A transaction store on this backend's connection and prefix.
    pub fn transaction_store(&self, secrets: &Secrets) -> RedisTransactionStore<C> {
        RedisTransactionStore {
            backend: self.clone(),
            sealer: RecordSealer::new(secrets),
        }
    }
}

impl<C: ConnectionLike + Clone + Send + Sync + 'static> RedisTransactionStore<C> {
    fn key(&self, key: &str) -> String {
        format!(
            "{}tx:{{{}}}",
            self.backend.prefix,
            B64.encode(Sha256::digest(key.as_bytes()))
        )
    }
}

#[async_trait]
impl<C: ConnectionLike + Clone + Send + Sync + 'static> TransactionStore
    for RedisTransactionStore<C>
{
    async fn set(
        &self,
        key: &str,
        transaction: &TransactionData,
        _cx: &StoreContext,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_vec(transaction)?;
        let sealed = self.sealer.seal(key.as_bytes(), &json)?;
        let mut conn = self.backend.conn.clone();
        self.backend
            .run(
                redis::cmd("SET")
                    .arg(self.key(key))
                    .arg(sealed)
                    .arg("PX")
                    .arg(TRANSACTION_TTL.as_millis() as u64)
                    .query_async::<()>(&mut conn),
            )
            .await
    }

    async fn get(
        &self,
        key: &str,
        _cx: &StoreContext,
    ) -> Result<Option<TransactionData>, StoreError> {
        let mut conn = self.backend.conn.clone();
        let sealed: Option<Vec<u8>> = self
            .backend
            .run(redis::cmd("GET").arg(self.key(key)).query_async(&mut conn))
            .await?;
        Ok(sealed
            .and_then(|s| self.sealer.open(key.as_bytes(), &s).ok())
            .and_then(|json| serde_json::from_slice(&json).ok()))
    }

    async fn delete(&self, key: &str, _cx: &StoreContext) -> Result<(), StoreError> {
        let mut conn = self.backend.conn.clone();
        self.backend
            .run(
                redis::cmd("DEL")
                    .arg(self.key(key))
                    .query_async::<i64>(&mut conn),
            )
            .await?;
        Ok(())
    }
}
