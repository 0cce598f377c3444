//! `congvan`: send, receive and verify signed official dispatches.
//!
//! This binary only parses arguments and calls the libraries; every error is
//! turned into a message and an exit code here, at the edge.
#![forbid(unsafe_code)]

mod args;
mod dispatch;
mod failure;
mod pki;
mod progress;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};

fn main() -> ExitCode {
    // clap exits with 2 on usage errors and 0 for --help.
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Pki(cmd) => pki::run(cmd),
        Command::Dispatch(cmd) => dispatch::run(cmd),
    };
    match outcome {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("congvan: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}
