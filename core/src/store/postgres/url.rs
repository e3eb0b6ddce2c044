//! pregen's own setting in a Postgres URL: `pregen_listen=off` turns wake-up listening off (behind a transaction
//! pooler such as Supabase's port 6543, where no session lasts), so the one URL configures the command, the Node
//! addon and Rust hosts alike. The driver does not know the parameter, so it is taken out before the URL is parsed.

use crate::store::StoreError;

/// The query parameter: `on` (`true`, `1`) or `off` (`false`, `0`).
pub const LISTEN_PARAM: &str = "pregen_listen";

/// Splits `pregen_listen` off `url`'s query: the URL without it, and its value if present.
///
/// Errors: [`StoreError::InvalidInput`] for a value other than on/off/true/false/1/0.
pub(crate) fn take_listen(url: &str) -> Result<(String, Option<bool>), StoreError> {
    let Some((base, query)) = url.split_once('?') else { return Ok((url.to_owned(), None)) };
    let mut listen = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some((key, value)) if key == LISTEN_PARAM => {
                listen = Some(match value.to_ascii_lowercase().as_str() {
                    "on" | "true" | "1" => true,
                    "off" | "false" | "0" => false,
                    _ => return Err(StoreError::invalid("database URL", "pregen_listen must be on or off")),
                });
            }
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
    Ok((url, listen))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listen_setting_is_taken_out_of_the_url() {
        let cases = [
            ("postgres://u@h:6543/db?pregen_listen=off", "postgres://u@h:6543/db", Some(false)),
            (
                "postgres://u@h/db?sslmode=disable&pregen_listen=ON&x=1",
                "postgres://u@h/db?sslmode=disable&x=1",
                Some(true),
            ),
            ("postgres://u@h/db?sslmode=disable", "postgres://u@h/db?sslmode=disable", None),
            ("postgres://u@h/db", "postgres://u@h/db", None),
        ];
        for (url, rest, listen) in cases {
            assert_eq!(take_listen(url).unwrap(), (rest.to_owned(), listen), "{url}");
        }
        assert!(matches!(
            take_listen("postgres://h/db?pregen_listen=maybe"),
            Err(StoreError::InvalidInput { .. })
        ));
    }
}
