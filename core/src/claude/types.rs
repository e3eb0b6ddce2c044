//! The Messages API bodies as they travel on the wire: a typed request, and a tolerant response that keeps
//! unknown content blocks and stop reasons instead of failing on them.

use serde::de::{self, Deserializer};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A prompt-caching marker, `{"type":"ephemeral"}` (5-minute TTL) or `{"type":"ephemeral","ttl":"1h"}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "type", rename = "ephemeral")]
pub struct CacheControl {
    /// `None` for the default 5 minutes, `Some("1h")` for the one-hour cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
}

impl CacheControl {
    /// The default 5-minute ephemeral marker.
    pub fn ephemeral() -> Self {
        Self::default()
    }
}

/// One system prompt text block, `{"type":"text","text":...,"cache_control":...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "text")]
pub struct SystemBlock {
    /// The prompt text.
    pub text: String,
    /// Marks the prompt prefix up to and including this block for caching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
}

impl SystemBlock {
    /// A plain text block, not marked for caching.
    pub fn text(text: impl Into<String>) -> Self {
        Self { text: text.into(), cache_control: None }
    }

    /// A text block marked for the default 5-minute prompt cache.
    pub fn cached(text: impl Into<String>) -> Self {
        Self { text: text.into(), cache_control: Some(CacheControl::ephemeral()) }
    }
}

/// Who speaks a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The caller.
    User,
    /// The model (a prefill when it is the last turn).
    Assistant,
}

/// A turn's content: a string (shorthand for one text block) or a list of content blocks as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MessageContent {
    /// Plain text.
    Text(String),
    /// Content blocks (`text`, `tool_use`, `tool_result`, ...) exactly as the API takes them.
    Blocks(Vec<Value>),
}

/// One conversation turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputMessage {
    /// `user` or `assistant`.
    pub role: Role,
    /// What the turn says.
    pub content: MessageContent,
}

impl InputMessage {
    /// A user turn with plain text.
    pub fn user(text: impl Into<String>) -> Self {
        Self { role: Role::User, content: MessageContent::Text(text.into()) }
    }
}

/// Request metadata; `user_id` is an opaque id for abuse detection and must not hold personal data.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Metadata {
    /// An opaque, non-identifying id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// The body of `POST /v1/messages` (non-streaming). `None` and empty fields are left out of the JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageRequest {
    /// Model id or alias, e.g. `claude-haiku-4-5`.
    pub model: String,
    /// The most output tokens the model may write.
    pub max_tokens: u32,
    /// System prompt blocks; a plain string is accepted when reading.
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "system_blocks")]
    pub system: Vec<SystemBlock>,
    /// The conversation so far.
    pub messages: Vec<InputMessage>,
    /// Tool definitions (`{name, description, input_schema, ...}`) as JSON.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Value>,
    /// `{"type":"auto"|"any"|"tool"|"none", ...}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    /// Opaque request metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// Sampling temperature in [0, 1]; newer models accept only the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Custom strings that stop generation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop_sequences: Vec<String>,
}

impl MessageRequest {
    /// A request for `model` with no prompt yet; add turns with [`MessageRequest::user`].
    pub fn new(model: impl Into<String>, max_tokens: u32) -> Self {
        Self {
            model: model.into(),
            max_tokens,
            system: Vec::new(),
            messages: Vec::new(),
            tools: Vec::new(),
            tool_choice: None,
            metadata: None,
            temperature: None,
            stop_sequences: Vec::new(),
        }
    }

    /// Appends a system block.
    pub fn system(mut self, block: SystemBlock) -> Self {
        self.system.push(block);
        self
    }

    /// Appends a user turn with plain text.
    pub fn user(mut self, text: impl Into<String>) -> Self {
        self.messages.push(InputMessage::user(text));
        self
    }

    /// Appends a tool definition.
    pub fn tool(mut self, tool: Value) -> Self {
        self.tools.push(tool);
        self
    }

    /// Sets the tool choice (e.g. a forced tool).
    pub fn tool_choice(mut self, choice: Value) -> Self {
        self.tool_choice = Some(choice);
        self
    }
}

fn system_blocks<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<SystemBlock>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum System {
        Text(String),
        Blocks(Vec<SystemBlock>),
    }
    Ok(match System::deserialize(deserializer)? {
        System::Text(text) => vec![SystemBlock::text(text)],
        System::Blocks(blocks) => blocks,
    })
}

/// One block of the model's reply. Types this client does not know are kept whole as [`ContentBlock::Unknown`].
#[derive(Debug, Clone, PartialEq)]
pub enum ContentBlock {
    /// `{"type":"text","text":...}`.
    Text {
        /// The text.
        text: String,
    },
    /// `{"type":"tool_use","id":...,"name":...,"input":{...}}`.
    ToolUse {
        /// The call id, `toolu_...`.
        id: String,
        /// The tool called.
        name: String,
        /// The arguments the model wrote (not validated against the schema).
        input: Value,
    },
    /// Any other block type (`thinking`, `server_tool_use`, ...), as received.
    Unknown(Value),
}

impl<'de> Deserialize<'de> for ContentBlock {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Text {
            text: String,
        }
        #[derive(Deserialize)]
        struct ToolUse {
            id: String,
            name: String,
            input: Value,
        }
        let value = Value::deserialize(deserializer)?;
        match value.get("type").and_then(Value::as_str) {
            Some("text") => {
                let t = Text::deserialize(value).map_err(de::Error::custom)?;
                Ok(ContentBlock::Text { text: t.text })
            }
            Some("tool_use") => {
                let t = ToolUse::deserialize(value).map_err(de::Error::custom)?;
                Ok(ContentBlock::ToolUse { id: t.id, name: t.name, input: t.input })
            }
            _ => Ok(ContentBlock::Unknown(value)),
        }
    }
}

impl Serialize for ContentBlock {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ContentBlock::Text { text } => serde_json::json!({"type": "text", "text": text}).serialize(serializer),
            ContentBlock::ToolUse { id, name, input } => {
                serde_json::json!({"type": "tool_use", "id": id, "name": name, "input": input})
                    .serialize(serializer)
            }
            ContentBlock::Unknown(value) => value.serialize(serializer),
        }
    }
}

/// Why the model stopped. Values this client does not know are kept as [`StopReason::Unknown`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// The model finished its turn.
    EndTurn,
    /// The reply hit `max_tokens` and is cut off.
    MaxTokens,
    /// A stop sequence matched.
    StopSequence,
    /// The model called a tool.
    ToolUse,
    /// A long server-tool turn was paused.
    PauseTurn,
    /// The model refused.
    Refusal,
    /// The context window filled up.
    ModelContextWindowExceeded,
    /// Any other value (an empty string when the field was null or missing).
    Unknown(String),
}

impl StopReason {
    /// The wire string.
    pub fn as_str(&self) -> &str {
        match self {
            StopReason::EndTurn => "end_turn",
            StopReason::MaxTokens => "max_tokens",
            StopReason::StopSequence => "stop_sequence",
            StopReason::ToolUse => "tool_use",
            StopReason::PauseTurn => "pause_turn",
            StopReason::Refusal => "refusal",
            StopReason::ModelContextWindowExceeded => "model_context_window_exceeded",
            StopReason::Unknown(s) => s,
        }
    }

    /// Reads a wire string; never fails.
    pub fn parse(s: &str) -> Self {
        match s {
            "end_turn" => StopReason::EndTurn,
            "max_tokens" => StopReason::MaxTokens,
            "stop_sequence" => StopReason::StopSequence,
            "tool_use" => StopReason::ToolUse,
            "pause_turn" => StopReason::PauseTurn,
            "refusal" => StopReason::Refusal,
            "model_context_window_exceeded" => StopReason::ModelContextWindowExceeded,
            other => StopReason::Unknown(other.to_owned()),
        }
    }
}

impl Default for StopReason {
    fn default() -> Self {
        StopReason::Unknown(String::new())
    }
}

impl Serialize for StopReason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for StopReason {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Option::<String>::deserialize(deserializer)?.map(|s| StopReason::parse(&s)).unwrap_or_default())
    }
}

/// Token counts of one request. Every count reads as 0 when the API sends null or leaves it out (older replies have
/// no cache counts; some replies and proxies send nulls or no usage at all): the counts are accounting, and a
/// reply's items are never thrown away over them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Uncached input tokens.
    #[serde(default, deserialize_with = "count")]
    pub input_tokens: u64,
    /// Output tokens.
    #[serde(default, deserialize_with = "count")]
    pub output_tokens: u64,
    /// Input tokens written to the prompt cache.
    #[serde(default, deserialize_with = "count")]
    pub cache_creation_input_tokens: u64,
    /// Input tokens read from the prompt cache.
    #[serde(default, deserialize_with = "count")]
    pub cache_read_input_tokens: u64,
}

impl Usage {
    /// All input tokens of the request: uncached, cache writes and cache reads.
    pub fn total_input_tokens(&self) -> u64 {
        self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens
    }
}

/// A token count: a non-negative integer (also written as a whole float or a string of digits); null reads as 0,
/// and so does anything else, with a warning, since no count is worth a reply's content.
fn count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let value = Value::deserialize(deserializer)?;
    let read = match &value {
        Value::Null => Some(0),
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite() && *f >= 0.0 && f.fract() == 0.0).map(|f| f as u64)),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    Ok(read.unwrap_or_else(|| {
        tracing::warn!("a Claude usage count is not a token count ({value}); counted as 0");
        0
    }))
}

/// The usage block, or all zeros when it is null, missing or not an object (see [`Usage`]).
fn usage_or_zero<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Usage, D::Error> {
    let value = Value::deserialize(deserializer)?;
    match value {
        Value::Object(_) => Usage::deserialize(value).map_err(de::Error::custom),
        Value::Null => Ok(Usage::default()),
        other => {
            tracing::warn!("a Claude reply's usage is not an object ({other}); counted as 0");
            Ok(Usage::default())
        }
    }
}

/// The reply of `POST /v1/messages`. Unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageResponse {
    /// The message id, `msg_...`.
    pub id: String,
    /// The model that answered (usually the dated snapshot id).
    pub model: String,
    /// The reply's blocks.
    pub content: Vec<ContentBlock>,
    /// Why generation stopped.
    #[serde(default)]
    pub stop_reason: StopReason,
    /// The stop sequence that matched, if any.
    #[serde(default)]
    pub stop_sequence: Option<String>,
    /// Token counts; all 0 when the reply has none.
    #[serde(default, deserialize_with = "usage_or_zero")]
    pub usage: Usage,
    /// The `request-id` response header (not part of the body; `None` inside batch results).
    #[serde(skip)]
    pub request_id: Option<String>,
}

impl MessageResponse {
    /// The input of the first `tool_use` block calling `name`, if the model called it.
    pub fn tool_input(&self, name: &str) -> Option<&Value> {
        self.content.iter().find_map(|block| match block {
            ContentBlock::ToolUse { name: n, input, .. } if n == name => Some(input),
            _ => None,
        })
    }

    /// The text blocks joined together (empty when the reply has none).
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter_map(|block| match block {
                ContentBlock::Text { text } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "types_tests.rs"]
mod tests;
