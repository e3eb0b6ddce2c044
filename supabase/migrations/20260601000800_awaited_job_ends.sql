-- A job's end is notified only when someone waits for it. Every notifying commit holds Postgres's one
-- database-wide notify lock through its WAL flush, so with a NOTIFY at every job's end no two job ends could share
-- a flush: the queue ran at one commit flush per finished job. Only the synchronous pre-generate route waits for a
-- job it does not run; it marks the job `awaited` (after it LISTENs, before it looks), and only such jobs notify.
-- A job that ends before the mark commits is seen ended by the waiter's look; one that ends after it notifies
-- (an update waiting on the marked row sees the mark).

ALTER TABLE pregen.jobs ADD COLUMN awaited boolean NOT NULL DEFAULT false;

DROP TRIGGER jobs_notify_end ON pregen.jobs;

CREATE TRIGGER jobs_notify_end
    AFTER UPDATE OF state ON pregen.jobs
    FOR EACH ROW
    WHEN (NEW.awaited AND NEW.state IN ('succeeded', 'dead', 'cancelled') AND OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION pregen.notify_job_end();
