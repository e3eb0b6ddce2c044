//! What is said to the model: one system prompt identical across requests (so it caches), one forced tool whose
//! input schema is the item list, and a per-chunk brief naming the knowledge statements to write for. No user id
//! or other user-controlled text ever enters a prompt. Pure, so the simulator reads briefs the same way.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::exam::{Domain, Kn};

/// The forced tool's name.
pub const TOOL_NAME: &str = "record_exam_items";

const BRIEF_OPEN: &str = "<brief>";
const BRIEF_CLOSE: &str = "</brief>";
/// The brief's extra instruction when [`ChunkBrief::balance_lengths`] is set.
const BALANCE_LENGTHS: &str = "Keep the four options of each item close in length: the correct option must not be \
     the longest one, and a distractor may well be longer than it.\n";

/// The system prompt: the item-writing rules and the blueprint. Built once; the same bytes on every request.
pub fn system_prompt() -> String {
    let mut text = String::from(
        "You write items for practice exams that prepare psychology licensing candidates for the EPPP Part 1.\n\
         Every item has one stem, exactly four answer options and exactly one best answer.\n\
         Rules for each item:\n\
         - The stem is a complete question or scenario, self-contained, and tests the named knowledge statement.\n\
         - The four options are plausible, parallel in form, distinct from one another, and non-empty.\n\
         - Write the four options at a similar length and level of detail: the correct option must not stand out \
         as the longest, the most qualified or the most complete.\n\
         - Each option is plain text that stands alone. Code shuffles the options, so never begin an option with a \
         letter or number label ('A.', '(b)', 'C)', '1.'), and never refer to other options, by position or by \
         letter: no 'all of the above', 'none of the choices above', 'both A and B', 'options 1 and 3'.\n\
         - correct_answer repeats the exact text of the correct option, character for character.\n\
         - The explanation says why the key is best and why each distractor is wrong.\n\
         - difficulty is one of easy, medium, hard; mix them across the set.\n\
         - Do not reuse a stem; vary scenarios, populations and settings.\n\
         - Write only what the brief asks for: one item per entry, with the entry's knowledge statement id.\n\
         Record the items with the record_exam_items tool. Do not write anything else.\n\n\
         The EPPP content domains and knowledge statements:\n",
    );
    for domain in Domain::ALL {
        text.push_str(&format!("{} (weight {}%)\n", domain.label(), domain.weight_percent()));
        for kn in domain.knowledge_statements() {
            text.push_str(&format!("  {kn}: {}\n", kn.topic()));
        }
    }
    text
}

/// The forced tool: its input schema is the item list in the exam JSON shape, less what code assigns (ids,
/// domain labels, scoring flags).
pub fn tool_definition() -> Value {
    json!({
        "name": TOOL_NAME,
        "description": "Record the exam items written for the brief, one per brief entry.",
        "input_schema": {
            "type": "object",
            "properties": {
                "questions": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "knId": {"type": "string", "description": "The brief entry's knowledge statement, e.g. KN33"},
                            "question": {"type": "string"},
                            "options": {
                                "type": "array",
                                "items": {"type": "string", "description": "Option text only, without a letter or number label"},
                                "minItems": 4,
                                "maxItems": 4,
                                "description": "Four standalone options of similar length; none refers to another"
                            },
                            "correct_answer": {"type": "string", "description": "Exact text of the correct option"},
                            "explanation": {"type": "string"},
                            "difficulty": {"type": "string", "enum": ["easy", "medium", "hard"]}
                        },
                        "required": ["knId", "question", "options", "correct_answer", "explanation", "difficulty"]
                    }
                }
            },
            "required": ["questions"]
        }
    })
}

/// The forced `tool_choice` that makes the model answer only through [`tool_definition`].
pub fn tool_choice() -> Value {
    json!({"type": "tool", "name": TOOL_NAME, "disable_parallel_tool_use": true})
}

/// One chunk's request: which knowledge statements to write items for, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkBrief {
    /// One entry per item wanted.
    pub items: Vec<Kn>,
    /// Varies the wording between chunks and rounds (a number, never user data).
    pub variation: u64,
    /// Asks for the four options of each item to be of similar length, the key not the longest: set by the
    /// generator when it asks again for items it sent back for the answer-length cue. Left out of the JSON when
    /// false, so briefs without it read and write as before.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub balance_lengths: bool,
}

impl ChunkBrief {
    /// The user message carrying the brief: a sentence for the model, and the brief as JSON between
    /// `<brief>` tags that code on both sides can read back.
    pub fn user_message(&self) -> String {
        let mut lines = String::new();
        for (i, kn) in self.items.iter().enumerate() {
            lines.push_str(&format!("{}. {kn} ({}): {}\n", i + 1, kn.domain().label(), kn.topic()));
        }
        let brief = serde_json::to_string(self).expect("a brief always serialises");
        let lengths = if self.balance_lengths { BALANCE_LENGTHS } else { "" };
        format!(
            "Write {} new items, one for each entry below, in this order.\n{lengths}{lines}{BRIEF_OPEN}{brief}\
             {BRIEF_CLOSE}",
            self.items.len()
        )
    }

    /// Reads the brief back out of a user message written by [`ChunkBrief::user_message`].
    pub fn parse(message: &str) -> Option<Self> {
        let start = message.find(BRIEF_OPEN)? + BRIEF_OPEN.len();
        let end = start + message[start..].find(BRIEF_CLOSE)?;
        serde_json::from_str(&message[start..end]).ok()
    }
}

/// One item as the model writes it in the tool input, before code assigns id, domain and scoring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftItem {
    /// The knowledge statement the item was written for, as the model gave it.
    #[serde(rename = "knId")]
    pub kn_id: String,
    /// The stem.
    pub question: String,
    /// The options.
    pub options: Vec<String>,
    /// The text of the right option.
    pub correct_answer: String,
    /// Why.
    pub explanation: String,
    /// easy, medium or hard.
    pub difficulty: String,
}

/// The forced tool's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolInput {
    /// The items written.
    pub questions: Vec<DraftItem>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brief_round_trips_through_the_message() {
        let brief = ChunkBrief {
            items: vec![Kn::new(33).unwrap(), Kn::new(1).unwrap()],
            variation: 9,
            balance_lengths: false,
        };
        let message = brief.user_message();
        assert!(message.starts_with("Write 2 new items"));
        assert!(message.contains("KN33 (Domain 5: Assessment and Diagnosis): differential diagnosis"));
        assert_eq!(ChunkBrief::parse(&message), Some(brief));
        assert_eq!(ChunkBrief::parse("no brief here"), None);
    }

    #[test]
    fn system_prompt_is_stable_and_names_every_kn() {
        let prompt = system_prompt();
        assert_eq!(prompt, system_prompt());
        assert!(Kn::all().all(|kn| prompt.contains(&format!("  {kn}: "))));
    }

    #[test]
    fn system_prompt_asks_for_similar_lengths_and_unlabelled_standalone_options() {
        let prompt = system_prompt();
        for rule in [
            "at a similar length and level of detail",
            "must not stand out as the longest",
            "never begin an option with a letter or number label",
            "never refer to other options",
        ] {
            assert!(prompt.contains(rule), "the prompt says {rule:?}");
        }
        let options =
            &tool_definition()["input_schema"]["properties"]["questions"]["items"]["properties"]["options"];
        assert!(options["description"].as_str().unwrap().contains("similar length"));
        assert!(options["items"]["description"].as_str().unwrap().contains("without a letter or number label"));
    }

    #[test]
    fn tool_schema_requires_the_item_fields() {
        let tool = tool_definition();
        assert_eq!(tool["name"], TOOL_NAME);
        let required = &tool["input_schema"]["properties"]["questions"]["items"]["required"];
        assert_eq!(required.as_array().unwrap().len(), 6);
        assert_eq!(tool_choice()["name"], TOOL_NAME);
    }
}
