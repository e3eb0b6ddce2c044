//! Messages endpoint: auth, version, body checks, items, determinism, caching, the log, shutdown.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta};
use pregen_core::ManualClock;
use pregen_core::exam::validate_item;
use pregen_core::simulator::{DEFAULT_API_KEY, LatencyModel, SimulatorConfig};
use serde_json::json;

use super::{Api, as_question, brief, chat_body, generator_body, send, start};

#[tokio::test]
async fn authentication_failures_get_401_with_api_shaped_errors() {
    let sim = start(SimulatorConfig::default()).await;
    let client = reqwest::Client::new();
    let url = format!("{}/v1/messages", sim.url());
    let base = || client.post(&url).header("anthropic-version", "2023-06-01").json(&chat_body());
    let cases = [
        ("missing key", base()),
        ("wrong key", base().header("x-api-key", "sk-ant-wrong")),
        ("both schemes", base().header("x-api-key", DEFAULT_API_KEY).bearer_auth(DEFAULT_API_KEY)),
        ("bearer only", base().bearer_auth(DEFAULT_API_KEY)),
    ];
    for (case, request) in cases {
        let reply = send(request).await;
        assert_eq!(reply.status, 401, "{case}");
        assert_eq!(reply.header("content-type"), Some("application/json"));
        assert_eq!(reply.error_type(), "authentication_error", "{case}");
    }
    let no_version = client.post(&url).header("x-api-key", DEFAULT_API_KEY).json(&chat_body());
    let reply = send(no_version).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_type(), "invalid_request_error");
    assert!(reply.json()["error"]["message"].as_str().unwrap().contains("anthropic-version"));
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn invalid_bodies_get_400_and_oversized_ones_413() {
    let sim = start(SimulatorConfig::builder().max_body_bytes(64 * 1024).build().unwrap()).await;
    let api = Api::new(&sim);
    let without = |field: &str| {
        let mut body = chat_body();
        body.as_object_mut().unwrap().remove(field);
        body
    };
    let with = |field: &str, value: serde_json::Value| {
        let mut body = chat_body();
        body[field] = value;
        body
    };
    let bodies = [
        without("model"),
        without("max_tokens"),
        without("messages"),
        with("messages", json!([])),
        with("max_tokens", json!(0)),
        with("max_tokens", json!(64_001)),
        with("max_tokens", json!("many")),
        with("messages", json!([{"role": "robot", "content": "hi"}])),
        json!([1, 2, 3]),
    ];
    for body in &bodies {
        let reply = api.message(body).await;
        assert_eq!(reply.status, 400, "{body}");
        assert_eq!(reply.error_type(), "invalid_request_error");
    }
    let broken = api.request(reqwest::Method::POST, "/v1/messages").body("{\"model\": ");
    let reply = send(broken.header("content-type", "application/json")).await;
    assert_eq!((reply.status, reply.error_type().as_str()), (400, "invalid_request_error"));

    let huge = with("messages", json!([{"role": "user", "content": "x".repeat(100 * 1024)}]));
    let reply = api.message(&huge).await;
    assert_eq!((reply.status, reply.error_type().as_str()), (413, "request_too_large"));

    let reply = api.get("/v1/nothing-here").await;
    assert_eq!((reply.status, reply.error_type().as_str()), (404, "not_found_error"));
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_forced_tool_request_gets_one_valid_item_per_brief_entry() {
    let sim = start(SimulatorConfig::builder().seed(7).build().unwrap()).await;
    let api = Api::new(&sim);
    let brief = brief(&[1, 33, 33, 50, 71, 12], 3);
    let reply = api.message(&generator_body(&brief)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let body = reply.json();
    assert!(body["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(body["type"], "message");
    assert_eq!(body["role"], "assistant");
    assert_eq!(body["model"], "claude-haiku-4-5");
    assert_eq!(body["stop_reason"], "tool_use");
    assert!(body["stop_sequence"].is_null());
    let block = &body["content"][0];
    assert!(block["id"].as_str().unwrap().starts_with("toolu_"));
    assert_eq!(block["name"], "record_exam_items");
    let items = reply.items();
    assert_eq!(items.len(), brief.items.len());
    for (i, (item, kn)) in items.iter().zip(&brief.items).enumerate() {
        assert_eq!(item.kn_id, kn.to_string());
        assert!(item.question.starts_with("[simulated]"));
        let problems = validate_item(&as_question(item, *kn, i as u32 + 1));
        assert!(problems.is_empty(), "{problems:?}");
    }
    let usage = &body["usage"];
    let output = usage["output_tokens"].as_u64().unwrap();
    assert!((6 * 240..=6 * 360).contains(&output), "{output}");
    for field in ["input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"] {
        assert!(usage[field].is_u64(), "{field}");
    }
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn items_are_deterministic_for_a_seed_and_stems_differ_across_variations() {
    let kns = [5, 6, 7, 40, 41];
    let (a, b, c) = (
        start(SimulatorConfig::builder().seed(42).build().unwrap()).await,
        start(SimulatorConfig::builder().seed(42).build().unwrap()).await,
        start(SimulatorConfig::builder().seed(43).build().unwrap()).await,
    );
    let body = generator_body(&brief(&kns, 1));
    let first = Api::new(&a).message(&body).await.items();
    assert_eq!(first, Api::new(&b).message(&body).await.items());
    assert_ne!(first, Api::new(&c).message(&body).await.items());
    let mut stems = HashSet::new();
    for variation in 0..4 {
        for item in Api::new(&a).message(&generator_body(&brief(&kns, variation))).await.items() {
            assert!(stems.insert(item.question));
        }
    }
    for sim in [a, b, c] {
        sim.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn requests_without_the_forced_tool_get_text_and_tokens_can_be_counted() {
    let sim = start(SimulatorConfig::default()).await;
    let api = Api::new(&sim);
    let reply = api.message(&chat_body()).await;
    let body = reply.json();
    assert_eq!(body["stop_reason"], "end_turn");
    assert_eq!(body["content"][0]["type"], "text");
    assert!(body["content"][0]["text"].as_str().unwrap().starts_with("[simulated]"));

    let generator = generator_body(&brief(&[9], 0));
    let counted = send(api.post("/v1/messages/count_tokens", &generator)).await.json();
    let usage = api.message(&generator).await.json()["usage"].clone();
    let total = ["input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"]
        .iter()
        .map(|f| usage[f].as_u64().unwrap())
        .sum::<u64>();
    assert_eq!(counted["input_tokens"].as_u64(), Some(total));
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_cached_prefix_is_written_once_read_after_and_expires_with_its_ttl() {
    let clock = Arc::new(ManualClock::new(DateTime::from_timestamp(1_700_000_000, 0).unwrap()));
    let sim = start(SimulatorConfig::builder().clock(clock.clone()).build().unwrap()).await;
    let api = Api::new(&sim);
    let usage = |reply: super::Reply| {
        let u = reply.json()["usage"].clone();
        let n = |f: &str| u[f].as_u64().unwrap();
        (n("input_tokens"), n("cache_creation_input_tokens"), n("cache_read_input_tokens"))
    };
    let (input, created, read) = usage(api.message(&generator_body(&brief(&[1, 2], 0))).await);
    assert!(created > 1000 && read == 0, "{created} {read}");
    let (input2, created2, read2) = usage(api.message(&generator_body(&brief(&[1, 2], 1))).await);
    assert_eq!((input2, created2, read2), (input, 0, created));

    clock.advance(TimeDelta::minutes(4));
    assert_eq!(usage(api.message(&generator_body(&brief(&[1, 2], 2))).await).2, created, "hit refreshes");
    clock.advance(TimeDelta::minutes(4));
    assert_eq!(usage(api.message(&generator_body(&brief(&[1, 2], 3))).await).2, created);
    clock.advance(TimeDelta::minutes(6));
    assert_eq!(usage(api.message(&generator_body(&brief(&[1, 2], 4))).await), (input, created, 0));
    sim.shutdown().await.unwrap();

    let sim = start(SimulatorConfig::builder().min_cacheable_tokens(1_000_000).build().unwrap()).await;
    let (_, created, read) = usage(Api::new(&sim).message(&generator_body(&brief(&[1, 2], 0))).await);
    assert_eq!((created, read), (0, 0));
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_log_records_each_request() {
    let sim = start(SimulatorConfig::default()).await;
    let api = Api::new(&sim);
    let request = api.post("/v1/messages", &generator_body(&brief(&[3, 4, 5], 0)));
    let reply = send(request.header("x-stainless-retry-count", "2")).await;
    let bad = api.message(&json!({"model": "m"})).await;
    let log = sim.log();
    assert_eq!(log.len(), 2);
    let (ok, refused) = (&log[0], &log[1]);
    assert!(ok.seq < refused.seq && ok.received <= refused.received);
    assert_eq!((ok.method.as_str(), ok.path.as_str(), ok.status), ("POST", "/v1/messages", Some(200)));
    assert_eq!(Some(ok.request_id.as_str()), reply.header("request-id"));
    assert_eq!(ok.model.as_deref(), Some("claude-haiku-4-5"));
    assert_eq!(ok.retry_count, Some(2));
    assert_eq!(ok.message_index, Some(1));
    assert_eq!(ok.items, Some(3));
    assert_eq!(ok.fault, None);
    let usage = reply.json()["usage"].clone();
    assert_eq!(Some(ok.input_tokens), usage["input_tokens"].as_u64());
    assert_eq!(Some(ok.output_tokens), usage["output_tokens"].as_u64());
    assert_eq!(Some(ok.cache_creation_input_tokens), usage["cache_creation_input_tokens"].as_u64());
    assert_eq!(refused.status, Some(400));
    assert_eq!(refused.error_type.as_deref(), Some("invalid_request_error"));
    assert_eq!(Some(refused.request_id.as_str()), bad.header("request-id"));
    assert_eq!(refused.model.as_deref(), Some("m"));
    sim.clear_log();
    assert!(sim.log().is_empty());
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutdown_stops_serving_and_run_until_waits_for_its_signal() {
    let sim = start(SimulatorConfig::default()).await;
    let url = format!("{}/v1/messages", sim.url());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let runner = {
        let sim = sim.clone();
        tokio::spawn(async move {
            sim.run_until(async {
                let _ = stopped.await;
            })
            .await
        })
    };
    assert_eq!(Api::new(&sim).message(&chat_body()).await.status, 200);
    stop.send(()).unwrap();
    runner.await.unwrap().unwrap();
    sim.shutdown().await.unwrap();
    let fresh = reqwest::Client::new();
    assert!(fresh.post(&url).json(&chat_body()).send().await.is_err());
}

#[tokio::test]
async fn latency_is_time_compressed_and_shutdown_cuts_a_slow_answer_short() {
    let fast = SimulatorConfig::builder().latency(LatencyModel::haiku()).time_factor(1_000.0);
    let sim = start(fast.build().unwrap()).await;
    assert_eq!(Api::new(&sim).message(&generator_body(&brief(&[1, 2], 0))).await.status, 200);
    sim.shutdown().await.unwrap();

    let slow = LatencyModel { base: Duration::from_secs(3_600), tokens_per_second: 150.0 };
    let sim = start(SimulatorConfig::builder().latency(slow).build().unwrap()).await;
    let api = Api::new(&sim);
    let pending = tokio::spawn(async move { api.message(&chat_body()).await.status });
    for _ in 0..400 {
        if !sim.log().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(sim.log().len(), 1, "the request arrived and waits out its latency");
    sim.shutdown().await.unwrap();
    assert_eq!(pending.await.unwrap(), 200, "shutdown answers held requests instead of dropping them");
}
