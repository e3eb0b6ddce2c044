//! The Message Batches API: create, retrieve, cancel, and read the JSONL results of an ended batch. Half
//! price, results within 24 h. Batch calls follow the same retry rules as messages but bypass the Messages
//! rate limiter (batches have their own limits).

use chrono::{DateTime, Utc};
use reqwest::{Method, Url};
use serde::de::Deserializer;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::{Call, ClaudeClient};
use super::config::DEFAULT_BASE_URL;
use super::error::ClaudeError;
use super::types::MessageRequest;

/// One request of a batch: an id unique within the batch (1–64 of `[A-Za-z0-9_-]`) and the Messages body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchRequest {
    /// The caller's id for matching results.
    pub custom_id: String,
    /// The request, as for `POST /v1/messages` (never streaming).
    pub params: MessageRequest,
}

/// Where a batch is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    /// Requests are being processed.
    InProgress,
    /// A cancel was asked for and is taking effect.
    Canceling,
    /// Every request has a result; `results_url` is set.
    Ended,
    /// A status this client does not know.
    #[serde(other)]
    Unknown,
}

/// How many requests are in each state. Until the batch ends, everything counts as `processing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RequestCounts {
    /// Not finished yet.
    pub processing: u64,
    /// Finished with a message.
    pub succeeded: u64,
    /// Finished with an error.
    pub errored: u64,
    /// Canceled before they ran.
    pub canceled: u64,
    /// Not processed within 24 h.
    pub expired: u64,
}

/// A message batch as the API describes it. Unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageBatch {
    /// `msgbatch_...`.
    pub id: String,
    /// Its life stage.
    pub processing_status: BatchStatus,
    /// Requests per state.
    #[serde(default)]
    pub request_counts: RequestCounts,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When unfinished requests expire (created + 24 h).
    pub expires_at: DateTime<Utc>,
    /// When processing ended.
    #[serde(default)]
    pub ended_at: Option<DateTime<Utc>>,
    /// When a cancel was asked for.
    #[serde(default)]
    pub cancel_initiated_at: Option<DateTime<Utc>>,
    /// When it was archived.
    #[serde(default)]
    pub archived_at: Option<DateTime<Utc>>,
    /// Where the JSONL results are, once ended.
    #[serde(default)]
    pub results_url: Option<String>,
}

/// One request's outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchResult {
    /// The message, as `POST /v1/messages` would have returned it (without a request id).
    Succeeded(super::types::MessageResponse),
    /// The request failed.
    Errored {
        /// The API error type, e.g. `invalid_request_error`.
        error_type: String,
        /// The error message.
        message: String,
        /// The failed request's id, if given.
        request_id: Option<String>,
    },
    /// The batch was canceled before this request ran.
    Canceled,
    /// The request was not processed within 24 h.
    Expired,
    /// A result type this client does not know, as received.
    Unknown(Value),
}

/// One line of a batch's results file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BatchResultLine {
    /// The id given in the [`BatchRequest`].
    pub custom_id: String,
    /// Its outcome.
    #[serde(deserialize_with = "batch_result")]
    pub result: BatchResult,
}

fn batch_result<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BatchResult, D::Error> {
    use serde::de::Error;
    let value = Value::deserialize(deserializer)?;
    Ok(match value.get("type").and_then(Value::as_str) {
        Some("succeeded") => {
            let message = value.get("message").cloned().ok_or_else(|| D::Error::missing_field("message"))?;
            BatchResult::Succeeded(serde_json::from_value(message).map_err(D::Error::custom)?)
        }
        Some("errored") => {
            let outer = value.get("error").unwrap_or(&Value::Null);
            // The SDK shape is an ErrorResponse `{type:"error", error:{type, message}, request_id}`; a bare
            // `{type, message}` is accepted too.
            let inner = outer.get("error").unwrap_or(outer);
            let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
            BatchResult::Errored {
                error_type: text(inner, "type").unwrap_or_default(),
                message: text(inner, "message").unwrap_or_default(),
                request_id: text(outer, "request_id"),
            }
        }
        Some("canceled") => BatchResult::Canceled,
        Some("expired") => BatchResult::Expired,
        _ => BatchResult::Unknown(value),
    })
}

/// Parses a JSONL results body, skipping blank lines; a bad line fails with its 1-based number.
pub fn parse_batch_results(body: &str) -> Result<Vec<BatchResultLine>, String> {
    body.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| serde_json::from_str(line).map_err(|e| format!("results line {}: {e}", i + 1)))
        .collect()
}

impl ClaudeClient {
    /// `POST /v1/messages/batches`: submits the requests as one batch.
    pub async fn create_batch(&self, requests: &[BatchRequest]) -> Result<MessageBatch, ClaudeError> {
        #[derive(Serialize)]
        struct Body<'a> {
            requests: &'a [BatchRequest],
        }
        let body = serde_json::to_vec(&Body { requests })
            .map_err(|e| ClaudeError::Config(format!("the batch could not be serialised: {e}")))?;
        let batch = self.batch_call(Method::POST, &["messages", "batches"], Some(body), "create batch").await?;
        tracing::info!(batch_id = %batch.id, requests = requests.len(), "Claude message batch created");
        Ok(batch)
    }

    /// `GET /v1/messages/batches/{id}`: the batch's current state (poll this until it has ended).
    pub async fn retrieve_batch(&self, id: &str) -> Result<MessageBatch, ClaudeError> {
        self.batch_call(Method::GET, &["messages", "batches", id], None, "retrieve batch").await
    }

    /// `POST /v1/messages/batches/{id}/cancel`: asks for the batch to stop; it moves to `canceling`.
    pub async fn cancel_batch(&self, id: &str) -> Result<MessageBatch, ClaudeError> {
        self.batch_call(Method::POST, &["messages", "batches", id, "cancel"], None, "cancel batch").await
    }

    /// Downloads and parses the results of an ended batch from its `results_url` (lines come in any order;
    /// match them by `custom_id`). Fails with `claude.batch_not_ended` while `results_url` is null, and with
    /// `claude.config` when the URL points at a host other than the configured one or the official API (the
    /// key is never sent elsewhere).
    pub async fn batch_results(&self, batch: &MessageBatch) -> Result<Vec<BatchResultLine>, ClaudeError> {
        let Some(results_url) = batch.results_url.as_deref() else {
            return Err(ClaudeError::BatchNotEnded { id: batch.id.clone() });
        };
        let url = self.trusted_url(results_url)?;
        let reply = self
            .execute(Call {
                method: Method::GET,
                url,
                body: None,
                accept: "application/binary",
                cost: None,
                what: "batch results",
            })
            .await?;
        let text = std::str::from_utf8(&reply.body).map_err(|e| reply.decode_error(e.to_string()))?;
        parse_batch_results(text).map_err(|e| reply.decode_error(e))
    }

    async fn batch_call(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<Vec<u8>>,
        what: &str,
    ) -> Result<MessageBatch, ClaudeError> {
        let call =
            Call { method, url: self.endpoint(segments), body, accept: "application/json", cost: None, what };
        self.execute(call).await?.json()
    }

    /// Parses a server-given URL and accepts it only on the configured origin or the official API's.
    fn trusted_url(&self, raw: &str) -> Result<Url, ClaudeError> {
        let url = Url::parse(raw).map_err(|e| ClaudeError::Config(format!("results_url {raw:?}: {e}")))?;
        let official = Url::parse(DEFAULT_BASE_URL).map(|u| u.origin()).ok();
        if url.origin() == self.base().origin() || Some(url.origin()) == official {
            Ok(url)
        } else {
            Err(ClaudeError::Config(format!(
                "results_url {raw:?} is not on the configured API host; refusing to send the key there"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claude::config::{ApiKey, ClaudeConfig};
    use crate::claude::types::StopReason;
    use crate::error::ErrorCode;
    use serde_json::json;

    #[test]
    fn batch_object_parses_per_the_reference() {
        let b: MessageBatch = serde_json::from_value(json!({
            "id": "msgbatch_013Zva2CMHLNnXjNJJKqJ2EF", "type": "message_batch", "processing_status": "in_progress",
            "request_counts": {"processing": 3, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0},
            "created_at": "2025-10-09T08:00:00Z", "expires_at": "2025-10-10T08:00:00Z",
            "ended_at": null, "cancel_initiated_at": null, "archived_at": null, "results_url": null, "new": 1
        }))
        .unwrap();
        assert_eq!(b.processing_status, BatchStatus::InProgress);
        assert_eq!(b.request_counts.processing, 3);
        assert_eq!((b.ended_at, b.results_url), (None, None));
        let odd: BatchStatus = serde_json::from_value(json!("archiving")).unwrap();
        assert_eq!(odd, BatchStatus::Unknown);
    }

    #[test]
    fn results_lines_of_every_kind() {
        let body = [
            json!({"custom_id": "b", "result": {"type": "errored", "error": {"type": "error",
                "error": {"type": "invalid_request_error", "message": "bad"}, "request_id": "req_9"}}}),
            json!({"custom_id": "a", "result": {"type": "succeeded", "message": {"id": "msg_1", "type": "message",
                "role": "assistant", "model": "claude-haiku-4-5-20251001", "content": [{"type": "text", "text": "hi"}],
                "stop_reason": "end_turn", "stop_sequence": null, "usage": {"input_tokens": 5, "output_tokens": 2}}}}),
            json!({"custom_id": "c", "result": {"type": "canceled"}}),
            json!({"custom_id": "d", "result": {"type": "expired"}}),
            json!({"custom_id": "e", "result": {"type": "errored", "error": {"type": "overloaded_error", "message": "busy"}}}),
            json!({"custom_id": "f", "result": {"type": "postponed"}}),
        ]
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join("\n")
            + "\n\n";
        let lines = parse_batch_results(&body).unwrap();
        assert_eq!(lines.len(), 6);
        assert_eq!(
            lines[0].result,
            BatchResult::Errored {
                error_type: "invalid_request_error".into(),
                message: "bad".into(),
                request_id: Some("req_9".into())
            }
        );
        match &lines[1].result {
            BatchResult::Succeeded(m) => {
                assert_eq!((m.stop_reason.clone(), m.text()), (StopReason::EndTurn, "hi".to_owned()));
                assert_eq!(m.usage.cache_read_input_tokens, 0);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!((&lines[2].result, &lines[3].result), (&BatchResult::Canceled, &BatchResult::Expired));
        assert!(
            matches!(&lines[4].result, BatchResult::Errored { error_type, request_id: None, .. } if error_type == "overloaded_error")
        );
        assert!(matches!(&lines[5].result, BatchResult::Unknown(v) if v["type"] == "postponed"));
    }

    #[test]
    fn a_bad_results_line_names_its_number() {
        let e =
            parse_batch_results("{\"custom_id\":\"a\",\"result\":{\"type\":\"canceled\"}}\n{oops").unwrap_err();
        assert!(e.starts_with("results line 2"), "{e}");
        let e = parse_batch_results(r#"{"custom_id":"a","result":{"type":"succeeded"}}"#).unwrap_err();
        assert!(e.contains("message"), "{e}");
    }

    #[test]
    fn create_body_shape() {
        let req = BatchRequest {
            custom_id: "chunk-1".into(),
            params: MessageRequest::new("claude-haiku-4-5", 100).user("x"),
        };
        let v = serde_json::to_value(&req).unwrap();
        assert_eq!(v["custom_id"], "chunk-1");
        assert_eq!(v["params"]["max_tokens"], 100);
    }

    #[tokio::test]
    async fn results_need_an_ended_batch_on_a_trusted_host() {
        let client =
            ClaudeClient::new(ClaudeConfig::new(ApiKey::new("k")).with_base_url("http://127.0.0.1:9")).unwrap();
        let mut batch: MessageBatch =
            serde_json::from_value(json!({"id": "msgbatch_1", "processing_status": "in_progress",
            "created_at": "2025-10-09T08:00:00Z", "expires_at": "2025-10-10T08:00:00Z"}))
            .unwrap();
        let e = client.batch_results(&batch).await.unwrap_err();
        assert_eq!(e.code(), "claude.batch_not_ended");
        batch.results_url = Some("https://evil.example/v1/messages/batches/msgbatch_1/results".into());
        assert_eq!(client.batch_results(&batch).await.unwrap_err().code(), "claude.config");
        assert!(client.trusted_url("http://127.0.0.1:9/v1/messages/batches/x/results").is_ok());
        assert!(client.trusted_url("https://api.anthropic.com/v1/messages/batches/x/results").is_ok());
        assert!(client.trusted_url("http://127.0.0.1:10/x").is_err());
    }
}
