use super::*;
use crate::clock::ManualClock;
use serde_json::json;

const SECRET: &str = "test-secret-that-is-at-least-32-chars-long";
const OTHER_SECRET: &str = "another-secret-that-is-at-least-32-chars";
const ZERO_IV: [u8; IV_LEN] = [0; IV_LEN];

/// A known answer of the Python layout: the key for salt `_a0_session`.
const PYTHON_KEY_HEX: &str = "9e7ed5537823a6d672136e8dc0a2f429810be9b41d7be2758c794f75e866e725e8f0cb8d073d434e9c5ac627a5f26f67dcfcddd0cbf9d85aeaff82b81d6cb4a3";
/// A known answer of the Python layout: the token of `{"hello": "world"}` with a zero IV.
const PYTHON_TOKEN: &str = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2Q0JDLUhTNTEyIn0..AAAAAAAAAAAAAAAAAAAAAA.yFx2-QeFViSDuEwBIcyNq9zfGC8RUwLNfdFMohKPYfc.CbIVdyRd8DDmlMqrpJ1_hMR-kWymvZykYGZ71vVdGB0";
/// A known answer of the rotating layout: the key for salt `__a0_session` + the kid below.
const ROTATING_KEY_HEX: &str = "bd33f23f5b79182d0ee53e2c88ee1fe910276624120cf6221817c68e5786081216d84824b130716f579449fc8ebbf0c92ac305149932d30cbd89e603705bc59b";
const ROTATING_KID: &str = "00000000-0000-4000-8000-000000000000";
/// A known answer of the rotating layout: its token of `{"hello":"world","exp":4102444800}` with a zero IV.
const ROTATING_TOKEN: &str = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2Q0JDLUhTNTEyIiwia2lkIjoiMDAwMDAwMDAtMDAwMC00MDAwLTgwMDAtMDAwMDAwMDAwMDAwIn0..AAAAAAAAAAAAAAAAAAAAAA.r7ZIh8HJGMQcm6Y3_Qol7Fdey5GFBX63XieR-W6ZjGoaqhbONABJUbxz_FAgma8Q.EKkVtBuNfZs4OwJBtP5iihJpRnMzbAlY9zpHhrJ2jOE";

fn sealer(format: CookieFormat) -> CookieSealer {
    CookieSealer::new(Secrets::parse(SECRET).unwrap()).with_format(format)
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A sealer whose write kid is fixed, to reproduce the rotating vector.
fn rotating_with_kid(kid: &str) -> CookieSealer {
    let s = sealer(CookieFormat::Rotating);
    CookieSealer {
        inner: Arc::new(Inner {
            secrets: s.inner.secrets.clone(),
            format: CookieFormat::Rotating,
            clock: s.inner.clock.clone(),
            write_kid: kid.to_owned(),
            keys: RwLock::new(HashMap::new()),
        }),
    }
}

#[test]
fn python_key_matches_known_answer() {
    let key: [u8; 64] = derive_key(SECRET.as_bytes(), Some(b"_a0_session"), PYTHON_KEY_INFO);
    assert_eq!(key.to_vec(), unhex(PYTHON_KEY_HEX));
    assert_eq!(
        &sealer(CookieFormat::Python).key(0, "_a0_session", None)[..],
        &key[..]
    );
}

#[test]
fn rotating_key_matches_known_answer() {
    let salt = format!("__a0_session{ROTATING_KID}");
    let key: [u8; 64] = derive_key(SECRET.as_bytes(), Some(salt.as_bytes()), ROTATING_KEY_INFO);
    assert_eq!(key.to_vec(), unhex(ROTATING_KEY_HEX));
}

#[test]
fn python_token_matches_known_answer_both_ways() {
    let s = sealer(CookieFormat::Python);
    // The Python SDK writes `json.dumps`, which puts a space after the colon.
    let sealed = s
        .seal_with_iv(
            "_a0_session",
            &RawJson(r#"{"hello": "world"}"#),
            0,
            &ZERO_IV,
        )
        .unwrap();
    assert_eq!(sealed, PYTHON_TOKEN);
    let opened: Opened<Value> = s.open_detailed("_a0_session", PYTHON_TOKEN).unwrap();
    assert_eq!(opened.value, json!({"hello": "world"}));
    assert_eq!(opened.format, CookieFormat::Python);
    assert_eq!(opened.expires_at, None);
}

#[test]
fn rotating_token_matches_known_answer_both_ways() {
    let s = rotating_with_kid(ROTATING_KID);
    let sealed = s
        .seal_with_iv(
            "__a0_session",
            &json!({"hello": "world"}),
            4_102_444_800,
            &ZERO_IV,
        )
        .unwrap();
    assert_eq!(sealed, ROTATING_TOKEN);
    let opened: Opened<Value> = sealer(CookieFormat::Python)
        .open_detailed("__a0_session", ROTATING_TOKEN)
        .unwrap();
    assert_eq!(
        opened.value,
        json!({"hello": "world"}),
        "exp is taken out of the value"
    );
    assert_eq!(opened.format, CookieFormat::Rotating);
    assert_eq!(opened.expires_at, Some(4_102_444_800));
}

#[test]
fn rfc7518_appendix_b3_vector() {
    let k: Vec<u8> = (0u8..64).collect();
    let p = b"A cipher system must not be required to be secret, and it must be able to fall into the hands of the enemy without inconvenience";
    let iv = unhex("1af38c2dc2b96ffdd86694092341bc04");
    let a = b"The second principle of Auguste Kerckhoffs";
    let e = unhex(concat!(
        "4affaaadb78c31c5da4b1b590d10ffbd3dd8d5d302423526912da037ecbcc7bd",
        "822c301dd67c373bccb584ad3e9279c2e6d12a1374b77f077553df829410446b",
        "36ebd97066296ae6427ea75c2e0846a11a09ccf5370dc80bfecbad28c73f09b3",
        "a3b75e662a2594410ae496b2e2e6609e31e6e02cc837f053d21f37ff4f51950b",
        "be2638d09dd7a4930930806d0703b1f6"
    ));
    let t = unhex("4dd3b4c088a7f45c216839645b2012bf2e6269a8c56a816dbc1b267761955bc5");
    // The library's primitive, used for sealing.
    let (ciphertext, tag) = A256CBC_HS512.encrypt(&k, Some(&iv), p, a).unwrap();
    assert_eq!(ciphertext, e);
    assert_eq!(tag.unwrap(), t);
    // Our own tag check and decryption, used for opening.
    assert_eq!(&compute_tag(&k[..32], a, &iv, &e).unwrap()[..32], &t[..]);
    assert_eq!(
        decrypt(Cipher::aes_256_cbc(), &k[32..], Some(&iv), &e).unwrap(),
        p
    );
}

/// Serializes a string as raw JSON, to reproduce another SDK's exact bytes.
struct RawJson(&'static str);
impl Serialize for RawJson {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error as _;
        let raw: Box<serde_json::value::RawValue> =
            serde_json::from_str(self.0).map_err(S::Error::custom)?;
        raw.serialize(s)
    }
}

#[test]
fn both_formats_round_trip_and_are_read_by_either_sealer() {
    let value = json!({"user": {"sub": "auth0|1", "name": "Zoë 😀"}, "nested": {"a": [1, 2]}});
    for write in [CookieFormat::Python, CookieFormat::Rotating] {
        let token = sealer(write)
            .seal("_a0_session", &value, 4_102_444_800)
            .unwrap();
        for read in [CookieFormat::Python, CookieFormat::Rotating] {
            let back: Value = sealer(read).open("_a0_session", &token).unwrap();
            assert_eq!(back, value, "written {write:?}, read {read:?}");
        }
    }
}

#[test]
fn key_is_derived_once_per_identifier() {
    let s = sealer(CookieFormat::Rotating);
    let token = s.seal("_a0_session", &json!({}), 4_102_444_800).unwrap();
    for _ in 0..10 {
        let _: Value = s.open("_a0_session", &token).unwrap();
    }
    assert_eq!(
        s.inner.keys.read().unwrap().len(),
        1,
        "one cached key for one (secret, identifier, kid)"
    );
}

#[test]
fn rotation_reads_old_secret_and_reports_it() {
    let old = CookieSealer::new(Secrets::parse(OTHER_SECRET).unwrap());
    let token = old
        .seal("_a0_session", &json!({"a": 1}), 4_102_444_800)
        .unwrap();
    let rotated = CookieSealer::new(Secrets::parse(&format!("{SECRET},{OTHER_SECRET}")).unwrap());
    let opened: Opened<Value> = rotated.open_detailed("_a0_session", &token).unwrap();
    assert_eq!(opened.secret_index, 1);
    assert!(matches!(
        sealer(CookieFormat::Rotating).open::<Value>("_a0_session", &token),
        Err(OpenError::Undecryptable)
    ));
}

#[test]
fn wrong_identifier_does_not_open() {
    for format in [CookieFormat::Python, CookieFormat::Rotating] {
        let s = sealer(format);
        let token = s
            .seal("_a0_tx:state1", &json!({"a": 1}), 4_102_444_800)
            .unwrap();
        assert!(matches!(
            s.open::<Value>("_a0_session", &token),
            Err(OpenError::Undecryptable)
        ));
    }
}

#[test]
fn expiry_is_checked_with_tolerance() {
    let clock = ManualClock::at_unix(1_000_000);
    let s = sealer(CookieFormat::Rotating).with_clock(Arc::new(clock.clone()));
    let token = s.seal("_a0_session", &json!({"a": 1}), 1_000_100).unwrap();
    clock.advance(Duration::from_secs(100 + EXP_TOLERANCE.as_secs()));
    assert!(
        s.open::<Value>("_a0_session", &token).is_ok(),
        "inside the tolerance"
    );
    clock.advance(Duration::from_secs(1));
    assert!(matches!(
        s.open::<Value>("_a0_session", &token),
        Err(OpenError::Expired { exp: 1_000_100, .. })
    ));
}

#[test]
fn every_single_bit_flip_and_truncation_is_refused() {
    let s = sealer(CookieFormat::Rotating);
    let token = s
        .seal("_a0_session", &json!({"hello": "world"}), 4_102_444_800)
        .unwrap();
    let bytes = token.as_bytes();
    for i in 0..bytes.len() {
        for bit in [0x01u8, 0x20] {
            let mut bad = bytes.to_vec();
            bad[i] ^= bit;
            if let Ok(bad) = String::from_utf8(bad)
                && bad != token
            {
                let opened = s.open::<Value>("_a0_session", &bad);
                // Flipping a base64 character's lowest bits may leave the decoded bytes
                // equal (padding bits); what must never happen is a different value.
                if let Ok(v) = opened {
                    assert_eq!(v, json!({"hello": "world"}), "byte {i} changed the value");
                }
            }
        }
    }
    for len in 0..token.len() {
        assert!(
            s.open::<Value>("_a0_session", &token[..len]).is_err(),
            "truncated to {len}"
        );
    }
}

fn with_header(token: &str, header: &str) -> String {
    let rest = token.split_once('.').unwrap().1;
    format!("{}.{rest}", B64.encode(header))
}

#[test]
fn unsupported_headers_are_refused() {
    let token = sealer(CookieFormat::Python)
        .seal("_a0_session", &json!({"a": 1}), 0)
        .unwrap();
    for header in [
        r#"{"alg":"none","enc":"A256CBC-HS512"}"#,
        r#"{"alg":"dir","enc":"A128GCM"}"#,
        r#"{"alg":"dir","enc":"A256CBC-HS512","zip":"DEF"}"#,
        r#"{"alg":"dir","enc":"A256CBC-HS512","crit":["exp"]}"#,
        r#"{"alg":"RSA-OAEP","enc":"A256CBC-HS512"}"#,
        r#"{"enc":"A256CBC-HS512"}"#,
        r#"{"alg":"dir","enc":"A256CBC-HS512","kid":42}"#,
        r#"[1,2]"#,
        "not json",
    ] {
        let err = sealer(CookieFormat::Python)
            .open::<Value>("_a0_session", &with_header(&token, header))
            .unwrap_err();
        assert!(
            matches!(
                err,
                OpenError::UnsupportedHeader(_) | OpenError::Malformed(_)
            ),
            "{header}: {err:?}"
        );
    }
}

#[test]
fn garbage_never_panics() {
    let s = sealer(CookieFormat::Rotating);
    for garbage in [
        "",
        ".",
        "....",
        "a.b.c.d.e",
        "a..b.c.d",
        "😀..😀.😀.😀",
        "eyJ9..AA.AA.AA",
    ] {
        assert!(
            s.open::<Value>("_a0_session", garbage).is_err(),
            "{garbage:?}"
        );
    }
}

#[test]
fn rotating_token_without_exp_is_refused() {
    // A token with a kid, sealed by hand without `exp`.
    let s = rotating_with_kid(ROTATING_KID);
    let key = s.key(0, "_a0_session", Some(ROTATING_KID));
    let header_b64 = B64.encode(format!(
        r#"{{"alg":"dir","enc":"A256CBC-HS512","kid":"{ROTATING_KID}"}}"#
    ));
    let (ct, tag) = A256CBC_HS512
        .encrypt(
            &key[..],
            Some(&ZERO_IV),
            br#"{"a":1}"#,
            header_b64.as_bytes(),
        )
        .unwrap();
    let token = format!(
        "{header_b64}..{}.{}.{}",
        B64.encode(ZERO_IV),
        B64.encode(ct),
        B64.encode(tag.unwrap())
    );
    assert!(matches!(
        s.open::<Value>("_a0_session", &token),
        Err(OpenError::MissingExpiry)
    ));
}

mod library_path {
    //! The tokens agree with josekit's own JWE implementation, both ways.
    use super::*;
    use josekit::jwe::{self, Dir, JweHeader};
    use proptest::prelude::*;

    fn josekit_open(key: &[u8], token: &str) -> Vec<u8> {
        let decrypter = Dir.decrypter_from_bytes(key).unwrap();
        jwe::deserialize_compact(token, &decrypter).unwrap().0
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn our_tokens_open_with_josekit_and_josekits_open_with_ours(
            text in "\\PC{0,200}",
            n in any::<i64>(),
        ) {
            let value = json!({"text": text, "n": n});
            let s = sealer(CookieFormat::Python);
            let key = s.key(0, "_a0_session", None);

            let ours = s.seal("_a0_session", &value, 0).unwrap();
            let opened: Value = serde_json::from_slice(&josekit_open(&key[..], &ours)).unwrap();
            prop_assert_eq!(&opened, &value);

            let mut header = JweHeader::new();
            header.set_content_encryption("A256CBC-HS512");
            let encrypter = Dir.encrypter_from_bytes(&key[..]).unwrap();
            let theirs = jwe::serialize_compact(&serde_json::to_vec(&value).unwrap(), &header, &encrypter).unwrap();
            let back: Value = s.open("_a0_session", &theirs).unwrap();
            prop_assert_eq!(back, value);
        }
    }
}
