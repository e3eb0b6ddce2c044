//! The Claude API simulator over real HTTP on loopback, driven with reqwest as a client would drive it.
#![cfg(all(feature = "simulator", feature = "claude"))]

#[path = "simulator/batches.rs"]
mod batches;
#[path = "simulator/faults.rs"]
mod faults;
#[path = "simulator/limits.rs"]
mod limits;
#[path = "simulator/messages.rs"]
mod messages;

use pregen_core::exam::{Kn, Question};
use pregen_core::prompt::{self, ChunkBrief, DraftItem, ToolInput};
use pregen_core::simulator::{DEFAULT_API_KEY, Simulator, SimulatorConfig, SimulatorHandle};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

/// A client for one simulator, sending the headers the SDKs send.
pub(crate) struct Api {
    client: reqwest::Client,
    base: String,
}

/// A response, read whole.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) text: String,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The error type of an API error body, after checking the body's shape and its request id.
    pub(crate) fn error_type(&self) -> String {
        let body = self.json();
        assert_eq!(body["type"], "error", "{body}");
        assert!(body["error"]["message"].is_string());
        assert_eq!(body["request_id"].as_str(), self.header("request-id"));
        body["error"]["type"].as_str().unwrap().to_owned()
    }

    /// The tool input of a successful forced-tool answer.
    pub(crate) fn tool_input(&self) -> Value {
        let body = self.json();
        assert_eq!(body["content"][0]["type"], "tool_use", "{body}");
        body["content"][0]["input"].clone()
    }

    pub(crate) fn items(&self) -> Vec<DraftItem> {
        serde_json::from_value::<ToolInput>(self.tool_input()).unwrap().questions
    }
}

impl Api {
    pub(crate) fn new(sim: &SimulatorHandle) -> Self {
        Self::with_client(sim, reqwest::Client::new())
    }

    pub(crate) fn with_client(sim: &SimulatorHandle, client: reqwest::Client) -> Self {
        Self { client, base: sim.url().to_owned() }
    }

    pub(crate) fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .header("x-api-key", DEFAULT_API_KEY)
            .header("anthropic-version", "2023-06-01")
    }

    pub(crate) fn post(&self, path: &str, body: &Value) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::POST, path).json(body)
    }

    pub(crate) async fn message(&self, body: &Value) -> Reply {
        send(self.post("/v1/messages", body)).await
    }

    pub(crate) async fn get(&self, path: &str) -> Reply {
        send(self.request(reqwest::Method::GET, path)).await
    }
}

/// Sends and reads the whole response, checking what every response carries.
pub(crate) async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("the simulator answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let reply = Reply { status, headers, text };
    let id = reply.header("request-id").expect("every response has a request-id");
    assert!(id.starts_with("req_"), "{id}");
    reply
}

pub(crate) async fn start(config: SimulatorConfig) -> SimulatorHandle {
    Simulator::start(config).await.expect("the simulator starts")
}

pub(crate) fn brief(kns: &[u8], variation: u64) -> ChunkBrief {
    ChunkBrief { items: kns.iter().map(|&n| Kn::new(n).unwrap()).collect(), variation, balance_lengths: false }
}

/// A request as the generator sends it: cached system prompt, forced item tool, brief in the user message.
pub(crate) fn generator_body(brief: &ChunkBrief) -> Value {
    json!({
        "model": "claude-haiku-4-5",
        "max_tokens": 8000,
        "system": [{"type": "text", "text": prompt::system_prompt(), "cache_control": {"type": "ephemeral"}}],
        "tools": [prompt::tool_definition()],
        "tool_choice": prompt::tool_choice(),
        "messages": [{"role": "user", "content": brief.user_message()}],
    })
}

/// A small request without tools.
pub(crate) fn chat_body() -> Value {
    json!({"model": "claude-haiku-4-5", "max_tokens": 100, "messages": [{"role": "user", "content": "Hello"}]})
}

/// The item as an exam question for `kn` (the domain the generator would assign), so the crate's validator can
/// judge it.
pub(crate) fn as_question(item: &DraftItem, kn: Kn, id: u32) -> Question {
    let mut question: Question = serde_json::from_value(json!({
        "id": id,
        "question": item.question,
        "options": item.options,
        "correct_answer": item.correct_answer,
        "explanation": item.explanation,
        "domain": kn.domain().label(),
        "knId": item.kn_id,
        "difficulty": item.difficulty,
    }))
    .unwrap();
    question.id = id;
    question
}
