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

use std::sync::{Arc, OnceLock};

use auth0_server_core::client::ServerClient;
use auth0_server_core::fuzzing;
use auth0_server_fuzz::{
    Alg, NONCE, assert_common_claims, cookie_state_store, cookie_transaction_store, offline_client,
    runtime, sign, split_nul, unverified_claims, unverified_header,
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn client() -> &'static ServerClient {
    static CLIENT: OnceLock<ServerClient> = OnceLock::new();
    CLIENT.get_or_init(|| {
        runtime().block_on(offline_client(
            Arc::new(cookie_state_store()),
            Arc::new(cookie_transaction_store()),
        ))
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let token = match mode % 3 {
        0 => match std::str::from_utf8(rest) {
            Ok(token) => token.to_owned(),
            Err(_) => return,
        },
        alg => {
            let (header, payload) = split_nul(rest);
            let alg = if alg == 1 { Alg::Rs256 } else { Alg::Es256 };
            sign(alg, header, payload)
        }
    };
    let nonce = (mode & 0x04 == 0).then_some(NONCE);
    let outcome = runtime().block_on(fuzzing::validate_id_token(client(), &token, nonce));
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
