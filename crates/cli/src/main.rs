//! `wa-groups`: moderate WhatsApp group join requests from the command line.
//!
//! Exit codes: 0 everything succeeded; 1 some join requests failed (a
//! partial result); 2 usage or input error; 3 API or transport error.

mod cli;
mod demo;
mod logging;
mod moderate;
mod output;
mod run;

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;

use crate::cli::{Cli, Command};

/// How a run ended, as an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Outcome {
    /// Everything asked for succeeded.
    Success = 0,
    /// Some join requests failed; the rest succeeded.
    Partial = 1,
    /// Bad usage or input; nothing was sent.
    Usage = 2,
    /// An API or transport error.
    Failure = 3,
}

impl Outcome {
    /// The outcome of an error.
    pub(crate) fn of_error(e: &wa_groups::Error) -> Self {
        match e {
            wa_groups::Error::InvalidInput(_) => Self::Usage,
            _ => Self::Failure,
        }
    }
}

/// An error that ends the run: one line on stderr and an exit code.
#[derive(Debug)]
pub(crate) struct Fatal {
    pub(crate) outcome: Outcome,
    pub(crate) message: String,
}

impl Fatal {
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            outcome: Outcome::Usage,
            message: message.into(),
        }
    }
}

impl From<wa_groups::Error> for Fatal {
    fn from(e: wa_groups::Error) -> Self {
        Self {
            outcome: Outcome::of_error(&e),
            message: e.to_string(),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `moderate serve` is a service: it logs at info unless told otherwise.
    let default_filter =
        matches!(&cli.command, Command::Moderate(m) if m.is_serve()).then_some("info");
    let secrets: Vec<String> = [
        run::TOKEN_VAR,
        moderate::APP_SECRET_VAR,
        moderate::VERIFY_TOKEN_VAR,
    ]
    .iter()
    .filter_map(|var| std::env::var(var).ok())
    .collect();
    logging::init(&secrets, default_filter);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::from(Outcome::Failure as u8);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::List(args) => run::list(args).await,
            Command::Approve(args) => run::decide(wa_groups::Action::Approve, args).await,
            Command::Reject(args) => run::decide(wa_groups::Action::Reject, args).await,
            Command::ApproveAll(args) => run::decide_all(wa_groups::Action::Approve, args).await,
            Command::RejectAll(args) => run::decide_all(wa_groups::Action::Reject, args).await,
            Command::Emulator(args) => run::emulator(args).await,
            Command::Demo => demo::run().await,
            Command::Moderate(args) => moderate::run(args).await,
        }
    });
    // Output may go to a closed pipe (`| head`); that is not our error.
    let _ = std::io::stdout().flush();
    match result {
        Ok(outcome) => ExitCode::from(outcome as u8),
        Err(fatal) => {
            eprintln!("error: {}", output::terminal_safe(&fatal.message));
            ExitCode::from(fatal.outcome as u8)
        }
    }
}
