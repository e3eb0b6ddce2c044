//! Four OS processes assign bank exams to one user from one SQLite file holding 300: the user receives each exam
//! exactly once; then four processes for four users each receive all 300.

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use chrono::{TimeDelta, Utc};
use pregen_core::exam::{ExamType, synthetic_exam};
use pregen_core::policy::BankPolicy;
use pregen_core::store::sqlite::{SqliteOptions, SqliteStore};
use pregen_core::store::{BankSource, BankStore, NewBankExam};
use pregen_tests::tiny_spec;

const EXAMS: usize = 300;

fn spawn(db: &Path, user: &str, ready: &Path, start: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_assigner"))
        .args([db.to_str().unwrap(), user, ready.to_str().unwrap(), start.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// Starts one assigner per user at once and returns each one's ids.
async fn race(dir: &Path, db: &Path, users: &[&str], round: usize) -> Vec<Vec<String>> {
    let start = dir.join(format!("start-{round}"));
    let ready: Vec<_> = (0..users.len()).map(|i| dir.join(format!("ready-{round}-{i}"))).collect();
    let children: Vec<Child> = users.iter().zip(&ready).map(|(u, r)| spawn(db, u, r, &start)).collect();
    for _ in 0..12_000 {
        if ready.iter().all(|r| r.exists()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(ready.iter().all(|r| r.exists()), "every assigner opened the store");
    std::fs::write(&start, b"go").unwrap();
    children
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "assigner failed: {:?}", out.status);
            String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned).collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn processes_never_assign_one_exam_twice_to_a_user() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bank.db");
    let store = SqliteStore::open(&db, SqliteOptions::default()).await.unwrap();
    let created = Utc::now() - TimeDelta::hours(1);
    let (spec, bank) = (tiny_spec(), BankPolicy::default());
    let mut inserted = HashSet::new();
    for seed in 0..EXAMS as u64 {
        let exam = NewBankExam::new(
            ExamType::Practice,
            synthetic_exam(&spec, seed),
            &spec,
            BankSource::Imported,
            created,
            &bank,
        )
        .unwrap();
        inserted.insert(store.insert_bank_exam(exam).await.unwrap().id);
    }
    drop(store);

    let one_user = race(dir.path(), &db, &["shared-user"; 4], 0).await;
    let per_process: Vec<usize> = one_user.iter().map(Vec::len).collect();
    let all: Vec<&String> = one_user.iter().flatten().collect();
    let unique: HashSet<String> = all.iter().map(|s| (*s).clone()).collect();
    assert_eq!(all.len(), EXAMS, "each exam once to the user in total (per process: {per_process:?})");
    assert_eq!(unique, inserted, "none twice, none missed");
    assert!(per_process.iter().filter(|&&n| n > 0).count() >= 2, "processes really competed: {per_process:?}");

    let four_users = race(dir.path(), &db, &["u-1", "u-2", "u-3", "u-4"], 1).await;
    for ids in four_users {
        let unique: HashSet<String> = ids.iter().cloned().collect();
        assert_eq!((ids.len(), unique), (EXAMS, inserted.clone()), "every user receives every exam once");
    }
}
