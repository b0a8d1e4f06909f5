//! A user's sessions, listed and revoked: for the logged-in user from their request ("your
//! sessions", "log out my other sessions"), and for an operator by `sub`.
//!
//! Needs a server-side store (Redis, PostgreSQL, memory): the cookie store answers
//! [`StoreError::Unsupported`](crate::store::StoreError::Unsupported), since its sessions live
//! in browsers. Sessions are named by [`SessionHandle`]s, never by their ids.

use super::meters;
use super::{Error, LoginResult, ServerClient};
use crate::model::normalize_domain;
use crate::store::{
    RevokeSessions, SessionHandle, SessionMetadata, SessionOwner, SessionSummary, StoreContext,
};

impl ServerClient {
    /// The logged-in user's sessions (the request's own one marked
    /// [`current`](SessionSummary::current)), the most recently active first.
    ///
    /// ```no_run
    /// # async fn demo(client: auth0_server_core::client::ServerClient, cx: auth0_server_core::store::StoreContext) -> Result<(), auth0_server_core::client::Error> {
    /// for session in client.list_my_sessions(&cx).await? {
    ///     println!("{} {} {:?}", session.handle, session.last_active_at, session.metadata.get("user_agent"));
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::MissingSession`] when the request has no session; the store's
    /// `Unsupported` on the cookie store; store failures.
    #[tracing::instrument(name = "sessions.list_mine", skip_all)]
    pub async fn list_my_sessions(&self, cx: &StoreContext) -> Result<Vec<SessionSummary>, Error> {
        let owner = self.request_owner(cx).await?;
        let identifier = &self.inner.config.state_identifier;
        Ok(self
            .inner
            .state_store
            .list_sessions(identifier, &owner, cx)
            .await?)
    }

    /// Ends one of the logged-in user's sessions, named by the `handle` a listing showed
    /// (text from a form: anything not shaped like a handle is refused before any lookup).
    /// A handle of another user's session ends nothing.
    ///
    /// ```no_run
    /// # async fn demo(client: auth0_server_core::client::ServerClient, cx: auth0_server_core::store::StoreContext) -> Result<(), auth0_server_core::client::Error> {
    /// // The handle comes from the "Log out" button the listing rendered.
    /// client.revoke_my_session("AAAAAAAAAAAAAAAAAAAAAA", &cx).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for text that is not a handle; [`Error::SessionNotFound`]
    /// when none of the user's sessions has it; as [`list_my_sessions`](Self::list_my_sessions).
    #[tracing::instrument(name = "sessions.revoke_mine", skip_all)]
    pub async fn revoke_my_session(&self, handle: &str, cx: &StoreContext) -> Result<(), Error> {
        let handle = parse_handle(handle)?;
        let owner = self.request_owner(cx).await?;
        match self.revoke(&owner, RevokeSessions::One(handle), cx).await? {
            0 => Err(Error::SessionNotFound),
            _ => Ok(()),
        }
    }

    /// "Log out my other sessions": ends every session of the logged-in user but the
    /// request's own, and says how many ended.
    ///
    /// ```no_run
    /// # async fn demo(client: auth0_server_core::client::ServerClient, cx: auth0_server_core::store::StoreContext) -> Result<(), auth0_server_core::client::Error> {
    /// let ended = client.revoke_my_other_sessions(&cx).await?;
    /// println!("logged out of {ended} other session(s)");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`list_my_sessions`](Self::list_my_sessions).
    #[tracing::instrument(name = "sessions.revoke_my_others", skip_all)]
    pub async fn revoke_my_other_sessions(&self, cx: &StoreContext) -> Result<u64, Error> {
        let owner = self.request_owner(cx).await?;
        self.revoke(&owner, RevokeSessions::AllButCurrent, cx).await
    }

    /// For an operator: the sessions of the user `sub` at the configured domain.
    ///
    /// ```no_run
    /// # async fn demo(client: auth0_server_core::client::ServerClient, cx: auth0_server_core::store::StoreContext) -> Result<(), auth0_server_core::client::Error> {
    /// for session in client.list_user_sessions("auth0|64f0").await? {
    ///     println!("{} expires {}", session.handle, session.expires_at);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// The store's `Unsupported` on the cookie store; store failures.
    #[tracing::instrument(name = "sessions.list", skip_all)]
    pub async fn list_user_sessions(&self, sub: &str) -> Result<Vec<SessionSummary>, Error> {
        let owner = self.owner_at(self.provider().domain(), sub);
        let identifier = &self.inner.config.state_identifier;
        let cx = StoreContext::new();
        Ok(self
            .inner
            .state_store
            .list_sessions(identifier, &owner, &cx)
            .await?)
    }

    /// For an operator: ends the sessions of the user `sub` (at the configured domain) that
    /// `which` selects, and says how many ended.
    ///
    /// ```no_run
    /// # async fn demo(client: auth0_server_core::client::ServerClient, cx: auth0_server_core::store::StoreContext) -> Result<(), auth0_server_core::client::Error> {
    /// use auth0_server_core::store::RevokeSessions;
    ///
    /// let ended = client.revoke_user_sessions("auth0|64f0", RevokeSessions::All).await?;
    /// println!("{ended} session(s) ended");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`list_user_sessions`](Self::list_user_sessions).
    #[tracing::instrument(name = "sessions.revoke", skip_all)]
    pub async fn revoke_user_sessions(
        &self,
        sub: &str,
        which: RevokeSessions,
    ) -> Result<u64, Error> {
        let owner = self.owner_at(self.provider().domain(), sub);
        self.revoke(&owner, which, &StoreContext::new()).await
    }

    /// Attaches `metadata` (a user agent, …) to the request's session, to be shown in the
    /// user's list of sessions: call it once, right after a login completes (one more
    /// write, at login only). A write that races another is retried on the fresh session,
    /// as every session save is. On a store that cannot list sessions (the cookie store)
    /// it does nothing: the metadata would only grow every cookie and never be shown.
    ///
    /// ```no_run
    /// # async fn demo(client: auth0_server_core::client::ServerClient, cx: auth0_server_core::store::StoreContext) -> Result<(), auth0_server_core::client::Error> {
    /// use auth0_server_core::store::SessionMetadata;
    ///
    /// let metadata = SessionMetadata::new().with("user_agent", "Firefox/140");
    /// client.set_session_metadata(&metadata, &cx).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::MissingSession`] when the request has no session (of this request's
    /// domain); store failures.
    pub async fn set_session_metadata(
        &self,
        metadata: &SessionMetadata,
        cx: &StoreContext,
    ) -> Result<(), Error> {
        let current = self.current_session(cx).await?;
        if !self.inner.state_store.lists_sessions() {
            tracing::debug!("session metadata not kept: this store cannot list sessions");
            return Ok(());
        }
        self.save_merged(current, cx, |state| {
            metadata.store_in(&mut state.internal);
            true
        })
        .await
    }

    /// [`complete_interactive_login`](Self::complete_interactive_login), then
    /// [`set_session_metadata`](Self::set_session_metadata) on the new session.
    ///
    /// # Errors
    ///
    /// As those two.
    pub async fn complete_interactive_login_with_metadata(
        &self,
        callback_url: &str,
        metadata: &SessionMetadata,
        cx: &StoreContext,
    ) -> Result<LoginResult, Error> {
        let done = self.complete_interactive_login(callback_url, cx).await?;
        if !metadata.is_empty() {
            self.set_session_metadata(metadata, cx).await?;
        }
        Ok(done)
    }

    /// Whose sessions the request's session is: its user at its domain (only a session of
    /// this request's domain counts).
    async fn request_owner(&self, cx: &StoreContext) -> Result<SessionOwner, Error> {
        let state = self.current_session(cx).await?;
        let sub = state.user.map(|u| u.sub).filter(|s| !s.is_empty());
        let sub = sub.ok_or(Error::MissingSession)?;
        let domain = state
            .domain
            .unwrap_or_else(|| self.provider().domain().to_owned());
        Ok(self.owner_at(&domain, sub))
    }

    /// `sub` at `domain`; at the configured domain, also the sessions with no recorded
    /// domain (written before sessions recorded it, all under the configured domain).
    fn owner_at(&self, domain: &str, sub: impl Into<String>) -> SessionOwner {
        let owner = SessionOwner::new(domain, sub);
        if owner.domain == normalize_domain(self.provider().domain()) {
            owner.with_unrecorded_domain()
        } else {
            owner
        }
    }

    async fn revoke(
        &self,
        owner: &SessionOwner,
        which: RevokeSessions,
        cx: &StoreContext,
    ) -> Result<u64, Error> {
        let identifier = &self.inner.config.state_identifier;
        let ended = self
            .inner
            .state_store
            .revoke_sessions(identifier, owner, &which, cx)
            .await?
            .ended;
        meters::revoked(ended);
        Ok(ended)
    }
}

/// A handle from a form or a command line, or [`Error::InvalidArgument`].
fn parse_handle(text: &str) -> Result<SessionHandle, Error> {
    SessionHandle::parse(text).ok_or_else(|| {
        Error::InvalidArgument(
            "that is not a session handle: use one from the list of sessions".to_owned(),
        )
    })
}
