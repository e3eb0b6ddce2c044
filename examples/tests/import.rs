//! `pregen import` on the real example files of the old system's defects (core/tests/fixtures/field-reports):
//! a valid file is imported once however often it is given, invalid ones are reported with their problems and
//! exit 2, and `--repair` (against the local simulator) regenerates only the failing items.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn fixture(name: &str) -> String {
    let path: PathBuf =
        [env!("CARGO_MANIFEST_DIR"), "..", "core", "tests", "fixtures", "field-reports", name].iter().collect();
    path.to_str().unwrap().to_owned()
}

fn import(db: &std::path::Path, args: &[&str]) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_pregen"))
        .arg("--db")
        .arg(db)
        .arg("import")
        .args(args)
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("ANTHROPIC_BASE_URL")
        .env("PREGEN_LOG", "warn")
        .output()
        .unwrap();
    let body = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("one JSON document ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code().unwrap(), body)
}

#[test]
fn files_are_imported_once_refused_with_their_problems_or_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bank.db");
    let valid = fixture("domain-noncanonical-name.json");
    let (code, body) = import(&db, &[&valid, &valid]);
    assert_eq!(code, 0, "{body}");
    assert_eq!((body["imported"].as_u64(), body["duplicate"].as_u64()), (Some(1), Some(1)), "{body}");

    let broken = fixture("trailing-brackets.md");
    let banned = fixture("option-both-a-and-b-are-part-of-the-theory.json");
    let (code, body) = import(&db, &["--type", "diagnostic", &broken, &banned]);
    assert_eq!(code, 2, "{body}");
    assert_eq!(body["invalid"], 2);
    let problems = |i: usize| -> Vec<String> {
        body["files"][i]["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["code"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(problems(0).contains(&"trailing_text".to_owned()), "{:?}", problems(0));
    assert_eq!(problems(1), ["option_banned"]);

    let (code, body) = import(&db, &["--repair", &banned]);
    assert_eq!(code, 0, "{body}");
    let file = &body["files"][0];
    assert_eq!(file["status"], "imported");
    let replaced = file["repair"]["replaced"].as_array().unwrap();
    assert_eq!(replaced.len(), 1, "only the item with the banned option: {file}");
    assert_eq!(replaced[0]["reasons"], serde_json::json!(["option_banned"]));
    assert_eq!(file["repair"]["kept"], 70);
    let (_, again) = import(&db, &["--repair", &banned]);
    assert_eq!(again["duplicate"], 1, "imported once: {again}");
}
