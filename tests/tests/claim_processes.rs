//! Four OS processes claim from one SQLite file holding 1,000 exams: each exam is claimed exactly once.

use std::collections::HashSet;
use std::process::{Command, Stdio};

use chrono::{TimeDelta, Utc};
use pregen_core::exam::ExamType;
use pregen_core::store::ExamStore;
use pregen_core::store::sqlite::{SqliteOptions, SqliteStore};
use pregen_tests::tiny_exam;

#[tokio::test(flavor = "multi_thread")]
async fn four_processes_claim_each_exam_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pregen.db");
    let store = SqliteStore::open(&db, SqliteOptions::default()).await.unwrap();
    let created = Utc::now() - TimeDelta::hours(1);
    let exams = (0..1_000).map(|i| tiny_exam("shared-user", ExamType::Practice, created, i)).collect();
    let inserted: HashSet<String> = store.insert_exams(exams).await.unwrap().into_iter().collect();
    drop(store);

    let start = dir.path().join("start");
    let ready: Vec<_> = (0..4).map(|i| dir.path().join(format!("ready-{i}"))).collect();
    let children: Vec<_> = ready
        .iter()
        .map(|ready| {
            Command::new(env!("CARGO_BIN_EXE_claimer"))
                .args([db.to_str().unwrap(), "shared-user", ready.to_str().unwrap(), start.to_str().unwrap()])
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
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(ready.iter().all(|r| r.exists()), "every claimer opened the store");
    std::fs::write(&start, b"go").unwrap();

    let mut claimed = Vec::new();
    let mut per_process = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "claimer failed: {:?}", out.status);
        let ids: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned).collect();
        per_process.push(ids.len());
        claimed.extend(ids);
    }
    let unique: HashSet<String> = claimed.iter().cloned().collect();
    assert_eq!(claimed.len(), 1_000, "every exam claimed once in total (per process: {per_process:?})");
    assert_eq!(unique, inserted, "none twice, none lost");
    assert!(per_process.iter().filter(|&&n| n > 0).count() >= 2, "processes really competed: {per_process:?}");
}
