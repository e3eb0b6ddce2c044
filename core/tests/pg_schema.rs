//! The Supabase schema on a real Postgres: the migrations apply once, concurrently and safely; row-level security
//! lets the service role do everything, a signed-in user read only their own exams, their own bank assignments and
//! the bank exams assigned to them, and nobody else anything.
#![cfg(feature = "postgres")]

mod pg_support;
mod store_contract;

use chrono::TimeDelta;
use pg_support::TestDb;
use pregen_core::ErrorCode;
use pregen_core::exam::ExamType;
use pregen_core::queue::QueueOptions;
use pregen_core::store::postgres::migrate::MIGRATIONS;
use pregen_core::store::postgres::tokio_postgres::Client;
use pregen_core::store::postgres::{PgOptions, PgStore};
use pregen_core::store::{BatchRecord, ExamStore, JobStore, StoreLocation, open};
use store_contract::{new_exam, t0};

const ALICE: &str = "3f2b8c1e-0000-4000-8000-00000000000a";
const BOB: &str = "3f2b8c1e-0000-4000-8000-00000000000b";

/// Every table of the pregen schema.
const TABLES: [&str; 10] = [
    "pre_generated_exams",
    "bank_exams",
    "assignments",
    "user_activity",
    "jobs",
    "job_items",
    "claude_batches",
    "counters",
    "schema_migrations",
    "legacy_imports",
];

async fn versions(client: &Client) -> Vec<String> {
    client
        .query("SELECT version FROM pregen.schema_migrations ORDER BY version", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn all_versions() -> Vec<String> {
    MIGRATIONS.iter().map(|m| m.version.to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_processes_migrating_at_once_apply_each_file_once() {
    let db = TestDb::create().await;
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url().to_owned();
            tokio::spawn(async move { PgStore::connect(&url, PgOptions::default()).await.map(|_| ()) })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let client = db.client().await;
    assert_eq!(versions(&client).await, all_versions());
    // Opening again changes nothing.
    db.store(1).await.migrate().await.unwrap();
    assert_eq!(versions(&client).await, all_versions());
}

#[tokio::test]
async fn a_database_migrated_by_a_newer_build_is_refused_untouched() {
    let db = TestDb::create().await;
    db.store(1).await;
    let client = db.client().await;
    client
        .execute(
            "INSERT INTO pregen.schema_migrations (version, name, applied_at) VALUES ('29990101000000', 'x', $1)",
            &[&t0()],
        )
        .await
        .unwrap();
    let err = PgStore::connect(db.url(), PgOptions::default()).await.unwrap_err();
    assert_eq!(err.code(), "store.migration", "{err}");
    assert!(err.to_string().contains("29990101000000"), "{err}");
    let without = PgStore::connect(db.url(), PgOptions { migrate: false, ..PgOptions::default() }).await;
    assert!(without.is_ok(), "a store that does not migrate still opens");
}

/// A database whose schema the Supabase CLI applied (its own history table) is recognised, not migrated twice.
#[tokio::test]
async fn migrations_applied_by_the_supabase_cli_count_as_applied() {
    let db = TestDb::create().await;
    let client = db.client().await;
    client
        .batch_execute(
            "CREATE SCHEMA supabase_migrations;
             CREATE TABLE supabase_migrations.schema_migrations (version text PRIMARY KEY, name text)",
        )
        .await
        .unwrap();
    for m in MIGRATIONS {
        client.batch_execute(m.sql).await.unwrap();
        client
            .execute(
                "INSERT INTO supabase_migrations.schema_migrations (version, name) VALUES ($1, $2)",
                &[&m.version, &m.name],
            )
            .await
            .unwrap();
    }
    let store = db.store(1).await;
    assert!(versions(&client).await.is_empty(), "nothing applied a second time");
    store.insert_exam(new_exam("u", ExamType::Practice, t0(), 1)).await.unwrap();
}

#[tokio::test]
async fn a_postgres_url_opens_the_postgres_store() {
    let db = TestDb::create().await;
    let location = StoreLocation::parse(db.url());
    assert!(matches!(location, StoreLocation::Postgres(_)));
    let store = open(&location, &Default::default()).await.unwrap();
    store.insert_exam(new_exam("u", ExamType::Practice, t0(), 1)).await.unwrap();
    let direct = db.store(1).await;
    assert_eq!(direct.analytics(t0(), &Default::default()).await.unwrap().total_generated, 1);
}

#[tokio::test]
async fn every_table_has_row_level_security() {
    let db = TestDb::create().await;
    db.store(1).await;
    let client = db.client().await;
    let rows = client
        .query(
            "SELECT c.relname, c.relrowsecurity FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'pregen' AND c.relkind IN ('r', 'p') ORDER BY c.relname",
            &[],
        )
        .await
        .unwrap();
    let mut names: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    names.sort();
    let mut want: Vec<String> = TABLES.iter().map(|t| t.to_string()).collect();
    want.sort();
    assert_eq!(names, want, "a new table needs its row-level security and its row in this test");
    for row in rows {
        assert!(row.get::<_, bool>(1), "row-level security off on {}", row.get::<_, String>(0));
    }
}

/// Tables a signed-in user reads some rows of.
const USER_READABLE: [&str; 3] = ["pre_generated_exams", "bank_exams", "assignments"];

/// A fixture: exams of Alice and Bob, a job, a batch, activity and counters; bank exams B1, B2, B3, of which
/// Alice is assigned B1 and B2 and Bob B3 (least-assigned, oldest first).
async fn fixture(db: &TestDb) {
    let store = db.store(2).await;
    use pregen_core::store::{BankSource, BankStore, NewBankExam};
    let bank = pregen_core::policy::BankPolicy::default();
    let spec = store_contract::tiny_spec();
    for seed in 1..=3 {
        let at = t0() + TimeDelta::milliseconds(seed as i64);
        let exam = pregen_core::exam::synthetic_exam(&spec, seed);
        let new = NewBankExam::new(ExamType::Practice, exam, &spec, BankSource::Generated, at, &bank).unwrap();
        store.insert_bank_exam(new).await.unwrap();
    }
    for user in [ALICE, ALICE, BOB] {
        let user = pregen_core::store::UserId::parse(user).unwrap();
        store.assign_exam(&user, ExamType::Practice, t0() + TimeDelta::hours(1), &bank).await.unwrap().unwrap();
    }
    store.insert_exam(new_exam(ALICE, ExamType::Practice, t0(), 1)).await.unwrap();
    store.insert_exam(new_exam(ALICE, ExamType::Diagnostic, t0(), 2)).await.unwrap();
    store.insert_exam(new_exam(BOB, ExamType::Practice, t0(), 3)).await.unwrap();
    store.insert_exam(new_exam(BOB, ExamType::Practice, t0() - TimeDelta::days(9), 4)).await.unwrap(); // expired
    use pregen_core::store::{ActivityStore, BatchStore, UserId};
    store.record_activity(&UserId::parse(ALICE).unwrap(), t0()).await.unwrap();
    store
        .enqueue(&pregen_core::queue::JobKey::new(ALICE, ExamType::Practice), t0(), &QueueOptions::default())
        .await
        .unwrap();
    let batch = BatchRecord {
        id: "msgbatch_1".into(),
        holder: "h".into(),
        plan: "{}".into(),
        request_count: 1,
        submitted_at: t0(),
    };
    store.record_batch(&batch).await.unwrap();
    store.record_get_outcome(true).await.unwrap();
}

/// Runs `statement` as `role` with the JWT `sub` claim (if any), in a transaction rolled back afterwards; the
/// rows' first column as text, or the SQLSTATE of the error.
async fn as_role(
    client: &mut Client,
    role: &str,
    sub: Option<&str>,
    statement: &str,
) -> Result<Vec<String>, String> {
    let tx = client.transaction().await.unwrap();
    tx.batch_execute(&format!("SET LOCAL ROLE {role}")).await.unwrap();
    if let Some(sub) = sub {
        let claims = serde_json::json!({ "sub": sub, "role": role }).to_string();
        tx.execute("SELECT set_config('request.jwt.claims', $1, true)", &[&claims]).await.unwrap();
    }
    let out = match tx.simple_query(statement).await {
        Ok(messages) => Ok(messages
            .into_iter()
            .filter_map(|m| match m {
                pregen_core::store::postgres::tokio_postgres::SimpleQueryMessage::Row(row) => {
                    Some(row.get(0).unwrap_or("").to_owned())
                }
                _ => None,
            })
            .collect()),
        Err(e) => Err(e.code().map_or_else(|| e.to_string(), |c| c.code().to_owned())),
    };
    tx.rollback().await.unwrap();
    out
}

const DENIED: &str = "42501";

#[tokio::test]
async fn a_signed_in_user_reads_only_their_own_exams_and_writes_nothing() {
    let db = TestDb::create().await;
    fixture(&db).await;
    let mut client = db.client().await;
    let mine =
        as_role(&mut client, "authenticated", Some(ALICE), "SELECT user_id FROM pregen.pre_generated_exams")
            .await
            .unwrap();
    assert_eq!(mine, [ALICE, ALICE]);
    let questions = as_role(
        &mut client,
        "authenticated",
        Some(ALICE),
        "SELECT count(*) FROM pregen.pre_generated_exams WHERE questions::text LIKE '{\"questions\"%'",
    )
    .await
    .unwrap();
    assert_eq!(questions, ["2"], "the exam itself is readable");
    let bobs = as_role(&mut client, "authenticated", Some(BOB), "SELECT count(*) FROM pregen.pre_generated_exams")
        .await
        .unwrap();
    assert_eq!(bobs, ["2"], "Bob sees his two, expired one included, and none of Alice's");
    let nobody = as_role(&mut client, "authenticated", None, "SELECT count(*) FROM pregen.pre_generated_exams")
        .await
        .unwrap();
    assert_eq!(nobody, ["0"], "no claims, no rows");

    for write in [
        format!(
            "INSERT INTO pregen.pre_generated_exams (id, user_id, exam_type, questions, question_count, generated_at, \
             created_at, expires_at) VALUES (gen_random_uuid(), '{ALICE}', 'practice', '{{}}', 0, \
             '2026-01-01', '2026-01-01', '2026-01-08')"
        ),
        "UPDATE pregen.pre_generated_exams SET used = false, used_at = NULL".to_owned(),
        "DELETE FROM pregen.pre_generated_exams".to_owned(),
        "DELETE FROM pregen.pre_generated_exams WHERE expires_at < '2030-01-01'".to_owned(),
        "TRUNCATE pregen.pre_generated_exams".to_owned(),
    ] {
        for sub in [ALICE, BOB] {
            assert_eq!(
                as_role(&mut client, "authenticated", Some(sub), &write).await,
                Err(DENIED.into()),
                "{write}"
            );
        }
    }
    for table in TABLES.iter().filter(|t| !USER_READABLE.contains(t)) {
        let read = format!("SELECT count(*) FROM pregen.{table}");
        assert_eq!(as_role(&mut client, "authenticated", Some(ALICE), &read).await, Err(DENIED.into()), "{table}");
        let wipe = format!("DELETE FROM pregen.{table}");
        assert_eq!(as_role(&mut client, "authenticated", Some(ALICE), &wipe).await, Err(DENIED.into()), "{table}");
    }
}

/// A signed-in user reads their own assignments and the bank exams assigned to them, and writes nothing of the
/// bank.
#[tokio::test]
async fn a_signed_in_user_reads_only_their_own_assignments_and_the_bank_exams_assigned_to_them() {
    let db = TestDb::create().await;
    fixture(&db).await;
    let mut client = db.client().await;
    let read = |sub: Option<&'static str>, statement: &'static str| (sub, statement);
    let cases = [
        (read(Some(ALICE), "SELECT user_id FROM pregen.assignments"), vec![ALICE, ALICE]),
        (read(Some(BOB), "SELECT user_id FROM pregen.assignments"), vec![BOB]),
        (read(None, "SELECT user_id FROM pregen.assignments"), vec![]),
        (read(Some(ALICE), "SELECT count(*)::text FROM pregen.bank_exams"), vec!["2"]),
        (read(Some(BOB), "SELECT count(*)::text FROM pregen.bank_exams"), vec!["1"]),
        (read(None, "SELECT count(*)::text FROM pregen.bank_exams"), vec!["0"]),
        (
            read(
                Some(ALICE),
                "SELECT count(*)::text FROM pregen.bank_exams b JOIN pregen.assignments a ON a.exam_id = b.id \
                 WHERE b.questions::text LIKE '{\"questions\"%'",
            ),
            vec!["2"],
        ),
    ];
    for ((sub, statement), want) in cases {
        let got = as_role(&mut client, "authenticated", sub, statement).await.unwrap();
        assert_eq!(got, want, "{sub:?}: {statement}");
    }
    // Bob cannot see that Alice's exams exist, even by id.
    let alices: Vec<String> = client
        .query(&format!("SELECT exam_id::text FROM pregen.assignments WHERE user_id = '{ALICE}'"), &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    for id in &alices {
        let probe = format!("SELECT count(*) FROM pregen.bank_exams WHERE id = '{id}'");
        assert_eq!(as_role(&mut client, "authenticated", Some(BOB), &probe).await.unwrap(), ["0"]);
    }
    for write in [
        format!(
            "INSERT INTO pregen.assignments (user_id, exam_id, exam_type, content_hash, assigned_at) \
             VALUES ('{ALICE}', gen_random_uuid(), 'practice', 'x', '2026-01-01')"
        ),
        format!("DELETE FROM pregen.assignments WHERE user_id = '{ALICE}'"),
        "UPDATE pregen.assignments SET assigned_at = '2026-01-01'".to_owned(),
        "UPDATE pregen.bank_exams SET assignments = 0, retired_at = NULL".to_owned(),
        "DELETE FROM pregen.bank_exams".to_owned(),
        "TRUNCATE pregen.assignments".to_owned(),
        "TRUNCATE pregen.bank_exams".to_owned(),
    ] {
        assert_eq!(
            as_role(&mut client, "authenticated", Some(ALICE), &write).await,
            Err(DENIED.into()),
            "{write}"
        );
    }
}

#[tokio::test]
async fn anon_reads_and_writes_nothing() {
    let db = TestDb::create().await;
    fixture(&db).await;
    let mut client = db.client().await;
    for table in TABLES {
        for statement in [
            format!("SELECT count(*) FROM pregen.{table}"),
            format!("DELETE FROM pregen.{table}"),
            format!("TRUNCATE pregen.{table}"),
        ] {
            assert_eq!(
                as_role(&mut client, "anon", Some(ALICE), &statement).await,
                Err(DENIED.into()),
                "{statement}"
            );
        }
    }
}

#[tokio::test]
async fn the_service_role_does_everything() {
    let db = TestDb::create().await;
    fixture(&db).await;
    let mut client = db.client().await;
    let counts = [
        ("pre_generated_exams", "4"),
        ("bank_exams", "3"),
        ("assignments", "3"),
        ("user_activity", "1"),
        ("jobs", "1"),
        ("job_items", "0"),
        ("claude_batches", "1"),
        // Counters are spread over shards; the fixture bumped four: get_served and the bank's three.
        ("counters", "4"),
        ("schema_migrations", &MIGRATIONS.len().to_string()),
    ];
    for (table, n) in counts {
        let what = if table == "counters" { "DISTINCT name" } else { "*" };
        let read = format!("SELECT count({what}) FROM pregen.{table}");
        assert_eq!(as_role(&mut client, "service_role", None, &read).await.unwrap(), [n], "{table}");
    }
    for statement in [
        "UPDATE pregen.bank_exams SET retired_at = '2026-03-02' RETURNING 1",
        "DELETE FROM pregen.assignments RETURNING 1",
        "UPDATE pregen.pre_generated_exams SET used = true, used_at = '2026-03-02' RETURNING 1",
        "UPDATE pregen.jobs SET state = 'cancelled', finished_at = '2026-03-02' RETURNING 1",
        "INSERT INTO pregen.user_activity VALUES ('x', '2026-03-01', '2026-03-01') RETURNING 1",
        "INSERT INTO pregen.counters VALUES ('get_missed', 3, 1) RETURNING 1",
        "DELETE FROM pregen.claude_batches RETURNING 1",
        "DELETE FROM pregen.pre_generated_exams WHERE user_id = '3f2b8c1e-0000-4000-8000-00000000000b' RETURNING 1",
    ] {
        let rows = as_role(&mut client, "service_role", None, statement).await.unwrap();
        assert!(!rows.is_empty(), "{statement}");
    }
}

/// The owner policy calls auth.uid() once per statement (an init plan), not once per row.
#[tokio::test]
async fn the_policy_reads_the_user_once_per_statement() {
    let db = TestDb::create().await;
    fixture(&db).await;
    let mut client = db.client().await;
    let plan = as_role(
        &mut client,
        "authenticated",
        Some(ALICE),
        "EXPLAIN (COSTS OFF) SELECT * FROM pregen.pre_generated_exams",
    )
    .await
    .unwrap()
    .join("\n");
    assert!(plan.contains("InitPlan"), "{plan}");
    for table in ["assignments", "bank_exams"] {
        let explain = format!("EXPLAIN (COSTS OFF) SELECT * FROM pregen.{table}");
        let plan = as_role(&mut client, "authenticated", Some(ALICE), &explain).await.unwrap().join("\n");
        assert!(plan.contains("InitPlan"), "{table}: {plan}");
    }
    let policies = client
        .query("SELECT policyname, cmd, roles::text[] FROM pg_policies WHERE schemaname = 'pregen'", &[])
        .await
        .unwrap();
    for p in &policies {
        let (name, cmd, roles): (String, String, Vec<String>) = (p.get(0), p.get(1), p.get(2));
        let by_service = roles == ["service_role"];
        let user_read = ["exams_read_own", "assignments_read_own", "bank_exams_read_assigned"]
            .contains(&name.as_str())
            && cmd == "SELECT"
            && roles == ["authenticated"];
        assert!(by_service || user_read, "unexpected policy {name} {cmd} {roles:?}");
    }
    assert_eq!(policies.len(), TABLES.len() + 3, "one service-role policy per table and the three user reads");
}

#[test]
fn urls_get_their_database_replaced() {
    assert_eq!(pg_support::with_database("postgres://u@h:5432/postgres", "x"), "postgres://u@h:5432/x");
    assert_eq!(
        pg_support::with_database("postgres://u@h/postgres?sslmode=disable", "x"),
        "postgres://u@h/x?sslmode=disable"
    );
    assert_eq!(pg_support::with_database("postgresql://h", "x"), "postgresql://h/x");
}
