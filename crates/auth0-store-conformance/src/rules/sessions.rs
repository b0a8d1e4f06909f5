//! Rules for a user's sessions, listed and revoked: every server-side store lists a user's
//! live sessions (and no one else's) under handles that reveal no session id, and revokes
//! only sessions of that user; the cookie store answers `Unsupported`.

use std::time::Duration;

use auth0_store_core::store::{
    MAX_LISTED_SESSIONS, RevokeSessions, RevokedSessions, SessionHandle, SessionMetadata,
    SessionOwner, SessionSummary, StoreError,
};

use super::{Browser, DOMAIN, Doing, Failure, IDENTIFIER, RuleResult, live, three_sessions};
use crate::fixture::{Fixture, StoreKind};

const ADA: &str = "auth0|ada";
const BOB: &str = "auth0|bob";

fn owner(sub: &str) -> SessionOwner {
    SessionOwner::new(DOMAIN, sub)
}

impl Browser<'_> {
    async fn list(&self, sub: &str) -> Result<Vec<SessionSummary>, StoreError> {
        let cx = self.jar.context();
        let store = self.fixture.state_store();
        let result = store.list_sessions(IDENTIFIER, &owner(sub), &cx).await;
        self.jar.apply(&cx);
        result
    }

    async fn revoke(&self, sub: &str, which: RevokeSessions) -> Result<u64, StoreError> {
        Ok(self.revoke_counted(sub, which).await?.ended)
    }

    async fn revoke_counted(
        &self,
        sub: &str,
        which: RevokeSessions,
    ) -> Result<RevokedSessions, StoreError> {
        let cx = self.jar.context();
        let store = self.fixture.state_store();
        let result = store
            .revoke_sessions(IDENTIFIER, &owner(sub), &which, &cx)
            .await;
        self.jar.apply(&cx);
        result
    }
}

/// On the cookie store: whether `result` is the `Unsupported` it must answer.
fn unsupported<T: std::fmt::Debug>(result: &Result<T, StoreError>) -> RuleResult {
    ensure!(
        matches!(result, Err(StoreError::Unsupported { .. })),
        "a cookie store must answer a user's sessions with Unsupported, got {result:?}"
    );
    Ok(())
}

/// A user's sessions are listed, the asking one marked current, under handles that are not
/// any part of a session id; another user's sessions are not among them.
pub async fn users_sessions_are_listed_with_the_current_one_marked(
    fixture: &dyn Fixture,
) -> RuleResult {
    let s = three_sessions(fixture).await?;
    let listed = s.ada[1].list(ADA).await;
    if fixture.kind() == StoreKind::Cookie {
        return unsupported(&listed);
    }
    let listed = listed.doing("listing ada's sessions")?;
    ensure!(listed.len() == 3, "ada has 3 sessions, listed {listed:?}");
    let current: Vec<_> = listed.iter().filter(|l| l.current).collect();
    ensure!(
        current.len() == 1,
        "exactly one listed session must be current: {listed:?}"
    );
    let ids: Vec<String> = s
        .ada
        .iter()
        .flat_map(|b| b.session_cookies(IDENTIFIER))
        .map(|c| c.1)
        .collect();
    for summary in &listed {
        let handle = summary.handle.as_str();
        ensure!(
            ids.iter()
                .all(|id| !id.contains(&handle[..8]) && !handle.contains(&id[..8])),
            "handle {handle} shares text with a session id"
        );
        ensure!(
            summary.expires_at > summary.created_at,
            "expiry before creation: {summary:?}"
        );
    }
    let bob = s.bob.list(BOB).await.doing("listing bob's sessions")?;
    ensure!(
        bob.len() == 1 && listed.iter().all(|l| l.handle != bob[0].handle),
        "bob's list must hold his one session only: {bob:?}"
    );
    Ok(())
}

/// What the app attached to a session at login is listed with it, and "last active" moves
/// when the session is written again.
pub async fn session_metadata_and_last_active_are_listed(fixture: &dyn Fixture) -> RuleResult {
    let now = super::now(fixture);
    let mut state = super::sample_state(ADA, "sid-meta", now);
    SessionMetadata::new()
        .with("user_agent", "Firefox/140")
        .store_in(&mut state.internal);
    let ada = Browser::new(fixture);
    ada.set(&state, true).await.doing("login")?;
    if fixture.kind() == StoreKind::Cookie {
        return unsupported(&ada.list(ADA).await);
    }
    fixture.advance(Duration::from_millis(1100)).await;
    let read = ada.get().await.doing("reading")?;
    ensure!(
        read.as_ref() == Some(&state),
        "the session must read back as stored"
    );
    ada.set(&state, false).await.doing("writing again")?;
    let listed = ada.list(ADA).await.doing("listing")?;
    let Some(one) = listed.first() else {
        return Err(Failure {
            message: "ada's session is not listed".into(),
        });
    };
    ensure!(
        one.metadata.get("user_agent") == Some("Firefox/140"),
        "metadata not listed: {one:?}"
    );
    ensure!(
        one.last_active_at > one.created_at,
        "last active must move with a write: {one:?}"
    );
    Ok(())
}

/// Revoking by handle ends that session only; its cookie reads as no session next time.
pub async fn revoking_one_session_ends_only_that_one(fixture: &dyn Fixture) -> RuleResult {
    let s = three_sessions(fixture).await?;
    if fixture.kind() == StoreKind::Cookie {
        let forged = SessionHandle::parse("AAAAAAAAAAAAAAAAAAAAAA");
        let result = s.ada[0]
            .revoke(
                ADA,
                RevokeSessions::One(forged.ok_or_else(|| Failure {
                    message: "handle".into(),
                })?),
            )
            .await;
        return unsupported(&result);
    }
    let listed = s.ada[2].list(ADA).await.doing("listing")?;
    let Some(target) = listed.iter().find(|l| l.current) else {
        return Err(Failure {
            message: "no current session listed".into(),
        });
    };
    let ended = s.ada[0]
        .revoke(ADA, RevokeSessions::One(target.handle.clone()))
        .await
        .doing("revoking one")?;
    ensure!(ended == 1, "revoking one session ended {ended}");
    let now_live = live(&[&s.ada[0], &s.ada[1], &s.ada[2], &s.bob]).await?;
    ensure!(
        now_live == [true, true, false, true],
        "after revoking ada2, live [ada0, ada1, ada2, bob] are {now_live:?}"
    );
    Ok(())
}

/// A handle of another user's session, or a forged one, ends nothing.
pub async fn another_users_or_a_forged_handle_revokes_nothing(fixture: &dyn Fixture) -> RuleResult {
    let s = three_sessions(fixture).await?;
    if fixture.kind() == StoreKind::Cookie {
        return unsupported(&s.ada[0].revoke(ADA, RevokeSessions::All).await);
    }
    let bob = s.bob.list(BOB).await.doing("listing bob's sessions")?;
    let Some(bobs) = bob.first() else {
        return Err(Failure {
            message: "bob's session is not listed".into(),
        });
    };
    let forged = SessionHandle::parse("AAAAAAAAAAAAAAAAAAAAAA").ok_or_else(|| Failure {
        message: "a well-formed handle did not parse".into(),
    })?;
    for handle in [bobs.handle.clone(), forged] {
        let ended = s.ada[0]
            .revoke(ADA, RevokeSessions::One(handle.clone()))
            .await
            .doing("revoking a foreign handle")?;
        ensure!(
            ended == 0,
            "ada revoking handle {handle} ended {ended} sessions"
        );
    }
    let now_live = live(&[&s.ada[0], &s.ada[1], &s.ada[2], &s.bob]).await?;
    ensure!(
        now_live == [true; 4],
        "a foreign handle ended sessions: {now_live:?}"
    );
    Ok(())
}

/// "Log out my other sessions" keeps the asking session and ends the user's others only.
pub async fn revoking_all_but_current_keeps_the_current_one(fixture: &dyn Fixture) -> RuleResult {
    let s = three_sessions(fixture).await?;
    let result = s.ada[1].revoke(ADA, RevokeSessions::AllButCurrent).await;
    if fixture.kind() == StoreKind::Cookie {
        return unsupported(&result);
    }
    let ended = result.doing("revoking all but current")?;
    ensure!(
        ended == 2,
        "revoking all but current ended {ended}, expected 2"
    );
    let now_live = live(&[&s.ada[0], &s.ada[1], &s.ada[2], &s.bob]).await?;
    ensure!(
        now_live == [false, true, false, true],
        "live [ada0, ada1, ada2, bob] are {now_live:?}"
    );
    Ok(())
}

/// Revoking all ends every session of the user, the asking one included (its cookie goes).
pub async fn revoking_all_ends_every_session_of_the_user(fixture: &dyn Fixture) -> RuleResult {
    let s = three_sessions(fixture).await?;
    let result = s.ada[0].revoke(ADA, RevokeSessions::All).await;
    if fixture.kind() == StoreKind::Cookie {
        return unsupported(&result);
    }
    let ended = result.doing("revoking all")?;
    ensure!(ended == 3, "revoking all ended {ended}, expected 3");
    ensure!(
        s.ada[0].session_cookies(IDENTIFIER).is_empty(),
        "the asking browser's session cookie must be removed"
    );
    let now_live = live(&[&s.ada[0], &s.ada[1], &s.ada[2], &s.bob]).await?;
    ensure!(
        now_live == [false, false, false, true],
        "live [ada0, ada1, ada2, bob] are {now_live:?}"
    );
    Ok(())
}

/// The identifier another app sharing the store keeps its sessions under.
const OTHER_APP: &str = "_other_app_session";

/// Logs ada in `n` times in another app sharing the store (another identifier), and
/// returns its browsers.
async fn other_apps_sessions(fixture: &dyn Fixture, n: usize) -> Result<Vec<Browser<'_>>, Failure> {
    let now = super::now(fixture);
    let mut browsers = Vec::new();
    for i in 0..n {
        let b = Browser::new(fixture);
        let cx = b.jar.context();
        let state = super::sample_state(ADA, &format!("sid-other-{i}"), now);
        let result = fixture
            .state_store()
            .set(OTHER_APP, &state, true, &cx)
            .await;
        b.jar.apply(&cx);
        result.doing("logging ada in to the other app")?;
        browsers.push(b);
    }
    Ok(browsers)
}

/// How many of `browsers` still have a session in the other app.
async fn live_in_other_app(browsers: &[Browser<'_>]) -> Result<usize, Failure> {
    let mut n = 0;
    for b in browsers {
        n += usize::from(
            b.get_as(OTHER_APP)
                .await
                .doing("reading the other app")?
                .is_some(),
        );
    }
    Ok(n)
}

/// Revoking all, or all but current, ends only sessions that open under this store's
/// identifier and secrets: another app's sessions of the same user in the same store are
/// left, and counted as unreadable.
pub async fn revoking_leaves_sessions_this_store_cannot_open(fixture: &dyn Fixture) -> RuleResult {
    let s = three_sessions(fixture).await?;
    if fixture.kind() == StoreKind::Cookie {
        return unsupported(&s.ada[0].revoke(ADA, RevokeSessions::All).await);
    }
    let other = other_apps_sessions(fixture, 2).await?;
    for which in [RevokeSessions::AllButCurrent, RevokeSessions::All] {
        let done = s.ada[0]
            .revoke_counted(ADA, which.clone())
            .await
            .doing("revoking")?;
        ensure!(
            done.unreadable == 2,
            "{which:?}: 2 sessions of another app must be counted unreadable, got {done:?}"
        );
        let left = live_in_other_app(&other).await?;
        ensure!(
            left == 2,
            "{which:?} ended {} of another app's sessions",
            2 - left
        );
    }
    let now_live = live(&[&s.ada[0], &s.ada[1], &s.ada[2], &s.bob]).await?;
    ensure!(
        now_live == [false, false, false, true],
        "live [ada0, ada1, ada2, bob] are {now_live:?}"
    );
    Ok(())
}

/// Revoking all ends every session of a user with more sessions than one page lists, even
/// when records this store leaves (another app's) fill part of a page.
pub async fn revoking_all_goes_past_one_page(fixture: &dyn Fixture) -> RuleResult {
    if fixture.kind() == StoreKind::Cookie {
        return unsupported(&Browser::new(fixture).revoke(ADA, RevokeSessions::All).await);
    }
    let other = other_apps_sessions(fixture, 3).await?;
    let now = super::now(fixture);
    let count = MAX_LISTED_SESSIONS + 5;
    let mut ada = Vec::new();
    for i in 0..count {
        let b = Browser::new(fixture);
        b.set(&super::sample_state(ADA, &format!("sid-{i}"), now), true)
            .await
            .doing("ada login")?;
        ada.push(b);
    }
    let done = ada[0]
        .revoke_counted(ADA, RevokeSessions::All)
        .await
        .doing("revoking all")?;
    ensure!(
        done == RevokedSessions {
            ended: count as u64,
            unreadable: 3
        },
        "revoking all of {count} sessions (and 3 of another app) gave {done:?}"
    );
    let left = ada[0].list(ADA).await.doing("listing")?;
    ensure!(
        left.is_empty(),
        "{} sessions outlived revoking all",
        left.len()
    );
    ensure!(
        live_in_other_app(&other).await? == 3,
        "another app's sessions ended"
    );
    Ok(())
}

/// Sessions written before sessions recorded their domain (no domain) are listed and revoked
/// for an owner at the app's configured domain (`with_unrecorded_domain`), and only then.
pub async fn sessions_with_no_recorded_domain_are_listed_and_revoked(
    fixture: &dyn Fixture,
) -> RuleResult {
    let now = super::now(fixture);
    let mut state = super::sample_state(ADA, "sid-old", now);
    state.domain = None;
    let old = Browser::new(fixture);
    old.set(&state, true).await.doing("an old login")?;
    let store = fixture.state_store();
    let cx = old.jar.context();
    let configured = owner(ADA).with_unrecorded_domain();
    let listed = store.list_sessions(IDENTIFIER, &configured, &cx).await;
    if fixture.kind() == StoreKind::Cookie {
        return unsupported(&listed);
    }
    let listed = listed.doing("listing at the configured domain")?;
    ensure!(
        listed.len() == 1 && listed[0].current,
        "the session with no recorded domain must be listed (as current): {listed:?}"
    );
    let elsewhere = old
        .list(ADA)
        .await
        .doing("listing without unrecorded domains")?;
    ensure!(
        elsewhere.is_empty(),
        "an owner without unrecorded domains listed {elsewhere:?}"
    );
    let done = store
        .revoke_sessions(IDENTIFIER, &configured, &RevokeSessions::All, &cx)
        .await
        .doing("revoking all at the configured domain")?;
    old.jar.apply(&cx);
    ensure!(done.ended == 1, "revoking all ended {done:?}, expected 1");
    ensure!(
        old.get().await.doing("reading")?.is_none(),
        "the session with no recorded domain outlived revoking all"
    );
    Ok(())
}
