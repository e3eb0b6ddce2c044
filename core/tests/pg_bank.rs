//! The bank's assignment under contention on Postgres: an assignment that loses its exam's content to a
//! concurrent one committed after its snapshot takes the next exam; and across OS processes, four processes with
//! eight tasks each assign from a bank of 200 exams to two users until nothing is left, and each user receives
//! every exam exactly once. The children are this test binary run again in child mode.
#![cfg(feature = "postgres")]

mod pg_support;
mod store_contract;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use pg_support::TestDb;
use pregen_core::exam::{ExamType, synthetic_exam};
use pregen_core::policy::BankPolicy;
use pregen_core::store::postgres::{PgOptions, PgStore};
use pregen_core::store::{BankSource, BankStore, NewBankExam, content_hash};
use store_contract::{t0, tiny_spec, user};

const CHILD_ENV: &str = "PREGEN_PG_ASSIGNER";
const TASKS: usize = 8;
const EXAMS: usize = 200;
const USERS: [&str; 2] = ["shared-0", "shared-1"];

/// Another transaction records that `racer` received exam A's content and holds it uncommitted while the store
/// assigns to `racer`: the assignment picks A (the row is not locked and the record not yet visible), waits on
/// the unique key, finds the repeat once the other commits, records nothing, and runs again to take B. A's count
/// stays untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assignment_that_loses_its_content_to_a_concurrent_one_takes_the_next_exam() {
    let db = TestDb::create().await;
    let store = db.store(2).await;
    let (bank, spec) = (BankPolicy::default(), tiny_spec());
    let mut ids = Vec::new();
    for seed in [1, 2] {
        let at = t0() + TimeDelta::milliseconds(seed as i64);
        let new = NewBankExam::new(
            ExamType::Practice,
            synthetic_exam(&spec, seed),
            &spec,
            BankSource::Generated,
            at,
            &bank,
        )
        .unwrap();
        ids.push(store.insert_bank_exam(new).await.unwrap().id);
    }
    let hash_a = content_hash(&synthetic_exam(&spec, 1));
    let mut other = db.client().await;
    let tx = other.transaction().await.unwrap();
    tx.batch_execute(&format!(
        "INSERT INTO pregen.assignments (user_id, exam_id, exam_type, content_hash, assigned_at) \
         VALUES ('racer', '{}', 'practice', '{hash_a}', '2030-01-01T00:00:00Z')",
        ids[0]
    ))
    .await
    .unwrap();
    let now = t0() + TimeDelta::hours(1);
    let assigning = {
        let store = store.clone();
        tokio::spawn(async move { store.assign_exam(&user("racer"), ExamType::Practice, now, &bank).await })
    };
    let watcher = db.client().await;
    let mut waiting = false;
    for _ in 0..4_000 {
        let row = watcher
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
                &[],
            )
            .await
            .unwrap();
        if row.get::<_, i64>(0) == 1 {
            waiting = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(waiting, "the assignment waits on the uncommitted record of the same content");
    tx.commit().await.unwrap();
    let got = assigning.await.unwrap().unwrap();
    assert_eq!(got.map(|c| c.id), Some(ids[1].clone()), "the next exam, not nothing and not A again");
    let counts: Vec<(String, i32)> = watcher
        .query("SELECT id::text, assignments FROM pregen.bank_exams ORDER BY created_at", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(counts, [(ids[0].clone(), 0), (ids[1].clone(), 1)], "only the recorded assignment is counted");
    assert!(store.assign_exam(&user("racer"), ExamType::Practice, now, &bank).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_of_eight_tasks_never_assign_one_exam_twice_to_a_user() {
    let db = TestDb::create().await;
    let store = db.store(2).await;
    let (bank, spec) = (BankPolicy::default(), tiny_spec());
    let mut stored = BTreeSet::new();
    for i in 0..EXAMS {
        let at = t0() + TimeDelta::milliseconds(i as i64);
        let exam = synthetic_exam(&spec, 10_000 + i as u64);
        let new = NewBankExam::new(ExamType::Practice, exam, &spec, BankSource::Generated, at, &bank).unwrap();
        stored.insert(store.insert_bank_exam(new).await.unwrap().id);
    }
    assert_eq!(stored.len(), EXAMS);
    drop(store);

    let dir = tempfile::tempdir().unwrap();
    let start = dir.path().join("start");
    let now = t0() + TimeDelta::hours(1);
    let ready: Vec<PathBuf> = (0..4).map(|i| dir.path().join(format!("ready-{i}"))).collect();
    let children: Vec<_> = ready
        .iter()
        .map(|ready| {
            let spec = format!("{}\n{}\n{}\n{}", db.url(), ready.display(), start.display(), now.to_rfc3339());
            Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "assigner_child", "--ignored", "--nocapture", "--test-threads", "1"])
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
    assert!(ready.iter().all(|r| r.exists()), "every assigner connected");
    std::fs::write(&start, b"go").unwrap();

    let mut per_user: HashMap<String, Vec<String>> = HashMap::new();
    let mut processes_per_user: HashMap<String, usize> = HashMap::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "assigner failed: {:?}", out.status);
        let text = String::from_utf8(out.stdout).unwrap();
        let mut seen_here = BTreeSet::new();
        // The harness prints `test assigner_child ... ` without a newline before the child's first line.
        for (who, id) in
            text.lines().filter_map(|l| l.split_once("assigned ").and_then(|(_, r)| r.split_once(' ')))
        {
            per_user.entry(who.to_owned()).or_default().push(id.to_owned());
            seen_here.insert(who.to_owned());
        }
        for who in seen_here {
            *processes_per_user.entry(who).or_default() += 1;
        }
    }
    for who in USERS {
        let got = per_user.get(who).cloned().unwrap_or_default();
        let distinct: BTreeSet<String> = got.iter().cloned().collect();
        assert_eq!(got.len(), EXAMS, "{who} received {} assignments (every exam once)", got.len());
        assert_eq!(distinct, stored, "{who}: none twice, none missed");
        let competing = processes_per_user.get(who).copied().unwrap_or(0);
        assert!(competing >= 2, "{who}: processes really competed ({competing} assigned)");
    }
}

/// Child mode of the test above: connects, reports ready, waits for the start file, then assigns with eight
/// tasks (half for each user) until nothing is left, printing `assigned <user> <id>` per assignment.
#[test]
#[ignore = "a helper process of four_processes_of_eight_tasks_never_assign_one_exam_twice_to_a_user"]
fn assigner_child() {
    let spec = std::env::var(CHILD_ENV)
        .expect("run by four_processes_of_eight_tasks_never_assign_one_exam_twice_to_a_user");
    let mut lines = spec.lines();
    let (url, ready, start) = (lines.next().unwrap(), lines.next().unwrap(), lines.next().unwrap());
    let now: DateTime<Utc> = DateTime::parse_from_rfc3339(lines.next().unwrap()).unwrap().to_utc();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let options = PgOptions { max_connections: TASKS, migrate: false, ..PgOptions::default() };
        let store = PgStore::connect(url, options).await.expect("connect");
        std::fs::write(ready, b"ready").unwrap();
        while !Path::new(start).exists() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let bank = BankPolicy::default();
        let tasks: Vec<_> = (0..TASKS)
            .map(|i| {
                let store = store.clone();
                let who = USERS[i % USERS.len()];
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    while let Some(exam) =
                        store.assign_exam(&user(who), ExamType::Practice, now, &bank).await.unwrap()
                    {
                        mine.push((who, exam.id));
                    }
                    mine
                })
            })
            .collect();
        for task in tasks {
            for (who, id) in task.await.unwrap() {
                println!("assigned {who} {id}");
            }
        }
    });
}
