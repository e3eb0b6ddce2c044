//! Message Batches end to end: creation checks, processing in the background, results, cancel, list, delete.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::DateTime;
use pregen_core::simulator::{BatchSettings, RateLimits, SimulatorConfig, SimulatorHandle};
use serde_json::{Value, json};

use super::{Api, brief, chat_body, generator_body, send, start};

fn config(processing_time: Duration, errored: f64, expired: f64) -> SimulatorConfig {
    let batch = BatchSettings { processing_time, errored_fraction: errored, expired_fraction: expired };
    SimulatorConfig::builder().batch(batch).build().unwrap()
}

fn requests(n: u64) -> Value {
    let requests: Vec<Value> = (0..n)
        .map(|i| json!({"custom_id": format!("chunk-{i}"), "params": generator_body(&brief(&[1, 2], i))}))
        .collect();
    json!({ "requests": requests })
}

/// Polls until the batch has ended (bounded: gives up after 400 polls).
async fn until_ended(api: &Api, id: &str) -> Value {
    for _ in 0..400 {
        let batch = api.get(&format!("/v1/messages/batches/{id}")).await.json();
        if batch["processing_status"] == "ended" {
            return batch;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("batch {id} did not end");
}

async fn create(api: &Api, body: &Value) -> Value {
    let reply = send(api.post("/v1/messages/batches", body)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()
}

#[tokio::test]
async fn a_batch_runs_to_the_end_with_succeeded_errored_and_expired_results() {
    let sim = start(config(Duration::from_millis(1_500), 0.25, 0.125)).await;
    let api = Api::new(&sim);
    let batch = create(&api, &requests(8)).await;
    let id = batch["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("msgbatch_"));
    assert_eq!(batch["type"], "message_batch");
    assert_eq!(batch["processing_status"], "in_progress");
    assert_eq!(
        batch["request_counts"],
        json!({"processing": 8, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0})
    );
    assert!(batch["results_url"].is_null() && batch["ended_at"].is_null());
    let created = DateTime::parse_from_rfc3339(batch["created_at"].as_str().unwrap()).unwrap();
    let expires = DateTime::parse_from_rfc3339(batch["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!((expires - created).num_hours(), 24);

    let early = api.get(&format!("/v1/messages/batches/{id}/results")).await;
    assert_eq!((early.status, early.error_type().as_str()), (404, "not_found_error"));

    let ended = until_ended(&api, &id).await;
    assert_eq!(
        ended["request_counts"],
        json!({"processing": 0, "succeeded": 5, "errored": 2, "canceled": 0, "expired": 1})
    );
    assert!(ended["ended_at"].is_string());
    let url = ended["results_url"].as_str().unwrap();
    assert_eq!(url, format!("{}/v1/messages/batches/{id}/results", sim.url()));

    let results = send(api.request(reqwest::Method::GET, &url[sim.url().len()..])).await;
    assert_eq!(results.status, 200);
    let lines: Vec<Value> = results.text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let ids: Vec<&str> = lines.iter().map(|l| l["custom_id"].as_str().unwrap()).collect();
    let in_order: Vec<String> = (0..8).map(|i| format!("chunk-{i}")).collect();
    assert_eq!(ids.iter().copied().collect::<BTreeSet<_>>(), in_order.iter().map(String::as_str).collect());
    assert_ne!(ids, in_order, "lines come in a shuffled order");
    for line in &lines {
        let result = &line["result"];
        match result["type"].as_str().unwrap() {
            "succeeded" => {
                let message = &result["message"];
                assert_eq!(message["content"][0]["input"]["questions"].as_array().unwrap().len(), 2);
                assert_eq!(message["usage"]["service_tier"], "batch");
            }
            "errored" => {
                assert_eq!(result["error"]["type"], "error");
                assert_eq!(result["error"]["error"]["type"], "api_error");
                assert!(result["error"]["request_id"].is_string());
            }
            "expired" => {}
            other => panic!("unexpected result {other}"),
        }
    }
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn batch_creation_is_validated() {
    let sim = start(SimulatorConfig::default()).await;
    let api = Api::new(&sim);
    let entry = |id: &str, params: Value| json!({"custom_id": id, "params": params});
    let mut no_max_tokens = chat_body();
    no_max_tokens.as_object_mut().unwrap().remove("max_tokens");
    let bodies = [
        json!({"requests": []}),
        json!({}),
        json!({"requests": [entry("a", chat_body()), entry("a", chat_body())]}),
        json!({"requests": [entry("a", no_max_tokens)]}),
        json!({"requests": [entry("not ok!", chat_body())]}),
        json!({"requests": [{"custom_id": "a"}]}),
    ];
    for body in &bodies {
        let reply = send(api.post("/v1/messages/batches", body)).await;
        assert_eq!((reply.status, reply.error_type().as_str()), (400, "invalid_request_error"), "{body}");
    }
    let unknown = api.get("/v1/messages/batches/msgbatch_nope").await;
    assert_eq!((unknown.status, unknown.error_type().as_str()), (404, "not_found_error"));
    sim.shutdown().await.unwrap();
}

async fn cancel(api: &Api, id: &str) -> Value {
    send(api.request(reqwest::Method::POST, &format!("/v1/messages/batches/{id}/cancel"))).await.json()
}

async fn delete(api: &Api, id: &str) -> super::Reply {
    send(api.request(reqwest::Method::DELETE, &format!("/v1/messages/batches/{id}"))).await
}

#[tokio::test]
async fn a_canceled_batch_ends_with_canceled_results_and_can_then_be_deleted() {
    let sim = start(config(Duration::from_secs(3_600), 0.0, 0.0)).await;
    let api = Api::new(&sim);
    let first = create(&api, &requests(3)).await;
    let second = create(&api, &requests(2)).await;
    let (first_id, second_id) = (first["id"].as_str().unwrap(), second["id"].as_str().unwrap());

    let listed = api.get("/v1/messages/batches?limit=1").await.json();
    assert_eq!(listed["data"][0]["id"], second_id, "newest first");
    assert_eq!((listed["has_more"].as_bool(), listed["last_id"].as_str()), (Some(true), Some(second_id)));
    let next = api.get(&format!("/v1/messages/batches?limit=5&after_id={second_id}")).await.json();
    assert_eq!(next["data"][0]["id"], first_id);

    let refused = delete(&api, first_id).await;
    assert_eq!((refused.status, refused.error_type().as_str()), (400, "invalid_request_error"));

    let canceling = cancel(&api, first_id).await;
    assert_eq!(canceling["processing_status"], "canceling");
    assert!(canceling["cancel_initiated_at"].is_string());
    let ended = until_ended(&api, first_id).await;
    assert_eq!(ended["request_counts"]["canceled"], 3);
    let results = api.get(&format!("/v1/messages/batches/{first_id}/results")).await;
    assert!(results.text.lines().all(|l| l.contains("\"type\":\"canceled\"")));
    assert_eq!(results.text.lines().count(), 3);

    let deleted = delete(&api, first_id).await.json();
    assert_eq!(deleted, json!({"id": first_id, "type": "message_batch_deleted"}));
    assert_eq!(api.get(&format!("/v1/messages/batches/{first_id}")).await.status, 404);
    cancel_and_stop(&api, &sim, second_id).await;
}

async fn cancel_and_stop(api: &Api, sim: &SimulatorHandle, id: &str) {
    cancel(api, id).await;
    until_ended(api, id).await;
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn batch_requests_do_not_use_the_per_minute_limits() {
    let limits = RateLimits { requests_per_minute: Some(1), ..RateLimits::default() };
    let batch = BatchSettings { processing_time: Duration::from_millis(50), ..BatchSettings::default() };
    let sim = start(SimulatorConfig::builder().rate_limits(limits).batch(batch).build().unwrap()).await;
    let api = Api::new(&sim);
    let created = create(&api, &requests(3)).await;
    let ended = until_ended(&api, created["id"].as_str().unwrap()).await;
    assert_eq!(ended["request_counts"]["succeeded"], 3);
    assert_eq!(api.message(&chat_body()).await.status, 200, "the minute's one request is still there");
    assert_eq!(api.message(&chat_body()).await.status, 429);
    sim.shutdown().await.unwrap();
}
