//! The error contract shared by every module: a stable code and a retry answer per variant.

/// Implemented by every error enum of the crate, so callers (and the bindings) can branch on a stable string
/// code such as `"store.conflict"` and ask whether trying again could help.
pub trait ErrorCode {
    /// A stable, dotted code naming the variant, e.g. `"store.busy"`. Never changes between releases.
    fn code(&self) -> &'static str;
    /// Whether the same call could succeed if tried again later (transient contention, timeouts, rate limits).
    fn is_retryable(&self) -> bool;
}
