//! TLS to Postgres by libpq's `sslmode` and `sslrootcert`, against the local server, which offers TLS with
//! Debian's self-signed "snakeoil" certificate (issued for `localhost`): each mode encrypts or verifies exactly as
//! libpq's table says, through the pool and the wake-up listener alike.
#![cfg(feature = "postgres")]

mod pg_support;

use std::sync::Arc;

use pregen_core::ErrorCode;
use pregen_core::store::postgres::{PgOptions, PgStore};
use pregen_core::store::{JobStore, JobWakeups, StoreError, Wakeups};

/// The server's certificate, which is its own issuer.
const SNAKEOIL: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

/// `url` with `params` appended to its query.
fn with(url: &str, params: &str) -> String {
    format!("{url}{}{params}", if url.contains('?') { '&' } else { '?' })
}

async fn connect(url: &str) -> Result<PgStore, StoreError> {
    PgStore::connect(url, PgOptions { max_connections: 2, ..PgOptions::default() }).await
}

/// Whether the store's own connection is encrypted, as the server sees it.
async fn encrypted(store: &PgStore) -> bool {
    let client = store.client().await.unwrap();
    client.query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).await.unwrap().get(0)
}

async fn server_offers_tls(db: &pg_support::TestDb) -> bool {
    let ssl: String = db.client().await.query_one("SHOW ssl", &[]).await.unwrap().get(0);
    ssl == "on"
}

#[tokio::test]
async fn each_sslmode_encrypts_and_verifies_as_libpq_does() {
    let db = pg_support::TestDb::create().await;
    assert!(server_offers_tls(&db).await, "these tests need the local server's TLS (ssl = on)");
    let url = db.url();

    let plain = connect(&with(url, "sslmode=disable")).await.unwrap();
    assert!(!encrypted(&plain).await, "disable never encrypts");
    assert!(encrypted(&connect(url).await.unwrap()).await, "prefer (the default) encrypts when offered");
    let required = connect(&with(url, "sslmode=require")).await.unwrap();
    assert!(encrypted(&required).await, "require encrypts without checking a self-signed certificate");

    let verify_ca = format!("sslmode=verify-ca&sslrootcert={SNAKEOIL}");
    assert!(encrypted(&connect(&with(url, &verify_ca)).await.unwrap()).await, "verify-ca ignores the host name");
    let localhost = url.replace("127.0.0.1", "localhost");
    let verify_full = format!("sslmode=verify-full&sslrootcert={SNAKEOIL}");
    assert!(encrypted(&connect(&with(&localhost, &verify_full)).await.unwrap()).await, "issued for localhost");
}

#[tokio::test]
async fn a_certificate_that_fails_verification_is_refused() {
    let db = pg_support::TestDb::create().await;
    assert!(server_offers_tls(&db).await, "these tests need the local server's TLS (ssl = on)");
    let url = db.url();
    let refusals = [
        // The Mozilla roots do not sign Debian's self-signed certificate.
        with(url, "sslmode=verify-full"),
        with(url, "sslmode=verify-ca"),
        // Signed by the given root, but issued for localhost, not 127.0.0.1.
        with(url, &format!("sslmode=verify-full&sslrootcert={SNAKEOIL}")),
        // require with a root file checks the chain, as libpq does.
        with(url, "sslmode=require&sslrootcert=/etc/ssl/certs/ca-certificates.crt"),
    ];
    for refused in refusals {
        let err = connect(&refused).await.err().unwrap_or_else(|| panic!("{refused} connected"));
        let text = err.to_string();
        assert!(text.to_lowercase().contains("certificate") || text.contains("invalid peer"), "{refused}: {text}");
        assert_eq!(err.code(), "store.unavailable", "{refused}: {text}");
    }
}

#[tokio::test]
async fn bad_tls_settings_are_refused_before_connecting() {
    for (url, says) in [
        ("postgres://postgres@127.0.0.1:5432/postgres?sslmode=verify_full", "sslmode \"verify_full\""),
        (
            "postgres://postgres@127.0.0.1:5432/postgres?sslmode=verify-full&sslrootcert=/nonexistent.pem",
            "sslrootcert",
        ),
    ] {
        let err = connect(url).await.expect_err("refused");
        assert_eq!(err.code(), "store.invalid_input", "{err}");
        assert!(err.to_string().contains(says), "{err}");
    }
}

#[tokio::test]
async fn the_wakeup_listener_connects_with_the_same_tls() {
    let db = pg_support::TestDb::create().await;
    let store = connect(&with(db.url(), "sslmode=require")).await.unwrap();
    let notify = Arc::new(tokio::sync::Notify::new());
    let Wakeups::Push(_handle) = store.subscribe_wakeups(notify.clone()).await.unwrap() else {
        panic!("a direct connection pushes wake-ups")
    };
    let client = db.client().await;
    let rows = client
        .query(
            "SELECT s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s ON s.pid = a.pid \
             WHERE a.datname = current_database() AND a.application_name = $1",
            &[&pregen_core::store::postgres::LISTENER_APPLICATION],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "one listening session");
    assert!(rows[0].get::<_, bool>(0), "the listening session is encrypted");
    let _ = store.next_due_at().await.unwrap();
}
