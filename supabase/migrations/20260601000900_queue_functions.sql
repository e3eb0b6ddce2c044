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
        SELECT j.id, j.user_id, j.exam_type, j.state, j.attempt, j.max_attempts, j.run_at, j.created_at,
               j.updated_at, j.started_at, j.deadline_at, j.lease_holder, j.lease_expires_at, j.finished_at,
               j.last_error_code, j.last_error_message, j.releases, j.max_releases, false
        FROM pregen.jobs j
        WHERE j.id = ANY (ARRAY(
            (SELECT o.id FROM pregen.jobs o
             WHERE o.state = 'running' AND o.lease_expires_at <= p_now
             ORDER BY o.lease_expires_at LIMIT p_overdue_limit)
            UNION ALL
            (SELECT o.id FROM pregen.jobs o
             WHERE o.state = 'running' AND o.deadline_at <= p_now
               AND (o.lease_expires_at > p_now OR o.lease_expires_at IS NULL)
             ORDER BY o.deadline_at LIMIT p_overdue_limit)
        ));
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
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION
    pregen.claim_due_jobs(text, timestamptz, timestamptz, timestamptz, timestamptz, bigint, bigint)
    TO service_role;

-- Finishing decisions for several running jobs in one call (the queue's shared finishes), each written only where
-- its holder and attempt still hold the job (the fence); rows are locked in id order, so two calls never deadlock.
-- A function for the same reason as the claim: with stale statistics the planner joined the decisions to every
-- running row (and every dead entry of the running indexes) instead of looking each job up by id, 3 ms a call at a
-- few thousand finished jobs. Inside, only nested loops over index scans are on, whatever the session says.
CREATE FUNCTION pregen.finish_jobs(
    p_ids uuid[],
    p_holders text[],
    p_attempts integer[],
    p_states text[],
    p_run_ats timestamptz[],
    p_codes text[],
    p_messages text[],
    p_decided_ats timestamptz[],
    p_finished_ats timestamptz[]
) RETURNS SETOF pregen.jobs
    LANGUAGE plpgsql
    SET search_path = ''
    SET enable_nestloop = on
    SET enable_indexscan = on
    SET enable_hashjoin = off
    SET enable_mergejoin = off
    SET enable_bitmapscan = off
    SET enable_seqscan = off
    AS $finish$
BEGIN
    RETURN QUERY
        WITH d AS (
            SELECT * FROM unnest(p_ids, p_holders, p_attempts, p_states, p_run_ats, p_codes, p_messages,
                                 p_decided_ats, p_finished_ats)
                AS d (id, holder, attempt, state, run_at, code, message, decided_at, finished_at)
        ), held AS (
            SELECT j.id FROM pregen.jobs j JOIN d ON d.id = j.id
            WHERE j.state = 'running' AND j.lease_holder = d.holder AND j.attempt = d.attempt
            ORDER BY j.id
            FOR UPDATE OF j
        )
        UPDATE pregen.jobs AS j SET state = d.state, run_at = coalesce(d.run_at, j.run_at),
            last_error_code = d.code, last_error_message = d.message, updated_at = d.decided_at,
            finished_at = d.finished_at, lease_holder = NULL, lease_expires_at = NULL, deadline_at = NULL
        FROM d
        WHERE j.id = d.id AND j.id IN (SELECT held.id FROM held)
          AND j.state = 'running' AND j.lease_holder = d.holder AND j.attempt = d.attempt
        RETURNING j.*;
END
$finish$;
REVOKE ALL ON FUNCTION pregen.finish_jobs(uuid[], text[], integer[], text[], timestamptz[], text[], text[],
    timestamptz[], timestamptz[]) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION pregen.finish_jobs(uuid[], text[], integer[], text[], timestamptz[], text[], text[],
    timestamptz[], timestamptz[]) TO service_role;
