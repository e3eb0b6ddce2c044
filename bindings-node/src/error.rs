//! A core error as JavaScript sees it: an `Error` whose `message` is the core's, with the core's stable `code`
//! (`claude.authentication`, `service.api_key_missing`, ...) and whether trying again could help (`retryable`).

use napi::bindgen_prelude::{JsObjectValue, JsValue};
use napi::{Env, Status};
use pregen_core::error::ErrorCode;

/// A core error reduced to what crosses into JavaScript. `Send`, so a future can carry it to the JS thread, where
/// [`Coded::into_js`] builds the `Error` object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Coded {
    /// The core's stable code.
    pub(crate) code: &'static str,
    /// The error's message.
    pub(crate) message: String,
    /// Whether the same call could succeed later.
    pub(crate) retryable: bool,
}

impl Coded {
    /// The code, message and retry answer of any core error.
    pub(crate) fn of(error: &(impl ErrorCode + std::fmt::Display)) -> Self {
        Self { code: error.code(), message: error.to_string(), retryable: error.is_retryable() }
    }

    /// A JavaScript `Error` with `code` and `retryable` set, wrapped so napi throws it (from a synchronous call)
    /// or rejects with it (from a promise's settle callback) as it is. Must run on the JavaScript thread.
    pub(crate) fn into_js(self, env: &Env) -> napi::Error {
        let built =
            env.create_error(napi::Error::new(Status::GenericFailure, self.message.clone())).and_then(|mut e| {
                e.set_named_property("code", self.code)?;
                e.set_named_property("retryable", self.retryable)?;
                Ok(e)
            });
        match built {
            Ok(object) => napi::Error::from(object.to_unknown()),
            // Building the object failed (the engine is shutting down): napi's own error still carries the text.
            Err(_) => napi::Error::new(Status::GenericFailure, format!("{} ({})", self.message, self.code)),
        }
    }
}

impl<E: ErrorCode + std::fmt::Display> From<E> for Coded {
    fn from(error: E) -> Self {
        Coded::of(&error)
    }
}
