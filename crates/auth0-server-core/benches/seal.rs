//! Sealing and opening at 1, 4 and 16 KB of plaintext JSON: the cookie sealer
//! (`CookieSealer`, JWE `dir` + A256CBC-HS512) in both layouts, and the record sealer
//! (`RecordSealer`, XChaCha20-Poly1305) of the server-side stores.
//!
//! Every session read and write goes through one of these, so their cost is the floor of
//! every store operation; this bench shows how it grows with the size of the session.
//!
//! What is measured, per operation:
//!
//! - `jwe_python_*`, `jwe_rotating_*`: `CookieSealer::seal` of a `StateData` (serialising it,
//!   encrypting, base64url) and `CookieSealer::open::<StateData>` of the token (splitting,
//!   checking the tag, decrypting, parsing into the typed model) — what the cookie store does.
//! - `record_*`: `RecordSealer::seal` and `open` of the JSON bytes, with the store's
//!   associated data (`{identifier}:{session id}`) — the cipher only: the server-side store
//!   serialises and parses the JSON outside the sealer, so no JSON work is in these numbers.
//!
//! The size (the parameter in the id, and the `Throughput::Bytes`) is the exact length of
//! the plaintext the cipher encrypts: 1024, 4096 or 16384 bytes of JSON. For the rotating
//! layout that plaintext is the session's JSON plus the `,"exp":…` member the sealer adds, so
//! its session is 17 bytes shorter; the set-up checks every length before measuring.
//! The sessions are built from `auth0_store_conformance::sample::realistic_session()`: its
//! user claims, refresh token and token sets (as many API token sets as fit), with the ID
//! token padded to the exact size.
//!
//! Keys are derived once, before measuring, as the application does: `RecordSealer::new`
//! derives them at construction; `CookieSealer` derives a key on first use for a (secret,
//! identifier, kid) and keeps it, so each sealer seals and opens once before its benches.
//!
//! Group `seal`, ids `{scheme}_{op}/{bytes}` with scheme `jwe_python`, `jwe_rotating` or
//! `record` and op `seal` or `open`; criterion writes each to
//! `target/criterion/seal/{scheme}_{op}/{bytes}/`.

use std::hint::black_box;

use auth0_server_core::Secrets;
use auth0_server_core::model::{StateData, TokenSet};
use auth0_server_core::seal::{CookieFormat, CookieSealer, RecordSealer};
use auth0_store_conformance::sample::realistic_session;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::Value;

const SECRET: &str = "bench-secret-that-is-at-least-32-chars-long";
/// The cookie name, which is the JWE key's salt.
const ID: &str = "_a0_session";
/// The associated data `ServerSideStateStore` seals a record with: identifier and session id.
const RECORD_AAD: &[u8] = b"_a0_session:q2Vn1pA0b9m3xK7cT4wZ8yH6uJ5rE2sD1fG0hL9kM8n";
/// The `exp` written into rotating tokens (2100-01-01): far from the system clock's now.
const EXP: u64 = 4_102_444_800;
/// The plaintext sizes measured, in bytes of JSON.
const SIZES: [usize; 3] = [1024, 4096, 16384];
/// The shortest ID token a sized session gets; token sets are added while this much is left.
const MIN_ID_TOKEN_LEN: usize = 400;

fn json_len<T: serde::Serialize>(value: &T) -> usize {
    serde_json::to_vec(value)
        .expect("the session serialises")
        .len()
}

/// A session whose JSON is exactly `len` bytes: the realistic session's user, refresh token
/// and as many of its token sets (under new audiences) as leave room for an ID token, which
/// is then padded to the exact length.
fn session_of_json_len(len: usize) -> StateData {
    let template = realistic_session();
    let set = template.token_sets[0].clone();
    let mut state = StateData {
        token_sets: Vec::new(),
        id_token: Some(String::new()),
        ..template
    };
    for i in 0.. {
        let mut next = state.clone();
        next.token_sets.push(TokenSet {
            audience: format!("https://api{i}.example.com"),
            ..set.clone()
        });
        if json_len(&next) + MIN_ID_TOKEN_LEN > len {
            break;
        }
        state = next;
    }
    let pad = len
        .checked_sub(json_len(&state))
        .expect("the session without its ID token fits in the size");
    // base64url characters: one byte each in the JSON, no escaping.
    state.id_token = Some(format!("eyJ{}", "A".repeat(pad.saturating_sub(3))));
    assert_eq!(json_len(&state), len, "the sized session is {len} bytes");
    state
}

/// The plaintext the rotating layout encrypts: the session's JSON with `exp` added last.
fn rotating_plaintext_len(state: &StateData) -> usize {
    let mut value = serde_json::to_value(state).expect("the session serialises");
    let Value::Object(object) = &mut value else {
        unreachable!("a session is a JSON object")
    };
    object.insert("exp".to_owned(), Value::from(EXP));
    json_len(&value)
}

fn bench(c: &mut Criterion) {
    let secrets = Secrets::parse(SECRET).expect("the bench secret is valid");
    let record = RecordSealer::new(&secrets);
    let mut group = c.benchmark_group("seal");
    for size in SIZES {
        group.throughput(Throughput::Bytes(size as u64));
        for (scheme, format) in [
            ("jwe_python", CookieFormat::Python),
            ("jwe_rotating", CookieFormat::Rotating),
        ] {
            let state = match format {
                CookieFormat::Python => session_of_json_len(size),
                CookieFormat::Rotating => {
                    let exp_member = rotating_plaintext_len(&StateData::default())
                        - json_len(&StateData::default());
                    let state = session_of_json_len(size - exp_member);
                    assert_eq!(rotating_plaintext_len(&state), size);
                    state
                }
            };
            let sealer = CookieSealer::new(secrets.clone()).with_format(format);
            // Derives and caches this sealer's key, outside the measurement.
            let token = sealer.seal(ID, &state, EXP).expect("the session seals");
            let opened: StateData = sealer.open(ID, &token).expect("the token opens");
            assert_eq!(opened, state);
            group.bench_function(BenchmarkId::new(format!("{scheme}_seal"), size), |b| {
                b.iter(|| sealer.seal(ID, black_box(&state), EXP).unwrap())
            });
            group.bench_function(BenchmarkId::new(format!("{scheme}_open"), size), |b| {
                b.iter(|| sealer.open::<StateData>(ID, black_box(&token)).unwrap())
            });
        }
        let json = serde_json::to_vec(&session_of_json_len(size)).expect("the session serialises");
        assert_eq!(json.len(), size);
        let sealed = record.seal(RECORD_AAD, &json).expect("the record seals");
        assert_eq!(
            record.open(RECORD_AAD, &sealed).expect("the record opens"),
            json
        );
        group.bench_function(BenchmarkId::new("record_seal", size), |b| {
            b.iter(|| record.seal(RECORD_AAD, black_box(&json)).unwrap())
        });
        group.bench_function(BenchmarkId::new("record_open", size), |b| {
            b.iter(|| record.open(RECORD_AAD, black_box(&sealed)).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
