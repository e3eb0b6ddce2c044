//! Futures on the page's event loop. Every task and promise goes through one boxed future type, so the WASM
//! carries one copy of wasm-bindgen-futures' glue instead of one per call site.

use std::future::Future;
use std::pin::Pin;

use js_sys::Promise;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::{future_to_promise, spawn_local};

use crate::errors::TrackerError;

type Boxed<T> = Pin<Box<dyn Future<Output = T>>>;

/// Runs `work` in the background.
pub(crate) fn spawn(work: impl Future<Output = ()> + 'static) {
    let boxed: Boxed<()> = Box::pin(work);
    spawn_local(boxed);
}

/// A JS promise of `work`'s value; a failure rejects it with an `Error` carrying the code.
pub(crate) fn promise(work: impl Future<Output = Result<JsValue, TrackerError>> + 'static) -> Promise {
    let boxed: Boxed<Result<JsValue, JsValue>> = Box::pin(async move { work.await.map_err(JsValue::from) });
    future_to_promise(boxed)
}
