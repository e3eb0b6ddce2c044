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

/// ?1 id, ?2 user, ?3 type, ?4 exam JSON, ?5 item count, ?6 created (= generated), ?7 expiry.
pub(crate) const INSERT_EXAM: &str = "
INSERT INTO pre_generated_exams
    (id, user_id, exam_type, questions, question_count, generated_at, created_at, expires_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)";

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
RETURNING id, questions, created_at, expires_at";

/// ?1 user, ?2 type, ?3 stock cut-off.
pub(crate) const STOCK: &str = "
SELECT COUNT(*) FROM pre_generated_exams
WHERE user_id = ?1 AND exam_type = ?2 AND used = 0 AND expires_at > ?3";

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
