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
use pregen_core::store::postgres::tokio_postgres::SimpleQueryMessage;
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
