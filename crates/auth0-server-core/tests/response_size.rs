//! Every answer of the provider is read up to `MAX_PROVIDER_RESPONSE_BYTES` (1 MiB) and no
//! further: a hostile server answering the discovery document, the key set, the MFA API,
//! passwordless or the token endpoint with 2 MiB (announced by `Content-Length`), or with a
//! chunked body that never ends, gets `Error::ResponseTooLarge` — promptly, without the
//! client reading it all or panicking. A body that drips ends at the request timeout, as
//! `Error::Timeout` ("timed out after N s"), and a `Content-Length` that understates the body
//! is read only that far. (An error path: a raw HTTP server on loopback, since no real
//! provider sends such answers.)

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use auth0_server_core::Secrets;
use auth0_server_core::client::{
    BackchannelOptions, Error, LoginHint, MAX_PROVIDER_RESPONSE_BYTES, MFA_TOKEN_IDENTIFIER,
    MfaToken, PasswordlessRecipient, RetryPolicy, ServerClient, StartPasswordlessOptions,
    TokenEndpointAuth, VerifyPasswordlessOptions,
};
use auth0_server_core::seal::{CookieFormat, CookieSealer};
use auth0_server_core::store::StoreContext;
use auth0_store_memory::{MemoryBackend, MemoryTransactionBackend};
use base64::Engine as _;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes";
/// How long a refusal may take. The client's own request timeout is far longer, so a client
/// that reads the endless body until it gives up fails here.
const PROMPTLY: Duration = Duration::from_secs(10);
/// The most the server may have written when the client refuses: the cap, and what the
/// sockets on both ends buffer.
const SOCKET_BUFFERS: usize = 64 * 1024 * 1024;
/// The size of each chunk of the endless body.
const CHUNK: usize = 64 * 1024;

/// How the hostile server answers its one hostile path.
#[derive(Clone, Copy, Debug)]
enum Hostile {
    /// 2 MiB of valid JSON (the path's usual answer with a padding member), with its
    /// `Content-Length`.
    TwoMiB,
    /// `Transfer-Encoding: chunked`, chunks of `{"pad":"xxx…` until the client hangs up.
    Endless,
    /// `Transfer-Encoding: chunked`, `{` then one space every 100 ms, until the client hangs
    /// up: never over the cap, never complete.
    Drip,
    /// `Content-Length: 10`, then 4 MiB.
    LyingLength,
}

/// The server: which path is hostile, how, and how many body bytes it wrote there.
#[derive(Clone)]
struct Server {
    issuer: String,
    path: &'static str,
    hostile: Hostile,
    sent: Arc<AtomicUsize>,
}

/// The usual answer of `path` (status 200), as the real provider would give it.
fn usual(path: &str, issuer: &str) -> Value {
    match path {
        "/.well-known/openid-configuration" => json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}authorize"),
            "token_endpoint": format!("{issuer}oauth/token"),
            "jwks_uri": format!("{issuer}jwks"),
            "backchannel_authentication_endpoint": format!("{issuer}bc-authorize"),
        }),
        "/jwks" => json!({"keys": []}),
        "/mfa/authenticators" => {
            json!([{"id": "totp|dev_1", "authenticator_type": "otp", "active": true}])
        }
        "/passwordless/start" => json!({"_id": "1", "email": "user@example.com"}),
        "/bc-authorize" => json!({"auth_req_id": "r1", "expires_in": 60, "interval": 1}),
        _ => json!({"access_token": "at", "token_type": "Bearer", "expires_in": 60}),
    }
}

/// `value` with 2 MiB of padding inside (in its first object), still valid JSON.
fn padded(mut value: Value) -> Vec<u8> {
    let pad = Value::String("x".repeat(2 * 1024 * 1024));
    match &mut value {
        Value::Array(items) => items[0]["pad"] = pad,
        object => object["pad"] = pad,
    }
    serde_json::to_vec(&value).unwrap()
}

/// Reads one request (head and `Content-Length` body); returns its path.
async fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut byte).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&byte[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().unwrap_or(0));
    while buf.len() < head_end + length {
        let n = stream.read(&mut byte).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&byte[..n]);
    }
    let path = head.split_whitespace().nth(1)?.to_owned();
    Some(path.split('?').next().unwrap_or_default().to_owned())
}

/// Writes chunks until the client hangs up, counting the body bytes in `sent`.
async fn endless(stream: &mut TcpStream, sent: &AtomicUsize) {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                transfer-encoding: chunked\r\n\r\n";
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let mut first = b"{\"pad\":\"".to_vec();
    first.resize(CHUNK, b'x');
    let rest = vec![b'x'; CHUNK];
    let mut chunk = first;
    loop {
        let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
        frame.extend_from_slice(&chunk);
        frame.extend_from_slice(b"\r\n");
        if stream.write_all(&frame).await.is_err() {
            return;
        }
        sent.fetch_add(chunk.len(), Ordering::SeqCst);
        chunk.clone_from(&rest);
    }
}

/// `{` then one space every 100 ms, chunked, until the client hangs up.
async fn drip(stream: &mut TcpStream) {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                transfer-encoding: chunked\r\n\r\n1\r\n{\r\n";
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    while stream.write_all(b"1\r\n \r\n").await.is_ok() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `Content-Length: 10`, then 4 MiB of spaces.
async fn lying_length(stream: &mut TcpStream, sent: &AtomicUsize) {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 10\r\n\r\n";
    let body = vec![b' '; 4 * 1024 * 1024];
    if stream.write_all(head.as_bytes()).await.is_ok() && stream.write_all(&body).await.is_ok() {
        sent.fetch_add(body.len(), Ordering::SeqCst);
    }
}

async fn serve(server: Server, mut stream: TcpStream) {
    while let Some(path) = read_request(&mut stream).await {
        if path == server.path {
            match server.hostile {
                Hostile::Endless => return endless(&mut stream, &server.sent).await,
                Hostile::Drip => return drip(&mut stream).await,
                Hostile::LyingLength => return lying_length(&mut stream, &server.sent).await,
                Hostile::TwoMiB => {}
            }
        }
        let answer = usual(&path, &server.issuer);
        let body = match server.hostile {
            Hostile::TwoMiB if path == server.path => padded(answer),
            _ => serde_json::to_vec(&answer).unwrap(),
        };
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        let written = stream.write_all(head.as_bytes()).await;
        if written.is_err() || stream.write_all(&body).await.is_err() {
            return;
        }
        if path == server.path {
            server.sent.fetch_add(body.len(), Ordering::SeqCst);
        }
    }
}

/// A server that answers `path` as `hostile` says (every other path as usual), and a
/// client of it; also the count of body bytes written on the hostile path.
async fn hostile_provider(path: &'static str, hostile: Hostile) -> (ServerClient, Server) {
    hostile_provider_within(path, hostile, PROMPTLY * 6).await
}

/// [`hostile_provider`] with a client whose `request_timeout` is `timeout`.
async fn hostile_provider_within(
    path: &'static str,
    hostile: Hostile,
    timeout: Duration,
) -> (ServerClient, Server) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}/", listener.local_addr().unwrap());
    let server = Server {
        issuer: issuer.clone(),
        path,
        hostile,
        sent: Arc::new(AtomicUsize::new(0)),
    };
    let serving = server.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(serving.clone(), stream));
        }
    });
    let client = ServerClient::builder()
        .domain(issuer)
        .client_id("test-client")
        .client_secret("test-client-secret")
        .secret(SECRET)
        .redirect_uri("https://app.example.com/auth/callback")
        .token_endpoint_auth(TokenEndpointAuth::ClientSecretPost)
        .request_timeout(timeout)
        .retry(RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        })
        .session_backend(MemoryBackend::new())
        .transaction_store(Arc::new(
            MemoryTransactionBackend::new().transaction_store(),
        ))
        .build()
        .unwrap();
    (client, server)
}

/// Runs `call`, which must be refused promptly as `what`'s answer being too large.
async fn assert_refused<T: std::fmt::Debug>(
    server: &Server,
    what: &str,
    call: impl Future<Output = Result<T, Error>>,
) {
    let outcome = tokio::time::timeout(PROMPTLY, call).await;
    let Ok(outcome) = outcome else {
        panic!(
            "{:?} {}: not refused within {PROMPTLY:?} ({} bytes sent so far): the client reads \
             on without a cap",
            server.hostile,
            server.path,
            server.sent.load(Ordering::SeqCst)
        );
    };
    match outcome {
        Err(Error::ResponseTooLarge {
            what: named, limit, ..
        }) => {
            assert_eq!((named, limit), (what, MAX_PROVIDER_RESPONSE_BYTES));
            // What the server wrote includes what the loopback sockets buffer (5 to 10 MiB
            // seen); a client reading on takes gigabytes in the time allowed.
            let sent = server.sent.load(Ordering::SeqCst);
            assert!(
                sent <= SOCKET_BUFFERS,
                "{sent} bytes written before the client hung up"
            );
        }
        other => {
            let got: String = format!("{other:?}").chars().take(200).collect();
            panic!(
                "{:?} {}: expected ResponseTooLarge for {what}, got {got}",
                server.hostile, server.path
            )
        }
    }
    let error = Error::ResponseTooLarge {
        what: "jwks",
        url: String::new(),
        limit: 1,
        status: 200,
    };
    assert_eq!(error.code(), "response_too_large");
    assert!(error.to_string().contains("check that AUTH0_DOMAIN"));
}

/// A logout token whose checking fetches the key set (its signature is never reached).
fn logout_token(issuer: &str) -> String {
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let header = b64(json!({"alg": "RS256", "kid": "k1", "typ": "logout+jwt"}));
    let claims = b64(json!({"iss": issuer, "aud": "test-client", "sid": "s"}));
    format!("{header}.{claims}.c2lnbmF0dXJl")
}

fn now() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.unwrap().as_secs()
}

const BOTH: [Hostile; 2] = [Hostile::Endless, Hostile::TwoMiB];

#[tokio::test]
async fn an_oversized_discovery_document_is_refused_unread() {
    let cx = StoreContext::new();
    for hostile in BOTH {
        let (client, server) = hostile_provider("/.well-known/openid-configuration", hostile).await;
        let token = logout_token(&server.issuer);
        let call = client.handle_backchannel_logout(&token, &cx);
        assert_refused(&server, "openid-configuration", call).await;
    }
}

#[tokio::test]
async fn an_oversized_key_set_is_refused_unread() {
    let cx = StoreContext::new();
    for hostile in BOTH {
        let (client, server) = hostile_provider("/jwks", hostile).await;
        let token = logout_token(&server.issuer);
        let call = client.handle_backchannel_logout(&token, &cx);
        assert_refused(&server, "jwks", call).await;
    }
}

#[tokio::test]
async fn an_oversized_mfa_api_answer_is_refused_unread() {
    let context = json!({"mfa_token": "raw", "audience": "", "scope": "openid",
                         "mfa_requirements": null, "created_at": now()});
    let sealed = CookieSealer::new(Secrets::parse(SECRET).unwrap())
        .with_format(CookieFormat::Python)
        .seal(MFA_TOKEN_IDENTIFIER, &context, 0)
        .unwrap();
    let token = MfaToken::from_sealed(sealed);
    let cx = StoreContext::new();
    for hostile in BOTH {
        let (client, server) = hostile_provider("/mfa/authenticators", hostile).await;
        let mfa = client.mfa();
        let call = mfa.list_authenticators(&token, &cx);
        assert_refused(&server, "MFA API", call).await;
    }
}

#[tokio::test]
async fn an_oversized_passwordless_answer_is_refused_unread() {
    let recipient = || PasswordlessRecipient::Email("user@example.com".into());
    let cx = StoreContext::new();
    for hostile in BOTH {
        let (client, server) = hostile_provider("/passwordless/start", hostile).await;
        let options = StartPasswordlessOptions::new(recipient());
        let call = client.start_passwordless(options, &cx);
        assert_refused(&server, "passwordless start", call).await;

        // The code is verified in the browser that asked for it.
        let (client, server) = hostile_provider("/oauth/token", hostile).await;
        let options = StartPasswordlessOptions::new(recipient());
        client.start_passwordless(options, &cx).await.unwrap();
        let browser = StoreContext::from_cookies(cx.cookies());
        let options = VerifyPasswordlessOptions::new(recipient(), "123456");
        let call = client.verify_passwordless(options, &browser);
        assert_refused(&server, "token endpoint", call).await;
    }
}

#[tokio::test]
async fn an_oversized_backchannel_authentication_answer_is_refused_under_its_own_name() {
    for hostile in BOTH {
        let (client, server) = hostile_provider("/bc-authorize", hostile).await;
        let options = BackchannelOptions::new(LoginHint::sub("auth0|someone"));
        let cx = StoreContext::new();
        let call = client.login_backchannel(options, &cx);
        assert_refused(&server, "backchannel authentication endpoint", call).await;
    }
}

/// A body that drips (never over the cap, never complete) ends at the client's request
/// timeout, with an error that says so (not "could not reach … error decoding response body").
#[tokio::test]
async fn a_dripping_answer_ends_at_the_request_timeout_and_says_so() {
    let timeout = Duration::from_secs(2);
    let path = "/.well-known/openid-configuration";
    let (client, server) = hostile_provider_within(path, Hostile::Drip, timeout).await;
    let started = Instant::now();
    let token = logout_token(&server.issuer);
    let cx = StoreContext::new();
    let call = client.handle_backchannel_logout(&token, &cx);
    let outcome = tokio::time::timeout(PROMPTLY, call)
        .await
        .expect("the drip must end at the client's request timeout");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    match outcome {
        Err(error @ Error::Timeout { after, .. }) => {
            assert_eq!(after, timeout);
            assert_eq!(error.code(), "timeout_error");
            let message = error.to_string();
            assert!(message.contains("timed out after 2 s"), "{message}");
        }
        other => panic!("expected Error::Timeout, got {other:?}"),
    }
}

/// A `Content-Length` that understates the body: only that much is read (the rest is not
/// JSON the client waits for), and the answer is refused as not the document.
#[tokio::test]
async fn an_understated_content_length_is_read_only_that_far() {
    let path = "/.well-known/openid-configuration";
    let (client, server) = hostile_provider(path, Hostile::LyingLength).await;
    let token = logout_token(&server.issuer);
    let cx = StoreContext::new();
    let call = client.handle_backchannel_logout(&token, &cx);
    let outcome = tokio::time::timeout(PROMPTLY, call)
        .await
        .expect("refused promptly");
    match outcome {
        Err(Error::Discovery { reason, .. }) => {
            assert!(
                reason.contains("did not answer the expected JSON"),
                "{reason}"
            )
        }
        other => panic!("expected Error::Discovery, got {other:?}"),
    }
}
