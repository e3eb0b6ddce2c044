//! Token accounting: a token is about four characters of the serialized text, and a prompt is laid out in render
//! order (tools, system, messages) with its cache breakpoints, each keyed by a hash of the prefix up to it.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

use serde_json::Value;

/// The default lifetime of a prompt cache entry.
pub(crate) const TTL_5M: Duration = Duration::from_secs(5 * 60);
/// The lifetime of a `"ttl": "1h"` cache entry.
pub(crate) const TTL_1H: Duration = Duration::from_secs(60 * 60);
/// The API refuses more cache breakpoints than this in one request.
pub(crate) const MAX_BREAKPOINTS: usize = 4;

/// Approximate tokens of `text`: ceil(chars / 4).
pub(crate) fn estimate(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

/// A `cache_control` marker: the prefix up to and including its block may be cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Breakpoint {
    /// Hash of the model and the prefix bytes.
    pub(crate) key: u64,
    /// Tokens of the prefix.
    pub(crate) tokens: u64,
    /// How long an entry lives without a hit (simulated time).
    pub(crate) ttl: Duration,
}

/// A request's prompt: its total input tokens and its cache breakpoints, shortest prefix first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct PromptLayout {
    /// Input tokens of the whole prompt (tools, system and messages).
    pub(crate) total: u64,
    /// The breakpoints in render order.
    pub(crate) breakpoints: Vec<Breakpoint>,
}

/// Lays out the prompt of a Messages request body (already checked to be an object).
pub(crate) fn layout(model: &str, body: &Value) -> PromptLayout {
    let mut builder = Builder::new(model);
    for tool in body["tools"].as_array().into_iter().flatten() {
        builder.segment(&compact(tool), tool.get("cache_control"));
    }
    match &body["system"] {
        Value::String(text) => builder.segment(text, None),
        Value::Array(blocks) => {
            for block in blocks {
                builder.segment(&block_text(block), block.get("cache_control"));
            }
        }
        _ => {}
    }
    for message in body["messages"].as_array().into_iter().flatten() {
        builder.hasher.write(message["role"].as_str().unwrap_or("").as_bytes());
        match &message["content"] {
            Value::String(text) => builder.segment(text, None),
            Value::Array(blocks) => {
                for block in blocks {
                    builder.segment(&block_text(block), block.get("cache_control"));
                }
            }
            other => builder.segment(&compact(other), None),
        }
    }
    if let Some(marker) = body.get("cache_control") {
        let already = builder.layout.breakpoints.last().is_some_and(|b| b.tokens == builder.layout.total);
        if !already {
            builder.mark(marker);
        }
    }
    builder.layout
}

struct Builder {
    hasher: DefaultHasher,
    layout: PromptLayout,
}

impl Builder {
    fn new(model: &str) -> Self {
        let mut hasher = DefaultHasher::new();
        model.hash(&mut hasher);
        Self { hasher, layout: PromptLayout::default() }
    }

    fn segment(&mut self, text: &str, cache_control: Option<&Value>) {
        text.hash(&mut self.hasher);
        self.layout.total += estimate(text);
        if let Some(marker) = cache_control.filter(|m| !m.is_null()) {
            self.mark(marker);
        }
    }

    fn mark(&mut self, marker: &Value) {
        let ttl = if marker["ttl"].as_str() == Some("1h") { TTL_1H } else { TTL_5M };
        self.layout.breakpoints.push(Breakpoint {
            key: self.hasher.clone().finish(),
            tokens: self.layout.total,
            ttl,
        });
    }
}

fn block_text(block: &Value) -> String {
    match block["text"].as_str() {
        Some(text) if block["type"] == "text" => text.to_owned(),
        _ => compact(block),
    }
}

fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tokens_are_a_quarter_of_the_characters_rounded_up() {
        assert_eq!(estimate(""), 0);
        assert_eq!(estimate("abcd"), 1);
        assert_eq!(estimate("abcde"), 2);
        assert_eq!(estimate("éééé"), 1);
    }

    #[test]
    fn breakpoints_key_the_prefix_and_count_its_tokens() {
        let body = |user: &str| {
            json!({
                "tools": [{"name": "t", "input_schema": {"type": "object"}}],
                "system": [{"type": "text", "text": "x".repeat(400), "cache_control": {"type": "ephemeral"}}],
                "messages": [{"role": "user", "content": user}],
            })
        };
        let a = layout("m", &body("hello there"));
        let b = layout("m", &body("something else entirely"));
        assert_eq!(a.breakpoints.len(), 1);
        assert_eq!(a.breakpoints[0], b.breakpoints[0]);
        assert!(a.breakpoints[0].tokens >= 100 && a.breakpoints[0].tokens < a.total);
        assert!(b.total > a.total);
        assert_ne!(layout("other", &body("hello there")).breakpoints[0].key, a.breakpoints[0].key);
    }

    #[test]
    fn one_hour_markers_and_top_level_markers_count() {
        let body = json!({
            "system": [{"type": "text", "text": "sys", "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
            "cache_control": {"type": "ephemeral"},
        });
        let layout = layout("m", &body);
        assert_eq!(layout.breakpoints.len(), 2);
        assert_eq!(layout.breakpoints[0].ttl, TTL_1H);
        assert_eq!(layout.breakpoints[1].tokens, layout.total);
    }
}
