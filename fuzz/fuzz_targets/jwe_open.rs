//! JWE opening in both layouts (`auth0-server-python`'s, without `kid`, and the rotating one
//! with `kid` and `exp`): the first byte picks the identifier and the type opened into, the
//! rest is the token. Every failure must be an `OpenError`, never a panic.
#![no_main]

use auth0_server_core::model::{StateData, TransactionData};
use auth0_server_core::seal::{CookieFormat, CookieSealer};
use auth0_server_fuzz::{SEED_STATE, STATE_IDENTIFIER, TRANSACTION_IDENTIFIER, cookie_sealer};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::sync::OnceLock;

fn sealer() -> &'static CookieSealer {
    static SEALER: OnceLock<CookieSealer> = OnceLock::new();
    SEALER.get_or_init(cookie_sealer)
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, token)) = data.split_first() else {
        return;
    };
    let Ok(token) = std::str::from_utf8(token) else {
        return;
    };
    let sealer = sealer();
    match selector % 3 {
        0 => {
            if let Ok(opened) = sealer.open_detailed::<StateData>(STATE_IDENTIFIER, token) {
                // Only the rotating layout carries an expiry, and it is not past.
                assert_eq!(
                    opened.expires_at.is_some(),
                    opened.format == CookieFormat::Rotating
                );
            }
        }
        1 => {
            let key = format!("{TRANSACTION_IDENTIFIER}:{SEED_STATE}");
            let _ = sealer.open::<TransactionData>(&key, token);
        }
        _ => {
            let _ = sealer.open::<Value>(STATE_IDENTIFIER, token);
        }
    }
});
