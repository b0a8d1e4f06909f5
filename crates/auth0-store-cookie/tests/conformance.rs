//! The cookie stores against the whole conformance suite, through the simulated browser.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use auth0_store_conformance::{Fixture, StoreKind, TEST_SECRET, conformance_tests};
use auth0_store_cookie::{CookieStateStore, CookieTransactionStore};
use auth0_store_core::Secrets;
use auth0_store_core::clock::{Clock, ManualClock};
use auth0_store_core::store::{StateStore, TransactionStore};

struct CookieFixture {
    state: Arc<CookieStateStore>,
    transactions: Arc<CookieTransactionStore>,
    clock: ManualClock,
}

#[async_trait]
impl Fixture for CookieFixture {
    fn state_store(&self) -> Arc<dyn StateStore> {
        self.state.clone()
    }
    fn transaction_store(&self) -> Arc<dyn TransactionStore> {
        self.transactions.clone()
    }
    fn kind(&self) -> StoreKind {
        StoreKind::Cookie
    }
    fn size_limit(&self) -> usize {
        self.state.max_size()
    }
    fn clock(&self) -> Arc<dyn Clock> {
        Arc::new(self.clock.clone())
    }
    async fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }
}

async fn fixture() -> CookieFixture {
    let clock = ManualClock::starting_now();
    let secrets = Secrets::parse(TEST_SECRET).unwrap();
    CookieFixture {
        state: Arc::new(CookieStateStore::new(secrets.clone()).with_clock(Arc::new(clock.clone()))),
        transactions: Arc::new(
            CookieTransactionStore::new(secrets).with_clock(Arc::new(clock.clone())),
        ),
        clock,
    }
}

conformance_tests!(fixture());
