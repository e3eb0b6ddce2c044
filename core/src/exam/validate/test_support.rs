//! Deterministic exam builders for tests: correct exams from a spec's slots, and reproductions of the defective
//! files measured in the seed system, which are committed under `tests/fixtures/`.

use serde_json::{Map, Value};

use crate::exam::{Exam, ExamSpec, Kn, Question, shuffle_options};

/// A correct item for `kn`, numbered `id`, with its key at position A.
pub(crate) fn question(id: u32, kn: Kn, is_scored: bool) -> Question {
    Question {
        id,
        question: format!("Item {id} ({kn}): which statement about {} is best supported?", kn.topic()),
        options: (1..=4).map(|j| format!("Statement {j} for item {id}")).collect(),
        correct_answer: format!("Statement 1 for item {id}"),
        explanation: "Statement 1 is supported by the evidence; the others are not.".into(),
        domain: kn.domain().into(),
        kn_id: kn.to_string(),
        difficulty: ["easy", "medium", "hard"][id as usize % 3].into(),
        is_scored,
        kind: "standard".into(),
        extra: Map::new(),
    }
}

/// One correct item per slot of `spec`, keys all at position A (not yet shuffled).
pub(crate) fn exam_from_slots(spec: &ExamSpec) -> Exam {
    let slots = spec.slots().into_iter().enumerate();
    Exam::new(slots.map(|(i, s)| question(i as u32 + 1, s.kn, s.is_scored)).collect())
}

/// A correct exam for `spec`: [`exam_from_slots`] then [`shuffle_options`] with `seed`.
pub(crate) fn valid_exam(spec: &ExamSpec, seed: u64) -> Exam {
    let mut exam = exam_from_slots(spec);
    shuffle_options(&mut exam, seed);
    exam
}

/// Moves the key of `q` (found by text) to `position`, keeping the distractors' order.
pub(crate) fn put_key_at(q: &mut Question, position: usize) {
    let key = q.options.iter().position(|o| *o == q.correct_answer).expect("key among options");
    let text = q.options.remove(key);
    q.options.insert(position, text);
}

/// The seed's cut-off generations: the first `kept` items of a correct exam for `spec`.
pub(crate) fn truncated(spec: &ExamSpec, kept: usize) -> Exam {
    let mut exam = valid_exam(spec, 1);
    exam.questions.truncate(kept);
    exam
}

/// The seed's 225-item practice exam: 180 of 225 keys at position B, 3 keys matching no option, and
/// 199 scored / 26 unscored; domain and KN counts are right.
pub(crate) fn keys_at_b() -> Exam {
    let mut exam = exam_from_slots(&ExamSpec::practice());
    for (i, q) in exam.questions.iter_mut().enumerate() {
        let position = if i % 5 != 4 { 1 } else { [0, 2, 3][(i / 5) % 3] };
        put_key_at(q, position);
    }
    let broken = [(44, "B".to_owned()), (119, String::new()), (219, String::new())];
    for (i, bad) in broken {
        let q = &mut exam.questions[i];
        q.correct_answer = if bad.is_empty() { format!("{}.", q.correct_answer.to_uppercase()) } else { bad };
    }
    for q in exam.questions.iter_mut().filter(|q| !q.is_scored).take(24) {
        q.is_scored = true;
    }
    exam
}

/// The seed's practice file holding 75 of its 225 items.
pub(crate) fn partial_75() -> Exam {
    truncated(&ExamSpec::practice(), 75)
}

/// The committed fixture files and the text each must hold.
pub(crate) fn fixtures() -> Vec<(&'static str, String)> {
    let mut diagnostic = truncated(&ExamSpec::diagnostic(), 8);
    let first = &mut diagnostic.questions[0].extra;
    first.insert("source_file".into(), Value::from("diagnostic_bank.md"));
    first.insert("source_folder".into(), Value::from("eppp"));
    first.insert("question_type".into(), Value::from("recall"));
    first.insert("is_org_psych".into(), Value::from(false));
    let diagnostic_md = format!(
        "---\nexam_id: seed-diagnostic-0001\nexam_type: diagnostic\ngenerated_at: 2025-01-14T06:00:12Z\n\
         question_count: 71\nversion: 1\nmodel: claude-3-5-sonnet\n---\n\n# EPPP Diagnostic Exam\n\n\
         Generated 71 questions covering all knowledge statements.\n\n```json\n{}```\n\nEnd of exam.\n",
        json_lines(&diagnostic)
    );
    let practice_md = format!(
        "---\nexam_id: seed-practice-0002\nexam_type: practice\ngenerated_at: 2025-01-14T06:02:40Z\n\
         question_count: 225\nversion: 1\n---\n\n{}",
        json_lines(&truncated(&ExamSpec::practice(), 8)).replace(": Biological Bases of Behavior\"", "\"")
    );
    vec![
        ("diagnostic_8_of_71.md", diagnostic_md),
        ("practice_8_of_225.md", practice_md),
        ("practice_keys_at_b.json", json_lines(&keys_at_b())),
        ("practice_75_of_225.json", json_lines(&partial_75())),
    ]
}

/// `{"questions": [...]}` with one compact item per line: readable, and small enough to commit.
fn json_lines(exam: &Exam) -> String {
    let items: Vec<String> = exam.questions.iter().map(|q| serde_json::to_string(q).expect("item")).collect();
    format!("{{\"questions\": [\n  {}\n]}}\n", items.join(",\n  "))
}
