//! Reading the forced tool's input as models really write it. The item list sometimes arrives as JSON text
//! instead of JSON: the list as a string, the whole input as a string, the list encoded twice, each item as a
//! string, or an item's options as a string. A cut-off reply ends in an incomplete item. Every complete item is
//! kept, whatever the wrapping; what cannot be read is left out (and so counted missing by the draft).

use serde_json::Value;

use crate::prompt::DraftItem;

/// How many layers of JSON text are unwrapped at most (the list encoded twice needs two).
const MAX_LAYERS: usize = 3;

/// The drafts in a tool input, in order: `{"questions": [...]}`, or the list on its own, with any of them sent as
/// JSON text. `None` (the model did not call the tool) reads as no drafts.
pub(crate) fn read_drafts(input: Option<&Value>) -> Vec<DraftItem> {
    let Some(input) = input else { return Vec::new() };
    let list = match unwrap_text(input.clone()) {
        Value::Array(items) => items,
        Value::Object(mut fields) => match fields.remove("questions").map(unwrap_text) {
            Some(Value::Array(items)) => items,
            _ => return Vec::new(),
        },
        _ => return Vec::new(),
    };
    list.into_iter().filter_map(|item| read_draft(unwrap_text(item))).collect()
}

/// One draft, its options unwrapped if they came as JSON text; `None` when a field is missing or mistyped.
fn read_draft(mut item: Value) -> Option<DraftItem> {
    if let Some(options) = item.get_mut("options") {
        *options = unwrap_text(options.take());
    }
    serde_json::from_value(item).ok()
}

/// A string holding the JSON text of an array, an object or another such string becomes that JSON, up to
/// [`MAX_LAYERS`] times; any other value, and text that does not parse, is returned as it was.
fn unwrap_text(mut value: Value) -> Value {
    for _ in 0..MAX_LAYERS {
        let Value::String(text) = &value else { break };
        let text = text.trim();
        if !text.starts_with(['[', '{', '"']) {
            break;
        }
        match serde_json::from_str::<Value>(text) {
            Ok(inner) => value = inner,
            Err(_) => break,
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn item(n: u32) -> Value {
        json!({"knId": format!("KN{n}"), "question": format!("Stem {n}?"), "options": ["a", "b", "c", "d"],
               "correct_answer": "b", "explanation": "Because.", "difficulty": "easy"})
    }

    fn text(v: &Value) -> Value {
        Value::String(v.to_string())
    }

    fn kns(drafts: &[DraftItem]) -> Vec<String> {
        drafts.iter().map(|d| d.kn_id.clone()).collect()
    }

    #[test]
    fn every_wrapping_of_the_list_reads_the_same_items() {
        let list = json!([item(1), item(2), item(3)]);
        let plain = json!({"questions": list});
        let each_item = json!({"questions": list.as_array().unwrap().iter().map(text).collect::<Vec<_>>()});
        let mut options_as_text = plain.clone();
        for i in options_as_text["questions"].as_array_mut().unwrap() {
            i["options"] = text(&i["options"]);
        }
        let cases = [
            ("plain", plain.clone()),
            ("the list as a string", json!({"questions": text(&list)})),
            ("the whole input as a string", text(&plain)),
            ("the list encoded twice", json!({"questions": text(&text(&list))})),
            ("the whole input encoded twice", text(&text(&plain))),
            ("the list on its own", list.clone()),
            ("the list on its own as a string", text(&list)),
            ("each item as a string", each_item),
            ("options as a string", options_as_text),
            ("padded text", json!({"questions": format!("  {list}\n")})),
        ];
        for (name, input) in cases {
            assert_eq!(kns(&read_drafts(Some(&input))), ["KN1", "KN2", "KN3"], "{name}");
        }
    }

    #[test]
    fn unreadable_inputs_give_no_items_and_broken_items_are_left_out() {
        let cases = [
            json!(null),
            json!("not json at all"),
            json!({"questions": "[{\"knId\": \"KN1\", \"question\": \"cut o"}),
            json!({"questions": 7}),
            json!({"items": [item(1)]}),
            text(&text(&text(&text(&json!({"questions": [item(1)]}))))),
        ];
        for input in &cases {
            assert!(read_drafts(Some(input)).is_empty(), "{input}");
        }
        assert!(read_drafts(None).is_empty());
        let mixed = json!({"questions": [item(1), {"knId": "KN2", "question": "cut o"}, "[not an item", item(3)]});
        assert_eq!(kns(&read_drafts(Some(&mixed))), ["KN1", "KN3"]);
        // A stem that merely looks like JSON stays text.
        let mut odd = item(4);
        odd["question"] = json!("[1, 2] Which pair?");
        assert_eq!(read_drafts(Some(&json!({"questions": [odd]})))[0].question, "[1, 2] Which pair?");
    }
}
