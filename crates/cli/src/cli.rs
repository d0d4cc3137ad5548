//! The command line, as clap derives it.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
The access token is read from WHATSAPP_ACCESS_TOKEN and never printed.

Exit codes: 0 all succeeded, 1 some join requests failed, 2 usage or input
error, 3 API or transport error.

Output (--format): `table` for people (the default on a terminal); `tsv`
(the default when stdout is not a terminal) has no header and one row per
join request: join request ID, group ID, requester, creation time (Unix
seconds) for `list`; join request ID, group ID, status (approved, rejected,
failed, error), error code, reason for the others; the summary line goes to
stderr. `ids` prints only join request IDs, one a line (listed ones, or
those approved or rejected). `json` (or --json) prints one document:
  command   list, approve, reject, approve-all or reject-all
  groups[]  per group: group_id; join_requests (list) or approved/rejected,
            failed[] (join_request_id and its errors[]), unexpected[]
            (IDs the API reported without being sent them);
            error: null, or the group's call failed as a whole
            ({kind, message, status, code, subcode, fbtrace_id});
            errors[]: the API's top-level errors in an otherwise answered
            call ({code, title, message, details}), errors_omitted counting
            those beyond the ones kept
  summary   groups, approved/rejected, failed, group_errors (not for list)

Retries (rate limits, 5xx, timeouts) are reported on stderr, one line each
(time, attempt, reason, wait), when stderr is a terminal; -v reports
them always, -q never.

Examples:
  wa-groups demo
  wa-groups emulator --port 8089
  WHATSAPP_ACCESS_TOKEN=... wa-groups list --group GROUP_ID
  WHATSAPP_ACCESS_TOKEN=... wa-groups approve --group GROUP_ID JR_ID_1 JR_ID_2
  wa-groups list --group GROUP_ID | cut -f1 | wa-groups reject --group GROUP_ID -
  wa-groups list --group GROUP_ID --format ids | wa-groups approve --group GROUP_ID -
  WHATSAPP_ACCESS_TOKEN=... wa-groups approve-all --groups-file groups.txt --json";

const EMULATOR_HELP: &str = "\
On start it prints `export WA_GROUPS_BASE_URL=...` and
`export WHATSAPP_ACCESS_TOKEN=...` lines to paste into another shell, so
that `wa-groups list ...` (or your code) talks to it.

The seed file (--seed) is one JSON object with `groups`, created in order;
every field of an entry is optional, unknown fields are an error:
  subject, description            the group's texts
  group_id                        a fixed group ID (only with count 1)
  join_approval_mode              approval_required (default) or auto_approve
  participant_cap                 default 8
  participants                    participants already in (default 0)
  join_requests                   pending requests from WhatsApp users
  business_scoped_join_requests   pending requests from business-scoped users
  count                           how many such groups (default 1)
Example:
  {\"groups\": [
    {\"subject\": \"Book club\", \"join_requests\": 5},
    {\"subject\": \"Small\", \"participant_cap\": 3, \"participants\": 2},
    {\"count\": 100, \"join_requests\": 2}
  ]}

The control API (/_emulator/: groups, faults, rate limits, webhooks, stats,
clock) is described in crates/emulator/README.md of the repository.";

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
    #[command(after_help = EMULATOR_HELP)]
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

    /// Output format: table, tsv, json or ids (default: table on a
    /// terminal, tsv otherwise); see OUTPUT below.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub(crate) format: Option<Format>,

    /// Print one JSON document: the same as `--format json`.
    #[arg(long, conflicts_with = "format")]
    pub(crate) json: bool,

    /// Report every retry on stderr, even when stderr is not a terminal.
    #[arg(short, long, conflicts_with = "quiet")]
    pub(crate) verbose: bool,

    /// Report no retries and show no progress bar.
    #[arg(short, long)]
    pub(crate) quiet: bool,
}

/// The forms of output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Aligned columns with a header and a summary line, for people.
    Table,
    /// Tab-separated rows without a header, for `cut`, `awk` and friends.
    Tsv,
    /// One JSON document with stable field names.
    Json,
    /// Join request IDs only, one a line, for piping into `approve -` or
    /// `reject -`.
    Ids,
}

impl Connection {
    /// The format asked for, or the default for where stdout goes.
    pub(crate) fn format(&self) -> Format {
        use std::io::IsTerminal as _;
        match (self.json, self.format) {
            (true, _) => Format::Json,
            (false, Some(f)) => f,
            (false, None) if std::io::stdout().is_terminal() => Format::Table,
            (false, None) => Format::Tsv,
        }
    }
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
