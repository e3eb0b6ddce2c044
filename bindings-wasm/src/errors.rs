//! Errors handed to JS: a plain `Error` whose `code` property is the core's stable code (`queue.invalid_user_id`),
//! so pages branch on `err.code`, never on message text.

use std::fmt;

use pregen_core::ErrorCode;
use pregen_core::queue::{InputError, QueueError};
use wasm_bindgen::JsValue;

/// What a tracker call can fail with: the core's refusals, bad options, or a browser API that failed.
#[derive(Debug, thiserror::Error)]
pub enum TrackerError {
    /// Bad `userId` or `examType`; nothing was queued.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The queue refused a transition or the options.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The options object is not of the documented shape.
    #[error("invalid tracker options: {0}")]
    Options(String),
    /// A browser API failed (no `window`, storage full or forbidden, a lock request refused).
    #[error("browser API failed: {0}")]
    Browser(String),
}

impl TrackerError {
    /// A browser failure, with the JS error's text.
    pub(crate) fn browser(what: &str, err: &JsValue) -> Self {
        TrackerError::Browser(format!("{what}: {}", js_text(err)))
    }
}

impl ErrorCode for TrackerError {
    fn code(&self) -> &'static str {
        match self {
            TrackerError::Input(e) => e.code(),
            TrackerError::Queue(e) => e.code(),
            TrackerError::Options(_) => "tracker.invalid_options",
            TrackerError::Browser(_) => "tracker.browser",
        }
    }

    fn is_retryable(&self) -> bool {
        match self {
            TrackerError::Input(e) => e.is_retryable(),
            TrackerError::Queue(e) => e.is_retryable(),
            TrackerError::Options(_) => false,
            TrackerError::Browser(_) => true,
        }
    }
}

impl From<TrackerError> for JsValue {
    fn from(err: TrackerError) -> Self {
        js_error(err.code(), &err)
    }
}

/// A JS `Error` with `message` and a `code` property.
pub(crate) fn js_error(code: &str, message: &impl fmt::Display) -> JsValue {
    let error = js_sys::Error::new(&message.to_string());
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&error, &JsValue::from_str("code"), &JsValue::from_str(code));
    error.into()
}

/// The text of a thrown JS value: an Error's message, a string itself, or its JSON form.
pub(crate) fn js_text(value: &JsValue) -> String {
    if let Some(text) = value.as_string() {
        return text;
    }
    let message = js_sys::Reflect::get(value, &JsValue::from_str("message")).ok().and_then(|m| m.as_string());
    message
        .or_else(|| js_sys::JSON::stringify(value).ok().and_then(|s| s.as_string()))
        .unwrap_or_else(|| "unknown error".to_owned())
}
