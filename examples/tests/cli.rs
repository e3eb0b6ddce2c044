//! The `pregen` command as operators and CI use it: the demo's printed result, exit codes, and two cron
//! processes sweeping one database at once.

use std::process::{Command, Output};

use pregen_core::simulator::{DEFAULT_API_KEY, LatencyModel, Simulator, SimulatorConfig};
use serde_json::Value;

fn pregen(db: &std::path::Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pregen"));
    cmd.arg("--db").arg(db).args(args).env_remove("ANTHROPIC_API_KEY").env_remove("ANTHROPIC_BASE_URL");
    cmd
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is one JSON document ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn the_demo_generates_claims_and_validates_against_the_simulator() {
    let dir = tempfile::tempdir().unwrap();
    let out = pregen(&dir.path().join("demo.db"), &["demo", "--users", "2"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed: {stderr}");
    assert!(
        stderr.contains("ANTHROPIC_API_KEY is not set: using the local Claude simulator"),
        "says so on stderr"
    );
    let body = json(&out);
    assert_eq!(body["success"], true);
    assert_eq!(body["users"], 2);
    assert_eq!(body["jobs"]["succeeded"], 4);
    assert_eq!(body["claimed"]["questionCount"], 225);
    assert_eq!(body["claimed"]["valid"], true);
    let positions = &body["claimed"]["keyPositions"];
    for letter in ["A", "B", "C", "D"] {
        let n = positions[letter].as_u64().unwrap();
        assert!((34..=78).contains(&n), "key position {letter} holds {n} of 225 (15-35% allowed)");
    }
    assert_eq!(body["analytics"]["totalGenerated"], 4);
    assert_eq!(body["analytics"]["totalUsed"], 1);
}

/// Whether `text` holds a UUID (8-4-4-4-12 hex digits).
fn has_uuid(text: &str) -> bool {
    let groups = [8, 4, 4, 4, 12];
    text.split(|c: char| !(c.is_ascii_hexdigit() || c == '-')).any(|word| {
        let parts: Vec<&str> = word.split('-').collect();
        parts.len() == 5 && parts.iter().zip(groups).all(|(p, n)| p.len() == n)
    })
}

#[test]
fn the_demos_log_is_short_and_readable() {
    let dir = tempfile::tempdir().unwrap();
    let out = pregen(&dir.path().join("demo.db"), &["demo", "--users", "1"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    for line in stderr.lines() {
        for debug_form in ["Some(", "None)", " { ", "Succeeded(", "Failed(", "Report {"] {
            assert!(!line.contains(debug_form), "a Debug form in a log line: {line}");
        }
        let info_or_above = !line.contains(" DEBUG ") && !line.contains(" TRACE ");
        assert!(
            !(info_or_above && has_uuid(line)) || line.contains("[Get Pre-Gen] served"),
            "a per-job line above debug level: {line}"
        );
    }
    assert!(stderr.contains("exams ready,"), "a short summary: {stderr}");
    assert!(has_uuid("job 3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b done") && !has_uuid("demo-user-1 practice"));
}

#[test]
fn exit_codes_say_what_went_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let out = pregen(&db, &["get", "--user", "u1", "--type", "final"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["error"], "Invalid examType");
    let out = pregen(&db, &["get", "--user", "u1", "--type", "practice"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json(&out)["preGenerated"], false);
    let out = pregen(&db, &["queue"]).output().unwrap();
    assert_eq!(json(&out)["queueLength"], 1, "the miss queued the type it asked for");
    let out = pregen(&db, &["generate", "--user", "u1", "--type", "practice"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "no API key: the route's 500");
    assert_eq!(json(&out)["error"], "API key not configured");
    let missing = dir.path().join("absent.json");
    let out = pregen(&db, &["validate", missing.to_str().unwrap(), "--type", "practice"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["valid"], false);
    let out = pregen(&db, &["frobnicate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = pregen(&db, &["queue", "clear"]).output().unwrap();
    assert_eq!((out.status.code(), json(&out)["cancelled"].as_u64()), (Some(0), Some(1)));
}

#[test]
fn the_seed_defect_fixtures_fail_validation_with_their_codes() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/fixtures");
    let dir = tempfile::tempdir().unwrap();
    let file = fixtures.join("practice_keys_at_b.json");
    let out = pregen(&dir.path().join("v.db"), &["validate", file.to_str().unwrap(), "--type", "practice"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let counts = &json(&out)["files"][0]["problemCounts"];
    assert!(counts["answer_position_imbalance"].as_u64() >= Some(1));
    assert!(counts["key_not_in_options"].as_u64() >= Some(3));
    assert!(counts["scored_count"].as_u64() >= Some(1));
}

#[test]
fn the_field_report_fixtures_get_their_verdicts_from_validate() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/fixtures/field-reports");
    // Each file and the codes it must show (the simulator-made ones also carry the answer-length cue).
    let verdicts: [(&str, &[&str]); 11] = [
        ("option-both-a-and-b-are-part-of-the-theory.json", &["option_banned"]),
        ("option-none-of-the-choices-above.json", &["option_banned", "answer_length_cue"]),
        ("option-all-of-the-preceding.json", &["option_banned", "answer_length_cue"]),
        ("options-differ-by-a-trailing-period.json", &["option_duplicate", "answer_length_cue"]),
        ("options-are-bare-letters.json", &["option_labelled", "answer_length_cue"]),
        ("options-start-with-their-letter.json", &["option_labelled", "answer_length_cue"]),
        ("trailing-brackets.md", &["trailing_text"]),
        ("missing-knId-plus-all-keys-at-A.json", &["kn_unknown", "kn_count", "answer_position_imbalance"]),
        ("split-v3-no-explanations-all-keys-at-A.md", &["explanation_empty", "answer_position_imbalance"]),
        ("key-always-longest.json", &["answer_length_cue"]),
        ("domain-noncanonical-name.json", &[]),
    ];
    let paths: Vec<String> =
        verdicts.iter().map(|(name, _)| dir.join(name).to_string_lossy().into_owned()).collect();
    let mut args = vec!["validate"];
    args.extend(paths.iter().map(String::as_str));
    args.extend(["--type", "diagnostic"]);
    let tmp = tempfile::tempdir().unwrap();
    let out = pregen(&tmp.path().join("v.db"), &args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "any invalid file makes exit code 2");
    let body = json(&out);
    assert_eq!(body["valid"], false);
    for ((name, codes), file) in verdicts.iter().zip(body["files"].as_array().unwrap()) {
        assert!(file["path"].as_str().unwrap().ends_with(name));
        assert_eq!(file["valid"], codes.is_empty(), "{name}: {file}");
        assert_eq!(file["questionCount"], 71, "{name}: read, not refused");
        let counts = file["problemCounts"].as_object().unwrap();
        let mut found: Vec<&str> = counts.keys().map(String::as_str).collect();
        let mut want = codes.to_vec();
        found.sort_unstable();
        want.sort_unstable();
        assert_eq!(found, want, "{name}: {file}");
    }
    let valid = dir.join("domain-noncanonical-name.json");
    let out = pregen(&tmp.path().join("v.db"), &["validate", valid.to_str().unwrap(), "--type", "diagnostic"])
        .output()
        .unwrap();
    assert_eq!((out.status.code(), json(&out)["valid"].as_bool()), (Some(0), Some(true)));
}

#[test]
fn validate_checks_the_front_matter_against_the_type_given() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/fixtures");
    let tmp = tempfile::tempdir().unwrap();
    let split = dir.join("field-reports/split-v3-no-explanations-all-keys-at-A.md");
    let out = pregen(&tmp.path().join("v.db"), &["validate", split.to_str().unwrap(), "--type", "practice"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let counts = &json(&out)["files"][0]["problemCounts"];
    assert_eq!(counts["exam_type_mismatch"], 1, "{counts}");
    assert_eq!(counts["question_count_mismatch"], serde_json::Value::Null, "71 claimed, 71 held");
    let cut = dir.join("practice_8_of_225.md");
    let out = pregen(&tmp.path().join("v.db"), &["validate", cut.to_str().unwrap()]).output().unwrap();
    let file = &json(&out)["files"][0];
    assert_eq!(file["examType"], "practice", "taken from the front matter");
    assert_eq!(file["problemCounts"]["question_count_mismatch"], 1, "{file}");
    assert_eq!(file["problemCounts"]["exam_type_mismatch"], serde_json::Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sweeps_in_two_processes_generate_each_missing_exam_once() {
    let sim = Simulator::start(
        SimulatorConfig::builder().seed(4).latency(LatencyModel::haiku()).time_factor(50.0).build().unwrap(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sweep.db");
    for i in 0..4 {
        let out = pregen(&db, &["trigger", "--user", &format!("user-{i}")]).output().unwrap();
        assert!(out.status.success());
    }
    pregen(&db, &["queue", "clear"]).output().unwrap();
    let spawn = || {
        pregen(&db, &["cron", "--budget", "120"])
            .env("ANTHROPIC_API_KEY", DEFAULT_API_KEY)
            .env("ANTHROPIC_BASE_URL", sim.url())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) =
        tokio::task::spawn_blocking(move || (a.wait_with_output().unwrap(), b.wait_with_output().unwrap()))
            .await
            .unwrap();
    assert!(a.status.success() && b.status.success());
    let out = pregen(&db, &["stats"]).output().unwrap();
    let stats = json(&out);
    assert_eq!(stats["stats"]["totalGenerated"], 8, "4 users x 2 types, each generated once");
    assert_eq!(stats["stats"]["diagnosticCount"], 4);
    sim.shutdown().await.unwrap();
}
