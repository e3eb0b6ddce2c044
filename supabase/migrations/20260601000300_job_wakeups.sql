-- Wakes idle workers in every process when a job becomes claimable (enqueued, released, or waiting for a retry):
-- a NOTIFY on channel `pregen_jobs`, delivered at commit, identical ones of a transaction folded into one.
-- Listeners need a session (a direct or session-pooler connection); behind a transaction pooler workers poll.

CREATE FUNCTION pregen.notify_job_waiting() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = ''
    AS $notify$
BEGIN
    PERFORM pg_notify('pregen_jobs', '');
    RETURN NULL;
END
$notify$;
-- Only the trigger runs it (EXECUTE is checked when a trigger is created, not when it fires).
REVOKE ALL ON FUNCTION pregen.notify_job_waiting() FROM PUBLIC;

CREATE TRIGGER jobs_notify_waiting
    AFTER INSERT OR UPDATE OF state ON pregen.jobs
    FOR EACH ROW
    WHEN (NEW.state IN ('pending', 'retry_wait'))
    EXECUTE FUNCTION pregen.notify_job_waiting();
