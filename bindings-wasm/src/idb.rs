//! IndexedDB, as far as the tracker needs it: one database per storage key with one object store of text
//! records, read and written in short transactions. A write resolves once its transaction committed, so a tab that
//! takes the state lock next reads it (`localStorage` gives no such promise across Chromium's processes).

use js_sys::{Function, Promise};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{EventTarget, IdbDatabase, IdbFactory, IdbOpenDbRequest, IdbRequest, IdbTransactionMode};

use crate::errors::TrackerError;

const STORE: &str = "queue";

fn failed(what: &str) -> impl Fn(JsValue) -> TrackerError + '_ {
    move |err| TrackerError::browser(what, &err)
}

/// Waits until `target` fires `done`, or fails when it fires one of `failures` (`error`, `abort`, `blocked`).
async fn fired(target: &EventTarget, done: &str, failures: &[&str], what: &str) -> Result<(), TrackerError> {
    let mut settle: Option<(Function, Function)> = None;
    let promise = Promise::new(&mut |resolve, reject| settle = Some((resolve, reject)));
    let (resolve, reject) = settle.ok_or_else(|| TrackerError::Browser(format!("{what}: no promise")))?;
    let on_done = Closure::<dyn FnMut()>::new(move || {
        let _ = resolve.call0(&JsValue::NULL);
    });
    let on_failure = Closure::<dyn FnMut()>::new(move || {
        let _ = reject.call1(&JsValue::NULL, &JsValue::from_str("failed"));
    });
    target.add_event_listener_with_callback(done, on_done.as_ref().unchecked_ref()).map_err(failed(what))?;
    for event in failures {
        target
            .add_event_listener_with_callback(event, on_failure.as_ref().unchecked_ref())
            .map_err(failed(what))?;
    }
    let result = JsFuture::from(promise).await;
    let _ = target.remove_event_listener_with_callback(done, on_done.as_ref().unchecked_ref());
    for event in failures {
        let _ = target.remove_event_listener_with_callback(event, on_failure.as_ref().unchecked_ref());
    }
    result.map(drop).map_err(|_| TrackerError::Browser(format!("{what} failed")))
}

/// One database of text records.
pub(crate) struct Records(IdbDatabase);

impl Records {
    /// Opens (creating on first use) the database `name`.
    pub(crate) async fn open(factory: &IdbFactory, name: &str) -> Result<Self, TrackerError> {
        let request: IdbOpenDbRequest = factory.open_with_u32(name, 1).map_err(failed("indexedDB.open"))?;
        let creating = request.clone();
        let upgrade = Closure::<dyn FnMut()>::new(move || {
            if let Ok(db) = creating.result().map(JsCast::unchecked_into::<IdbDatabase>) {
                let _ = db.create_object_store(STORE);
            }
        });
        request.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
        let opened = fired(&request, "success", &["error", "blocked"], "indexedDB.open").await;
        request.set_onupgradeneeded(None);
        opened?;
        Ok(Self(request.result().map_err(failed("indexedDB.open"))?.unchecked_into()))
    }

    /// The record `key`; `None` when there is none.
    pub(crate) async fn get(&self, key: &str) -> Result<Option<String>, TrackerError> {
        let store = self.0.transaction_with_str(STORE).and_then(|t| t.object_store(STORE));
        let request: IdbRequest =
            store.and_then(|s| s.get(&JsValue::from_str(key))).map_err(failed("indexedDB get"))?;
        fired(&request, "success", &["error"], "indexedDB get").await?;
        Ok(request.result().map_err(failed("indexedDB get"))?.as_string())
    }

    /// Writes the record `key`, and returns once the write committed.
    pub(crate) async fn put(&self, key: &str, text: &str) -> Result<(), TrackerError> {
        let transaction = self
            .0
            .transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)
            .map_err(failed("indexedDB put"))?;
        transaction
            .object_store(STORE)
            .and_then(|s| s.put_with_key(&JsValue::from_str(text), &JsValue::from_str(key)))
            .map_err(failed("indexedDB put"))?;
        fired(&transaction, "complete", &["error", "abort"], "indexedDB put").await
    }
}
