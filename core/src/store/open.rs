//! Choosing and opening a store from its location: a `postgres://` or `postgresql://` URL selects Postgres,
//! anything else is the path of a SQLite file. The location comes from the caller (`--db`), else `PREGEN_DB`,
//! else `DATABASE_URL` (the ecosystem's usual name), else `./pregen.db`.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use super::{Store, StoreError};

/// The environment variable naming the store, read first.
pub const PREGEN_DB_ENV: &str = "PREGEN_DB";
/// The ecosystem's usual name for a database URL, read when `PREGEN_DB` is unset.
pub const DATABASE_URL_ENV: &str = "DATABASE_URL";
/// The store used when nothing names one.
pub const DEFAULT_LOCATION: &str = "./pregen.db";

/// Where a store lives.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A SQLite database file.
    Sqlite(PathBuf),
    /// A Postgres database URL (it may carry a password: Debug and Display hide it).
    Postgres(String),
}

impl StoreLocation {
    /// Reads a location: a URL starting with `postgres://` or `postgresql://` (any letter case) is Postgres,
    /// anything else a SQLite path.
    pub fn parse(raw: &str) -> Self {
        let lower = raw.trim_start().to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            StoreLocation::Postgres(raw.trim().to_owned())
        } else {
            StoreLocation::Sqlite(PathBuf::from(raw))
        }
    }

    /// The location named by `explicit` (a `--db` flag), else by `PREGEN_DB`, else by `DATABASE_URL`, else
    /// [`DEFAULT_LOCATION`]. Empty values count as unset.
    pub fn resolve(explicit: Option<&str>) -> Self {
        Self::resolve_with(explicit, |name| std::env::var(name).ok())
    }

    /// [`StoreLocation::resolve`] with the environment read through `env` (tests pass a map).
    pub fn resolve_with(explicit: Option<&str>, env: impl Fn(&str) -> Option<String>) -> Self {
        let named = explicit
            .map(str::to_owned)
            .into_iter()
            .chain(env(PREGEN_DB_ENV))
            .chain(env(DATABASE_URL_ENV))
            .find(|v| !v.trim().is_empty());
        Self::parse(named.as_deref().unwrap_or(DEFAULT_LOCATION))
    }
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            StoreLocation::Postgres(url) => write!(f, "{}", redact(url)),
        }
    }
}

impl fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            StoreLocation::Postgres(url) => f.debug_tuple("Postgres").field(&redact(url)).finish(),
        }
    }
}

/// `url` with the password of its user-info part replaced by `***`, and any `password=` query value too.
pub fn redact(url: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let authority = &base[scheme_end..authority_end];
    let mut out = base[..scheme_end].to_owned();
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            let hidden = if userinfo.contains(':') { ":***" } else { "" };
            out.push_str(&format!("{user}{hidden}@{host}"));
        }
        None => out.push_str(authority),
    }
    out.push_str(&base[authority_end..]);
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

/// How to open either backend; the part for the backend the location selects is used.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// For a SQLite location.
    #[cfg(feature = "sqlite")]
    pub sqlite: super::sqlite::SqliteOptions,
    /// For a Postgres location.
    #[cfg(feature = "postgres")]
    pub postgres: super::postgres::PgOptions,
}

/// Opens the store at `location` (see [`StoreLocation::parse`]) as the service's trait object. A location whose
/// backend this build lacks is refused with `store.invalid_input` naming the feature.
pub async fn open(location: &StoreLocation, options: &OpenOptions) -> Result<Arc<dyn Store>, StoreError> {
    match location {
        #[cfg(feature = "sqlite")]
        StoreLocation::Sqlite(path) => {
            Ok(Arc::new(super::sqlite::SqliteStore::open(path, options.sqlite.clone()).await?))
        }
        #[cfg(not(feature = "sqlite"))]
        StoreLocation::Sqlite(_) => {
            let _ = options;
            Err(StoreError::invalid("database location", "this build has no SQLite backend (feature `sqlite`)"))
        }
        #[cfg(feature = "postgres")]
        StoreLocation::Postgres(url) => {
            Ok(Arc::new(super::postgres::PgStore::connect(url, options.postgres.clone()).await?))
        }
        #[cfg(not(feature = "postgres"))]
        StoreLocation::Postgres(_) => {
            let _ = options;
            Err(StoreError::invalid(
                "database location",
                "this build has no Postgres backend (feature `postgres`)",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn a_postgres_url_selects_postgres_and_anything_else_is_a_sqlite_path() {
        for url in [
            "postgres://u:p@db.example.com:5432/pregen",
            "postgresql://localhost/pregen",
            "POSTGRES://host/db",
            "PostgreSQL://host/db?sslmode=require",
            "postgres:///pregen?host=/var/run/postgresql",
        ] {
            assert!(matches!(StoreLocation::parse(url), StoreLocation::Postgres(_)), "{url}");
        }
        for path in [
            "./pregen.db",
            "/var/lib/pregen/pregen.db",
            "pregen.db",
            "postgres.db",
            "postgres:/not-a-url",
            "postgresql:x",
            "sqlite://pregen.db",
            "host=localhost dbname=pregen",
            "C:\\data\\pregen.db",
        ] {
            assert_eq!(StoreLocation::parse(path), StoreLocation::Sqlite(PathBuf::from(path)), "{path}");
        }
    }

    #[test]
    fn the_flag_wins_then_pregen_db_then_database_url() {
        let env = |pairs: &[(&str, &str)]| {
            let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            move |name: &str| map.get(name).cloned()
        };
        let both = env(&[("PREGEN_DB", "/a.db"), ("DATABASE_URL", "postgres://h/db")]);
        assert_eq!(StoreLocation::resolve_with(Some("/flag.db"), &both), StoreLocation::parse("/flag.db"));
        assert_eq!(StoreLocation::resolve_with(None, &both), StoreLocation::parse("/a.db"));
        let url_only = env(&[("DATABASE_URL", "postgres://h/db")]);
        assert_eq!(StoreLocation::resolve_with(None, &url_only), StoreLocation::parse("postgres://h/db"));
        let empty = env(&[("PREGEN_DB", " "), ("DATABASE_URL", "")]);
        assert_eq!(StoreLocation::resolve_with(None, &empty), StoreLocation::parse(DEFAULT_LOCATION));
        assert_eq!(StoreLocation::resolve_with(Some(""), &url_only), StoreLocation::parse("postgres://h/db"));
    }

    #[test]
    fn passwords_never_show() {
        for (url, shown) in [
            ("postgres://pregen:s3cret@db:5432/p", "postgres://pregen:***@db:5432/p"),
            ("postgres://pregen@db/p", "postgres://pregen@db/p"),
            ("postgresql://u:p%40ss@h/d?sslmode=require", "postgresql://u:***@h/d?sslmode=require"),
            ("postgres://h/d?user=u&password=s3cret&x=1", "postgres://h/d?user=u&password=***&x=1"),
            ("postgres://u:a@b@h/d", "postgres://u:***@h/d"),
        ] {
            let location = StoreLocation::parse(url);
            assert_eq!(location.to_string(), shown);
            assert!(!format!("{location:?}").contains("s3cret"), "{location:?}");
        }
    }

    #[cfg(not(feature = "postgres"))]
    #[tokio::test]
    async fn a_postgres_location_without_the_feature_is_refused() {
        let err = open(&StoreLocation::parse("postgres://h/d"), &OpenOptions::default()).await.err().unwrap();
        assert_eq!(crate::error::ErrorCode::code(&err), "store.invalid_input");
    }

    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn a_path_opens_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let location = StoreLocation::parse(dir.path().join("p.db").to_str().unwrap());
        let store = open(&location, &OpenOptions::default()).await.unwrap();
        assert_eq!(store.count_active_users(chrono::DateTime::UNIX_EPOCH).await.unwrap(), 0);
    }
}
