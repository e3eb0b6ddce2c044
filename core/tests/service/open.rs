//! `PreGen::open`: the wiring from options and the environment, bad settings refused before anything is opened,
//! and a job's own error code reaching the caller (a wrong API key is `claude.authentication`, not retryable).

use std::collections::HashMap;
use std::sync::Arc;

use pregen_core::ErrorCode;
use pregen_core::config::{PreGenOptions, SweepMode};
use pregen_core::exam::ExamType;
use pregen_core::service::{JobFailure, PreGen, ServiceError};
use pregen_core::simulator::{DEFAULT_API_KEY, FaultKind, FaultPlan, Simulator, SimulatorConfig};
use pregen_core::{ManualClock, SystemClock};
use serde_json::json;

use super::{t0, user};

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    move |name: &str| map.get(name).cloned()
}

fn options(value: serde_json::Value) -> PreGenOptions {
    serde_json::from_value(value).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_wires_the_store_claude_and_configuration_from_options_over_the_environment() {
    let sim = Simulator::start(SimulatorConfig::builder().seed(4).build().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let from_env = dir.path().join("env.db");
    let env = env(&[
        ("PREGEN_DB", from_env.to_str().unwrap()),
        ("ANTHROPIC_API_KEY", DEFAULT_API_KEY),
        ("ANTHROPIC_BASE_URL", sim.url()),
        ("CRON_SECRET", "cron-secret-from-the-environment"),
        ("PREGEN_MODEL", "claude-sonnet-4-5"),
        ("PREGEN_WORKERS", "5"),
        ("PREGEN_SWEEP_MODE", "batch"),
    ]);
    let s = PreGen::open_with(
        options(json!({"workers": 3, "practiceModel": "claude-opus-4-5"})),
        &env,
        Arc::new(SystemClock),
    )
    .await
    .unwrap();
    assert!(from_env.exists(), "the store named by PREGEN_DB was opened");
    let (config, generator) = (s.config(), s.generator().expect("a key was set"));
    assert_eq!(
        (config.pool.workers, config.sweep.mode),
        (3, SweepMode::Batch),
        "the option wins, the rest is env"
    );
    assert!(config.cron_secret.is_some());
    assert_eq!(generator.config().model(ExamType::Diagnostic), "claude-sonnet-4-5");
    assert_eq!(generator.config().model(ExamType::Practice), "claude-opus-4-5");
    assert_eq!(generator.client().config().base_url, sim.url());
    assert!(s.runtime().is_some(), "it keeps the runtime it was opened on");
    s.trigger(&user("u1"), pregen_core::service::Trigger::After(ExamType::Diagnostic)).await.unwrap();
    assert_eq!(s.queue_status().await.unwrap().queue_length, 1, "the opened store works");

    // The option names the store; without a key there is no generator, and reads still work.
    let explicit = dir.path().join("explicit.db");
    let o = options(json!({"database": explicit.to_str().unwrap(), "ignoreEnv": true}));
    let s = PreGen::open_with(o, &env, Arc::new(SystemClock)).await.unwrap();
    assert!(explicit.exists() && s.generator().is_none() && s.config().cron_secret.is_none());
    let answer = s.pre_generate_route(br#"{"userId":"u1","examType":"practice"}"#).await.into_json();
    assert_eq!((answer.status, answer.body), (500, json!({"error": "API key not configured"})));
    sim.shutdown().await.unwrap();
}

/// (options, environment, the setting blamed)
type Case<'a> = (serde_json::Value, &'a [(&'a str, &'a str)], &'a str);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_settings_are_refused_before_anything_is_opened() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("never.db");
    let db = db.to_str().unwrap();
    let cases: [Case<'_>; 7] = [
        (json!({"database": db, "workers": 0}), &[], "workers"),
        (json!({"database": db}), &[("PREGEN_WORKERS", "0")], "PREGEN_WORKERS"),
        (json!({"database": db}), &[("PREGEN_SWEEP_MODE", "bulk")], "PREGEN_SWEEP_MODE"),
        (json!({"database": db, "schedule": "every day"}), &[], "schedule"),
        (json!({"database": db}), &[("PREGEN_SCHEDULE", "61 * * * *")], "PREGEN_SCHEDULE"),
        (
            json!({"database": db, "anthropicApiKey": "k", "anthropicBaseUrl": "not a url"}),
            &[],
            "anthropicBaseUrl",
        ),
        (
            json!({"database": db}),
            &[("ANTHROPIC_API_KEY", "k"), ("ANTHROPIC_BASE_URL", "ftp://h")],
            "ANTHROPIC_BASE_URL",
        ),
    ];
    for (o, vars, blamed) in cases {
        let err = PreGen::open_with(options(o.clone()), env(vars), Arc::new(SystemClock)).await.unwrap_err();
        let ServiceError::Config(config) = &err else { panic!("{o}: {err}") };
        assert_eq!((config.setting.as_str(), err.code(), err.is_retryable()), (blamed, "config.invalid", false));
        assert!(err.to_string().starts_with(&format!("{blamed}: ")), "{err}");
        assert!(!std::path::Path::new(db).exists(), "{o}: nothing was created");
    }
    // A key never shows in an error.
    let o = options(json!({"database": db, "anthropicApiKey": "sk-ant-secret-key-77", "anthropicBaseUrl": "x"}));
    let err = PreGen::open_with(o, env(&[]), Arc::new(SystemClock)).await.unwrap_err();
    assert!(!err.to_string().contains("secret-key-77") && !format!("{err:?}").contains("secret-key-77"));
}

#[cfg(not(feature = "postgres"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_url_without_the_backend_says_which_feature() {
    let o = options(json!({"database": "postgres://pregen:pw@127.0.0.1/pregen", "ignoreEnv": true}));
    let err = PreGen::open_with(o, env(&[]), Arc::new(SystemClock)).await.unwrap_err();
    assert_eq!(err.code(), "store.invalid_input");
    assert!(err.to_string().contains("feature `postgres`"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_api_key_fails_with_its_own_code_and_is_not_retryable() {
    let sim = Simulator::start(SimulatorConfig::builder().seed(5).build().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let o = options(json!({
        "database": dir.path().join("k.db").to_str().unwrap(), "ignoreEnv": true,
        "anthropicApiKey": "sk-ant-wrong-key", "anthropicBaseUrl": sim.url(),
    }));
    let s = PreGen::open_with(o, env(&[]), Arc::new(ManualClock::new(t0()))).await.unwrap();

    let err = s.pre_generate(&user("u1"), ExamType::Diagnostic).await.unwrap_err();
    let ServiceError::JobFailed(JobFailure { code, retryable, job_id, .. }) = &err else { panic!("{err}") };
    assert_eq!(
        (*code, *retryable, err.code(), err.is_retryable()),
        ("claude.authentication", false, "claude.authentication", false)
    );
    assert!(err.to_string().starts_with("generation failed: claude.authentication: "), "{err}");
    assert!(!err.to_string().contains("sk-ant-wrong-key"), "{err}");
    let job = s.store().get_job(&pregen_core::queue::JobId(job_id.clone())).await.unwrap().unwrap();
    assert_eq!((job.state, job.attempt), (pregen_core::queue::JobState::Dead, 1), "a final error: no retry");

    // The route: the old `{error}`, with the job's code beside it.
    let answer = s.pre_generate_route(br#"{"userId":"u2","examType":"practice"}"#).await.into_json();
    assert_eq!(answer.status, 500);
    assert_eq!(answer.body["code"], "claude.authentication", "{}", answer.body);
    assert!(answer.body["error"].as_str().unwrap().starts_with("generation failed: claude.authentication: "));
    assert_eq!(answer.body.as_object().unwrap().len(), 2, "{}", answer.body);
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_jobs_code_and_retry_answer_are_its_own() {
    use pregen_core::queue::{JobId, JobState};
    use pregen_core::simulator::Fault;
    // Every request gets the fault (the client's own retries meet it too). A 529 is transient: once it outlasts
    // the client's retries the attempt ends with the API's code and the job waits for the queue's retry. A 529 or
    // 500 that says `x-should-retry: false` is final: the job dies with the API's code.
    let cases = [
        (Fault::new(FaultKind::Overloaded), "claude.overloaded", JobState::RetryWait, true),
        (Fault::new(FaultKind::Overloaded).no_retry(), "claude.overloaded", JobState::Dead, false),
        (Fault::new(FaultKind::ServerError).no_retry(), "claude.api", JobState::Dead, false),
    ];
    for (fault, code, state, retryable) in cases {
        let plan = FaultPlan::predicate(move |_| Some(fault));
        let config = SimulatorConfig::builder().seed(6).faults(plan);
        let sim = Simulator::start(config.build().unwrap()).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let o = options(json!({
            "database": dir.path().join("o.db").to_str().unwrap(), "ignoreEnv": true,
            "anthropicApiKey": DEFAULT_API_KEY, "anthropicBaseUrl": sim.url(),
        }));
        let s = PreGen::open_with(o, env(&[]), Arc::new(ManualClock::new(t0()))).await.unwrap();
        let err = s.pre_generate(&user("u1"), ExamType::Diagnostic).await.unwrap_err();
        assert_eq!((err.code(), err.is_retryable()), (code, retryable), "{fault:?}: {err}");
        let ServiceError::JobFailed(failure) = &err else { panic!("{err}") };
        let job = s.store().get_job(&JobId(failure.job_id.clone())).await.unwrap().unwrap();
        assert_eq!((job.state, job.attempt), (state, 1), "{fault:?}");
        sim.shutdown().await.unwrap();
    }
}
