//! Claims across OS processes on Postgres: four processes with eight tasks each claim 1,000 exams of one user and
//! type; each exam is handed out exactly once. The children are this test binary run again in child mode.
#![cfg(feature = "postgres")]

mod pg_support;
mod store_contract;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use pg_support::TestDb;
use pregen_core::exam::ExamType;
use pregen_core::store::ExamStore;
use pregen_core::store::postgres::{PgOptions, PgStore};
use store_contract::{new_exam, user};

const CHILD_ENV: &str = "PREGEN_PG_CLAIMER";
const TASKS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_of_eight_tasks_claim_each_exam_exactly_once() {
    let db = TestDb::create().await;
    let store = db.store(2).await;
    let created = chrono::Utc::now() - chrono::TimeDelta::hours(1);
    let exams = (0..1_000).map(|i| new_exam("shared-user", ExamType::Practice, created, i)).collect();
    let inserted: HashSet<String> = store.insert_exams(exams).await.unwrap().into_iter().collect();
    drop(store);

    let dir = tempfile::tempdir().unwrap();
    let start = dir.path().join("start");
    let ready: Vec<PathBuf> = (0..4).map(|i| dir.path().join(format!("ready-{i}"))).collect();
    let children: Vec<_> = ready
        .iter()
        .map(|ready| {
            let spec = format!("{}\n{}\n{}", db.url(), ready.display(), start.display());
            Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "claimer_child", "--ignored", "--nocapture", "--test-threads", "1"])
                .env(CHILD_ENV, spec)
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap()
        })
        .collect();
    // Bounded so a child that died before it got ready fails the test instead of hanging it.
    for _ in 0..12_000 {
        if ready.iter().all(|r| r.exists()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(ready.iter().all(|r| r.exists()), "every claimer connected");
    std::fs::write(&start, b"go").unwrap();

    let mut claimed = Vec::new();
    let mut per_process = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "claimer failed: {:?}", out.status);
        let ids: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            // The harness prints `test claimer_child ... ` without a newline before the child's first line.
            .filter_map(|l| l.split_once("claimed ").map(|(_, id)| id.to_owned()))
            .collect();
        per_process.push(ids.len());
        claimed.extend(ids);
    }
    let unique: HashSet<String> = claimed.iter().cloned().collect();
    assert_eq!(claimed.len(), 1_000, "every exam claimed once in total (per process: {per_process:?})");
    assert_eq!(unique, inserted, "none twice, none lost");
    assert!(per_process.iter().filter(|&&n| n > 0).count() >= 2, "processes really competed: {per_process:?}");
}

/// Child mode of the test above: connects, reports ready, waits for the start file, then claims with eight tasks
/// until no exam is left, printing `claimed <id>` per exam.
#[test]
#[ignore = "a helper process of four_processes_of_eight_tasks_claim_each_exam_exactly_once"]
fn claimer_child() {
    let spec =
        std::env::var(CHILD_ENV).expect("run by four_processes_of_eight_tasks_claim_each_exam_exactly_once");
    let mut lines = spec.lines();
    let (url, ready, start) = (lines.next().unwrap(), lines.next().unwrap(), lines.next().unwrap());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let options = PgOptions { max_connections: TASKS, migrate: false, ..PgOptions::default() };
        let store = PgStore::connect(url, options).await.expect("connect");
        std::fs::write(ready, b"ready").unwrap();
        while !Path::new(start).exists() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let now = chrono::Utc::now();
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    while let Some(exam) =
                        store.claim_exam(&user("shared-user"), ExamType::Practice, now).await.unwrap()
                    {
                        mine.push(exam.id);
                    }
                    mine
                })
            })
            .collect();
        for task in tasks {
            for id in task.await.unwrap() {
                println!("claimed {id}");
            }
        }
    });
}
