//! Helper process for the cross-process bank test: opens the store, writes a ready file, waits for a start file,
//! then assigns bank exams of one type to one user until none is left unseen, printing each id on its own line.

use std::path::PathBuf;
use std::time::Duration;

use pregen_core::exam::ExamType;
use pregen_core::policy::BankPolicy;
use pregen_core::store::sqlite::{SqliteOptions, SqliteStore};
use pregen_core::store::{BankStore, UserId};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(db), Some(user), Some(ready), Some(start)) = (args.next(), args.next(), args.next(), args.next())
    else {
        eprintln!("usage: assigner DB USER READY_FILE START_FILE");
        std::process::exit(2);
    };
    let store = SqliteStore::open(PathBuf::from(db), SqliteOptions { connections: 1, ..SqliteOptions::default() })
        .await
        .expect("open store");
    let user = UserId::parse(&user).expect("user id");
    std::fs::write(&ready, b"ready").expect("write ready file");
    while !PathBuf::from(&start).exists() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let bank = BankPolicy::default();
    let now = chrono::Utc::now();
    while let Some(exam) = store.assign_exam(&user, ExamType::Practice, now, &bank).await.expect("assign") {
        println!("{}", exam.id);
    }
}
