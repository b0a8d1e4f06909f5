//! Sample data shared by the conformance suite's users and the workspace benches.

use auth0_store_core::model::{Internal, StateData, TokenSet, UserClaims};

/// A JWT-shaped string (`header.body.signature`) whose body is `body_len` base64url
/// characters starting with `seed`, so its size is that of a real RS256 token.
fn jwt_like(body_len: usize, seed: &str) -> String {
    let filler = "A".repeat(body_len.saturating_sub(seed.len()));
    format!(
        "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.{seed}{filler}.{}",
        "s".repeat(342)
    )
}

/// A realistic session, as the benches of `docs/benchmarks.md` measure it: user claims, an ID
/// token, a refresh token and two JWT-sized access tokens for two APIs, about 4 KB of JSON
/// once serialised. The same value on every call.
///
/// ```
/// let session = auth0_store_conformance::sample::realistic_session();
/// let json = serde_json::to_vec(&session).unwrap();
/// assert!((3_500..5_000).contains(&json.len()));
/// ```
pub fn realistic_session() -> StateData {
    let now = 1_900_000_000;
    let user = UserClaims {
        sub: "auth0|64f1c0ffee".into(),
        name: Some("Ada Lovelace".into()),
        nickname: Some("ada".into()),
        picture: Some("https://s.gravatar.com/avatar/0000?s=480&r=pg".into()),
        email: Some("ada@example.com".into()),
        email_verified: Some(true),
        ..UserClaims::default()
    };
    let token_set = |audience: &str, seed: &str| TokenSet {
        audience: audience.into(),
        access_token: jwt_like(748, seed),
        scope: Some("openid profile email offline_access read:messages".into()),
        expires_at: now + 86_400,
        extra: Default::default(),
    };
    StateData {
        user: Some(user),
        id_token: Some(jwt_like(696, "id")),
        refresh_token: Some("v1.MRrtBench".to_owned() + &"r".repeat(120)),
        token_sets: vec![
            token_set("https://api.example.com", "a"),
            token_set("https://billing.example.com", "b"),
        ],
        domain: Some("tenant.eu.auth0.com".into()),
        internal: Internal {
            sid: "sid-bench".into(),
            created_at: now,
            ..Internal::default()
        },
        ..StateData::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_realistic_session_is_about_four_kilobytes_of_json() {
        let json = serde_json::to_vec(&realistic_session()).unwrap();
        assert_eq!(json.len(), 4_206, "docs/benchmarks.md quotes this size");
    }
}
