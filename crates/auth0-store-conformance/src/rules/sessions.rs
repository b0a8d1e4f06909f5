//! Rules for a user's sessions, listed and revoked: every server-side store lists a user's
//! live sessions (and no one else's) under handles that reveal no session id, and revokes
//! only sessions of that user; the cookie store answers `Unsupported`.

use std::time::Duration;

use auth0_store_core::store::{
    RevokeSessions, SessionHandle, SessionMetadata, SessionOwner, SessionSummary, StoreError,
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
