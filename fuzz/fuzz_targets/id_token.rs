//! ID-token parsing and validation, through the same code a callback runs, against the
//! fixture tenant's preloaded keys (no network).
//!
//! The first byte picks the mode: `% 3 == 0`, the rest is a token as it is; otherwise the rest
//! is a header and a payload (JSON, split at a NUL byte) that the target signs with the
//! fixture RS256 (`1`) or ES256 (`2`) key, so the checks after the signature are reached.
//! Bit `0x04` drops the expected nonce. Oracle: a token that is accepted has a permitted
//! `alg`, this tenant's issuer, this client among its audiences, times that hold, a `sub`,
//! and the nonce.
#![no_main]

use auth0_server_core::fuzzing;
use auth0_server_fuzz::{
    NONCE, assert_common_claims, runtime, shared_client, token_from, unverified_claims,
    unverified_header,
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some((mode, token)) = token_from(data) else {
        return;
    };
    let nonce = (mode & 0x04 == 0).then_some(NONCE);
    let outcome = runtime().block_on(fuzzing::validate_id_token(shared_client(), &token, nonce));
    if outcome.is_ok() {
        let header = unverified_header(&token).expect("accepted a token without a header");
        let alg = header.get("alg").and_then(Value::as_str);
        assert!(
            matches!(alg, Some("RS256" | "ES256")),
            "accepted a token signed with {alg:?}"
        );
        let claims = unverified_claims(&token).expect("accepted a token without claims");
        assert_common_claims(&claims);
        assert!(claims.get("exp").is_some_and(Value::is_number), "no exp");
        assert!(
            claims
                .get("sub")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty()),
            "accepted a token without sub"
        );
        if let Some(nonce) = nonce {
            assert_eq!(
                claims.get("nonce").and_then(Value::as_str),
                Some(nonce),
                "accepted a token with another nonce"
            );
        }
    }
});
