-- Release counts (a job handed back by a stopping worker does not spend its attempt, up to max_releases times) and
-- job checkpoints (the items a job's attempts accepted, so its next attempt asks the model only for what is
-- missing). A checkpoint goes with its job's row (cascade) and as soon as the job reaches a final state (trigger),
-- so no path that finishes a job can leave one behind.

ALTER TABLE pregen.jobs ADD COLUMN releases integer NOT NULL DEFAULT 0 CHECK (releases >= 0);
ALTER TABLE pregen.jobs ADD COLUMN max_releases integer NOT NULL DEFAULT 5 CHECK (max_releases >= 0);

CREATE TABLE pregen.job_items (
    job_id   uuid NOT NULL REFERENCES pregen.jobs (id) ON DELETE CASCADE,
    slot     integer NOT NULL CHECK (slot >= 0),
    question text NOT NULL,
    attempt  integer NOT NULL,
    saved_at timestamptz NOT NULL,
    PRIMARY KEY (job_id, slot)
);

CREATE FUNCTION pregen.job_items_end_with_their_job() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = ''
    AS $end$
BEGIN
    DELETE FROM pregen.job_items WHERE job_id = NEW.id;
    RETURN NULL;
END
$end$;
REVOKE ALL ON FUNCTION pregen.job_items_end_with_their_job() FROM PUBLIC;

CREATE TRIGGER job_items_end_with_their_job
    AFTER UPDATE OF state ON pregen.jobs
    FOR EACH ROW
    WHEN (NEW.state IN ('succeeded', 'dead', 'cancelled'))
    EXECUTE FUNCTION pregen.job_items_end_with_their_job();

-- Row-level security as on every pregen table: the service role only; no API user reads or writes checkpoints.
ALTER TABLE pregen.job_items ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON pregen.job_items FROM PUBLIC, anon, authenticated;
GRANT ALL ON pregen.job_items TO service_role;
CREATE POLICY service_role_all ON pregen.job_items FOR ALL TO service_role USING (true) WITH CHECK (true);
