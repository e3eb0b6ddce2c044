//! Web Locks (`navigator.locks`), shared by every tab of the origin and released by the browser when a tab goes
//! away. One exclusive lock guards the saved jobs while a tab reads, changes and writes them; a tab holds a lock
//! per attempt while its request runs, so other tabs can tell a live attempt from one whose tab is gone.
//!
//! Without Web Locks (an insecure context), work runs unguarded and a warning says that two tabs may then both
//! send a job.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::errors::TrackerError;
use crate::log;

#[wasm_bindgen]
extern "C" {
    /// The browser's `LockManager`.
    type LockManager;

    #[wasm_bindgen(method)]
    fn request(this: &LockManager, name: &str, options: &JsValue, callback: &Function) -> Promise;

    #[wasm_bindgen(method)]
    fn query(this: &LockManager) -> Promise;
}

/// The origin's Web Locks, if the browser offers them here.
pub(crate) struct Locks(Option<LockManager>);

/// A lock held until [`HeldLock::release`] or drop.
pub(crate) struct HeldLock(Option<Function>);

impl HeldLock {
    /// Lets the lock go.
    pub(crate) fn release(mut self) {
        self.free();
    }

    fn free(&mut self) {
        if let Some(resolve) = self.0.take() {
            let _ = resolve.call0(&JsValue::NULL);
        }
    }
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        self.free();
    }
}

fn options(if_available: bool) -> JsValue {
    let object = Object::new();
    if if_available {
        let _ = Reflect::set(&object, &"ifAvailable".into(), &JsValue::TRUE);
    }
    object.into()
}

impl Locks {
    /// `navigator.locks`, when defined.
    pub(crate) fn open() -> Self {
        let navigator = web_sys::window().map(|w| JsValue::from(w.navigator()));
        let manager = navigator
            .and_then(|n| Reflect::get(&n, &"locks".into()).ok())
            .filter(|m| m.is_object())
            .map(JsCast::unchecked_into::<LockManager>);
        if manager.is_none() {
            log::warn(
                "Web Locks are unavailable (insecure context?): tabs are not kept from sending one job twice",
            );
        }
        Self(manager)
    }

    /// Runs `work` while holding the exclusive lock `name`, and returns its result.
    pub(crate) async fn exclusive<R: 'static>(
        &self,
        name: &str,
        work: impl Future<Output = R> + 'static,
    ) -> Result<R, TrackerError> {
        let slot: Rc<RefCell<Option<R>>> = Rc::default();
        let filled = slot.clone();
        self.run_exclusive(name, Box::pin(async move { *filled.borrow_mut() = Some(work.await) })).await?;
        let result = slot.borrow_mut().take();
        result.ok_or_else(|| TrackerError::Browser(format!("lock {name} released before its work finished")))
    }

    /// The untyped part of [`Locks::exclusive`], kept out of its generic code.
    async fn run_exclusive(
        &self,
        name: &str,
        work: Pin<Box<dyn Future<Output = ()>>>,
    ) -> Result<(), TrackerError> {
        let Some(manager) = &self.0 else {
            work.await;
            return Ok(());
        };
        let callback = Closure::once_into_js(move |_lock: JsValue| -> Promise {
            crate::task::promise(async move {
                work.await;
                Ok(JsValue::UNDEFINED)
            })
        });
        let granted = manager.request(name, &options(false), callback.unchecked_ref());
        JsFuture::from(granted).await.map_err(|e| TrackerError::browser("lock request", &e))?;
        Ok(())
    }

    /// Takes the exclusive lock `name` if nobody holds it; `None` when someone does. Without Web Locks, a guard
    /// that holds nothing.
    pub(crate) async fn try_hold(&self, name: &str) -> Option<HeldLock> {
        let Some(manager) = &self.0 else {
            return Some(HeldLock(None));
        };
        let mut answer = None;
        let answered = Promise::new(&mut |resolve, _reject| answer = Some(resolve));
        let answer = answer?;
        let release: Rc<RefCell<Option<Function>>> = Rc::default();
        let keep = release.clone();
        let callback = Closure::once_into_js(move |lock: JsValue| -> JsValue {
            if lock.is_null() {
                let _ = answer.call1(&JsValue::NULL, &JsValue::FALSE);
                return JsValue::UNDEFINED;
            }
            let mut resolve = None;
            let held = Promise::new(&mut |r, _reject| resolve = Some(r));
            *keep.borrow_mut() = resolve;
            let _ = answer.call1(&JsValue::NULL, &JsValue::TRUE);
            held.into()
        });
        // Settles when the lock is let go again; nothing waits for it.
        let _ = manager.request(name, &options(true), callback.unchecked_ref());
        let granted = JsFuture::from(answered).await.ok()?.as_bool()?;
        let resolve = release.borrow_mut().take();
        granted.then_some(HeldLock(resolve))
    }

    /// The names of the locks any tab holds right now; `None` without Web Locks or when the query fails.
    pub(crate) async fn held(&self) -> Option<Vec<String>> {
        let manager = self.0.as_ref()?;
        let snapshot = JsFuture::from(manager.query()).await.ok()?;
        let held = Reflect::get(&snapshot, &"held".into()).ok()?;
        let names = Array::from(&held)
            .iter()
            .filter_map(|info| Reflect::get(&info, &"name".into()).ok()?.as_string())
            .collect();
        Some(names)
    }

    /// Calls `on_free` once nobody holds `name` any more (at once if nobody does now); never without Web Locks.
    pub(crate) fn when_free(&self, name: &str, on_free: impl FnOnce() + 'static) {
        let Some(manager) = &self.0 else {
            return;
        };
        let callback = Closure::once_into_js(move |_lock: JsValue| {
            on_free();
        });
        let _ = manager.request(name, &options(false), callback.unchecked_ref());
    }
}
