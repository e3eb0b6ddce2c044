-- Row-level security on every pregen table. The service role (the server) does everything; a signed-in user
-- (`authenticated`) reads only their own exams and nothing else; `anon` reads nothing; no API user inserts,
-- updates or deletes anything. The old policies let users delete any of their own rows and anyone delete anyone's
-- expired rows: neither is repeated. The server's own connection owns the tables and is not subject to policies.

ALTER TABLE pregen.pre_generated_exams ENABLE ROW LEVEL SECURITY;
ALTER TABLE pregen.user_activity ENABLE ROW LEVEL SECURITY;
ALTER TABLE pregen.jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE pregen.claude_batches ENABLE ROW LEVEL SECURITY;
ALTER TABLE pregen.counters ENABLE ROW LEVEL SECURITY;
ALTER TABLE pregen.schema_migrations ENABLE ROW LEVEL SECURITY;

-- Privileges first: nothing for anyone but the service role, then the one read a signed-in user has. TRUNCATE
-- ignores row-level security, so it is never granted to an API user.
REVOKE ALL ON ALL TABLES IN SCHEMA pregen FROM PUBLIC, anon, authenticated;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA pregen FROM PUBLIC, anon, authenticated;
REVOKE ALL ON SCHEMA pregen FROM PUBLIC, anon;
GRANT USAGE ON SCHEMA pregen TO authenticated, service_role;
GRANT SELECT ON pregen.pre_generated_exams TO authenticated;
GRANT ALL ON ALL TABLES IN SCHEMA pregen TO service_role;
GRANT ALL ON ALL SEQUENCES IN SCHEMA pregen TO service_role;

-- A signed-in user reads their own exams. auth.uid() is called once per statement (an init plan), not per row.
CREATE POLICY exams_read_own ON pregen.pre_generated_exams
    FOR SELECT TO authenticated
    USING (user_id = (SELECT auth.uid())::text);

-- The service role, whether or not it bypasses row-level security as it does on Supabase.
CREATE POLICY service_role_all ON pregen.pre_generated_exams FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY service_role_all ON pregen.user_activity FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY service_role_all ON pregen.jobs FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY service_role_all ON pregen.claude_batches FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY service_role_all ON pregen.counters FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY service_role_all ON pregen.schema_migrations FOR ALL TO service_role USING (true) WITH CHECK (true);
