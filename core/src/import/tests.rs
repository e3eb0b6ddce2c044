use super::*;
use crate::exam::synthetic_exam;

fn later_format(exam: &Exam) -> String {
    let items: Vec<Value> = exam
        .questions
        .iter()
        .enumerate()
        .map(|(i, q)| {
            serde_json::json!({
                "id": format!("bank/practice/{}.md#q{}", i / 50, i + 1),
                "stem": q.question, "options": q.options, "answer": q.correct_answer,
                "explanation": q.explanation, "domain": q.domain.domain().map(|d| d.number()),
                "kn": q.kn_id, "difficulty": q.difficulty, "scored": q.is_scored,
                "source_folder": "bank/practice", "is_org_psych": false,
            })
        })
        .collect();
    serde_json::json!({"meta": {"examId": "p-7", "totalQuestions": items.len(), "domainCounts": {"1": 22}},
        "questions": items})
    .to_string()
}

#[test]
fn the_later_json_is_mapped_renumbered_and_kept() {
    let exam = synthetic_exam(&ExamSpec::practice(), 5);
    let c = read_for_import(&later_format(&exam), "x.json", None).unwrap();
    assert_eq!((c.exam_type, c.type_from), (ExamType::Practice, "item count"));
    assert!(c.is_valid(), "{:?}", c.problems);
    assert_eq!(c.exam.questions[3].id, 4, "path-like ids renumbered by position");
    assert!(c.notes.iter().any(|n| n.code == ProblemCode::IdSequence), "and said so");
    assert!(c.notes.iter().any(|n| n.code == ProblemCode::FieldRenamed));
    assert_eq!(c.exam.questions[0].extra["source_folder"], "bank/practice", "extra fields kept");
    assert_eq!(c.exam.extra["meta"]["examId"], "p-7");
    assert_eq!(c.exam.questions[0].question, exam.questions[0].question);
    assert_eq!(c.source_hash, content_hash(&exam), "same content as the served form");
}

#[test]
fn a_meta_count_that_disagrees_blocks_and_the_type_comes_from_the_count() {
    let exam = synthetic_exam(&ExamSpec::diagnostic(), 6);
    let mut json: Value = serde_json::from_str(&later_format(&exam)).unwrap();
    json["meta"]["totalQuestions"] = serde_json::json!(225);
    let c = read_for_import(&json.to_string(), "bank.json", None).unwrap();
    assert_eq!((c.exam_type, c.type_from), (ExamType::Diagnostic, "item count"));
    assert_eq!(c.problems.iter().map(|p| p.code).collect::<Vec<_>>(), [ProblemCode::QuestionCountMismatch]);
    let none = serde_json::json!({"questions": []}).to_string();
    assert_eq!(read_for_import(&none, "bank.json", None), Err(ImportError::UnknownType));
    assert!(matches!(read_for_import("no json here", "a.md", None), Err(ImportError::Unreadable(_))));
}
