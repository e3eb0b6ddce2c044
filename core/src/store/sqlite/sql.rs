//! Every SQL statement of the SQLite backend, with bound parameters only. Times are integer milliseconds.

/// Schema version 1: exams and user activity, with the seed's indexes adapted to the claim and cleanup queries.
pub(crate) const SCHEMA_V1: &str = "
CREATE TABLE pre_generated_exams (
    id             TEXT PRIMARY KEY NOT NULL,
    user_id        TEXT NOT NULL,
    exam_type      TEXT NOT NULL CHECK (exam_type IN ('diagnostic', 'practice')),
    questions      TEXT NOT NULL,
    question_count INTEGER NOT NULL,
    generated_at   INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    used           INTEGER NOT NULL DEFAULT 0 CHECK (used IN (0, 1)),
    used_at        INTEGER,
    CHECK ((used = 0) = (used_at IS NULL))
);
-- The seed's partial (user_id, exam_type, used) WHERE used = false, ordered so the claim reads the newest first.
CREATE INDEX pge_unused_by_user ON pre_generated_exams (user_id, exam_type, created_at) WHERE used = 0;
CREATE INDEX pge_user_type ON pre_generated_exams (user_id, exam_type);
CREATE INDEX pge_expires_at ON pre_generated_exams (expires_at);
-- The seed's (used, created_at), keyed on used_at since retention runs from the time of use.
CREATE INDEX pge_used_at ON pre_generated_exams (used, used_at);

CREATE TABLE user_activity (
    user_id       TEXT PRIMARY KEY NOT NULL,
    first_seen_at INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX user_activity_last_seen ON user_activity (last_seen_at);
";

/// ?1 id, ?2 user, ?3 type, ?4 item count, ?5 created (= generated), ?6 expiry, ?7 job id (or NULL),
/// ?8 requests, ?9 input tokens, ?10 output tokens, ?11 cache writes, ?12 cache reads, ?13 cost, ?14 batch,
/// ?15 requested at. The items go to `exam_payloads` ([`INSERT_PAYLOAD`]).
pub(crate) const INSERT_EXAM: &str = "
INSERT INTO pre_generated_exams
    (id, user_id, exam_type, question_count, generated_at, created_at, expires_at, job_id,
     gen_requests, input_tokens, output_tokens, cache_write_tokens, cache_read_tokens, cost_usd, batch,
     requested_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";

/// ?1 exam id, ?2 exam JSON.
pub(crate) const INSERT_PAYLOAD: &str = "INSERT INTO exam_payloads (exam_id, questions) VALUES (?1, ?2)";

/// ?1 exam id.
pub(crate) const PAYLOAD: &str = "SELECT questions FROM exam_payloads WHERE exam_id = ?1";

/// One statement picks and marks the newest servable exam; run inside an immediate transaction.
/// ?1 user, ?2 type, ?3 now.
pub(crate) const CLAIM_EXAM: &str = "
UPDATE pre_generated_exams SET used = 1, used_at = ?3
WHERE rowid = (
    SELECT rowid FROM pre_generated_exams
    WHERE user_id = ?1 AND exam_type = ?2 AND used = 0 AND expires_at > ?3
    ORDER BY created_at DESC, rowid DESC
    LIMIT 1
)
RETURNING id, created_at, expires_at";

/// Counts at most ?4 rows: the refill check needs no more than the target. ?1 user, ?2 type, ?3 stock cut-off,
/// ?4 bound.
pub(crate) const STOCK: &str = "
SELECT COUNT(*) FROM (
    SELECT 1 FROM pre_generated_exams
    WHERE user_id = ?1 AND exam_type = ?2 AND used = 0 AND expires_at > ?3
    LIMIT ?4
)";

/// Every (active user, type) pair below target, in one statement. ?1 active since, ?2 stock cut-off, ?3 target.
pub(crate) const PLAN_MISSING: &str = "
SELECT user_id, exam_type, ?3 - stock FROM (
    SELECT a.user_id AS user_id, t.exam_type AS exam_type,
        (SELECT COUNT(*) FROM pre_generated_exams e
         WHERE e.user_id = a.user_id AND e.exam_type = t.exam_type AND e.used = 0 AND e.expires_at > ?2) AS stock
    FROM user_activity a
    CROSS JOIN (SELECT 'diagnostic' AS exam_type UNION ALL SELECT 'practice') t
    WHERE a.last_seen_at >= ?1
)
WHERE stock < ?3
ORDER BY user_id, exam_type";

/// ?1 now, ?2 batch size.
pub(crate) const DELETE_EXPIRED_BATCH: &str = "
DELETE FROM pre_generated_exams WHERE rowid IN (
    SELECT rowid FROM pre_generated_exams WHERE used = 0 AND expires_at <= ?1 LIMIT ?2
)";

/// ?1 used-at cut-off, ?2 batch size.
pub(crate) const DELETE_USED_BATCH: &str = "
DELETE FROM pre_generated_exams WHERE rowid IN (
    SELECT rowid FROM pre_generated_exams WHERE used = 1 AND used_at <= ?1 LIMIT ?2
)";

/// The stored-row figures of the analytics body. ?1 now, ?2 now + 24 h.
pub(crate) const ANALYTICS_ROWS: &str = "
SELECT COUNT(*),
       COALESCE(SUM(used), 0),
       COALESCE(SUM(expires_at <= ?1), 0),
       COALESCE(SUM(exam_type = 'diagnostic'), 0),
       COALESCE(SUM(exam_type = 'practice'), 0),
       COALESCE(SUM(expires_at > ?1 AND expires_at <= ?2), 0),
       COUNT(DISTINCT user_id)
FROM pre_generated_exams";

/// Active users with no stored row. ?1 active since.
pub(crate) const ACTIVE_USERS_WITHOUT_ROWS: &str = "
SELECT COUNT(*) FROM user_activity a
WHERE a.last_seen_at >= ?1
  AND NOT EXISTS (SELECT 1 FROM pre_generated_exams e WHERE e.user_id = a.user_id)";

/// One user's rows per type. ?1 user, ?2 now, ?3 stock cut-off.
pub(crate) const USER_STOCK: &str = "
SELECT exam_type,
       COALESCE(SUM(used = 0 AND expires_at > ?2), 0),
       COALESCE(SUM(used = 0 AND expires_at > ?3), 0),
       COALESCE(SUM(used), 0),
       COALESCE(SUM(used = 0 AND expires_at <= ?2), 0),
       MIN(CASE WHEN used = 0 AND expires_at > ?2 THEN expires_at END)
FROM pre_generated_exams WHERE user_id = ?1
GROUP BY exam_type";

/// ?1 user, ?2 seen at; keeps the latest instant.
pub(crate) const RECORD_ACTIVITY: &str = "
INSERT INTO user_activity (user_id, first_seen_at, last_seen_at) VALUES (?1, ?2, ?2)
ON CONFLICT (user_id) DO UPDATE SET
    last_seen_at = max(last_seen_at, excluded.last_seen_at),
    first_seen_at = min(first_seen_at, excluded.first_seen_at)";

/// ?1 user.
pub(crate) const LAST_SEEN: &str = "SELECT last_seen_at FROM user_activity WHERE user_id = ?1";

/// ?1 active since.
pub(crate) const COUNT_ACTIVE: &str = "SELECT COUNT(*) FROM user_activity WHERE last_seen_at >= ?1";

/// Schema version 2: the durable job queue, and the link from an exam to the job that made it.
pub(crate) const SCHEMA_V2: &str = "
CREATE TABLE jobs (
    id                 TEXT PRIMARY KEY NOT NULL,
    user_id            TEXT NOT NULL,
    exam_type          TEXT NOT NULL CHECK (exam_type IN ('diagnostic', 'practice')),
    state              TEXT NOT NULL
                       CHECK (state IN ('pending', 'running', 'retry_wait', 'succeeded', 'dead', 'cancelled')),
    attempt            INTEGER NOT NULL DEFAULT 0,
    max_attempts       INTEGER NOT NULL,
    run_at             INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    started_at         INTEGER,
    deadline_at        INTEGER,
    lease_holder       TEXT,
    lease_expires_at   INTEGER,
    finished_at        INTEGER,
    last_error_code    TEXT,
    last_error_message TEXT,
    CHECK ((state = 'running') = (lease_holder IS NOT NULL))
);
-- At most one unfinished job per (user, type): the dedupe rule, enforced by the database.
CREATE UNIQUE INDEX jobs_one_unfinished_per_key ON jobs (user_id, exam_type)
    WHERE state IN ('pending', 'running', 'retry_wait');
CREATE INDEX jobs_due ON jobs (run_at) WHERE state IN ('pending', 'retry_wait');
CREATE INDEX jobs_running_lease ON jobs (lease_expires_at) WHERE state = 'running';
CREATE INDEX jobs_finished ON jobs (state, finished_at) WHERE state IN ('succeeded', 'dead', 'cancelled');

ALTER TABLE pre_generated_exams ADD COLUMN job_id TEXT;
CREATE UNIQUE INDEX pge_job_id ON pre_generated_exams (job_id) WHERE job_id IS NOT NULL;
";

/// Schema version 3: what each exam took to generate, for cost and latency analytics.
pub(crate) const SCHEMA_V3: &str = "
ALTER TABLE pre_generated_exams ADD COLUMN gen_requests INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pre_generated_exams ADD COLUMN input_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pre_generated_exams ADD COLUMN output_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pre_generated_exams ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pre_generated_exams ADD COLUMN cache_read_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pre_generated_exams ADD COLUMN cost_usd REAL NOT NULL DEFAULT 0;
ALTER TABLE pre_generated_exams ADD COLUMN batch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pre_generated_exams ADD COLUMN requested_at INTEGER;
";

/// The columns of a job row, in the order `jobs::read_job` reads them.
macro_rules! job_columns {
    () => {
        "id, user_id, exam_type, state, attempt, max_attempts, run_at, created_at, updated_at, started_at, \
         deadline_at, lease_holder, lease_expires_at, finished_at, last_error_code, last_error_message, releases, \
         max_releases"
    };
}

/// ?1 id, ?2 user, ?3 type, ?4 max attempts, ?5 now, ?6 max releases. Does nothing when an unfinished job holds
/// the key.
pub(crate) const ENQUEUE_JOB: &str = "
INSERT INTO jobs (id, user_id, exam_type, state, attempt, max_attempts, run_at, created_at, updated_at, releases,
                  max_releases)
VALUES (?1, ?2, ?3, 'pending', 0, ?4, ?5, ?5, ?5, 0, ?6)
ON CONFLICT DO NOTHING";

/// ?1 user, ?2 type.
pub(crate) const UNFINISHED_JOB_FOR_KEY: &str = concat!(
    "
SELECT ",
    job_columns!(),
    "
FROM jobs WHERE user_id = ?1 AND exam_type = ?2 AND state IN ('pending', 'running', 'retry_wait')"
);

/// ?1 id.
pub(crate) const JOB_BY_ID: &str = concat!(
    "
SELECT ",
    job_columns!(),
    "
FROM jobs WHERE id = ?1"
);

/// Running jobs whose lease expired or deadline passed. ?1 now, ?2 limit.
pub(crate) const OVERDUE_JOBS: &str = concat!(
    "
SELECT ",
    job_columns!(),
    "
FROM jobs WHERE state = 'running' AND (lease_expires_at <= ?1 OR deadline_at <= ?1)
ORDER BY lease_expires_at LIMIT ?2"
);

/// The claim, in one statement; the same transition as `queue::start`. ?1 holder, ?2 now, ?3 lease expiry,
/// ?4 diagnostic deadline, ?5 practice deadline, ?6 limit.
pub(crate) const CLAIM_JOBS: &str = concat!(
    "
UPDATE jobs SET
    state = 'running', attempt = attempt + 1, started_at = ?2, updated_at = ?2,
    deadline_at = CASE exam_type WHEN 'diagnostic' THEN ?4 ELSE ?5 END,
    lease_holder = ?1, lease_expires_at = ?3
WHERE id IN (
    SELECT id FROM jobs
    WHERE state IN ('pending', 'retry_wait') AND run_at <= ?2 AND attempt < max_attempts
    ORDER BY run_at, created_at
    LIMIT ?6
)
RETURNING ",
    job_columns!()
);

/// Claims one named job if it is due, in one statement (the synchronous pre-generate route). ?1 holder, ?2 now,
/// ?3 lease expiry, ?4 diagnostic deadline, ?5 practice deadline, ?6 job id.
pub(crate) const CLAIM_JOB_BY_ID: &str = concat!(
    "
UPDATE jobs SET
    state = 'running', attempt = attempt + 1, started_at = ?2, updated_at = ?2,
    deadline_at = CASE exam_type WHEN 'diagnostic' THEN ?4 ELSE ?5 END,
    lease_holder = ?1, lease_expires_at = ?3
WHERE id = ?6 AND state IN ('pending', 'retry_wait') AND run_at <= ?2 AND attempt < max_attempts
RETURNING ",
    job_columns!()
);

/// Writes a running job as a pure transition left it (`queue::heartbeat`, `queue::release`), fenced on the holder
/// and attempt it was computed from. ?1 id, ?2 holder, ?3 attempt, then the new values: ?4 state, ?5 attempt,
/// ?6 run_at, ?7 updated_at, ?8 started_at, ?9 deadline, ?10 lease holder, ?11 lease expiry, ?12 finished_at,
/// ?13 error code, ?14 error message, ?15 releases.
pub(crate) const WRITE_HELD_JOB: &str = concat!(
    "
UPDATE jobs SET state = ?4, attempt = ?5, run_at = ?6, updated_at = ?7, started_at = ?8, deadline_at = ?9,
    lease_holder = ?10, lease_expires_at = ?11, finished_at = ?12, last_error_code = ?13,
    last_error_message = ?14, releases = ?15
WHERE id = ?1 AND state = 'running' AND lease_holder = ?2 AND attempt = ?3
RETURNING ",
    job_columns!()
);

/// Writes a decision, fenced. ?1 id, ?2 holder, ?3 attempt, ?4 state, ?5 run_at (NULL keeps it), ?6 error code,
/// ?7 error message, ?8 decided at, ?9 finished at (NULL unless final).
pub(crate) const FINISH_JOB: &str = concat!(
    "
UPDATE jobs SET state = ?4, run_at = COALESCE(?5, run_at), last_error_code = ?6, last_error_message = ?7,
    updated_at = ?8, finished_at = ?9, lease_holder = NULL, lease_expires_at = NULL, deadline_at = NULL
WHERE id = ?1 AND state = 'running' AND lease_holder = ?2 AND attempt = ?3
RETURNING ",
    job_columns!()
);

/// The earliest run time of a waiting job.
pub(crate) const NEXT_DUE: &str = "SELECT MIN(run_at) FROM jobs WHERE state IN ('pending', 'retry_wait')";

pub(crate) const COUNT_JOBS_BY_STATE: &str = "SELECT state, COUNT(*) FROM jobs GROUP BY state";

/// ?1 now.
pub(crate) const OLDEST_DUE: &str = "
SELECT MIN(run_at) FROM jobs WHERE state IN ('pending', 'retry_wait') AND run_at <= ?1";

/// ?1 limit.
pub(crate) const UNFINISHED_JOBS_PAGE: &str = concat!(
    "
SELECT ",
    job_columns!(),
    "
FROM jobs WHERE state IN ('pending', 'running', 'retry_wait')
ORDER BY run_at, created_at LIMIT ?1"
);

/// ?1 now.
pub(crate) const CLEAR_QUEUE: &str = "
UPDATE jobs SET state = 'cancelled', updated_at = ?1, finished_at = ?1 WHERE state IN ('pending', 'retry_wait')";

/// ?1 state, ?2 finished-at cut-off, ?3 batch size.
pub(crate) const DELETE_FINISHED_JOBS_BATCH: &str = "
DELETE FROM jobs WHERE rowid IN (
    SELECT rowid FROM jobs WHERE state = ?1 AND finished_at <= ?2 LIMIT ?3
)";

/// Schema version 4: Message Batches in flight, so any process can collect what another submitted.
pub(crate) const SCHEMA_V4: &str = "
CREATE TABLE claude_batches (
    id            TEXT PRIMARY KEY NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('open', 'collected')),
    holder        TEXT NOT NULL,
    plan          TEXT NOT NULL,
    request_count INTEGER NOT NULL,
    submitted_at  INTEGER NOT NULL,
    collector     TEXT,
    collect_until INTEGER,
    collected_at  INTEGER
);
CREATE INDEX claude_batches_open ON claude_batches (submitted_at) WHERE state = 'open';
";

/// ?1 id, ?2 holder, ?3 plan, ?4 request count, ?5 submitted at.
pub(crate) const INSERT_BATCH: &str = "
INSERT INTO claude_batches (id, state, holder, plan, request_count, submitted_at)
VALUES (?1, 'open', ?2, ?3, ?4, ?5)";

/// Takes every open batch nobody is collecting (or whose collector's hold lapsed). ?1 collector, ?2 now,
/// ?3 hold until.
pub(crate) const CLAIM_OPEN_BATCHES: &str = "
UPDATE claude_batches SET collector = ?1, collect_until = ?3
WHERE state = 'open' AND (collector IS NULL OR collect_until <= ?2)
RETURNING id, holder, plan, request_count, submitted_at";

/// Ends a collector's hold: collected for good, or back to open. ?1 id, ?2 collector, ?3 collected (0/1), ?4 now.
pub(crate) const RELEASE_BATCH: &str = "
UPDATE claude_batches SET
    state = CASE WHEN ?3 THEN 'collected' ELSE 'open' END,
    collected_at = CASE WHEN ?3 THEN ?4 ELSE NULL END,
    collector = NULL, collect_until = NULL
WHERE id = ?1 AND collector = ?2";

pub(crate) const COUNT_OPEN_BATCHES: &str = "SELECT COUNT(*) FROM claude_batches WHERE state = 'open'";

/// Schema version 5: counters kept across cleanups (served and missed claims of the get route).
pub(crate) const SCHEMA_V5: &str = "
CREATE TABLE counters (
    name  TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO counters (name, value) VALUES ('get_served', 0), ('get_missed', 0);
";

/// ?1 counter name.
pub(crate) const BUMP_COUNTER: &str = "UPDATE counters SET value = value + 1 WHERE name = ?1";

pub(crate) const GET_COUNTERS: &str = "SELECT COALESCE(SUM(CASE name WHEN 'get_served' THEN value END), 0),
            COALESCE(SUM(CASE name WHEN 'get_missed' THEN value END), 0) FROM counters";

/// Generation figures of the stored exams, and job outcomes kept by retention.
pub(crate) const GENERATION_TOTALS: &str = "
SELECT COALESCE(SUM(gen_requests), 0), COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0),
       COALESCE(SUM(cache_write_tokens), 0), COALESCE(SUM(cache_read_tokens), 0), COALESCE(SUM(cost_usd), 0.0),
       COALESCE(SUM(batch), 0), AVG(CASE WHEN requested_at IS NOT NULL THEN created_at - requested_at END)
FROM pre_generated_exams";

pub(crate) const JOB_OUTCOMES: &str = "
SELECT COALESCE(SUM(state = 'succeeded'), 0), COALESCE(SUM(state = 'dead'), 0) FROM jobs";

/// Schema version 6: the used-exam index becomes partial, so the planner can never pick it for the unused-exam
/// queries (planning, stock), where it scanned every unused row per pair; and the unused-exam index carries the
/// expiry, so counting a pair's stock reads the index alone.
pub(crate) const SCHEMA_V6: &str = "
DROP INDEX pge_used_at;
CREATE INDEX pge_used_at ON pre_generated_exams (used_at) WHERE used = 1;
DROP INDEX pge_unused_by_user;
CREATE INDEX pge_unused_by_user ON pre_generated_exams (user_id, exam_type, created_at, expires_at) WHERE used = 0;
";

/// Schema version 7: the exam JSON moves to its own table, so marking an exam used rewrites a small row instead of
/// its 300 KB payload (which filled the WAL and made checkpoints the claim's tail latency).
pub(crate) const SCHEMA_V7: &str = "
CREATE TABLE exam_payloads (
    exam_id   TEXT PRIMARY KEY NOT NULL REFERENCES pre_generated_exams (id) ON DELETE CASCADE,
    questions TEXT NOT NULL
);
INSERT INTO exam_payloads (exam_id, questions) SELECT id, questions FROM pre_generated_exams;
ALTER TABLE pre_generated_exams DROP COLUMN questions;
";

/// Release counting: how often a running job was handed back, and the bound after which a release spends the
/// attempt (copied from the queue options when enqueued; rows from before count from 0 under the default bound).
pub(crate) const SCHEMA_JOB_RELEASES: &str = "
ALTER TABLE jobs ADD COLUMN releases INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN max_releases INTEGER NOT NULL DEFAULT 5;
";

/// The job checkpoint table (`store::CheckpointStore`): the items a job's attempts accepted, one per slot, gone
/// with the job's row (cascade) and as soon as the job reaches a final state (trigger), so no path that finishes a
/// job can leave one behind.
pub(crate) const SCHEMA_JOB_ITEMS: &str = "
CREATE TABLE job_items (
    job_id   TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    slot     INTEGER NOT NULL CHECK (slot >= 0),
    question TEXT NOT NULL,
    attempt  INTEGER NOT NULL,
    saved_at INTEGER NOT NULL,
    PRIMARY KEY (job_id, slot)
) WITHOUT ROWID;
CREATE TRIGGER job_items_end_with_their_job AFTER UPDATE OF state ON jobs
WHEN NEW.state IN ('succeeded', 'dead', 'cancelled')
BEGIN
    DELETE FROM job_items WHERE job_id = NEW.id;
END;
";

/// The fence of a checkpoint save: the job is running under this holder at this attempt. ?1 id, ?2 holder,
/// ?3 attempt.
pub(crate) const JOB_HELD: &str = "
SELECT 1 FROM jobs WHERE id = ?1 AND state = 'running' AND lease_holder = ?2 AND attempt = ?3";

/// ?1 job id, ?2 slot, ?3 item JSON, ?4 attempt, ?5 saved at.
pub(crate) const SAVE_JOB_ITEM: &str = "
INSERT INTO job_items (job_id, slot, question, attempt, saved_at) VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (job_id, slot) DO UPDATE SET
    question = excluded.question, attempt = excluded.attempt, saved_at = excluded.saved_at";

/// ?1 job id, ?2 slot.
pub(crate) const DROP_JOB_ITEM: &str = "DELETE FROM job_items WHERE job_id = ?1 AND slot = ?2";

/// ?1 job id.
pub(crate) const JOB_ITEMS: &str = "SELECT slot, question FROM job_items WHERE job_id = ?1 ORDER BY slot";
