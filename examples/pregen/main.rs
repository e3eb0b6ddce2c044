//! `pregen`: the operator command. Every command prints one JSON document on stdout (the route's body where a
//! route exists) and logs on stderr; it exits 0 when it worked, 2 on bad input and 1 on any other failure.

mod commands;
mod context;
mod output;
mod progress;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Pre-generates EPPP exams in the background and serves them at once.
#[derive(Debug, Parser)]
#[command(name = "pregen", version, about)]
struct Cli {
    /// The store: a SQLite file, or a postgres:// URL (built with the `postgres` feature). Else `PREGEN_DB`, else
    /// `DATABASE_URL`, else ./pregen.db.
    #[arg(long, global = true, value_name = "PATH|URL")]
    db: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The main job: pre-generates both exam types for demo users, claims one and validates it.
    Demo(commands::demo::Args),
    /// Generates an exam now unless one is ready (the pre-generate route's body).
    Generate(commands::generate::Args),
    /// Claims the newest ready exam of a user and type (the get route's body).
    Get(commands::get::Args),
    /// Queues background pre-generation for a user, without waiting.
    Trigger(commands::trigger::Args),
    /// Works due jobs for a budget, or as a worker pool until Ctrl-C.
    Work(commands::work::Args),
    /// Runs a cron sweep (the cron route's body), or sweeps on a schedule.
    Cron(commands::cron::Args),
    /// Prints the analytics route's body.
    Stats,
    /// Deletes expired exams, used exams past their retention and old jobs, and prints the counts.
    Cleanup(commands::cleanup::Args),
    /// Prints the queue status; `queue clear` cancels every job not running.
    Queue(commands::queue::Args),
    /// Validates exam files (JSON, or the seed's Markdown with front matter) against their exam spec.
    Validate(commands::validate::Args),
    /// Imports exam files into the shared bank after full validation (`--repair` regenerates failing items).
    Import(commands::import::Args),
    /// Serves the Claude API simulator on loopback until Ctrl-C.
    Simulate(commands::simulate::Args),
    /// Imports the old system's unused, unexpired exams from its `public.pre_generated_exams` (Postgres).
    ImportLegacy(commands::import_legacy::Args),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(progress::LogWriter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PREGEN_LOG").unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(output::BAD_INPUT);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return output::fail(&output::CliError::Io(e)),
    };
    let db = cli.db.as_deref();
    let result = runtime.block_on(async {
        match cli.command {
            Command::Demo(args) => commands::demo::run(db, args).await,
            Command::Generate(args) => commands::generate::run(db, args).await,
            Command::Get(args) => commands::get::run(db, args).await,
            Command::Trigger(args) => commands::trigger::run(db, args).await,
            Command::Work(args) => commands::work::run(db, args).await,
            Command::Cron(args) => commands::cron::run(db, args).await,
            Command::Stats => commands::stats::run(db).await,
            Command::Cleanup(args) => commands::cleanup::run(db, args).await,
            Command::Queue(args) => commands::queue::run(db, args).await,
            Command::Validate(args) => commands::validate::run(args).await,
            Command::Import(args) => commands::import::run(db, args).await,
            Command::Simulate(args) => commands::simulate::run(args).await,
            Command::ImportLegacy(args) => commands::import_legacy::run(db, args).await,
        }
    });
    match result {
        Ok(outcome) => output::print(&outcome),
        Err(e) => output::fail(&e),
    }
}
