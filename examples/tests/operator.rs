//! The `pregen` command as an operator meets it: the simulator's key, the schedule and the models from the
//! environment, the store from `--db`, `PREGEN_DB` or `DATABASE_URL`, bad settings refused as bad input, a wrong
//! API key reported with its own code, and runs whose store fails saying so (body and exit code 1).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use pregen_core::config::OPTION_VARIABLES;
use pregen_core::simulator::{DEFAULT_API_KEY, Simulator, SimulatorConfig, SimulatorHandle};
use pregen_core::store::sqlite::{SqliteOptions, SqliteStore, db_error};
use serde_json::Value;

/// The command with no setting from this process's environment (every option's variable removed).
fn bare(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pregen"));
    cmd.args(args);
    for (_, name) in OPTION_VARIABLES {
        cmd.env_remove(name);
    }
    cmd
}

fn pregen(db: &Path, args: &[&str]) -> Command {
    let mut cmd = bare(&["--db", db.to_str().unwrap()]);
    cmd.args(args);
    cmd
}

/// The same, generating against `sim`.
fn pregen_with(sim: &SimulatorHandle, db: &Path, args: &[&str]) -> Command {
    let mut cmd = pregen(db, args);
    cmd.env("ANTHROPIC_API_KEY", DEFAULT_API_KEY).env("ANTHROPIC_BASE_URL", sim.url());
    cmd
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is one JSON document ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// Reads `child`'s stderr on a thread, handing each line over, so a test can wait for one with a timeout.
fn stderr_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let (send, lines) = mpsc::channel();
    let stderr = child.stderr.take().expect("stderr piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    lines
}

fn wait_for_line(lines: &mpsc::Receiver<String>, needle: &str) -> String {
    loop {
        match lines.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if line.contains(needle) => return line,
            Ok(_) => {}
            Err(e) => panic!("no stderr line with {needle:?}: {e}"),
        }
    }
}

fn interrupt(child: &Child) {
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

/// One HTTP request to the simulator; the status and body of the answer.
fn post_messages(url: &str, api_key: &str) -> (u16, String) {
    let addr = url.strip_prefix("http://").unwrap().trim_end_matches('/');
    let mut stream = TcpStream::connect(addr).unwrap();
    let body = r#"{"model":"claude-haiku-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}"#;
    let request = format!(
        "POST /v1/messages HTTP/1.1\r\nhost: {addr}\r\nx-api-key: {api_key}\r\nanthropic-version: 2023-06-01\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

#[test]
fn simulate_prints_the_key_it_accepts_and_its_401_says_where_to_find_it() {
    let dir = tempfile::tempdir().unwrap();
    for (args, key) in [(vec![], DEFAULT_API_KEY), (vec!["--api-key", "sk-ant-my-own-key"], "sk-ant-my-own-key")] {
        let mut child = pregen(&dir.path().join("s.db"), &[&["simulate"], args.as_slice()].concat())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        let printed: Value = serde_json::from_str(&first).unwrap();
        let url = printed["url"].as_str().unwrap().to_owned();
        assert_eq!(printed["apiKey"], key, "{first}");

        let (status, body) = post_messages(&url, "sk-ant-a-newcomers-real-key");
        assert_eq!(status, 401);
        assert!(body.contains("pregen Claude simulator") && body.contains("`pregen simulate` printed"), "{body}");
        assert!(!body.contains(key), "the 401 names where the key is printed, not the key: {body}");
        let (status, body) = post_messages(&url, key);
        assert_eq!(status, 200, "the printed key is accepted: {body}");
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let out = pregen(&dir.path().join("s.db"), &["simulate", "--api-key", "  "]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn cron_schedule_without_an_expression_runs_pregen_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let mut child = pregen(&db, &["cron", "--schedule"])
        .env("PREGEN_SCHEDULE", "17 3 * * 2")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = stderr_lines(&mut child);
    let next = wait_for_line(&lines, "[Cron] next sweep at");
    assert!(next.contains("03:17:00") && next.contains("(17 3 * * 2)"), "{next}");
    interrupt(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json(&out), serde_json::json!({"success": true, "schedule": "17 3 * * 2", "stopped": true}));

    // An expression given on the command line wins; a bad PREGEN_SCHEDULE is bad input that names itself.
    let mut child = pregen(&db, &["cron", "--schedule", "45 1 * * *"])
        .env("PREGEN_SCHEDULE", "17 3 * * 2")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = stderr_lines(&mut child);
    assert!(wait_for_line(&lines, "[Cron] next sweep at").contains("(45 1 * * *)"));
    interrupt(&child);
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let out = pregen(&db, &["cron", "--schedule"]).env("PREGEN_SCHEDULE", "every six hours").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(json(&out)["error"].as_str().unwrap().starts_with("PREGEN_SCHEDULE: invalid cron expression"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_per_exam_type_comes_from_the_environment() {
    let sim = Simulator::start(SimulatorConfig::builder().seed(9).build().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    // PREGEN_MODEL for both, the per-type variable wins for its type.
    for (exam_type, want) in [("diagnostic", "claude-opus-4-5"), ("practice", "claude-sonnet-4-5")] {
        sim.clear_log();
        let out = pregen_with(&sim, &db, &["generate", "--user", "u1", "--type", exam_type])
            .env("PREGEN_MODEL", "claude-sonnet-4-5")
            .env("PREGEN_MODEL_DIAGNOSTIC", "claude-opus-4-5")
            .output()
            .unwrap();
        let models: std::collections::BTreeSet<String> = sim.log().into_iter().filter_map(|r| r.model).collect();
        assert_eq!(models.into_iter().collect::<Vec<_>>(), [want], "{exam_type}: {}", json(&out));
    }
    sim.shutdown().await.unwrap();
}

/// Makes the database at `db` refuse a kind of write from now on, as a full disk would: an SQL trigger that
/// fails with an SQLite error (not a constraint), whatever process writes. A trigger naming a missing table fails
/// every statement it belongs to when prepared; one that runs a failing function fails only the rows it fires on.
async fn break_writes(db: &Path, trigger: &'static str) {
    let store = SqliteStore::open(db, SqliteOptions::default()).await.unwrap();
    store.with_connection(move |c| c.execute_batch(trigger).map_err(db_error)).await.unwrap();
}

const OUTCOMES_FAIL: &str = "CREATE TRIGGER disk_full BEFORE UPDATE ON jobs WHEN NEW.state <> 'running' \
                             BEGIN SELECT json('disk is full'); END;";
const CLAIMS_FAIL: &str =
    "CREATE TRIGGER disk_full BEFORE UPDATE ON jobs BEGIN INSERT INTO disk_is_full VALUES (1); END;";
const ENQUEUES_FAIL: &str =
    "CREATE TRIGGER disk_full BEFORE INSERT ON jobs BEGIN INSERT INTO disk_is_full VALUES (1); END;";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budgeted_work_or_cron_whose_store_fails_says_so_and_exits_1() {
    let sim = Simulator::start(SimulatorConfig::builder().seed(9).build().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();

    // Outcomes cannot be written: each claimed job is a store failure, apart from lost leases.
    let db = dir.path().join("outcomes.db");
    assert!(pregen(&db, &["trigger", "--user", "u1"]).output().unwrap().status.success());
    break_writes(&db, OUTCOMES_FAIL).await;
    let out = pregen_with(&sim, &db, &["work", "--budget", "60"]).output().unwrap();
    let body = json(&out);
    assert_eq!(out.status.code(), Some(1), "{body}");
    let code = "worker.outcome_not_recorded";
    assert_eq!((&body["success"], &body["code"]), (&Value::Bool(false), &code.into()), "{body}");
    assert!(body["error"].as_str().unwrap().contains("could not be recorded: database: malformed JSON"), "{body}");
    assert_eq!((body["storeFailures"].as_u64(), body["drain"]["storeFailed"].as_u64()), (Some(2), Some(2)));
    assert_eq!((body["drain"]["claimed"].as_u64(), body["drain"]["leaseLost"].as_u64()), (Some(2), Some(0)));

    // Claims refused: nothing is worked, and the store's code is reported.
    let db = dir.path().join("claims.db");
    assert!(pregen(&db, &["trigger", "--user", "u1"]).output().unwrap().status.success());
    break_writes(&db, CLAIMS_FAIL).await;
    let out = pregen_with(&sim, &db, &["work", "--budget", "60", "--workers", "2"]).output().unwrap();
    let body = json(&out);
    assert_eq!((out.status.code(), &body["code"]), (Some(1), &"store.database".into()), "{body}");
    assert_eq!((body["drain"]["claimErrors"].as_u64(), body["drain"]["claimed"].as_u64()), (Some(2), Some(0)));

    // A sweep that cannot enqueue: the cron route's 500 body, with the stats of what did run.
    let db = dir.path().join("cron.db");
    assert!(pregen(&db, &["get", "--user", "u1", "--type", "practice"]).output().unwrap().status.success());
    assert!(pregen(&db, &["queue", "clear"]).output().unwrap().status.success());
    break_writes(&db, ENQUEUES_FAIL).await;
    let out = pregen_with(&sim, &db, &["cron", "--budget", "60"]).output().unwrap();
    let body = json(&out);
    assert_eq!((out.status.code(), &body["success"]), (Some(1), &Value::Bool(false)), "{body}");
    assert_eq!(body["code"], "store.database");
    assert_eq!((&body["stats"]["errors"][0]["step"], &body["stats"]["missing"]), (&"enqueue".into(), &2.into()));
    assert_eq!(body["stats"]["storeFailures"], 1);
    assert_eq!(body["stats"]["cleanupCompleted"], 0, "cleanup still ran: a number");

    // The same sweep on a healthy database succeeds.
    let db = dir.path().join("healthy.db");
    assert!(pregen(&db, &["trigger", "--user", "u1"]).output().unwrap().status.success());
    let out = pregen_with(&sim, &db, &["cron", "--budget", "60"]).output().unwrap();
    let body = json(&out);
    assert_eq!((out.status.code(), &body["success"]), (Some(0), &Value::Bool(true)), "{body}");
    sim.shutdown().await.unwrap();
}

#[test]
fn the_store_comes_from_db_then_pregen_db_then_database_url() {
    let dir = tempfile::tempdir().unwrap();
    let [flag, pregen_db, database_url] =
        ["flag.db", "pregen-db.db", "database-url.db"].map(|f| dir.path().join(f));
    let run = |cmd: &mut Command| {
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    };
    run(bare(&["--db", flag.to_str().unwrap(), "trigger", "--user", "u1"])
        .env("PREGEN_DB", &pregen_db)
        .env("DATABASE_URL", &database_url));
    assert!(flag.exists() && !pregen_db.exists() && !database_url.exists());
    run(bare(&["trigger", "--user", "u1"]).env("PREGEN_DB", &pregen_db).env("DATABASE_URL", &database_url));
    assert!(pregen_db.exists() && !database_url.exists());
    run(bare(&["trigger", "--user", "u1"]).env("DATABASE_URL", &database_url));
    assert!(database_url.exists());
    let out = bare(&["queue"]).env("PREGEN_DB", &pregen_db).output().unwrap();
    assert_eq!(json(&out)["queueLength"], 2, "the same store, opened again");
}

#[test]
fn bad_settings_are_bad_input_that_names_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    for (name, value, says) in [
        ("PREGEN_WORKERS", "0", "PREGEN_WORKERS: must be at least 1"),
        ("PREGEN_SWEEP_MODE", "bulk", "PREGEN_SWEEP_MODE: unknown sweep mode \"bulk\": direct or batch"),
        ("PREGEN_STOCK_TARGET", "one", "PREGEN_STOCK_TARGET: \"one\" is not a whole number"),
        ("PREGEN_SWEEP_BUDGET_SECS", "-5", "PREGEN_SWEEP_BUDGET_SECS: must be between 0 and 31536000 seconds"),
    ] {
        let out = pregen(&db, &["stats"]).env(name, value).output().unwrap();
        let body = json(&out);
        assert_eq!((out.status.code(), &body["code"]), (Some(2), &"config.invalid".into()), "{name}: {body}");
        assert_eq!(body["error"], says);
        assert!(!db.exists(), "{name}: nothing was opened");
    }
    let out = pregen(&db, &["cron", "--mode", "bulk"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    #[cfg(not(feature = "postgres"))]
    {
        let out = bare(&["--db", "postgres://pregen:pw@127.0.0.1/pregen", "stats"]).output().unwrap();
        let body = json(&out);
        assert_eq!((out.status.code(), &body["code"]), (Some(2), &"store.invalid_input".into()), "{body}");
        assert!(!body["error"].as_str().unwrap().contains(":pw@"), "no password in the error: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_api_key_is_reported_with_its_own_code() {
    let sim = Simulator::start(SimulatorConfig::builder().seed(9).build().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = pregen(&dir.path().join("k.db"), &["generate", "--user", "u1", "--type", "diagnostic"])
        .env("ANTHROPIC_API_KEY", "sk-ant-not-the-right-key")
        .env("ANTHROPIC_BASE_URL", sim.url())
        .output()
        .unwrap();
    let body = json(&out);
    assert_eq!((out.status.code(), &body["code"]), (Some(1), &"claude.authentication".into()), "{body}");
    assert!(body["error"].as_str().unwrap().starts_with("generation failed: claude.authentication: "), "{body}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("not-the-right-key"));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("not-the-right-key"));
    sim.shutdown().await.unwrap();
}
