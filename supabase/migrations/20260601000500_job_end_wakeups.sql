-- Tells a caller waiting for another worker's job (the synchronous pre-generate route) that the job ended: a
-- NOTIFY on channel `pregen_job_ends` with the job's id, delivered at commit. Listeners need a session (a direct
-- or session-pooler connection); behind a transaction pooler the caller polls.

CREATE FUNCTION pregen.notify_job_end() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = ''
    AS $notify$
BEGIN
    PERFORM pg_notify('pregen_job_ends', NEW.id::text);
    RETURN NULL;
END
$notify$;
-- Only the trigger runs it (EXECUTE is checked when a trigger is created, not when it fires).
REVOKE ALL ON FUNCTION pregen.notify_job_end() FROM PUBLIC;

CREATE TRIGGER jobs_notify_end
    AFTER UPDATE OF state ON pregen.jobs
    FOR EACH ROW
    WHEN (NEW.state IN ('succeeded', 'dead', 'cancelled') AND OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION pregen.notify_job_end();
