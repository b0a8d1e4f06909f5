//! Turning sqlx's errors into [`StoreError`]s, and the data errors kept as their source.

use std::future::Future;
use std::time::Duration;

use auth0_store_core::store::StoreError;
use sqlx::PgPool;

/// The backend's name in errors and logs.
pub(crate) const BACKEND: &str = "postgres";

/// Data PostgreSQL cannot hold or gave back in a shape it should not have. Kept as the
/// `source()` of a [`StoreError::Backend`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// A lookup field (`sid`, `sub`, `domain`) or a transaction key has a NUL character,
    /// which a PostgreSQL `text` value cannot hold.
    #[error("the {field} contains a NUL character, which PostgreSQL text cannot hold")]
    NulCharacter {
        /// Which field.
        field: &'static str,
    },
    /// A transaction key longer than the store accepts.
    #[error("the transaction key is {len} bytes, over the limit of {limit}")]
    KeyTooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// A row's version is negative (the table was changed by something other than this crate).
    #[error(
        "a session row has the version {version}; versions start at 1 (was the table changed by hand?)"
    )]
    BadVersion {
        /// The version found.
        version: i64,
    },
}

/// Runs database work with a deadline, turning every failure into a typed [`StoreError`].
#[derive(Clone, Debug)]
pub(crate) struct Db {
    pub(crate) pool: PgPool,
    pub(crate) timeout: Duration,
}

impl Db {
    /// `work` with [`Self::timeout`] as its deadline: a pool that cannot hand out a connection
    /// in time, or a query that takes too long, is [`StoreError::Timeout`]; any other sqlx
    /// error is [`StoreError::Backend`] with the sqlx error as its source.
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: Future<Output = Result<T, StoreError>>,
    {
        match tokio::time::timeout(self.timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::Timeout {
                backend: BACKEND,
                after: self.timeout,
            }),
        }
    }

    /// A sqlx error as a [`StoreError`].
    pub(crate) fn error(&self, e: sqlx::Error) -> StoreError {
        match e {
            sqlx::Error::PoolTimedOut => StoreError::Timeout {
                backend: BACKEND,
                after: self.pool.options().get_acquire_timeout(),
            },
            other => StoreError::backend(BACKEND, other),
        }
    }
}

/// A data error as a [`StoreError::Backend`].
pub(crate) fn data_error(e: DataError) -> StoreError {
    StoreError::backend(BACKEND, e)
}

/// `value`, unless it has a NUL character.
pub(crate) fn text_field<'a>(
    field: &'static str,
    value: Option<&'a str>,
) -> Result<Option<&'a str>, StoreError> {
    match value {
        Some(v) if v.contains('\0') => Err(data_error(DataError::NulCharacter { field })),
        other => Ok(other),
    }
}
