//! Writes the seed inputs of every fuzz target into `fuzz/corpus/<target>/`: real cookies,
//! records and tokens made with the same fixtures the targets use (so they open, verify and
//! validate), plus the hostile shapes the tests use. Run by `scripts/fuzz seeds`, built without
//! libFuzzer's flags; the files are committed, so neither CI nor `just fuzz` runs it.
//!
//! Usage: `seeds <corpus dir>`.

use std::path::{Path, PathBuf};

use auth0_server_core::model::{StateData, TransactionData};
use auth0_server_core::seal::CookieFormat;
use auth0_server_core::store::{StateStore, StoreContext};
use auth0_server_fuzz::{
    Alg, CLIENT_ID, ES256_KID, ISSUER, NONCE, NOW, RS256_KID, SEED_STATE, STATE_IDENTIFIER,
    TRANSACTION_IDENTIFIER, cookie_sealer, cookie_state_store, record_sealer, runtime, sign,
};
use serde_json::{Value, json};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result {
    let dir = PathBuf::from(std::env::args().nth(1).ok_or("usage: seeds <corpus dir>")?);
    let session = session()?;
    cookie_header(&dir, &session)?;
    cookie_chunks(&dir, &session)?;
    jwe_open(&dir, &session)?;
    record_open(&dir, &session)?;
    id_token(&dir)?;
    logout_token(&dir)?;
    callback(&dir)?;
    domain_host(&dir)?;
    println!("seeds written under {}", dir.display());
    Ok(())
}

fn write(dir: &Path, target: &str, name: &str, bytes: impl AsRef<[u8]>) -> Result {
    let dir = dir.join(target);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(name), bytes)?;
    Ok(())
}

/// A session as a login stores it (the JSON of `auth0-server-python`).
fn session() -> Result<StateData> {
    Ok(serde_json::from_value(json!({
        "user": {
            "sub": "auth0|fuzz-user",
            "name": "José Fuzz",
            "email": "fuzz@example.com",
            "email_verified": true,
            "org_id": "org_fuzz",
        },
        "id_token": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhdXRoMHxmdXp6In0.c2ln",
        "refresh_token": "v1.fuzz-refresh-token",
        "token_sets": [{
            "audience": "default",
            "access_token": "fuzz-access-token",
            "scope": "openid profile email offline_access",
            "expires_at": NOW + 3600,
        }],
        "domain": "fuzz.example",
        "internal": { "sid": "fuzz-sid", "created_at": NOW - 60 },
    }))?)
}

/// Session cookies as the cookie store writes them, small chunks so there are several.
fn session_cookies(state: &StateData, format: CookieFormat) -> Result<Vec<(String, String)>> {
    let store = cookie_state_store()
        .with_chunk_size(256)
        .with_format(format);
    let cx = StoreContext::new();
    runtime().block_on(store.set(STATE_IDENTIFIER, state, true, &cx))?;
    Ok(cx
        .take_changes()
        .into_iter()
        .map(|c| (c.name, c.value))
        .collect())
}

fn header_of(cookies: &[(String, String)]) -> String {
    cookies
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn cookie_header(dir: &Path, state: &StateData) -> Result {
    let t = "cookie_header";
    let real = header_of(&session_cookies(state, CookieFormat::Rotating)?);
    write(dir, t, "plain", "a=1; _a0_session.0=abc; b=\"two\"")?;
    write(dir, t, "session", &real)?;
    write(
        dir,
        t,
        "session-utf8-neighbour",
        format!("pref=José; {real}"),
    )?;
    write(dir, t, "two-headers", format!("theme=dark\n{real}"))?;
    write(
        dir,
        t,
        "duplicates",
        "a=1; a=2; _a0_session.0=x; _a0_session.0=y",
    )?;
    write(
        dir,
        t,
        "host-prefix",
        "__Host-_a0_session.0=abc; _a0_tx_fuzz-state=def",
    )?;
    write(dir, t, "odd", "=; ;; =a; b=; \"c\"=\"d\"; e=\"; f ; g=h=i")?;
    let many: String = (0..500).map(|i| format!("c{i}=v; ")).collect();
    write(dir, t, "many-names", many)?;
    Ok(())
}

fn lines_of(cookies: &[(String, String)]) -> String {
    cookies.iter().map(|(n, v)| format!("{n}={v}\n")).collect()
}

fn cookie_chunks(dir: &Path, state: &StateData) -> Result {
    let t = "cookie_chunks";
    let rotating = session_cookies(state, CookieFormat::Rotating)?;
    let python = session_cookies(state, CookieFormat::Python)?;
    write(dir, t, "rotating", lines_of(&rotating))?;
    write(dir, t, "python", lines_of(&python))?;
    let mut reversed = rotating.clone();
    reversed.reverse();
    write(dir, t, "reversed", lines_of(&reversed))?;
    let mut gap = rotating.clone();
    gap.remove(1);
    write(dir, t, "gap", lines_of(&gap))?;
    let mut odd = rotating;
    odd.push(("_a0_session.0".into(), "duplicate".into()));
    odd.push(("_a0_session.01".into(), "leading-zero".into()));
    odd.push(("_a0_session.99999".into(), "too-far".into()));
    odd.push(("_a0_session".into(), "bare".into()));
    write(dir, t, "odd-names", lines_of(&odd))?;
    Ok(())
}

fn jwe_open(dir: &Path, state: &StateData) -> Result {
    let t = "jwe_open";
    let rotating = cookie_sealer();
    let python = cookie_sealer().with_format(CookieFormat::Python);
    let exp = NOW + 3600;
    let with = |selector: u8, token: String| {
        let mut bytes = vec![selector];
        bytes.extend_from_slice(token.as_bytes());
        bytes
    };
    write(
        dir,
        t,
        "session-rotating",
        with(0, rotating.seal(STATE_IDENTIFIER, state, exp)?),
    )?;
    write(
        dir,
        t,
        "session-python",
        with(0, python.seal(STATE_IDENTIFIER, state, exp)?),
    )?;
    write(
        dir,
        t,
        "session-expired",
        with(0, rotating.seal(STATE_IDENTIFIER, state, NOW - 3600)?),
    )?;
    let transaction: TransactionData = serde_json::from_value(json!({
        "code_verifier": "fuzz-verifier",
        "nonce": NONCE,
        "app_state": { "returnTo": "/profile" },
        "redirect_uri": "https://app.fuzz.example/callback",
        "domain": "fuzz.example",
    }))?;
    let key = format!("{TRANSACTION_IDENTIFIER}:{SEED_STATE}");
    write(
        dir,
        t,
        "transaction",
        with(1, rotating.seal(&key, &transaction, exp)?),
    )?;
    write(
        dir,
        t,
        "value-python",
        with(
            2,
            python.seal(STATE_IDENTIFIER, &json!([1, "two", null]), exp)?,
        ),
    )?;
    Ok(())
}

fn record_open(dir: &Path, state: &StateData) -> Result {
    let t = "record_open";
    let aad = b"_a0_session\0fuzz-session-id";
    let sealed = record_sealer().seal(aad, &serde_json::to_vec(state)?)?;
    let mut bytes = vec![u8::try_from(aad.len())?];
    bytes.extend_from_slice(aad);
    bytes.extend_from_slice(&sealed);
    write(dir, t, "session", bytes)?;
    let sealed = record_sealer().seal(b"", b"not json")?;
    let mut bytes = vec![0];
    bytes.extend_from_slice(&sealed);
    write(dir, t, "not-json", bytes)?;
    Ok(())
}

/// A signed-token seed: the mode byte, then the header and the payload split at a NUL.
fn parts(mode: u8, header: &Value, claims: &Value) -> Vec<u8> {
    let mut bytes = vec![mode];
    bytes.extend_from_slice(header.to_string().as_bytes());
    bytes.push(0);
    bytes.extend_from_slice(claims.to_string().as_bytes());
    bytes
}

/// A raw-token seed: mode 0, then the token.
fn raw(token: &str) -> Vec<u8> {
    let mut bytes = vec![0];
    bytes.extend_from_slice(token.as_bytes());
    bytes
}

fn id_token(dir: &Path) -> Result {
    let t = "id_token";
    let claims = json!({
        "iss": ISSUER, "aud": CLIENT_ID, "sub": "auth0|fuzz-user", "exp": NOW + 3600,
        "iat": NOW, "nonce": NONCE, "sid": "fuzz-sid", "name": "José Fuzz",
        "email": "fuzz@example.com", "email_verified": true, "auth_time": NOW - 10,
        "org_id": "org_fuzz", "org_name": "fuzz-org",
    });
    let rs = json!({ "alg": "RS256", "kid": RS256_KID, "typ": "JWT" });
    let es = json!({ "alg": "ES256", "kid": ES256_KID });
    write(dir, t, "rs256", parts(1, &rs, &claims))?;
    write(dir, t, "es256", parts(2, &es, &claims))?;
    let many_aud = json!({
        "iss": ISSUER, "aud": [CLIENT_ID, "api"], "azp": CLIENT_ID, "sub": "s", "exp": NOW + 60,
        "iat": NOW, "email_verified": "true",
    });
    write(
        dir,
        t,
        "no-nonce-many-audiences",
        parts(4 | 1, &rs, &many_aud),
    )?;
    let token = sign(
        Alg::Rs256,
        rs.to_string().as_bytes(),
        claims.to_string().as_bytes(),
    );
    write(dir, t, "raw-valid", raw(&token))?;
    write(
        dir,
        t,
        "raw-alg-none",
        raw("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."),
    )?;
    write(
        dir,
        t,
        "hs256",
        parts(1, &json!({ "alg": "HS256" }), &claims),
    )?;
    Ok(())
}

fn logout_token(dir: &Path) -> Result {
    let t = "logout_token";
    let claims = json!({
        "iss": ISSUER, "aud": CLIENT_ID, "iat": NOW, "exp": NOW + 120, "jti": "fuzz-jti",
        "sid": "fuzz-sid", "sub": "auth0|fuzz-user",
        "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
    });
    let rs = json!({ "alg": "RS256", "kid": RS256_KID, "typ": "logout+jwt" });
    let es = json!({ "alg": "ES256", "kid": ES256_KID });
    write(dir, t, "rs256", parts(1, &rs, &claims))?;
    write(dir, t, "es256", parts(2, &es, &claims))?;
    let token = sign(
        Alg::Rs256,
        rs.to_string().as_bytes(),
        claims.to_string().as_bytes(),
    );
    write(dir, t, "raw-valid", raw(&token))?;
    let with_nonce = json!({
        "iss": ISSUER, "aud": CLIENT_ID, "iat": NOW, "jti": "j", "sub": "s", "nonce": "n",
        "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
    });
    write(dir, t, "with-nonce", parts(1, &rs, &with_nonce))?;
    Ok(())
}

fn callback(dir: &Path) -> Result {
    let t = "callback";
    let iss = "https%3A%2F%2Ffuzz.example%2F";
    let seeds: &[(&str, u8, String)] = &[
        (
            "own-login",
            0,
            "https://app.fuzz.example/callback?code=fuzz-code&state={state}".into(),
        ),
        (
            "own-login-second-browser",
            1,
            "/callback?state={state}&code=c".into(),
        ),
        (
            "with-iss",
            0,
            format!("/callback?code=c&state={{state}}&iss={iss}"),
        ),
        (
            "wrong-iss",
            0,
            "/callback?code=c&state={state}&iss=https%3A%2F%2Fevil.example%2F".into(),
        ),
        (
            "error",
            0,
            "/callback?error=access_denied&error_description=no&state={state}".into(),
        ),
        (
            "foreign-login",
            0,
            "/callback?code=c&state={foreign_state}".into(),
        ),
        ("no-cookies", 2, "/callback?code=c&state={state}".into()),
        ("no-state", 0, "/callback?code=c".into()),
        ("relative-garbage", 0, "?state=%ZZ&code=&&=&state=".into()),
    ];
    for (name, who, url) in seeds {
        let mut bytes = vec![*who];
        bytes.extend_from_slice(url.as_bytes());
        write(dir, t, name, bytes)?;
    }
    Ok(())
}

fn domain_host(dir: &Path) -> Result {
    let t = "domain_host";
    let hosts = [
        ("host", "shop.example.com"),
        ("default-port", "Shop.Example.com:443"),
        ("port", "shop.example.com.:8443"),
        ("unicode", "bücher.example"),
        ("ipv6", "[::1]:8080"),
        ("fragment", "evil.example#.shop.example.com"),
        ("password", "user:pw@shop.example.com"),
        ("escape", "evil%2eexample"),
    ];
    for (name, host) in hosts {
        write(dir, t, name, [&[0u8][..], host.as_bytes()].concat())?;
    }
    // header {"alg":"RS256"}, payload {"iss":"https://login.b.example.com/"}
    let token = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2xvZ2luLmIuZXhhbXBsZS5jb20vIn0.c2ln";
    write(dir, t, "issuer", [&[1u8][..], token.as_bytes()].concat())?;
    Ok(())
}
