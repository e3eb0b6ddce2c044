//! Job rows of the SQLite backend: reading a row into a [`Job`], checking its text and integers on the way.

use rusqlite::{Connection, OptionalExtension, Row};

use super::{db_error, from_ms};
use crate::queue::{Job, JobError, JobId, JobKey, Lease};
use crate::store::StoreError;

/// A job row as stored, before its text and integers are checked.
struct JobRow {
    id: String,
    user_id: String,
    exam_type: String,
    state: String,
    attempt: i64,
    max_attempts: i64,
    run_at: i64,
    created_at: i64,
    updated_at: i64,
    started_at: Option<i64>,
    deadline_at: Option<i64>,
    lease_holder: Option<String>,
    lease_expires_at: Option<i64>,
    finished_at: Option<i64>,
    last_error_code: Option<String>,
    last_error_message: Option<String>,
    releases: i64,
    max_releases: i64,
}

fn read_row(r: &Row<'_>) -> rusqlite::Result<JobRow> {
    Ok(JobRow {
        id: r.get(0)?,
        user_id: r.get(1)?,
        exam_type: r.get(2)?,
        state: r.get(3)?,
        attempt: r.get(4)?,
        max_attempts: r.get(5)?,
        run_at: r.get(6)?,
        created_at: r.get(7)?,
        updated_at: r.get(8)?,
        started_at: r.get(9)?,
        deadline_at: r.get(10)?,
        lease_holder: r.get(11)?,
        lease_expires_at: r.get(12)?,
        finished_at: r.get(13)?,
        last_error_code: r.get(14)?,
        last_error_message: r.get(15)?,
        releases: r.get(16)?,
        max_releases: r.get(17)?,
    })
}

pub(super) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

impl JobRow {
    fn into_job(self) -> Result<Job, StoreError> {
        let opt = |v: Option<i64>| v.map(from_ms).transpose();
        let lease = match (self.lease_holder, self.lease_expires_at) {
            (Some(holder), Some(expires)) => Some(Lease { holder, expires_at: from_ms(expires)? }),
            _ => None,
        };
        let last_error = match (self.last_error_code, self.last_error_message) {
            (Some(code), message) => Some(JobError { code, message: message.unwrap_or_default() }),
            _ => None,
        };
        Ok(Job {
            id: JobId(self.id),
            key: JobKey { user_id: self.user_id, exam_type: self.exam_type.parse().map_err(corrupt)? },
            state: self.state.parse().map_err(corrupt)?,
            attempt: u32::try_from(self.attempt).map_err(corrupt)?,
            max_attempts: u32::try_from(self.max_attempts).map_err(corrupt)?,
            releases: u32::try_from(self.releases).map_err(corrupt)?,
            max_releases: u32::try_from(self.max_releases).map_err(corrupt)?,
            run_at: from_ms(self.run_at)?,
            created_at: from_ms(self.created_at)?,
            updated_at: from_ms(self.updated_at)?,
            started_at: opt(self.started_at)?,
            deadline: opt(self.deadline_at)?,
            lease,
            finished_at: opt(self.finished_at)?,
            last_error,
        })
    }
}

pub(super) fn query_jobs(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Job>, StoreError> {
    let rows = conn
        .prepare_cached(sql)
        .and_then(|mut st| st.query_map(params, read_row)?.collect::<Result<Vec<_>, _>>())
        .map_err(db_error)?;
    rows.into_iter().map(JobRow::into_job).collect()
}

pub(super) fn query_job(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Option<Job>, StoreError> {
    let row =
        conn.prepare_cached(sql).and_then(|mut st| st.query_row(params, read_row).optional()).map_err(db_error)?;
    row.map(JobRow::into_job).transpose()
}
