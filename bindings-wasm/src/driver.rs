//! The tracker's engine, which only runs the core's rules. Every change to the jobs happens under the state lock:
//! load the saved jobs, change them through the core's `Tracker`, save them. Due jobs are started there, and their
//! requests run outside it. A timer wakes the tracker at the core's `next_wake`. Other tabs' attempts are watched
//! through their attempt locks. Dedupe, backoff, retries, timeouts and abandonment are decided by pregen-core.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use chrono::{DateTime, TimeDelta, Utc};
use js_sys::Function;
use pregen_core::queue::{
    Job, JobId, JobKey, JobState, Outcome, QueueStatus, Tracker, answer_outcome, parse_retry_after_with,
    unreachable_outcome,
};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{AbortController, MessageEvent};

use crate::clock;
use crate::errors::TrackerError;
use crate::http::{self, Answer};
use crate::locks::{HeldLock, Locks};
use crate::log;
use crate::options::TrackerConfig;
use crate::storage::SavedJobs;
use crate::task;
use crate::types::{Enqueued, to_js};

/// How soon to look again when something is due that this tab could not start (its attempt lock was taken).
const BUSY_RETRY_MS: i32 = 250;
/// How soon to try again after the queue could not be run (storage or locks failed).
const FAILED_PUMP_RETRY: TimeDelta = TimeDelta::seconds(5);

/// What one pass over the jobs decided.
struct Plan {
    /// Attempts this tab starts now, with their attempt locks and abort controllers.
    started: Vec<(Job, HeldLock, AbortController)>,
    /// When to look again.
    wake: Option<DateTime<Utc>>,
    /// Attempt locks of attempts other tabs run, to hear when they end.
    elsewhere: Vec<String>,
    /// What the pass enqueued first.
    enqueued: Vec<Enqueued>,
}

/// The listener for other tabs' copies, kept to remove it on stop.
type TabListener = Closure<dyn FnMut(MessageEvent)>;

/// One page's tracker: the saved jobs, the locks, this tab's running attempts and its wake timer.
pub(crate) struct Driver {
    config: TrackerConfig,
    saved: SavedJobs,
    locks: Locks,
    /// This tab's attempts: job, attempt number, abort controller. A handful at most, so a list.
    running_here: RefCell<Vec<(JobId, u32, AbortController)>>,
    watched: RefCell<Vec<String>>,
    wake: RefCell<Option<crate::timer::Timeout>>,
    on_change: RefCell<Option<Function>>,
    tab_listener: RefCell<Option<TabListener>>,
    stopped: Cell<bool>,
}

impl Driver {
    /// A tracker over the jobs saved under the config's key; it resumes them at once.
    pub(crate) fn start(config: TrackerConfig) -> Rc<Self> {
        let driver = Rc::new(Self {
            saved: SavedJobs::open(&config.storage_key),
            locks: Locks::open(),
            config,
            running_here: RefCell::default(),
            watched: RefCell::default(),
            wake: RefCell::default(),
            on_change: RefCell::default(),
            tab_listener: RefCell::default(),
            stopped: Cell::new(false),
        });
        driver.listen_to_other_tabs();
        driver.pump();
        driver
    }

    /// Runs `change` on the jobs under the state lock, with the browser's `now`, and saves them.
    pub(crate) async fn change<R: 'static>(
        self: &Rc<Self>,
        change: impl FnOnce(&mut Tracker, DateTime<Utc>) -> R + 'static,
    ) -> Result<R, TrackerError> {
        let me = self.clone();
        let work = async move {
            let mut tracker = me.saved.load(me.config.queue).await?;
            let result = change(&mut tracker, clock::now());
            me.saved.save(&tracker).await?;
            Ok(result)
        };
        self.locks.exclusive(&self.config.state_lock(), work).await?
    }

    /// The status now, of this tab's latest view of the jobs (kept current by every change in any tab).
    pub(crate) fn status(&self) -> Result<QueueStatus, TrackerError> {
        Ok(self.saved.view(self.config.queue)?.status(clock::now()))
    }

    /// Every saved job, finished ones included until retention purges them.
    pub(crate) fn jobs(&self) -> Result<Vec<Job>, TrackerError> {
        Ok(self.saved.view(self.config.queue)?.jobs().to_vec())
    }

    /// Enqueues `keys` (a key with an unfinished job is not queued twice) and starts what is due, in one pass
    /// under the state lock.
    pub(crate) async fn enqueue(self: Rc<Self>, keys: Vec<JobKey>) -> Result<Vec<Enqueued>, TrackerError> {
        let enqueued = self.pump_once(keys).await?;
        for e in &enqueued {
            let what = if e.created { "queued" } else { "already queued" };
            log::debug(&format!("job {} ({} for {}) {what}", e.job_id, e.exam_type, e.user_id));
        }
        Ok(enqueued)
    }

    /// Cancels every waiting job (running ones finish), as the old `clearJobQueue`; says how many.
    pub(crate) async fn clear(self: Rc<Self>) -> Result<usize, TrackerError> {
        let cancelled = self.change(|tracker, now| tracker.clear(now)).await?;
        log::info(&format!("cleared the queue: {cancelled} waiting jobs cancelled"));
        self.pump();
        Ok(cancelled)
    }

    /// Sets the function called with the status after every change this tab makes or hears of.
    pub(crate) fn set_on_change(&self, callback: Option<Function>) {
        *self.on_change.borrow_mut() = callback;
    }

    /// Stops for good: no more wake-ups; running attempts are aborted and handed back uncounted.
    pub(crate) fn stop(&self) {
        if self.stopped.replace(true) {
            return;
        }
        self.wake.borrow_mut().take();
        self.on_change.borrow_mut().take();
        if let (Some(channel), Some(_listener)) = (self.saved.channel(), self.tab_listener.borrow_mut().take()) {
            channel.set_onmessage(None);
            channel.close();
        }
        for (_, _, controller) in self.running_here.borrow().iter() {
            controller.abort();
        }
    }

    /// Runs one pass over the jobs soon (never inside the caller's stack).
    pub(crate) fn pump(self: &Rc<Self>) {
        if self.stopped.get() {
            return;
        }
        let me = self.clone();
        task::spawn(async move {
            if let Err(err) = me.clone().pump_once(Vec::new()).await {
                log::warn(&format!("could not run the queue: {err}"));
                me.schedule(Some(clock::now() + FAILED_PUMP_RETRY));
            }
        });
    }

    /// One pass: enqueues `keys`, then runs the queue (see [`Driver::plan`]); returns what was enqueued.
    async fn pump_once(self: Rc<Self>, keys: Vec<JobKey>) -> Result<Vec<Enqueued>, TrackerError> {
        if self.stopped.get() && !keys.is_empty() {
            return Err(TrackerError::Browser("the tracker was stopped".into()));
        }
        let me = self.clone();
        let plan = self.locks.exclusive(&self.config.state_lock(), me.plan(keys)).await??;
        for (job, lock, controller) in plan.started {
            task::spawn(self.clone().run_attempt(job, lock, controller));
        }
        self.watch(plan.elsewhere);
        self.schedule(plan.wake);
        self.notify();
        Ok(plan.enqueued)
    }

    /// Under the state lock: enqueues `keys`, settles attempts whose tab went away and attempts past their
    /// deadline, purges what retention allows, and starts every due job.
    async fn plan(self: Rc<Self>, keys: Vec<JobKey>) -> Result<Plan, TrackerError> {
        let mut tracker = self.saved.load(self.config.queue).await?;
        let now = clock::now();
        let enqueue = |key: &JobKey| tracker.enqueue(&key.user_id, key.exam_type, now);
        let enqueued = keys.iter().map(enqueue).map(|(job, created)| Enqueued::of(&job, created)).collect();
        if let Some(held) = self.locks.held().await {
            self.settle_lost(&mut tracker, &held, clock::now());
        }
        let now = clock::now();
        for job in tracker.reap(now, clock::jitter_unit()) {
            if let Some((_, _, controller)) = self.running_here.borrow().iter().find(|r| is_attempt(r, &job)) {
                controller.abort();
            }
            log_decision(&job);
        }
        tracker.purge(now);
        let mut started = Vec::new();
        // Due jobs, longest waiting first. A job whose attempt lock is taken stops the round; the busy retry
        // comes back for it.
        while let Some(due) = tracker.next_due(now) {
            let (id, attempt) = (due.id.clone(), due.attempt + 1);
            let Some(lock) = self.locks.try_hold(&self.config.attempt_lock(id.as_str(), attempt)).await else {
                break;
            };
            let controller = AbortController::new().map_err(|e| TrackerError::browser("AbortController", &e))?;
            started.push((tracker.start(&id, now)?, lock, controller));
        }
        self.saved.save(&tracker).await?;
        let mut running_here = self.running_here.borrow_mut();
        for (job, _, controller) in &started {
            running_here.push((job.id.clone(), job.attempt, controller.clone()));
        }
        let elsewhere = self.running_elsewhere(&tracker, &running_here);
        Ok(Plan { started, wake: tracker.next_wake(now), elsewhere, enqueued })
    }

    /// Records as abandoned every running attempt whose attempt lock nobody holds: its tab was closed, reloaded
    /// or crashed (the browser let its locks go).
    fn settle_lost(&self, tracker: &mut Tracker, held: &[String], now: DateTime<Utc>) {
        let lost: Vec<(JobId, u32)> = tracker
            .jobs()
            .iter()
            .filter(|job| job.state == JobState::Running)
            .filter(|job| !held.contains(&self.config.attempt_lock(job.id.as_str(), job.attempt)))
            .map(|job| (job.id.clone(), job.attempt))
            .collect();
        for (id, attempt) in lost {
            match tracker.finish(&id, attempt, &Outcome::Abandoned, now, clock::jitter_unit()) {
                Ok(job) => log_decision(&job),
                Err(err) => log::warn(&format!("job {id}: lost attempt {attempt} not settled: {err}")),
            }
        }
    }

    fn running_elsewhere(&self, tracker: &Tracker, running_here: &[(JobId, u32, AbortController)]) -> Vec<String> {
        tracker
            .jobs()
            .iter()
            .filter(|job| job.state == JobState::Running && !running_here.iter().any(|r| is_attempt(r, job)))
            .map(|job| self.config.attempt_lock(job.id.as_str(), job.attempt))
            .collect()
    }

    /// Sends one attempt, reports how it ended, lets its attempt lock go, and runs the queue again.
    async fn run_attempt(self: Rc<Self>, job: Job, lock: HeldLock, controller: AbortController) {
        let (id, attempt) = (job.id.clone(), job.attempt);
        log::debug(&format!(
            "job {id} ({} for {}): attempt {attempt} of {} sent",
            job.key.exam_type, job.key.user_id, job.max_attempts
        ));
        let abort = controller.clone();
        let deadline = job.deadline.map(|d| clock::millis_until(d, clock::now()));
        let deadline_timer = deadline.and_then(|ms| crate::timer::Timeout::after(ms, move || abort.abort()));
        let answer = http::post_job(&self.config.endpoint, &job, &controller.signal()).await;
        drop(deadline_timer);
        self.running_here
            .borrow_mut()
            .retain(|(run_id, run_attempt, _)| !(*run_id == id && *run_attempt == attempt));
        // `None`: the tracker stopped and aborted the attempt, which is handed back uncounted.
        let outcome = match answer {
            Answer::Aborted if self.stopped.get() => None,
            Answer::Answered { status, retry_after, body } => {
                let wait = retry_after.and_then(|v| parse_retry_after_with(&v, clock::now(), clock::http_date));
                Some(answer_outcome(status, wait, &body))
            }
            Answer::Aborted => Some(Outcome::TimedOut),
            Answer::Unreachable(why) => Some(unreachable_outcome(&why)),
        };
        let report_id = id.clone();
        let report = self
            .change(move |tracker, now| match outcome {
                Some(outcome) => tracker.finish(&report_id, attempt, &outcome, now, clock::jitter_unit()),
                None => tracker.release(&report_id, attempt, now),
            })
            .await;
        lock.release();
        match report {
            Ok(Ok(job)) => log_decision(&job),
            Ok(Err(refused)) => log::debug(&format!("job {id}: report of attempt {attempt} not taken: {refused}")),
            Err(err) => log::warn(&format!("job {id}: attempt {attempt} could not be recorded: {err}")),
        }
        self.pump();
    }

    /// Wakes the tracker at `wake` (replacing the previous timer).
    fn schedule(self: &Rc<Self>, wake: Option<DateTime<Utc>>) {
        let weak = Rc::downgrade(self);
        let timer = wake.and_then(|at| {
            let delay = match clock::millis_until(at, clock::now()) {
                0 => BUSY_RETRY_MS,
                ms => ms,
            };
            crate::timer::Timeout::after(delay, move || upgrade_and(&weak, |me| me.pump()))
        });
        *self.wake.borrow_mut() = timer;
    }

    /// Runs the queue when each of these attempt locks is let go (the attempt ended, or its tab went away).
    fn watch(self: &Rc<Self>, names: Vec<String>) {
        for name in names {
            if self.watched.borrow().contains(&name) {
                continue;
            }
            self.watched.borrow_mut().push(name.clone());
            let weak = Rc::downgrade(self);
            let watched = name.clone();
            self.locks.when_free(&name, move || {
                upgrade_and(&weak, |me| {
                    me.watched.borrow_mut().retain(|w| *w != watched);
                    me.pump();
                })
            });
        }
    }

    /// Hears of other tabs' changes (their copies on the channel): re-arms the timer and watches for the new
    /// state.
    fn listen_to_other_tabs(self: &Rc<Self>) {
        let Some(channel) = self.saved.channel() else {
            return;
        };
        let weak = Rc::downgrade(self);
        let listener = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(text) = event.data().as_string() {
                upgrade_and(&weak, |me| {
                    me.saved.heard(text);
                    me.refresh();
                })
            }
        });
        channel.set_onmessage(Some(listener.as_ref().unchecked_ref()));
        *self.tab_listener.borrow_mut() = Some(listener);
    }

    fn refresh(self: &Rc<Self>) {
        if self.stopped.get() {
            return;
        }
        match self.saved.view(self.config.queue) {
            Ok(tracker) => {
                let elsewhere = self.running_elsewhere(&tracker, &self.running_here.borrow());
                self.watch(elsewhere);
                self.schedule(tracker.next_wake(clock::now()));
                self.notify();
            }
            Err(err) => log::warn(&format!("could not read the saved jobs: {err}")),
        }
    }

    /// Calls the page's change callback with the status.
    fn notify(&self) {
        let Some(callback) = self.on_change.borrow().clone() else {
            return;
        };
        let status = self.status().and_then(|s| to_js(&s));
        match status {
            Ok(status) => {
                if let Err(err) = callback.call1(&wasm_bindgen::JsValue::NULL, &status) {
                    log::warn(&format!("onChange callback threw: {}", crate::errors::js_text(&err)));
                }
            }
            Err(err) => log::warn(&format!("status unavailable: {err}")),
        }
    }
}

/// Whether a running-here entry is `job`'s current attempt.
fn is_attempt((id, attempt, _): &(JobId, u32, AbortController), job: &Job) -> bool {
    *id == job.id && *attempt == job.attempt
}

fn upgrade_and(weak: &Weak<Driver>, run: impl FnOnce(&Rc<Driver>)) {
    if let Some(driver) = weak.upgrade() {
        run(&driver);
    }
}

/// Logs what the core decided for a job after an attempt.
fn log_decision(job: &Job) {
    let who = format!("job {} ({} for {})", job.id, job.key.exam_type, job.key.user_id);
    let error = job.last_error.as_ref().map(|e| e.to_string()).unwrap_or_default();
    match job.state {
        JobState::Succeeded => log::debug(&format!("{who} succeeded on attempt {}", job.attempt)),
        JobState::RetryWait => log::debug(&format!(
            "{who} attempt {} failed ({error}); next attempt at {}",
            job.attempt,
            job.run_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        )),
        JobState::Dead => log::warn(&format!("{who} failed for good after attempt {}: {error}", job.attempt)),
        JobState::Pending => log::debug(&format!("{who} handed back; attempt {} not counted", job.attempt + 1)),
        JobState::Running | JobState::Cancelled => {}
    }
}
