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

/// The old system's table, as its migration created it (without the `auth.users` reference).
const OLD_TABLE: &str = "
CREATE TABLE public.pre_generated_exams (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL,
    exam_type text CHECK (exam_type IN ('diagnostic', 'practice')),
    questions jsonb NOT NULL,
    generated_at timestamptz,
    expires_at timestamptz DEFAULT now() + interval '7 days',
    used boolean DEFAULT false,
    created_at timestamptz DEFAULT now()
)";

/// A digest of every row of the old table, to show it untouched.
async fn old_digest(client: &pregen_core::store::postgres::tokio_postgres::Client) -> String {
    let row = client
        .query_one("SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM public.pre_generated_exams t", &[])
        .await
        .unwrap();
    row.get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_legacy_brings_the_valid_unused_unexpired_exams_once_and_leaves_the_old_table_alone() {
    use chrono::{DateTime, TimeDelta, Utc};
    use pregen_core::exam::{ExamSpec, ExamType, synthetic_exam};

    let (old, new) = (TestDb::create().await, TestDb::create().await);
    let client = old.client().await;
    client.batch_execute(OLD_TABLE).await.unwrap();
    let now = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap();
    let exam = |t: ExamType, seed| serde_json::to_string(&synthetic_exam(&ExamSpec::builtin(t), seed)).unwrap();
    let bare = serde_json::to_string(&synthetic_exam(&ExamSpec::practice(), 3).questions).unwrap();
    let (user_a, user_b) = ("11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222");
    let day = TimeDelta::days(1);
    // (id, user, type, questions, expires at, used)
    type OldRow<'a> = (&'a str, &'a str, Option<&'a str>, String, DateTime<Utc>, bool);
    let rows: Vec<OldRow<'_>> = vec![
        (
            "00000000-0000-4000-8000-000000000001",
            user_a,
            Some("diagnostic"),
            exam(ExamType::Diagnostic, 1),
            now + day * 5,
            false,
        ),
        (
            "00000000-0000-4000-8000-000000000002",
            user_a,
            Some("practice"),
            exam(ExamType::Practice, 2),
            now + day * 3,
            false,
        ),
        ("00000000-0000-4000-8000-000000000003", user_b, Some("practice"), bare, now + day * 6, false),
        (
            "00000000-0000-4000-8000-000000000004",
            user_b,
            Some("diagnostic"),
            exam(ExamType::Diagnostic, 4),
            now + day,
            true,
        ),
        (
            "00000000-0000-4000-8000-000000000005",
            user_b,
            Some("diagnostic"),
            exam(ExamType::Diagnostic, 5),
            now - day,
            false,
        ),
        (
            "00000000-0000-4000-8000-000000000006",
            user_a,
            Some("diagnostic"),
            exam(ExamType::Practice, 6),
            now + day,
            false,
        ),
        ("00000000-0000-4000-8000-000000000007", user_a, None, exam(ExamType::Diagnostic, 7), now + day, false),
    ];
    for (id, user, exam_type, questions, expires_at, used) in &rows {
        client
            .execute(
                "INSERT INTO public.pre_generated_exams (id, user_id, exam_type, questions, generated_at, expires_at, \
                 used, created_at) VALUES ($1::text::uuid, $2::text::uuid, $3, $4::text::jsonb, $5, $6, $7, $5)",
                &[id, user, exam_type, questions, &(now - day), expires_at, used],
            )
            .await
            .unwrap();
    }
    let before = old_digest(&client).await;

    let out = pregen(new.url(), &["import-legacy", "--from", old.url()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = json(&out);
    assert_eq!(report["read"], 7, "{report}");
    assert_eq!(report["imported"], 3, "{report}");
    assert_eq!(report["skipped"], serde_json::json!({"used": 1, "expired": 1, "badRow": 1, "invalid": 1}));
    let reasons: Vec<(&str, &str)> = report["skippedRows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["legacyId"].as_str().unwrap(), r["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        reasons,
        [
            ("00000000-0000-4000-8000-000000000004", "used"),
            ("00000000-0000-4000-8000-000000000005", "expired"),
            ("00000000-0000-4000-8000-000000000006", "invalid"),
            ("00000000-0000-4000-8000-000000000007", "badRow"),
        ]
    );
    assert!(report["skippedRows"][2]["detail"].as_str().unwrap().contains("too_many_items"), "{report}");
    assert_eq!(old_digest(&client).await, before, "the old table is untouched");

    let target = new.client().await;
    let mut imported: Vec<(String, String, DateTime<Utc>)> = target
        .query("SELECT user_id, exam_type, expires_at FROM pregen.pre_generated_exams ORDER BY expires_at", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    imported.sort_by_key(|(_, _, at)| *at);
    assert_eq!(
        imported,
        [
            (user_a.to_owned(), "practice".to_owned(), now + day * 3),
            (user_a.to_owned(), "diagnostic".to_owned(), now + day * 5),
            (user_b.to_owned(), "practice".to_owned(), now + day * 6),
        ],
        "each with its old expiry"
    );
    let served = json(&pregen(new.url(), &["get", "--user", user_b, "--type", "practice"]).output().unwrap());
    assert_eq!(served["preGenerated"], true, "an imported exam is served: {served}");

    let again = pregen(new.url(), &["import-legacy", "--from", old.url()]).output().unwrap();
    let again = json(&again);
    assert_eq!(again["imported"], 0, "{again}");
    assert_eq!(again["skipped"]["alreadyImported"], 3, "{again}");
    let exams: i64 =
        target.query_one("SELECT count(*) FROM pregen.pre_generated_exams", &[]).await.unwrap().get(0);
    assert_eq!(exams, 3, "nothing imported twice (one of them served since)");
    assert_eq!(old_digest(&client).await, before, "still untouched");
}
