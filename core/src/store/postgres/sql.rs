//! Every SQL statement of the Postgres backend, with bound parameters only, each beside the types of its
//! parameters (prepared with them once per connection, or sent with the statement behind a transaction pooler: see
//! the module doc on poolers). Times are `timestamptz` bound from the application's clock; no statement reads
//! `now()`.

use tokio_postgres::types::Type;

/// A statement and the Postgres types of its parameters `$1..$n`, in order.
#[derive(Debug)]
pub(crate) struct Sql {
    /// The statement text.
    pub(crate) text: &'static str,
    /// The type of each parameter.
    pub(crate) types: &'static [Type],
}

const TEXT: Type = Type::TEXT;
const INT4: Type = Type::INT4;
const INT8: Type = Type::INT8;
const INT2: Type = Type::INT2;
const TS: Type = Type::TIMESTAMPTZ;
const UUID: Type = Type::UUID;
const BOOL: Type = Type::BOOL;

/// Creates the schema and the table that records applied migrations if absent, so the runner can read what was
/// applied before the first migration ran (the first migration declares the same table). Run under the
/// migration lock.
pub(crate) const BOOTSTRAP: &str = "
CREATE SCHEMA IF NOT EXISTS pregen;
CREATE TABLE IF NOT EXISTS pregen.schema_migrations (
    version    text PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL
);
ALTER TABLE pregen.schema_migrations ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON pregen.schema_migrations FROM PUBLIC;";

/// Serialises migrations across processes for the rest of the transaction. $1 the lock key.
pub(crate) const MIGRATION_LOCK: Sql = Sql { text: "SELECT pg_advisory_xact_lock($1)", types: &[INT8] };

pub(crate) const APPLIED_VERSIONS: Sql = Sql { text: "SELECT version FROM pregen.schema_migrations", types: &[] };

/// Versions the Supabase CLI recorded, when it manages this database's migrations too.
pub(crate) const SUPABASE_CLI_VERSIONS: Sql =
    Sql { text: "SELECT version::text FROM supabase_migrations.schema_migrations", types: &[] };

pub(crate) const SUPABASE_CLI_TABLE_EXISTS: Sql =
    Sql { text: "SELECT to_regclass('supabase_migrations.schema_migrations') IS NOT NULL", types: &[] };

/// $1 version, $2 name, $3 applied at.
pub(crate) const RECORD_MIGRATION: Sql = Sql {
    text: "INSERT INTO pregen.schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
    types: &[TEXT, TEXT, TS],
};

/// Stores exams in one statement. Arrays, one element per exam: $1 ids, $2 users, $3 types, $4 exam JSON,
/// $5 item counts, $6 created (= generated), $7 expiries, $8 job ids (NULL elements for none), $9 requests,
/// $10 input tokens, $11 output tokens, $12 cache writes, $13 cache reads, $14 cost, $15 batch, $16 requested at.
pub(crate) const INSERT_EXAMS: Sql = Sql {
    text: "
INSERT INTO pregen.pre_generated_exams
    (id, user_id, exam_type, questions, question_count, generated_at, created_at, expires_at, job_id,
     gen_requests, input_tokens, output_tokens, cache_write_tokens, cache_read_tokens, cost_usd, batch,
     requested_at)
SELECT id, user_id, exam_type, questions::json, question_count, created_at, created_at, expires_at, job_id,
       gen_requests, input_tokens, output_tokens, cache_write_tokens, cache_read_tokens, cost_usd, batch,
       requested_at
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int4[], $6::timestamptz[], $7::timestamptz[],
            $8::uuid[], $9::int8[], $10::int8[], $11::int8[], $12::int8[], $13::int8[], $14::float8[],
            $15::bool[], $16::timestamptz[])
    WITH ORDINALITY AS e(id, user_id, exam_type, questions, question_count, created_at, expires_at, job_id,
                         gen_requests, input_tokens, output_tokens, cache_write_tokens, cache_read_tokens,
                         cost_usd, batch, requested_at, ord)
ORDER BY ord",
    types: &[
        Type::UUID_ARRAY,
        Type::TEXT_ARRAY,
        Type::TEXT_ARRAY,
        Type::TEXT_ARRAY,
        Type::INT4_ARRAY,
        Type::TIMESTAMPTZ_ARRAY,
        Type::TIMESTAMPTZ_ARRAY,
        Type::UUID_ARRAY,
        Type::INT8_ARRAY,
        Type::INT8_ARRAY,
        Type::INT8_ARRAY,
        Type::INT8_ARRAY,
        Type::INT8_ARRAY,
        Type::FLOAT8_ARRAY,
        Type::BOOL_ARRAY,
        Type::TIMESTAMPTZ_ARRAY,
    ],
};

/// The claim, in one statement: lock the newest servable exam of the pair (skipping rows another claim holds),
/// mark it used, return it. $1 user, $2 type, $3 now.
pub(crate) const CLAIM_EXAM: Sql = Sql {
    text: "
UPDATE pregen.pre_generated_exams e SET used = true, used_at = $3
WHERE e.id = (
    SELECT id FROM pregen.pre_generated_exams
    WHERE user_id = $1 AND exam_type = $2 AND NOT used AND expires_at > $3
    ORDER BY created_at DESC, seq DESC
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
RETURNING e.id, e.questions::text, e.created_at, e.expires_at",
    types: &[TEXT, TEXT, TS],
};

/// Counts at most $4 rows: the refill check needs no more than the target. $1 user, $2 type, $3 stock cut-off,
/// $4 bound.
pub(crate) const STOCK: Sql = Sql {
    text: "
SELECT count(*) FROM (
    SELECT 1 FROM pregen.pre_generated_exams
    WHERE user_id = $1 AND exam_type = $2 AND NOT used AND expires_at > $3
    LIMIT $4
) AS counted",
    types: &[TEXT, TEXT, TS, INT8],
};

/// Every (active user, type) pair below target, counting each pair's stock by an index probe: the faster form
/// when few users are active beside the stock table's size. $1 active since, $2 stock cut-off, $3 target.
pub(crate) const PLAN_MISSING: Sql = Sql {
    text: "
SELECT a.user_id, t.exam_type, $3 - s.stock
FROM pregen.user_activity a
CROSS JOIN (VALUES ('diagnostic'), ('practice')) AS t (exam_type)
CROSS JOIN LATERAL (
    SELECT count(*)::int8 AS stock FROM pregen.pre_generated_exams e
    WHERE e.user_id = a.user_id AND e.exam_type = t.exam_type AND NOT e.used AND e.expires_at > $2
) s
WHERE a.last_seen_at >= $1 AND s.stock < $3
ORDER BY a.user_id, t.exam_type",
    types: &[TS, TS, INT8],
};

/// The same shortfalls as [`PLAN_MISSING`], counting all unused stock in one pass over the unused-exam index
/// grouped by user (both types at once), merged with the active users in user order: the faster form when many
/// users are active. One row per active user with a shortfall in either type, `(user, diagnostic stock, practice
/// stock)`, in user order (half the rows of one per pair, and no per-pair sort); the store makes the pairs.
/// $1 active since, $2 stock cut-off, $3 target.
pub(crate) const PLAN_MISSING_ONE_PASS: Sql = Sql {
    text: "
SELECT a.user_id, coalesce(s.diagnostic, 0), coalesce(s.practice, 0)
FROM pregen.user_activity a
LEFT JOIN (
    SELECT e.user_id, count(*) FILTER (WHERE e.exam_type = 'diagnostic') AS diagnostic,
           count(*) FILTER (WHERE e.exam_type = 'practice') AS practice
    FROM pregen.pre_generated_exams e
    WHERE NOT e.used AND e.expires_at > $2
    GROUP BY e.user_id
) s ON s.user_id = a.user_id
WHERE a.last_seen_at >= $1 AND (coalesce(s.diagnostic, 0) < $3 OR coalesce(s.practice, 0) < $3)
ORDER BY a.user_id",
    types: &[TS, TS, INT8],
};

/// The active users and the planner's estimate of the stock table's rows (0 before its first analysis), for
/// choosing the planning form. $1 active since.
pub(crate) const PLAN_SHAPE: Sql = Sql {
    text: "
SELECT (SELECT count(*) FROM pregen.user_activity WHERE last_seen_at >= $1),
       (SELECT greatest(reltuples, 0)::int8 FROM pg_catalog.pg_class
        WHERE oid = 'pregen.pre_generated_exams'::regclass)",
    types: &[TS],
};

/// $1 now, $2 batch size.
pub(crate) const DELETE_EXPIRED_BATCH: Sql = Sql {
    text: "
DELETE FROM pregen.pre_generated_exams WHERE id IN (
    SELECT id FROM pregen.pre_generated_exams WHERE NOT used AND expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED
)",
    types: &[TS, INT8],
};

/// $1 used-at cut-off, $2 batch size.
pub(crate) const DELETE_USED_BATCH: Sql = Sql {
    text: "
DELETE FROM pregen.pre_generated_exams WHERE id IN (
    SELECT id FROM pregen.pre_generated_exams WHERE used AND used_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED
)",
    types: &[TS, INT8],
};

/// The analytics counts in one statement (one snapshot). $1 now, $2 now + 24 h, $3 active since.
pub(crate) const ANALYTICS: Sql = Sql {
    text: "
SELECT count(*),
       count(*) FILTER (WHERE used),
       count(*) FILTER (WHERE expires_at <= $1),
       count(*) FILTER (WHERE exam_type = 'diagnostic'),
       count(*) FILTER (WHERE exam_type = 'practice'),
       count(*) FILTER (WHERE expires_at > $1 AND expires_at <= $2),
       count(DISTINCT user_id),
       (SELECT count(*) FROM pregen.user_activity a
        WHERE a.last_seen_at >= $3
          AND NOT EXISTS (SELECT 1 FROM pregen.pre_generated_exams x WHERE x.user_id = a.user_id))
FROM pregen.pre_generated_exams",
    types: &[TS, TS, TS],
};

/// One user's rows per type. $1 user, $2 now, $3 stock cut-off.
pub(crate) const USER_STOCK: Sql = Sql {
    text: "
SELECT exam_type,
       count(*) FILTER (WHERE NOT used AND expires_at > $2),
       count(*) FILTER (WHERE NOT used AND expires_at > $3),
       count(*) FILTER (WHERE used),
       count(*) FILTER (WHERE NOT used AND expires_at <= $2),
       min(expires_at) FILTER (WHERE NOT used AND expires_at > $2)
FROM pregen.pre_generated_exams WHERE user_id = $1
GROUP BY exam_type",
    types: &[TEXT, TS, TS],
};

/// $1 user, $2 seen at; keeps the latest instant (and the earliest first sighting), writing only on a change.
pub(crate) const RECORD_ACTIVITY: Sql = Sql {
    text: "
INSERT INTO pregen.user_activity AS a (user_id, first_seen_at, last_seen_at) VALUES ($1, $2, $2)
ON CONFLICT (user_id) DO UPDATE SET
    last_seen_at = greatest(a.last_seen_at, excluded.last_seen_at),
    first_seen_at = least(a.first_seen_at, excluded.first_seen_at)
WHERE a.last_seen_at < excluded.last_seen_at OR a.first_seen_at > excluded.first_seen_at",
    types: &[TEXT, TS],
};

/// $1 user.
pub(crate) const LAST_SEEN: Sql =
    Sql { text: "SELECT last_seen_at FROM pregen.user_activity WHERE user_id = $1", types: &[TEXT] };

/// $1 active since.
pub(crate) const COUNT_ACTIVE: Sql =
    Sql { text: "SELECT count(*) FROM pregen.user_activity WHERE last_seen_at >= $1", types: &[TS] };

/// $1 counter name, $2 shard.
pub(crate) const BUMP_COUNTER: Sql = Sql {
    text: "
INSERT INTO pregen.counters AS c (name, shard, value) VALUES ($1, $2, 1)
ON CONFLICT (name, shard) DO UPDATE SET value = c.value + 1",
    types: &[TEXT, INT2],
};

/// Generation figures of the stored exams, job outcomes kept by retention, and the get route's counters.
pub(crate) const GENERATION_SUMMARY: Sql = Sql {
    text: "
SELECT coalesce(sum(gen_requests), 0)::int8, coalesce(sum(input_tokens), 0)::int8,
       coalesce(sum(output_tokens), 0)::int8, coalesce(sum(cache_write_tokens), 0)::int8,
       coalesce(sum(cache_read_tokens), 0)::int8, coalesce(sum(cost_usd), 0)::float8,
       count(*) FILTER (WHERE batch),
       avg(extract(epoch FROM created_at - requested_at) * 1000)::float8,
       (SELECT count(*) FROM pregen.jobs WHERE state = 'succeeded'),
       (SELECT count(*) FROM pregen.jobs WHERE state = 'dead'),
       (SELECT coalesce(sum(value), 0)::int8 FROM pregen.counters WHERE name = 'get_served'),
       (SELECT coalesce(sum(value), 0)::int8 FROM pregen.counters WHERE name = 'get_missed')
FROM pregen.pre_generated_exams",
    types: &[],
};

/// The columns of a job row, in the order `jobs::read_job` reads them.
macro_rules! job_columns {
    () => {
        "id, user_id, exam_type, state, attempt, max_attempts, run_at, created_at, updated_at, started_at, \
         deadline_at, lease_holder, lease_expires_at, finished_at, last_error_code, last_error_message, releases, \
         max_releases"
    };
}

/// Inserts pending jobs for keys no unfinished job holds, in one statement, and returns those it inserted. One
/// row per key, each with its own settings (enqueues of several callers share the statement). Arrays: $1 ids,
/// $2 users, $3 types, $4 max attempts, $5 now, $6 max releases.
pub(crate) const ENQUEUE_JOBS: Sql = Sql {
    text: concat!(
        "
INSERT INTO pregen.jobs (id, user_id, exam_type, state, attempt, max_attempts, run_at, created_at, updated_at,
                         max_releases)
SELECT k.id, k.user_id, k.exam_type, 'pending', 0, k.max_attempts, k.now, k.now, k.now, k.max_releases
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int4[], $5::timestamptz[], $6::int4[])
     WITH ORDINALITY AS k (id, user_id, exam_type, max_attempts, now, max_releases, ord)
ORDER BY k.ord
ON CONFLICT DO NOTHING
RETURNING ",
        job_columns!()
    ),
    types: &[
        Type::UUID_ARRAY,
        Type::TEXT_ARRAY,
        Type::TEXT_ARRAY,
        Type::INT4_ARRAY,
        Type::TIMESTAMPTZ_ARRAY,
        Type::INT4_ARRAY,
    ],
};

/// The unfinished jobs holding any of the keys. Arrays: $1 users, $2 types.
pub(crate) const UNFINISHED_JOBS_FOR_KEYS: Sql = Sql {
    text: concat!(
        "
SELECT ",
        job_columns!(),
        "
FROM pregen.jobs
WHERE state IN ('pending', 'running', 'retry_wait')
  AND (user_id, exam_type) IN (SELECT * FROM unnest($1::text[], $2::text[]))"
    ),
    types: &[Type::TEXT_ARRAY, Type::TEXT_ARRAY],
};

/// Marks an unfinished job as waited for, so its end is notified on `pregen_job_ends` (the `awaited_job_ends`
/// migration). $1 id.
pub(crate) const MARK_AWAITED: Sql = Sql {
    text: "
UPDATE pregen.jobs SET awaited = true
WHERE id = $1 AND NOT awaited AND state IN ('pending', 'running', 'retry_wait')",
    types: &[UUID],
};

/// $1 id.
pub(crate) const JOB_BY_ID: Sql =
    Sql { text: concat!("SELECT ", job_columns!(), " FROM pregen.jobs WHERE id = $1"), types: &[UUID] };

/// The claim and the overdue look in one call (the `queue_functions` migration): rows of running jobs whose lease or
/// deadline passed (last column false), then the jobs claimed (true), in no order; the same transition as
/// `queue::start`. Due jobs another claim holds are skipped. $1 holder, $2 now, $3 lease expiry, $4 diagnostic
/// deadline, $5 practice deadline, $6 limit, $7 how many overdue jobs to return at most (per kind).
pub(crate) const CLAIM_DUE_JOBS: Sql = Sql {
    text: concat!("SELECT ", job_columns!(), ", claimed FROM pregen.claim_due_jobs($1, $2, $3, $4, $5, $6, $7)"),
    types: &[TEXT, TS, TS, TS, TS, INT8, INT8],
};

/// Claims one named job if it is due, in one statement (the synchronous pre-generate route). $1 holder, $2 now,
/// $3 lease expiry, $4 diagnostic deadline, $5 practice deadline, $6 job id.
pub(crate) const CLAIM_JOB_BY_ID: Sql = Sql {
    text: concat!(
        "
UPDATE pregen.jobs SET
    state = 'running', attempt = attempt + 1, started_at = $2, updated_at = $2,
    deadline_at = CASE exam_type WHEN 'diagnostic' THEN $4 ELSE $5 END,
    lease_holder = $1, lease_expires_at = $3
WHERE id = $6 AND state IN ('pending', 'retry_wait') AND run_at <= $2 AND attempt < max_attempts
RETURNING ",
        job_columns!()
    ),
    types: &[TEXT, TS, TS, TS, TS, UUID],
};

/// Locks one job's row for a transition computed in the application. $1 id.
pub(crate) const JOB_FOR_UPDATE: Sql =
    Sql { text: concat!("SELECT ", job_columns!(), " FROM pregen.jobs WHERE id = $1 FOR UPDATE"), types: &[UUID] };

/// Writes a running job as a pure transition left it (`queue::heartbeat`, `queue::release`), fenced on the holder
/// and attempt it was computed from. $1 id, $2 holder, $3 attempt, then the new values: $4 state, $5 attempt,
/// $6 run_at, $7 updated_at, $8 started_at, $9 deadline, $10 lease holder, $11 lease expiry, $12 finished_at,
/// $13 error code, $14 error message, $15 releases.
pub(crate) const WRITE_HELD_JOB: Sql = Sql {
    text: concat!(
        "
UPDATE pregen.jobs SET state = $4, attempt = $5, run_at = $6, updated_at = $7, started_at = $8, deadline_at = $9,
    lease_holder = $10, lease_expires_at = $11, finished_at = $12, last_error_code = $13,
    last_error_message = $14, releases = $15
WHERE id = $1 AND state = 'running' AND lease_holder = $2 AND attempt = $3
RETURNING ",
        job_columns!()
    ),
    types: &[UUID, TEXT, INT4, TEXT, INT4, TS, TS, TS, TS, TEXT, TS, TS, TEXT, TEXT, INT4],
};

/// Writes a decision, fenced. $1 id, $2 holder, $3 attempt, $4 state, $5 run_at (NULL keeps it), $6 error code,
/// $7 error message, $8 decided at, $9 finished at (NULL unless final).
pub(crate) const FINISH_JOB: Sql = Sql {
    text: concat!(
        "
UPDATE pregen.jobs SET state = $4, run_at = coalesce($5, run_at), last_error_code = $6, last_error_message = $7,
    updated_at = $8, finished_at = $9, lease_holder = NULL, lease_expires_at = NULL, deadline_at = NULL
WHERE id = $1 AND state = 'running' AND lease_holder = $2 AND attempt = $3
RETURNING ",
        job_columns!()
    ),
    types: &[UUID, TEXT, INT4, TEXT, TS, TEXT, TEXT, TS, TS],
};

/// Writes many decisions in one statement, each fenced on its job's holder and attempt as [`FINISH_JOB`]; the
/// rows are locked in id order first, so two such statements never deadlock. Returns the jobs written (a job not
/// returned was not held). Arrays, one element per job: $1 ids, $2 holders, $3 attempts, $4 states, $5 run_at
/// (NULL keeps it), $6 error codes, $7 error messages, $8 decided at, $9 finished at (NULL unless final).
pub(crate) const FINISH_JOBS: Sql = Sql {
    text: concat!(
        "SELECT ",
        job_columns!(),
        " FROM pregen.finish_jobs($1::uuid[], $2::text[], $3::int4[], $4::text[], $5::timestamptz[], $6::text[], \
         $7::text[], $8::timestamptz[], $9::timestamptz[])"
    ),
    types: &[
        Type::UUID_ARRAY,
        Type::TEXT_ARRAY,
        Type::INT4_ARRAY,
        Type::TEXT_ARRAY,
        Type::TIMESTAMPTZ_ARRAY,
        Type::TEXT_ARRAY,
        Type::TEXT_ARRAY,
        Type::TIMESTAMPTZ_ARRAY,
        Type::TIMESTAMPTZ_ARRAY,
    ],
};

pub(crate) const NEXT_DUE: Sql =
    Sql { text: "SELECT min(run_at) FROM pregen.jobs WHERE state IN ('pending', 'retry_wait')", types: &[] };

pub(crate) const COUNT_JOBS_BY_STATE: Sql =
    Sql { text: "SELECT state, count(*) FROM pregen.jobs GROUP BY state", types: &[] };

/// $1 now.
pub(crate) const OLDEST_DUE: Sql = Sql {
    text: "SELECT min(run_at) FROM pregen.jobs WHERE state IN ('pending', 'retry_wait') AND run_at <= $1",
    types: &[TS],
};

/// $1 limit.
pub(crate) const UNFINISHED_JOBS_PAGE: Sql = Sql {
    text: concat!(
        "
SELECT ",
        job_columns!(),
        "
FROM pregen.jobs WHERE state IN ('pending', 'running', 'retry_wait')
ORDER BY run_at, created_at LIMIT $1"
    ),
    types: &[INT8],
};

/// $1 now.
pub(crate) const CLEAR_QUEUE: Sql = Sql {
    text: "
UPDATE pregen.jobs SET state = 'cancelled', updated_at = $1, finished_at = $1
WHERE state IN ('pending', 'retry_wait')",
    types: &[TS],
};

/// $1 state, $2 finished-at cut-off, $3 batch size.
pub(crate) const DELETE_FINISHED_JOBS_BATCH: Sql = Sql {
    text: "
DELETE FROM pregen.jobs WHERE id IN (
    SELECT id FROM pregen.jobs WHERE state = $1 AND finished_at <= $2 LIMIT $3 FOR UPDATE SKIP LOCKED
)",
    types: &[TEXT, TS, INT8],
};

/// $1 id, $2 holder, $3 plan, $4 request count, $5 submitted at.
pub(crate) const INSERT_BATCH: Sql = Sql {
    text: "
INSERT INTO pregen.claude_batches (id, state, holder, plan, request_count, submitted_at)
VALUES ($1, 'open', $2, $3, $4, $5)",
    types: &[TEXT, TEXT, TEXT, INT4, TS],
};

/// Takes every open batch nobody is collecting (or whose collector's hold lapsed), skipping rows another claim
/// is taking. $1 collector, $2 now, $3 hold until.
pub(crate) const CLAIM_OPEN_BATCHES: Sql = Sql {
    text: "
UPDATE pregen.claude_batches b SET collector = $1, collect_until = $3
WHERE b.id IN (
    SELECT id FROM pregen.claude_batches
    WHERE state = 'open' AND (collector IS NULL OR collect_until <= $2)
    FOR UPDATE SKIP LOCKED
)
RETURNING b.id, b.holder, b.plan, b.request_count, b.submitted_at",
    types: &[TEXT, TS, TS],
};

/// Ends a collector's hold: collected for good, or back to open. $1 id, $2 collector, $3 collected, $4 now.
pub(crate) const RELEASE_BATCH: Sql = Sql {
    text: "
UPDATE pregen.claude_batches SET
    state = CASE WHEN $3 THEN 'collected' ELSE 'open' END,
    collected_at = CASE WHEN $3 THEN $4 END,
    collector = NULL, collect_until = NULL
WHERE id = $1 AND collector = $2",
    types: &[TEXT, TEXT, BOOL, TS],
};

pub(crate) const COUNT_OPEN_BATCHES: Sql =
    Sql { text: "SELECT count(*) FROM pregen.claude_batches WHERE state = 'open'", types: &[] };

/// The fence of a checkpoint save, locking the job's row until the save commits: the job is running under this
/// holder at this attempt. $1 id, $2 holder, $3 attempt.
pub(crate) const JOB_HELD: Sql = Sql {
    text: "SELECT 1 FROM pregen.jobs WHERE id = $1 AND state = 'running' AND lease_holder = $2 AND attempt = $3
FOR UPDATE",
    types: &[UUID, TEXT, INT4],
};

/// Saves checkpoint items in one statement, each replacing what its slot held. $1 job id, arrays $2 slots,
/// $3 item JSON; $4 attempt, $5 saved at.
pub(crate) const SAVE_JOB_ITEMS: Sql = Sql {
    text: "
INSERT INTO pregen.job_items (job_id, slot, question, attempt, saved_at)
SELECT $1, i.slot, i.question, $4, $5 FROM unnest($2::int4[], $3::text[]) AS i (slot, question)
ON CONFLICT (job_id, slot) DO UPDATE SET
    question = excluded.question, attempt = excluded.attempt, saved_at = excluded.saved_at",
    types: &[UUID, Type::INT4_ARRAY, Type::TEXT_ARRAY, INT4, TS],
};

/// $1 job id, $2 slots.
pub(crate) const DROP_JOB_ITEMS: Sql = Sql {
    text: "DELETE FROM pregen.job_items WHERE job_id = $1 AND slot = ANY($2::int4[])",
    types: &[UUID, Type::INT4_ARRAY],
};

/// $1 job id.
pub(crate) const JOB_ITEMS: Sql =
    Sql { text: "SELECT slot, question FROM pregen.job_items WHERE job_id = $1 ORDER BY slot", types: &[UUID] };

/// One page of the old system's exams, by id after $1, at most $2 rows (`pregen import-legacy`; read only).
pub(crate) const LEGACY_PAGE: Sql = Sql {
    text: "
SELECT id, user_id::text, exam_type::text, questions::text, generated_at, expires_at, used, created_at
FROM public.pre_generated_exams
WHERE id > $1
ORDER BY id
LIMIT $2",
    types: &[UUID, INT8],
};

/// Which of the old ids $1 were imported already.
pub(crate) const LEGACY_IMPORTED: Sql = Sql {
    text: "SELECT legacy_id FROM pregen.legacy_imports WHERE legacy_id = ANY($1)",
    types: &[Type::UUID_ARRAY],
};

/// Records the old ids $1 as imported at $2, unless a concurrent run did; returns the ids recorded here.
pub(crate) const RECORD_LEGACY_IMPORTS: Sql = Sql {
    text: "
INSERT INTO pregen.legacy_imports (legacy_id, imported_at)
SELECT legacy_id, $2 FROM unnest($1::uuid[]) AS l(legacy_id)
ON CONFLICT (legacy_id) DO NOTHING
RETURNING legacy_id",
    types: &[Type::UUID_ARRAY, TS],
};

/// Links each old id of $1 to the exam of $2 it became.
pub(crate) const LINK_LEGACY_IMPORTS: Sql = Sql {
    text: "
UPDATE pregen.legacy_imports AS l SET exam_id = m.exam_id
FROM unnest($1::uuid[], $2::uuid[]) AS m(legacy_id, exam_id)
WHERE l.legacy_id = m.legacy_id",
    types: &[Type::UUID_ARRAY, Type::UUID_ARRAY],
};

/// Every statement, by name, for the tests that check them all.
#[cfg(test)]
pub(crate) const ALL: &[(&str, &Sql)] = &[
    ("MIGRATION_LOCK", &MIGRATION_LOCK),
    ("APPLIED_VERSIONS", &APPLIED_VERSIONS),
    ("SUPABASE_CLI_VERSIONS", &SUPABASE_CLI_VERSIONS),
    ("SUPABASE_CLI_TABLE_EXISTS", &SUPABASE_CLI_TABLE_EXISTS),
    ("RECORD_MIGRATION", &RECORD_MIGRATION),
    ("INSERT_EXAMS", &INSERT_EXAMS),
    ("CLAIM_EXAM", &CLAIM_EXAM),
    ("STOCK", &STOCK),
    ("PLAN_MISSING", &PLAN_MISSING),
    ("PLAN_MISSING_ONE_PASS", &PLAN_MISSING_ONE_PASS),
    ("PLAN_SHAPE", &PLAN_SHAPE),
    ("DELETE_EXPIRED_BATCH", &DELETE_EXPIRED_BATCH),
    ("DELETE_USED_BATCH", &DELETE_USED_BATCH),
    ("ANALYTICS", &ANALYTICS),
    ("USER_STOCK", &USER_STOCK),
    ("RECORD_ACTIVITY", &RECORD_ACTIVITY),
    ("LAST_SEEN", &LAST_SEEN),
    ("COUNT_ACTIVE", &COUNT_ACTIVE),
    ("BUMP_COUNTER", &BUMP_COUNTER),
    ("GENERATION_SUMMARY", &GENERATION_SUMMARY),
    ("ENQUEUE_JOBS", &ENQUEUE_JOBS),
    ("UNFINISHED_JOBS_FOR_KEYS", &UNFINISHED_JOBS_FOR_KEYS),
    ("JOB_BY_ID", &JOB_BY_ID),
    ("CLAIM_DUE_JOBS", &CLAIM_DUE_JOBS),
    ("CLAIM_JOB_BY_ID", &CLAIM_JOB_BY_ID),
    ("JOB_FOR_UPDATE", &JOB_FOR_UPDATE),
    ("WRITE_HELD_JOB", &WRITE_HELD_JOB),
    ("FINISH_JOB", &FINISH_JOB),
    ("NEXT_DUE", &NEXT_DUE),
    ("COUNT_JOBS_BY_STATE", &COUNT_JOBS_BY_STATE),
    ("OLDEST_DUE", &OLDEST_DUE),
    ("UNFINISHED_JOBS_PAGE", &UNFINISHED_JOBS_PAGE),
    ("CLEAR_QUEUE", &CLEAR_QUEUE),
    ("DELETE_FINISHED_JOBS_BATCH", &DELETE_FINISHED_JOBS_BATCH),
    ("INSERT_BATCH", &INSERT_BATCH),
    ("CLAIM_OPEN_BATCHES", &CLAIM_OPEN_BATCHES),
    ("RELEASE_BATCH", &RELEASE_BATCH),
    ("COUNT_OPEN_BATCHES", &COUNT_OPEN_BATCHES),
    ("JOB_HELD", &JOB_HELD),
    ("SAVE_JOB_ITEMS", &SAVE_JOB_ITEMS),
    ("DROP_JOB_ITEMS", &DROP_JOB_ITEMS),
    ("JOB_ITEMS", &JOB_ITEMS),
    ("LEGACY_PAGE", &LEGACY_PAGE),
    ("LEGACY_IMPORTED", &LEGACY_IMPORTED),
    ("RECORD_LEGACY_IMPORTS", &RECORD_LEGACY_IMPORTS),
    ("LINK_LEGACY_IMPORTS", &LINK_LEGACY_IMPORTS),
];
