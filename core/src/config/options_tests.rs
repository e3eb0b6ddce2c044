use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use super::*;

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    move |name: &str| map.get(name).cloned()
}

fn options(value: serde_json::Value) -> PreGenOptions {
    serde_json::from_value(value).unwrap()
}

#[test]
fn a_javascript_object_deserializes_and_a_misspelt_key_is_refused() {
    let o = options(json!({
        "database": "postgres://u:pw@h/db", "anthropicApiKey": "sk-ant-x", "anthropicBaseUrl": "http://127.0.0.1:9",
        "cronSecret": "s", "schedule": "0 * * * *", "sweepMode": "batch", "sweepBudgetSecs": 12.5,
        "sweepConcurrency": 3, "cleanupBatch": 10, "model": "m", "diagnosticModel": "d", "practiceModel": "p",
        "stockTarget": 2, "workers": 5, "ignoreEnv": true,
    }));
    assert_eq!(
        (o.sweep_mode, o.sweep_budget_secs, o.workers, o.ignore_env),
        (Some(SweepMode::Batch), Some(12.5), Some(5), true)
    );
    assert_eq!(options(json!({})), PreGenOptions::new(), "every key is optional");
    for wrong in [json!({"anthropicApikey": "k"}), json!({"cron_secret": "s"}), json!({"sweepMode": "Batch"})] {
        assert!(serde_json::from_value::<PreGenOptions>(wrong.clone()).is_err(), "{wrong}");
    }
}

#[test]
fn every_option_stands_for_its_variable() {
    // (option, a value, the variable's text)
    let cases = [
        ("database", json!("/tmp/x.db"), "/tmp/x.db"),
        ("anthropicApiKey", json!("sk-ant-k"), "sk-ant-k"),
        ("anthropicBaseUrl", json!("http://h"), "http://h"),
        ("cronSecret", json!("c"), "c"),
        ("schedule", json!("1 2 * * *"), "1 2 * * *"),
        ("sweepMode", json!("direct"), "direct"),
        ("sweepBudgetSecs", json!(0.5), "0.5"),
        ("sweepConcurrency", json!(7), "7"),
        ("cleanupBatch", json!(9), "9"),
        ("model", json!("m"), "m"),
        ("diagnosticModel", json!("d"), "d"),
        ("practiceModel", json!("p"), "p"),
        ("stockTarget", json!(0), "0"),
        ("workers", json!(3), "3"),
        ("stock", json!("bank"), "bank"),
        ("bankUnseenTarget", json!(4), "4"),
        ("bankMinSize", json!(1), "1"),
        ("bankMaxAssignments", json!(9), "9"),
        ("bankMaxAgeDays", json!(2.5), "2.5"),
    ];
    assert_eq!(cases.len(), OPTION_VARIABLES.len() - 1, "every option is in the table (database twice)");
    for (option, value, text) in cases {
        let o = options(json!({ option: value }));
        let vars: Vec<&str> = OPTION_VARIABLES.iter().filter(|(o, _)| *o == option).map(|(_, v)| *v).collect();
        assert_eq!(o.var(vars[0]).as_deref(), Some(text), "{option}");
        for (other, var) in OPTION_VARIABLES {
            if other != option {
                assert_eq!(o.var(var), None, "{option} answers only for its own variable, not {var}");
            }
        }
    }
}

#[test]
fn an_option_wins_over_its_variable_and_unset_ones_come_from_the_environment() {
    let env = env(&[
        ("PREGEN_WORKERS", "6"),
        ("PREGEN_STOCK_TARGET", "3"),
        ("CRON_SECRET", "from-env"),
        ("PREGEN_SWEEP_MODE", "batch"),
        ("PREGEN_DB", "/env.db"),
    ]);
    let o = options(json!({"workers": 2, "sweepBudgetSecs": 1.5}));
    let config = o.config(&env).unwrap();
    assert_eq!((config.pool.workers, config.policy.stock_target), (2, 3));
    assert_eq!((config.sweep.mode, config.sweep.budget), (SweepMode::Batch, Duration::from_millis(1500)));
    assert!(config.cron_secret.is_some());
    assert_eq!(o.location(&env), StoreLocation::Sqlite(PathBuf::from("/env.db")));
    assert_eq!(o.lookup(&env, "CRON_SECRET").as_deref(), Some("from-env"));

    let o = options(json!({"database": "postgres://h/db", "cronSecret": "explicit"}));
    assert_eq!(o.location(&env), StoreLocation::parse("postgres://h/db"));
    assert_eq!(o.lookup(&env, "CRON_SECRET").as_deref(), Some("explicit"));
    // An explicit blank is an explicit "unset": the variable is not read.
    let o = options(json!({"cronSecret": ""}));
    assert!(o.config(&env).unwrap().cron_secret.is_none());

    // ignoreEnv: the variables are not read at all.
    let o = options(json!({"ignoreEnv": true, "workers": 4}));
    let config = o.config(&env).unwrap();
    assert_eq!((config.pool.workers, config.policy.stock_target, config.sweep.mode), (4, 1, SweepMode::Direct));
    assert!(config.cron_secret.is_none());
    assert_eq!(o.location(&env), StoreLocation::parse(crate::store::DEFAULT_LOCATION));
    let only_url = self::env(&[("DATABASE_URL", "postgres://h/u")]);
    assert_eq!(PreGenOptions::new().location(&only_url), StoreLocation::parse("postgres://h/u"));
}

#[test]
fn a_bad_value_is_blamed_on_the_option_or_variable_that_held_it() {
    let env = env(&[("PREGEN_WORKERS", "0"), ("PREGEN_SWEEP_MODE", "bulk")]);
    let e = PreGenOptions::new().config(&env).unwrap_err();
    assert_eq!(e.setting, "PREGEN_SWEEP_MODE", "{e}");
    let e = options(json!({"sweepMode": "direct"})).config(&env).unwrap_err();
    assert_eq!(e.to_string(), "PREGEN_WORKERS: must be at least 1");
    let e = options(json!({"sweepMode": "direct", "workers": 0})).config(&env).unwrap_err();
    assert_eq!(e.to_string(), "workers: must be at least 1");
    for (option, value) in
        [("sweepBudgetSecs", json!(-1.0)), ("sweepConcurrency", json!(0)), ("cleanupBatch", json!(0))]
    {
        let e = options(json!({"ignoreEnv": true, option: value})).config(&env).unwrap_err();
        assert_eq!(e.setting, option, "{e}");
    }
}

#[test]
fn debug_shows_no_secret() {
    let o = options(json!({
        "database": "postgres://pregen:db-pass-1@h/db", "anthropicApiKey": "sk-ant-api-key-2",
        "cronSecret": "cron-secret-3", "workers": 2,
    }));
    let shown = format!("{o:?}");
    for secret in ["db-pass-1", "sk-ant-api-key-2", "cron-secret-3"] {
        assert!(!shown.contains(secret), "{shown}");
    }
    assert!(shown.contains("workers: Some(2)") && shown.contains("<redacted>"), "{shown}");
}

#[test]
fn options_from_json_refuse_a_misspelt_key_a_wrong_type_and_a_non_object() {
    let o = PreGenOptions::from_json(json!({"database": "x.db", "workers": 3})).unwrap();
    assert_eq!((o.database.as_deref(), o.workers), (Some("x.db"), Some(3)));
    assert_eq!(PreGenOptions::from_json(serde_json::Value::Null).unwrap(), PreGenOptions::new());
    for bad in [json!({"databse": "x.db"}), json!({"workers": "three"}), json!([1]), json!("x")] {
        let e = PreGenOptions::from_json(bad.clone()).unwrap_err();
        assert_eq!(e.setting, "options", "{bad}");
        assert_eq!(crate::error::ErrorCode::code(&e), "config.invalid");
    }
    let e = PreGenOptions::from_json(json!({"databse": "x.db"})).unwrap_err();
    assert!(e.reason.contains("databse"), "the reason names the key: {}", e.reason);
}
