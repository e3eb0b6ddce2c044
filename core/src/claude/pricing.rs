//! What requests cost. Money is `f64` US dollars throughout: prices are per million tokens, so exact integer
//! micro-dollars would still need fractions (a cached Haiku token costs 0.1 µ$), and sums of a few thousand
//! requests stay far inside f64's exact range.

use serde::{Deserialize, Serialize};

use super::types::Usage;

/// Base prices of one model in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelPrice {
    /// Uncached input, USD per million tokens.
    pub input_per_mtok: f64,
    /// Output, USD per million tokens.
    pub output_per_mtok: f64,
}

/// Prices per model id plus the multipliers for cache writes, cache reads and batches. A model is priced by
/// its exact id, else by the longest listed id it starts with followed by `-` (so the dated snapshot
/// `claude-haiku-4-5-20251001` is priced as `claude-haiku-4-5`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceTable {
    /// `(model id or alias, price)` pairs.
    pub models: Vec<(String, ModelPrice)>,
    /// Cache write price as a multiple of the input price (1.25 for the 5-minute cache).
    pub cache_write_multiplier: f64,
    /// Cache read price as a multiple of the input price (0.1).
    pub cache_read_multiplier: f64,
    /// Batch price as a multiple of the standard price (0.5).
    pub batch_multiplier: f64,
}

impl Default for PriceTable {
    /// Haiku 4.5 $1/$5, Sonnet 4.5 $3/$15, Opus 4.5 $5/$25; cache write 1.25×, read 0.1×, batch 0.5×.
    fn default() -> Self {
        let price = |input_per_mtok, output_per_mtok| ModelPrice { input_per_mtok, output_per_mtok };
        Self {
            models: vec![
                ("claude-haiku-4-5".into(), price(1.0, 5.0)),
                ("claude-sonnet-4-5".into(), price(3.0, 15.0)),
                ("claude-opus-4-5".into(), price(5.0, 25.0)),
            ],
            cache_write_multiplier: 1.25,
            cache_read_multiplier: 0.1,
            batch_multiplier: 0.5,
        }
    }
}

impl PriceTable {
    /// Adds or replaces the price of `model`.
    pub fn with_model(mut self, model: impl Into<String>, price: ModelPrice) -> Self {
        let model = model.into();
        self.models.retain(|(id, _)| *id != model);
        self.models.push((model, price));
        self
    }

    /// The price of `model`: exact id first, else the longest listed id that `model` extends with `-...`.
    pub fn price(&self, model: &str) -> Option<&ModelPrice> {
        if let Some((_, p)) = self.models.iter().find(|(id, _)| id == model) {
            return Some(p);
        }
        self.models
            .iter()
            .filter(|(id, _)| model.strip_prefix(id.as_str()).is_some_and(|rest| rest.starts_with('-')))
            .max_by_key(|(id, _)| id.len())
            .map(|(_, p)| p)
    }

    /// The cost of one request's usage, or `None` when the model has no price.
    pub fn cost(&self, model: &str, usage: &Usage, batch: bool) -> Option<Cost> {
        let price = self.price(model)?;
        let scale = if batch { self.batch_multiplier } else { 1.0 } / 1_000_000.0;
        let input_rate = price.input_per_mtok * scale;
        let input_usd = usage.input_tokens as f64 * input_rate;
        let output_usd = usage.output_tokens as f64 * price.output_per_mtok * scale;
        let cache_write_usd = usage.cache_creation_input_tokens as f64 * input_rate * self.cache_write_multiplier;
        let cache_read_usd = usage.cache_read_input_tokens as f64 * input_rate * self.cache_read_multiplier;
        Some(Cost {
            input_usd,
            output_usd,
            cache_write_usd,
            cache_read_usd,
            total_usd: input_usd + output_usd + cache_write_usd + cache_read_usd,
        })
    }
}

/// One request's cost in USD, split by what was billed.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cost {
    /// Uncached input.
    pub input_usd: f64,
    /// Output.
    pub output_usd: f64,
    /// Cache writes.
    pub cache_write_usd: f64,
    /// Cache reads.
    pub cache_read_usd: f64,
    /// The sum of the four.
    pub total_usd: f64,
}

impl Cost {
    /// Adds another cost to this one, part by part.
    pub fn add(&mut self, other: &Cost) {
        self.input_usd += other.input_usd;
        self.output_usd += other.output_usd;
        self.cache_write_usd += other.cache_write_usd;
        self.cache_read_usd += other.cache_read_usd;
        self.total_usd += other.total_usd;
    }
}

/// Summed usage and cost of many requests (one exam, or everything), ready for JSON analytics (camelCase).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UsageTotals {
    /// Requests counted.
    pub requests: u64,
    /// Of which sent through the Batches API.
    pub batch_requests: u64,
    /// Of which had no price (their tokens are counted, their cost is not).
    pub unpriced_requests: u64,
    /// Uncached input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cache write tokens.
    pub cache_creation_input_tokens: u64,
    /// Cache read tokens.
    pub cache_read_input_tokens: u64,
    /// Cost in USD, part by part.
    pub cost: Cost,
}

impl UsageTotals {
    /// Counts one request: its usage, and its cost as priced by `prices` (batch rate when `batch`).
    pub fn record(&mut self, prices: &PriceTable, model: &str, usage: &Usage, batch: bool) {
        let cost = prices.cost(model, usage, batch);
        self.requests += 1;
        self.batch_requests += u64::from(batch);
        self.unpriced_requests += u64::from(cost.is_none());
        self.input_tokens += usage.input_tokens;
        self.output_tokens += usage.output_tokens;
        self.cache_creation_input_tokens += usage.cache_creation_input_tokens;
        self.cache_read_input_tokens += usage.cache_read_input_tokens;
        if let Some(cost) = cost {
            self.cost.add(&cost);
        }
    }

    /// Adds another set of totals (e.g. one exam's into the overall figures).
    pub fn merge(&mut self, other: &UsageTotals) {
        self.requests += other.requests;
        self.batch_requests += other.batch_requests;
        self.unpriced_requests += other.unpriced_requests;
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cache_creation_input_tokens += other.cache_creation_input_tokens;
        self.cache_read_input_tokens += other.cache_read_input_tokens;
        self.cost.add(&other.cost);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    fn usage(input: u64, output: u64, write: u64, read: u64) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            cache_creation_input_tokens: write,
            cache_read_input_tokens: read,
        }
    }

    #[test]
    fn defaults_and_snapshot_ids() {
        let t = PriceTable::default();
        assert_eq!(t.price("claude-haiku-4-5").unwrap().input_per_mtok, 1.0);
        assert_eq!(t.price("claude-haiku-4-5-20251001").unwrap().output_per_mtok, 5.0);
        assert_eq!(t.price("claude-sonnet-4-5-20250929").unwrap().input_per_mtok, 3.0);
        assert_eq!(t.price("claude-opus-4-5-20251101").unwrap().output_per_mtok, 25.0);
        assert!(t.price("claude-haiku-4").is_none());
        assert!(t.price("claude-haiku-4-50").is_none(), "prefix must end at a dash");
        assert!(t.price("gpt-4").is_none());
    }

    #[test]
    fn longest_prefix_and_exact_match_win() {
        let t = PriceTable::default()
            .with_model("claude-haiku-4", ModelPrice { input_per_mtok: 9.0, output_per_mtok: 9.0 })
            .with_model("claude-haiku-4-5-20251001", ModelPrice { input_per_mtok: 2.0, output_per_mtok: 2.0 });
        assert_eq!(t.price("claude-haiku-4-5-20251001").unwrap().input_per_mtok, 2.0);
        assert_eq!(t.price("claude-haiku-4-5-20990101").unwrap().input_per_mtok, 1.0);
        assert_eq!(t.price("claude-haiku-4-1").unwrap().input_per_mtok, 9.0);
    }

    #[test]
    fn cost_applies_cache_and_batch_multipliers() {
        let t = PriceTable::default();
        let u = usage(1_000_000, 1_000_000, 1_000_000, 1_000_000);
        let c = t.cost("claude-sonnet-4-5", &u, false).unwrap();
        assert!(close(c.input_usd, 3.0) && close(c.output_usd, 15.0));
        assert!(close(c.cache_write_usd, 3.75) && close(c.cache_read_usd, 0.3));
        assert!(close(c.total_usd, 22.05));
        let b = t.cost("claude-sonnet-4-5-20250929", &u, true).unwrap();
        assert!(close(b.total_usd, 11.025));
        let haiku = t.cost("claude-haiku-4-5", &usage(2000, 1000, 0, 0), false).unwrap();
        assert!(close(haiku.total_usd, 0.002 + 0.005));
        assert!(t.cost("unknown", &u, false).is_none());
    }

    #[test]
    fn totals_add_and_merge() {
        let t = PriceTable::default();
        let mut exam = UsageTotals::default();
        exam.record(&t, "claude-haiku-4-5", &usage(1000, 2000, 300, 400), false);
        exam.record(&t, "claude-haiku-4-5", &usage(1000, 2000, 0, 0), true);
        exam.record(&t, "mystery", &usage(5, 5, 0, 0), false);
        assert_eq!((exam.requests, exam.batch_requests, exam.unpriced_requests), (3, 1, 1));
        assert_eq!(exam.input_tokens, 2005);
        assert_eq!(exam.cache_read_input_tokens, 400);
        let expected = (1000.0 + 10_000.0 + 300.0 * 1.25 + 400.0 * 0.1) / 1e6 + (1000.0 + 10_000.0) * 0.5 / 1e6;
        assert!(close(exam.cost.total_usd, expected), "{}", exam.cost.total_usd);
        let mut all = UsageTotals::default();
        all.merge(&exam);
        all.merge(&exam);
        assert_eq!(all.requests, 6);
        assert!(close(all.cost.total_usd, 2.0 * expected));
        let json = serde_json::to_value(all).unwrap();
        assert_eq!(json["batchRequests"], 2);
        assert!(json["cost"]["totalUsd"].is_f64());
        assert!(json.get("cacheReadInputTokens").is_some());
    }
}
