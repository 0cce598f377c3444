//! `congvan`: send, receive and verify signed official dispatches.
//!
//! This binary only parses arguments and calls the libraries; every error is
//! turned into a message and an exit code here, at the edge.
#![forbid(unsafe_code)]

mod args;
mod clerk;
mod demo;
mod demo_serve;
mod dispatch;
mod edxml;
mod failure;
mod output;
mod pki;
mod progress;
mod relay;
mod secret;
mod tsa;
mod user;
mod verify_many;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::output::say_err;

/// mimalloc instead of the system allocator: verifying a dispatch makes a
/// few dozen short-lived allocations (JSON strings, base64 buffers), and a
/// relay makes them for every dispatch it carries. With glibc's allocator
/// they cost about 3 µs of a ~90 µs small-dispatch verification; see
/// BENCHMARKS.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    quiet_broken_pipe();
    // clap exits with 2 on usage errors and 0 for --help.
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Pki(cmd) => pki::run(cmd),
        Command::Dispatch(cmd) => dispatch::run(cmd),
        Command::Relay(cmd) => relay::run(cmd),
        Command::Tsa(cmd) => tsa::run(cmd),
        Command::Edxml(cmd) => edxml::run(cmd),
        Command::Send { file, conn } => clerk::send(&file, &conn),
        Command::Inbox { conn, json, all } => clerk::inbox(&conn, json, all),
        Command::Recall {
            id,
            reason,
            file,
            conn,
        } => clerk::recall(&id, reason, file.as_deref(), &conn),
        Command::Fetch { id, conn, out } => clerk::fetch(&id, &conn, &out),
        Command::Ack {
            id,
            status,
            note,
            file,
            conn,
        } => clerk::ack(&id, &status, note, file.as_deref(), &conn),
        Command::Track { id, conn, json } => clerk::track(&id, &conn, json),
        Command::Demo { dir, serve } => demo::run(dir, serve),
        Command::User(cmd) => user::run(cmd),
        Command::Stats {
            config,
            office,
            period,
            date,
            json,
            send,
        } => relay::stats(&config, &office, &period, date.as_deref(), json, send),
    };
    match outcome {
        Ok(code) => code,
        Err(failure) => {
            say_err!("congvan: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

/// Output piped into a reader that stops early (`congvan inbox | head -1`)
/// is not an error worth a panic message: exit as a Unix tool does (141,
/// SIGPIPE). Any other panic is reported as an internal error.
fn quiet_broken_pipe() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.contains("Broken pipe") {
            std::process::exit(141);
        }
        say_err!("congvan: internal error ({info}); please report it with the command you ran");
    }));
}
