-- The pregen store: exams, user activity, the durable job queue, Message Batches in flight and counters, in their
-- own schema so they never meet the old public.pre_generated_exams table (which `pregen import-legacy` reads).
-- Every time column is written from the application's clock (bound parameters), never from the database clock.
-- User ids are text compared byte by byte (COLLATE "C"), as SQLite compares them.

CREATE SCHEMA IF NOT EXISTS pregen;

-- The migrations pregen applied (the Supabase CLI keeps its own history; pregen reads both).
CREATE TABLE IF NOT EXISTS pregen.schema_migrations (
    version    text PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL
);

CREATE TABLE pregen.pre_generated_exams (
    id                 uuid PRIMARY KEY,
    -- Insertion order, the tie-break between exams stored at the same instant (SQLite's rowid).
    seq                bigint GENERATED ALWAYS AS IDENTITY,
    user_id            text COLLATE "C" NOT NULL,
    exam_type          text NOT NULL CHECK (exam_type IN ('diagnostic', 'practice')),
    -- The exam JSON exactly as written (json keeps the text; the payload is TOASTed, so marking an exam used
    -- rewrites the small row and not the 300 KB of items).
    questions          json NOT NULL,
    question_count     integer NOT NULL,
    generated_at       timestamptz NOT NULL,
    created_at         timestamptz NOT NULL,
    expires_at         timestamptz NOT NULL,
    used               boolean NOT NULL DEFAULT false,
    used_at            timestamptz,
    job_id             uuid,
    gen_requests       bigint NOT NULL DEFAULT 0,
    input_tokens       bigint NOT NULL DEFAULT 0,
    output_tokens      bigint NOT NULL DEFAULT 0,
    cache_write_tokens bigint NOT NULL DEFAULT 0,
    cache_read_tokens  bigint NOT NULL DEFAULT 0,
    cost_usd           double precision NOT NULL DEFAULT 0,
    batch              boolean NOT NULL DEFAULT false,
    requested_at       timestamptz,
    CHECK (used = (used_at IS NOT NULL))
);
-- The claim and the stock count: a pair's servable exams, newest first, with the expiry in the index.
CREATE INDEX pge_unused_by_user ON pregen.pre_generated_exams (user_id, exam_type, created_at DESC, seq DESC)
    INCLUDE (expires_at) WHERE NOT used;
-- Every row of a user (the signed-in user's own reads, analytics' users without rows).
CREATE INDEX pge_user_type ON pregen.pre_generated_exams (user_id, exam_type);
-- Cleanup: expired unused exams, used exams past their retention.
CREATE INDEX pge_unused_expires_at ON pregen.pre_generated_exams (expires_at) WHERE NOT used;
CREATE INDEX pge_used_at ON pregen.pre_generated_exams (used_at) WHERE used;
-- At most one exam per job: a retried completion can never store a second one.
CREATE UNIQUE INDEX pge_job_id ON pregen.pre_generated_exams (job_id) WHERE job_id IS NOT NULL;

CREATE TABLE pregen.user_activity (
    user_id       text COLLATE "C" PRIMARY KEY,
    first_seen_at timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL
);
CREATE INDEX user_activity_last_seen ON pregen.user_activity (last_seen_at);

CREATE TABLE pregen.jobs (
    id                 uuid PRIMARY KEY,
    user_id            text COLLATE "C" NOT NULL,
    exam_type          text NOT NULL CHECK (exam_type IN ('diagnostic', 'practice')),
    state              text NOT NULL
                       CHECK (state IN ('pending', 'running', 'retry_wait', 'succeeded', 'dead', 'cancelled')),
    attempt            integer NOT NULL DEFAULT 0,
    max_attempts       integer NOT NULL,
    run_at             timestamptz NOT NULL,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    started_at         timestamptz,
    deadline_at        timestamptz,
    lease_holder       text,
    lease_expires_at   timestamptz,
    finished_at        timestamptz,
    last_error_code    text,
    last_error_message text,
    CHECK ((state = 'running') = (lease_holder IS NOT NULL))
);
-- At most one unfinished job per (user, type): the dedupe rule, enforced by the database.
CREATE UNIQUE INDEX jobs_one_unfinished_per_key ON pregen.jobs (user_id, exam_type)
    WHERE state IN ('pending', 'running', 'retry_wait');
CREATE INDEX jobs_due ON pregen.jobs (run_at, created_at) WHERE state IN ('pending', 'retry_wait');
CREATE INDEX jobs_running_lease ON pregen.jobs (lease_expires_at) WHERE state = 'running';
CREATE INDEX jobs_running_deadline ON pregen.jobs (deadline_at) WHERE state = 'running';
CREATE INDEX jobs_finished ON pregen.jobs (state, finished_at) WHERE state IN ('succeeded', 'dead', 'cancelled');

CREATE TABLE pregen.claude_batches (
    id            text PRIMARY KEY,
    state         text NOT NULL CHECK (state IN ('open', 'collected')),
    holder        text NOT NULL,
    plan          text NOT NULL,
    request_count integer NOT NULL,
    submitted_at  timestamptz NOT NULL,
    collector     text,
    collect_until timestamptz,
    collected_at  timestamptz
);
CREATE INDEX claude_batches_open ON pregen.claude_batches (submitted_at) WHERE state = 'open';

-- Counters kept across cleanups (the get route's served and missed claims), spread over shards so concurrent
-- claims do not queue on one hot row; a figure is the sum of its shards.
CREATE TABLE pregen.counters (
    name  text NOT NULL,
    shard smallint NOT NULL,
    value bigint NOT NULL,
    PRIMARY KEY (name, shard)
);
