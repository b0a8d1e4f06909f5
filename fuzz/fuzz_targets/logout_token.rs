//! Back-channel logout tokens: parsing and validation through
//! `ServerClient::handle_backchannel_logout`, against the fixture tenant's preloaded keys.
//!
//! Input as `id_token`'s: the first byte picks a raw token (`% 3 == 0`) or a header and a
//! payload (split at a NUL byte) signed with the RS256 (`1`) or ES256 (`2`) fixture key. The
//! session store is the cookie one, which answers `Unsupported` to a token that passed
//! validation; oracle: such a token has a permitted `alg`, this tenant's issuer and client,
//! the back-channel logout event, `sid` or `sub`, a `jti`, an `exp` and no `nonce`.
#![no_main]

use auth0_server_core::client::{BACKCHANNEL_LOGOUT_EVENT, Error};
use auth0_server_core::store::{StoreContext, StoreError};
use auth0_server_fuzz::{
    assert_common_claims, runtime, shared_client, token_from, unverified_claims, unverified_header,
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some((_, token)) = token_from(data) else {
        return;
    };
    let cx = StoreContext::new();
    let outcome = runtime().block_on(shared_client().handle_backchannel_logout(&token, &cx));
    // Past validation, the cookie store answers that it cannot end sessions by token; any
    // other error (an invalid token, an unknown `kid` that would need a key-set refetch) is
    // a refusal.
    let accepted = matches!(
        outcome,
        Ok(_) | Err(Error::Store(StoreError::Unsupported { .. }))
    );
    if accepted {
        let header = unverified_header(&token).expect("accepted a token without a header");
        let alg = header.get("alg").and_then(Value::as_str);
        assert!(
            matches!(alg, Some("RS256" | "ES256")),
            "accepted a token signed with {alg:?}"
        );
        let claims = unverified_claims(&token).expect("accepted a token without claims");
        assert_common_claims(&claims);
        let event = claims
            .get("events")
            .and_then(Value::as_object)
            .and_then(|e| e.get(BACKCHANNEL_LOGOUT_EVENT));
        assert!(
            event.is_some_and(Value::is_object),
            "accepted without the event"
        );
        assert!(
            !claims.contains_key("nonce"),
            "accepted a logout token with a nonce"
        );
        let has = |name: &str| {
            claims
                .get(name)
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty())
        };
        assert!(has("sid") || has("sub"), "accepted without sid or sub");
        assert!(has("jti"), "accepted without jti");
        assert!(
            claims.get("exp").is_some_and(Value::is_number),
            "accepted without exp"
        );
    }
});
