//! Finding the server a store's tests run against, shared by the Redis and PostgreSQL store
//! tests. A [`Service`] describes the server; [`find`] answers, in this order:
//!
//! 1. the service's URL variable ([`Service::url_var`], e.g. `REDIS_URL`), read at run time
//!    (`./scripts/test` sets it, as do `scripts/redis.sh` and `scripts/postgres.sh`);
//! 2. else, when a Docker engine answers (`DOCKER_HOST`, else the default socket: the engine
//!    testcontainers would use), a container of the image its image variable names
//!    ([`Service::image_var`], default [`Service::default_image`]) started through
//!    testcontainers for this one test, and removed when the test's [`TestServer`] (or the
//!    [`WithServer`] holding it) is dropped;
//! 3. else the test skips with a loud message straight to stderr, or fails when `CI` is set.
//!
//! `AUTH0_TEST_REQUIRE_CONTAINERS=1` allows only 2: a set URL variable, or no engine, fails
//! the test. CI sets it in its container stage (`./scripts/test containers`), so the
//! container path cannot silently not run.
//!
//! Included by each store crate's `tests/support/mod.rs` with
//! `#[path = "…/tests/e2e/support/containers.rs"] mod containers;`; what is particular to a
//! store (its URL's shape, waiting until it accepts connections, its schemas and pools) stays
//! there. It needs testcontainers, and tokio with `time`.
// Each including crate uses a part of this.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::io::Write as _;
use std::ops::{Deref, DerefMut};
use std::sync::Mutex;
use std::time::Duration;

use testcontainers::core::{IntoContainerPort as _, WaitFor};
use testcontainers::runners::AsyncRunner as _;
use testcontainers::{ContainerAsync, GenericImage, ImageExt as _};

/// The host to reach container ports on, when testcontainers' guess is wrong.
const HOST_VAR: &str = "AUTH0_TEST_CONTAINER_HOST";
/// Set to `1`, every test must run on a container it started (see the module docs).
const REQUIRE_CONTAINERS_VAR: &str = "AUTH0_TEST_REQUIRE_CONTAINERS";
/// How long a container may take to print its ready line, pulling its image aside.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the Docker engine may take to answer a ping before it counts as absent.
const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// A server the tests need, as [`find`] looks for it.
pub struct Service {
    /// What messages call it: `Redis`, `PostgreSQL`.
    pub name: &'static str,
    /// The variable with the URL of a running server: `REDIS_URL`, `DATABASE_URL`.
    pub url_var: &'static str,
    /// The variable naming the image to start (`name:tag`); scripts/docker.sh builds one.
    pub image_var: &'static str,
    /// The image started when [`Service::image_var`] is not set.
    pub default_image: &'static str,
    /// The port the server listens on inside the container.
    pub port: u16,
    /// What the server prints once it accepts connections, and where.
    pub ready: Ready,
    /// The container's environment.
    pub env: &'static [(&'static str, &'static str)],
    /// The URL of the container's server, from the host and port its port is published on.
    pub url: fn(host: &str, port: u16) -> String,
    /// The end of the panic when the tests cannot run under `CI`: what to run instead.
    pub ci_advice: &'static str,
    /// The loud message of a skip, written once per test binary straight to stderr.
    pub skip_notice: &'static str,
}

/// A line a container prints once its server is ready, on the stream it prints it on.
pub enum Ready {
    /// On stdout.
    Stdout(&'static str),
    /// On stderr.
    Stderr(&'static str),
}

/// The server one test runs against. When it is a container started for the test, dropping
/// this removes the container: keep it until the test ends.
pub struct TestServer {
    url: String,
    container: Option<ContainerAsync<GenericImage>>,
}

impl TestServer {
    /// The URL to connect to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether this is a container started for the test (not the URL variable's server).
    pub fn is_container(&self) -> bool {
        self.container.is_some()
    }
}

/// A value that needs the test's server, held together with it: it derefs to the value, and
/// drops the value before the server. A `let backend = backend.clone()…` that shadows it
/// keeps it alive too (shadowing does not drop).
pub struct WithServer<T> {
    // Declared first, so dropped first.
    value: T,
    server: TestServer,
}

impl<T> WithServer<T> {
    /// `value`, held with the `server` it talks to.
    pub fn new(value: T, server: TestServer) -> Self {
        Self { value, server }
    }

    /// The server the value talks to.
    pub fn server(&self) -> &TestServer {
        &self.server
    }
}

impl<T> Deref for WithServer<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for WithServer<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

/// This test's `service` (see the module docs), or `None` after a loud message.
///
/// # Panics
///
/// When the test cannot run and must not skip (`CI`, `AUTH0_TEST_REQUIRE_CONTAINERS`), or
/// when a Docker engine answers but the container does not start.
pub async fn find(service: &Service) -> Option<TestServer> {
    let required = containers_required();
    if let Some(url) = env_url(service) {
        assert!(
            !required,
            "{REQUIRE_CONTAINERS_VAR} is set, and so is {var}: unset {var} so that the tests \
             start their own {name} containers",
            var = service.url_var,
            name = service.name,
        );
        return Some(TestServer {
            url,
            container: None,
        });
    }
    if docker_answers().await {
        return Some(start_container(service).await);
    }
    assert!(
        !required,
        "{REQUIRE_CONTAINERS_VAR} is set but no Docker engine answers (DOCKER_HOST={}): start \
         one, e.g. eval \"$(scripts/docker.sh start)\"",
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unset".into())
    );
    skip_or_fail(service);
    None
}

/// The service's URL variable, or `None` after a loud message (a panic when `CI` is set).
/// Only for the tests that start servers of their own; others use [`find`].
pub fn env_url_or_skip(service: &Service) -> Option<String> {
    let url = env_url(service);
    if url.is_none() {
        skip_or_fail(service);
    }
    url
}

/// Says loudly, once per test binary and service, that the service's tests are skipped, or
/// panics when `CI` is set.
fn skip_or_fail(service: &Service) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is not set and CI is, so the {} tests cannot be skipped (and the tests that can \
         use a container found no Docker engine): {}",
        service.url_var,
        service.name,
        service.ci_advice
    );
    // Straight to stderr: the harness captures `eprintln!` of passing tests, which would
    // make the skip silent.
    static NOTIFIED: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let first = NOTIFIED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(service.name);
    if first {
        let _ = std::io::stderr().write_all(service.skip_notice.as_bytes());
    }
}

/// The service's URL variable when set and not empty.
fn env_url(service: &Service) -> Option<String> {
    std::env::var(service.url_var)
        .ok()
        .filter(|url| !url.is_empty())
}

fn containers_required() -> bool {
    std::env::var(REQUIRE_CONTAINERS_VAR).is_ok_and(|v| v == "1")
}

/// Whether the engine testcontainers would use (it reads `DOCKER_HOST` the same way) answers.
async fn docker_answers() -> bool {
    let Ok(docker) = testcontainers::core::client::docker_client_instance().await else {
        return false;
    };
    matches!(
        tokio::time::timeout(PING_TIMEOUT, docker.ping()).await,
        Ok(Ok(_))
    )
}

/// `name:tag` as testcontainers wants it: the tag follows the last `:` after the last `/`
/// (a registry's port is not a tag), `latest` when there is none.
fn split_image(image: &str) -> (&str, &str) {
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, tag),
        _ => (image, "latest"),
    }
}

/// Where the container's published ports are reached: `AUTH0_TEST_CONTAINER_HOST` when set
/// (scripts/docker.sh's engine publishes on 127.0.0.1 only), else testcontainers' answer
/// (`localhost`, or the bridge's gateway when the tests themselves run in a container).
async fn container_host(container: &ContainerAsync<GenericImage>) -> String {
    if let Some(host) = std::env::var(HOST_VAR).ok().filter(|h| !h.is_empty()) {
        return host;
    }
    let host = container
        .get_host()
        .await
        .unwrap_or_else(|e| panic!("the container's host: {e}"))
        .to_string();
    // The ports asked for are the IPv4 ones: "localhost" could resolve to ::1 first.
    if host == "localhost" {
        "127.0.0.1".to_owned()
    } else {
        host
    }
}

/// A container of the service's image, once it has printed its ready line.
async fn start_container(service: &Service) -> TestServer {
    let image = std::env::var(service.image_var)
        .ok()
        .filter(|image| !image.is_empty())
        .unwrap_or_else(|| service.default_image.to_owned());
    let (image_name, tag) = split_image(&image);
    let wait = match service.ready {
        Ready::Stdout(line) => WaitFor::message_on_stdout(line),
        Ready::Stderr(line) => WaitFor::message_on_stderr(line),
    };
    let mut request = GenericImage::new(image_name, tag)
        .with_exposed_port(service.port.tcp())
        .with_wait_for(wait)
        .with_startup_timeout(STARTUP_TIMEOUT);
    for &(key, value) in service.env {
        request = request.with_env_var(key, value);
    }
    let container = request.start().await.unwrap_or_else(|e| {
        panic!(
            "a Docker engine answers, but a {name} container of {image} did not start: {e}. \
                 Set {image_var} to an image the engine has or can pull, or {url_var} to a \
                 running {name}",
            name = service.name,
            image_var = service.image_var,
            url_var = service.url_var,
        )
    });
    let host = container_host(&container).await;
    let port = container
        .get_host_port_ipv4(service.port)
        .await
        .unwrap_or_else(|e| panic!("the {} container's port: {e}", service.name));
    TestServer {
        url: (service.url)(&host, port),
        container: Some(container),
    }
}
