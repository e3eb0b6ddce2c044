-- Supabase compatibility for a plain Postgres: the three API roles and an auth.uid() that reads the request's JWT
-- claims the way Supabase's does. On Supabase all of these exist already and nothing here changes them.
-- Roles belong to the whole cluster, so creating them tolerates another database creating them at the same time.
-- On a plain Postgres this file needs a role with CREATEROLE the first time (or the three roles created beforehand).

DO $compat$
DECLARE
    api_role text;
BEGIN
    FOREACH api_role IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = api_role) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', api_role);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL; -- created by a concurrent migration of another database
            END;
        END IF;
    END LOOP;

    IF to_regprocedure('auth.uid()') IS NULL THEN
        CREATE SCHEMA IF NOT EXISTS auth;
        -- Supabase's definition: the `sub` claim of the request's JWT, as set by its API gateway per request.
        CREATE FUNCTION auth.uid() RETURNS uuid
            LANGUAGE sql STABLE
            AS $uid$
                SELECT coalesce(
                    nullif(current_setting('request.jwt.claim.sub', true), ''),
                    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
                )::uuid
            $uid$;
        GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
        GRANT EXECUTE ON FUNCTION auth.uid() TO anon, authenticated, service_role;
    END IF;
END
$compat$;
