//! Choosing the stores by configuration: [`StoreChoice`] and [`TransactionChoice`] read
//! `AUTH0_SESSION_STORE`, `REDIS_URL`, `DATABASE_URL` and `AUTH0_TRANSACTION_STORE`, and put
//! the chosen store on a client builder, given only its URL.

use auth0_server_core::client::ServerClientBuilder;
use auth0_server_core::store::StoreError;

/// Why the configured stores cannot be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreChoiceError {
    /// `AUTH0_SESSION_STORE` names no store.
    #[error("AUTH0_SESSION_STORE={0} is not a store: use cookie, memory, redis or postgres")]
    UnknownStore(String),
    /// A server-side store without its URL.
    #[error("AUTH0_SESSION_STORE={store} needs {variable}: set it to the server's URL")]
    MissingUrl {
        /// The store.
        store: &'static str,
        /// The variable that holds its URL.
        variable: &'static str,
    },
    /// `AUTH0_TRANSACTION_STORE` names no transaction store.
    #[error(
        "AUTH0_TRANSACTION_STORE={0} is not a transaction store: use cookie (the default) or \
         server (the session store's server)"
    )]
    UnknownTransactionStore(String),
    /// Logins on the server were asked for with a store that keeps nothing on a server.
    #[error(
        "AUTH0_TRANSACTION_STORE=server needs a server-side session store, and \
         AUTH0_SESSION_STORE={0} keeps none: use memory, redis or postgres"
    )]
    NoServer(&'static str),
    /// The store's cargo feature is not enabled in this build.
    #[error(
        "this build has no {0} store: set AUTH0_SESSION_STORE to a store it has, or enable the \
         `{0}` feature of auth0-server"
    )]
    NotBuilt(&'static str),
    /// The store's server cannot be reached (or migrated).
    #[error("the {store} store cannot be used: {source}")]
    Unavailable {
        /// The store.
        store: &'static str,
        /// What its server answered.
        #[source]
        source: StoreError,
    },
}

/// Where sessions live, as the configuration names it.
///
/// ```
/// use auth0_server::stores::StoreChoice;
///
/// // AUTH0_SESSION_STORE=redis with REDIS_URL=redis://127.0.0.1 gives:
/// assert_eq!(StoreChoice::Redis("redis://127.0.0.1".into()).name(), "redis");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub enum StoreChoice {
    /// Encrypted cookies (the default).
    Cookie,
    /// This process's memory.
    Memory,
    /// Redis at this URL.
    Redis(String),
    /// PostgreSQL at this URL.
    Postgres(String),
}

impl std::fmt::Debug for StoreChoice {
    /// The store's name only: a URL may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoreChoice({})", self.name())
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl StoreChoice {
    /// From `AUTH0_SESSION_STORE` (`cookie` when unset) and `REDIS_URL` / `DATABASE_URL`.
    ///
    /// # Errors
    ///
    /// An unknown store, or a server-side store without its URL.
    pub fn from_env() -> Result<Self, StoreChoiceError> {
        let url =
            |store, variable| var(variable).ok_or(StoreChoiceError::MissingUrl { store, variable });
        match var("AUTH0_SESSION_STORE").as_deref() {
            None | Some("cookie") => Ok(Self::Cookie),
            Some("memory") => Ok(Self::Memory),
            Some("redis") => Ok(Self::Redis(url("redis", "REDIS_URL")?)),
            Some("postgres") => Ok(Self::Postgres(url("postgres", "DATABASE_URL")?)),
            Some(other) => Err(StoreChoiceError::UnknownStore(other.to_owned())),
        }
    }

    /// Its name: `cookie`, `memory`, `redis` or `postgres`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Cookie => "cookie",
            Self::Memory => "memory",
            Self::Redis(_) => "redis",
            Self::Postgres(_) => "postgres",
        }
    }

    /// `builder` with this store, connected: the cookie stores are the client's default; a
    /// server-side store is its backend, given its URL (and, with
    /// [`TransactionChoice::Server`] or in a build without the `cookie` feature, its
    /// transaction backend). The client hands it the secrets, cookie attributes and lifetime
    /// at `build()`.
    ///
    /// # Errors
    ///
    /// The store is not built in, its server cannot be reached, or logins on the server
    /// were asked for with the cookie store.
    pub async fn configure(
        &self,
        builder: ServerClientBuilder,
        transactions: TransactionChoice,
    ) -> Result<ServerClientBuilder, StoreChoiceError> {
        let server = transactions == TransactionChoice::Server;
        let unavailable = |source| StoreChoiceError::Unavailable {
            store: self.name(),
            source,
        };
        match self {
            Self::Cookie if server => Err(StoreChoiceError::NoServer(self.name())),
            #[cfg(feature = "cookie")]
            Self::Cookie => Ok(builder),
            #[cfg(feature = "memory")]
            Self::Memory => {
                use auth0_store_memory::{MemoryBackend, MemoryTransactionBackend};
                let (sessions, logins) = (MemoryBackend::new(), MemoryTransactionBackend::new());
                Ok(with_backends(builder, server, sessions, logins))
            }
            #[cfg(feature = "redis")]
            Self::Redis(url) => {
                let backend = auth0_store_redis::RedisBackend::from_url(url)
                    .await
                    .map_err(unavailable)?;
                let logins = backend.transaction_backend();
                Ok(with_backends(builder, server, backend, logins))
            }
            #[cfg(feature = "postgres")]
            Self::Postgres(url) => {
                let backend = auth0_store_postgres::PostgresBackend::connect(url)
                    .await
                    .map_err(unavailable)?;
                let logins = backend.transaction_backend();
                Ok(with_backends(builder, server, backend, logins))
            }
            #[allow(unreachable_patterns)]
            other => {
                let _ = (unavailable, builder);
                Err(StoreChoiceError::NotBuilt(other.name()))
            }
        }
    }
}

/// `builder` with `sessions` as its session backend, and `logins` for logins in progress
/// when they are asked to be on the server, or when this build has no cookie store to keep
/// them in.
#[allow(dead_code)] // with no server-side store built in
fn with_backends(
    builder: ServerClientBuilder,
    server: bool,
    sessions: impl auth0_server_core::store::SessionBackend,
    logins: impl auth0_server_core::store::TransactionBackend,
) -> ServerClientBuilder {
    let builder = builder.session_backend(sessions);
    if server || cfg!(not(feature = "cookie")) {
        builder.transaction_backend(logins)
    } else {
        builder
    }
}

/// Where logins in progress wait for their callback.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TransactionChoice {
    /// In a sealed cookie of the browser that started the login, whatever the session store
    /// (the default, as in the Python SDK): no server write per anonymous `/login`.
    #[default]
    Cookie,
    /// In the session store's server (memory, Redis or PostgreSQL), bound to the browser by
    /// a random value in a cookie.
    Server,
}

impl TransactionChoice {
    /// From `AUTH0_TRANSACTION_STORE` (`cookie` when unset, or `server`).
    ///
    /// # Errors
    ///
    /// Another value.
    pub fn from_env() -> Result<Self, StoreChoiceError> {
        match var("AUTH0_TRANSACTION_STORE").as_deref() {
            None | Some("cookie") => Ok(Self::Cookie),
            Some("server") => Ok(Self::Server),
            Some(other) => Err(StoreChoiceError::UnknownTransactionStore(other.to_owned())),
        }
    }
}
