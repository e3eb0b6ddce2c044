//! `pregen`: the operator command. Every command prints one JSON document on stdout (the route's body where a
//! route exists) and logs on stderr; it exits 0 when it worked, 2 on bad input and 1 on any other failure.

mod commands;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Pre-generates EPPP exams in the background and serves them at once.
#[derive(Debug, Parser)]
#[command(name = "pregen", version, about)]
struct Cli {
    /// The SQLite database file.
    #[arg(long, global = true, env = "PREGEN_DB", default_value = "./pregen.db")]
    db: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validates exam files (JSON, or the seed's Markdown with front matter) against their exam spec.
    Validate(commands::validate::Args),
    /// Claims the newest ready exam of a user and type, printed as the get route's body.
    Get(commands::get::Args),
    /// Prints the analytics route's body.
    Stats,
    /// Deletes expired exams and used exams past their retention, and prints the counts.
    Cleanup(commands::cleanup::Args),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
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
    let result = runtime.block_on(async {
        match cli.command {
            Command::Validate(args) => commands::validate::run(args).await,
            Command::Get(args) => commands::get::run(&cli.db, args).await,
            Command::Stats => commands::stats::run(&cli.db).await,
            Command::Cleanup(args) => commands::cleanup::run(&cli.db, args).await,
        }
    });
    match result {
        Ok(outcome) => output::print(&outcome),
        Err(e) => output::fail(&e),
    }
}
