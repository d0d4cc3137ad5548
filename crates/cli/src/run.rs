//! The API subcommands and the emulator: read input, call the client,
//! hand results to [`output`](crate::output).

use std::io::{BufRead as _, IsTerminal as _};
use std::path::Path;

use futures_util::{StreamExt as _, TryStreamExt as _};
use indicatif::{ProgressBar, ProgressStyle};
use wa_groups::{Action, Client, JoinRequest, ListOptions};

use crate::cli::{AllArgs, Connection, DecideArgs, EmulatorArgs, Groups, ListArgs};
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
    Ok(builder.build()?)
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
    Ok(all)
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
/// is watching: none for one group, with `--json`, or off a terminal.
fn progress(groups: usize, conn: &Connection, what: &str) -> ProgressBar {
    if groups < 2 || conn.json || !std::io::stderr().is_terminal() {
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
    let client = client(&args.connection)?;
    let groups = groups(&args.groups)?;
    let limit = args.limit;
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
    output::listed(&listed, args.connection.json);
    Ok(output::list_outcome(&listed))
}

pub(crate) async fn decide(action: Action, args: DecideArgs) -> Result<Outcome, Fatal> {
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
    output::decided(action, &rows, args.connection.json);
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
    output::decided(action, &rows, args.connection.json);
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
    println!("wa-groups emulator listening on {}", emu.base_url());
    println!("  base URL:     {}", emu.base_url());
    // The emulator's token is a local test credential, printed so clients can use it.
    println!("  access token: {}", emu.access_token());
    println!("  control API:  {}/_emulator/", emu.base_url());
    println!("Press Ctrl-C to stop.");
    let _ = std::io::Write::flush(&mut std::io::stdout());
    tokio::signal::ctrl_c().await.map_err(|e| Fatal {
        outcome: Outcome::Failure,
        message: format!("waiting for Ctrl-C: {e}"),
    })?;
    emu.shutdown().await;
    Ok(Outcome::Success)
}
