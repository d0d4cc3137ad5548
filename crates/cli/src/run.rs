//! The API subcommands and the emulator: read input, call the client,
//! hand results to [`output`](crate::output).

use std::io::{BufRead as _, IsTerminal as _};
use std::path::Path;

use futures_util::{StreamExt as _, TryStreamExt as _};
use indicatif::{ProgressBar, ProgressStyle};
use wa_groups::{Action, Client, JoinRequest, ListOptions};

use crate::cli::{AllArgs, Connection, DecideArgs, EmulatorArgs, Format, Groups, ListArgs};
use crate::output::{self, Decided, Listed};
use crate::{Fatal, Outcome};

/// The environment variable the token is read from.
pub(crate) const TOKEN_VAR: &str = "WHATSAPP_ACCESS_TOKEN";

fn client(conn: &Connection) -> Result<Client, Fatal> {
    let token = std::env::var(TOKEN_VAR).map_err(|_| {
        Fatal::usage(format!(
            "{TOKEN_VAR} is not set; export your access token in it"
        ))
    })?;
    let mut builder = Client::builder()
        .access_token(token)
        .base_url(&conn.base_url)
        .api_version(&conn.api_version)
        .max_retries(conn.max_retries)
        .max_concurrency(conn.concurrency)
        .timeout(conn.timeout)
        .user_agent(concat!("wa-groups-cli/", env!("CARGO_PKG_VERSION")));
    if let Some(total) = conn.total_timeout {
        builder = builder.total_timeout(total);
    }
    if report_retries(conn) {
        builder = builder.on_retry(|e| eprintln!("{}", output::retry_line(e)));
    }
    Ok(builder.build()?)
}

/// Whether retries are reported on stderr: with `-v`, or by default
/// when a person is watching stderr; never with `-q`.
fn report_retries(conn: &Connection) -> bool {
    !conn.quiet && (conn.verbose || std::io::stderr().is_terminal())
}

/// Lines of a file or of standard input (`-`), trimmed, without blanks and
/// `#` comments.
fn read_lines(path: &Path) -> Result<Vec<String>, Fatal> {
    let text = if path == Path::new("-") {
        let mut lines = Vec::new();
        for line in std::io::stdin().lock().lines() {
            lines.push(line.map_err(|e| Fatal::usage(format!("reading standard input: {e}")))?);
        }
        lines.join("\n")
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| Fatal::usage(format!("reading {}: {e}", path.display())))?
    };
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect())
}

fn groups(g: &Groups) -> Result<Vec<String>, Fatal> {
    let mut all = g.groups.clone();
    if let Some(file) = &g.groups_file {
        all.extend(read_lines(file)?);
    }
    if all.is_empty() {
        return Err(Fatal::usage(
            "name at least one group with --group or --groups-file",
        ));
    }
    for g in &all {
        group_id(g)?;
    }
    Ok(all)
}

/// Checked before anything is sent: an empty group ID would otherwise
/// fail as that group's call and read like an API error.
fn group_id(g: &str) -> Result<(), Fatal> {
    if g.trim().is_empty() {
        return Err(Fatal::usage("--group: a group ID must not be empty"));
    }
    Ok(())
}

fn ids(args: &DecideArgs) -> Result<Vec<String>, Fatal> {
    let mut ids = Vec::new();
    for id in &args.ids {
        if id == "-" {
            ids.extend(read_lines(Path::new("-"))?);
        } else {
            ids.push(id.clone());
        }
    }
    if let Some(file) = &args.from_file {
        ids.extend(read_lines(file)?);
    }
    if ids.is_empty() {
        return Err(Fatal::usage(
            "give join request IDs as arguments, with --from-file FILE, or - to read standard input",
        ));
    }
    Ok(ids)
}

/// A progress bar on stderr for work over several groups, when a person
/// is watching: none for one group, with JSON output or `-q`, or off a
/// terminal.
fn progress(groups: usize, conn: &Connection, what: &str) -> ProgressBar {
    if groups < 2 || conn.quiet || conn.format() == Format::Json || !std::io::stderr().is_terminal()
    {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(groups as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} groups ({eta} left)")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_owned());
    bar
}

/// Runs `work` on every group, `concurrency` at a time, results in input order.
async fn over_groups<T, F, Fut>(
    groups: Vec<String>,
    conn: &Connection,
    what: &str,
    work: F,
) -> Vec<(String, T)>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let bar = progress(groups.len(), conn, what);
    let results = futures_util::stream::iter(groups)
        .map(|g| {
            let fut = work(g.clone());
            let bar = &bar;
            async move {
                let r = fut.await;
                bar.inc(1);
                (g, r)
            }
        })
        .buffered(usize::try_from(conn.concurrency).unwrap_or(1).max(1))
        .collect()
        .await;
    bar.finish_and_clear();
    results
}

pub(crate) async fn list(args: ListArgs) -> Result<Outcome, Fatal> {
    let limit = args.limit;
    if limit.is_some_and(|l| l == 0 || l > wa_groups::protocol::MAX_LIMIT) {
        return Err(Fatal::usage(format!(
            "--limit must be between 1 and {} (the page size of each list request)",
            wa_groups::protocol::MAX_LIMIT
        )));
    }
    let client = client(&args.connection)?;
    let groups = groups(&args.groups)?;
    let listed: Vec<Listed> = over_groups(groups, &args.connection, "listing", |g| {
        let client = client.clone();
        async move {
            let options = ListOptions {
                limit,
                ..ListOptions::default()
            };
            client
                .join_requests_with(&g, options)
                .try_collect::<Vec<JoinRequest>>()
                .await
        }
    })
    .await
    .into_iter()
    .map(|(group_id, result)| Listed { group_id, result })
    .collect();
    output::listed(&listed, args.connection.format());
    Ok(output::list_outcome(&listed))
}

pub(crate) async fn decide(action: Action, args: DecideArgs) -> Result<Outcome, Fatal> {
    group_id(&args.group)?;
    let client = client(&args.connection)?;
    let ids = ids(&args)?;
    let result = match action {
        Action::Approve => client
            .approve_join_requests(&args.group, &ids)
            .await
            .map(Decided::from),
        Action::Reject => client
            .reject_join_requests(&args.group, &ids)
            .await
            .map(Decided::from),
    };
    // Bad input for a single call is a usage error, not a per-group failure.
    if let Err(e @ wa_groups::Error::InvalidInput(_)) = &result {
        return Err(Fatal::from(e.clone()));
    }
    let rows = vec![(args.group, result)];
    output::decided(action.as_str(), action, &rows, args.connection.format());
    Ok(output::decide_outcome(&rows))
}

pub(crate) async fn decide_all(action: Action, args: AllArgs) -> Result<Outcome, Fatal> {
    let client = client(&args.connection)?;
    let groups = groups(&args.groups)?;
    let what = match action {
        Action::Approve => "approving",
        Action::Reject => "rejecting",
    };
    let rows = over_groups(groups, &args.connection, what, |g| {
        let client = client.clone();
        async move {
            match action {
                Action::Approve => client.approve_all(&g).await.map(Decided::from),
                Action::Reject => client.reject_all(&g).await.map(Decided::from),
            }
        }
    })
    .await;
    let command = match action {
        Action::Approve => "approve-all",
        Action::Reject => "reject-all",
    };
    output::decided(command, action, &rows, args.connection.format());
    Ok(output::decide_outcome(&rows))
}

pub(crate) async fn emulator(args: EmulatorArgs) -> Result<Outcome, Fatal> {
    let mut builder = wa_groups_emulator::Emulator::builder().port(args.port);
    if let Some(token) = &args.access_token {
        builder = builder.access_token(token);
    }
    let seed = match &args.seed {
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| Fatal::usage(format!("reading {}: {e}", path.display())))?;
            Some(
                wa_groups_emulator::Seed::from_json(&bytes)
                    .map_err(|e| Fatal::usage(format!("{}: {e}", path.display())))?,
            )
        }
        None => None,
    };
    let emu = builder.start().await.map_err(|e| Fatal {
        outcome: Outcome::Failure,
        message: format!("could not start the emulator: {e}"),
    })?;
    if let Some(seed) = seed {
        let seeded = emu
            .controller()
            .apply_seed(&seed)
            .map_err(|e| Fatal::usage(format!("seed: {e}")))?;
        for g in &seeded {
            println!(
                "seeded group {} with {} pending join requests",
                g.group_id,
                g.join_request_ids.len()
            );
        }
    }
    print!("{}", banner(emu.base_url(), emu.access_token()));
    println!("Press Ctrl-C to stop.");
    let _ = std::io::Write::flush(&mut std::io::stdout());
    tokio::signal::ctrl_c().await.map_err(|e| Fatal {
        outcome: Outcome::Failure,
        message: format!("waiting for Ctrl-C: {e}"),
    })?;
    emu.shutdown().await;
    Ok(Outcome::Success)
}

/// What `wa-groups emulator` prints once it listens: where, and the lines
/// to paste into another shell (the variables the CLI reads for
/// `--base-url` and the token).
fn banner(base_url: &str, token: &str) -> String {
    // The emulator's token is a local test credential, printed so clients
    // can use it; the banner says so, lest anyone take it for a real one.
    format!(
        "wa-groups emulator listening on {base_url}\n\
         \x20 control API:  {base_url}/_emulator/  (docs: {docs})\n\
         Point the wa-groups CLI (or your code) at it, in another shell:\n\
         \x20 export WA_GROUPS_BASE_URL={base_url}\n\
         \x20 export WHATSAPP_ACCESS_TOKEN={token}\n\
         (This token is the emulator's local test credential, not a secret; never\n\
         put a real token here.)\n",
        docs = wa_groups_emulator::DOCS,
    )
}
