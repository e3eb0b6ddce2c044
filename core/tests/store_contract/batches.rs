//! Message Batches in flight: recorded, held by one collector at a time, released for good or for later.

use std::collections::HashSet;

use chrono::TimeDelta;
use pregen_core::ErrorCode;
use pregen_core::store::{BatchRecord, BatchStore};

use super::{Backend, t0};

fn batch(id: &str) -> BatchRecord {
    BatchRecord {
        id: id.to_owned(),
        holder: "sweeper-1".into(),
        plan: format!("{{\"batch\":\"{id}\"}}"),
        request_count: 12,
        submitted_at: t0(),
    }
}

pub async fn a_batch_is_held_by_one_collector_until_released(b: &impl Backend) {
    let store = b.open().await;
    store.record_batch(&batch("msgbatch_1")).await.unwrap();
    store.record_batch(&batch("msgbatch_2")).await.unwrap();
    assert_eq!(store.record_batch(&batch("msgbatch_1")).await.unwrap_err().code(), "store.conflict");
    assert_eq!(store.count_open_batches().await.unwrap(), 2);

    let hold = t0() + TimeDelta::minutes(5);
    let mut taken = store.claim_open_batches("c1", t0(), hold).await.unwrap();
    taken.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(taken, vec![batch("msgbatch_1"), batch("msgbatch_2")]);
    assert!(store.claim_open_batches("c2", t0() + TimeDelta::minutes(1), hold).await.unwrap().is_empty());

    store.release_batch("msgbatch_1", "c1", true, t0() + TimeDelta::minutes(2)).await.unwrap();
    store.release_batch("msgbatch_2", "c1", false, t0() + TimeDelta::minutes(2)).await.unwrap();
    let err = store.release_batch("msgbatch_2", "c1", true, t0()).await.unwrap_err();
    assert_eq!(err.code(), "store.lease_lost", "released already");
    assert_eq!(store.count_open_batches().await.unwrap(), 1);
    let again = store.claim_open_batches("c2", t0() + TimeDelta::minutes(3), hold).await.unwrap();
    assert_eq!(again.iter().map(|b| b.id.as_str()).collect::<Vec<_>>(), ["msgbatch_2"]);
    // c2's hold lapses at `hold`: then c3 may take it, and c2 can no longer release it.
    assert!(store.claim_open_batches("c3", hold - TimeDelta::milliseconds(1), hold).await.unwrap().is_empty());
    assert_eq!(store.claim_open_batches("c3", hold, hold + TimeDelta::minutes(5)).await.unwrap().len(), 1);
    assert_eq!(store.release_batch("msgbatch_2", "c2", true, hold).await.unwrap_err().code(), "store.lease_lost");
}

/// Collectors racing over four handles take each open batch exactly once.
pub async fn racing_collectors_take_each_batch_once(b: &impl Backend) {
    let store = b.open().await;
    for i in 0..50 {
        store.record_batch(&batch(&format!("msgbatch_{i:02}"))).await.unwrap();
    }
    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(b.open().await);
    }
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = stores[i % 4].clone();
            tokio::spawn(async move {
                let hold = t0() + TimeDelta::minutes(5);
                store.claim_open_batches(&format!("c{i}"), t0(), hold).await.unwrap()
            })
        })
        .collect();
    let mut taken = Vec::new();
    for task in tasks {
        taken.extend(task.await.unwrap().into_iter().map(|b| b.id));
    }
    let unique: HashSet<&String> = taken.iter().collect();
    assert_eq!((taken.len(), unique.len()), (50, 50));
}
