//! Shared pieces of the bench harnesses: fixture databases kept between runs, and latency summaries.

use std::path::PathBuf;
use std::time::Duration;

use hdrhistogram::Histogram;

/// Where fixture databases live between runs (they take a while to build): `target/bench-data/`.
pub fn data_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data");
    std::fs::create_dir_all(&dir).expect("create bench data dir");
    dir
}

/// Latencies in microseconds, recorded one operation at a time.
pub struct Latencies {
    histogram: Histogram<u64>,
}

impl Default for Latencies {
    fn default() -> Self {
        Self { histogram: Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds") }
    }
}

impl Latencies {
    /// Records one operation's duration.
    pub fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
        self.histogram.saturating_record(us);
    }

    /// Adds another recorder's operations (one per concurrent producer) to this one's.
    pub fn merge(&mut self, other: Latencies) {
        self.histogram.add(&other.histogram).expect("histograms of the same bounds");
    }

    /// `p50 / p99 / max` in milliseconds with three decimals, and the count.
    pub fn summary(&self) -> String {
        let ms = |q: f64| self.histogram.value_at_quantile(q) as f64 / 1000.0;
        format!(
            "n={} p50={:.3} ms p99={:.3} ms max={:.3} ms",
            self.histogram.len(),
            ms(0.5),
            ms(0.99),
            self.histogram.max() as f64 / 1000.0
        )
    }

    /// The latency at quantile `q`, in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        self.histogram.value_at_quantile(q) as f64 / 1000.0
    }
}

/// `server` (a Postgres URL) with its database replaced by `name`, keeping any `?parameters` (such as
/// `options=-c%20synchronous_commit%3Doff` for a diagnostic run).
pub fn database_url(server: &str, name: &str) -> String {
    let (base, params) = server.split_once('?').map_or((server, None), |(b, p)| (b, Some(p)));
    let base = base.rsplit_once('/').expect("a URL with a database").0;
    match params {
        Some(p) => format!("{base}/{name}?{p}"),
        None => format!("{base}/{name}"),
    }
}
