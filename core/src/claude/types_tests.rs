//! Unit tests of the wire types: requests leave out what is unset, responses tolerate what the API may send.

use super::*;
use serde_json::json;

#[test]
fn request_leaves_out_empty_and_none_fields() {
    let req = MessageRequest::new("claude-haiku-4-5", 1024).user("hi");
    let v = serde_json::to_value(&req).unwrap();
    assert_eq!(
        v,
        json!({"model": "claude-haiku-4-5", "max_tokens": 1024, "messages": [{"role": "user", "content": "hi"}]})
    );
}

#[test]
fn request_serialises_system_tools_and_cache_markers() {
    let req = MessageRequest::new("m", 10)
        .system(SystemBlock::cached("rules"))
        .system(SystemBlock::text("more"))
        .user("brief")
        .tool(json!({"name": "t", "input_schema": {"type": "object"}}))
        .tool_choice(json!({"type": "tool", "name": "t"}));
    let v = serde_json::to_value(&req).unwrap();
    assert_eq!(
        v["system"],
        json!([
            {"type": "text", "text": "rules", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "more"}
        ])
    );
    assert_eq!(v["tools"][0]["name"], "t");
    assert_eq!(v["tool_choice"], json!({"type": "tool", "name": "t"}));
    assert!(v.get("temperature").is_none() && v.get("metadata").is_none());
    let back: MessageRequest = serde_json::from_value(v).unwrap();
    assert_eq!(back, req);
}

#[test]
fn request_reads_a_string_system_prompt() {
    let req: MessageRequest = serde_json::from_value(
        json!({"model": "m", "max_tokens": 5, "system": "be brief", "messages": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]}),
    )
    .unwrap();
    assert_eq!(req.system, vec![SystemBlock::text("be brief")]);
    assert!(matches!(req.messages[0].content, MessageContent::Blocks(ref b) if b.len() == 1));
}

#[test]
fn response_parses_the_reference_example() {
    let body = json!({"id":"msg_013Zva2CMHLNnXjNJJKqJ2EF","type":"message","role":"assistant",
        "content":[{"type":"text","text":"Hi! My name is Claude.","citations":null},
            {"type":"tool_use","id":"toolu_01D7","name":"get_stock_price","input":{"ticker":"^GSPC"}}],
        "model":"claude-sonnet-4-5-20250929","stop_reason":"tool_use","stop_sequence":null,
        "usage":{"input_tokens":12,"output_tokens":6,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}});
    let r: MessageResponse = serde_json::from_value(body).unwrap();
    assert_eq!(r.stop_reason, StopReason::ToolUse);
    assert_eq!(r.tool_input("get_stock_price"), Some(&json!({"ticker": "^GSPC"})));
    assert_eq!(r.tool_input("other"), None);
    assert_eq!(r.text(), "Hi! My name is Claude.");
    assert_eq!(r.usage.total_input_tokens(), 12);
    assert_eq!(r.request_id, None);
}

#[test]
fn response_tolerates_unknown_blocks_fields_reasons_and_null_cache_counts() {
    let body = json!({"id":"msg_1","model":"m","new_field":{"x":1},
        "content":[{"type":"thinking","thinking":"hmm","signature":"s"},{"type":"text","text":"ok"}],
        "stop_reason":"brand_new_reason",
        "usage":{"input_tokens":3,"output_tokens":4,"cache_creation_input_tokens":null,"service_tier":"standard"}});
    let r: MessageResponse = serde_json::from_value(body).unwrap();
    assert!(matches!(&r.content[0], ContentBlock::Unknown(v) if v["thinking"] == "hmm"));
    assert_eq!(r.stop_reason, StopReason::Unknown("brand_new_reason".into()));
    assert_eq!(r.usage.cache_creation_input_tokens, 0);
    assert_eq!(r.usage.cache_read_input_tokens, 0);
    let null_reason: MessageResponse = serde_json::from_value(
        json!({"id":"a","model":"m","content":[],"stop_reason":null,"usage":{"input_tokens":1,"output_tokens":1}}),
    )
    .unwrap();
    assert_eq!(null_reason.stop_reason, StopReason::Unknown(String::new()));
}

#[test]
fn null_missing_or_odd_token_counts_read_as_zero_and_keep_the_reply() {
    let full = json!({"input_tokens": 11, "output_tokens": 22, "cache_creation_input_tokens": 33,
                      "cache_read_input_tokens": 44});
    let fields = ["input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"];
    let get =
        |u: &Usage| [u.input_tokens, u.output_tokens, u.cache_creation_input_tokens, u.cache_read_input_tokens];
    for (i, field) in fields.iter().enumerate() {
        for spoiled in
            [Some(Value::Null), None, Some(json!("n/a")), Some(json!(-3)), Some(json!(1.5)), Some(json!([]))]
        {
            let mut usage = full.clone();
            match &spoiled {
                Some(v) => usage[*field] = v.clone(),
                None => {
                    usage.as_object_mut().unwrap().remove(*field);
                }
            }
            let body =
                json!({"id": "m", "model": "m", "content": [{"type": "text", "text": "kept"}], "usage": usage});
            let r: MessageResponse = serde_json::from_value(body).unwrap();
            let mut want = [11, 22, 33, 44];
            want[i] = 0;
            assert_eq!(get(&r.usage), want, "{field} = {spoiled:?}");
            assert_eq!(r.text(), "kept");
        }
    }
    // Near misses that are still counts.
    for (written, read) in [(json!(7.0), 7), (json!(" 12 "), 12), (json!(0), 0)] {
        let u: Usage = serde_json::from_value(json!({"input_tokens": written})).unwrap();
        assert_eq!(u.input_tokens, read);
    }
    // No usage at all: null, missing, or not an object.
    for usage in [Some(Value::Null), None, Some(json!("none")), Some(json!(5))] {
        let mut body = json!({"id": "m", "model": "m", "content": [], "stop_reason": "end_turn"});
        if let Some(u) = usage {
            body["usage"] = u;
        }
        let r: MessageResponse = serde_json::from_value(body).unwrap();
        assert_eq!(r.usage, Usage::default());
    }
}

#[test]
fn a_known_block_with_a_broken_shape_is_an_error() {
    let body = json!({"id":"a","model":"m","content":[{"type":"tool_use","name":"t"}],"stop_reason":"tool_use",
        "usage":{"input_tokens":1,"output_tokens":1}});
    assert!(serde_json::from_value::<MessageResponse>(body).is_err());
}

#[test]
fn stop_reasons_round_trip() {
    for s in [
        "end_turn",
        "max_tokens",
        "stop_sequence",
        "tool_use",
        "pause_turn",
        "refusal",
        "model_context_window_exceeded",
    ] {
        let r = StopReason::parse(s);
        assert!(!matches!(r, StopReason::Unknown(_)), "{s}");
        assert_eq!(serde_json::to_value(&r).unwrap(), json!(s));
    }
}

#[test]
fn content_blocks_round_trip() {
    let blocks = vec![
        ContentBlock::Text { text: "a".into() },
        ContentBlock::ToolUse { id: "toolu_1".into(), name: "t".into(), input: json!({"q": 1}) },
        ContentBlock::Unknown(json!({"type": "thinking", "thinking": "x"})),
    ];
    let v = serde_json::to_value(&blocks).unwrap();
    let back: Vec<ContentBlock> = serde_json::from_value(v).unwrap();
    assert_eq!(back, blocks);
}
