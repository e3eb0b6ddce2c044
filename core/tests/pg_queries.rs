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

/// Every store call, on a pool of one connection; afterwards that connection holds no prepared statement and no
/// setting made in the session, so any server connection of a transaction pooler could have run each call.
#[tokio::test]
async fn no_call_leaves_a_prepared_statement_or_a_session_setting() {
    let db = TestDb::create().await;
    let store =
        PgStore::connect(db.url(), PgOptions { max_connections: 1, ..PgOptions::default() }).await.unwrap();
    let (policy, options) = (Policy::default(), QueueOptions::default());
    store.record_activity(&user("u"), t0()).await.unwrap();
    store.insert_exams(vec![new_exam("u", ExamType::Practice, t0(), 1)]).await.unwrap();
    store.claim_exam(&user("u"), ExamType::Practice, t0()).await.unwrap();
    store.stock(&user("u"), ExamType::Practice, t0(), &policy).await.unwrap();
    store.plan_missing(t0(), &policy).await.unwrap();
    store.analytics(t0(), &policy).await.unwrap();
    store.user_stats(&user("u"), t0(), &policy).await.unwrap();
    store.record_get_outcome(true).await.unwrap();
    store.generation_summary().await.unwrap();
    store.count_active_users(t0()).await.unwrap();
    store
        .enqueue_many(&[key("u", ExamType::Practice), key("v", ExamType::Practice)], t0(), &options)
        .await
        .unwrap();
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
    let batch = BatchRecord {
        id: "b".into(),
        holder: "h".into(),
        plan: "{}".into(),
        request_count: 1,
        submitted_at: t0(),
    };
    store.record_batch(&batch).await.unwrap();
    store.claim_open_batches("c", t0(), t0() + TimeDelta::minutes(1)).await.unwrap();
    store.release_batch("b", "c", true, t0()).await.unwrap();
    store.count_open_batches().await.unwrap();
    let bank = BankPolicy::default();
    let spec = store_contract::tiny_spec();
    let bank_exam = |seed| {
        NewBankExam::new(ExamType::Practice, synthetic_exam(&spec, seed), &spec, BankSource::Imported, t0(), &bank)
            .unwrap()
    };
    let stored = store.insert_bank_exam(bank_exam(7)).await.unwrap();
    let hash = pregen_core::store::content_hash(&synthetic_exam(&spec, 7));
    assert_eq!(store.bank_exam_by_content(ExamType::Practice, &hash).await.unwrap(), Some(stored.id));
    store.assign_exam(&user("u"), ExamType::Practice, t0(), &bank).await.unwrap();
    store.unseen(&user("u"), ExamType::Practice, t0(), &bank).await.unwrap();
    store.plan_bank(t0(), &policy, &bank).await.unwrap();
    store.bank_analytics(t0(), &policy, &bank).await.unwrap();
    store.cleanup_bank(t0() + TimeDelta::days(60), &policy, &bank, 10).await.unwrap();
    store.enqueue(&JobKey::bank(ExamType::Practice, 0), t0(), &options).await.unwrap();
    let bank_job = store.claim_jobs("w", 1, t0(), &options).await.unwrap().remove(0);
    store.complete_job_with_bank_exam(&bank_job, bank_exam(8), t0()).await.unwrap();

    assert_eq!(simple(&store, "SELECT count(*) FROM pg_prepared_statements").await, ["0"]);
    let session = simple(&store, "SELECT name FROM pg_settings WHERE source = 'session'").await;
    assert!(session.is_empty(), "settings made in the session: {session:?}");
    let backends = simple(
        &store,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'pregen'",
    )
    .await;
    assert_eq!(backends, ["1"], "every call ran on the one pooled connection");
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
