//! The backend on a real three-node Redis Cluster of this test's own: every command of an
//! operation lands in one slot (hash tags), so the whole conformance suite passes on a cluster
//! connection.

mod support;

use std::process::Command;
use std::time::Duration;

use auth0_store_conformance::{ServerSideFixture, TEST_SECRET, run_all};
use auth0_store_redis::RedisBackend;

struct Cluster {
    dir: std::path::PathBuf,
    ports: Vec<u16>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for port in &self.ports {
            let _ = Command::new("redis-cli")
                .args(["-p", &port.to_string(), "shutdown", "nosave"])
                .output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_cluster() -> Cluster {
    let dir = std::env::temp_dir().join(format!(
        "auth0-redis-cluster-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let cluster = Cluster {
        dir: dir.clone(),
        ports: ports.clone(),
    };
    for port in &ports {
        let status = Command::new("redis-server")
            .current_dir(&dir)
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--cluster-enabled",
                "yes",
            ])
            .args([
                "--cluster-config-file",
                &format!("nodes-{port}.conf"),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args([
                "--daemonize",
                "yes",
                "--logfile",
                &format!("redis-{port}.log"),
            ])
            .status()
            .expect("redis-server runs");
        assert!(status.success());
    }
    for port in &ports {
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", *port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let nodes: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let out = Command::new("redis-cli")
        .arg("--cluster")
        .arg("create")
        .args(&nodes)
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .output()
        .expect("redis-cli runs");
    assert!(
        out.status.success(),
        "cluster create: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    for _ in 0..100 {
        let info = Command::new("redis-cli")
            .args(["-p", &ports[0].to_string(), "cluster", "info"])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok") {
            return cluster;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the cluster did not become ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_suite_passes_on_a_redis_cluster() {
    if support::redis_url().is_none() {
        return;
    }
    let cluster = start_cluster();
    let urls: Vec<String> = cluster
        .ports
        .iter()
        .map(|p| format!("redis://127.0.0.1:{p}"))
        .collect();
    let client = redis::cluster::ClusterClient::new(urls).unwrap();
    let conn = client.get_async_connection().await.unwrap();
    let report = run_all(move || {
        let conn = conn.clone();
        async move {
            let backend = RedisBackend::with_connection(conn).with_prefix(support::unique_prefix());
            let secrets = auth0_store_core::Secrets::parse(TEST_SECRET).unwrap();
            let transactions = backend.transaction_store(&secrets);
            ServerSideFixture::real_time(backend, transactions)
        }
    })
    .await;
    report.assert_all_passed();
    drop(cluster);
}
