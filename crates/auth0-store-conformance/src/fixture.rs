//! What a store under test provides to the suite.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use auth0_store_core::Secrets;
use auth0_store_core::clock::{Clock, ManualClock, SystemClock};
use auth0_store_core::store::{ServerSideStateStore, SessionBackend, StateStore, TransactionStore};

/// The secret the suite's fixtures seal with.
pub const TEST_SECRET: &str = "conformance-secret-that-is-long-enough-0123456789";
/// The size limit [`ServerSideFixture`] configures (sealed bytes).
pub const SERVER_SIDE_TEST_LIMIT: usize = 256 * 1024;

/// How a store keeps sessions, which decides what some rules expect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    /// The session lives on the server and the browser holds an id: it can be revoked,
    /// written with compare-and-set, and ended by back-channel logout.
    ServerSide,
    /// The session lives in the browser's cookies: nothing to revoke server-side, so
    /// back-channel logout is [`Unsupported`](auth0_store_core::store::StoreError::Unsupported)
    /// and each request's write stands on its own.
    Cookie,
}

/// A fresh, isolated store to run the rules against (its own key prefix, schema, …).
///
/// Each rule gets a new fixture. The suite uses [`now`](Self::clock) for timestamps, and
/// [`advance`](Self::advance) to let time pass: a store on a manual clock moves it, a store
/// on real time sleeps.
#[async_trait]
pub trait Fixture: Send + Sync + 'static {
    /// The state store under test.
    fn state_store(&self) -> Arc<dyn StateStore>;
    /// The transaction store under test.
    fn transaction_store(&self) -> Arc<dyn TransactionStore>;
    /// How the store keeps sessions.
    fn kind(&self) -> StoreKind;
    /// The most sealed bytes the state store accepts for one session.
    fn size_limit(&self) -> usize;
    /// The clock the stores use.
    fn clock(&self) -> Arc<dyn Clock>;
    /// Lets `by` pass on that clock.
    async fn advance(&self, by: Duration);
}

/// A [`Fixture`] for any [`SessionBackend`]: wraps it in a [`ServerSideStateStore`] sealed
/// with [`TEST_SECRET`], limited to [`SERVER_SIDE_TEST_LIMIT`].
///
/// ```
/// # use auth0_store_conformance::ServerSideFixture;
/// # fn f<B: auth0_store_core::store::SessionBackend, T: auth0_store_core::store::TransactionStore + 'static>(backend: B, transactions: T) {
/// // A backend on real time (Redis, PostgreSQL): `advance` sleeps.
/// let fixture = ServerSideFixture::real_time(backend, transactions);
/// # }
/// ```
pub struct ServerSideFixture {
    state: Arc<dyn StateStore>,
    transactions: Arc<dyn TransactionStore>,
    clock: Arc<dyn Clock>,
    manual: Option<ManualClock>,
    // Last: fields drop in order, so the stores are gone before their server.
    keep_alive: Vec<Box<dyn Any + Send + Sync>>,
}

impl ServerSideFixture {
    /// A fixture whose stores read the system clock.
    pub fn real_time<B: SessionBackend>(
        backend: B,
        transactions: impl TransactionStore + 'static,
    ) -> Self {
        Self::build(backend, transactions, Arc::new(SystemClock), None)
    }

    /// A fixture on a manual clock; give the backend and the transaction store the same clock.
    pub fn manual_time<B: SessionBackend>(
        backend: B,
        transactions: impl TransactionStore + 'static,
        clock: ManualClock,
    ) -> Self {
        Self::build(backend, transactions, Arc::new(clock.clone()), Some(clock))
    }

    fn build<B: SessionBackend>(
        backend: B,
        transactions: impl TransactionStore + 'static,
        clock: Arc<dyn Clock>,
        manual: Option<ManualClock>,
    ) -> Self {
        let secrets = Secrets::parse(TEST_SECRET).unwrap_or_else(|e| panic!("test secret: {e}"));
        let state = ServerSideStateStore::new(backend, &secrets)
            .with_clock(clock.clone())
            .with_max_record_size(SERVER_SIDE_TEST_LIMIT);
        Self {
            state: Arc::new(state),
            transactions: Arc::new(transactions),
            clock,
            manual,
            keep_alive: Vec::new(),
        }
    }

    /// Keeps `guard` alive as long as the fixture, and drops it after the stores: for the
    /// server a test started for this fixture alone (a container handle, a child process),
    /// which must outlive every rule run on the fixture and stop when the test ends.
    ///
    /// ```
    /// # use auth0_store_conformance::ServerSideFixture;
    /// # fn f<B: auth0_store_core::store::SessionBackend, T: auth0_store_core::store::TransactionStore + 'static>(backend: B, transactions: T) {
    /// /// Stops this test's server when dropped (say, testcontainers' `ContainerAsync`).
    /// struct Container;
    ///
    /// let fixture = ServerSideFixture::real_time(backend, transactions).keep_alive(Container);
    /// # }
    /// ```
    pub fn keep_alive(mut self, guard: impl Any + Send + Sync) -> Self {
        self.keep_alive.push(Box::new(guard));
        self
    }
}

#[async_trait]
impl Fixture for ServerSideFixture {
    fn state_store(&self) -> Arc<dyn StateStore> {
        self.state.clone()
    }
    fn transaction_store(&self) -> Arc<dyn TransactionStore> {
        self.transactions.clone()
    }
    fn kind(&self) -> StoreKind {
        StoreKind::ServerSide
    }
    fn size_limit(&self) -> usize {
        SERVER_SIDE_TEST_LIMIT
    }
    fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }
    async fn advance(&self, by: Duration) {
        match &self.manual {
            Some(clock) => clock.advance(by),
            None => tokio::time::sleep(by).await,
        }
    }
}
