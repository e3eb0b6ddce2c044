//! Injected faults, each seen from the client's side.

use std::collections::BTreeSet;
use std::time::Duration;

use pregen_core::exam::{Kn, ProblemCode, validate_item};
use pregen_core::simulator::{Fault, FaultKind, FaultPlan, SimulatorConfig};

use super::{Api, as_question, brief, chat_body, generator_body, send, start};

#[tokio::test]
async fn scripted_status_faults_answer_in_order() {
    let plan: FaultPlan = "script:429,529,500:noretry,408,ok".parse().unwrap();
    let config = SimulatorConfig::builder().fault_retry_after(Duration::from_millis(1_500)).faults(plan);
    let sim = start(config.build().unwrap()).await;
    let api = Api::new(&sim);
    let mut replies = Vec::new();
    for _ in 0..5 {
        replies.push(api.message(&chat_body()).await);
    }
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 529, 500, 408, 200]);
    let types: Vec<String> = replies[..4].iter().map(|r| r.error_type()).collect();
    assert_eq!(types, ["rate_limit_error", "overloaded_error", "api_error", "timeout_error"]);
    assert_eq!(replies[0].header("retry-after"), Some("2"));
    assert_eq!(replies[0].header("retry-after-ms"), Some("1500"));
    assert_eq!(replies[2].header("x-should-retry"), Some("false"));
    assert_eq!(replies[1].header("x-should-retry"), None);

    let log = sim.log();
    let faults: Vec<_> = log.iter().map(|e| e.fault).collect();
    use FaultKind::*;
    assert_eq!(faults, [Some(RateLimited), Some(Overloaded), Some(ServerError), Some(RequestTimeout), None]);
    assert_eq!(log.iter().map(|e| e.message_index.unwrap()).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);

    sim.set_faults(FaultPlan::script([Some(ServerError)]));
    assert_eq!(api.message(&chat_body()).await.status, 500, "a new plan counts from its first request");
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_reset_fault_drops_the_connection_without_an_answer() {
    let sim = start(SimulatorConfig::builder().faults("script:reset".parse().unwrap()).build().unwrap()).await;
    let api = Api::new(&sim);
    let error = api.post("/v1/messages", &chat_body()).send().await.expect_err("no response");
    assert!(!error.is_timeout() && error.status().is_none(), "{error:?}");
    assert_eq!(api.message(&chat_body()).await.status, 200, "the next connection works");
    let log = sim.log();
    assert_eq!((log[0].status, log[0].fault), (None, Some(FaultKind::Reset)));
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_hang_outlasts_the_client_timeout_and_does_not_block_shutdown() {
    let config =
        SimulatorConfig::builder().hang_for(Duration::from_secs(120)).faults("script:hang".parse().unwrap());
    let sim = start(config.build().unwrap()).await;
    let client = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().unwrap();
    let api = Api::with_client(&sim, client);
    let error = api.post("/v1/messages", &chat_body()).send().await.expect_err("the request hangs");
    assert!(error.is_timeout(), "{error:?}");
    let log = sim.log();
    assert_eq!((log[0].status, log[0].fault), (None, Some(FaultKind::Hang)));
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_malformed_fault_sends_broken_json_with_status_200() {
    let sim = start(SimulatorConfig::builder().faults("script:malformed".parse().unwrap()).build().unwrap()).await;
    let reply = Api::new(&sim).message(&generator_body(&brief(&[1, 2], 0))).await;
    assert_eq!(reply.status, 200);
    assert!(serde_json::from_str::<serde_json::Value>(&reply.text).is_err());
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_max_tokens_fault_cuts_the_tool_input_short() {
    let sim =
        start(SimulatorConfig::builder().faults("script:max_tokens".parse().unwrap()).build().unwrap()).await;
    let reply = Api::new(&sim).message(&generator_body(&brief(&[1, 2, 3, 4, 5], 0))).await;
    let body = reply.json();
    assert_eq!(body["stop_reason"], "max_tokens");
    assert_eq!(body["usage"]["output_tokens"], 8000);
    let questions = body["content"][0]["input"]["questions"].as_array().unwrap().clone();
    assert!(questions.len() < 5);
    let last = questions.last().unwrap();
    assert!(last.get("options").is_none() && last.get("explanation").is_none(), "{last}");
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn bad_items_break_each_rule_in_turn() {
    let sim = start(SimulatorConfig::builder().faults("script:bad_items".parse().unwrap()).build().unwrap()).await;
    let kns: Vec<u8> = (1..=18).map(|i| i * 3).collect();
    let brief = brief(&kns, 0);
    let items = Api::new(&sim).message(&generator_body(&brief)).await.items();
    assert_eq!(items.len(), 18);
    let mut codes = BTreeSet::new();
    let mut wrong_kn = 0;
    for (i, (item, kn)) in items.iter().zip(&brief.items).enumerate() {
        let problems = validate_item(&as_question(item, *kn, i as u32 + 1));
        codes.extend(problems.iter().map(|p| p.code));
        let spoiled = !problems.is_empty() || item.kn_id != kn.to_string();
        assert_eq!(spoiled, i % 2 == 0, "item {i}: {item:?}");
        if item.kn_id != kn.to_string() {
            wrong_kn += 1;
            assert!(Kn::parse(&item.kn_id).is_some_and(|k| k.domain() != kn.domain()));
        }
    }
    use ProblemCode::*;
    let expected = [
        OptionCount,
        OptionDuplicate,
        KeyNotInOptions,
        OptionBanned,
        StemEmpty,
        ExplanationEmpty,
        DifficultyInvalid,
        DomainKnMismatch,
    ];
    assert_eq!(codes, expected.into_iter().collect());
    assert_eq!(wrong_kn, 1);
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn duplicate_and_wrong_count_faults_spoil_the_set() {
    let plan: FaultPlan = "script:duplicates,wrong_count".parse().unwrap();
    let sim = start(SimulatorConfig::builder().faults(plan).build().unwrap()).await;
    let api = Api::new(&sim);
    let brief = brief(&[10, 20, 30, 40], 5);
    let items = api.message(&generator_body(&brief)).await.items();
    assert_eq!(items.len(), 4);
    let stems: BTreeSet<&str> = items.iter().map(|i| i.question.as_str()).collect();
    assert_eq!(stems.len(), 3);
    let items = api.message(&generator_body(&brief)).await.items();
    assert!(items.len() == 3 || items.len() == 5, "{}", items.len());
    assert_eq!(sim.log()[1].items, Some(items.len()));
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn random_plans_are_reproducible_and_predicates_see_the_retry_count() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let sim =
            start(SimulatorConfig::builder().faults("seed=5,500=0.5".parse().unwrap()).build().unwrap()).await;
        let api = Api::new(&sim);
        let mut statuses = Vec::new();
        for _ in 0..16 {
            statuses.push(api.message(&chat_body()).await.status);
        }
        runs.push(statuses);
        sim.shutdown().await.unwrap();
    }
    assert_eq!(runs[0], runs[1]);
    assert!(runs[0].contains(&200) && runs[0].contains(&500), "{:?}", runs[0]);

    let plan = FaultPlan::predicate(|ctx| (ctx.retry_count == Some(0)).then(|| Fault::new(FaultKind::Overloaded)));
    let sim = start(SimulatorConfig::builder().faults(plan).build().unwrap()).await;
    let api = Api::new(&sim);
    let attempt = |n: &str| api.post("/v1/messages", &chat_body()).header("x-stainless-retry-count", n);
    assert_eq!(send(attempt("0")).await.status, 529);
    assert_eq!(send(attempt("1")).await.status, 200);
    let retries: Vec<_> = sim.log().iter().map(|e| e.retry_count).collect();
    assert_eq!(retries, [Some(0), Some(1)]);
    sim.shutdown().await.unwrap();
}
