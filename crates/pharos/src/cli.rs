//! Command-line interface: the subcommands and their exit codes.

use crate::operator::{self, RetentionCommand, SnapshotCommand, Target};
use crate::settings::ServeArgs;
use clap::{ArgMatches, Parser, Subcommand};
use pharos_config::Scope;
use std::path::PathBuf;
use std::process::ExitCode;

/// A command that ran and found nothing wrong.
pub const EXIT_OK: u8 = 0;
/// A runtime error (I/O, server unreachable, store error).
pub const EXIT_ERROR: u8 = 1;
/// The configuration is invalid (the message names the key), or the usage is wrong.
pub const EXIT_CONFIG: u8 = 2;
/// Refused: a server is running on the data directory, or it already holds data.
pub const EXIT_REFUSED: u8 = 3;

#[derive(Parser, Debug)]
#[command(
    name = "pharos",
    version,
    about = "Pharos: metrics, traces and dashboards in one binary",
    after_help = "Exit codes: 0 success, 1 runtime error (I/O, server unreachable, store error), \
2 invalid configuration or usage, 3 refused (restore onto a running server's data or onto \
existing data without --force).\n\nThe operator commands ask a running server over its admin \
API when one holds the data directory (or with --url), and open the data directory \
themselves when the server is stopped; their output says which."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Validate a config file and print the effective configuration with the source of
    /// each value (default, file, env, flag).
    CheckConfig {
        /// The TOML file to check.
        file: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Version, uptime, retention, oldest/newest data, series, spans, disk per store,
    /// bytes per sample/span, free disk and days until full, memory against the budget.
    Status {
        #[command(flatten)]
        target: Target,
    },
    /// Disk usage per time partition (with expiry), the top metric names by bytes on disk
    /// with their series counts, and the top services by bytes with their span counts.
    Du {
        /// How many metric names and services to list.
        #[arg(long, default_value_t = crate::ops::DEFAULT_TOP)]
        top: usize,
        #[command(flatten)]
        target: Target,
    },
    /// Retention settings and what is deleted next; `retention apply` deletes now.
    Retention {
        #[command(subcommand)]
        command: Option<RetentionCommand>,
        #[command(flatten)]
        target: Target,
    },
    /// Consistent copies of the data directory, for backups.
    Snapshot {
        #[command(subcommand)]
        command: SnapshotCommand,
        #[command(flatten)]
        target: Target,
    },
    /// Restore a snapshot (a path, or a name under <data>/snapshots) into the data
    /// directory. Refuses while a server runs on it.
    Restore {
        snapshot: String,
        /// Replace the data directory's existing stores.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        target: Target,
    },
    /// Token utilities.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Print the version.
    Version,
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Print a new random token and the config line that enables it.
    New {
        /// ingest, read or admin.
        #[arg(long, default_value = "read")]
        scope: Scope,
    },
}

pub fn run(cli: Cli, matches: &ArgMatches) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => {
            let sub = matches.subcommand_matches("serve").expect("serve matches");
            let loaded = match crate::settings::load(&args, Some(sub)) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::from(EXIT_CONFIG));
                }
            };
            crate::serve::run(loaded, args.log_format_override())?;
            Ok(ExitCode::from(EXIT_OK))
        }
        Command::CheckConfig { file, json } => {
            Ok(ExitCode::from(crate::settings::check_config(&file, json)))
        }
        Command::Token {
            command: TokenCommand::New { scope },
        } => {
            let token = crate::token::random_token();
            println!("{token}");
            eprintln!("# add to the [auth] section of the config file:");
            eprintln!("{}_tokens = [\"{token}\"]", scope.as_str());
            Ok(ExitCode::from(EXIT_OK))
        }
        Command::Status { target } => operator::status(&target).map(ExitCode::from),
        Command::Du { top, target } => operator::du(&target, top).map(ExitCode::from),
        Command::Retention { command, target } => {
            operator::retention(&target, command.as_ref()).map(ExitCode::from)
        }
        Command::Snapshot { command, target } => {
            operator::snapshot(&target, &command).map(ExitCode::from)
        }
        Command::Restore {
            snapshot,
            force,
            target,
        } => operator::restore(&target, &snapshot, force).map(ExitCode::from),
        Command::Version => {
            println!("pharos {}", env!("CARGO_PKG_VERSION"));
            Ok(ExitCode::from(EXIT_OK))
        }
    }
}
