//! A user's sessions on a [`ServerSideStateStore`]: listed by the backend's `(domain, sub)`
//! index, opened here, named by handles, revoked only within that user's own sessions.

use std::collections::HashSet;
use std::time::UNIX_EPOCH;

use super::ServerSideStateStore;
use crate::model::StateData;
use crate::store::{
    LoadedRecord, MAX_LISTED_SESSIONS, RevokeSessions, RevokedSessions, SessionBackend, SessionId,
    SessionMetadata, SessionOwner, SessionSummary, StoreContext, StoreError, last_active_at,
    remove_last_active_at, set_last_active_at, validate_identifier,
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

/// One of the records the backend lists for an owner: its id (never shown) and, when it is
/// the owner's by its clear fields and opens, its summary.
struct Owned {
    id: SessionId,
    /// Whether the record's clear `sub` and `domain` are the owner's (a stale index entry, or
    /// a backend that returns too much, is not: it is never shown nor ended).
    mine: bool,
    /// Whether the request's cookie names it.
    current: bool,
    summary: Option<SessionSummary>,
}

/// The records a backend lists for an owner, and whether a listing filled its limit (so
/// more may follow).
struct Page {
    records: Vec<Owned>,
    full: bool,
}

impl<B: SessionBackend> ServerSideStateStore<B> {
    /// Up to `limit` live records the backend lists for `owner` (and as many more with no
    /// recorded domain when the owner includes those), each checked to be the owner's by its
    /// clear fields and opened when it is.
    async fn owned(
        &self,
        identifier: &str,
        owner: &SessionOwner,
        limit: usize,
        cx: &StoreContext,
    ) -> Result<Page, StoreError> {
        validate_identifier(identifier)?;
        let mut page = Page {
            records: Vec::new(),
            full: false,
        };
        if owner.sub.is_empty() {
            return Ok(page);
        }
        let mut domains = vec![owner.domain.as_str()];
        if owner.includes_unrecorded_domain() && !owner.domain.is_empty() {
            // Backends index a session with no domain under "" (PostgreSQL: NULL).
            domains.push("");
        }
        let current = self.id_cookie(cx, identifier);
        for domain in domains {
            let records = self.backend.list_by_sub(domain, &owner.sub, limit).await?;
            page.full |= records.len() >= limit;
            for (id, loaded) in records {
                let is_current = current.as_deref() == Some(id.as_str());
                page.records
                    .push(self.owned_one(identifier, id, &loaded, owner, is_current));
            }
        }
        Ok(page)
    }

    /// One listed record, checked against the owner's clear fields and opened if it is theirs.
    fn owned_one(
        &self,
        identifier: &str,
        id: SessionId,
        loaded: &LoadedRecord,
        owner: &SessionOwner,
        current: bool,
    ) -> Owned {
        let domain = loaded.record.domain.as_deref();
        let domain_is_owners = domain == Some(owner.domain.as_str())
            || (owner.includes_unrecorded_domain() && domain.is_none_or(str::is_empty));
        let mine = loaded.record.sub.as_deref() == Some(owner.sub.as_str()) && domain_is_owners;
        let summary = mine
            .then(|| self.summary(identifier, &id, loaded, owner, current))
            .flatten();
        Owned {
            id,
            mine,
            current,
            summary,
        }
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
            .records
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
        // Two listings (the domain's and the unrecorded one's) may hold more than one page.
        list.truncate(MAX_LISTED_SESSIONS);
        Ok(list)
    }

    /// Ends the owner's sessions `which` selects, page by page, and counts them. Records
    /// that do not open here are left and counted as unreadable; each page asks for as many
    /// more records as were left, so what is left never hides what comes after it.
    pub(super) async fn revoke_owned(
        &self,
        identifier: &str,
        owner: &SessionOwner,
        which: &RevokeSessions,
        cx: &StoreContext,
    ) -> Result<RevokedSessions, StoreError> {
        let mut done = RevokedSessions::default();
        let mut left: HashSet<SessionId> = HashSet::new();
        loop {
            let limit = left.len() + MAX_LISTED_SESSIONS;
            let page = self.owned(identifier, owner, limit, cx).await?;
            let fresh: Vec<&Owned> = page
                .records
                .iter()
                .filter(|o| !left.contains(&o.id))
                .collect();
            for owned in &fresh {
                if owned.mine && owned.summary.is_none() {
                    done.unreadable += 1;
                }
                if !selected(owned, which) {
                    left.insert(owned.id.clone());
                    continue;
                }
                self.backend.delete(&owned.id).await?;
                done.ended += 1;
                if owned.current {
                    self.forget(cx, identifier);
                }
            }
            let one_done = matches!(which, RevokeSessions::One(_)) && done.ended > 0;
            if !page.full || fresh.is_empty() || one_done {
                break;
            }
        }
        if done.unreadable > 0 {
            tracing::warn!(
                unreadable = done.unreadable,
                "sessions of this user that do not open under this store's identifier and \
                 secrets were left alone"
            );
        }
        tracing::info!(ended = done.ended, "sessions revoked");
        Ok(done)
    }
}

/// Whether `which` selects this record. Only the owner's records that open here are ever
/// selected: one that does not (sealed under another identifier or secret: another app
/// sharing the store, or the wrong secret) is not this store's to end.
fn selected(owned: &Owned, which: &RevokeSessions) -> bool {
    match (which, &owned.summary) {
        (_, None) => false,
        (RevokeSessions::One(handle), Some(summary)) => summary.handle == *handle,
        (RevokeSessions::AllButCurrent, Some(_)) => !owned.current,
        (RevokeSessions::All, Some(_)) => true,
    }
}
