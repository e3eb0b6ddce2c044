//! Reading and checking a Messages request body the way the API does: required fields, types, the model's output
//! limit, tool choice, cache breakpoints. A refusal is the message of a 400 `invalid_request_error`.

use serde_json::Value;

use super::config::SimulatorConfig;
use super::tokens::{self, MAX_BREAKPOINTS, PromptLayout};
use crate::prompt::{ChunkBrief, TOOL_NAME};

/// Where a body is checked: a message request, a token count (no `max_tokens`), or a batch entry (no streaming,
/// no zero `max_tokens`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use {
    /// `POST /v1/messages`.
    Message,
    /// `POST /v1/messages/count_tokens`.
    CountTokens,
    /// One `params` of a batch.
    Batch,
}

/// What the simulator needs from a valid request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MessageParams {
    /// The model, echoed in the answer.
    pub(crate) model: String,
    /// The output budget.
    pub(crate) max_tokens: u64,
    /// Whether `tool_choice` forces the item tool.
    pub(crate) forces_item_tool: bool,
    /// The brief in the last user message, if any.
    pub(crate) brief: Option<ChunkBrief>,
    /// Input tokens and cache breakpoints.
    pub(crate) layout: PromptLayout,
}

/// Checks `body` for `usage`, with the output limits of `config`.
pub(crate) fn parse(body: &Value, config: &SimulatorConfig, usage: Use) -> Result<MessageParams, String> {
    let Some(object) = body.as_object() else {
        return Err("request body must be a JSON object".into());
    };
    let model = match object.get("model") {
        Some(Value::String(model)) if !model.trim().is_empty() => model.clone(),
        Some(Value::String(_)) => return Err("model: must not be empty".into()),
        Some(_) => return Err("model: Input should be a valid string".into()),
        None => return Err("model: Field required".into()),
    };
    let max_tokens = match (object.get("max_tokens"), usage) {
        (None, Use::CountTokens) => 0,
        (None, _) => return Err("max_tokens: Field required".into()),
        (Some(value), _) => check_max_tokens(value, &model, config.output_limit(&model))?,
    };
    if usage != Use::CountTokens && object.get("stream").and_then(Value::as_bool) == Some(true) {
        return Err("stream: the simulator answers without streaming; set stream to false".into());
    }
    let messages = check_messages(object.get("messages"))?;
    check_system(object.get("system"))?;
    let tools = check_tools(object.get("tools"))?;
    let forces_item_tool = check_tool_choice(object.get("tool_choice"), &tools)?;
    if let Some(t) = object.get("temperature").filter(|t| !t.is_null())
        && !t.as_f64().is_some_and(|t| (0.0..=1.0).contains(&t))
    {
        return Err("temperature: Input should be a number between 0 and 1".into());
    }
    let layout = tokens::layout(&model, body);
    if layout.breakpoints.len() > MAX_BREAKPOINTS {
        return Err(format!(
            "A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {}.",
            layout.breakpoints.len()
        ));
    }
    let brief = last_user_text(messages).as_deref().and_then(ChunkBrief::parse);
    Ok(MessageParams { model, max_tokens, forces_item_tool, brief, layout })
}

fn check_max_tokens(value: &Value, model: &str, limit: u64) -> Result<u64, String> {
    let Some(n) = value.as_i64() else {
        return Err("max_tokens: Input should be a valid integer".into());
    };
    if n < 1 {
        return Err("max_tokens: Input should be greater than or equal to 1".into());
    }
    let n = n as u64;
    if n > limit {
        return Err(format!(
            "max_tokens: {n} > {limit}, which is the maximum allowed number of output tokens for {model}"
        ));
    }
    Ok(n)
}

fn check_messages(messages: Option<&Value>) -> Result<&[Value], String> {
    let messages = match messages {
        None => return Err("messages: Field required".into()),
        Some(Value::Array(messages)) => messages,
        Some(_) => return Err("messages: Input should be a valid list".into()),
    };
    if messages.is_empty() {
        return Err("messages: at least one message is required".into());
    }
    for (i, message) in messages.iter().enumerate() {
        match message["role"].as_str() {
            Some("user" | "assistant") => {}
            Some(_) => return Err(format!("messages.{i}.role: Input should be 'user' or 'assistant'")),
            None => return Err(format!("messages.{i}.role: Field required")),
        }
        match &message["content"] {
            Value::String(_) => {}
            Value::Array(blocks) => check_blocks(blocks, &format!("messages.{i}.content"))?,
            Value::Null => return Err(format!("messages.{i}.content: Field required")),
            _ => return Err(format!("messages.{i}.content: Input should be a valid string or list")),
        }
    }
    Ok(messages)
}

fn check_blocks(blocks: &[Value], at: &str) -> Result<(), String> {
    for (j, block) in blocks.iter().enumerate() {
        let Some(kind) = block["type"].as_str() else {
            return Err(format!("{at}.{j}.type: Field required"));
        };
        if kind == "text" && !block["text"].is_string() {
            return Err(format!("{at}.{j}.text: Field required"));
        }
    }
    Ok(())
}

fn check_system(system: Option<&Value>) -> Result<(), String> {
    match system {
        None | Some(Value::Null | Value::String(_)) => Ok(()),
        Some(Value::Array(blocks)) => {
            if let Some(j) = blocks.iter().position(|b| b["type"] != "text") {
                return Err(format!("system.{j}.type: Input should be 'text'"));
            }
            check_blocks(blocks, "system")
        }
        Some(_) => Err("system: Input should be a valid string or list of text blocks".into()),
    }
}

fn check_tools(tools: Option<&Value>) -> Result<Vec<String>, String> {
    let tools = match tools {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(tools)) => tools,
        Some(_) => return Err("tools: Input should be a valid list".into()),
    };
    let mut names = Vec::with_capacity(tools.len());
    for (i, tool) in tools.iter().enumerate() {
        let Some(name) = tool["name"].as_str() else {
            return Err(format!("tools.{i}.name: Field required"));
        };
        if !tool["input_schema"].is_object() {
            return Err(format!("tools.{i}.input_schema: Field required"));
        }
        if names.iter().any(|n| n == name) {
            return Err(format!("tools: Tool names must be unique. Found duplicate: {name}"));
        }
        names.push(name.to_owned());
    }
    Ok(names)
}

/// Whether the choice forces the item tool; refuses unknown types and tools not provided.
fn check_tool_choice(choice: Option<&Value>, tools: &[String]) -> Result<bool, String> {
    let Some(choice) = choice.filter(|c| !c.is_null()) else {
        return Ok(false);
    };
    let has_item_tool = tools.iter().any(|t| t == TOOL_NAME);
    match choice["type"].as_str() {
        Some("auto" | "none") => Ok(false),
        Some("any") if tools.is_empty() => Err("tool_choice: 'any' requires tools".into()),
        Some("any") => Ok(has_item_tool && tools.len() == 1),
        Some("tool") => match choice["name"].as_str() {
            None => Err("tool_choice.name: Field required".into()),
            Some(name) if !tools.iter().any(|t| t == name) => {
                Err(format!("tool_choice: Tool '{name}' not found in provided tools"))
            }
            Some(name) => Ok(name == TOOL_NAME),
        },
        _ => Err("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'".into()),
    }
}

/// The text of the last user turn (a string, or its text blocks joined).
fn last_user_text(messages: &[Value]) -> Option<String> {
    let message = messages.iter().rev().find(|m| m["role"] == "user")?;
    match &message["content"] {
        Value::String(text) => Some(text.clone()),
        Value::Array(blocks) => {
            Some(blocks.iter().filter_map(|b| b["text"].as_str()).collect::<Vec<_>>().join("\n"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::exam::Kn;
    use crate::prompt::{tool_choice, tool_definition};

    fn body() -> Value {
        let brief = ChunkBrief { items: vec![Kn::new(3).unwrap()], variation: 1, balance_lengths: false };
        json!({
            "model": "claude-haiku-4-5",
            "max_tokens": 4000,
            "system": [{"type": "text", "text": "rules", "cache_control": {"type": "ephemeral"}}],
            "tools": [tool_definition()],
            "tool_choice": tool_choice(),
            "messages": [{"role": "user", "content": brief.user_message()}],
        })
    }

    #[test]
    fn a_generator_request_is_read_with_its_brief() {
        let params = parse(&body(), &SimulatorConfig::default(), Use::Message).unwrap();
        assert!(params.forces_item_tool);
        assert_eq!(params.brief.unwrap().items, vec![Kn::new(3).unwrap()]);
        assert_eq!(params.layout.breakpoints.len(), 1);
    }

    #[test]
    fn invalid_bodies_are_refused_with_the_field_named() {
        let config = SimulatorConfig::default();
        let cases: [(&str, Value); 9] = [
            ("model", Value::Null),
            ("max_tokens", Value::Null),
            ("max_tokens", json!(0)),
            ("max_tokens", json!(64_001)),
            ("messages", json!([])),
            ("messages", json!([{"role": "system", "content": "x"}])),
            ("tool_choice", json!({"type": "tool", "name": "other"})),
            ("stream", json!(true)),
            ("temperature", json!(3)),
        ];
        for (field, value) in cases {
            let mut bad = body();
            if value.is_null() {
                bad.as_object_mut().unwrap().remove(field);
            } else {
                bad[field] = value;
            }
            let message = parse(&bad, &config, Use::Message).unwrap_err();
            assert!(message.contains(field), "{field}: {message}");
        }
        let mut counted = body();
        counted.as_object_mut().unwrap().remove("max_tokens");
        assert!(parse(&counted, &config, Use::CountTokens).is_ok());
    }
}
