//! The shapes JS sees, converted through JSON: pregen-core's serde forms (`QueueStatus`, `Job`) and the tracker's
//! own `Enqueued`, with their TypeScript declarations, which go into the generated `.d.ts`. A test keeps the
//! declarations' fields equal to the serialised fields.

use pregen_core::exam::ExamType;
use pregen_core::queue::Job;
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::errors::TrackerError;

/// What an enqueue did for one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Enqueued {
    /// The job that holds the key: the new one, or the unfinished one already queued.
    pub(crate) job_id: String,
    /// The user.
    pub(crate) user_id: String,
    /// The exam type.
    pub(crate) exam_type: ExamType,
    /// `false` when a job of that key was already queued or running (the request was a duplicate).
    pub(crate) created: bool,
}

impl Enqueued {
    /// The result of enqueuing `job`'s key.
    pub(crate) fn of(job: &Job, created: bool) -> Self {
        Self {
            job_id: job.id.to_string(),
            user_id: job.key.user_id.clone(),
            exam_type: job.key.exam_type,
            created,
        }
    }
}

/// Converts a serde value to a plain JS value (through JSON text).
pub(crate) fn to_js<T: Serialize>(value: &T) -> Result<JsValue, TrackerError> {
    let text = serde_json::to_string(value).map_err(|e| TrackerError::Browser(e.to_string()))?;
    js_sys::JSON::parse(&text).map_err(|e| TrackerError::browser("JSON.parse", &e))
}

/// The TypeScript declarations of these shapes, appended to the generated `.d.ts`.
#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = include_str!("types.d.ts");

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::DateTime;
    use pregen_core::queue::{
        AttemptTimeouts, JobError, JobId, JobKey, Lease, QueueOptions, QueueStatus, Retention, RetryPolicy,
    };
    use serde_json::Value;

    use super::*;

    const TS_TYPES: &str = include_str!("types.d.ts");

    /// The field names declared in `interface name { ... }` of the TS section.
    fn declared(name: &str) -> BTreeSet<String> {
        let start = TS_TYPES.find(&format!("export interface {name} ")).unwrap_or_else(|| panic!("{name}"));
        let body = &TS_TYPES[start..];
        let body = &body[body.find('{').unwrap() + 1..body.find("\n}").unwrap()];
        body.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("/**") && !l.starts_with('*'))
            .map(|l| l.split([':', '?']).next().unwrap().trim().to_owned())
            .collect()
    }

    fn keys(value: &Value) -> BTreeSet<String> {
        value.as_object().unwrap().keys().cloned().collect()
    }

    #[test]
    fn declarations_match_the_serialised_shapes() {
        let t0 = DateTime::from_timestamp(1_760_000_000, 0).unwrap();
        let mut job =
            Job::new(JobId::from("job-1"), JobKey::new("u1", ExamType::Practice), t0, &QueueOptions::default());
        job.started_at = Some(t0);
        job.deadline = Some(t0);
        job.finished_at = Some(t0);
        job.lease = Some(Lease { holder: "tracker".into(), expires_at: t0 });
        job.last_error = Some(JobError::new("route.rejected", "400"));
        let status =
            QueueStatus::from_jobs([&Job { state: pregen_core::queue::JobState::Running, ..job.clone() }], t0);
        let status = serde_json::to_value(&status).unwrap();
        let job_json = serde_json::to_value(&job).unwrap();
        let cases = [
            ("Job", keys(&job_json)),
            ("JobError", keys(&job_json["lastError"])),
            ("Lease", keys(&job_json["lease"])),
            ("QueueStatus", keys(&status)),
            ("JobSummary", keys(&status["jobs"][0])),
            ("StateCounts", keys(&status["counts"])),
            ("RetryPolicy", keys(&serde_json::to_value(RetryPolicy::default()).unwrap())),
            ("AttemptTimeouts", keys(&serde_json::to_value(AttemptTimeouts::default()).unwrap())),
            ("Retention", keys(&serde_json::to_value(Retention::default()).unwrap())),
            ("Enqueued", keys(&serde_json::to_value(Enqueued::of(&job, true)).unwrap())),
        ];
        for (name, fields) in cases {
            assert_eq!(declared(name), fields, "{name}");
        }
    }

    #[test]
    fn state_names_match() {
        for state in pregen_core::queue::JobState::ALL {
            assert!(TS_TYPES.contains(&format!("\"{state}\"")), "{state}");
        }
        for t in ExamType::ALL {
            assert!(TS_TYPES.contains(&format!("\"{t}\"")), "{t}");
        }
    }
}
