//! Route contracts of `seed-system.md`: every status and body, and bad inputs that write nothing.
#![cfg(all(feature = "simulator", feature = "sqlite", feature = "claude"))]

use std::sync::Arc;

use pregen_core::SystemClock;
use pregen_core::claude::{ApiKey, ClaudeClient, ClaudeConfig};
use pregen_core::config::PreGenConfig;
use pregen_core::generate::{Generator, GeneratorConfig};
use pregen_core::service::{PreGen, RouteResponse};
use pregen_core::simulator::{DEFAULT_API_KEY, Simulator, SimulatorConfig, SimulatorHandle};
use pregen_core::store::sqlite::{SqliteOptions, SqliteStore};
use serde_json::{Value, json};

const SECRET: &str = "cron-secret-0123456789abcdef";

/// The service, with its route helpers answering as JSON on the wire: each helper's typed body serialized, so these
/// contracts check the typed bodies key for key. Everything else is the service's own (`Deref`).
struct Wire(PreGen);

impl std::ops::Deref for Wire {
    type Target = PreGen;
    fn deref(&self) -> &PreGen {
        &self.0
    }
}

impl Wire {
    async fn pre_generate_route(&self, body: &[u8]) -> RouteResponse<Value> {
        self.0.pre_generate_route(body).await.into_json()
    }
    async fn get_route(&self, query: &str) -> RouteResponse<Value> {
        self.0.get_route(query).await.into_json()
    }
    async fn cron_route(&self, authorization: Option<&str>) -> RouteResponse<Value> {
        self.0.cron_route(authorization).await.into_json()
    }
    async fn analytics_route(&self, authorization: Option<&str>) -> RouteResponse<Value> {
        self.0.analytics_route(authorization).await.into_json()
    }
    async fn trigger_route(&self, body: &[u8]) -> RouteResponse<Value> {
        self.0.trigger_route(body).await.into_json()
    }
}

struct Fixture {
    service: Wire,
    store: SqliteStore,
    _sim: SimulatorHandle,
    _dir: tempfile::TempDir,
}

async fn fixture(with_key: bool, secret: Option<&str>) -> Fixture {
    let sim = Simulator::start(SimulatorConfig::builder().seed(1).build().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("r.db"), SqliteOptions::default()).await.unwrap();
    let generator = with_key.then(|| {
        let client =
            ClaudeClient::new(ClaudeConfig::new(ApiKey::new(DEFAULT_API_KEY)).with_base_url(sim.url())).unwrap();
        Arc::new(Generator::new(client, GeneratorConfig::default()).unwrap())
    });
    let mut config = PreGenConfig::default();
    if let Some(secret) = secret {
        config = config.with_cron_secret(secret);
    }
    let service = PreGen::new(Arc::new(store.clone()), generator, config, Arc::new(SystemClock)).unwrap();
    Fixture { service: Wire(service), store, _sim: sim, _dir: dir }
}

fn bearer() -> String {
    format!("Bearer {SECRET}")
}

/// Nothing stored, queued or recorded: the proof that a refused request wrote nothing.
async fn assert_untouched(service: &PreGen) {
    let stats = service.analytics().await.unwrap();
    assert_eq!(stats.stats.total_generated, 0);
    assert_eq!(stats.queue.pending + stats.queue.running + stats.queue.succeeded, 0);
    assert_eq!(stats.stats.user_stats.users_without_pre_gen, 0, "no user was recorded as active");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_generate_route_statuses_and_bodies() {
    let f = fixture(true, Some(SECRET)).await;
    let s = &f.service;
    let missing = json!({"error": "Missing userId or examType"});
    for body in [
        json!({}),
        json!({"userId": "u1"}),
        json!({"examType": "practice"}),
        json!({"userId": "", "examType": "practice"}),
        json!({"userId": 42, "examType": "practice"}),
        json!({"userId": "u1", "examType": ["practice"]}),
    ] {
        let r = s.pre_generate_route(body.to_string().as_bytes()).await;
        assert_eq!((r.status, &r.body), (400, &missing), "{body}");
    }
    let r = s.pre_generate_route(br#"{"userId":"u1","examType":"final"}"#).await;
    assert_eq!((r.status, r.body), (400, json!({"error": "Invalid examType"})));
    let r = s.pre_generate_route(br#"{"userId":"bad\nid","examType":"practice"}"#).await;
    assert_eq!((r.status, r.body), (400, json!({"error": "Invalid userId"})));
    let r = s.pre_generate_route(b"{not json").await;
    assert_eq!((r.status, r.body), (400, json!({"error": "Invalid JSON body"})));
    let huge = format!(r#"{{"userId":"u1","examType":"practice","pad":"{}"}}"#, "x".repeat(20_000));
    assert_eq!(s.pre_generate_route(huge.as_bytes()).await.status, 413);
    assert_untouched(s).await;

    let r = s.pre_generate_route(br#"{"userId":"u1","examType":"diagnostic"}"#).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["success"], true);
    assert_eq!(r.body["questionCount"], 71);
    assert!(r.body["examId"].as_str().is_some_and(|id| !id.is_empty()));
    let r = s.pre_generate_route(br#"{"userId":"u1","examType":"diagnostic"}"#).await;
    assert_eq!((r.status, r.body), (200, json!({"success": true, "message": "Valid pre-gen already exists"})));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_generate_without_an_api_key_is_a_500() {
    let f = fixture(false, None).await;
    let r = f.service.pre_generate_route(br#"{"userId":"u1","examType":"practice"}"#).await;
    assert_eq!((r.status, r.body), (500, json!({"error": "API key not configured"})));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_route_statuses_and_bodies() {
    let f = fixture(true, None).await;
    let s = &f.service;
    for query in ["", "userId=u1", "examType=practice", "?userId=&examType=practice"] {
        let r = s.get_route(query).await;
        assert_eq!(
            (r.status, r.body),
            (400, json!({"error": "Missing userId or examType", "preGenerated": false})),
            "{query:?}"
        );
    }
    let r = s.get_route("userId=u1&examType=Practice").await;
    assert_eq!((r.status, r.body), (400, json!({"error": "Invalid examType", "preGenerated": false})));
    let r = s.get_route("userId=a%0Ab&examType=practice").await;
    assert_eq!((r.status, r.body), (400, json!({"error": "Invalid userId", "preGenerated": false})));
    assert_untouched(s).await;

    let none = json!({"preGenerated": false, "reason": "No valid pre-generated exam"});
    let r = s.get_route("userId=u1&examType=diagnostic").await;
    assert_eq!((r.status, &r.body), (200, &none));

    s.pre_generate_route(br#"{"userId":"u1","examType":"diagnostic"}"#).await;
    let r = s.get_route("?userId=u1&examType=diagnostic").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["preGenerated"], true);
    assert_eq!(r.body["questions"]["questions"].as_array().unwrap().len(), 71);
    assert!(r.body["examId"].is_string() && r.body["expiresAt"].as_str().unwrap().ends_with('Z'));
    let keys: Vec<&str> = r.body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["preGenerated", "examId", "questions", "expiresAt"]);
    let r = s.get_route("userId=u1&examType=diagnostic").await;
    assert_eq!((r.status, r.body), (200, none), "the same exam is never served twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cron_and_analytics_need_the_exact_bearer() {
    let f = fixture(true, Some(SECRET)).await;
    let s = &f.service;
    let unauthorized = json!({"error": "Unauthorized"});
    for header in
        [None, Some("Bearer wrong"), Some(SECRET), Some("Bearer "), Some("bearer cron-secret-0123456789abcdef")]
    {
        let r = s.cron_route(header).await;
        assert_eq!((r.status, &r.body), (401, &unauthorized), "{header:?}");
        let r = s.analytics_route(header).await;
        assert_eq!((r.status, &r.body), (401, &unauthorized), "{header:?}");
    }
    assert_untouched(s).await;

    let r = s.cron_route(Some(&bearer())).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["success"], true);
    for key in ["usersProcessed", "generationTriggered", "generationErrors", "cleanupCompleted", "timestamp"] {
        assert!(r.body["stats"].get(key).is_some(), "cron stats lack {key}");
    }
    assert_eq!(r.body["stats"]["cleanupCompleted"], 0, "a number: nothing to delete");
    assert_eq!(r.body["stats"]["generationTriggered"], 0);

    let r = s.analytics_route(Some(&bearer())).await;
    assert_eq!(r.status, 200);
    let stats = &r.body["stats"];
    for key in [
        "totalGenerated",
        "totalUsed",
        "totalUnused",
        "totalExpired",
        "averageExamsPerUser",
        "diagnosticCount",
        "practiceCount",
        "usedPercentage",
        "expiringWithin24h",
        "timestamp",
    ] {
        assert!(stats.get(key).is_some_and(|v| !v.is_null()), "analytics lack {key}");
    }
    for key in ["usersWithPreGen", "usersWithoutPreGen", "avgPreGenPerUser"] {
        assert!(stats["userStats"].get(key).is_some(), "userStats lack {key}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unset_cron_secret_refuses_every_caller() {
    let f = fixture(true, None).await;
    for header in [None, Some("Bearer "), Some("Bearer undefined"), Some("Bearer null")] {
        assert_eq!(f.service.cron_route(header).await.status, 401);
        assert_eq!(f.service.analytics_route(header).await.status, 401);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trigger_route_queues_without_waiting() {
    let f = fixture(true, None).await;
    let s = &f.service;
    let r = s.trigger_route(br#"{"userId":"u1"}"#).await;
    assert_eq!(r.status, 202);
    let statuses: Vec<&Value> = r.body["jobs"].as_array().unwrap().iter().map(|j| &j["status"]).collect();
    assert_eq!(statuses, [&json!("queued"), &json!("queued")]);
    let r = s.trigger_route(br#"{"userId":"u1","completed":"diagnostic"}"#).await;
    assert_eq!(r.body["jobs"][0]["examType"], "practice");
    assert_eq!(r.body["jobs"][0]["status"], "already_queued");
    assert_eq!(s.trigger_route(br#"{"userId":"u1","completed":"final"}"#).await.status, 400);
    assert_eq!(s.trigger_route(br#"{"examType":"practice"}"#).await.status, 400);
    assert_eq!(s.queue_status().await.unwrap().queue_length, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_failure_is_a_500_that_tells_no_internals() {
    use pregen_core::store::sqlite::db_error;
    let f = fixture(true, None).await;
    f.store
        .with_connection(|c| c.execute_batch("DROP TABLE pre_generated_exams").map_err(db_error))
        .await
        .unwrap();
    let r = f.service.get_route("userId=u1&examType=practice").await;
    assert_eq!((r.status, r.body), (500, json!({"error": "Database error", "preGenerated": false})));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cron_stats_count_what_was_missing_and_what_the_cleanup_deleted() {
    use chrono::{TimeDelta, Utc};
    use pregen_core::exam::{Allocation, ExamSpec, ExamType, synthetic_exam};
    use pregen_core::policy::Policy;
    use pregen_core::store::{ActivityStore, ExamStore, NewExam, UserId};

    let f = fixture(false, Some(SECRET)).await;
    let spec =
        ExamSpec { name: "tiny".into(), item_count: 8, scored_count: 8, allocation: Allocation::WeightedByDomain };
    let now = Utc::now();
    for (user, age_days) in [("old-1", 8), ("old-2", 9), ("old-3", 30), ("fresh", 0)] {
        let user = UserId::parse(user).unwrap();
        let created = now - TimeDelta::days(age_days);
        let exam =
            NewExam::new(user, ExamType::Practice, synthetic_exam(&spec, 1), &spec, created, &Policy::default());
        f.store.insert_exam(exam.unwrap()).await.unwrap();
    }
    for user in ["active-1", "active-2"] {
        f.store.record_activity(&UserId::parse(user).unwrap(), now).await.unwrap();
    }
    let r = f.service.cron_route(Some(&bearer())).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let stats = &r.body["stats"];
    assert_eq!(stats["cleanupCompleted"], 3, "the three expired exams were deleted: {stats}");
    assert_eq!(stats["examsDeleted"], 3);
    assert_eq!(stats["generationTriggered"], 4, "two active users, both types each: {stats}");
    assert_eq!((stats["usersProcessed"].as_u64(), stats["queued"].as_u64()), (Some(2), Some(4)));
    assert_eq!(stats["generationErrors"], 1, "no API key: generation could not run");

    let r = f.service.cron_route(Some(&bearer())).await;
    let stats = &r.body["stats"];
    assert_eq!(stats["cleanupCompleted"], 0, "nothing left to delete: {stats}");
    assert_eq!((stats["generationTriggered"].as_u64(), stats["queued"].as_u64()), (Some(4), Some(0)), "{stats}");
}
