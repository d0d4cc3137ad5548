//! The command line, as clap derives it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const AFTER_HELP: &str = "\
The access token is read from WHATSAPP_ACCESS_TOKEN and never printed.

Exit codes: 0 all succeeded, 1 some join requests failed, 2 usage or input
error, 3 API or transport error.

Examples:
  wa-groups demo
  wa-groups emulator --port 8089
  WHATSAPP_ACCESS_TOKEN=... wa-groups list --group GROUP_ID
  WHATSAPP_ACCESS_TOKEN=... wa-groups approve --group GROUP_ID JR_ID_1 JR_ID_2
  cut -f1 ids.txt | wa-groups reject --group GROUP_ID -
  WHATSAPP_ACCESS_TOKEN=... wa-groups approve-all --groups-file groups.txt --json";

/// Moderate WhatsApp group join requests through the WhatsApp Business
/// Cloud API: list them, approve them, reject them.
#[derive(Debug, Parser)]
#[command(name = "wa-groups", version, after_help = AFTER_HELP)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List the pending join requests of one or more groups (every page).
    List(ListArgs),
    /// Approve join requests of one group: the requesters join it.
    Approve(DecideArgs),
    /// Reject join requests of one group: the requests are dropped.
    Reject(DecideArgs),
    /// Approve every pending join request of one or more groups.
    ApproveAll(AllArgs),
    /// Reject every pending join request of one or more groups.
    RejectAll(AllArgs),
    /// Run the local emulator of the Graph API in the foreground.
    Emulator(EmulatorArgs),
    /// Show wa-groups at work against an embedded emulator; needs no account.
    Demo,
    /// Moderate join requests from webhooks by a policy: serve, status,
    /// decide, log, check.
    Moderate(crate::moderate::ModerateArgs),
}

/// Where and how to reach the API.
#[derive(Debug, Args)]
pub(crate) struct Connection {
    /// Base URL of the Graph API (http:// only for a loopback host, such as
    /// the emulator).
    #[arg(long, env = "WA_GROUPS_BASE_URL", default_value = wa_groups::DEFAULT_BASE_URL)]
    pub(crate) base_url: String,

    /// Graph API version.
    #[arg(long, default_value = wa_groups::DEFAULT_API_VERSION)]
    pub(crate) api_version: String,

    /// Retries of a failed request (rate limits, 5xx, timeouts, resets).
    #[arg(long, default_value_t = 3)]
    pub(crate) max_retries: u32,

    /// Requests in flight at once (groups, and chunks within a group).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) concurrency: u32,

    /// Print one JSON document instead of tables.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Which groups to work on.
#[derive(Debug, Args)]
pub(crate) struct Groups {
    /// A group ID; repeat for several groups.
    #[arg(long = "group", value_name = "GROUP_ID")]
    pub(crate) groups: Vec<String>,

    /// A file of group IDs, one per line (blank lines and # comments skipped).
    #[arg(long, value_name = "FILE")]
    pub(crate) groups_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    pub(crate) groups: Groups,

    /// Page size of each list request (1 to 1000).
    #[arg(long)]
    pub(crate) limit: Option<u32>,

    #[command(flatten)]
    pub(crate) connection: Connection,
}

#[derive(Debug, Args)]
pub(crate) struct DecideArgs {
    /// The group.
    #[arg(long, value_name = "GROUP_ID")]
    pub(crate) group: String,

    /// Join request IDs; `-` reads them from standard input, one per line.
    #[arg(value_name = "JOIN_REQUEST_ID")]
    pub(crate) ids: Vec<String>,

    /// A file of join request IDs, one per line (`-` for standard input).
    #[arg(long, value_name = "FILE")]
    pub(crate) from_file: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) connection: Connection,
}

#[derive(Debug, Args)]
pub(crate) struct AllArgs {
    #[command(flatten)]
    pub(crate) groups: Groups,

    #[command(flatten)]
    pub(crate) connection: Connection,
}

#[derive(Debug, Args)]
pub(crate) struct EmulatorArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub(crate) port: u16,

    /// A JSON seed of groups and pending join requests to start with.
    #[arg(long, value_name = "FILE")]
    pub(crate) seed: Option<PathBuf>,

    /// The access token clients must send (a fixed default when absent).
    #[arg(long, value_name = "TOKEN")]
    pub(crate) access_token: Option<String>,
}
