//! The bank's SQL statements of the Postgres backend (with `sql.rs`, every statement of the backend), in the same
//! form: bound parameters only, each statement beside its parameter types; no `now()`.

use tokio_postgres::types::Type;

use super::sql::Sql;

const TEXT: Type = Type::TEXT;
const INT2: Type = Type::INT2;
const INT4: Type = Type::INT4;
const INT8: Type = Type::INT8;
const TS: Type = Type::TIMESTAMPTZ;
const UUID: Type = Type::UUID;

/// Stores a bank exam unless the same content of the type is stored, and counts it (exams stored, their cost)
/// on counter shard $19 when it did, in one statement; returns the new id, or no row. $1 id, $2 type, $3 content
/// hash, $4 source, $5 exam JSON, $6 item count, $7 created, $8 expires, $9 job id (or NULL), $10 requests,
/// $11 input, $12 output, $13 cache writes, $14 cache reads, $15 cost, $16 batch, $17 requested at, $18 cost in
/// micro-USD, $19 shard.
pub(crate) const INSERT_BANK_EXAM: Sql = Sql {
    text: "
WITH stored AS (
    INSERT INTO pregen.bank_exams
        (id, exam_type, content_hash, source, questions, question_count, created_at, expires_at, job_id,
         gen_requests, input_tokens, output_tokens, cache_write_tokens, cache_read_tokens, cost_usd, batch,
         requested_at)
    VALUES ($1, $2, $3, $4, $5::json, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
    ON CONFLICT (exam_type, content_hash) DO NOTHING
    RETURNING id
),
counted AS (
    INSERT INTO pregen.counters AS c (name, shard, value)
    SELECT n.name, $19, n.value
    FROM stored, (VALUES ('bank_stored', 1::int8), ('bank_cost_micro_usd', $18::int8)) AS n (name, value)
    ON CONFLICT (name, shard) DO UPDATE SET value = c.value + EXCLUDED.value
)
SELECT id FROM stored",
    types: &[
        UUID,
        TEXT,
        TEXT,
        TEXT,
        TEXT,
        INT4,
        TS,
        TS,
        UUID,
        INT8,
        INT8,
        INT8,
        INT8,
        INT8,
        Type::FLOAT8,
        Type::BOOL,
        TS,
        INT8,
        INT2,
    ],
};

/// $1 type, $2 content hash.
pub(crate) const BANK_EXAM_BY_CONTENT: Sql = Sql {
    text: "SELECT id FROM pregen.bank_exams WHERE exam_type = $1 AND content_hash = $2",
    types: &[TEXT, TEXT],
};

/// The assignment, in one statement: lock the least-assigned servable exam of the type (oldest first) whose
/// content the user never received, skipping exams another assignment holds; record the assignment (the unique
/// keys refuse a repeat that a concurrent statement committed meanwhile: then nothing is recorded); count it on
/// the exam, retiring it at the limit, and on counter shard $5. Returns the picked id and, when the assignment was
/// recorded, the exam; no row when nothing is left. $1 user, $2 type, $3 now, $4 max assignments, $5 shard.
pub(crate) const ASSIGN: Sql = Sql {
    text: "
WITH pick AS (
    SELECT b.id, b.exam_type, b.content_hash
    FROM pregen.bank_exams b
    WHERE b.exam_type = $2 AND b.retired_at IS NULL AND b.expires_at > $3 AND b.assignments < $4
      AND NOT EXISTS (
          SELECT 1 FROM pregen.assignments a
          WHERE a.user_id = $1 AND a.exam_type = b.exam_type AND a.content_hash = b.content_hash
      )
    ORDER BY b.assignments, b.created_at, b.id
    LIMIT 1
    FOR UPDATE OF b SKIP LOCKED
),
given AS (
    INSERT INTO pregen.assignments (user_id, exam_id, exam_type, content_hash, assigned_at)
    SELECT $1, id, exam_type, content_hash, $3 FROM pick
    ON CONFLICT DO NOTHING
    RETURNING exam_id
),
counted AS (
    UPDATE pregen.bank_exams e
    SET assignments = e.assignments + 1, last_assigned_at = $3,
        retired_at = CASE WHEN e.assignments + 1 >= $4 THEN $3 ELSE e.retired_at END
    FROM given g
    WHERE e.id = g.exam_id
    RETURNING e.id, e.questions::text AS questions, e.created_at, e.expires_at
),
bumped AS (
    INSERT INTO pregen.counters AS c (name, shard, value)
    SELECT 'bank_assigned', $5, 1 FROM given
    ON CONFLICT (name, shard) DO UPDATE SET value = c.value + 1
)
SELECT p.id, c.questions, c.created_at, c.expires_at FROM pick p LEFT JOIN counted c ON c.id = p.id",
    types: &[TEXT, TEXT, TS, INT4, INT2],
};

/// $1 user, $2 type, $3 servable past this instant, $4 max assignments.
pub(crate) const UNSEEN: Sql = Sql {
    text: "
SELECT count(*) FROM pregen.bank_exams b
WHERE b.exam_type = $2 AND b.retired_at IS NULL AND b.expires_at > $3 AND b.assignments < $4
  AND NOT EXISTS (
      SELECT 1 FROM pregen.assignments a
      WHERE a.user_id = $1 AND a.exam_type = b.exam_type AND a.content_hash = b.content_hash
  )",
    types: &[TEXT, TEXT, TS, INT4],
};

/// Planning, one statement for every type: the counted exams, the active users, the most counted exams one
/// active user has seen (by content), and the need (`BankPolicy::needed`). $1 active since, $2 stock cut-off,
/// $3 max assignments, $4 unseen target, $5 minimum size.
pub(crate) const PLAN_BANK: Sql = Sql {
    text: "
WITH counted AS (
    SELECT exam_type, content_hash FROM pregen.bank_exams
    WHERE retired_at IS NULL AND assignments < $3 AND expires_at > $2
),
active AS (SELECT user_id FROM pregen.user_activity WHERE last_seen_at >= $1),
seen AS (
    SELECT a.user_id, c.exam_type, count(*) AS n
    FROM pregen.assignments a
    JOIN counted c ON c.exam_type = a.exam_type AND c.content_hash = a.content_hash
    JOIN active u ON u.user_id = a.user_id
    GROUP BY a.user_id, c.exam_type
),
totals AS (SELECT exam_type, count(*) AS n FROM counted GROUP BY exam_type),
most AS (SELECT exam_type, max(n) AS n FROM seen GROUP BY exam_type),
figures AS (
    SELECT t.exam_type, coalesce(c.n, 0) AS counted, (SELECT count(*) FROM active) AS active_users,
           coalesce(m.n, 0) AS max_seen
    FROM (VALUES ('diagnostic'), ('practice')) AS t (exam_type)
    LEFT JOIN totals c ON c.exam_type = t.exam_type
    LEFT JOIN most m ON m.exam_type = t.exam_type
)
SELECT exam_type, counted, active_users, max_seen,
       greatest(0, $5 - counted,
                CASE WHEN active_users > 0 THEN $4 - greatest(0, counted - max_seen) ELSE 0 END)
FROM figures ORDER BY exam_type",
    types: &[TS, TS, INT4, INT8, INT8],
};

/// Deletes retired exams no recent assignment needs, skipping exams an assignment holds; their assignments stay
/// (what each user saw, by content). $1 now, $2 last-assignment cut-off, $3 max assignments, $4 batch size.
/// Returns each deleted exam's assignment count.
pub(crate) const DELETE_RETIRED_BANK_BATCH: Sql = Sql {
    text: "
WITH doomed AS (
    SELECT id FROM pregen.bank_exams
    WHERE (retired_at IS NOT NULL OR assignments >= $3 OR expires_at <= $1)
      AND (last_assigned_at IS NULL OR last_assigned_at <= $2)
    LIMIT $4
    FOR UPDATE SKIP LOCKED
)
DELETE FROM pregen.bank_exams b USING doomed d WHERE b.id = d.id
RETURNING b.assignments",
    types: &[TS, TS, INT4, INT8],
};

/// Per-type figures of the stored bank exams. $1 now, $2 max assignments.
pub(crate) const BANK_TYPE_FIGURES: Sql = Sql {
    text: "
SELECT exam_type, count(*),
       count(*) FILTER (WHERE retired_at IS NULL AND expires_at > $1 AND assignments < $2),
       count(*) FILTER (WHERE source = 'imported'),
       coalesce(sum(assignments), 0)::int8, coalesce(max(assignments), 0)::int8, coalesce(sum(cost_usd), 0)::float8
FROM pregen.bank_exams GROUP BY exam_type ORDER BY exam_type",
    types: &[TS, INT4],
};

/// Per type, active users with no servable exam of the type left unseen (by content), set-based: those who saw
/// as many servable contents as there are (every active user when nothing is servable). $1 active since, $2 now,
/// $3 max assignments.
pub(crate) const USERS_SEEN_WHOLE_BANK: Sql = Sql {
    text: "
WITH servable AS (
    SELECT exam_type, content_hash FROM pregen.bank_exams
    WHERE retired_at IS NULL AND expires_at > $2 AND assignments < $3
),
sizes AS (SELECT exam_type, count(*) AS n FROM servable GROUP BY exam_type),
active AS (SELECT user_id FROM pregen.user_activity WHERE last_seen_at >= $1),
seen AS (
    SELECT a.user_id, s.exam_type, count(*) AS n
    FROM pregen.assignments a
    JOIN servable s ON s.exam_type = a.exam_type AND s.content_hash = a.content_hash
    JOIN active u ON u.user_id = a.user_id
    GROUP BY a.user_id, s.exam_type
),
complete AS (
    SELECT s.exam_type, count(*) AS n FROM seen s JOIN sizes z ON z.exam_type = s.exam_type AND s.n = z.n
    GROUP BY s.exam_type
)
SELECT t.exam_type,
       CASE WHEN z.n IS NULL THEN (SELECT count(*) FROM active) ELSE coalesce(c.n, 0) END
FROM (VALUES ('diagnostic'), ('practice')) AS t (exam_type)
LEFT JOIN sizes z ON z.exam_type = t.exam_type
LEFT JOIN complete c ON c.exam_type = t.exam_type",
    types: &[TS, TS, INT4],
};

/// The bank's lifetime counters: assignments made, exams stored, their cost in micro-USD.
pub(crate) const BANK_COUNTERS: Sql = Sql {
    text: "
SELECT coalesce(sum(value) FILTER (WHERE name = 'bank_assigned'), 0)::int8,
       coalesce(sum(value) FILTER (WHERE name = 'bank_stored'), 0)::int8,
       coalesce(sum(value) FILTER (WHERE name = 'bank_cost_micro_usd'), 0)::int8
FROM pregen.counters WHERE name IN ('bank_assigned', 'bank_stored', 'bank_cost_micro_usd')",
    types: &[],
};

/// Every bank statement, by name, for the tests that check them all.
#[cfg(test)]
pub(crate) const ALL: &[(&str, &Sql)] = &[
    ("INSERT_BANK_EXAM", &INSERT_BANK_EXAM),
    ("BANK_EXAM_BY_CONTENT", &BANK_EXAM_BY_CONTENT),
    ("ASSIGN", &ASSIGN),
    ("UNSEEN", &UNSEEN),
    ("PLAN_BANK", &PLAN_BANK),
    ("DELETE_RETIRED_BANK_BATCH", &DELETE_RETIRED_BANK_BATCH),
    ("BANK_TYPE_FIGURES", &BANK_TYPE_FIGURES),
    ("USERS_SEEN_WHOLE_BANK", &USERS_SEEN_WHOLE_BANK),
    ("BANK_COUNTERS", &BANK_COUNTERS),
];
