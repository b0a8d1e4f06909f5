//! The traits the SDK's client talks to.

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

use super::{
    RevokeSessions, RevokedSessions, SessionOwner, SessionSummary, StoreContext, StoreError,
    TokenUse,
};
use crate::model::{LogoutTokenClaims, StateData, TransactionData};

/// Where sessions live between requests.
///
/// Implemented by the cookie store (the session itself in the browser) and by
/// [`ServerSideStateStore`](super::ServerSideStateStore) over any [`SessionBackend`](super::SessionBackend)
/// (a session id in the browser, the session in Redis, PostgreSQL or memory). Used as
/// `Arc<dyn StateStore>`.
///
/// A cookie that is missing, tampered, truncated, expired, sealed with an unknown secret or
/// for another identifier reads as `Ok(None)`: "no session", never an error and never a panic.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// Writes the session under `identifier` (the cookie name, `_a0_session` by default).
    ///
    /// `rotate = true` is used at every login: the session gets a fresh id and the old one
    /// stops working (against session fixation). A server-side store creates the new record
    /// before it deletes the old one.
    ///
    /// # Errors
    ///
    /// [`StoreError::TooLarge`] over the store's size limit; [`StoreError::Conflict`] when
    /// another request wrote the session after this request read it;
    /// [`StoreError::SessionEnded`] when it was deleted or expired meanwhile (it is not
    /// brought back); [`StoreError::SessionExpired`] when the session is already past its
    /// lifetime's ceiling (then it is not stored, and any session under `identifier` ends);
    /// backend failures. On other errors nothing stored is changed.
    async fn set(
        &self,
        identifier: &str,
        state: &StateData,
        rotate: bool,
        cx: &StoreContext,
    ) -> Result<(), StoreError>;

    /// Reads the session under `identifier`, if there is a live one: never one past its
    /// lifetime's ceiling ([`SessionLifetime::is_over`](super::SessionLifetime::is_over)).
    ///
    /// # Errors
    ///
    /// Backend failures only.
    async fn get(
        &self,
        identifier: &str,
        cx: &StoreContext,
    ) -> Result<Option<StateData>, StoreError>;

    /// Ends the session under `identifier`; ending an absent one is not an error.
    ///
    /// # Errors
    ///
    /// Backend failures only.
    async fn delete(&self, identifier: &str, cx: &StoreContext) -> Result<(), StoreError>;

    /// Ends the sessions a validated back-channel logout token names, and says how many.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unsupported`] for stores that keep nothing server-side (cookies);
    /// backend failures.
    async fn delete_by_logout_token(
        &self,
        claims: &LogoutTokenClaims,
        cx: &StoreContext,
    ) -> Result<u64, StoreError>;

    /// Records a back-channel logout token's id until `expires_at` and says whether it was
    /// new (see [`SessionBackend::record_logout_token`](super::SessionBackend::record_logout_token)).
    /// The default keeps nothing ([`TokenUse::NotKept`]): the client then remembers ids in
    /// its own process.
    ///
    /// # Errors
    ///
    /// Backend failures only.
    async fn record_logout_token(
        &self,
        key: &str,
        expires_at: SystemTime,
        cx: &StoreContext,
    ) -> Result<TokenUse, StoreError> {
        let _ = (key, expires_at, cx);
        Ok(TokenUse::NotKept)
    }

    /// Forgets a token id recorded by [`record_logout_token`](Self::record_logout_token).
    ///
    /// # Errors
    ///
    /// Backend failures only.
    async fn forget_logout_token(&self, key: &str, cx: &StoreContext) -> Result<(), StoreError> {
        let _ = (key, cx);
        Ok(())
    }

    /// Whether this store keeps its sessions where a user's sessions can be listed
    /// ([`list_sessions`](Self::list_sessions) works): `false` by default and for the cookie
    /// store, `true` for [`ServerSideStateStore`](super::ServerSideStateStore). The client
    /// keeps session metadata only where it can be listed.
    fn lists_sessions(&self) -> bool {
        false
    }

    /// The live sessions of `owner` kept under `identifier`, the most recently active first
    /// (at most [`MAX_LISTED_SESSIONS`](super::MAX_LISTED_SESSIONS)); the one `cx`'s cookie
    /// names is marked [`current`](SessionSummary::current).
    ///
    /// # Errors
    ///
    /// [`StoreError::Unsupported`] for stores that cannot find a user's sessions (the cookie
    /// store: its sessions live in browsers; the default, for stores written before this
    /// method existed); backend failures.
    async fn list_sessions(
        &self,
        identifier: &str,
        owner: &SessionOwner,
        cx: &StoreContext,
    ) -> Result<Vec<SessionSummary>, StoreError> {
        let _ = (identifier, owner, cx);
        Err(unsupported("listing a user's sessions"))
    }

    /// Ends the sessions of `owner` that `which` selects, only ever sessions of that owner,
    /// and says how many ended (and how many of the owner's records were left because they
    /// do not open under this store's identifier and secrets). When `cx`'s own session is among them, its cookie is
    /// removed too.
    ///
    /// # Errors
    ///
    /// As [`list_sessions`](Self::list_sessions).
    async fn revoke_sessions(
        &self,
        identifier: &str,
        owner: &SessionOwner,
        which: &RevokeSessions,
        cx: &StoreContext,
    ) -> Result<RevokedSessions, StoreError> {
        let _ = (identifier, owner, which, cx);
        Err(unsupported("revoking a user's sessions"))
    }
}

/// The answer of a [`StateStore`] that does not implement a user's sessions.
fn unsupported(operation: &'static str) -> StoreError {
    StoreError::Unsupported {
        operation,
        store: "custom",
        hint: "this StateStore does not implement list_sessions and revoke_sessions; use a \
               server-side store (ServerSideStateStore over Redis, PostgreSQL or memory)",
    }
}

/// Where a login's [`TransactionData`] waits between the redirect to the provider and the
/// callback, under the key `"{transaction_identifier}:{state}"`.
///
/// Every implementation must bind a transaction to the browser that stored it: a request
/// from another browser (another [`StoreContext`]'s cookies) never reads it, even with the
/// right key, because the key comes from the callback URL, which an attacker can hand to a
/// victim (login CSRF). The cookie store keeps the transaction in the browser itself;
/// [`ServerSideTransactionStore`](super::ServerSideTransactionStore) keeps a random value
/// in a cookie that the record's key is derived from. The conformance suite checks it.
#[async_trait]
pub trait TransactionStore: Send + Sync {
    /// Stores the transaction.
    ///
    /// # Errors
    ///
    /// [`StoreError::TooLarge`] over the store's limit; backend failures.
    async fn set(
        &self,
        key: &str,
        transaction: &TransactionData,
        cx: &StoreContext,
    ) -> Result<(), StoreError>;

    /// Reads the transaction, if it exists and has not expired.
    ///
    /// # Errors
    ///
    /// Backend failures only; anything unreadable is `Ok(None)`.
    async fn get(
        &self,
        key: &str,
        cx: &StoreContext,
    ) -> Result<Option<TransactionData>, StoreError>;

    /// Deletes the transaction; deleting an absent one is not an error.
    ///
    /// # Errors
    ///
    /// Backend failures only.
    async fn delete(&self, key: &str, cx: &StoreContext) -> Result<(), StoreError>;

    /// Reads and deletes the transaction, for the callback that completes its login: one
    /// use only. The default reads, then deletes; stores that can do both in one step
    /// (so that of two concurrent callbacks only one gets the transaction) override it.
    ///
    /// # Errors
    ///
    /// Backend failures only; anything unreadable is `Ok(None)`.
    async fn take(
        &self,
        key: &str,
        cx: &StoreContext,
    ) -> Result<Option<TransactionData>, StoreError> {
        let transaction = self.get(key, cx).await?;
        self.delete(key, cx).await?;
        Ok(transaction)
    }

    /// Removes every transaction of this browser under `transaction_identifier`, after a
    /// successful login, so abandoned logins (other tabs) do not pile up in the browser.
    /// Stores that cannot tell which transactions belong to the browser do nothing (the
    /// default); theirs expire.
    ///
    /// # Errors
    ///
    /// Backend failures only.
    async fn clear(
        &self,
        transaction_identifier: &str,
        cx: &StoreContext,
    ) -> Result<(), StoreError> {
        let _ = (transaction_identifier, cx);
        Ok(())
    }
}

#[async_trait]
impl<T: StateStore + ?Sized> StateStore for Arc<T> {
    async fn set(
        &self,
        identifier: &str,
        state: &StateData,
        rotate: bool,
        cx: &StoreContext,
    ) -> Result<(), StoreError> {
        (**self).set(identifier, state, rotate, cx).await
    }
    async fn get(
        &self,
        identifier: &str,
        cx: &StoreContext,
    ) -> Result<Option<StateData>, StoreError> {
        (**self).get(identifier, cx).await
    }
    async fn delete(&self, identifier: &str, cx: &StoreContext) -> Result<(), StoreError> {
        (**self).delete(identifier, cx).await
    }
    async fn delete_by_logout_token(
        &self,
        claims: &LogoutTokenClaims,
        cx: &StoreContext,
    ) -> Result<u64, StoreError> {
        (**self).delete_by_logout_token(claims, cx).await
    }
    async fn record_logout_token(
        &self,
        key: &str,
        expires_at: SystemTime,
        cx: &StoreContext,
    ) -> Result<TokenUse, StoreError> {
        (**self).record_logout_token(key, expires_at, cx).await
    }
    async fn forget_logout_token(&self, key: &str, cx: &StoreContext) -> Result<(), StoreError> {
        (**self).forget_logout_token(key, cx).await
    }
    fn lists_sessions(&self) -> bool {
        (**self).lists_sessions()
    }
    async fn list_sessions(
        &self,
        identifier: &str,
        owner: &SessionOwner,
        cx: &StoreContext,
    ) -> Result<Vec<SessionSummary>, StoreError> {
        (**self).list_sessions(identifier, owner, cx).await
    }
    async fn revoke_sessions(
        &self,
        identifier: &str,
        owner: &SessionOwner,
        which: &RevokeSessions,
        cx: &StoreContext,
    ) -> Result<RevokedSessions, StoreError> {
        (**self).revoke_sessions(identifier, owner, which, cx).await
    }
}

#[async_trait]
impl<T: TransactionStore + ?Sized> TransactionStore for Arc<T> {
    async fn set(
        &self,
        key: &str,
        transaction: &TransactionData,
        cx: &StoreContext,
    ) -> Result<(), StoreError> {
        (**self).set(key, transaction, cx).await
    }
    async fn get(
        &self,
        key: &str,
        cx: &StoreContext,
    ) -> Result<Option<TransactionData>, StoreError> {
        (**self).get(key, cx).await
    }
    async fn delete(&self, key: &str, cx: &StoreContext) -> Result<(), StoreError> {
        (**self).delete(key, cx).await
    }
    async fn take(
        &self,
        key: &str,
        cx: &StoreContext,
    ) -> Result<Option<TransactionData>, StoreError> {
        (**self).take(key, cx).await
    }
    async fn clear(
        &self,
        transaction_identifier: &str,
        cx: &StoreContext,
    ) -> Result<(), StoreError> {
        (**self).clear(transaction_identifier, cx).await
    }
}
