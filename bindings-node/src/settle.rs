//! Promises whose rejection keeps the core's error code: the future runs on the addon's tokio runtime and hands
//! back a plain `Result`; the JavaScript value (or the coded `Error`) is built on the JavaScript thread when the
//! promise settles. napi's own async glue would reject with an `Error` that has lost the code.

use std::future::Future;

use napi::Env;
use napi::bindgen_prelude::{PromiseRaw, ToNapiValue, Unknown};
use serde::Serialize;

use crate::error::Coded;

/// A promise of `fut`'s value converted by `convert` on the JavaScript thread, or rejected with its coded error.
pub(crate) fn settle_with<'env, T, V, F, C>(
    env: &'env Env,
    fut: F,
    convert: C,
) -> napi::Result<PromiseRaw<'env, V>>
where
    T: Send + 'static,
    V: ToNapiValue,
    F: Future<Output = Result<T, Coded>> + Send + 'static,
    C: FnOnce(&'env Env, T) -> napi::Result<V> + 'static,
{
    env.spawn_future_with_callback(async move { Ok(fut.await) }, move |env, settled| match settled {
        Ok(value) => convert(env, value),
        Err(coded) => Err(coded.into_js(env)),
    })
}

/// A promise of `fut`'s value as a plain JavaScript object (key for key as it serializes), or rejected with its
/// coded error.
pub(crate) fn settle<'env, T, F>(env: &'env Env, fut: F) -> napi::Result<PromiseRaw<'env, Unknown<'env>>>
where
    T: Serialize + Send + 'static,
    F: Future<Output = Result<T, Coded>> + Send + 'static,
{
    settle_with(env, fut, |env, value| env.to_js_value(&value))
}
