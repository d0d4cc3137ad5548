//! The command line, as clap derives it.

use std::path::PathBuf;
use std::time::Duration;

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

    /// Time allowed for each attempt of a request, such as `30s`, `500ms`
    /// or `2m` (a bare number is seconds).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30s")]
    pub(crate) timeout: Duration,

    /// Overall deadline of each call, retries and chunks included, such as
    /// `2m` (none when absent). For a listing, each page is one call.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) total_timeout: Option<Duration>,

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

/// A duration as the options take it: a number with an optional unit, `ms`,
/// `s` (the default), `m` or `h`; greater than zero.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 30s, 500ms or 2m"))?;
    let scale = match unit.trim() {
        "ms" => 0.001,
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        other => return Err(format!("unknown unit `{other}`: use ms, s, m or h")),
    };
    match Duration::try_from_secs_f64(value * scale) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(format!("`{text}` must be greater than zero")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("3d").is_err());
        assert!(parse_duration("-1s").is_err());
    }
}
