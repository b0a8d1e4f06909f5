//! What the tenant remembers, in memory: login forms shown, provider sessions, authorization
//! codes, grants with their refresh tokens, and access tokens (for `/userinfo`). Tokens are
//! kept by their SHA-256, never as they are. Everything expires, and expired entries are
//! dropped as the tenant is used.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use sha2::{Digest, Sha256};

use crate::extras::DevOrganization;

/// How long a used authorization code is remembered, so that a second use of it revokes the
/// tokens the first use gave (RFC 6749 §4.1.2).
pub const USED_CODE_MEMORY: std::time::Duration = std::time::Duration::from_secs(600);

/// A token's SHA-256: what the maps are keyed by.
pub(crate) type TokenHash = [u8; 32];

/// The SHA-256 of a token.
pub(crate) fn hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

/// `N` random bytes, base64url.
pub(crate) fn random_token_of<const N: usize>() -> String {
    let mut bytes = [0u8; N];
    if let Err(e) = getrandom::fill(&mut bytes) {
        // Without an OS random source no token can be made safely; this never happens on the
        // platforms Rust's standard library supports.
        panic!("the operating system's random number generator failed: {e}");
    }
    B64.encode(bytes)
}

/// 256 random bits, base64url: codes, tokens, session cookies, ids.
pub(crate) fn random_token() -> String {
    random_token_of::<32>()
}

/// A scope: its values in the order asked, without repeats.
pub(crate) fn parse_scope(scope: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for value in scope.split_whitespace() {
        if !out.iter().any(|v| v == value) {
            out.push(value.to_owned());
        }
    }
    out
}

/// Whether a scope has a value.
pub(crate) fn has_scope(scope: &[String], value: &str) -> bool {
    scope.iter().any(|v| v == value)
}

/// The user who logged in through the form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct User {
    /// `auth0|` and 24 hex digits of the e-mail address's hash: the same e-mail address is
    /// the same user, across restarts too.
    pub(crate) sub: String,
    pub(crate) email: String,
    pub(crate) name: String,
    pub(crate) nickname: String,
}

impl User {
    /// The user for an e-mail address (already checked) and an optional display name.
    pub(crate) fn new(email: &str, name: Option<&str>) -> Self {
        let email = email.trim().to_ascii_lowercase();
        let digest = hex::encode(Sha256::digest(email.as_bytes()));
        let nickname = email.split('@').next().unwrap_or_default().to_owned();
        let name = name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map_or_else(|| email.clone(), str::to_owned);
        Self {
            sub: format!("auth0|{}", &digest[..24]),
            email,
            name,
            nickname,
        }
    }
}

/// An authorization request that passed every check.
#[derive(Clone, Debug)]
pub(crate) struct AuthRequest {
    pub(crate) redirect_uri: String,
    pub(crate) state: String,
    pub(crate) nonce: String,
    pub(crate) code_challenge: String,
    pub(crate) scope: Vec<String>,
    pub(crate) audience: Option<String>,
    pub(crate) login_hint: Option<String>,
    /// The organization asked for (`crate::extras`).
    pub(crate) organization: Option<DevOrganization>,
    /// The Rich Authorization Request's details, checked (`crate::extras`).
    pub(crate) authorization_details: Option<serde_json::Value>,
}

/// A login form shown and not yet submitted.
#[derive(Debug)]
pub(crate) struct Interaction {
    pub(crate) request: AuthRequest,
    pub(crate) expires_at: u64,
}

/// A provider session: the single sign-on cookie's record.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    pub(crate) sid: String,
    pub(crate) user: User,
    pub(crate) auth_time: u64,
    pub(crate) expires_at: u64,
}

/// An authorization code not yet exchanged.
#[derive(Debug)]
pub(crate) struct PendingCode {
    pub(crate) request: AuthRequest,
    pub(crate) user: User,
    pub(crate) sid: String,
    pub(crate) auth_time: u64,
    pub(crate) expires_at: u64,
}

/// What a code exchange granted: refresh tokens and access tokens hang off it, and revoking
/// it ends them all.
#[derive(Clone, Debug)]
pub(crate) struct Grant {
    pub(crate) user: User,
    pub(crate) sid: String,
    pub(crate) auth_time: u64,
    pub(crate) scope: Vec<String>,
    pub(crate) audience: Option<String>,
    pub(crate) expires_at: u64,
    /// The organization logged in to (`crate::extras`).
    pub(crate) organization: Option<DevOrganization>,
    /// The authorization details granted (`crate::extras`).
    pub(crate) authorization_details: Option<serde_json::Value>,
}

/// A refresh token: usable once, then remembered as used until its grant expires, so that a
/// second use is seen (reuse detection).
#[derive(Debug)]
pub(crate) struct RefreshRecord {
    pub(crate) grant: u64,
    pub(crate) used: bool,
    pub(crate) expires_at: u64,
}

/// An access token, for `/userinfo`.
#[derive(Debug)]
pub(crate) struct AccessRecord {
    pub(crate) grant: u64,
    pub(crate) user: User,
    pub(crate) scope: Vec<String>,
    pub(crate) expires_at: u64,
}

/// A code that was exchanged (or failed to be): a second use revokes its grant.
#[derive(Debug)]
pub(crate) struct UsedCode {
    pub(crate) grant: Option<u64>,
    pub(crate) forget_at: u64,
}

/// What became of a CIBA request on the user's "device".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BackchannelAnswer {
    Pending,
    Approved,
    Denied,
}

/// A CIBA request (keyed by its `auth_req_id`'s hash): who, what for, and how it is polled.
#[derive(Clone, Debug)]
pub(crate) struct BackchannelRequest {
    /// What the approving API names it by (not the `auth_req_id`, which only the client has).
    pub(crate) id: String,
    pub(crate) user: User,
    pub(crate) scope: Vec<String>,
    pub(crate) audience: Option<String>,
    pub(crate) binding_message: Option<String>,
    pub(crate) answer: BackchannelAnswer,
    pub(crate) interval: u64,
    pub(crate) last_poll: Option<u64>,
    pub(crate) expires_at: u64,
    /// Kept past `expires_at` for this long, to answer `expired_token` rather than unknown.
    pub(crate) forget_at: u64,
}

/// Everything the tenant remembers.
#[derive(Debug, Default)]
pub(crate) struct Memory {
    pub(crate) interactions: HashMap<String, Interaction>,
    pub(crate) sessions: HashMap<TokenHash, Session>,
    pub(crate) codes: HashMap<TokenHash, PendingCode>,
    pub(crate) used_codes: HashMap<TokenHash, UsedCode>,
    pub(crate) grants: HashMap<u64, Grant>,
    next_grant: u64,
    pub(crate) refresh_tokens: HashMap<TokenHash, RefreshRecord>,
    pub(crate) access_tokens: HashMap<TokenHash, AccessRecord>,
    /// The `jti` of client assertions used, until they expire (replays are refused).
    pub(crate) used_assertions: HashMap<TokenHash, u64>,
    /// CIBA requests, by their `auth_req_id`'s hash.
    pub(crate) backchannel: HashMap<TokenHash, BackchannelRequest>,
    /// Users the tenant was told of by e-mail ([`DevTenant::user_id`](crate::DevTenant::user_id)),
    /// by `sub`, so that a CIBA `login_hint` can name them.
    pub(crate) users: HashMap<String, User>,
    /// Passwordless codes waiting for their user, by (connection, e-mail or phone number).
    pub(crate) passwordless:
        HashMap<(String, String), crate::endpoints::passwordless::PendingPasswordless>,
    /// Token Vault and custom token exchange (`crate::vault`).
    pub(crate) vault: crate::vault::VaultMemory,
    /// The MFA API's tokens, authenticators, challenges and codes.
    pub(crate) mfa: crate::endpoints::mfa::MfaMemory,
    /// Pushed authorization requests, by their `request_uri`'s hash.
    pub(crate) pushed: HashMap<TokenHash, PushedRequest>,
}

/// A pushed authorization request (`/oauth/par`), waiting for its `/authorize`.
#[derive(Debug)]
pub(crate) struct PushedRequest {
    /// The authorization parameters, form-encoded (no client credentials).
    pub(crate) query: String,
    /// Unix seconds.
    pub(crate) expires_at: u64,
}

impl Memory {
    /// Drops everything expired at `now`.
    pub(crate) fn sweep(&mut self, now: u64) {
        self.interactions.retain(|_, i| i.expires_at > now);
        self.sessions.retain(|_, s| s.expires_at > now);
        self.codes.retain(|_, c| c.expires_at > now);
        self.used_codes.retain(|_, c| c.forget_at > now);
        self.grants.retain(|_, g| g.expires_at > now);
        self.refresh_tokens.retain(|_, r| r.expires_at > now);
        self.access_tokens.retain(|_, a| a.expires_at > now);
        self.used_assertions
            .retain(|_, expires_at| *expires_at > now);
        self.backchannel.retain(|_, r| r.forget_at > now);
        self.passwordless.retain(|_, p| p.expires_at > now);
        self.pushed.retain(|_, p| p.expires_at > now);
        self.vault.sweep(now);
        self.mfa.sweep(now, &self.grants);
    }

    /// The user a `sub` names: one told of by e-mail, or one with a session or grant here.
    pub(crate) fn user_by_sub(&self, sub: &str) -> Option<User> {
        self.users
            .get(sub)
            .or_else(|| {
                self.sessions
                    .values()
                    .map(|s| &s.user)
                    .find(|u| u.sub == sub)
            })
            .or_else(|| self.grants.values().map(|g| &g.user).find(|u| u.sub == sub))
            .cloned()
    }

    /// Remembers a grant and returns its id.
    pub(crate) fn add_grant(&mut self, grant: Grant) -> u64 {
        self.next_grant += 1;
        self.grants.insert(self.next_grant, grant);
        self.next_grant
    }

    /// Ends a grant and every token issued under it.
    pub(crate) fn revoke_grant(&mut self, id: u64) {
        self.grants.remove(&id);
        self.refresh_tokens.retain(|_, r| r.grant != id);
        self.access_tokens.retain(|_, a| a.grant != id);
    }

    /// The live session a cookie names.
    pub(crate) fn session(&self, cookie: &str, now: u64) -> Option<&Session> {
        self.sessions
            .get(&hash(cookie))
            .filter(|s| s.expires_at > now)
    }

    /// Ends the sessions with this `sid`; returns them.
    pub(crate) fn end_sessions_by_sid(&mut self, sid: &str) -> Vec<Session> {
        let mut ended = Vec::new();
        self.sessions.retain(|_, s| {
            if s.sid == sid {
                ended.push(s.clone());
                false
            } else {
                true
            }
        });
        ended
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_email_is_one_user_whatever_its_case() {
        let a = User::new("Ada@Example.com", None);
        let b = User::new(" ada@example.com ", Some("Ada Lovelace"));
        assert_eq!(a.sub, b.sub);
        assert!(
            a.sub.starts_with("auth0|") && a.sub.len() == 30,
            "{}",
            a.sub
        );
        assert_eq!(a.name, "ada@example.com");
        assert_eq!(b.name, "Ada Lovelace");
        assert_eq!(a.nickname, "ada");
        assert_ne!(User::new("bob@example.com", None).sub, a.sub);
    }

    #[test]
    fn scopes_keep_their_order_without_repeats() {
        assert_eq!(
            parse_scope(" openid  profile openid email "),
            ["openid", "profile", "email"]
        );
    }

    #[test]
    fn revoking_a_grant_ends_its_tokens_only() {
        let mut m = Memory::default();
        let grant = Grant {
            user: User::new("a@b.c", None),
            sid: "s".into(),
            auth_time: 1,
            scope: vec![],
            audience: None,
            expires_at: 100,
            organization: None,
            authorization_details: None,
        };
        let g1 = m.add_grant(grant.clone());
        let g2 = m.add_grant(grant.clone());
        for (token, g) in [("rt1", g1), ("rt2", g2)] {
            m.refresh_tokens.insert(
                hash(token),
                RefreshRecord {
                    grant: g,
                    used: false,
                    expires_at: 100,
                },
            );
        }
        m.revoke_grant(g1);
        assert!(!m.grants.contains_key(&g1) && m.grants.contains_key(&g2));
        assert!(!m.refresh_tokens.contains_key(&hash("rt1")));
        assert!(m.refresh_tokens.contains_key(&hash("rt2")));
    }

    #[test]
    fn sweep_drops_what_expired() {
        let mut m = Memory::default();
        m.interactions.insert(
            "i".into(),
            Interaction {
                request: AuthRequest {
                    redirect_uri: String::new(),
                    state: String::new(),
                    nonce: String::new(),
                    code_challenge: String::new(),
                    scope: vec![],
                    audience: None,
                    login_hint: None,
                    organization: None,
                    authorization_details: None,
                },
                expires_at: 10,
            },
        );
        m.sweep(9);
        assert_eq!(m.interactions.len(), 1);
        m.sweep(10);
        assert!(m.interactions.is_empty());
    }
}
