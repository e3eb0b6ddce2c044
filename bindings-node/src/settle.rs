//! Promises whose rejection keeps the core's error code: the future runs on the addon's tokio runtime and hands
//! back a plain `Result`; the JavaScript value (or the coded `Error`) is built on the JavaScript thread when the
//! promise settles. napi's own async glue would reject with an `Error` that has lost the code.

use std::future::Future;

use napi::bindgen_prelude::{Function, JsObjectValue, Object, PromiseRaw, ToNapiValue, Unknown};
use napi::{Env, JsString};
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
///
/// The value is serialized to JSON on the runtime's thread and parsed by V8's `JSON.parse` on the JavaScript
/// thread: one string crosses instead of a call per key and value (a 225-item exam has thousands), and the
/// JavaScript thread does the least work.
pub(crate) fn settle<'env, T, F>(env: &'env Env, fut: F) -> napi::Result<PromiseRaw<'env, Unknown<'env>>>
where
    T: Serialize + Send + 'static,
    F: Future<Output = Result<T, Coded>> + Send + 'static,
{
    let serialized = async move { to_json(&fut.await?) };
    settle_with(env, serialized, |env, json| parse_json(env, &json))
}

/// The code of a result that did not serialize (the core's results always do; kept rather than panicking).
const SERIALIZE: &str = "node.serialize";

/// `value` as JSON text, or the coded error `node.serialize`.
pub(crate) fn to_json(value: &impl Serialize) -> Result<String, Coded> {
    serde_json::to_string(value).map_err(|e| Coded { code: SERIALIZE, message: e.to_string(), retryable: false })
}

/// `JSON.parse(json)` on the JavaScript thread.
fn parse_json<'env>(env: &'env Env, json: &str) -> napi::Result<Unknown<'env>> {
    let global = env.get_global()?;
    let json_object: Object<'env> = global.get_named_property("JSON")?;
    let parse: Function<'env, JsString<'env>, Unknown<'env>> = json_object.get_named_property("parse")?;
    parse.call(env.create_string(json)?)
}
