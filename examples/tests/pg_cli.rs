//! The `pregen` command on Postgres (`--db postgres://...`): two cron sweeps in two processes at once generate
//! each missing exam once. Each test creates and drops a database of its own on the local test server.
#![cfg(feature = "postgres")]

#[path = "../../core/tests/pg_support/mod.rs"]
mod pg_support;

use std::process::{Command, Output};

use pg_support::TestDb;
use pregen_core::config::OPTION_VARIABLES;
use pregen_core::simulator::{DEFAULT_API_KEY, LatencyModel, Simulator, SimulatorConfig};
use serde_json::Value;

/// The command on `url`, with no setting from this process's environment.
fn pregen(url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pregen"));
    cmd.args(["--db", url]).args(args);
    for (_, name) in OPTION_VARIABLES {
        cmd.env_remove(name);
    }
    cmd
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is one JSON document ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_cron_sweeps_at_once_on_postgres_generate_each_missing_exam_once() {
    let sim = Simulator::start(
        SimulatorConfig::builder().seed(4).latency(LatencyModel::haiku()).time_factor(50.0).build().unwrap(),
    )
    .await
    .unwrap();
    let db = TestDb::create().await;
    for i in 0..4 {
        let out = pregen(db.url(), &["trigger", "--user", &format!("user-{i}")]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    // The sweeps plan and enqueue the missing exams themselves.
    assert!(pregen(db.url(), &["queue", "clear"]).output().unwrap().status.success());
    let spawn = || {
        pregen(db.url(), &["cron", "--budget", "120"])
            .env("ANTHROPIC_API_KEY", DEFAULT_API_KEY)
            .env("ANTHROPIC_BASE_URL", sim.url())
            .output()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(spawn);
        let b = s.spawn(spawn);
        (a.join().unwrap().unwrap(), b.join().unwrap().unwrap())
    });
    for out in [&a, &b] {
        assert!(out.status.success(), "{}\n{}", json(out), String::from_utf8_lossy(&out.stderr));
    }
    let stats = json(&pregen(db.url(), &["stats"]).output().unwrap());
    assert_eq!(stats["stats"]["totalGenerated"], 8, "4 users x 2 types, each generated once: {stats}");
    assert_eq!(stats["stats"]["diagnosticCount"], 4);
    assert_eq!(stats["stats"]["practiceCount"], 4);
    let client = db.client().await;
    let jobs: i64 =
        client.query_one("SELECT count(*) FROM pregen.jobs WHERE state = 'succeeded'", &[]).await.unwrap().get(0);
    assert_eq!(jobs, 8, "one succeeded job per (user, type)");
    sim.shutdown().await.unwrap();
}
