//! Log lines on the browser console with the old queue's prefix, `[BGJob]`, which operators grep for. Lines about
//! one job are debug level; a job that died is a warning.

use wasm_bindgen::JsValue;

const PREFIX: &str = "[BGJob]";

fn line(text: &str) -> JsValue {
    JsValue::from_str(&format!("{PREFIX} {text}"))
}

/// A per-job line (`console.debug`).
pub(crate) fn debug(text: &str) {
    web_sys::console::debug_1(&line(text));
}

/// A line about the tracker itself (`console.info`).
pub(crate) fn info(text: &str) {
    web_sys::console::info_1(&line(text));
}

/// Something that needs attention: a dead job, a refused saved copy, a browser API failure (`console.warn`).
pub(crate) fn warn(text: &str) {
    web_sys::console::warn_1(&line(text));
}
