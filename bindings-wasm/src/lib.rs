//! pregen-wasm: the browser's pre-generation job tracker. The old page module's functions
//! (`enqueueExamGeneration`, `triggerBackgroundPreGeneration`, `getJobQueueStatus`, `clearJobQueue`) run on
//! pregen-core's queue state machine, compiled to WASM. The browser supplies the I/O and the inputs: `fetch` with
//! an `AbortController` per attempt, `setTimeout`, IndexedDB (jobs survive a reload), Web Locks and a
//! `BroadcastChannel` (tabs share one queue and never send one job twice), `Date.now` and `Math.random`. Every rule
//! is the core's.
//!
//! Built with `wasm-bindgen --target web` by `build.sh`; the generated `pkg/pregen_wasm.d.ts` types the API.

mod clock;
mod driver;
mod errors;
mod http;
mod idb;
mod locks;
mod log;
mod options;
mod storage;
mod task;
mod timer;
mod types;

use std::rc::Rc;

use js_sys::{Function, Promise};
use pregen_core::queue::{InputError, parse_exam_type, parse_key, trigger_types};
use wasm_bindgen::prelude::*;

use crate::driver::Driver;
use crate::errors::TrackerError;
use crate::options::{JsObject, TrackerConfig};
use crate::types::to_js;

/// The pre-generation job tracker of one page. Jobs are shared by the origin's tabs through IndexedDB;
/// creating a tracker resumes them.
#[wasm_bindgen]
pub struct JobTracker {
    driver: Rc<Driver>,
}

/// A JS argument as text; `None` when it is not a string.
fn text(value: &JsValue) -> Option<String> {
    value.as_string()
}

fn user_text(value: &JsValue) -> Result<String, TrackerError> {
    text(value).ok_or_else(|| InputError::UserId("must be a string".into()).into())
}

fn exam_type_text(value: &JsValue) -> String {
    text(value).unwrap_or_else(|| errors::js_text(value))
}

#[wasm_bindgen]
impl JobTracker {
    /// A tracker with `options` (all optional); throws an Error with `code` `tracker.invalid_options` or
    /// `queue.invalid_options` when they are wrong. It resumes the saved jobs at once.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_optional_param_type = "TrackerOptions")] options: Option<JsValue>,
    ) -> Result<JobTracker, JsValue> {
        let options = match options {
            Some(value) if !value.is_object() => {
                return Err(TrackerError::Options("options must be an object".into()).into());
            }
            other => other.map(JsObject),
        };
        let config = TrackerConfig::from_options(options.as_ref())?;
        Ok(JobTracker { driver: Driver::start(config) })
    }

    /// Queues an exam of `examType` for `userId` and sends it in the background; a key already queued or running
    /// is not queued again. Throws at once on bad input (`queue.invalid_user_id`, `queue.invalid_exam_type`),
    /// queuing nothing.
    #[wasm_bindgen(js_name = enqueueExamGeneration, unchecked_return_type = "Promise<Enqueued>")]
    pub fn enqueue_exam_generation(
        &self,
        #[wasm_bindgen(js_name = userId, unchecked_param_type = "string")] user_id: JsValue,
        #[wasm_bindgen(js_name = examType, unchecked_param_type = "ExamType")] exam_type: JsValue,
    ) -> Result<Promise, JsValue> {
        let key = parse_key(&user_text(&user_id)?, &exam_type_text(&exam_type)).map_err(TrackerError::from)?;
        let driver = self.driver.clone();
        Ok(task::promise(async move {
            let mut enqueued = driver.enqueue(vec![key]).await?;
            to_js(&enqueued.pop().ok_or_else(|| TrackerError::Browser("nothing enqueued".into()))?)
        }))
    }

    /// The old page-load trigger: both exam types for `userId`, or, after an exam of `lastExamType` was finished,
    /// the other type. Throws at once on bad input, queuing nothing.
    #[wasm_bindgen(js_name = triggerBackgroundPreGeneration, unchecked_return_type = "Promise<Enqueued[]>")]
    pub fn trigger_background_pre_generation(
        &self,
        #[wasm_bindgen(js_name = userId, unchecked_param_type = "string")] user_id: JsValue,
        #[wasm_bindgen(js_name = lastExamType, unchecked_optional_param_type = "ExamType")] last_exam_type: Option<
            JsValue,
        >,
    ) -> Result<Promise, JsValue> {
        let user = user_text(&user_id)?;
        let finished = match last_exam_type {
            None => None,
            Some(t) => Some(parse_exam_type(&exam_type_text(&t)).map_err(TrackerError::from)?),
        };
        let keys = trigger_types(finished)
            .into_iter()
            .map(|t| parse_key(&user, t.as_str()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(TrackerError::from)?;
        let driver = self.driver.clone();
        Ok(task::promise(async move { to_js(&driver.enqueue(keys).await?) }))
    }

    /// The queue's status now, in the old shape (`queueLength`, `isProcessing`, `jobs`) plus `counts` and
    /// `oldestDueAgeMs`. Synchronous: it reads this tab's view of the shared queue, which follows every change in
    /// any tab within milliseconds (and is empty until the tracker's first read, just after construction).
    #[wasm_bindgen(js_name = getJobQueueStatus, unchecked_return_type = "QueueStatus")]
    pub fn get_job_queue_status(&self) -> Result<JsValue, JsValue> {
        Ok(to_js(&self.driver.status()?)?)
    }

    /// Every saved job, finished ones included (a dead job keeps `lastError`) until retention purges them.
    #[wasm_bindgen(js_name = getJobs, unchecked_return_type = "Job[]")]
    pub fn get_jobs(&self) -> Result<JsValue, JsValue> {
        Ok(to_js(&self.driver.jobs()?)?)
    }

    /// The old `clearJobQueue()`: cancels every waiting job (running attempts finish); resolves to how many.
    #[wasm_bindgen(js_name = clearJobQueue, unchecked_return_type = "Promise<number>")]
    pub fn clear_job_queue(&self) -> Promise {
        let driver = self.driver.clone();
        task::promise(async move { Ok(JsValue::from(driver.clear().await? as f64)) })
    }

    /// Calls `callback(status)` after every change this tab makes or hears of from another tab; `null` stops it.
    #[wasm_bindgen(js_name = onChange)]
    pub fn on_change(
        &self,
        #[wasm_bindgen(unchecked_param_type = "((status: QueueStatus) => void) | null")] callback: JsValue,
    ) {
        self.driver.set_on_change(callback.dyn_into::<Function>().ok());
    }

    /// Stops this tracker: no more requests from it; its running attempts are aborted and handed back uncounted,
    /// for this or another tab to send again.
    pub fn stop(&self) {
        self.driver.stop();
    }
}

impl Drop for JobTracker {
    fn drop(&mut self) {
        self.driver.stop();
    }
}
