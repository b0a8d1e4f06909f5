//! The conformance suite every [auth0-server] session store must pass.
//!
//! A store is correct when it passes every rule here: sessions round-trip unchanged (large,
//! unicode, nested unknown fields), absent is `None`, delete is idempotent, login rotates the
//! session id and kills the old one, expiry is honoured, tampered, truncated, garbage and
//! foreign cookies read as "no session" without harming the real one, a deleted session is
//! never brought back, concurrent writes are never lost silently, the size limit gives
//! `TooLarge`, back-channel logout by `sid` / `sub` / issuer ends exactly the right sessions
//! (or is `Unsupported` for cookie stores), a user's sessions are listed under handles that
//! reveal no session id and revoked one, all but the current, or all, never another user's
//! (`Unsupported` for cookie stores), and transactions of parallel logins stay apart.
//!
//! Every rule drives the store through a simulated browser ([`BrowserJar`]), so cookie
//! stores and server-side stores are tested the same way.
//!
//! # Use
//!
//! Write an async function that builds a fresh, isolated store (its own key prefix or
//! schema) and returns a [`Fixture`]; then one line gives one `#[tokio::test]` per rule,
//! named after the rule. The crate using the macro needs `tokio` with the `macros` and
//! `rt-multi-thread` features as a dev-dependency.
//!
//! ```text
//! use auth0_store_conformance::{conformance_tests, ServerSideFixture};
//!
//! async fn fixture() -> ServerSideFixture {
//!     ServerSideFixture::real_time(MyBackend::connect_fresh().await, MyTransactions::new())
//! }
//!
//! conformance_tests!(fixture());
//! ```
//!
//! Other harnesses call [`run_all`] and read the [`Report`].
//!
//! The store crates' benches share their sample session through [`sample`] (their load
//! driver is the workspace's unpublished `auth0-test-support`).
//!
//! [auth0-server]: https://docs.rs/auth0-server
// Library code never unwraps; tests may (clippy.toml allows it in unit tests).
#![warn(clippy::unwrap_used)]

mod fixture;
mod jar;
pub mod rules;
pub mod sample;

use std::future::Future;
use std::pin::Pin;

pub use fixture::{Fixture, SERVER_SIDE_TEST_LIMIT, ServerSideFixture, StoreKind, TEST_SECRET};
pub use jar::{BrowserJar, JarCookie, MAX_COOKIE_BYTES};
pub use rules::{Failure, RuleResult};

#[doc(hidden)]
pub use tokio as __tokio;

/// Calls `$callback!{ $args ; rule, rule, … }` with the name of every rule: the one list.
#[doc(hidden)]
#[macro_export]
macro_rules! __for_each_rule {
    ($callback:ident ! ( $($args:tt)* )) => {
        $crate::$callback! { $($args)* ;
            round_trip_large,
            round_trip_unicode,
            round_trip_nested,
            absent_session_is_none,
            delete_is_idempotent,
            rotation_gives_a_new_id_and_the_old_one_is_dead,
            login_never_keeps_a_planted_session,
            expiry_is_honoured,
            session_cookie_attributes,
            tampered_cookie_is_none,
            truncated_cookie_is_none,
            garbage_cookie_is_none,
            foreign_identifier_cookie_is_none,
            session_planted_under_the_plain_name_is_ignored,
            writes_are_visible_within_the_request,
            update_after_delete_does_not_resurrect,
            concurrent_updates_are_never_lost_silently,
            size_limit_is_enforced,
            logout_by_sid_ends_only_that_session,
            logout_by_sub_ends_all_of_the_users_sessions,
            logout_with_mismatched_sid_and_sub_ends_nothing,
            logout_from_another_issuer_ends_nothing,
            users_sessions_are_listed_with_the_current_one_marked,
            session_metadata_and_last_active_are_listed,
            revoking_one_session_ends_only_that_one,
            another_users_or_a_forged_handle_revokes_nothing,
            revoking_all_but_current_keeps_the_current_one,
            revoking_all_ends_every_session_of_the_user,
            revoking_leaves_sessions_this_store_cannot_open,
            revoking_all_goes_past_one_page,
            sessions_with_no_recorded_domain_are_listed_and_revoked,
            transaction_round_trip,
            transactions_are_independent_and_delete_is_idempotent,
            absent_transaction_is_none,
            callback_from_another_browser_never_completes,
            logins_in_progress_are_bounded_per_browser
        }
    };
}

/// Generates one `#[tokio::test]` per rule, each named after its rule, each on a fresh
/// fixture from the given expression (an `async` call returning a [`Fixture`]).
///
/// See the [crate documentation](crate) for an example.
///
/// For a store that needs a service, write `conformance_tests!(optional: fixture())` with a
/// fixture function returning `Option<impl Fixture>`: `None` means the service is not there
/// and the test returns at once — the function must then say so loudly, and must panic
/// instead when `CI` is set, so that CI never passes untested.
#[macro_export]
macro_rules! conformance_tests {
    (optional: $fixture:expr) => {
        $crate::__for_each_rule!(__conformance_test_fns_optional!($fixture));
    };
    ($fixture:expr) => {
        $crate::__for_each_rule!(__conformance_test_fns!($fixture));
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_test_fns_optional {
    ($fixture:expr ; $($rule:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $rule() {
                let Some(fixture) = $fixture.await else { return };
                if let Err(failure) = $crate::rules::$rule(&fixture).await {
                    panic!("conformance rule `{}` failed: {}", stringify!($rule), failure);
                }
            }
        )*
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_test_fns {
    ($fixture:expr ; $($rule:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $rule() {
                let fixture = $fixture.await;
                if let Err(failure) = $crate::rules::$rule(&fixture).await {
                    panic!("conformance rule `{}` failed: {}", stringify!($rule), failure);
                }
            }
        )*
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __rule_table {
    ( ; $($rule:ident),* $(,)?) => {
        &[ $( (stringify!($rule), |f| Box::pin($crate::rules::$rule(f))) ),* ]
    };
}

/// A rule as a function: takes the fixture, returns its result.
pub type RuleFn =
    for<'a> fn(&'a dyn Fixture) -> Pin<Box<dyn Future<Output = RuleResult> + Send + 'a>>;

/// Every rule, by name.
pub const RULES: &[(&str, RuleFn)] = __for_each_rule!(__rule_table!());

/// What [`run_all`] found: each rule's name and result.
#[derive(Debug, Clone)]
pub struct Report {
    /// Each rule in order with its result.
    pub results: Vec<(&'static str, RuleResult)>,
}

impl Report {
    /// The rules that failed.
    pub fn failures(&self) -> Vec<(&'static str, &Failure)> {
        self.results
            .iter()
            .filter_map(|(name, r)| r.as_ref().err().map(|f| (*name, f)))
            .collect()
    }

    /// Panics with every failure if any rule failed.
    pub fn assert_all_passed(&self) {
        let failures = self.failures();
        if !failures.is_empty() {
            let list: Vec<String> = failures
                .iter()
                .map(|(n, f)| format!("  {n}: {f}"))
                .collect();
            panic!(
                "{} of {} conformance rules failed:\n{}",
                failures.len(),
                self.results.len(),
                list.join("\n")
            );
        }
    }
}

/// Runs every rule, each on a fresh fixture from `make`, and reports.
///
/// A rule that panics counts as failed. Needs a multi-threaded tokio runtime.
pub async fn run_all<M, Fut, F>(make: M) -> Report
where
    M: Fn() -> Fut,
    Fut: Future<Output = F> + Send + 'static,
    F: Fixture,
{
    let mut results = Vec::with_capacity(RULES.len());
    for (name, rule) in RULES {
        let fixture = make();
        let rule = *rule;
        let outcome = tokio::spawn(async move {
            let fixture = fixture.await;
            rule(&fixture).await
        })
        .await;
        let result = match outcome {
            Ok(result) => result,
            Err(e) => Err(Failure {
                message: format!("the rule panicked: {e}"),
            }),
        };
        results.push((*name, result));
    }
    Report { results }
}
