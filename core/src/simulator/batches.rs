//! Message Batches as the simulator keeps them: each batch's requests, its results once processed, and the
//! `MessageBatch` object exactly as the API shows it (counts all `processing` until the batch has ended,
//! `results_url` null until then).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use tokio::sync::Notify;

use super::params::MessageParams;
use super::time::rfc3339;

/// Where a batch stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    InProgress,
    Canceling,
    Ended,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::InProgress => "in_progress",
            Status::Canceling => "canceling",
            Status::Ended => "ended",
        }
    }
}

/// One batch.
#[derive(Debug)]
pub(crate) struct Batch {
    pub(crate) id: String,
    /// Creation order within this simulator, from 1; seeds the batch's result mix.
    pub(crate) seq: u64,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) ended_at: Option<DateTime<Utc>>,
    pub(crate) cancel_initiated_at: Option<DateTime<Utc>>,
    pub(crate) status: Status,
    /// `(custom_id, params)` in request order.
    pub(crate) requests: Vec<(String, MessageParams)>,
    /// The `result` object of each request once processed.
    pub(crate) results: Vec<Option<Value>>,
    /// Wakes the processing task when a cancel arrives.
    pub(crate) cancel: Arc<Notify>,
}

impl Batch {
    /// The `MessageBatch` object; `base_url` makes `results_url` absolute.
    pub(crate) fn to_json(&self, base_url: &str) -> Value {
        let ended = self.status == Status::Ended;
        let count = |kind: &str| {
            if ended { self.results.iter().flatten().filter(|r| r["type"] == kind).count() } else { 0 }
        };
        json!({
            "id": self.id,
            "type": "message_batch",
            "processing_status": self.status.as_str(),
            "request_counts": {
                "processing": if ended { 0 } else { self.requests.len() },
                "succeeded": count("succeeded"),
                "errored": count("errored"),
                "canceled": count("canceled"),
                "expired": count("expired"),
            },
            "ended_at": self.ended_at.map(rfc3339),
            "created_at": rfc3339(self.created_at),
            "expires_at": rfc3339(self.created_at + TimeDelta::hours(24)),
            "archived_at": null,
            "cancel_initiated_at": self.cancel_initiated_at.map(rfc3339),
            "results_url": ended.then(|| format!("{base_url}/v1/messages/batches/{}/results", self.id)),
        })
    }

    /// The results file: one `{"custom_id","result"}` line per request, in `order`.
    pub(crate) fn results_jsonl(&self, order: &[usize]) -> String {
        let mut out = String::new();
        for &i in order {
            let result = self.results[i].clone().unwrap_or_else(|| json!({"type": "canceled"}));
            out.push_str(&json!({"custom_id": self.requests[i].0, "result": result}).to_string());
            out.push('\n');
        }
        out
    }
}

/// All batches of one simulator, newest last.
#[derive(Debug, Default)]
pub(crate) struct BatchStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    order: Vec<String>,
    batches: HashMap<String, Batch>,
    created: u64,
}

impl BatchStore {
    /// Stores a new in-progress batch and returns its creation number.
    pub(crate) fn insert(&self, id: String, requests: Vec<(String, MessageParams)>) -> u64 {
        let mut inner = self.lock();
        inner.created += 1;
        let n = requests.len();
        let batch = Batch {
            id: id.clone(),
            seq: inner.created,
            created_at: Utc::now(),
            ended_at: None,
            cancel_initiated_at: None,
            status: Status::InProgress,
            requests,
            results: vec![None; n],
            cancel: Arc::new(Notify::new()),
        };
        inner.order.push(id.clone());
        inner.batches.insert(id, batch);
        inner.created
    }

    /// Runs `f` on batch `id`, if it exists.
    pub(crate) fn with<R>(&self, id: &str, f: impl FnOnce(&mut Batch) -> R) -> Option<R> {
        self.lock().batches.get_mut(id).map(f)
    }

    /// Removes batch `id` if it has ended: `Some(true)` removed, `Some(false)` still processing, `None` unknown.
    pub(crate) fn remove_ended(&self, id: &str) -> Option<bool> {
        let mut inner = self.lock();
        let ended = inner.batches.get(id)?.status == Status::Ended;
        if ended {
            inner.batches.remove(id);
            inner.order.retain(|b| b != id);
        }
        Some(ended)
    }

    /// One page of the list, newest first: up to `limit` batches after `after_id` or before `before_id`.
    /// Returns the page's objects and whether more follow.
    pub(crate) fn page(
        &self,
        base_url: &str,
        limit: usize,
        after_id: Option<&str>,
        before_id: Option<&str>,
    ) -> (Vec<Value>, bool) {
        let inner = self.lock();
        let newest_first: Vec<&String> = inner.order.iter().rev().collect();
        let position = |id: &str| newest_first.iter().position(|b| b.as_str() == id);
        let (start, end) = match (after_id.and_then(position), before_id.and_then(position)) {
            (Some(after), _) => (after + 1, newest_first.len()),
            (None, Some(before)) => (before.saturating_sub(limit), before),
            (None, None) => (0, newest_first.len()),
        };
        let window = &newest_first[start.min(end)..end];
        let page: Vec<Value> = (window.iter().take(limit))
            .filter_map(|id| inner.batches.get(id.as_str()))
            .map(|b| b.to_json(base_url))
            .collect();
        let more = if before_id.is_some() && after_id.is_none() { start > 0 } else { window.len() > limit };
        (page, more)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::tokens::PromptLayout;

    fn params() -> MessageParams {
        MessageParams {
            model: "m".into(),
            max_tokens: 10,
            forces_item_tool: false,
            brief: None,
            layout: PromptLayout::default(),
        }
    }

    #[test]
    fn counts_stay_processing_until_the_batch_ends() {
        let store = BatchStore::default();
        store.insert("b1".into(), vec![("a".into(), params()), ("b".into(), params())]);
        let json = store.with("b1", |b| b.to_json("http://x")).unwrap();
        assert_eq!(json["request_counts"]["processing"], 2);
        assert!(json["results_url"].is_null());
        store.with("b1", |b| {
            b.results = vec![Some(json!({"type": "expired"})), Some(json!({"type": "canceled"}))];
            b.status = Status::Ended;
        });
        let json = store.with("b1", |b| b.to_json("http://x")).unwrap();
        assert_eq!(json["request_counts"]["expired"], 1);
        assert_eq!(json["request_counts"]["processing"], 0);
        assert_eq!(json["results_url"], "http://x/v1/messages/batches/b1/results");
    }

    #[test]
    fn pages_run_newest_first() {
        let store = BatchStore::default();
        for id in ["b1", "b2", "b3"] {
            store.insert(id.into(), vec![("a".into(), params())]);
        }
        let ids = |page: &[Value]| page.iter().map(|b| b["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
        let (first, more) = store.page("u", 2, None, None);
        assert_eq!((ids(&first), more), (vec!["b3".to_owned(), "b2".to_owned()], true));
        let (next, more) = store.page("u", 2, Some("b2"), None);
        assert_eq!((ids(&next), more), (vec!["b1".to_owned()], false));
        let (back, more) = store.page("u", 2, None, Some("b1"));
        assert_eq!((ids(&back), more), (vec!["b3".to_owned(), "b2".to_owned()], false));
        assert_eq!(store.remove_ended("b1"), Some(false));
        assert_eq!(store.remove_ended("zz"), None);
    }
}
