//! Reading a realistic session from the cookie store, side by side with the floor for that
//! read (HMAC-SHA-512 + AES-256-CBC over the token, then parsing the JSON) in the same run;
//! then the same read answered by the store's read cache (cookies seen before).
//! The token is also written to `target/bench/session-cookie.txt` for the Python comparison
//! (`scripts/bench`).

use std::hint::black_box;
use std::sync::Arc;

use auth0_store_conformance::sample::realistic_session;
use auth0_store_cookie::CookieStateStore;
use auth0_store_core::Secrets;
use auth0_store_core::clock::SystemClock;
use auth0_store_core::model::StateData;
use auth0_store_core::seal::CookieFormat;
use auth0_store_core::store::{StateStore, StoreContext};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use criterion::{Criterion, criterion_group, criterion_main};
use hkdf::Hkdf;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use openssl::symm::{Cipher, decrypt};
use sha2::Sha256;

const SECRET: &str = "bench-secret-that-is-at-least-32-chars-long";
const ID: &str = "_a0_session";

fn cookies_for(
    store: &CookieStateStore,
    state: &StateData,
    rt: &tokio::runtime::Runtime,
) -> Vec<(String, String)> {
    let cx = StoreContext::new();
    rt.block_on(store.set(ID, state, true, &cx))
        .expect("the session fits");
    cx.cookies()
}

/// The floor: verify the tag (HMAC-SHA-512), decrypt (AES-256-CBC), parse the JSON.
fn floor(key: &[u8; 64], token: &str) -> serde_json::Value {
    let parts: Vec<&str> = token.split('.').collect();
    let iv = B64.decode(parts[2]).unwrap();
    let ct = B64.decode(parts[3]).unwrap();
    let tag = B64.decode(parts[4]).unwrap();
    let aad = parts[0].as_bytes();
    let pkey = PKey::hmac(&key[..32]).unwrap();
    let mut signer = Signer::new(MessageDigest::sha512(), &pkey).unwrap();
    signer.update(aad).unwrap();
    signer.update(&iv).unwrap();
    signer.update(&ct).unwrap();
    signer
        .update(&((aad.len() as u64) * 8).to_be_bytes())
        .unwrap();
    let mac = signer.sign_to_vec().unwrap();
    assert!(openssl::memcmp::eq(&mac[..32], &tag));
    let plain = decrypt(Cipher::aes_256_cbc(), &key[32..], Some(&iv), &ct).unwrap();
    serde_json::from_slice(&plain).unwrap()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let state = realistic_session();
    let json_len = serde_json::to_vec(&state).unwrap().len();
    let secrets = Secrets::parse(SECRET).unwrap();
    let mut group = c.benchmark_group(format!("cookie_read_{json_len}_byte_session"));
    for (name, format) in [
        ("python_layout", CookieFormat::Python),
        ("rotating_layout", CookieFormat::Rotating),
    ] {
        // No read cache here: this measures opening the cookies, as a first request does.
        let store = CookieStateStore::new(secrets.clone())
            .with_format(format)
            .with_clock(Arc::new(SystemClock))
            .with_read_cache(0);
        let cookies = cookies_for(&store, &state, &rt);
        if format == CookieFormat::Python {
            let token: String = cookies.iter().map(|(_, v)| v.as_str()).collect();
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("session-cookie.txt"), &token).unwrap();
            std::fs::write(dir.join("session-cookie.secret"), SECRET).unwrap();
            let mut key = [0u8; 64];
            Hkdf::<Sha256>::new(Some(ID.as_bytes()), SECRET.as_bytes())
                .expand(b"Auth0 Generated Encryption", &mut key)
                .unwrap();
            group.bench_function("floor_hmac_aes_json", |b| {
                b.iter(|| floor(black_box(&key), black_box(&token)))
            });
        }
        group.bench_function(format!("cookie_store_get_{name}"), |b| {
            b.iter(|| {
                let cx = StoreContext::from_cookies(cookies.clone());
                rt.block_on(store.get(ID, black_box(&cx))).unwrap().unwrap()
            })
        });
    }
    // The default store, whose read cache answers for cookies it has opened before: what
    // every request after a browser's first costs.
    let cached = CookieStateStore::new(secrets).with_clock(Arc::new(SystemClock));
    let cookies = cookies_for(&cached, &state, &rt);
    group.bench_function("cookie_store_get_cached", |b| {
        b.iter(|| {
            let cx = StoreContext::from_cookies(cookies.clone());
            rt.block_on(cached.get(ID, black_box(&cx)))
                .unwrap()
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
