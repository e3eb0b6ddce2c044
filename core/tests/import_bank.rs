//! Importing exam files into the bank: fixtures made from the defects in `eppp-blueprint.md` (keys matching no
//! option, "all of the above" options, 80% of the keys at one position) in the formats the old bank holds; invalid
//! files are refused with their problems, `--repair` regenerates only the failing items, and importing the same
//! file twice stores it once.
#![cfg(all(feature = "simulator", feature = "sqlite", feature = "claude"))]

use std::sync::Arc;

use pregen_core::claude::{ApiKey, ClaudeClient, ClaudeConfig};
use pregen_core::config::PreGenConfig;
use pregen_core::exam::{Exam, ExamSpec, ExamType, ProblemCode, synthetic_exam, validate_exam};
use pregen_core::generate::{Generator, GeneratorConfig};
use pregen_core::import::{ImportOutcome, read_for_import};
use pregen_core::service::PreGen;
use pregen_core::simulator::{DEFAULT_API_KEY, Simulator, SimulatorConfig, SimulatorHandle};
use pregen_core::store::UserId;
use pregen_core::store::sqlite::{SqliteOptions, SqliteStore};
use pregen_core::{ManualClock, policy::BankPolicy};
use serde_json::{Value, json};

async fn service() -> (PreGen, SimulatorHandle, tempfile::TempDir) {
    let sim = Simulator::start(SimulatorConfig::builder().seed(4).build().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("i.db"), SqliteOptions::default()).await.unwrap();
    let client =
        ClaudeClient::new(ClaudeConfig::new(ApiKey::new(DEFAULT_API_KEY)).with_base_url(sim.url())).unwrap();
    let generator = Arc::new(Generator::new(client, GeneratorConfig::default()).unwrap());
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    (PreGen::new(Arc::new(store), Some(generator), PreGenConfig::default(), clock).unwrap(), sim, dir)
}

/// A diagnostic whose items 5, 17 and 40 have a key that matches no option, as Markdown with front matter.
fn keys_matching_no_option() -> String {
    let mut exam = synthetic_exam(&ExamSpec::diagnostic(), 21);
    for id in [5, 17, 40] {
        exam.questions[id - 1].correct_answer = "B".into();
    }
    let body = serde_json::to_string_pretty(&exam).unwrap();
    format!(
        "---\nexam_id: diag-3\nexam_type: diagnostic\ngenerated_at: 2025-09-01T10:00:00Z\nquestion_count: 71\nversion: 2\n---\n\n```json\n{body}\n```\n"
    )
}

/// A diagnostic in the later `{meta, questions}` form (stem/answer/kn, numeric domains, path ids) whose items 2 and
/// 9 offer "All of the above".
fn all_of_the_above() -> String {
    let mut exam = synthetic_exam(&ExamSpec::diagnostic(), 22);
    for id in [2, 9] {
        let q = &mut exam.questions[id - 1];
        let slot = q.options.iter().position(|o| *o != q.correct_answer).unwrap();
        q.options[slot] = "All of the above".into();
    }
    let items: Vec<Value> = exam
        .questions
        .iter()
        .map(|q| {
            json!({"id": format!("exams/diagnostic/item-{}.md", q.id), "stem": q.question, "options": q.options,
                "answer": q.correct_answer, "explanation": q.explanation,
                "domain": q.domain.domain().unwrap().number(), "kn": q.kn_id, "difficulty": q.difficulty,
                "scored": q.is_scored, "question_type": "single"})
        })
        .collect();
    json!({"meta": {"examId": "d-9", "totalQuestions": 71}, "questions": items}).to_string()
}

/// A practice exam with 180 of 225 keys (80%) at position B, as plain exam JSON.
fn keys_at_b() -> (String, Exam) {
    let mut exam = synthetic_exam(&ExamSpec::practice(), 23);
    for q in exam.questions.iter_mut().take(180) {
        let at = q.options.iter().position(|o| *o == q.correct_answer).unwrap();
        q.options.swap(at, 1);
    }
    (serde_json::to_string(&exam).unwrap(), exam)
}

fn replaced_ids(imported: &pregen_core::service::Imported) -> Vec<(u32, Vec<String>)> {
    imported.repair.as_ref().unwrap().replaced.iter().map(|r| (r.id, r.reasons.clone())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defective_files_are_refused_with_their_problems_and_repaired_on_request() {
    let (s, _sim, _dir) = service().await;
    let bank = s.store().bank().unwrap();
    let (at_b, at_b_exam) = keys_at_b();
    let files = [("keys.md", keys_matching_no_option()), ("aota.json", all_of_the_above()), ("b.json", at_b)];
    let mut candidates = Vec::new();
    for (name, text) in &files {
        let c = read_for_import(text, name, None).unwrap();
        assert!(!c.is_valid(), "{name} is invalid");
        let outcome = s.import_exam(&c, false).await.unwrap();
        assert_eq!(outcome.outcome, ImportOutcome::Invalid, "{name} is not imported without --repair");
        candidates.push(c);
    }
    let codes = |i: usize| candidates[i].problems.iter().map(|p| p.code).collect::<Vec<_>>();
    assert_eq!(codes(0), [ProblemCode::KeyNotInOptions; 3]);
    assert_eq!(codes(1), [ProblemCode::OptionBanned; 2]);
    assert!(candidates[1].notes.iter().any(|n| n.code == ProblemCode::IdSequence), "path ids renumbered, said so");
    assert!(
        !codes(2).is_empty() && codes(2).iter().all(|c| *c == ProblemCode::AnswerPositionImbalance),
        "{:?}",
        codes(2)
    );
    let u = UserId::parse("reader").unwrap();
    let now = chrono::Utc::now();
    assert_eq!(
        bank.unseen(&u, ExamType::Diagnostic, now, &BankPolicy::default()).await.unwrap(),
        0,
        "nothing stored"
    );

    let keys = s.import_exam(&candidates[0], true).await.unwrap();
    assert!(matches!(keys.outcome, ImportOutcome::Imported { .. }));
    let key = vec!["key_not_in_options".to_owned()];
    assert_eq!(replaced_ids(&keys), [(5, key.clone()), (17, key.clone()), (40, key)], "only the failing items");
    assert_eq!(keys.repair.as_ref().unwrap().kept, 68);

    let aota = s.import_exam(&candidates[1], true).await.unwrap();
    let banned = vec!["option_banned".to_owned()];
    assert_eq!(replaced_ids(&aota), [(2, banned.clone()), (9, banned)]);

    let b = s.import_exam(&candidates[2], true).await.unwrap();
    let repair = b.repair.as_ref().unwrap();
    assert_eq!(
        (repair.kept, repair.replaced.len(), repair.rounds),
        (225, 0, 0),
        "reshuffled in code, nothing asked"
    );

    // The stored exams are valid, the reshuffled one keeps every item, and the extra fields are kept.
    let bank_policy = BankPolicy::default();
    let mut stored = Vec::new();
    while let Some(c) = bank.assign_exam(&u, ExamType::Diagnostic, now, &bank_policy).await.unwrap() {
        let exam = c.exam.parse().unwrap();
        assert!(validate_exam(&exam, &ExamSpec::diagnostic()).is_valid());
        stored.push(exam);
    }
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().any(
        |e| e.extra.get("meta").is_some() && e.questions.iter().any(|q| q.extra.contains_key("question_type"))
    ));
    let practice = bank.assign_exam(&u, ExamType::Practice, now, &bank_policy).await.unwrap().unwrap();
    let practice = practice.exam.parse().unwrap();
    assert!(validate_exam(&practice, &ExamSpec::practice()).is_valid(), "keys spread after the reshuffle");
    let stems = |e: &Exam| {
        let mut s: Vec<String> = e.questions.iter().map(|q| q.question.clone()).collect();
        s.sort();
        s
    };
    assert_eq!(stems(&practice), stems(&at_b_exam));

    // Importing a file again stores nothing and spends nothing.
    for c in &candidates {
        assert!(matches!(s.import_exam(c, true).await.unwrap().outcome, ImportOutcome::Duplicate { .. }));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_file_imported_twice_is_stored_once() {
    let (s, _sim, _dir) = service().await;
    let exam = synthetic_exam(&ExamSpec::diagnostic(), 30);
    let text = serde_json::to_string(&exam).unwrap();
    let c = read_for_import(&text, "d.json", None).unwrap();
    assert!(c.is_valid());
    let first = s.import_exam(&c, false).await.unwrap();
    let ImportOutcome::Imported { id } = first.outcome else { panic!("imported") };
    let mut reshuffled = exam.clone();
    pregen_core::exam::shuffle_options(&mut reshuffled, 5);
    let again = read_for_import(&serde_json::to_string(&reshuffled).unwrap(), "d2.json", None).unwrap();
    assert_eq!(s.import_exam(&again, false).await.unwrap().outcome, ImportOutcome::Duplicate { id });
    let figures = s
        .store()
        .bank()
        .unwrap()
        .bank_analytics(chrono::Utc::now(), &Default::default(), &BankPolicy::default())
        .await
        .unwrap();
    assert_eq!(figures.exams_total, 1);
}
