//! The lenient reader: served-shape files read exactly as the strict model does; every other shape reads as meant,
//! with one problem per thing wrong, on its item.

use serde_json::{Value, json};

use super::*;
use crate::exam::ExamSpec;
use crate::exam::validate::test_support::valid_exam;

use ProblemCode as C;

fn item() -> Value {
    json!({
        "id": 1, "question": "Which test?", "options": ["w", "x", "y", "z"], "correct_answer": "x",
        "explanation": "because", "domain": "Domain 5: Assessment and Diagnosis", "knId": "KN33",
        "difficulty": "medium", "isScored": true, "type": "standard"
    })
}

fn read_one(item: Value) -> (Question, Vec<(ProblemCode, Option<u32>)>) {
    let (mut exam, problems) = read_exam_value(json!({ "questions": [item] })).expect("an exam");
    (exam.questions.remove(0), problems.iter().map(|p| (p.code, p.question_id)).collect())
}

fn with(field: &str, value: Value) -> Value {
    let mut v = item();
    v[field] = value;
    v
}

fn without(field: &str) -> Value {
    let mut v = item();
    v.as_object_mut().unwrap().shift_remove(field);
    v
}

#[test]
fn served_shape_reads_as_the_strict_model_does() {
    for spec in [ExamSpec::diagnostic(), ExamSpec::practice()] {
        let mut exam = valid_exam(&spec, 5);
        exam.questions[3].extra.insert("source_file".into(), json!("old.md"));
        exam.questions[3].extra.insert("is_org_psych".into(), json!(false));
        exam.extra.insert("version".into(), json!(2));
        let text = serde_json::to_string(&exam).unwrap();
        let strict: Exam = serde_json::from_str(&text).unwrap();
        let (lenient, problems) = read_exam_value(serde_json::from_str(&text).unwrap()).unwrap();
        assert_eq!(problems, []);
        assert_eq!(lenient, strict);
        assert_eq!(serde_json::to_string(&lenient).unwrap(), text, "written back byte for byte");
    }
    let (q, problems) = read_one(without("isScored"));
    assert!(q.is_scored && problems.is_empty(), "isScored defaults to true, as the front-end reads it");
    let (q, problems) = read_one(without("type"));
    assert!(q.kind == "standard" && problems.is_empty());
}

#[test]
fn missing_fields_read_empty_for_their_rules_to_report() {
    for field in ["question", "options", "correct_answer", "explanation", "domain", "knId", "difficulty"] {
        let (q, problems) = read_one(without(field));
        assert_eq!(problems, [], "{field}: the field's own rule reports it");
        let empty = match field {
            "question" => q.question.is_empty(),
            "options" => q.options.is_empty(),
            "correct_answer" => q.correct_answer.is_empty(),
            "explanation" => q.explanation.is_empty(),
            "domain" => q.domain == DomainField::Unrecognised(String::new()),
            "knId" => q.kn_id.is_empty(),
            _ => q.difficulty.is_empty(),
        };
        assert!(empty, "{field}");
        let (null, _) = read_one(with(field, Value::Null));
        assert_eq!(null, q, "{field}: null reads as missing");
    }
}

#[test]
fn wrong_types_read_as_meant_and_are_reported() {
    type Check = fn(&Question) -> bool;
    let cases: Vec<(&str, Value, ProblemCode, Check)> = vec![
        ("id", json!("12"), C::FieldType, |q| q.id == 12),
        ("id", json!(" 7 "), C::FieldType, |q| q.id == 7),
        ("domain", json!(3), C::FieldType, |q| q.domain == DomainField::Known(Domain::new(3).unwrap())),
        ("domain", json!(12), C::FieldType, |q| q.domain == DomainField::Unrecognised("12".into())),
        ("domain", json!(["Domain 5"]), C::FieldType, |q| q.domain == DomainField::Unrecognised(String::new())),
        ("knId", json!(33), C::FieldType, |q| q.kn_id == "KN33"),
        ("knId", json!({"id": 33}), C::FieldType, |q| q.kn_id.is_empty()),
        ("isScored", json!("false"), C::FieldType, |q| !q.is_scored),
        ("isScored", json!("TRUE"), C::FieldType, |q| q.is_scored),
        ("isScored", json!(0), C::FieldType, |q| !q.is_scored),
        ("isScored", json!("maybe"), C::FieldType, |q| q.is_scored),
        ("difficulty", json!(2), C::FieldType, |q| q.difficulty == "2"),
        ("explanation", json!(["a", "b"]), C::FieldType, |q| q.explanation.is_empty()),
        ("question", json!(true), C::FieldType, |q| q.question == "true"),
        ("options", json!(["w", 2, null, "z"]), C::FieldType, |q| q.options == ["w", "2", "", "z"]),
        ("options", json!("w; x; y; z"), C::FieldType, |q| q.options.is_empty()),
        ("type", json!(1), C::FieldType, |q| q.kind == "standard"),
        ("id", json!("practice/q12"), C::IdSequence, |q| q.id == 1),
        ("id", json!(-3), C::IdSequence, |q| q.id == 1),
        ("id", json!(2.5), C::IdSequence, |q| q.id == 1),
        ("id", Value::Null, C::IdSequence, |q| q.id == 1),
    ];
    for (field, value, code, check) in cases {
        let (q, problems) = read_one(with(field, value.clone()));
        assert_eq!(problems, [(code, Some(q.id))], "{field} = {value}");
        assert!(check(&q), "{field} = {value}: read as {q:?}");
    }
}

#[test]
fn messages_say_what_was_read() {
    let (_, problems) =
        read_exam_value(json!({"questions": [with("id", json!("practice/q12")), with("domain", json!(3))]}))
            .unwrap();
    let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            "[id_sequence] item 1: id \"practice/q12\" is not an item number; numbered 1 by its position",
            "[field_type] item 1: domain is the number 3, not text such as \"Domain 3: Social and Cultural Bases of \
             Behavior\"; read as Domain 3: Social and Cultural Bases of Behavior",
        ]
    );
}

#[test]
fn the_later_format_maps_onto_the_served_shape() {
    let later = json!({
        "meta": {"examType": "practice", "generator": "v4"},
        "questions": [{
            "id": "practice/set-2/q1", "stem": "Which test?", "options": ["w", "x", "y", "z"], "answer": "x",
            "explanation": "because", "domain": 5, "kn": "KN33", "difficulty": "medium", "scored": false,
            "source_file": "bank/p2.md"
        }]
    });
    let (exam, problems) = read_exam_value(later).unwrap();
    let q = &exam.questions[0];
    assert_eq!(
        (q.id, q.question.as_str(), q.correct_answer.as_str(), q.kn_id.as_str()),
        (1, "Which test?", "x", "KN33")
    );
    assert_eq!((q.domain.domain().map(Domain::number), q.is_scored), (Some(5), false));
    assert_eq!(
        q.extra,
        serde_json::from_value::<Map<String, Value>>(json!({"source_file": "bank/p2.md"})).unwrap()
    );
    assert_eq!(exam.extra["meta"]["generator"], "v4", "top-level fields are kept");
    let codes: Vec<ProblemCode> = problems.iter().map(|p| p.code).collect();
    assert_eq!(
        codes,
        [C::IdSequence, C::FieldRenamed, C::FieldRenamed, C::FieldType, C::FieldRenamed, C::FieldRenamed]
    );
    assert!(problems.iter().all(|p| p.question_id == Some(1)));
    assert_eq!(problems[1].message, "uses \"stem\" for \"question\"; read as \"question\"");
    let written = serde_json::to_value(&exam).unwrap();
    assert_eq!(written["questions"][0]["question"], "Which test?", "written back in the served shape");
    assert_eq!(written["questions"][0]["isScored"], false);
    let (again, none) = read_exam_value(written).unwrap();
    assert_eq!((again, none), (exam, vec![]), "the served shape reads back without problems");
}

#[test]
fn a_current_name_wins_over_an_older_one() {
    let mut v = item();
    v["stem"] = json!("Older stem");
    let (q, problems) = read_one(v);
    assert_eq!(q.question, "Which test?");
    assert_eq!(q.extra["stem"], "Older stem", "kept as an unknown field");
    assert_eq!(problems, []);
}

#[test]
fn an_item_that_is_not_an_object_is_left_out_and_reported() {
    let (exam, problems) = read_exam_value(json!({"questions": [item(), "oops", with("id", json!(3))]})).unwrap();
    assert_eq!(exam.questions.iter().map(|q| q.id).collect::<Vec<_>>(), [1, 3]);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].to_string(), "[field_type] item 2: item 2 is text, not an object; it is left out");
}
