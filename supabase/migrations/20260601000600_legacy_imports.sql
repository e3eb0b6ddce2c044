-- Exams imported from the old system's `public.pre_generated_exams` by `pregen import-legacy`: the old row's id,
-- so a second run imports nothing new, and the exam it became. The old table itself is only ever read.

CREATE TABLE pregen.legacy_imports (
    legacy_id   uuid PRIMARY KEY,
    exam_id     uuid REFERENCES pregen.pre_generated_exams (id) ON DELETE SET NULL,
    imported_at timestamptz NOT NULL
);

-- Row-level security as on every pregen table: the service role only.
ALTER TABLE pregen.legacy_imports ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON pregen.legacy_imports FROM PUBLIC, anon, authenticated;
GRANT ALL ON pregen.legacy_imports TO service_role;
CREATE POLICY service_role_all ON pregen.legacy_imports FOR ALL TO service_role USING (true) WITH CHECK (true);
