//! The suite must catch broken stores: each backend here breaks one promise, and the rule
//! that guards that promise must fail (while the others may pass).

use std::sync::Arc;

use async_trait::async_trait;
use auth0_store_conformance::{Report, ServerSideFixture, run_all};
use auth0_store_core::clock::ManualClock;
use auth0_store_core::model::TransactionData;
use auth0_store_core::store::{
    LoadedRecord, LogoutFilter, SessionBackend, SessionId, SessionRecord, StoreContext, StoreError,
    TransactionStore, UpdateOutcome,
};
use auth0_store_memory::{MemoryBackend, MemoryTransactionBackend};

/// How a backend is broken.
#[derive(Clone, Copy, Debug)]
enum Defect {
    /// `update` ignores the version: last writer wins.
    IgnoresVersion,
    /// `update` of a missing record creates it.
    Resurrects,
    /// Back-channel logout ignores the issuer.
    IgnoresIssuer,
    /// Logout by `sid` ends all of the user's sessions.
    SidEndsAllOfTheUsers,
    /// `delete` does nothing.
    NeverDeletes,
}

#[derive(Debug)]
struct Broken {
    inner: MemoryBackend,
    defect: Defect,
}

#[async_trait]
impl SessionBackend for Broken {
    fn name(&self) -> &'static str {
        "broken"
    }
    async fn create(&self, id: &SessionId, record: &SessionRecord) -> Result<(), StoreError> {
        self.inner.create(id, record).await
    }
    async fn load(&self, id: &SessionId) -> Result<Option<LoadedRecord>, StoreError> {
        self.inner.load(id).await
    }
    async fn update(
        &self,
        id: &SessionId,
        record: &SessionRecord,
        expected_version: u64,
    ) -> Result<UpdateOutcome, StoreError> {
        match self.defect {
            Defect::IgnoresVersion => match self.inner.load(id).await? {
                Some(loaded) => self.inner.update(id, record, loaded.version).await,
                None => Ok(UpdateOutcome::Missing),
            },
            Defect::Resurrects => match self.inner.update(id, record, expected_version).await? {
                UpdateOutcome::Missing => {
                    self.inner.create(id, record).await?;
                    Ok(UpdateOutcome::Updated)
                }
                other => Ok(other),
            },
            _ => self.inner.update(id, record, expected_version).await,
        }
    }
    async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        match self.defect {
            Defect::NeverDeletes => Ok(()),
            _ => self.inner.delete(id).await,
        }
    }
    async fn delete_by_logout(&self, filter: &LogoutFilter) -> Result<u64, StoreError> {
        let mut filter = filter.clone();
        match self.defect {
            Defect::IgnoresIssuer => filter.domain = "tenant.conformance.example".to_owned(),
            Defect::SidEndsAllOfTheUsers if filter.sid.is_some() => {
                filter.sid = None;
                filter.sub = Some("auth0|ada".to_owned());
            }
            _ => {}
        }
        self.inner.delete_by_logout(&filter).await
    }
}

async fn report(defect: Defect) -> Report {
    run_all(move || async move {
        let clock = ManualClock::starting_now();
        ServerSideFixture::manual_time(
            Broken {
                inner: MemoryBackend::new().with_clock(Arc::new(clock.clone())),
                defect,
            },
            MemoryTransactionBackend::new()
                .with_clock(Arc::new(clock.clone()))
                .transaction_store()
                .with_clock(Arc::new(clock.clone())),
            clock,
        )
    })
    .await
}

async fn assert_caught(defect: Defect, rules: &[&str]) {
    let report = report(defect).await;
    let failed: Vec<&str> = report.failures().iter().map(|(n, _)| *n).collect();
    for rule in rules {
        assert!(
            failed.contains(rule),
            "{defect:?} should fail rule {rule}; failed: {failed:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_writer_wins_is_caught() {
    assert_caught(
        Defect::IgnoresVersion,
        &["concurrent_updates_are_never_lost_silently"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resurrection_is_caught() {
    assert_caught(
        Defect::Resurrects,
        &["update_after_delete_does_not_resurrect"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_across_issuers_is_caught() {
    assert_caught(
        Defect::IgnoresIssuer,
        &["logout_from_another_issuer_ends_nothing"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sid_logout_ending_every_session_is_caught() {
    assert_caught(
        Defect::SidEndsAllOfTheUsers,
        &["logout_by_sid_ends_only_that_session"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_that_does_nothing_is_caught() {
    assert_caught(
        Defect::NeverDeletes,
        &[
            "rotation_gives_a_new_id_and_the_old_one_is_dead",
            "update_after_delete_does_not_resurrect",
        ],
    )
    .await;
}

/// A transaction store that finds transactions by key alone, whatever the browser: what
/// the memory, Redis and PostgreSQL transaction stores did before they were bound to the
/// browser (login CSRF).
#[derive(Default)]
struct BrowserBlind {
    map: std::sync::Mutex<std::collections::HashMap<String, TransactionData>>,
}

#[async_trait]
impl TransactionStore for BrowserBlind {
    async fn set(
        &self,
        key: &str,
        transaction: &TransactionData,
        _cx: &StoreContext,
    ) -> Result<(), StoreError> {
        let mut map = self.map.lock().unwrap();
        map.insert(key.to_owned(), transaction.clone());
        Ok(())
    }
    async fn get(
        &self,
        key: &str,
        _cx: &StoreContext,
    ) -> Result<Option<TransactionData>, StoreError> {
        Ok(self.map.lock().unwrap().get(key).cloned())
    }
    async fn delete(&self, key: &str, _cx: &StoreContext) -> Result<(), StoreError> {
        self.map.lock().unwrap().remove(key);
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_found_by_state_alone_are_caught() {
    let report = run_all(|| async {
        let clock = ManualClock::starting_now();
        ServerSideFixture::manual_time(
            MemoryBackend::new().with_clock(Arc::new(clock.clone())),
            BrowserBlind::default(),
            clock,
        )
    })
    .await;
    let failed: Vec<&str> = report.failures().iter().map(|(n, _)| *n).collect();
    for rule in [
        "callback_from_another_browser_never_completes",
        "logins_in_progress_are_bounded_per_browser",
    ] {
        assert!(failed.contains(&rule), "{rule} passed; failed: {failed:?}");
    }
}
