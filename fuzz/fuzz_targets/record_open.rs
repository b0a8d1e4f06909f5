//! Record opening (`RecordSealer::open`, what Redis, PostgreSQL and memory return) and the
//! JSON inside: the first byte is the length of the associated data (the session it is bound
//! to), then that data, then the sealed record.
#![no_main]

use auth0_server_core::model::StateData;
use auth0_server_core::seal::RecordSealer;
use auth0_server_fuzz::record_sealer;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn sealer() -> &'static RecordSealer {
    static SEALER: OnceLock<RecordSealer> = OnceLock::new();
    SEALER.get_or_init(record_sealer)
}

fuzz_target!(|data: &[u8]| {
    let Some((&aad_len, rest)) = data.split_first() else {
        return;
    };
    let (aad, sealed) = rest.split_at(usize::from(aad_len).min(rest.len()));
    if let Ok(json) = sealer().open(aad, sealed) {
        // What the server-side store does next with an opened record.
        let _ = serde_json::from_slice::<StateData>(&json);
    }
});
