//! `setTimeout` with a handle that cancels on drop.

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

/// A pending `setTimeout` callback; dropping it cancels the callback if it has not run.
pub(crate) struct Timeout {
    handle: i32,
    _callback: Closure<dyn FnMut()>,
}

impl Timeout {
    /// Calls `run` once after `delay_ms`; `None` when there is no `window` or the browser refused.
    pub(crate) fn after(delay_ms: i32, run: impl FnOnce() + 'static) -> Option<Self> {
        let callback = Closure::once(run);
        let window = web_sys::window()?;
        let handle = window
            .set_timeout_with_callback_and_timeout_and_arguments_0(callback.as_ref().unchecked_ref(), delay_ms)
            .ok()?;
        Some(Self { handle, _callback: callback })
    }
}

impl Drop for Timeout {
    fn drop(&mut self) {
        if let Some(window) = web_sys::window() {
            window.clear_timeout_with_handle(self.handle);
        }
    }
}
