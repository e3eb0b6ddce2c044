//! Client tests against a canned-response HTTP server on a std thread (no simulator needed): what goes on the
//! wire, and how answers map to results. The fault matrix runs against the simulator in `tests/claude_client.rs`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::thread::JoinHandle;
use std::time::Duration;

use super::*;
use crate::claude::config::ApiKey;
use crate::claude::retry::RetryConfig;

const KEY: &str = "sk-ant-test-SECRET-123";

/// One raw request as the canned server read it.
struct Seen {
    head: String,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }
}

/// Serves `responses` (raw HTTP, `Connection: close`) to consecutive connections, then returns what it read.
fn canned(responses: Vec<String>) -> (String, JoinHandle<Vec<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for response in responses {
            let (mut stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                head.push_str(&line);
            }
            let mut request = Seen { head, body: String::new() };
            let len = request.header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0usize);
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            request.body = String::from_utf8(body).unwrap();
            stream.write_all(response.as_bytes()).unwrap();
            seen.push(request);
        }
        seen
    });
    (url, handle)
}

fn response(status: &str, headers: &[&str], body: &str) -> String {
    let mut text = format!("HTTP/1.1 {status}\r\nconnection: close\r\ncontent-length: {}\r\n", body.len());
    for h in headers {
        text.push_str(h);
        text.push_str("\r\n");
    }
    text + "\r\n" + body
}

const MESSAGE: &str = r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-haiku-4-5-20251001",
"content":[{"type":"tool_use","id":"toolu_1","name":"record","input":{"questions":[]}}],"stop_reason":"tool_use",
"stop_sequence":null,"usage":{"input_tokens":1000,"output_tokens":2000,"cache_read_input_tokens":500}}"#;

fn error_body(t: &str) -> String {
    format!(r#"{{"type":"error","error":{{"type":"{t}","message":"nope"}},"request_id":"req_body"}}"#)
}

fn client(base: &str) -> ClaudeClient {
    let retry = RetryConfig { initial_delay: Duration::from_millis(1), ..RetryConfig::default() };
    ClaudeClient::new(ClaudeConfig::new(ApiKey::new(KEY)).with_base_url(base).with_retry(retry)).unwrap()
}

fn request() -> MessageRequest {
    MessageRequest::new("claude-haiku-4-5", 64).user("hello")
}

#[tokio::test]
async fn sends_the_sdk_headers_and_reads_the_reply() {
    let ok = response("200 OK", &["content-type: application/json", "request-id: req_ok"], MESSAGE);
    let (url, server) = canned(vec![ok]);
    let c = client(&url);
    let reply = c.create_message(&request()).await.unwrap();
    let seen = server.join().unwrap();
    let r = &seen[0];
    assert!(r.head.starts_with("POST /v1/messages HTTP/1.1"), "{}", r.head);
    assert_eq!(r.header("x-api-key").as_deref(), Some(KEY));
    assert_eq!(r.header("anthropic-version").as_deref(), Some("2023-06-01"));
    assert_eq!(r.header("content-type").as_deref(), Some("application/json"));
    assert_eq!(r.header("accept").as_deref(), Some("application/json"));
    assert_eq!(r.header("x-stainless-retry-count").as_deref(), Some("0"));
    assert!(r.header("user-agent").unwrap().starts_with("pregen/"));
    assert_eq!(serde_json::from_str::<MessageRequest>(&r.body).unwrap(), request());
    assert_eq!(reply.request_id.as_deref(), Some("req_ok"));
    assert_eq!(reply.tool_input("record").unwrap()["questions"], serde_json::json!([]));
    let totals = c.usage_totals();
    assert_eq!((totals.requests, totals.input_tokens, totals.cache_read_input_tokens), (1, 1000, 500));
    let expected = (1000.0 * 1.0 + 2000.0 * 5.0 + 500.0 * 0.1) / 1e6;
    assert!((totals.cost.total_usd - expected).abs() < 1e-12);
}

#[tokio::test]
async fn retries_count_up_and_honour_retry_after_ms() {
    let limited = response(
        "429 Too Many Requests",
        &["retry-after-ms: 20", "request-id: req_a"],
        &error_body("rate_limit_error"),
    );
    let overloaded = response("529 Overloaded", &["request-id: req_b"], &error_body("overloaded_error"));
    let ok = response("200 OK", &["request-id: req_c"], MESSAGE);
    let (url, server) = canned(vec![limited, overloaded, ok]);
    let reply = client(&url).create_message(&request()).await.unwrap();
    let seen = server.join().unwrap();
    let counts: Vec<_> = seen.iter().map(|r| r.header("x-stainless-retry-count").unwrap()).collect();
    assert_eq!(counts, ["0", "1", "2"]);
    assert_eq!(reply.request_id.as_deref(), Some("req_c"));
}

#[tokio::test]
async fn exhausted_retries_give_the_last_error_with_its_request_id() {
    let fail = |id: &str| {
        response("500 Internal Server Error", &[&format!("request-id: {id}")], &error_body("api_error"))
    };
    let (url, server) = canned(vec![fail("req_1"), fail("req_2"), fail("req_3")]);
    let e = client(&url).create_message(&request()).await.unwrap_err();
    assert_eq!(server.join().unwrap().len(), 3);
    assert_eq!((e.code(), e.status(), e.request_id()), ("claude.api", Some(500), Some("req_3")));
}

#[tokio::test]
async fn a_proxy_413_and_a_redirect_are_not_retried() {
    let too_large = response(
        "413 Payload Too Large",
        &["content-type: text/html"],
        "<html>413 Request Entity Too Large</html>",
    );
    let (url, server) = canned(vec![too_large]);
    let e = client(&url).create_message(&request()).await.unwrap_err();
    assert_eq!(server.join().unwrap().len(), 1);
    assert_eq!((e.code(), e.request_id()), ("claude.request_too_large", None));
    let moved = response("307 Temporary Redirect", &["location: http://127.0.0.1:9/v1/messages"], "");
    let (url, server) = canned(vec![moved]);
    let e = client(&url).create_message(&request()).await.unwrap_err();
    assert_eq!(server.join().unwrap().len(), 1);
    assert_eq!((e.status(), e.is_retryable()), (Some(307), false));
}

#[tokio::test]
async fn a_403_is_not_retried() {
    let denied = response("403 Forbidden", &["request-id: req_403"], &error_body("permission_error"));
    let (url, server) = canned(vec![denied]);
    let e = client(&url).create_message(&request()).await.unwrap_err();
    assert_eq!(server.join().unwrap().len(), 1);
    assert_eq!((e.code(), e.request_id(), e.is_retryable()), ("claude.permission", Some("req_403"), false));
}

#[tokio::test]
async fn a_malformed_success_is_a_decode_error_and_not_retried() {
    let (url, server) = canned(vec![response("200 OK", &["request-id: req_bad"], "{\"id\": \"msg_")]);
    let c = client(&url);
    let e = c.create_message(&request()).await.unwrap_err();
    assert_eq!(server.join().unwrap().len(), 1);
    assert_eq!((e.code(), e.request_id(), e.is_retryable()), ("claude.decode", Some("req_bad"), false));
    assert_eq!(c.usage_totals().requests, 0);
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported() {
    // Bind then drop a listener: its port is closed, so every attempt is refused.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let c = client(&format!("http://127.0.0.1:{port}"));
    let e = c.create_message(&request()).await.unwrap_err();
    assert_eq!(e.code(), "claude.connection", "{e}");
    assert!(e.is_retryable());
    assert!(!format!("{e} {e:?}").contains(KEY));
}

#[test]
fn endpoints_keep_a_base_path_and_encode_segments() {
    let c = client("http://127.0.0.1:9/proxy/anthropic/");
    assert_eq!(c.endpoint(&["messages"]).as_str(), "http://127.0.0.1:9/proxy/anthropic/v1/messages");
    let c = client("https://api.anthropic.com");
    assert_eq!(
        c.endpoint(&["messages", "batches", "a/b?c", "cancel"]).as_str(),
        "https://api.anthropic.com/v1/messages/batches/a%2Fb%3Fc/cancel"
    );
}

#[test]
fn debug_of_the_client_hides_the_key() {
    let c = client("http://127.0.0.1:9");
    let debug = format!("{c:?} {c:#?}");
    assert!(!debug.contains(KEY) && !debug.contains("SECRET"), "{debug}");
}

#[test]
fn new_refuses_a_key_that_cannot_be_a_header() {
    let e = ClaudeClient::new(ClaudeConfig::new(ApiKey::new("bad\u{7f}key-SECRET"))).unwrap_err();
    assert_eq!(e.code(), "claude.config");
    assert!(!format!("{e} {e:?}").contains("SECRET"));
}
