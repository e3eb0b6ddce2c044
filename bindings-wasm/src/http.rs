//! One attempt's request: `POST <endpoint>` with `{userId, examType}` through `fetch`, abortable through an
//! `AbortSignal`. What the answer means is the core's (`pregen_core::queue::answer_outcome`).

use pregen_core::queue::Job;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Headers, RequestInit, Response};

use crate::errors::js_text;

/// How a request ended.
pub(crate) enum Answer {
    /// The route answered: its status, `Retry-After` header and body text.
    Answered {
        /// The HTTP status.
        status: u16,
        /// The `Retry-After` header, if any.
        retry_after: Option<String>,
        /// The body.
        body: String,
    },
    /// The signal aborted the request (its deadline came, or the tracker stopped).
    Aborted,
    /// No answer: the network failed (the browser's message).
    Unreachable(String),
}

/// The request body, the route's `{userId, examType}`.
fn body(job: &Job) -> String {
    // Serialising the key itself gives exactly the route's two fields.
    serde_json::to_string(&job.key).unwrap_or_default()
}

fn init(job: &Job, signal: &AbortSignal) -> Result<RequestInit, JsValue> {
    let headers = Headers::new()?;
    headers.set("content-type", "application/json")?;
    // For the server's logs: which job and attempt a request belongs to.
    headers.set("x-pregen-job-id", job.id.as_str())?;
    headers.set("x-pregen-attempt", &job.attempt.to_string())?;
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_headers(&headers);
    init.set_body(&JsValue::from_str(&body(job)));
    init.set_signal(Some(signal));
    Ok(init)
}

/// Sends attempt `job.attempt` of `job` to `endpoint` and waits for the whole answer.
pub(crate) async fn post_job(endpoint: &str, job: &Job, signal: &AbortSignal) -> Answer {
    let failed =
        |err: JsValue| if signal.aborted() { Answer::Aborted } else { Answer::Unreachable(js_text(&err)) };
    let Some(window) = web_sys::window() else {
        return Answer::Unreachable("no window".to_owned());
    };
    let request = match init(job, signal) {
        Ok(init) => window.fetch_with_str_and_init(endpoint, &init),
        Err(err) => return failed(err),
    };
    let response: Response = match JsFuture::from(request).await {
        Ok(value) => value.unchecked_into(),
        Err(err) => return failed(err),
    };
    let retry_after = response.headers().get("retry-after").ok().flatten();
    let text = match response.text() {
        Ok(promise) => JsFuture::from(promise).await,
        Err(err) => Err(err),
    };
    match text {
        Ok(body) => {
            Answer::Answered { status: response.status(), retry_after, body: body.as_string().unwrap_or_default() }
        }
        Err(err) => failed(err),
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use pregen_core::exam::ExamType;
    use pregen_core::queue::{JobId, JobKey, QueueOptions};

    use super::*;

    #[test]
    fn body_is_the_routes_shape() {
        let t0 = DateTime::from_timestamp(1_760_000_000, 0).unwrap();
        let job = Job::new(
            JobId::from("job-1"),
            JobKey::new("u\"1", ExamType::Diagnostic),
            t0,
            &QueueOptions::default(),
        );
        assert_eq!(body(&job), r#"{"userId":"u\"1","examType":"diagnostic"}"#);
    }
}
