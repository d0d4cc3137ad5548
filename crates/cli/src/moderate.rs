//! `wa-groups moderate`: serve the moderation engine, and look at or act on
//! its ledger (`status`, `decide`, `log`, `check`). Secrets come only from
//! the environment and are never printed.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Args, Subcommand};
use wa_groups::Client;
use wa_groups_moderation::ledger::{Event, State};
use wa_groups_moderation::policy::{RuleAction, VerdictAction};
use wa_groups_moderation::store::Change;
use wa_groups_moderation::{Decision, ModerationRequest, Moderator, Policy, Store};

use crate::cli::parse_duration;
use crate::run::TOKEN_VAR;
use crate::{Fatal, Outcome};

/// The environment variable of the app secret.
pub(crate) const APP_SECRET_VAR: &str = "WHATSAPP_APP_SECRET";
/// The environment variable of the verify token.
pub(crate) const VERIFY_TOKEN_VAR: &str = "WHATSAPP_VERIFY_TOKEN";
const DEFAULT_STORE: &str = "sqlite:wa-groups-moderation.db";

#[derive(Debug, Args)]
pub(crate) struct ModerateArgs {
    #[command(subcommand)]
    pub(crate) command: ModerateCommand,
}

impl ModerateArgs {
    /// Whether this is `moderate serve`, the long-running service.
    pub(crate) fn is_serve(&self) -> bool {
        matches!(self.command, ModerateCommand::Serve(_))
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum ModerateCommand {
    /// Receive webhooks and decide, apply and reconcile join requests until
    /// SIGINT or SIGTERM. Secrets: WHATSAPP_ACCESS_TOKEN,
    /// WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN.
    Serve(ServeArgs),
    /// Counts by state, per group and in total.
    Status(StatusArgs),
    /// A person's decision for held join requests (recorded with rule
    /// `manual`; the running `moderate serve` applies it).
    Decide(ManualArgs),
    /// The audit trail: every state change.
    Log(LogArgs),
    /// Validate a policy file; with --explain, show which rule decides a request.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The policy file (TOML).
    #[arg(long, value_name = "FILE")]
    policy: PathBuf,
    /// Where the ledger lives: sqlite:PATH or postgres://... (replicas).
    #[arg(long, value_name = "URL", default_value = DEFAULT_STORE)]
    store: String,
    /// Address to listen on (port 0 picks a free one; the address is printed).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: String,
    /// The webhook path.
    #[arg(long, default_value = "/webhook")]
    path: String,
    /// Base URL of the Graph API (http:// only for a loopback host, such as
    /// the emulator).
    #[arg(long, env = "WA_GROUPS_BASE_URL", default_value = wa_groups::DEFAULT_BASE_URL)]
    base_url: String,
    /// A group to reconcile besides those seen in webhooks; repeat for several.
    #[arg(long = "group", value_name = "GROUP_ID")]
    groups: Vec<String>,
    /// A file of group IDs to reconcile, one per line.
    #[arg(long, value_name = "FILE")]
    groups_file: Option<PathBuf>,
    /// Time between reconciliation passes, such as 30s or 10m.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    reconcile_every: Duration,
    /// How long to wait to fill an approve or reject call, such as 200ms.
    #[arg(long, value_name = "DURATION", default_value = "200ms", value_parser = parse_duration)]
    batch_window: Duration,
    /// How long a claim leases its records, such as 60s; renewed while a
    /// call is in flight. With replicas on PostgreSQL, a dead replica's
    /// records go to the others after it.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    lease_timeout: Duration,
    /// Decide and record, but send nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Where the ledger lives: sqlite:PATH or postgres://... (replicas).
    #[arg(long, value_name = "URL", default_value = DEFAULT_STORE)]
    store: String,
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("decision").required(true).args(["approve", "reject"])))]
pub(crate) struct ManualArgs {
    /// The group.
    #[arg(long, value_name = "GROUP_ID")]
    group: String,
    /// Approve them.
    #[arg(long)]
    approve: bool,
    /// Reject them.
    #[arg(long)]
    reject: bool,
    /// Join request IDs.
    #[arg(value_name = "JR_ID", required = true)]
    ids: Vec<String>,
    /// Where the ledger lives: sqlite:PATH or postgres://... (replicas).
    #[arg(long, value_name = "URL", default_value = DEFAULT_STORE)]
    store: String,
}

#[derive(Debug, Args)]
pub(crate) struct LogArgs {
    /// Only this group.
    #[arg(long, value_name = "GROUP_ID")]
    group: Option<String>,
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
    /// Where the ledger lives: sqlite:PATH or postgres://... (replicas).
    #[arg(long, value_name = "URL", default_value = DEFAULT_STORE)]
    store: String,
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The policy file (TOML).
    #[arg(long, value_name = "FILE")]
    policy: PathBuf,
    /// A request as JSON (`{"group_id", "join_request_id", "wa_id", "user_id", "username"}`):
    /// print which rule decides it.
    #[arg(long, value_name = "REQUEST_JSON")]
    explain: Option<String>,
}

fn secret(var: &str) -> Result<String, Fatal> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Ok(v),
        _ => Err(Fatal::usage(format!(
            "{var} is not set; export it (it is never printed)"
        ))),
    }
}

fn store_err(e: impl std::fmt::Display) -> Fatal {
    Fatal {
        outcome: Outcome::Failure,
        message: e.to_string(),
    }
}

async fn open(url: &str) -> Result<Store, Fatal> {
    Store::open(url)
        .await
        .map_err(|e| Fatal::usage(e.to_string()))
}

pub(crate) async fn run(args: ModerateArgs) -> Result<Outcome, Fatal> {
    match args.command {
        ModerateCommand::Serve(a) => serve(a).await,
        ModerateCommand::Status(a) => status(a).await,
        ModerateCommand::Decide(a) => decide(a).await,
        ModerateCommand::Log(a) => log(a).await,
        ModerateCommand::Check(a) => check(a),
    }
}

async fn serve(a: ServeArgs) -> Result<Outcome, Fatal> {
    let policy = Policy::from_file(&a.policy).map_err(|e| Fatal::usage(e.to_string()))?;
    let token = secret(TOKEN_VAR)?;
    let app_secret = secret(APP_SECRET_VAR)?;
    let verify_token = secret(VERIFY_TOKEN_VAR)?;
    let mut groups = a.groups.clone();
    if let Some(file) = &a.groups_file {
        let text = std::fs::read_to_string(file)
            .map_err(|e| Fatal::usage(format!("reading {}: {e}", file.display())))?;
        groups.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned),
        );
    }
    let client = Client::builder()
        .access_token(token)
        .base_url(&a.base_url)
        .user_agent(concat!("wa-groups-cli/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let store = open(&a.store).await?;
    let moderator = Moderator::builder()
        .client(client)
        .store(store)
        .policy(policy)
        .app_secret(app_secret)
        .verify_token(verify_token)
        .webhook_path(&a.path)
        .groups(groups)
        .reconcile_every(a.reconcile_every)
        .batch_window(a.batch_window)
        .lease_timeout(a.lease_timeout)
        .dry_run(a.dry_run)
        .build()
        .map_err(|e| Fatal::usage(e.to_string()))?;
    let listener = tokio::net::TcpListener::bind(&a.listen)
        .await
        .map_err(|e| Fatal::usage(format!("cannot listen on {}: {e}", a.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Fatal::usage(format!("cannot listen on {}: {e}", a.listen)))?;
    eprintln!(
        "moderating on http://{addr}{} (store {}{})",
        a.path,
        Store::redacted_url(&a.store),
        if a.dry_run { ", dry run" } else { "" }
    );
    moderator.serve(listener).await.map_err(store_err)?;
    Ok(Outcome::Success)
}

async fn status(a: StatusArgs) -> Result<Outcome, Fatal> {
    let status = open(&a.store).await?.status().await.map_err(store_err)?;
    if a.json {
        println!("{}", status.to_json());
        return Ok(Outcome::Success);
    }
    let header: Vec<&str> = State::ALL.iter().map(|s| s.as_str()).collect();
    println!(
        "{:<44} {}",
        "group",
        header.iter().map(|h| format!("{h:>9}")).collect::<String>()
    );
    let row = |name: &str, c: &wa_groups_moderation::store::Counts| {
        let cells: String = State::ALL
            .iter()
            .map(|s| format!("{:>9}", c.get(*s)))
            .collect();
        println!("{name:<44} {cells}");
    };
    for (g, c) in &status.groups {
        row(g, c);
    }
    row("total", &status.total);
    Ok(Outcome::Success)
}

async fn decide(a: ManualArgs) -> Result<Outcome, Fatal> {
    let decision = if a.approve {
        Decision::Approve
    } else {
        Decision::Reject
    };
    let store = open(&a.store).await?;
    let mut outcome = Outcome::Success;
    let mut changes = Vec::new();
    for id in &a.ids {
        match store.get(&a.group, id).await.map_err(store_err)? {
            Some(r) if matches!(r.state, State::Held | State::Pending) => {
                changes.push(Change::new(&a.group, id, Event::Manual { decision }));
            }
            Some(r) => {
                eprintln!("{id}: is {}, not held; left as it is", r.state);
                outcome = Outcome::Partial;
            }
            None => {
                eprintln!("{id}: not in the ledger of group {}", a.group);
                outcome = Outcome::Partial;
            }
        }
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    for t in store.apply(changes, now).await.map_err(store_err)? {
        println!(
            "{}: {} (rule manual; moderate serve applies it)",
            t.record.join_request_id, t.record.state
        );
    }
    Ok(outcome)
}

async fn log(a: LogArgs) -> Result<Outcome, Fatal> {
    let rows = open(&a.store)
        .await?
        .audit(a.group.as_deref())
        .await
        .map_err(store_err)?;
    if a.json {
        println!("{}", serde_json::to_string(&rows).unwrap_or_default());
        return Ok(Outcome::Success);
    }
    for r in rows {
        println!(
            "{} {} {} {} -> {} ({}) rule={} reason={}",
            r.at,
            r.group_id,
            r.join_request_id,
            r.from.as_deref().unwrap_or("-"),
            r.to,
            r.event,
            r.rule.as_deref().unwrap_or("-"),
            r.reason.as_deref().unwrap_or("-"),
        );
    }
    Ok(Outcome::Success)
}

fn check(a: CheckArgs) -> Result<Outcome, Fatal> {
    let policy = Policy::from_file(&a.policy).map_err(|e| Fatal::usage(e.to_string()))?;
    let Some(json) = a.explain else {
        println!(
            "{}: ok ({} rules, default {})",
            a.policy.display(),
            policy.rules.len(),
            policy.default
        );
        for r in &policy.rules {
            let action = match &r.action {
                RuleAction::Decide(d) => d.to_string(),
                RuleAction::Ask(h) => format!("ask {}", h.url),
            };
            println!("  {}: {action}", r.name);
        }
        return Ok(Outcome::Success);
    };
    let req: ModerationRequest = serde_json::from_str(&json)
        .map_err(|e| Fatal::usage(format!("--explain: not a request JSON object: {e}")))?;
    let v = policy.evaluate(&req);
    match v.action {
        VerdictAction::Decide(d) => println!("rule {}: {d}", v.rule),
        VerdictAction::Ask(h) => println!(
            "rule {}: ask {} (timeout {} ms, on error {})",
            v.rule,
            h.url,
            h.timeout.as_millis(),
            h.on_error
        ),
    }
    Ok(Outcome::Success)
}
