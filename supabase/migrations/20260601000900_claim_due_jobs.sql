-- The claim of due jobs as one function call, so its plan does not hang on the table's statistics. A queue table's
-- statistics are stale by nature (a new table has none, and a burst of thousands of due jobs lands between two
-- analyses); expecting few due rows, the planner read every due job and sorted them all to take the first few, so
-- each claim cost time in proportion to the backlog (2-6 ms at a backlog of 5,500 jobs, measured with the queue
-- bench). Inside the function sorting and sequential scans are off and index scans on, whatever the session says:
-- the only plans left walk the due index in order and stop at the limit, and the overdue look walks the lease and
-- deadline indexes from their oldest entry.
--
-- One call also returns, before the claimed jobs, the running jobs whose lease or deadline passed (`claimed` is
-- false for those): the caller settles them by the queue's rules (`queue::overdue`), so a claim is one round trip.
-- Claimed jobs come back in no particular order; the caller orders them by (run_at, created_at).

CREATE FUNCTION pregen.claim_due_jobs(
    p_holder text,
    p_now timestamptz,
    p_lease_expires_at timestamptz,
    p_diagnostic_deadline timestamptz,
    p_practice_deadline timestamptz,
    p_limit bigint,
    p_overdue_limit bigint
) RETURNS TABLE (
    id uuid, user_id text, exam_type text, state text, attempt integer, max_attempts integer,
    run_at timestamptz, created_at timestamptz, updated_at timestamptz, started_at timestamptz,
    deadline_at timestamptz, lease_holder text, lease_expires_at timestamptz, finished_at timestamptz,
    last_error_code text, last_error_message text, releases integer, max_releases integer, claimed boolean
)
    LANGUAGE plpgsql
    SET search_path = ''
    SET enable_sort = off
    SET enable_seqscan = off
    SET enable_indexscan = on
    AS $claim$
#variable_conflict use_column
BEGIN
    RETURN QUERY
        (SELECT j.id, j.user_id, j.exam_type, j.state, j.attempt, j.max_attempts, j.run_at, j.created_at,
                j.updated_at, j.started_at, j.deadline_at, j.lease_holder, j.lease_expires_at, j.finished_at,
                j.last_error_code, j.last_error_message, j.releases, j.max_releases, false
         FROM pregen.jobs j
         WHERE j.state = 'running' AND j.lease_expires_at <= p_now
         ORDER BY j.lease_expires_at LIMIT p_overdue_limit)
        UNION ALL
        (SELECT j.id, j.user_id, j.exam_type, j.state, j.attempt, j.max_attempts, j.run_at, j.created_at,
                j.updated_at, j.started_at, j.deadline_at, j.lease_holder, j.lease_expires_at, j.finished_at,
                j.last_error_code, j.last_error_message, j.releases, j.max_releases, false
         FROM pregen.jobs j
         WHERE j.state = 'running' AND j.deadline_at <= p_now AND j.lease_expires_at > p_now
         ORDER BY j.deadline_at LIMIT p_overdue_limit);
    RETURN QUERY
        UPDATE pregen.jobs j SET
            state = 'running', attempt = j.attempt + 1, started_at = p_now, updated_at = p_now,
            deadline_at = CASE j.exam_type WHEN 'diagnostic' THEN p_diagnostic_deadline ELSE p_practice_deadline END,
            lease_holder = p_holder, lease_expires_at = p_lease_expires_at
        WHERE j.id = ANY (ARRAY(
            SELECT d.id FROM pregen.jobs d
            WHERE d.state IN ('pending', 'retry_wait') AND d.run_at <= p_now AND d.attempt < d.max_attempts
            ORDER BY d.run_at, d.created_at
            LIMIT p_limit
            FOR UPDATE SKIP LOCKED
        ))
        RETURNING j.id, j.user_id, j.exam_type, j.state, j.attempt, j.max_attempts, j.run_at, j.created_at,
                  j.updated_at, j.started_at, j.deadline_at, j.lease_holder, j.lease_expires_at, j.finished_at,
                  j.last_error_code, j.last_error_message, j.releases, j.max_releases, true;
END
$claim$;
-- The server's role claims; no API user may (the function runs with its caller's rights in any case).
REVOKE ALL ON FUNCTION pregen.claim_due_jobs(text, timestamptz, timestamptz, timestamptz, timestamptz, bigint, bigint)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    pregen.claim_due_jobs(text, timestamptz, timestamptz, timestamptz, timestamptz, bigint, bigint)
    TO service_role;
