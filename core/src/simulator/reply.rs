//! Writing the assistant's answer: a `tool_use` block with the items when the item tool is forced (cut short at
//! `max_tokens` like a real model), otherwise a short text; plus the usage block with its cache split.

use rand::Rng;
use serde_json::{Value, json};

use super::cache::CachePlan;
use super::faults::FaultKind;
use super::items::write_items;
use super::mutate::spoil;
use super::params::MessageParams;
use super::tokens::estimate;
use crate::prompt::{DraftItem, TOOL_NAME};

/// The text answered when the item tool is not forced.
const TEXT_REPLY: &str = "[simulated] This is the pregen Claude API simulator. It writes synthetic exam items when \
     a request forces the record_exam_items tool and the user message carries a <brief>.";

/// Share of the full answer a `max_tokens` fault lets through before cutting it off.
const MAX_TOKENS_FAULT_SHARE: f64 = 0.6;

/// Token counts of one answer, as the `usage` block reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Usage {
    /// Uncached input tokens.
    pub(crate) input: u64,
    /// Output tokens.
    pub(crate) output: u64,
    /// Tokens written to the cache (both lifetimes).
    pub(crate) cache_creation: u64,
    /// Of those, written with the 1-hour lifetime.
    pub(crate) cache_creation_1h: u64,
    /// Tokens read from the cache.
    pub(crate) cache_read: u64,
}

impl Usage {
    /// The `usage` object, with `service_tier` (`standard` or `batch`).
    pub(crate) fn to_json(self, tier: &str) -> Value {
        json!({
            "input_tokens": self.input,
            "cache_creation_input_tokens": self.cache_creation,
            "cache_read_input_tokens": self.cache_read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": self.cache_creation - self.cache_creation_1h,
                "ephemeral_1h_input_tokens": self.cache_creation_1h,
            },
            "output_tokens": self.output,
            "service_tier": tier,
        })
    }
}

/// One answer: the `Message` body, its usage, and how many items its tool input holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reply {
    /// The `Message` object.
    pub(crate) message: Value,
    /// Its usage.
    pub(crate) usage: Usage,
    /// Items in the tool input, when there is one.
    pub(crate) items: Option<usize>,
}

/// Answers `params` with the simulator's `seed`, given how the cache served it, applying an item-level `fault`.
pub(crate) fn reply(
    params: &MessageParams,
    seed: u64,
    cache: &CachePlan,
    fault: Option<FaultKind>,
    tier: &str,
) -> Reply {
    let cut = fault == Some(FaultKind::MaxTokens);
    let (content, output, stop_reason, items) = if params.forces_item_tool {
        let mut drafts = params.brief.as_ref().map(|b| write_items(seed, b)).unwrap_or_default();
        if let (Some(kind), Some(brief)) = (fault, &params.brief) {
            spoil(kind, &mut drafts, brief, seed);
        }
        let (mut input, output, stop_reason, count) = fit_items(&drafts, params.max_tokens, cut);
        if fault == Some(FaultKind::StringInput) {
            input = stringify(input, variant(params));
        }
        let block = json!({"type": "tool_use", "id": new_id("toolu"), "name": TOOL_NAME, "input": input});
        (block, output, stop_reason, Some(count))
    } else {
        let (text, output, stop_reason) = fit_text(TEXT_REPLY, params.max_tokens, cut);
        (json!({"type": "text", "text": text, "citations": null}), output, stop_reason, None)
    };
    let usage = Usage {
        input: params.layout.total.saturating_sub(cache.read + cache.created()),
        output,
        cache_creation: cache.created(),
        cache_creation_1h: cache.created_1h,
        cache_read: cache.read,
    };
    let mut message = json!({
        "id": new_id("msg"),
        "type": "message",
        "role": "assistant",
        "model": params.model,
        "content": [content],
        "stop_reason": stop_reason,
        "stop_sequence": null,
        "usage": usage.to_json(tier),
    });
    if fault == Some(FaultKind::NullUsage) {
        spoil_usage(&mut message, variant(params));
    }
    Reply { message, usage, items }
}

/// Picks one of a fault's variants, from the brief's variation (0 without a brief).
fn variant(params: &MessageParams) -> u64 {
    params.brief.as_ref().map_or(0, |b| b.variation)
}

/// The tool input with its item list sent as JSON text, as models sometimes write it: the list as a string, the
/// whole input as a string, the list encoded twice, each item as a string, or each item's options as a string.
fn stringify(input: Value, variant: u64) -> Value {
    let text = |v: &Value| Value::String(v.to_string());
    let mut input = input;
    match variant % 5 {
        0 => input["questions"] = text(&input["questions"]),
        1 => return text(&input),
        2 => input["questions"] = text(&text(&input["questions"])),
        3 => {
            if let Some(items) = input["questions"].as_array_mut() {
                items.iter_mut().for_each(|item| *item = text(item));
            }
        }
        _ => {
            if let Some(items) = input["questions"].as_array_mut() {
                for item in items.iter_mut().filter(|i| i.get("options").is_some()) {
                    item["options"] = text(&item["options"]);
                }
            }
        }
    }
    input
}

/// The message's usage with token counts null or missing, or no usable usage at all.
fn spoil_usage(message: &mut Value, variant: u64) {
    let Some(object) = message.as_object_mut() else { return };
    let usage = object.get_mut("usage").and_then(Value::as_object_mut);
    match (variant % 7, usage) {
        (0, Some(usage)) => {
            usage.insert("input_tokens".into(), Value::Null);
        }
        (1, Some(usage)) => {
            usage.insert("output_tokens".into(), Value::Null);
        }
        (2, Some(usage)) => {
            usage.insert("cache_creation_input_tokens".into(), Value::Null);
            usage.remove("cache_read_input_tokens");
        }
        (3, Some(usage)) => {
            usage.remove("input_tokens");
            usage.remove("output_tokens");
        }
        (4, Some(usage)) => {
            for count in
                ["input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"]
            {
                usage.insert(count.into(), Value::Null);
            }
        }
        (5, _) => {
            object.insert("usage".into(), Value::Null);
        }
        _ => {
            object.remove("usage");
        }
    }
}

/// The tool input for `items` within `max_tokens`: whole if it fits (and `cut` is off), otherwise the items that
/// fit plus a truncated one, reported as `max_tokens` output. Returns (input, output tokens, stop reason, items).
fn fit_items(items: &[DraftItem], max_tokens: u64, cut: bool) -> (Value, u64, &'static str, usize) {
    let full = json!({ "questions": items });
    let full_tokens = estimate(&full.to_string());
    let budget = if cut {
        max_tokens.min(((full_tokens as f64 * MAX_TOKENS_FAULT_SHARE) as u64).max(1))
    } else {
        max_tokens
    };
    if full_tokens <= budget && !cut {
        return (full, full_tokens.max(1), "tool_use", items.len());
    }
    let mut used = estimate("{\"questions\":[");
    let mut kept: Vec<Value> = Vec::new();
    let mut rest = items.iter();
    for item in rest.by_ref() {
        let value = json!(item);
        let cost = estimate(&value.to_string()) + 1;
        if used + cost > budget {
            let stem: String = item.question.chars().take(item.question.chars().count() / 2).collect();
            kept.push(json!({"knId": item.kn_id, "question": stem}));
            break;
        }
        used += cost;
        kept.push(value);
    }
    let count = kept.len();
    (json!({ "questions": kept }), max_tokens, "max_tokens", count)
}

/// The text within `max_tokens` (or cut in half when `cut`): (text, output tokens, stop reason).
fn fit_text(text: &str, max_tokens: u64, cut: bool) -> (String, u64, &'static str) {
    let tokens = estimate(text);
    if tokens <= max_tokens && !cut {
        return (text.to_owned(), tokens.max(1), "end_turn");
    }
    let keep = if cut { text.chars().count() / 2 } else { (max_tokens * 4) as usize };
    (text.chars().take(keep).collect(), max_tokens, "max_tokens")
}

/// A fresh id such as `msg_01...`, `toolu_01...`, `req_01...` or `msgbatch_01...` (24 base-62 characters).
pub(crate) fn new_id(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rng();
    let tail: String = (0..22).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
    format!("{prefix}_01{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exam::Kn;
    use crate::prompt::ChunkBrief;
    use crate::simulator::tokens::PromptLayout;

    fn params(n: u8, max_tokens: u64) -> MessageParams {
        MessageParams {
            model: "m".into(),
            max_tokens,
            forces_item_tool: true,
            brief: Some(ChunkBrief {
                items: (1..=n).map(|i| Kn::new(i).unwrap()).collect(),
                variation: 0,
                balance_lengths: false,
            }),
            layout: PromptLayout { total: 1000, breakpoints: Vec::new() },
        }
    }

    #[test]
    fn a_forced_tool_answer_holds_one_item_per_entry() {
        let reply = reply(&params(5, 8000), 1, &CachePlan::default(), None, "standard");
        assert_eq!(reply.items, Some(5));
        assert_eq!(reply.message["stop_reason"], "tool_use");
        assert_eq!(reply.message["content"][0]["input"]["questions"].as_array().unwrap().len(), 5);
        assert!((1250..=1750).contains(&reply.usage.output), "{}", reply.usage.output);
        assert_eq!(reply.usage.input, 1000);
    }

    #[test]
    fn answers_over_max_tokens_are_cut_with_a_truncated_last_item() {
        for (max_tokens, fault) in [(700, None), (8000, Some(FaultKind::MaxTokens))] {
            let reply = reply(&params(5, max_tokens), 1, &CachePlan::default(), fault, "standard");
            assert_eq!(reply.message["stop_reason"], "max_tokens");
            assert_eq!(reply.usage.output, max_tokens);
            let questions = reply.message["content"][0]["input"]["questions"].as_array().unwrap().clone();
            assert!(questions.len() < 5);
            assert!(questions.last().unwrap().get("options").is_none(), "the last item is cut off");
        }
    }

    fn with_variation(mut p: MessageParams, variation: u64) -> MessageParams {
        if let Some(brief) = p.brief.as_mut() {
            brief.variation = variation;
        }
        p
    }

    #[test]
    fn string_input_sends_the_items_as_json_text_in_every_form() {
        let items = |v: &Value| v["questions"].as_array().cloned().unwrap();
        let plain = reply(&params(3, 8000), 1, &CachePlan::default(), None, "standard");
        let want = items(&plain.message["content"][0]["input"]);
        let text = |v: &Value| serde_json::from_str::<Value>(v.as_str().unwrap()).unwrap();
        for variation in 0..5 {
            let p = with_variation(params(3, 8000), variation);
            let faulted = reply(&p, 1, &CachePlan::default(), Some(FaultKind::StringInput), "standard");
            let input = faulted.message["content"][0]["input"].clone();
            let got = match variation {
                0 => text(&input["questions"]),
                1 => text(&input)["questions"].clone(),
                2 => text(&text(&input["questions"])),
                3 => Value::Array(items(&input).iter().map(text).collect()),
                _ => Value::Array(
                    items(&input)
                        .into_iter()
                        .map(|mut i| {
                            i["options"] = text(&i["options"]);
                            i
                        })
                        .collect(),
                ),
            };
            let got = got.as_array().unwrap().clone();
            assert_eq!(got.len(), want.len(), "variation {variation}");
            // The writer is deterministic from (seed, variation, position): compare what does not depend on it.
            assert!(got.iter().zip(&want).all(|(g, w)| g["knId"] == w["knId"]), "variation {variation}");
            assert_ne!(input, plain.message["content"][0]["input"], "variation {variation}");
        }
    }

    #[test]
    fn null_usage_leaves_counts_null_missing_or_the_whole_usage_out() {
        let mut seen = Vec::new();
        for variation in 0..7 {
            let p = with_variation(params(2, 8000), variation);
            let faulted = reply(&p, 1, &CachePlan::default(), Some(FaultKind::NullUsage), "standard");
            let usage = faulted.message.get("usage").cloned();
            let unusable = match &usage {
                None | Some(Value::Null) => true,
                Some(u) => {
                    ["input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"]
                        .iter()
                        .any(|k| u.get(*k).is_none_or(Value::is_null))
                }
            };
            assert!(unusable, "variation {variation}: {usage:?}");
            seen.push(usage.map(|u| u.to_string()));
            assert_eq!(faulted.items, Some(2), "the items are still there");
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 7, "seven different forms");
    }

    #[test]
    fn without_a_forced_tool_the_answer_is_text() {
        let mut p = params(1, 5);
        p.forces_item_tool = false;
        let reply = reply(&p, 1, &CachePlan::default(), None, "standard");
        assert_eq!(reply.message["content"][0]["type"], "text");
        assert_eq!(reply.message["stop_reason"], "max_tokens");
        assert!(new_id("req").starts_with("req_01") && new_id("req").len() == 28);
    }
}
