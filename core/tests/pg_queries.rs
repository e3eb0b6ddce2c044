//! How the Postgres backend talks to the server: what a transaction pooler needs (no named prepared statement, no
//! session setting survives a call), and plans that look each (user, type) pair up by index.
#![cfg(feature = "postgres")]

mod pg_support;
mod store_contract;

use chrono::TimeDelta;
use pg_support::TestDb;
use pregen_core::exam::{ExamType, synthetic_exam};
use pregen_core::policy::{BankPolicy, Policy};
use pregen_core::queue::{JobKey, QueueOptions};
use pregen_core::store::postgres::tokio_postgres::{GenericClient, SimpleQueryMessage};
use pregen_core::store::postgres::{PgOptions, PgStore};
use pregen_core::store::{
    ActivityStore, BankSource, BankStore, BatchRecord, BatchStore, ExamStore, JobStore, NewBankExam,
};
use store_contract::{key, new_exam, t0, tiny_exam_for, user};

/// The first column of every row of a simple query (the simple protocol prepares nothing).
async fn simple(store: &PgStore, sql: &str) -> Vec<String> {
    let client = store.client().await.unwrap();
    client
        .simple_query(sql)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap_or("").to_owned()),
            _ => None,
        })
        .collect()
}

/// Every store call on a pool of one connection, with the URL saying a transaction pooler is in between;
/// afterwards that connection holds no prepared statement and no setting made in the session, so any server
/// connection of a transaction pooler could have run each call.
#[tokio::test]
async fn behind_a_transaction_pooler_no_call_leaves_a_prepared_statement_or_a_session_setting() {
    // The pooler said in the URL, or listening turned off alone (the older form, which leaves statements unnamed).
    for setting in ["pregen_pooler=transaction", "pregen_listen=off"] {
        let db = TestDb::create().await;
        let url = format!("{}?{setting}", db.url());
        let store =
            PgStore::connect(&url, PgOptions { max_connections: 1, ..PgOptions::default() }).await.unwrap();
        nothing_kept_after_every_call(&store).await;
    }
}

/// Runs every store call and checks that its one connection keeps no prepared statement and no session setting.
async fn nothing_kept_after_every_call(store: &PgStore) {
    every_store_call(store, 0).await;
    assert_eq!(simple(store, "SELECT count(*) FROM pg_prepared_statements").await, ["0"]);
    let session = simple(store, "SELECT name FROM pg_settings WHERE source = 'session'").await;
    assert!(session.is_empty(), "settings made in the session: {session:?}");
    let backends = simple(
        store,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'pregen'",
    )
    .await;
    assert_eq!(backends, ["1"], "every call ran on the one pooled connection");
}

/// With a session that lasts (the default), each statement is prepared once on its connection and reused: a second
/// round of every store call prepares nothing new, and still no setting is made in the session.
#[tokio::test]
async fn with_a_lasting_session_statements_are_prepared_once_and_reused() {
    let (_db, store) = kept_statements_on_one_connection().await;
    every_store_call(&store, 0).await;
    let prepared = "SELECT count(*) FROM pg_prepared_statements";
    let first: usize = simple(&store, prepared).await[0].parse().unwrap();
    assert!(first >= 30, "only {first} statements were prepared");
    every_store_call(&store, 1).await;
    let second: usize = simple(&store, prepared).await[0].parse().unwrap();
    assert_eq!(second, first, "the second round prepared statements again");
    let session = simple(&store, "SELECT name FROM pg_settings WHERE source = 'session'").await;
    assert!(session.is_empty(), "settings made in the session: {session:?}");
}

/// Every store call once; `round` makes the rows each call needs new.
async fn every_store_call(store: &PgStore, round: u32) {
    let (policy, options) = (Policy::default(), QueueOptions::default());
    let (u, v, b) = (format!("u{round}"), format!("v{round}"), format!("b{round}"));
    store.record_activity(&user(&u), t0()).await.unwrap();
    store.insert_exams(vec![new_exam(&u, ExamType::Practice, t0(), 1)]).await.unwrap();
    store.claim_exam(&user(&u), ExamType::Practice, t0()).await.unwrap();
    store.stock(&user(&u), ExamType::Practice, t0(), &policy).await.unwrap();
    store.plan_missing(t0(), &policy).await.unwrap();
    store.analytics(t0(), &policy).await.unwrap();
    store.user_stats(&user(&u), t0(), &policy).await.unwrap();
    store.record_get_outcome(true).await.unwrap();
    store.generation_summary().await.unwrap();
    store.count_active_users(t0()).await.unwrap();
    store.enqueue_many(&[key(&u, ExamType::Practice), key(&v, ExamType::Practice)], t0(), &options).await.unwrap();
    let mut jobs = store.claim_jobs("w", 2, t0(), &options).await.unwrap();
    let job = jobs.remove(0);
    let job = store.heartbeat_job(&job, t0() + TimeDelta::seconds(1), &options).await.unwrap();
    store.complete_job_with_exam(&job, tiny_exam_for(&job, t0()), t0()).await.unwrap();
    store.release_job(&jobs[0], t0()).await.unwrap();
    store.claim_job(&jobs[0].id, "w", t0(), &options).await.unwrap();
    store.queue_status(t0(), 10).await.unwrap();
    store.next_due_at().await.unwrap();
    store.clear_queue(t0()).await.unwrap();
    store.cleanup(t0() + TimeDelta::days(30), &policy, 10).await.unwrap();
    store.cleanup_jobs(t0() + TimeDelta::days(30), &options.retention, 10).await.unwrap();
    let batch =
        BatchRecord { id: b.clone(), holder: "h".into(), plan: "{}".into(), request_count: 1, submitted_at: t0() };
    store.record_batch(&batch).await.unwrap();
    store.claim_open_batches("c", t0(), t0() + TimeDelta::minutes(1)).await.unwrap();
    store.release_batch(&b, "c", true, t0()).await.unwrap();
    store.count_open_batches().await.unwrap();
    let bank = BankPolicy::default();
    let spec = store_contract::tiny_spec();
    let bank_exam = |seed| {
        NewBankExam::new(ExamType::Practice, synthetic_exam(&spec, seed), &spec, BankSource::Imported, t0(), &bank)
            .unwrap()
    };
    let stored = store.insert_bank_exam(bank_exam(7 + 2 * u64::from(round))).await.unwrap();
    let hash = pregen_core::store::content_hash(&synthetic_exam(&spec, 7 + 2 * u64::from(round)));
    assert_eq!(store.bank_exam_by_content(ExamType::Practice, &hash).await.unwrap(), Some(stored.id));
    store.assign_exam(&user(&u), ExamType::Practice, t0(), &bank).await.unwrap();
    store.unseen(&user(&u), ExamType::Practice, t0(), &bank).await.unwrap();
    store.plan_bank(t0(), &policy, &bank).await.unwrap();
    store.bank_analytics(t0(), &policy, &bank).await.unwrap();
    store.cleanup_bank(t0() + TimeDelta::days(60), &policy, &bank, 10).await.unwrap();
    store.enqueue(&JobKey::bank(ExamType::Practice, round), t0(), &options).await.unwrap();
    let bank_job = store.claim_jobs("w", 1, t0(), &options).await.unwrap().remove(0);
    store.complete_job_with_bank_exam(&bank_job, bank_exam(8 + 2 * u64::from(round)), t0()).await.unwrap();
}

/// The claim and the stock count find the pair's rows by an index on (user, type), not by scanning the table.
#[tokio::test]
async fn claim_and_stock_look_up_each_pair_by_index() {
    let db = TestDb::create().await;
    let store = db.store(1).await;
    let exams = (0..200).map(|i| new_exam(&format!("user-{}", i % 50), ExamType::Practice, t0(), i)).collect();
    store.insert_exams(exams).await.unwrap();
    let client = db.client().await;
    client.batch_execute("ANALYZE pregen.pre_generated_exams").await.unwrap();
    for statement in [
        "SELECT id FROM pregen.pre_generated_exams WHERE user_id = 'user-1' AND exam_type = 'practice' AND NOT used \
         AND expires_at > '2026-03-01T12:00:00Z' ORDER BY created_at DESC, seq DESC LIMIT 1 FOR UPDATE SKIP LOCKED",
        "SELECT count(*) FROM pregen.pre_generated_exams WHERE user_id = 'user-1' AND exam_type = 'practice' \
         AND NOT used AND expires_at > '2026-03-01T12:00:00Z'",
    ] {
        let plan: Vec<String> = client
            .simple_query(&format!("EXPLAIN (COSTS OFF) {statement}"))
            .await
            .unwrap()
            .into_iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap_or("").to_owned()),
                _ => None,
            })
            .collect();
        let plan = plan.join("\n");
        let by_pair = "Index Cond: ((user_id = 'user-1'::text) AND (exam_type = 'practice'::text))";
        assert!(plan.contains(by_pair), "{plan}");
        assert!(!plan.contains("Seq Scan"), "{plan}");
    }
}

/// Planning finds the same pairs, in the same order, whether it reads all stock in one pass (the stock table not
/// yet analysed, so it looks small) or probes each active pair by index (the analysed table far outweighs the few
/// active users' pairs); which form runs follows `one_pass` in the backend's planning module.
#[tokio::test]
async fn planning_finds_the_same_pairs_in_one_pass_and_by_probes() {
    let db = TestDb::create().await;
    let store = db.store(1).await;
    let policy = Policy::default();
    let now = t0();
    let mut want = Vec::new();
    for (stock, id) in ["a", "b", "c"].into_iter().enumerate() {
        store.record_activity(&user(id), now).await.unwrap();
        let exams = (0..stock).map(|s| new_exam(id, ExamType::Practice, now, s as u64)).collect();
        store.insert_exams(exams).await.unwrap();
        want.push((id.to_owned(), ExamType::Diagnostic, policy.missing(0)));
        want.push((id.to_owned(), ExamType::Practice, policy.missing(stock as u32)));
    }
    want.retain(|(_, _, missing)| *missing > 0);
    store.record_activity(&user("idle"), now - TimeDelta::days(30)).await.unwrap();
    let pairs = |planned: Vec<pregen_core::store::MissingExams>| -> Vec<(String, ExamType, u32)> {
        planned.into_iter().map(|m| (m.user_id.to_string(), m.exam_type, m.missing)).collect()
    };
    let in_one_pass = pairs(store.plan_missing(now, &policy).await.unwrap());

    let idle = (0..400).map(|s| new_exam("idle", ExamType::Diagnostic, now, s)).collect();
    store.insert_exams(idle).await.unwrap();
    db.client().await.batch_execute("ANALYZE pregen.pre_generated_exams").await.unwrap();
    let by_probes = pairs(store.plan_missing(now, &policy).await.unwrap());

    assert_eq!(in_one_pass, want);
    assert_eq!(by_probes, want);
}

/// The session's counts of entries read from the jobs index `index` and of sequential scans of the jobs table
/// (they pile up across the session's transactions until flushed, so callers compare two readings).
async fn reads(tx: &impl GenericClient, index: &str) -> (i64, i64) {
    let entries = format!("SELECT pg_stat_get_xact_tuples_returned('pregen.{index}'::regclass)");
    let scans = "SELECT seq_scan FROM pg_stat_xact_user_tables WHERE schemaname = 'pregen' AND relname = 'jobs'";
    (tx.query_one(&entries, &[]).await.unwrap().get(0), tx.query_one(scans, &[]).await.unwrap().get(0))
}

/// A claim reads about as many entries of the due index as it takes jobs, whatever the backlog and whatever the
/// planner would prefer. On a queue table the planner's statistics are stale by nature; expecting few due rows,
/// it read every due job and sorted them all for each claim (seen in the queue bench: 5,500 rows per claim). Here
/// index scans are turned off in the session, which makes a naive claim take that plan (the control), and the
/// claim function must walk the index in order all the same.
#[tokio::test]
async fn a_claim_reads_the_due_index_in_order_whatever_the_planner_prefers() {
    let db = TestDb::create().await;
    let store = db.store(2).await;
    let keys: Vec<JobKey> = (0..5_000).map(|i| key(&format!("user-{i}"), ExamType::Practice)).collect();
    store.enqueue_many(&keys, t0(), &QueueOptions::default()).await.unwrap();
    let mut client = db.client().await;
    let prefer_sorting = "SET LOCAL enable_indexscan = off";

    let tx = client.transaction().await.unwrap();
    tx.batch_execute(prefer_sorting).await.unwrap();
    let naive = "SELECT id FROM pregen.jobs WHERE state IN ('pending', 'retry_wait') AND run_at <= $1 \
                 AND attempt < max_attempts ORDER BY run_at, created_at LIMIT 5 FOR UPDATE SKIP LOCKED";
    let before = reads(&tx, "jobs_due").await;
    assert_eq!(tx.query(naive, &[&t0()]).await.unwrap().len(), 5);
    let entries = reads(&tx, "jobs_due").await.0 - before.0;
    assert!(
        entries >= 5_000,
        "the control read {entries} entries: the setting no longer makes a naive claim sort"
    );
    tx.rollback().await.unwrap();

    let tx = client.transaction().await.unwrap();
    tx.batch_execute(prefer_sorting).await.unwrap();
    let later = t0() + TimeDelta::minutes(10);
    let claim = "SELECT * FROM pregen.claim_due_jobs('w', $1, $2, $2, $2, 5, 100)";
    let before = reads(&tx, "jobs_due").await;
    assert_eq!(tx.query(claim, &[&t0(), &later]).await.unwrap().len(), 5);
    let after = reads(&tx, "jobs_due").await;
    let (entries, seq_scans) = (after.0 - before.0, after.1 - before.1);
    assert!(entries <= 20, "the claim read {entries} entries of the due index for 5 jobs");
    assert_eq!(seq_scans, 0);
    tx.rollback().await.unwrap();
}

/// Finishing jobs looks each one up by id, whatever the planner prefers. With stale statistics the planner joined
/// the decisions to every running row instead (3 ms a call in the queue bench); here nested loops are turned off in
/// the session, which makes a naive join of decisions to running jobs read all 2,000 (the control), and the
/// finishing function must still look up only the five it finishes.
#[tokio::test]
async fn finishing_looks_each_job_up_by_id_whatever_the_planner_prefers() {
    let db = TestDb::create().await;
    let store = db.store(2).await;
    let options = QueueOptions::default();
    let keys: Vec<JobKey> = (0..2_000).map(|i| key(&format!("user-{i}"), ExamType::Practice)).collect();
    store.enqueue_many(&keys, t0(), &options).await.unwrap();
    let running = store.claim_jobs("w", 2_000, t0(), &options).await.unwrap();
    assert_eq!(running.len(), 2_000);
    let ids: Vec<String> = running.iter().take(5).map(|j| j.id.to_string()).collect();
    let mut client = db.client().await;
    let prefer_joining_everything = "SET LOCAL enable_nestloop = off";
    let running_entries = |r: (i64, i64), s: (i64, i64)| (r.0 + s.0, r.1 + s.1);

    let tx = client.transaction().await.unwrap();
    tx.batch_execute(prefer_joining_everything).await.unwrap();
    let naive = "SELECT j.id FROM pregen.jobs j JOIN unnest($1::text[]::uuid[]) AS d (id) ON d.id = j.id \
                 WHERE j.state = 'running'";
    let before =
        running_entries(reads(&tx, "jobs_running_lease").await, reads(&tx, "jobs_running_deadline").await);
    assert_eq!(tx.query(naive, &[&ids]).await.unwrap().len(), 5);
    let after = running_entries(reads(&tx, "jobs_running_lease").await, reads(&tx, "jobs_running_deadline").await);
    let (entries, seq_scans) = (after.0 - before.0, (after.1 - before.1) / 2);
    assert!(
        entries >= 2_000 || seq_scans > 0,
        "the control read {entries} running entries and scanned the table {seq_scans} times"
    );
    tx.rollback().await.unwrap();

    let tx = client.transaction().await.unwrap();
    tx.batch_execute(prefer_joining_everything).await.unwrap();
    let finish = "SELECT id FROM pregen.finish_jobs($1::text[]::uuid[], $2, $3, $4, $5, $6, $7, $8, $9)";
    let holders = vec!["w"; 5];
    let attempts = vec![1_i32; 5];
    let states = vec!["succeeded"; 5];
    let none_at: Vec<Option<chrono::DateTime<chrono::Utc>>> = vec![None; 5];
    let none_text: Vec<Option<&str>> = vec![None; 5];
    let decided = vec![t0(); 5];
    let before =
        running_entries(reads(&tx, "jobs_running_lease").await, reads(&tx, "jobs_running_deadline").await);
    let finished = tx
        .query(finish, &[&ids, &holders, &attempts, &states, &none_at, &none_text, &none_text, &decided, &decided])
        .await
        .unwrap();
    assert_eq!(finished.len(), 5);
    let after = running_entries(reads(&tx, "jobs_running_lease").await, reads(&tx, "jobs_running_deadline").await);
    assert_eq!(after.0 - before.0, 0, "finishing read entries of the running indexes");
    assert_eq!(after.1 - before.1, 0, "finishing scanned the jobs table");
    tx.rollback().await.unwrap();
}

/// A new database and a store on it with one connection and statements prepared (the default).
async fn kept_statements_on_one_connection() -> (TestDb, PgStore) {
    let db = TestDb::create().await;
    let store =
        PgStore::connect(db.url(), PgOptions { max_connections: 1, ..PgOptions::default() }).await.unwrap();
    (db, store)
}

/// Changes the type of a column the job statements return, as a migration by another process might.
async fn change_a_result_type(db: &TestDb) {
    db.client()
        .await
        .batch_execute("ALTER TABLE pregen.jobs ALTER COLUMN last_error_message TYPE varchar")
        .await
        .unwrap();
}

/// A kept statement whose result no longer fits the schema (another process migrated it while this one ran) is
/// prepared again and the call tried once more, instead of failing every call on that connection until it closes.
#[tokio::test]
async fn a_kept_statement_the_schema_changed_under_is_prepared_again() {
    let (db, store) = kept_statements_on_one_connection().await;
    let options = QueueOptions::default();
    let job = store.enqueue(&key("u", ExamType::Practice), t0(), &options).await.unwrap().job;
    assert_eq!(store.get_job(&job.id).await.unwrap().map(|j| j.id), Some(job.id.clone()));
    change_a_result_type(&db).await;
    assert_eq!(store.get_job(&job.id).await.unwrap().map(|j| j.id), Some(job.id));
}

/// A kept statement the server no longer has (as when a transaction pooler hands the call to another server
/// connection, emulated by deallocating every statement on the store's one connection) is prepared again and the
/// call tried once more.
#[tokio::test]
async fn a_kept_statement_the_server_lost_is_prepared_again() {
    let (_db, store) = kept_statements_on_one_connection().await;
    let job = store.enqueue(&key("u", ExamType::Practice), t0(), &QueueOptions::default()).await.unwrap().job;
    assert!(store.get_job(&job.id).await.unwrap().is_some());
    store.client().await.unwrap().batch_execute("DEALLOCATE ALL").await.unwrap();
    assert_eq!(store.get_job(&job.id).await.unwrap().map(|j| j.id), Some(job.id));
}

/// Inside a transaction a kept statement whose result a migration changed fails its call (the server has aborted
/// the transaction, so it cannot be tried again there), but the connection's statements are dropped with it: the
/// same call made again works.
#[tokio::test]
async fn inside_a_transaction_a_stale_kept_statement_fails_once_then_works() {
    let (db, store) = kept_statements_on_one_connection().await;
    let options = QueueOptions::default();
    let keys = [key("u", ExamType::Practice), key("v", ExamType::Practice)];
    store.enqueue_many(&keys, t0(), &options).await.unwrap();
    let jobs = store.claim_jobs("w", 2, t0(), &options).await.unwrap();
    // Completing the first prepares the completion's statements on the one connection.
    store.complete_job_with_exam(&jobs[0], tiny_exam_for(&jobs[0], t0()), t0()).await.unwrap();
    change_a_result_type(&db).await;
    let stale = store.complete_job_with_exam(&jobs[1], tiny_exam_for(&jobs[1], t0()), t0()).await;
    assert!(stale.is_err(), "the stale statement ran: {stale:?}");
    let (done, _) = store.complete_job_with_exam(&jobs[1], tiny_exam_for(&jobs[1], t0()), t0()).await.unwrap();
    assert_eq!(done.id, jobs[1].id);
}
