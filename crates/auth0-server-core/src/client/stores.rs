//! The stores a client keeps sessions and logins in: given ready-made, given as a backend the
//! client sets up with its own settings, or the cookie stores by default.

use std::sync::Arc;

use super::config::ServerClientBuilder;
use super::{Config, Error};
use crate::store::{
    ServerSideStateStore, ServerSideTransactionStore, SessionBackend, StateStore, StoreSettings,
    TransactionBackend, TransactionStore,
};

/// Makes a store from the client's settings, at `build()`.
type Setup<S> = Arc<dyn Fn(&StoreSettings) -> Arc<S> + Send + Sync>;

/// A store as the app gave it to the builder.
pub(crate) enum StoreChoice<S: ?Sized> {
    /// Configured by the app itself.
    Ready(Arc<S>),
    /// Set up by the client with its settings.
    Setup(Setup<S>),
}

impl<S: ?Sized> Clone for StoreChoice<S> {
    fn clone(&self) -> Self {
        match self {
            Self::Ready(store) => Self::Ready(store.clone()),
            Self::Setup(setup) => Self::Setup(setup.clone()),
        }
    }
}

impl<S: ?Sized> StoreChoice<S> {
    fn resolve(&self, settings: &StoreSettings) -> Arc<S> {
        match self {
            Self::Ready(store) => store.clone(),
            Self::Setup(setup) => setup(settings),
        }
    }
}

impl ServerClientBuilder {
    /// Keeps sessions on a server: `backend` is given only what is its own (a connection or
    /// a URL), and at [`build`](Self::build) the client wraps it in a
    /// [`ServerSideStateStore`] with its secrets, cookie attributes, session lifetime and
    /// clock ([`Config::store_settings`]).
    ///
    /// ```no_run
    /// use auth0_server_core::client::ServerClient;
    /// use auth0_store_memory::MemoryBackend;
    ///
    /// let client = ServerClient::from_env().session_backend(MemoryBackend::new()).build()?;
    /// # Ok::<(), auth0_server_core::client::Error>(())
    /// ```
    pub fn session_backend<B: SessionBackend>(mut self, backend: B) -> Self {
        let backend = Arc::new(backend);
        self.state_store = Some(StoreChoice::Setup(Arc::new(move |settings| {
            Arc::new(ServerSideStateStore::from_settings(
                backend.clone(),
                settings,
            ))
        })));
        self
    }

    /// Keeps logins in progress on a server (bound to their browser by a cookie) instead of
    /// in a sealed cookie of their own, the default: at [`build`](Self::build) the client
    /// wraps `backend` in a [`ServerSideTransactionStore`] with its settings.
    pub fn transaction_backend<B: TransactionBackend>(mut self, backend: B) -> Self {
        let backend = Arc::new(backend);
        self.transaction_store = Some(StoreChoice::Setup(Arc::new(move |settings| {
            Arc::new(ServerSideTransactionStore::from_settings(
                backend.clone(),
                settings,
            ))
        })));
        self
    }

    /// Keeps sessions in the store `make` returns from the client's settings, at
    /// [`build`](Self::build): for a store with options of its own on top of them (the
    /// Python SDK's cookie layout, another read-cache size).
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use auth0_server_core::client::ServerClient;
    /// use auth0_server_core::seal::CookieFormat;
    /// use auth0_store_cookie::CookieStateStore;
    ///
    /// let client = ServerClient::from_env()
    ///     .state_store_with(|settings| {
    ///         Arc::new(CookieStateStore::from_settings(settings).with_format(CookieFormat::Python))
    ///     })
    ///     .build()?;
    /// # Ok::<(), auth0_server_core::client::Error>(())
    /// ```
    pub fn state_store_with<F>(mut self, make: F) -> Self
    where
        F: Fn(&StoreSettings) -> Arc<dyn StateStore> + Send + Sync + 'static,
    {
        self.state_store = Some(StoreChoice::Setup(Arc::new(make)));
        self
    }

    /// Keeps logins in progress in the store `make` returns from the client's settings (see
    /// [`state_store_with`](Self::state_store_with)).
    pub fn transaction_store_with<F>(mut self, make: F) -> Self
    where
        F: Fn(&StoreSettings) -> Arc<dyn TransactionStore> + Send + Sync + 'static,
    {
        self.transaction_store = Some(StoreChoice::Setup(Arc::new(make)));
        self
    }

    /// Keeps sessions in `store`, configured by the app itself: it gets none of the client's
    /// settings, so its secrets and cookie attributes must agree with the client's. Prefer
    /// [`session_backend`](Self::session_backend), [`state_store_with`](Self::state_store_with)
    /// or the default cookie store.
    pub fn state_store(mut self, store: Arc<dyn StateStore>) -> Self {
        self.state_store = Some(StoreChoice::Ready(store));
        self
    }

    /// Keeps logins in progress in `store`, configured by the app itself (see
    /// [`state_store`](Self::state_store)).
    pub fn transaction_store(mut self, store: Arc<dyn TransactionStore>) -> Self {
        self.transaction_store = Some(StoreChoice::Ready(store));
        self
    }
}

/// A client's session store and transaction store.
pub(crate) type Stores = (Arc<dyn StateStore>, Arc<dyn TransactionStore>);

/// The session and transaction stores for a client with `config`.
pub(crate) fn resolve(builder: &ServerClientBuilder, config: &Config) -> Result<Stores, Error> {
    let settings = config.store_settings();
    let state = match &builder.state_store {
        Some(choice) => choice.resolve(&settings),
        None => default_state_store(&settings)?,
    };
    let transactions = match &builder.transaction_store {
        Some(choice) => choice.resolve(&settings),
        None => default_transaction_store(&settings)?,
    };
    Ok((state, transactions))
}

#[cfg(feature = "cookie")]
fn default_state_store(settings: &StoreSettings) -> Result<Arc<dyn StateStore>, Error> {
    Ok(Arc::new(
        auth0_store_cookie::CookieStateStore::from_settings(settings),
    ))
}

#[cfg(not(feature = "cookie"))]
fn default_state_store(_: &StoreSettings) -> Result<Arc<dyn StateStore>, Error> {
    Err(Error::MissingRequiredArgument {
        argument: "session store",
        hint: "this build has no cookie store (the `cookie` feature of auth0-server, or of \
               auth0-server-core): give the builder a session backend with \
               `.session_backend(...)` (memory, Redis or PostgreSQL), or enable that feature",
    })
}

#[cfg(feature = "cookie")]
fn default_transaction_store(settings: &StoreSettings) -> Result<Arc<dyn TransactionStore>, Error> {
    Ok(Arc::new(
        auth0_store_cookie::CookieTransactionStore::from_settings(settings),
    ))
}

#[cfg(not(feature = "cookie"))]
fn default_transaction_store(_: &StoreSettings) -> Result<Arc<dyn TransactionStore>, Error> {
    Err(Error::MissingRequiredArgument {
        argument: "transaction store",
        hint: "this build has no cookie store (the `cookie` feature of auth0-server, or of \
               auth0-server-core) for logins in progress: give the builder \
               `.transaction_backend(...)` (e.g. the Redis or PostgreSQL backend's \
               `transaction_backend()`), or enable that feature",
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::client::ServerClient;
    use crate::store::CookieOptions;

    #[test]
    fn a_store_made_from_the_settings_gets_the_clients_secret_and_cookie_policy() {
        let seen: Arc<Mutex<Option<StoreSettings>>> = Arc::default();
        let record = seen.clone();
        let fallback: Arc<dyn TransactionStore> =
            Arc::new(auth0_store_memory::MemoryTransactionBackend::new().transaction_store());
        let client = ServerClient::builder()
            .domain("tenant.example.com")
            .client_id("id")
            .client_secret("secret")
            .secret("a-secret-of-at-least-thirty-two-bytes")
            .redirect_uri("http://localhost:5000/callback")
            .state_store_with(move |settings| {
                *record.lock().unwrap() = Some(settings.clone());
                Arc::new(auth0_store_cookie::CookieStateStore::from_settings(
                    settings,
                ))
            })
            .transaction_store(fallback)
            .build()
            .unwrap();
        let settings = seen.lock().unwrap().take().expect("made at build()");
        let expected = CookieOptions::for_redirect_uri(client.config().redirect_uri().unwrap());
        assert_eq!(settings.cookie_options, expected);
        assert!(
            !settings.cookie_options.secure,
            "plain http on this machine"
        );
        let probe = crate::seal::RecordSealer::new(client.config().secrets());
        let sealed = probe.seal(b"id", b"payload").unwrap();
        let opened = crate::seal::RecordSealer::new(&settings.secrets).open(b"id", &sealed);
        assert_eq!(opened.unwrap(), b"payload", "the same secrets");
    }
}
