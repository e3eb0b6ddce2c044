//! `pregen import-legacy`: brings the old system's unused, unexpired exams into this store. It reads the old
//! `public.pre_generated_exams` table page by page in one read-only snapshot (the old table is never written),
//! judges every row by [`judge`], and stores each page's valid rows in one transaction together with their old
//! ids in `pregen.legacy_imports`, so a second run (or one running at the same time) imports nothing twice.

mod judge;

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

pub use judge::{LegacyRow, Skip, SkipReason, judge};

use super::exams::insert_rows;
use super::{PgOptions, PgStore, at, execute, get, query, sql};
use crate::policy::Policy;
use crate::store::{NewExam, StoreError};

/// Rows read per page: the old exams are up to about 300 KB of JSON each.
const PAGE: i64 = 50;

/// How many skipped rows the report lists one by one (the counts cover all).
pub const LISTED_SKIPS: usize = 1_000;

/// A skipped row, as the report lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkippedRow {
    /// The old row's id.
    pub legacy_id: String,
    /// Why it was skipped.
    pub reason: SkipReason,
    /// What exactly was wrong.
    pub detail: String,
}

/// What an import did: the command's JSON body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LegacyImportReport {
    /// Rows read from the old table.
    pub read: u64,
    /// Exams stored by this run.
    pub imported: u64,
    /// Skipped rows per reason (`alreadyImported`, `used`, `expired`, `badRow`, `invalid`).
    pub skipped: BTreeMap<SkipReason, u64>,
    /// The skipped rows with their reason and detail, the first [`LISTED_SKIPS`] of them (already imported ones
    /// are only counted).
    pub skipped_rows: Vec<SkippedRow>,
}

impl LegacyImportReport {
    fn skip(&mut self, legacy_id: &Uuid, skip: Skip) {
        *self.skipped.entry(skip.reason).or_default() += 1;
        if skip.reason != SkipReason::AlreadyImported && self.skipped_rows.len() < LISTED_SKIPS {
            self.skipped_rows.push(SkippedRow {
                legacy_id: legacy_id.to_string(),
                reason: skip.reason,
                detail: skip.detail,
            });
        }
    }
}

impl PgStore {
    /// Imports the old system's exams from the database at `source_url` (its `public.pre_generated_exams`,
    /// which is only read) into this store, judged at `now` (see [`judge`]; `policy` dates rows without an
    /// expiry). The source may be this store's own database (Supabase: the old table beside the `pregen` schema).
    ///
    /// Errors: the source cannot be reached or has no such table ([`StoreError`] from the server); a failed
    /// page rolls back that page only (earlier pages stay imported, and a rerun continues).
    pub async fn import_legacy(
        &self,
        source_url: &str,
        now: DateTime<Utc>,
        policy: &Policy,
    ) -> Result<LegacyImportReport, StoreError> {
        let options = PgOptions { max_connections: 1, migrate: false, listen: false, ..PgOptions::default() };
        let source = PgStore::connect(source_url, options).await?;
        let mut reading = source.conn().await?;
        let snapshot = reading.snapshot().await?;
        let mut report = LegacyImportReport::default();
        let mut after = Uuid::nil();
        loop {
            let rows = query(&snapshot, &sql::LEGACY_PAGE, &[&after, &PAGE]).await?;
            let Some(last) = rows.last() else { break };
            after = get(last, 0)?;
            let page = rows
                .iter()
                .map(|r| {
                    Ok((
                        get::<Uuid>(r, 0)?,
                        LegacyRow {
                            id: get::<Uuid>(r, 0)?.to_string(),
                            user_id: get(r, 1)?,
                            exam_type: get(r, 2)?,
                            questions: get(r, 3)?,
                            generated_at: get(r, 4)?,
                            expires_at: get(r, 5)?,
                            used: get(r, 6)?,
                            created_at: get(r, 7)?,
                        },
                    ))
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            report.read += page.len() as u64;
            self.import_page(page, now, policy, &mut report).await?;
        }
        drop(snapshot);
        tracing::info!(
            "[Pre-Gen] legacy import: {} read, {} imported, skipped {:?}",
            report.read,
            report.imported,
            report.skipped
        );
        Ok(report)
    }

    /// Judges one page and stores its valid rows, with their old ids, in one transaction.
    async fn import_page(
        &self,
        page: Vec<(Uuid, LegacyRow)>,
        now: DateTime<Utc>,
        policy: &Policy,
        report: &mut LegacyImportReport,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let ids: Vec<Uuid> = page.iter().map(|(id, _)| *id).collect();
        let done: HashSet<Uuid> = query(&tx, &sql::LEGACY_IMPORTED, &[&ids])
            .await?
            .iter()
            .map(|r| get(r, 0))
            .collect::<Result<_, _>>()?;
        let mut valid: Vec<(Uuid, NewExam)> = Vec::new();
        for (id, row) in &page {
            if done.contains(id) {
                report.skip(id, Skip { reason: SkipReason::AlreadyImported, detail: String::new() });
                continue;
            }
            match judge(row, now, policy) {
                Ok(exam) => valid.push((*id, exam)),
                Err(skip) => report.skip(id, skip),
            }
        }
        let candidates: Vec<Uuid> = valid.iter().map(|(id, _)| *id).collect();
        let recorded: HashSet<Uuid> = query(&tx, &sql::RECORD_LEGACY_IMPORTS, &[&candidates, &at(now)])
            .await?
            .iter()
            .map(|r| get(r, 0))
            .collect::<Result<_, _>>()?;
        let mut legacy_ids = Vec::new();
        let mut exams = Vec::new();
        for (id, exam) in valid {
            if recorded.contains(&id) {
                legacy_ids.push(id);
                exams.push((exam, None));
            } else {
                // A run at the same time recorded it between the look and the insert.
                report.skip(&id, Skip { reason: SkipReason::AlreadyImported, detail: String::new() });
            }
        }
        if !exams.is_empty() {
            let exam_ids: Vec<Uuid> = insert_rows(&tx, &exams)
                .await?
                .iter()
                .map(|id| Uuid::parse_str(id).map_err(|e| StoreError::Corrupt(format!("exam id {id}: {e}"))))
                .collect::<Result<_, _>>()?;
            execute(&tx, &sql::LINK_LEGACY_IMPORTS, &[&legacy_ids, &exam_ids]).await?;
        }
        tx.commit().await?;
        report.imported += legacy_ids.len() as u64;
        Ok(())
    }
}
