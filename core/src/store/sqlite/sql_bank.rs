//! The bank's SQL statements of the SQLite backend (with `sql.rs`, every statement of the backend), bound
//! parameters only; times are integer milliseconds.

/// The shared bank: exams of no user with their payloads, and assignments, unique per (user, exam) so no user
/// ever receives an exam twice. Lifetime counters survive cleanup (assignments made, exams stored, their cost).
pub(crate) const SCHEMA_BANK: &str = "
CREATE TABLE bank_exams (
    id                 TEXT PRIMARY KEY NOT NULL,
    exam_type          TEXT NOT NULL CHECK (exam_type IN ('diagnostic', 'practice')),
    content_hash       TEXT NOT NULL,
    source             TEXT NOT NULL CHECK (source IN ('generated', 'imported')),
    question_count     INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL,
    assignments        INTEGER NOT NULL DEFAULT 0 CHECK (assignments >= 0),
    last_assigned_at   INTEGER,
    retired_at         INTEGER,
    job_id             TEXT,
    gen_requests       INTEGER NOT NULL DEFAULT 0,
    input_tokens       INTEGER NOT NULL DEFAULT 0,
    output_tokens      INTEGER NOT NULL DEFAULT 0,
    cache_write_tokens INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens  INTEGER NOT NULL DEFAULT 0,
    cost_usd           REAL NOT NULL DEFAULT 0,
    batch              INTEGER NOT NULL DEFAULT 0,
    requested_at       INTEGER
);
CREATE UNIQUE INDEX bank_exams_content ON bank_exams (exam_type, content_hash);
CREATE UNIQUE INDEX bank_exams_job ON bank_exams (job_id) WHERE job_id IS NOT NULL;
-- The assignment's pick: least-assigned first, oldest first among equals.
CREATE INDEX bank_exams_servable ON bank_exams (exam_type, assignments, created_at) WHERE retired_at IS NULL;
CREATE INDEX bank_exams_expires ON bank_exams (expires_at);
CREATE INDEX bank_exams_retired ON bank_exams (retired_at) WHERE retired_at IS NOT NULL;

CREATE TABLE bank_payloads (
    exam_id   TEXT PRIMARY KEY NOT NULL REFERENCES bank_exams (id) ON DELETE CASCADE,
    questions TEXT NOT NULL
);

CREATE TABLE assignments (
    user_id     TEXT NOT NULL,
    exam_id     TEXT NOT NULL REFERENCES bank_exams (id) ON DELETE CASCADE,
    exam_type   TEXT NOT NULL CHECK (exam_type IN ('diagnostic', 'practice')),
    assigned_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, exam_id)
) WITHOUT ROWID;
CREATE INDEX assignments_exam ON assignments (exam_id);

INSERT INTO counters (name, value) VALUES ('bank_assigned', 0), ('bank_stored', 0), ('bank_cost_micro_usd', 0);
";

/// Assignments keep what a user saw by content and outlive their exam: the table is rebuilt without the cascade
/// from `bank_exams`, each row carries its exam's content key, and (user, type, content) is unique, so a retired
/// exam's deletion forgets nothing and the same content stored again is never assigned to a user who saw it.
/// Rows are never deleted (one small row per assignment ever made).
pub(crate) const SCHEMA_BANK_SEEN: &str = "
CREATE TABLE assignments_seen (
    user_id      TEXT NOT NULL,
    exam_id      TEXT NOT NULL,
    exam_type    TEXT NOT NULL CHECK (exam_type IN ('diagnostic', 'practice')),
    content_hash TEXT NOT NULL,
    assigned_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, exam_id)
) WITHOUT ROWID;
INSERT INTO assignments_seen (user_id, exam_id, exam_type, content_hash, assigned_at)
SELECT a.user_id, a.exam_id, a.exam_type, b.content_hash, a.assigned_at
FROM assignments a JOIN bank_exams b ON b.id = a.exam_id;
DROP TABLE assignments;
ALTER TABLE assignments_seen RENAME TO assignments;
CREATE INDEX assignments_by_content ON assignments (exam_type, content_hash);
CREATE UNIQUE INDEX assignments_content ON assignments (user_id, exam_type, content_hash);
";

/// ?1 id, ?2 type, ?3 content hash, ?4 source, ?5 item count, ?6 created, ?7 expires, ?8 job id (or NULL),
/// ?9 requests, ?10 input, ?11 output, ?12 cache writes, ?13 cache reads, ?14 cost, ?15 batch, ?16 requested at.
/// Does nothing when the same content of the type is stored.
pub(crate) const INSERT_BANK_EXAM: &str = "
INSERT INTO bank_exams
    (id, exam_type, content_hash, source, question_count, created_at, expires_at, job_id, gen_requests,
     input_tokens, output_tokens, cache_write_tokens, cache_read_tokens, cost_usd, batch, requested_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
ON CONFLICT (exam_type, content_hash) DO NOTHING";

/// ?1 exam id, ?2 exam JSON.
pub(crate) const INSERT_BANK_PAYLOAD: &str = "INSERT INTO bank_payloads (exam_id, questions) VALUES (?1, ?2)";

/// ?1 type, ?2 content hash.
pub(crate) const BANK_EXAM_BY_CONTENT: &str =
    "SELECT id FROM bank_exams WHERE exam_type = ?1 AND content_hash = ?2";

/// ?1 cost in micro-USD. Counts a stored bank exam and its cost.
pub(crate) const COUNT_BANK_STORED: &str = "
UPDATE counters SET value = value + CASE name WHEN 'bank_stored' THEN 1 ELSE ?1 END
WHERE name IN ('bank_stored', 'bank_cost_micro_usd')";

/// The assignment's pick and record in one statement: never content the user received before, under any exam
/// id. ?1 user, ?2 type, ?3 now, ?4 max assignments.
pub(crate) const ASSIGN_PICK: &str = "
INSERT INTO assignments (user_id, exam_id, exam_type, content_hash, assigned_at)
SELECT ?1, b.id, b.exam_type, b.content_hash, ?3 FROM bank_exams b
WHERE b.exam_type = ?2 AND b.retired_at IS NULL AND b.expires_at > ?3 AND b.assignments < ?4
  AND NOT EXISTS (
      SELECT 1 FROM assignments a
      WHERE a.user_id = ?1 AND a.exam_type = b.exam_type AND a.content_hash = b.content_hash
  )
ORDER BY b.assignments, b.created_at, b.id
LIMIT 1
RETURNING exam_id";

/// Counts an assignment on its exam, retiring it at the limit. ?1 exam id, ?2 now, ?3 max assignments.
pub(crate) const ASSIGN_COUNT: &str = "
UPDATE bank_exams SET assignments = assignments + 1, last_assigned_at = ?2,
    retired_at = CASE WHEN assignments + 1 >= ?3 THEN ?2 ELSE retired_at END
WHERE id = ?1
RETURNING created_at, expires_at";

pub(crate) const COUNT_BANK_ASSIGNED: &str = "UPDATE counters SET value = value + 1 WHERE name = 'bank_assigned'";

/// ?1 exam id.
pub(crate) const BANK_PAYLOAD: &str = "SELECT questions FROM bank_payloads WHERE exam_id = ?1";

/// ?1 user, ?2 type, ?3 servable past this instant, ?4 max assignments.
pub(crate) const UNSEEN: &str = "
SELECT COUNT(*) FROM bank_exams b
WHERE b.exam_type = ?2 AND b.retired_at IS NULL AND b.expires_at > ?3 AND b.assignments < ?4
  AND NOT EXISTS (
      SELECT 1 FROM assignments a
      WHERE a.user_id = ?1 AND a.exam_type = b.exam_type AND a.content_hash = b.content_hash
  )";

/// Planning, one statement for every type: the counted exams, the active users, the most counted exams one
/// active user has seen, and the need (`BankPolicy::needed`). ?1 active since, ?2 stock cut-off, ?3 max
/// assignments, ?4 unseen target, ?5 minimum size.
pub(crate) const PLAN_BANK: &str = "
WITH counted AS (
    SELECT exam_type, content_hash FROM bank_exams
    WHERE retired_at IS NULL AND assignments < ?3 AND expires_at > ?2
),
active AS (SELECT user_id FROM user_activity WHERE last_seen_at >= ?1),
seen AS (
    SELECT a.user_id, c.exam_type, COUNT(*) AS n
    FROM assignments a
    JOIN counted c ON c.exam_type = a.exam_type AND c.content_hash = a.content_hash
    JOIN active u ON u.user_id = a.user_id
    GROUP BY a.user_id, c.exam_type
),
figures AS (
    SELECT t.exam_type AS exam_type,
           (SELECT COUNT(*) FROM counted c WHERE c.exam_type = t.exam_type) AS counted,
           (SELECT COUNT(*) FROM active) AS active_users,
           COALESCE((SELECT MAX(n) FROM seen s WHERE s.exam_type = t.exam_type), 0) AS max_seen
    FROM (SELECT 'diagnostic' AS exam_type UNION ALL SELECT 'practice') t
)
SELECT exam_type, counted, active_users, max_seen,
       max(0, ?5 - counted, CASE WHEN active_users > 0 THEN ?4 - max(0, counted - max_seen) ELSE 0 END)
FROM figures ORDER BY exam_type";

/// Deletes retired exams no recent assignment needs; their assignments stay (what each user saw, by content).
/// ?1 now, ?2 last-assignment cut-off, ?3 max assignments,
/// ?4 batch size. Returns each deleted exam's assignment count.
pub(crate) const DELETE_RETIRED_BANK_BATCH: &str = "
DELETE FROM bank_exams WHERE rowid IN (
    SELECT rowid FROM bank_exams
    WHERE (retired_at IS NOT NULL OR assignments >= ?3 OR expires_at <= ?1)
      AND (last_assigned_at IS NULL OR last_assigned_at <= ?2)
    LIMIT ?4
)
RETURNING assignments";

/// Per-type figures of the stored bank exams. ?1 now, ?2 max assignments.
pub(crate) const BANK_TYPE_FIGURES: &str = "
SELECT exam_type, COUNT(*),
       COALESCE(SUM(retired_at IS NULL AND expires_at > ?1 AND assignments < ?2), 0),
       COALESCE(SUM(source = 'imported'), 0),
       COALESCE(SUM(assignments), 0), COALESCE(MAX(assignments), 0), COALESCE(SUM(cost_usd), 0.0)
FROM bank_exams GROUP BY exam_type ORDER BY exam_type";

/// Active users with no servable exam of the type left unseen. ?1 active since, ?2 type, ?3 now, ?4 max
/// assignments.
pub(crate) const USERS_SEEN_WHOLE_BANK: &str = "
SELECT COUNT(*) FROM user_activity u
WHERE u.last_seen_at >= ?1 AND NOT EXISTS (
    SELECT 1 FROM bank_exams b
    WHERE b.exam_type = ?2 AND b.retired_at IS NULL AND b.expires_at > ?3 AND b.assignments < ?4
      AND NOT EXISTS (
          SELECT 1 FROM assignments a
          WHERE a.user_id = u.user_id AND a.exam_type = b.exam_type AND a.content_hash = b.content_hash
      )
)";

pub(crate) const BANK_COUNTERS: &str = "
SELECT COALESCE(SUM(CASE name WHEN 'bank_assigned' THEN value END), 0),
       COALESCE(SUM(CASE name WHEN 'bank_stored' THEN value END), 0),
       COALESCE(SUM(CASE name WHEN 'bank_cost_micro_usd' THEN value END), 0)
FROM counters";
