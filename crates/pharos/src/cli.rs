//! Command-line interface: the subcommands and their exit codes.

use crate::settings::ServeArgs;
use clap::{ArgMatches, Parser, Subcommand};
use pharos_config::Scope;
use std::path::PathBuf;
use std::process::ExitCode;

/// A command that ran and found nothing wrong.
pub const EXIT_OK: u8 = 0;
/// A runtime error (I/O, server unreachable, store error).
pub const EXIT_ERROR: u8 = 1;
/// The configuration is invalid (the message names the key).
pub const EXIT_CONFIG: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "pharos",
    version,
    about = "Pharos: metrics, traces and dashboards in one binary",
    after_help = "Exit codes: 0 success, 1 runtime error, 2 invalid configuration or usage."
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
        Command::Version => {
            println!("pharos {}", env!("CARGO_PKG_VERSION"));
            Ok(ExitCode::from(EXIT_OK))
        }
    }
}
