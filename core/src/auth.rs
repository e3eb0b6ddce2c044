//! The cron and analytics routes' bearer check: a constant-time comparison, and an unset secret refuses
//! every caller (the old docs called the secret optional; that was a defect).

use std::fmt;

use subtle::ConstantTimeEq;

/// The `CRON_SECRET` shared with the scheduler. Never shown by `Debug`, and has no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct CronSecret(String);

impl CronSecret {
    /// Wraps a secret; an empty or blank one is `None` (treated as unset, so every call is refused).
    pub fn new(secret: impl Into<String>) -> Option<Self> {
        let secret = secret.into();
        (!secret.trim().is_empty()).then_some(Self(secret))
    }
}

impl fmt::Debug for CronSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CronSecret(***)")
    }
}

/// Whether `authorization` (the request's `Authorization` header) is exactly `Bearer <secret>`. Refuses when no
/// secret is configured. The comparison takes the same time wherever the first difference is.
pub fn authorize(secret: Option<&CronSecret>, authorization: Option<&str>) -> bool {
    let (Some(secret), Some(header)) = (secret, authorization) else {
        return false;
    };
    let Some(given) = header.strip_prefix("Bearer ") else {
        return false;
    };
    given.as_bytes().ct_eq(secret.0.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_passes() {
        let secret = CronSecret::new("s3cret-value-0123456789");
        assert!(authorize(secret.as_ref(), Some("Bearer s3cret-value-0123456789")));
        assert!(!authorize(secret.as_ref(), Some("Bearer s3cret-value-012345678")));
        assert!(!authorize(secret.as_ref(), Some("bearer s3cret-value-0123456789")));
        assert!(!authorize(secret.as_ref(), Some("s3cret-value-0123456789")));
        assert!(!authorize(secret.as_ref(), Some("Bearer ")));
        assert!(!authorize(secret.as_ref(), None));
    }

    #[test]
    fn an_unset_secret_refuses_everyone() {
        assert!(CronSecret::new("  ").is_none());
        assert!(!authorize(None, Some("Bearer ")));
        assert!(!authorize(None, Some("Bearer anything")));
    }

    #[test]
    fn debug_hides_the_secret() {
        let secret = CronSecret::new("do-not-print-me").unwrap();
        assert!(!format!("{secret:?}").contains("do-not-print-me"));
    }
}
