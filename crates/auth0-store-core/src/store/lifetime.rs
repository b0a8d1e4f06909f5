//! How long a session lives: one number for cookie `Max-Age`, JWE `exp`, Redis expiry and
//! the PostgreSQL `expires_at`.

use std::time::Duration;

use crate::model::StateData;

/// Default inactivity timeout of rolling sessions: one day.
pub const DEFAULT_INACTIVITY: Duration = Duration::from_secs(24 * 60 * 60);
/// Default absolute lifetime: three days after login, however active the user is.
pub const DEFAULT_ABSOLUTE: Duration = Duration::from_secs(3 * 24 * 60 * 60);

/// The session lifetime policy, as in the other Auth0 server SDKs.
///
/// A rolling session ends after [`inactivity`](Self::inactivity) without a write, and in any
/// case [`absolute`](Self::absolute) after login; both are capped by the provider's
/// `session_expiry` ceiling, when it sent one.
///
/// ```
/// use auth0_store_core::{model::StateData, store::SessionLifetime};
///
/// let mut state = StateData::default();
/// state.internal.created_at = 1_000_000;
/// let lifetime = SessionLifetime::default();
/// // One day of inactivity from now...
/// assert_eq!(lifetime.expires_at(&state, 1_000_000), 1_000_000 + 86_400);
/// // ...but never past three days after login.
/// assert_eq!(lifetime.expires_at(&state, 1_000_000 + 250_000), 1_000_000 + 259_200);
/// // And never past the provider's ceiling.
/// state.internal.session_expires_at = Some(1_000_500);
/// assert_eq!(lifetime.expires_at(&state, 1_000_000), 1_000_500);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionLifetime {
    /// Whether each write extends the session by `inactivity`.
    pub rolling: bool,
    /// How long a rolling session survives without a write.
    pub inactivity: Duration,
    /// How long any session survives after login.
    pub absolute: Duration,
}

impl Default for SessionLifetime {
    fn default() -> Self {
        Self {
            rolling: true,
            inactivity: DEFAULT_INACTIVITY,
            absolute: DEFAULT_ABSOLUTE,
        }
    }
}

impl SessionLifetime {
    /// When a session written now ends (unix seconds).
    ///
    /// A session with no `created_at` counts as created now.
    pub fn expires_at(&self, state: &StateData, now: u64) -> u64 {
        let created_at = if state.internal.created_at == 0 {
            now
        } else {
            state.internal.created_at
        };
        let absolute = created_at.saturating_add(self.absolute.as_secs());
        let mut expires_at = if self.rolling {
            absolute.min(now.saturating_add(self.inactivity.as_secs()))
        } else {
            absolute
        };
        if let Some(ceiling) = provider_ceiling(state) {
            expires_at = expires_at.min(ceiling);
        }
        expires_at
    }

    /// The latest moment (unix seconds) the session may live, however active the user is:
    /// [`absolute`](Self::absolute) after login, capped by the provider's ceiling
    /// (`internal.session_expires_at`, the user's `session_expiry`). `None` when neither is
    /// known (no `created_at` and no ceiling).
    ///
    /// ```
    /// use auth0_store_core::{model::StateData, store::SessionLifetime};
    ///
    /// let mut state = StateData::default();
    /// state.internal.created_at = 1_000_000;
    /// let lifetime = SessionLifetime::default();
    /// assert_eq!(lifetime.ceiling(&state), Some(1_000_000 + 259_200));
    /// assert!(!lifetime.is_over(&state, 1_000_000 + 259_199));
    /// assert!(lifetime.is_over(&state, 1_000_000 + 259_200));
    /// state.internal.session_expires_at = Some(1_000_500);
    /// assert!(lifetime.is_over(&state, 1_000_500));
    /// ```
    pub fn ceiling(&self, state: &StateData) -> Option<u64> {
        let absolute = (state.internal.created_at != 0).then(|| {
            state
                .internal
                .created_at
                .saturating_add(self.absolute.as_secs())
        });
        match (absolute, provider_ceiling(state)) {
            (Some(a), Some(p)) => Some(a.min(p)),
            (a, p) => a.or(p),
        }
    }

    /// Whether the session is past its [`ceiling`](Self::ceiling) at `now`: then it is no
    /// session, whatever a cookie's `Max-Age` or a record's expiry says. Every store checks
    /// this on every read, so a session written under a longer lifetime, by another SDK, or
    /// in a layout without an expiry of its own (the Python cookie layout) still ends.
    pub fn is_over(&self, state: &StateData, now: u64) -> bool {
        self.ceiling(state).is_some_and(|ceiling| ceiling <= now)
    }
}

/// The provider's ceiling on a session: the lower of `internal.session_expires_at` and the
/// user's `session_expiry` claim.
fn provider_ceiling(state: &StateData) -> Option<u64> {
    let claim = state
        .user
        .as_ref()
        .and_then(|u| u.session_expiry)
        .and_then(|v| u64::try_from(v).ok());
    match (state.internal.session_expires_at, claim) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
