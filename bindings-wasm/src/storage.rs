//! The saved jobs in the page's `localStorage` (one JSON value under the storage key), so they survive a reload
//! and every tab of the origin sees one queue. Without `localStorage` (blocked by the browser) the jobs live in
//! this tab's memory only, and a warning says so.

use std::cell::RefCell;

use pregen_core::queue::{QueueOptions, SavedQueue, Tracker};

use crate::errors::TrackerError;
use crate::log;

/// Where this tab reads and writes the saved jobs.
pub(crate) struct SavedJobs {
    key: String,
    local: Option<web_sys::Storage>,
    memory: RefCell<Option<String>>,
}

impl SavedJobs {
    /// The saved jobs under `key` in `localStorage`, or in memory when the browser refuses `localStorage`.
    pub(crate) fn open(key: &str) -> Self {
        let local = web_sys::window().and_then(|w| w.local_storage().ok().flatten());
        if local.is_none() {
            log::warn("localStorage is unavailable: jobs are kept in this tab only and are lost on reload");
        }
        Self { key: key.to_owned(), local, memory: RefCell::new(None) }
    }

    fn read(&self) -> Option<String> {
        match &self.local {
            Some(storage) => storage.get_item(&self.key).ok().flatten(),
            None => self.memory.borrow().clone(),
        }
    }

    fn write(&self, key: &str, text: &str) -> Result<(), TrackerError> {
        match &self.local {
            Some(storage) => storage.set_item(key, text).map_err(|e| TrackerError::browser("localStorage", &e)),
            None => {
                *self.memory.borrow_mut() = Some(text.to_owned());
                Ok(())
            }
        }
    }

    /// A tracker with `options` over the saved jobs (none saved: empty). A copy the core refuses is reported
    /// and, when `repair` (the caller holds the state lock and will save), kept under `<key>:corrupt` so
    /// nothing is lost silently; the tracker then starts empty.
    pub(crate) fn load(&self, options: QueueOptions, repair: bool) -> Result<Tracker, TrackerError> {
        let mut tracker = Tracker::new(options)?;
        let Some(text) = self.read() else {
            return Ok(tracker);
        };
        let restored = serde_json::from_str::<SavedQueue>(&text)
            .map_err(|e| format!("unreadable: {e}"))
            .and_then(|saved| tracker.restore(saved).map_err(|e| e.to_string()));
        if let Err(why) = restored {
            if repair {
                let backup = format!("{}:corrupt", self.key);
                log::warn(&format!("saved jobs refused ({why}); moved to {backup}, starting empty"));
                self.write(&backup, &text)?;
            } else {
                log::warn(&format!("saved jobs refused ({why})"));
            }
        }
        Ok(tracker)
    }

    /// Saves the tracker's jobs when they differ from what is stored (other tabs hear of real changes only).
    pub(crate) fn save(&self, tracker: &Tracker) -> Result<(), TrackerError> {
        let text = serde_json::to_string(&tracker.save()).map_err(|e| TrackerError::Browser(e.to_string()))?;
        if self.read().as_deref() == Some(text.as_str()) {
            return Ok(());
        }
        self.write(&self.key, &text)
    }

    /// Whether a `storage` event's key is this one.
    pub(crate) fn is_key(&self, key: Option<String>) -> bool {
        key.as_deref() == Some(self.key.as_str())
    }
}
