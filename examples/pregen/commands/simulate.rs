//! `pregen simulate`: serve the Claude API simulator on loopback until Ctrl-C. Prints `{"url": ..., "apiKey": ...}`
//! first, so scripts can point `ANTHROPIC_BASE_URL` at the URL with `ANTHROPIC_API_KEY` set to the key it accepts
//! (`sk-ant-simulator-local` unless `--api-key` says otherwise).

use std::io::Write;
use std::net::SocketAddr;

use pregen_core::simulator::{DEFAULT_API_KEY, FaultPlan, LatencyModel, Simulator, SimulatorConfig};
use serde_json::json;

use crate::output::{CliError, Outcome};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// Faults to inject, e.g. "429=0.05,529=0.05" or "script:429,ok,500".
    #[arg(long)]
    faults: Option<String>,
    /// The seed of the synthetic items and random faults.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Answer at Claude Haiku's pace instead of at once.
    #[arg(long)]
    realistic: bool,
    /// Simulated seconds per real second: `--realistic --time-factor 10` answers ten times faster than Haiku.
    #[arg(long, default_value_t = 1.0)]
    time_factor: f64,
    /// The API key the simulator accepts (any other gets 401), e.g. the one already in `ANTHROPIC_API_KEY`.
    #[arg(long, default_value = DEFAULT_API_KEY)]
    api_key: String,
}

pub(crate) async fn run(args: Args) -> Result<Outcome, CliError> {
    let faults: FaultPlan = match &args.faults {
        Some(spec) => {
            spec.parse().map_err(|e: pregen_core::simulator::SimulatorError| CliError::BadInput(e.to_string()))?
        }
        None => FaultPlan::None,
    };
    let api_key = args.api_key.trim();
    if api_key.is_empty() {
        return Err(CliError::BadInput("--api-key must not be empty".into()));
    }
    let latency = if args.realistic { LatencyModel::haiku() } else { LatencyModel::none() };
    let config = SimulatorConfig::builder()
        .addr(args.addr)
        .seed(args.seed)
        .faults(faults)
        .latency(latency)
        .time_factor(args.time_factor)
        .api_key(api_key)
        .build()?;
    let sim = Simulator::start(config).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", json!({"url": sim.url(), "apiKey": api_key}))?;
    out.flush()?;
    drop(out);
    tracing::info!(
        "[Pre-Gen] serving the pregen Claude simulator at {} until Ctrl-C; use ANTHROPIC_BASE_URL={} with \
         ANTHROPIC_API_KEY set to the apiKey printed on stdout",
        sim.url(),
        sim.url()
    );
    sim.run_until(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(Outcome { body: serde_json::Value::Null, exit: 0 })
}
