-- The shared exam bank (`PREGEN_STOCK=bank`): exams that belong to no user, and assignments, the record that a
-- user received one. No user ever receives the same exam content twice: an assignment is unique per (user, exam)
-- and per (user, type, content key), and assignments outlive their exam (no cascade), so a retired exam's
-- deletion forgets nothing and the same content stored again is never assigned to a user who saw it. Every time
-- column is written from the application's clock.

CREATE TABLE pregen.bank_exams (
    id                 uuid PRIMARY KEY,
    exam_type          text NOT NULL CHECK (exam_type IN ('diagnostic', 'practice')),
    -- SHA-256 (hex) over the exam's items, options in any order (store::content_hash): the dedupe key.
    content_hash       text COLLATE "C" NOT NULL,
    source             text NOT NULL CHECK (source IN ('generated', 'imported')),
    -- The exam JSON exactly as written; TOASTed, so counting an assignment rewrites the small row only.
    questions          json NOT NULL,
    question_count     integer NOT NULL,
    created_at         timestamptz NOT NULL,
    expires_at         timestamptz NOT NULL,
    assignments        integer NOT NULL DEFAULT 0 CHECK (assignments >= 0),
    last_assigned_at   timestamptz,
    retired_at         timestamptz,
    job_id             uuid,
    gen_requests       bigint NOT NULL DEFAULT 0,
    input_tokens       bigint NOT NULL DEFAULT 0,
    output_tokens      bigint NOT NULL DEFAULT 0,
    cache_write_tokens bigint NOT NULL DEFAULT 0,
    cache_read_tokens  bigint NOT NULL DEFAULT 0,
    cost_usd           double precision NOT NULL DEFAULT 0,
    batch              boolean NOT NULL DEFAULT false,
    requested_at       timestamptz
);
-- The same content of a type is stored once.
CREATE UNIQUE INDEX bank_exams_content ON pregen.bank_exams (exam_type, content_hash);
-- At most one exam per bank job: a retried completion never stores a second one.
CREATE UNIQUE INDEX bank_exams_job ON pregen.bank_exams (job_id) WHERE job_id IS NOT NULL;
-- The assignment's pick: least-assigned first, oldest first among equals.
CREATE INDEX bank_exams_servable ON pregen.bank_exams (exam_type, assignments, created_at, id)
    INCLUDE (expires_at) WHERE retired_at IS NULL;
-- Cleanup: exams past their age, exams retired by count.
CREATE INDEX bank_exams_expires ON pregen.bank_exams (expires_at);
CREATE INDEX bank_exams_retired ON pregen.bank_exams (retired_at) WHERE retired_at IS NOT NULL;

CREATE TABLE pregen.assignments (
    user_id      text COLLATE "C" NOT NULL,
    -- No foreign key: the row stays when its exam is deleted.
    exam_id      uuid NOT NULL,
    exam_type    text NOT NULL CHECK (exam_type IN ('diagnostic', 'practice')),
    content_hash text COLLATE "C" NOT NULL,
    assigned_at  timestamptz NOT NULL,
    PRIMARY KEY (user_id, exam_id)
);
-- What a user saw, by content: the assignment's "never seen" test and its final guard across processes.
CREATE UNIQUE INDEX assignments_content ON pregen.assignments (user_id, exam_type, content_hash);
-- Planning and analytics: from the live exams to who saw their content, without reading the whole history.
CREATE INDEX assignments_by_content ON pregen.assignments (exam_type, content_hash);

-- Row-level security as on the exams: the service role does everything; a signed-in user reads their own
-- assignments and the bank exams assigned to them, nothing else of the bank; anon nothing; no user writes.
ALTER TABLE pregen.bank_exams ENABLE ROW LEVEL SECURITY;
ALTER TABLE pregen.assignments ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON pregen.bank_exams, pregen.assignments FROM PUBLIC, anon, authenticated;
GRANT SELECT ON pregen.bank_exams, pregen.assignments TO authenticated;
GRANT ALL ON pregen.bank_exams, pregen.assignments TO service_role;

-- auth.uid() is called once per statement (an init plan), not per row.
CREATE POLICY assignments_read_own ON pregen.assignments
    FOR SELECT TO authenticated
    USING (user_id = (SELECT auth.uid())::text);
CREATE POLICY bank_exams_read_assigned ON pregen.bank_exams
    FOR SELECT TO authenticated
    USING (EXISTS (
        SELECT 1 FROM pregen.assignments a
        WHERE a.exam_id = bank_exams.id AND a.user_id = (SELECT auth.uid())::text
    ));

CREATE POLICY service_role_all ON pregen.bank_exams FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY service_role_all ON pregen.assignments FOR ALL TO service_role USING (true) WITH CHECK (true);
