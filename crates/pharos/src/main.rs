//! The `pharos` binary.
//!
//! In: the command line (and env/config file for the settings it names).
//! Out: `pharos serve` runs the whole server (see `serve.rs`, which shows how the stages are
//! put together); the other subcommands are the operator CLI.

mod admin;
mod allocator;
mod cli;
mod datadir;
mod du_view;
mod logging;
mod operator;
mod ops;
mod render;
mod self_scrape;
mod serve;
mod settings;
mod stores;
mod token;

use clap::{CommandFactory, FromArgMatches};
use std::process::ExitCode;

fn main() -> ExitCode {
    let matches = cli::Cli::command().get_matches();
    let cli = match cli::Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    match cli::run(cli, &matches) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(cli::EXIT_ERROR)
        }
    }
}
