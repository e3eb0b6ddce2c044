//! Which statement finds the (active user, type) pairs below target: probing each pair's stock by index is cheap
//! when few users are active beside the stock table's size; one pass over all unused stock is cheaper when many
//! are (measured in BENCHMARKS.md, section "Postgres"). Both give the same pairs in the same order: the probes a
//! row per pair, the one pass a row per user with both types' stock.

use chrono::{DateTime, Utc};

use super::{Db, at, get, query, query_one, sql};
use crate::exam::ExamType;
use crate::policy::Policy;
use crate::store::{MissingExams, StoreError, UserId};

/// Stock rows one pass reads in the time one index probe of a (user, type) pair takes: about 0.6 µs per row
/// against 7 µs per probe on the 1,000,000-exam bench, rounded up.
const ROWS_PER_PROBE: i64 = 12;

/// Whether one pass over the stock (`stock_rows`, the planner's estimate) beats a probe for each of the
/// `active_users`' two pairs.
pub(super) fn one_pass(active_users: i64, stock_rows: i64) -> bool {
    active_users.saturating_mul(2).saturating_mul(ROWS_PER_PROBE) >= stock_rows
}

/// The pairs below `policy`'s target at `now`, in (user, type) order, by the cheaper statement for the data's
/// shape (one extra look-up of the active users' count and the stock table's size).
pub(super) async fn plan_missing(
    client: &impl Db,
    now: DateTime<Utc>,
    policy: &Policy,
) -> Result<Vec<MissingExams>, StoreError> {
    let (since, cutoff, target) =
        (at(policy.active_since(now)), at(policy.stock_cutoff(now)), i64::from(policy.stock_target));
    let shape = query_one(client, &sql::PLAN_SHAPE, &[&since]).await?;
    let (active, rows): (i64, Option<i64>) = (get(&shape, 0)?, get(&shape, 1)?);
    if !one_pass(active, rows.unwrap_or(0)) {
        let rows = query(client, &sql::PLAN_MISSING, &[&since, &cutoff, &target]).await?;
        return rows
            .iter()
            .map(|row| {
                let exam_type: &str = get(row, 1)?;
                let exam_type = exam_type.parse().map_err(|e| StoreError::Corrupt(format!("{e}")))?;
                Ok(MissingExams { user_id: user_id(row)?, exam_type, missing: shortfall(get(row, 2)?) })
            })
            .collect();
    }
    let rows = query(client, &sql::PLAN_MISSING_ONE_PASS, &[&since, &cutoff, &target]).await?;
    let mut missing = Vec::with_capacity(rows.len() * 2);
    for row in &rows {
        let user = user_id(row)?;
        for (column, exam_type) in [(1, ExamType::Diagnostic), (2, ExamType::Practice)] {
            let stock: i64 = get(row, column)?;
            if stock < target {
                missing.push(MissingExams {
                    user_id: user.clone(),
                    exam_type,
                    missing: shortfall(target - stock),
                });
            }
        }
    }
    Ok(missing)
}

/// The first column as a user id.
fn user_id(row: &tokio_postgres::Row) -> Result<UserId, StoreError> {
    let user: &str = get(row, 0)?;
    UserId::parse(user).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A shortfall as the count to generate.
fn shortfall(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::one_pass;

    #[test]
    fn many_active_users_take_one_pass_and_few_take_probes() {
        assert!(one_pass(100_000, 1_000_000));
        assert!(!one_pass(1_000, 1_000_000));
        assert!(one_pass(0, 0), "an unanalysed (empty-looking) table is read in one pass");
        assert!(one_pass(i64::MAX, i64::MAX), "no overflow");
    }

    #[test]
    fn the_boundary_is_twelve_rows_per_pair() {
        assert!(one_pass(1, 24));
        assert!(!one_pass(1, 25));
    }
}
