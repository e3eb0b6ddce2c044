//! Unit tests of the Postgres backend that need no database: the statements' parameter lists and the embedded
//! migrations.

use super::migrate::MIGRATIONS;
use super::{sql, sql_bank};

/// The highest `$n` a statement uses.
fn placeholders(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut max = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let digits: String = text[i + 1..].chars().take_while(char::is_ascii_digit).collect();
            if let Ok(n) = digits.parse::<usize>() {
                max = max.max(n);
            }
            i += digits.len();
        }
        i += 1;
    }
    max
}

#[test]
fn every_statement_declares_one_type_per_parameter() {
    for (name, statement) in sql::ALL.iter().chain(sql_bank::ALL) {
        assert_eq!(placeholders(statement.text), statement.types.len(), "{name}");
        assert!(!statement.text.contains("now()"), "{name} reads the database clock");
    }
    assert!(sql::ALL.len() >= 30, "every statement is listed");
}

#[test]
fn the_embedded_migrations_are_the_supabase_directory() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../supabase/migrations");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    files.sort();
    let embedded: Vec<String> = MIGRATIONS.iter().map(|m| format!("{}_{}.sql", m.version, m.name)).collect();
    assert_eq!(files, embedded, "supabase/migrations/ and migrate::MIGRATIONS list the same files in order");
    for m in MIGRATIONS {
        let on_disk = std::fs::read_to_string(dir.join(format!("{}_{}.sql", m.version, m.name))).unwrap();
        assert_eq!(on_disk, m.sql);
        assert!(m.version.len() == 14 && m.version.bytes().all(|b| b.is_ascii_digit()), "{}", m.version);
        assert!(!m.sql.to_lowercase().contains("now()"), "{} reads the database clock", m.name);
    }
}

#[test]
fn placeholders_are_counted_by_their_highest_number() {
    assert_eq!(placeholders("SELECT $1, $2, $10"), 10);
    assert_eq!(placeholders("SELECT 1"), 0);
    assert_eq!(placeholders("SELECT $3::int8, $1"), 3);
}
