//! Fault injection: which message requests fail, and how. A plan is scripted (the n-th request after the plan was
//! installed gets the n-th step), random from a seed with per-fault probabilities, or a predicate; it also reads
//! from the string spec the `pregen simulate --faults` option takes (grammar on [`FaultPlan`]).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::error::SimulatorError;
use crate::prompt::ChunkBrief;

/// One kind of misbehaviour the simulator can show a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    /// 429 `rate_limit_error` with `retry-after` and `retry-after-ms`.
    RateLimited,
    /// 529 `overloaded_error`.
    Overloaded,
    /// 500 `api_error`.
    ServerError,
    /// 503 `api_error` (a service or proxy in front of the API that is unavailable).
    Unavailable,
    /// 408 `timeout_error`.
    RequestTimeout,
    /// Hold the request longer than any client timeout, then drop the connection.
    Hang,
    /// Close the TCP connection (RST) without answering.
    Reset,
    /// 200 with a body that is not valid JSON.
    Malformed,
    /// `stop_reason: "max_tokens"` with a cut-off tool input: fewer items and a truncated last one.
    MaxTokens,
    /// Some items break the item rules, each rule in turn.
    BadItems,
    /// Two items share a stem.
    Duplicates,
    /// One item too few or one too many.
    WrongCount,
    /// The tool input's item list arrives as a JSON string holding it (a known model habit): the list, the whole
    /// input, or the list encoded twice, in turn by the brief's variation.
    StringInput,
    /// `usage` with null or missing token counts, or no usage at all, in turn by the brief's variation.
    NullUsage,
    /// Every other item's options carry their own label (`A. text`, `(b) text`, `C) text`) or are bare letters.
    LabelledOptions,
    /// Every item's key is the strictly longest option, whatever the brief asks (a model ignoring the request for
    /// options of similar length).
    LengthCue,
}

impl FaultKind {
    /// Every kind, in spec order.
    pub const ALL: [FaultKind; 16] = [
        FaultKind::RateLimited,
        FaultKind::Overloaded,
        FaultKind::ServerError,
        FaultKind::Unavailable,
        FaultKind::RequestTimeout,
        FaultKind::Hang,
        FaultKind::Reset,
        FaultKind::Malformed,
        FaultKind::MaxTokens,
        FaultKind::BadItems,
        FaultKind::Duplicates,
        FaultKind::WrongCount,
        FaultKind::StringInput,
        FaultKind::NullUsage,
        FaultKind::LabelledOptions,
        FaultKind::LengthCue,
    ];

    /// The name used in specs and logs: `429`, `529`, `500`, `503`, `408`, `hang`, `reset`, `malformed`,
    /// `max_tokens`, `bad_items`, `duplicates`, `wrong_count`, `string_input`, `null_usage`, `labelled_options`,
    /// `length_cue`.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::RateLimited => "429",
            FaultKind::Overloaded => "529",
            FaultKind::ServerError => "500",
            FaultKind::Unavailable => "503",
            FaultKind::RequestTimeout => "408",
            FaultKind::Hang => "hang",
            FaultKind::Reset => "reset",
            FaultKind::Malformed => "malformed",
            FaultKind::MaxTokens => "max_tokens",
            FaultKind::BadItems => "bad_items",
            FaultKind::Duplicates => "duplicates",
            FaultKind::WrongCount => "wrong_count",
            FaultKind::StringInput => "string_input",
            FaultKind::NullUsage => "null_usage",
            FaultKind::LabelledOptions => "labelled_options",
            FaultKind::LengthCue => "length_cue",
        }
    }

    /// The HTTP status of a fault that answers with an error status, if this is one.
    pub fn status(self) -> Option<u16> {
        match self {
            FaultKind::RateLimited => Some(429),
            FaultKind::Overloaded => Some(529),
            FaultKind::ServerError => Some(500),
            FaultKind::Unavailable => Some(503),
            FaultKind::RequestTimeout => Some(408),
            _ => None,
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FaultKind {
    type Err = SimulatorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        FaultKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| SimulatorError::FaultSpec(format!("unknown fault {s:?}")))
    }
}

/// One fault to apply: its kind, and optionally an `x-should-retry` header to send with an error status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    /// What goes wrong.
    pub kind: FaultKind,
    /// `Some(false)` sends `x-should-retry: false` (spec suffix `:noretry`), `Some(true)` sends `true`.
    pub should_retry: Option<bool>,
}

impl Fault {
    /// A fault of `kind` without an `x-should-retry` header.
    pub fn new(kind: FaultKind) -> Self {
        Self { kind, should_retry: None }
    }

    /// The same fault telling the client not to retry (`x-should-retry: false`).
    pub fn no_retry(self) -> Self {
        Self { should_retry: Some(false), ..self }
    }
}

impl FromStr for Fault {
    type Err = SimulatorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (kind, should_retry) = match s.split_once(':') {
            None => (s, None),
            Some((kind, flag)) => match flag.trim().to_ascii_lowercase().as_str() {
                "noretry" => (kind, Some(false)),
                "retry" => (kind, Some(true)),
                _ => return Err(SimulatorError::FaultSpec(format!("unknown fault flag {flag:?}"))),
            },
        };
        Ok(Fault { kind: kind.parse()?, should_retry })
    }
}

impl From<FaultKind> for Fault {
    fn from(kind: FaultKind) -> Self {
        Fault::new(kind)
    }
}

/// What a predicate plan sees of a message request when deciding its fault.
#[derive(Debug, Clone, Copy)]
pub struct FaultContext<'a> {
    /// 1 for the first message request (that passed auth and validation) since the plan was installed.
    pub index: u64,
    /// The requested model.
    pub model: &'a str,
    /// The brief in the user message, if any.
    pub brief: Option<&'a ChunkBrief>,
    /// The `x-stainless-retry-count` header, if sent.
    pub retry_count: Option<u32>,
}

/// A predicate deciding a request's fault.
pub type FaultPredicate = Arc<dyn Fn(&FaultContext<'_>) -> Option<Fault> + Send + Sync>;

/// Which message requests fail, and how.
///
/// Spec grammar (`FaultPlan::from_str`), white space ignored:
/// ```text
/// plan   := "" | "none" | script | random
/// script := "script:" step ("," step)*        step n applies to the n-th message request; later ones succeed
/// step   := "ok" | fault
/// random := entry ("," entry)*                 entry order fixes how one uniform draw per request is split
/// entry  := fault "=" probability | "seed=" u64    probabilities in 0..=1, summing to at most 1
/// fault  := kind [":noretry" | ":retry"]        the flag sends x-should-retry: false / true
/// kind   := "429" | "529" | "500" | "503" | "408" | "hang" | "reset" | "malformed" | "max_tokens" | "bad_items"
///         | "duplicates" | "wrong_count" | "string_input" | "null_usage" | "labelled_options" | "length_cue"
/// ```
/// e.g. `"429=0.05,529=0.05,500=0.02,hang=0.01,reset=0.01"` or `"script:429,500:noretry,ok,529"`.
#[derive(Clone, Default)]
pub enum FaultPlan {
    /// No faults.
    #[default]
    None,
    /// The n-th message request gets step n (`None` = succeed); requests after the script succeed.
    Script(Vec<Option<Fault>>),
    /// Each request draws once from a generator seeded with (`seed`, request index); the first entry whose
    /// cumulative probability exceeds the draw applies. `seed: None` uses the simulator's seed.
    Random {
        /// The seed; `None` for the simulator's.
        seed: Option<u64>,
        /// Per-fault probabilities, in draw order.
        probabilities: Vec<(Fault, f64)>,
    },
    /// A function of the request decides.
    Predicate(FaultPredicate),
}

impl FaultPlan {
    /// A scripted plan from kinds and `None`s (succeed).
    pub fn script(steps: impl IntoIterator<Item = Option<FaultKind>>) -> Self {
        FaultPlan::Script(steps.into_iter().map(|s| s.map(Fault::new)).collect())
    }

    /// A plan deciding by `predicate`.
    pub fn predicate(predicate: impl Fn(&FaultContext<'_>) -> Option<Fault> + Send + Sync + 'static) -> Self {
        FaultPlan::Predicate(Arc::new(predicate))
    }

    /// The fault for the request described by `ctx`; `default_seed` seeds random plans without their own.
    pub(crate) fn pick(&self, ctx: &FaultContext<'_>, default_seed: u64) -> Option<Fault> {
        match self {
            FaultPlan::None => None,
            FaultPlan::Script(steps) => {
                let at = usize::try_from(ctx.index.checked_sub(1)?).ok()?;
                steps.get(at).copied().flatten()
            }
            FaultPlan::Random { seed, probabilities } => {
                let seed = seed.unwrap_or(default_seed) ^ ctx.index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
                let draw: f64 = ChaCha8Rng::seed_from_u64(seed).random();
                let mut cumulative = 0.0;
                probabilities.iter().find_map(|(fault, p)| {
                    cumulative += p;
                    (draw < cumulative).then_some(*fault)
                })
            }
            FaultPlan::Predicate(predicate) => predicate(ctx),
        }
    }
}

impl fmt::Debug for FaultPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultPlan::None => f.write_str("FaultPlan::None"),
            FaultPlan::Script(steps) => f.debug_tuple("FaultPlan::Script").field(steps).finish(),
            FaultPlan::Random { seed, probabilities } => f
                .debug_struct("FaultPlan::Random")
                .field("seed", seed)
                .field("probabilities", probabilities)
                .finish(),
            FaultPlan::Predicate(_) => f.write_str("FaultPlan::Predicate(..)"),
        }
    }
}

impl FromStr for FaultPlan {
    type Err = SimulatorError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let spec = spec.trim();
        if spec.is_empty() || spec.eq_ignore_ascii_case("none") {
            return Ok(FaultPlan::None);
        }
        if let Some(steps) = spec.strip_prefix("script:") {
            let steps = steps
                .split(',')
                .map(|step| match step.trim() {
                    s if s.eq_ignore_ascii_case("ok") => Ok(None),
                    s => s.parse::<Fault>().map(Some),
                })
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(FaultPlan::Script(steps));
        }
        let mut seed = None;
        let mut probabilities = Vec::new();
        for entry in spec.split(',') {
            let (name, value) = entry
                .split_once('=')
                .ok_or_else(|| SimulatorError::FaultSpec(format!("{entry:?} is not name=value")))?;
            if name.trim().eq_ignore_ascii_case("seed") {
                let parsed = value.trim().parse().map_err(|_| bad_number("seed", value))?;
                seed = Some(parsed);
                continue;
            }
            let p: f64 = value.trim().parse().map_err(|_| bad_number(name, value))?;
            if !(0.0..=1.0).contains(&p) {
                return Err(SimulatorError::FaultSpec(format!("probability of {name} must lie in 0..=1")));
            }
            probabilities.push((name.parse::<Fault>()?, p));
        }
        if probabilities.iter().map(|(_, p)| p).sum::<f64>() > 1.0 + 1e-9 {
            return Err(SimulatorError::FaultSpec("probabilities add up to more than 1".into()));
        }
        Ok(FaultPlan::Random { seed, probabilities })
    }
}

fn bad_number(name: &str, value: &str) -> SimulatorError {
    SimulatorError::FaultSpec(format!("{}: {:?} is not a number", name.trim(), value.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(index: u64) -> FaultContext<'static> {
        FaultContext { index, model: "m", brief: None, retry_count: None }
    }

    #[test]
    fn scripts_apply_in_order_then_succeed() {
        let plan: FaultPlan = "script:429, 500:noretry ,ok,529".parse().unwrap();
        let picked: Vec<_> = (1..=5).map(|i| plan.pick(&ctx(i), 0)).collect();
        assert_eq!(picked[0], Some(Fault::new(FaultKind::RateLimited)));
        assert_eq!(picked[1], Some(Fault::new(FaultKind::ServerError).no_retry()));
        assert_eq!(picked[2], None);
        assert_eq!(picked[3], Some(Fault::new(FaultKind::Overloaded)));
        assert_eq!(picked[4], None);
        assert_eq!(plan.pick(&ctx(0), 0), None);
    }

    #[test]
    fn every_kind_round_trips_through_its_name() {
        for kind in FaultKind::ALL {
            assert_eq!(kind.as_str().parse::<FaultKind>().unwrap(), kind);
        }
        assert!("script:429,teapot".parse::<FaultPlan>().is_err());
        assert_eq!("500:retry".parse::<Fault>().unwrap().should_retry, Some(true));
        assert!("500:maybe".parse::<Fault>().is_err());
    }

    #[test]
    fn random_plans_follow_their_probabilities_and_seed() {
        let spec = "429=0.05,529=0.05,500=0.02,503=0.02,hang=0.01,reset=0.01,malformed=0.01,max_tokens=0.02,\
                    bad_items=0.05,duplicates=0.02,wrong_count=0.02,string_input=0.01,null_usage=0.01,\
                    labelled_options=0.01,length_cue=0.01";
        let plan: FaultPlan = spec.parse().unwrap();
        let faults = (1..=4000).filter(|&i| plan.pick(&ctx(i), 7).is_some()).count();
        assert!((1000..1640).contains(&faults), "{faults} of 4000 at p=0.32");
        let again: Vec<_> = (1..=50).map(|i| plan.pick(&ctx(i), 7)).collect();
        assert_eq!(again, (1..=50).map(|i| plan.pick(&ctx(i), 7)).collect::<Vec<_>>());
        let always: FaultPlan = "seed=3,reset=1".parse().unwrap();
        assert!((1..=20).all(|i| always.pick(&ctx(i), 0) == Some(Fault::new(FaultKind::Reset))));
    }

    #[test]
    fn bad_specs_are_refused() {
        for spec in ["429=0.7,529=0.5", "429=2", "429", "seed=x,429=0.1", "oops=0.1"] {
            assert!(spec.parse::<FaultPlan>().is_err(), "{spec}");
        }
        assert!(matches!("none".parse::<FaultPlan>().unwrap(), FaultPlan::None));
    }

    #[test]
    fn predicates_see_the_request() {
        let plan = FaultPlan::predicate(|c| (c.index % 2 == 0).then(|| Fault::new(FaultKind::Malformed)));
        assert_eq!(plan.pick(&ctx(1), 0), None);
        assert_eq!(plan.pick(&ctx(2), 0).unwrap().kind, FaultKind::Malformed);
    }
}
