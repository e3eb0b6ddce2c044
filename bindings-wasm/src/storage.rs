//! The saved jobs: one JSON record in the page's IndexedDB (a database named by the storage key), so they survive
//! a reload and all tabs of the origin share one queue. Reads and writes happen under the state lock, and a write
//! returns only once it committed. A `BroadcastChannel` of the same name hands every new copy to the other tabs;
//! each tab keeps the latest copy it knows as its view, for the synchronous status. Without IndexedDB (blocked by
//! the browser) the jobs live in this tab only, and a warning says so.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use pregen_core::queue::{QueueOptions, SavedQueue, Tracker};
use web_sys::{BroadcastChannel, IdbFactory};

use crate::errors::TrackerError;
use crate::idb::Records;
use crate::log;

/// The record holding the jobs.
const RECORD: &str = "jobs";
/// Where a copy the core refused is kept, so nothing is lost silently.
const REFUSED_RECORD: &str = "refused";

/// Where this tab reads and writes the saved jobs.
pub(crate) struct SavedJobs {
    name: String,
    factory: Option<IdbFactory>,
    unavailable: Cell<bool>,
    records: RefCell<Option<Rc<Records>>>,
    view: RefCell<Option<String>>,
    channel: Option<BroadcastChannel>,
}

/// Restores `tracker` from the saved text; the reason when the copy is refused.
fn restore(tracker: &mut Tracker, text: &str) -> Result<(), String> {
    let saved = serde_json::from_str::<SavedQueue>(text).map_err(|e| format!("unreadable: {e}"))?;
    tracker.restore(saved).map_err(|e| e.to_string())
}

impl SavedJobs {
    /// The saved jobs of `name`, in IndexedDB when the browser allows it.
    pub(crate) fn open(name: &str) -> Self {
        let window = web_sys::window();
        let factory = window.as_ref().and_then(|w| w.indexed_db().ok().flatten());
        if factory.is_none() {
            log::warn("IndexedDB is unavailable: jobs are kept in this tab only and are lost on reload");
        }
        let channel = BroadcastChannel::new(name).ok();
        Self {
            name: name.to_owned(),
            factory,
            unavailable: Cell::new(false),
            records: RefCell::default(),
            view: RefCell::default(),
            channel,
        }
    }

    async fn records(&self) -> Result<Option<Rc<Records>>, TrackerError> {
        let Some(factory) = self.factory.as_ref().filter(|_| !self.unavailable.get()) else {
            return Ok(None);
        };
        if let Some(records) = self.records.borrow().clone() {
            return Ok(Some(records));
        }
        match Records::open(factory, &self.name).await {
            Ok(records) => {
                let opened = Rc::new(records);
                *self.records.borrow_mut() = Some(opened.clone());
                Ok(Some(opened))
            }
            Err(err) => {
                // Private modes may refuse IndexedDB: keep the queue in this tab rather than not at all.
                log::warn(&format!("{err}: jobs are kept in this tab only and are lost on reload"));
                self.unavailable.set(true);
                Ok(None)
            }
        }
    }

    /// A tracker with `options` over the committed copy of the jobs (none saved: empty). Call it under the state
    /// lock. A copy the core refuses is reported, kept under its own record, and the tracker starts empty.
    pub(crate) async fn load(&self, options: QueueOptions) -> Result<Tracker, TrackerError> {
        let text = match self.records().await? {
            Some(records) => records.get(RECORD).await?,
            None => self.view.borrow().clone(),
        };
        self.view.replace(text.clone());
        let mut tracker = Tracker::new(options)?;
        if let Some(text) = text
            && let Err(why) = restore(&mut tracker, &text)
        {
            log::warn(&format!("saved jobs refused ({why}); kept as record \"{REFUSED_RECORD}\", starting empty"));
            if let Some(records) = self.records().await? {
                records.put(REFUSED_RECORD, &text).await?;
            }
        }
        Ok(tracker)
    }

    /// A tracker over this tab's latest view of the jobs, for reading only (the status, the job list).
    pub(crate) fn view(&self, options: QueueOptions) -> Result<Tracker, TrackerError> {
        let mut tracker = Tracker::new(options)?;
        if let Some(text) = self.view.borrow().as_deref() {
            // A refused copy is reported by the next `load`; the view shows no jobs meanwhile.
            let _ = restore(&mut tracker, text);
        }
        Ok(tracker)
    }

    /// Saves the tracker's jobs when they changed, once committed tells the other tabs. Under the state lock.
    pub(crate) async fn save(&self, tracker: &Tracker) -> Result<(), TrackerError> {
        let text = serde_json::to_string(&tracker.save()).map_err(|e| TrackerError::Browser(e.to_string()))?;
        if self.view.borrow().as_deref() == Some(text.as_str()) {
            return Ok(());
        }
        if let Some(records) = self.records().await? {
            records.put(RECORD, &text).await?;
        }
        if let Some(channel) = &self.channel
            && let Err(err) = channel.post_message(&text.as_str().into())
        {
            log::warn(&format!("{}", TrackerError::browser("BroadcastChannel", &err)));
        }
        self.view.replace(Some(text));
        Ok(())
    }

    /// Takes a copy another tab saved as this tab's view.
    pub(crate) fn heard(&self, text: String) {
        self.view.replace(Some(text));
    }

    /// The channel other tabs announce their copies on.
    pub(crate) fn channel(&self) -> Option<&BroadcastChannel> {
        self.channel.as_ref()
    }
}
