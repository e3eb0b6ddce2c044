//! pregen's own settings in a Postgres URL, so the one URL configures the command, the Node addon and Rust hosts
//! alike: `pregen_pooler=transaction` says the URL reaches a transaction pooler (Supabase's port 6543, PgBouncer
//! in transaction mode), where no session lasts, so wake-ups are polled and nothing is prepared by name;
//! `pregen_listen` and `pregen_prepare` (`on`/`off`) set either alone and win over the pooler's defaults (and
//! `pregen_listen=off` alone, the older form for a transaction pooler, leaves statements unnamed too; see
//! `PgOptions::prepare`). The driver does not know these parameters, so they are taken out before the URL is
//! parsed.

use crate::store::StoreError;

/// Wake-up listening on (`on`, `true`, `1`) or off (`off`, `false`, `0`).
pub const LISTEN_PARAM: &str = "pregen_listen";
/// Prepared statements on or off, as for [`LISTEN_PARAM`].
pub const PREPARE_PARAM: &str = "pregen_prepare";
/// The connection mode: `transaction` (a transaction pooler), `session` or `none` (a session lasts).
pub const POOLER_PARAM: &str = "pregen_pooler";

/// What a URL's pregen settings ask for; `None` leaves the caller's option as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct UrlSettings {
    /// Whether wake-ups are pushed by LISTEN.
    pub(crate) listen: Option<bool>,
    /// Whether statements are prepared once per connection.
    pub(crate) prepare: Option<bool>,
}

fn switch(name: &str, value: &str) -> Result<bool, StoreError> {
    match value.to_ascii_lowercase().as_str() {
        "on" | "true" | "1" => Ok(true),
        "off" | "false" | "0" => Ok(false),
        _ => Err(StoreError::invalid("database URL", format!("{name} must be on or off"))),
    }
}

/// Splits pregen's settings off `url`'s query: the URL without them, and what they ask for.
///
/// Errors: [`StoreError::InvalidInput`] for a value a setting does not take.
pub(crate) fn take_settings(url: &str) -> Result<(String, UrlSettings), StoreError> {
    let Some((base, query)) = url.split_once('?') else { return Ok((url.to_owned(), UrlSettings::default())) };
    let (mut listen, mut prepare, mut session) = (None, None, None);
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some((LISTEN_PARAM, value)) => listen = Some(switch(LISTEN_PARAM, value)?),
            Some((PREPARE_PARAM, value)) => prepare = Some(switch(PREPARE_PARAM, value)?),
            Some((POOLER_PARAM, value)) => {
                session = Some(match value.to_ascii_lowercase().as_str() {
                    "transaction" => false,
                    "session" | "none" => true,
                    _ => {
                        return Err(StoreError::invalid(
                            "database URL",
                            format!("{POOLER_PARAM} must be transaction, session or none"),
                        ));
                    }
                });
            }
            _ => kept.push(pair),
        }
    }
    let settings = UrlSettings { listen: listen.or(session), prepare: prepare.or(session) };
    let url = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
    Ok((url, settings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(listen: Option<bool>, prepare: Option<bool>) -> UrlSettings {
        UrlSettings { listen, prepare }
    }

    #[test]
    fn pregen_settings_are_taken_out_of_the_url() {
        let cases = [
            ("postgres://u@h:6543/db?pregen_listen=off", "postgres://u@h:6543/db", settings(Some(false), None)),
            (
                "postgres://u@h/db?sslmode=disable&pregen_listen=ON&x=1",
                "postgres://u@h/db?sslmode=disable&x=1",
                settings(Some(true), None),
            ),
            ("postgres://u@h/db?sslmode=disable", "postgres://u@h/db?sslmode=disable", settings(None, None)),
            ("postgres://u@h/db", "postgres://u@h/db", settings(None, None)),
            (
                "postgres://u@h:6543/db?pregen_pooler=transaction",
                "postgres://u@h:6543/db",
                settings(Some(false), Some(false)),
            ),
            (
                "postgres://u@h:6543/db?pregen_pooler=transaction&pregen_prepare=on",
                "postgres://u@h:6543/db",
                settings(Some(false), Some(true)),
            ),
            ("postgres://u@h/db?pregen_pooler=session", "postgres://u@h/db", settings(Some(true), Some(true))),
            ("postgres://u@h/db?pregen_prepare=0&a=b", "postgres://u@h/db?a=b", settings(None, Some(false))),
        ];
        for (url, rest, wanted) in cases {
            assert_eq!(take_settings(url).unwrap(), (rest.to_owned(), wanted), "{url}");
        }
        for bad in [
            "postgres://h/db?pregen_listen=maybe",
            "postgres://h/db?pregen_prepare=",
            "postgres://h/db?pregen_pooler=statement",
        ] {
            assert!(matches!(take_settings(bad), Err(StoreError::InvalidInput { .. })), "{bad}");
        }
    }
}
