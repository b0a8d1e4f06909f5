//! A user's sessions on a [`ServerSideStateStore`]: listed by the backend's `(domain, sub)`
//! index, opened here, named by handles, revoked only within that user's own sessions.

use std::time::UNIX_EPOCH;

use super::ServerSideStateStore;
use crate::model::StateData;
use crate::store::{
    LoadedRecord, MAX_LISTED_SESSIONS, RevokeSessions, SessionBackend, SessionId, SessionMetadata,
    SessionOwner, SessionSummary, StoreContext, StoreError, last_active_at, remove_last_active_at,
    set_last_active_at, validate_identifier,
};

/// `state` with the time of this write in it (see [`SessionSummary::last_active_at`]).
pub(super) fn stamped(state: &StateData, now: u64) -> StateData {
    let mut state = state.clone();
    set_last_active_at(&mut state.internal, now);
    state
}

/// `state` as the app stored it: without the write time [`stamped`] added.
pub(super) fn unstamped(mut state: StateData) -> StateData {
    remove_last_active_at(&mut state.internal);
    state
}

/// One of the owner's records: its id (never shown) and, when it opens, its summary.
struct Owned {
    id: SessionId,
    /// Whether the request's cookie names it.
    current: bool,
    summary: Option<SessionSummary>,
}

impl<B: SessionBackend> ServerSideStateStore<B> {
    /// Up to `limit` live records of `owner`, each checked to be the owner's by its clear
    /// fields (a stale index entry, or a backend that returns too much, adds nothing).
    async fn owned(
        &self,
        identifier: &str,
        owner: &SessionOwner,
        limit: usize,
        cx: &StoreContext,
    ) -> Result<Vec<Owned>, StoreError> {
        validate_identifier(identifier)?;
        if owner.sub.is_empty() {
            return Ok(Vec::new());
        }
        let current = self.id_cookie(cx, identifier);
        let records = self
            .backend
            .list_by_sub(&owner.domain, &owner.sub, limit)
            .await?;
        Ok(records
            .into_iter()
            .filter(|(_, loaded)| {
                loaded.record.sub.as_deref() == Some(owner.sub.as_str())
                    && loaded.record.domain.as_deref() == Some(owner.domain.as_str())
            })
            .map(|(id, loaded)| {
                let is_current = current.as_deref() == Some(id.as_str());
                let summary = self.summary(identifier, &id, &loaded, owner, is_current);
                Owned {
                    id,
                    current: is_current,
                    summary,
                }
            })
            .collect())
    }

    /// What the user is shown of one record, if it opens and is the owner's.
    fn summary(
        &self,
        identifier: &str,
        id: &SessionId,
        loaded: &LoadedRecord,
        owner: &SessionOwner,
        current: bool,
    ) -> Option<SessionSummary> {
        let json = self
            .sealer
            .open(&Self::aad(identifier, id), &loaded.record.data)
            .ok()?;
        let state = serde_json::from_slice::<StateData>(&json).ok()?;
        if state.user.as_ref().map(|u| u.sub.as_str()) != Some(owner.sub.as_str()) {
            return None;
        }
        let created_at = state.internal.created_at;
        let expires_at = loaded
            .record
            .expires_at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Some(SessionSummary {
            handle: self.handles.handle(id),
            created_at,
            last_active_at: last_active_at(&state.internal).unwrap_or(created_at),
            expires_at,
            current,
            metadata: SessionMetadata::of(&state.internal),
        })
    }

    pub(super) async fn list_owned(
        &self,
        identifier: &str,
        owner: &SessionOwner,
        cx: &StoreContext,
    ) -> Result<Vec<SessionSummary>, StoreError> {
        let mut list: Vec<SessionSummary> = self
            .owned(identifier, owner, MAX_LISTED_SESSIONS, cx)
            .await?
            .into_iter()
            .filter_map(|owned| owned.summary)
            .collect();
        list.sort_by(|a, b| {
            (b.last_active_at, b.created_at, &b.handle.as_str()).cmp(&(
                a.last_active_at,
                a.created_at,
                &a.handle.as_str(),
            ))
        });
        Ok(list)
    }

    /// Ends the owner's sessions `which` selects, page by page, and counts them.
    pub(super) async fn revoke_owned(
        &self,
        identifier: &str,
        owner: &SessionOwner,
        which: &RevokeSessions,
        cx: &StoreContext,
    ) -> Result<u64, StoreError> {
        let mut ended = 0;
        loop {
            let page = self
                .owned(identifier, owner, MAX_LISTED_SESSIONS, cx)
                .await?;
            let full = page.len() >= MAX_LISTED_SESSIONS;
            let targets: Vec<&Owned> = page.iter().filter(|o| selected(o, which)).collect();
            for owned in &targets {
                self.backend.delete(&owned.id).await?;
                if owned.current {
                    self.forget(cx, identifier);
                }
            }
            ended += targets.len() as u64;
            if !full || targets.is_empty() || matches!(which, RevokeSessions::One(_)) {
                break;
            }
        }
        tracing::info!(ended, "sessions revoked");
        Ok(ended)
    }
}

/// Whether `which` selects this record. A record that does not open (sealed under a secret
/// this instance lacks) has no handle, so only "all" or "all but current" end it.
fn selected(owned: &Owned, which: &RevokeSessions) -> bool {
    match (which, &owned.summary) {
        (RevokeSessions::One(handle), Some(summary)) => summary.handle == *handle,
        (RevokeSessions::One(_), None) => false,
        (RevokeSessions::AllButCurrent, _) => !owned.current,
        (RevokeSessions::All, _) => true,
    }
}
