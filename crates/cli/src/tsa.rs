//! `congvan tsa`: the timestamp authority.

use std::process::ExitCode;
use std::sync::Arc;

use congvan_sign::Credential;

use crate::args::TsaCommand;
use crate::failure::Failure;
use crate::output::say;

/// Runs a `tsa` subcommand.
pub fn run(cmd: TsaCommand) -> Result<ExitCode, Failure> {
    match cmd {
        TsaCommand::Run {
            listen,
            identity,
            policy,
        } => {
            crate::relay::init_logging();
            let credential = Credential::load(&identity, None)?;
            let name = credential.cert().display_name().to_string();
            let authority = Arc::new(congvan_tsa::Authority::new(credential, &policy)?);
            let runtime = tokio::runtime::Runtime::new()
                .map_err(|e| Failure::input(format!("cannot start the async runtime: {e}")))?;
            runtime.block_on(async {
                let listener = tokio::net::TcpListener::bind(listen)
                    .await
                    .map_err(|e| Failure::input(format!("cannot listen on {listen}: {e}")))?;
                say!(
                    "timestamp authority \"{name}\" (policy {policy}) at http://{}/",
                    listener
                        .local_addr()
                        .map_err(|e| Failure::input(format!("cannot listen on {listen}: {e}")))?
                );
                tokio::select! {
                    served = congvan_tsa::serve(listener, authority) => served
                        .map_err(|e| Failure::input(format!("the TSA stopped: {e}"))),
                    stopped = crate::relay::wait_for_stop() => stopped,
                }
            })?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
