//! `wa-groups demo`: the main job, end to end, against an embedded
//! emulator, so a person sees what the library does without an account.

use std::time::Instant;

use futures_util::TryStreamExt as _;
use wa_groups::{Client, JoinRequest};
use wa_groups_emulator::{Emulator, Fault, FaultMatch, GroupOptions};

use crate::output::{Table, reason, utc};
use crate::{Fatal, Outcome};

fn fail(e: impl std::fmt::Display) -> Fatal {
    Fatal {
        outcome: Outcome::Failure,
        message: format!("demo: {e}"),
    }
}

fn step(n: u32, title: &str) {
    println!("\n{n}. {title}");
}

struct Group {
    name: &'static str,
    id: String,
    pending_before: usize,
    approved: usize,
    rejected: usize,
    failed: usize,
}

pub(crate) async fn run() -> Result<Outcome, Fatal> {
    println!("wa-groups demo: moderating WhatsApp group join requests");
    println!("=======================================================");
    println!("Everything below runs against the wa-groups emulator, a local stand-in");
    println!("for the WhatsApp Business Cloud API started inside this process. The");
    println!("client is the real one: the same HTTP requests, retries and parsing it");
    println!("uses against graph.facebook.com.");

    let emu = Emulator::builder().start().await.map_err(fail)?;
    let client = Client::builder()
        .access_token(emu.access_token())
        .base_url(emu.base_url())
        .user_agent(concat!("wa-groups-demo/", env!("CARGO_PKG_VERSION")))
        .retry_base_delay(std::time::Duration::from_millis(200))
        .build()?;

    step(1, "Three groups with people asking to join");
    let mut groups = Vec::new();
    for (name, pending, members) in [
        ("Book club", 4, 0),
        ("Running crew", 3, 0),
        ("Launch waitlist", 5, 6),
    ] {
        let id = emu
            .controller()
            .create_group(GroupOptions::new().subject(name))
            .map_err(fail)?;
        emu.controller()
            .add_participants(&id, members)
            .map_err(fail)?;
        emu.controller()
            .add_join_requests(&id, pending)
            .map_err(fail)?;
        groups.push(Group {
            name,
            id,
            pending_before: pending,
            approved: 0,
            rejected: 0,
            failed: 0,
        });
    }
    println!(
        "   emulator at {} (groups hold at most 8 participants, as on WhatsApp)",
        emu.base_url()
    );
    let mut table = Table::new(["GROUP", "GROUP ID", "PARTICIPANTS", "PENDING"]);
    for g in &groups {
        table.row(vec![
            g.name.to_owned(),
            g.id.clone(),
            emu.controller()
                .participants(&g.id)
                .map_err(fail)?
                .len()
                .to_string(),
            g.pending_before.to_string(),
        ]);
    }
    print_indented(&table.render());

    step(
        2,
        "List the pending join requests of \"Book club\" (GET .../join_requests)",
    );
    let book: Vec<JoinRequest> = client.join_requests(&groups[0].id).try_collect().await?;
    let mut table = Table::new(["JOIN REQUEST ID", "WA_ID", "REQUESTED AT"]);
    for jr in &book {
        table.row(vec![
            jr.join_request_id.to_string(),
            jr.wa_id.clone().unwrap_or_default(),
            utc(jr.creation_timestamp),
        ]);
    }
    print_indented(&table.render());

    step(
        3,
        "Approve two of them, reject the other two (POST and DELETE)",
    );
    let ids: Vec<&str> = book.iter().map(|jr| jr.join_request_id.as_str()).collect();
    let approved = client
        .approve_join_requests(&groups[0].id, &ids[..2])
        .await?;
    let rejected = client
        .reject_join_requests(&groups[0].id, &ids[2..])
        .await?;
    println!(
        "   approved: {}",
        join_ids(approved.approved.iter().map(|i| i.as_str()))
    );
    println!(
        "   rejected: {}",
        join_ids(rejected.rejected.iter().map(|i| i.as_str()))
    );
    groups[0].approved += approved.approved.len();
    groups[0].rejected += rejected.rejected.len();

    step(
        4,
        "Approve the same two again: partial failure is a result, not an exception",
    );
    let again = client
        .approve_join_requests(&groups[0].id, [ids[0], ids[1]])
        .await?;
    for f in &again.failed {
        let why = f.errors.first().map(short).unwrap_or_default();
        println!("   {} failed: {why}", f.join_request_id);
    }
    println!("   Approve and reject are safe to repeat: already handled IDs come back as 131213.");

    step(
        5,
        "A rate limit on the way: the client waits and retries by itself",
    );
    emu.controller()
        .inject_fault(
            Fault::RateLimited {
                code: wa_groups::protocol::codes::JOIN_REQUEST_RATE_LIMIT,
                retry_after: Some(1),
            },
            FaultMatch::any().method(wa_groups::Action::Approve.method()),
        )
        .map_err(fail)?;
    let before = emu.controller().stats().faults_applied;
    let started = Instant::now();
    let crew = client.approve_all(&groups[1].id).await?;
    let rate_limited = emu.controller().stats().faults_applied - before;
    println!(
        "   the API answered HTTP 429 (code 131208, Retry-After: 1 s) {}; the client waited and retried",
        if rate_limited == 1 {
            "once".to_owned()
        } else {
            format!("{rate_limited} times")
        }
    );
    println!(
        "   approve_all(\"Running crew\") approved {} join requests in {:.1} s",
        crew.approved.len(),
        started.elapsed().as_secs_f64()
    );
    groups[1].approved += crew.approved.len();
    groups[1].failed += crew.failed.len();

    step(
        6,
        "Approve everyone waiting for \"Launch waitlist\", which has 6 of its 8 places taken",
    );
    let launch = client.approve_all(&groups[2].id).await?;
    println!("   approved {} join requests", launch.approved.len());
    let mut table = Table::new(["JOIN REQUEST ID", "CODE", "REASON"]);
    for f in &launch.failed {
        if let Some(e) = f.errors.first() {
            table.row(vec![
                f.join_request_id.to_string(),
                e.code.to_string(),
                short_reason(e),
            ]);
        }
    }
    if !table.is_empty() {
        println!(
            "   {} failed, each with its own error:",
            launch.failed.len()
        );
        print_indented(&table.render());
    }
    groups[2].approved += launch.approved.len();
    groups[2].failed += launch.failed.len();

    step(7, "Summary");
    let mut table = Table::new([
        "GROUP",
        "WERE PENDING",
        "APPROVED",
        "REJECTED",
        "FAILED",
        "STILL PENDING",
        "PARTICIPANTS",
    ]);
    for g in &groups {
        table.row(vec![
            g.name.to_owned(),
            g.pending_before.to_string(),
            g.approved.to_string(),
            g.rejected.to_string(),
            g.failed.to_string(),
            emu.controller()
                .pending_join_requests(&g.id)
                .map_err(fail)?
                .len()
                .to_string(),
            emu.controller()
                .participants(&g.id)
                .map_err(fail)?
                .len()
                .to_string(),
        ]);
    }
    print_indented(&table.render());
    let stats = emu.controller().stats();
    println!(
        "\n   {} HTTP requests to the API, {} answered with an injected fault, all retried to success.",
        stats.requests, stats.faults_applied
    );

    moderation_act(&emu, client).await?;

    println!(
        "\nNext: `wa-groups emulator` runs the emulator for your own code; `wa-groups moderate serve` runs the moderator; `wa-groups --help` lists the commands."
    );
    emu.shutdown().await;
    Ok(Outcome::Success)
}

/// The app secret the emulator signs webhooks with and the moderator checks.
const DEMO_APP_SECRET: &str = "demo-app-secret";

/// A scratch folder for the moderator's policy, list and SQLite ledger,
/// removed when dropped.
struct Scratch(std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Act two: the emulator delivers signed webhooks to an in-process
/// moderator that decides by a policy, applies its decisions in batches,
/// and catches a lost delivery by listing the groups.
async fn moderation_act(
    emu: &wa_groups_emulator::EmulatorHandle,
    client: Client,
) -> Result<(), Fatal> {
    use wa_groups_emulator::{Requester, WebhookFaults};
    use wa_groups_moderation::{Moderator, Policy, State, Store};

    let c = emu.controller();
    let before = c.stats();
    step(
        8,
        "An automatic moderator: signed webhooks, a policy, a durable ledger",
    );
    let lounge = c
        .create_group(
            GroupOptions::new()
                .subject("Customer lounge")
                .participant_cap(20),
        )
        .map_err(fail)?;
    let vip = c
        .create_group(GroupOptions::new().subject("VIP circle"))
        .map_err(fail)?;
    let dir = std::env::temp_dir().join(format!("wa-groups-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(fail)?;
    let scratch = Scratch(dir);
    std::fs::write(
        scratch.0.join("customers.txt"),
        "# our customers\n15550100001\n15550100002\n15550100003\n15550100004\n",
    )
    .map_err(fail)?;
    let policy_text = format!(
        r#"default = "hold"

[[rules]]
name = "vip-group"
action = "hold"
groups = ["{vip}"]

[[rules]]
name = "customers"
action = "approve"
requester_in = "customers.txt"

[[rules]]
name = "blocked-countries"
action = "reject"
wa_id_prefix = ["7", "86"]
"#
    );
    let policy_path = scratch.0.join("policy.toml");
    std::fs::write(&policy_path, &policy_text).map_err(fail)?;
    println!("   policy (first matching rule wins):");
    println!("     vip-group          hold    every request to \"VIP circle\" (a person decides)");
    println!("     customers          approve requesters in customers.txt");
    println!("     blocked-countries  reject  wa_id starting 7 or 86");
    println!("     default            hold");
    let db = scratch.0.join("moderation.db");
    let store = Store::open(&format!("sqlite:{}", db.display()))
        .await
        .map_err(fail)?;
    let moderator = Moderator::builder()
        .client(client)
        .store(store)
        .policy(Policy::from_file(&policy_path).map_err(fail)?)
        .app_secret(DEMO_APP_SECRET)
        .verify_token("demo-verify-token")
        .groups([lounge.clone(), vip.clone()])
        .reconcile_every(std::time::Duration::from_secs(1))
        .build()
        .map_err(fail)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(fail)?;
    let url = format!("http://{}/webhook", listener.local_addr().map_err(fail)?);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let served = {
        let m = moderator.clone();
        tokio::spawn(async move {
            m.serve_until(listener, async move {
                let _ = stop_rx.await;
            })
            .await
        })
    };
    c.set_webhook(&url, DEMO_APP_SECRET).map_err(fail)?;
    println!("   moderator listening at {url} (ledger: a temporary SQLite file)");

    let arriving = [
        (&lounge, "15550100001"),
        (&lounge, "15550100002"),
        (&lounge, "79990000001"),
        (&lounge, "8613800000001"),
        (&lounge, "4420000000001"),
        (&vip, "15550100003"),
    ];
    for (group, wa_id) in arriving {
        c.add_join_requests_from(group, [Requester::WaId(wa_id.to_owned())])
            .map_err(fail)?;
        let name = if *group == vip {
            "VIP circle"
        } else {
            "Customer lounge"
        };
        println!("   request arrives: {wa_id} asks to join \"{name}\" (signed webhook delivered)");
    }
    settle(&moderator, 6).await?;

    // One delivery is lost on the way: only listing the group finds it.
    c.inject_fault(
        Fault::Webhook(WebhookFaults {
            drop: 1.0,
            deliveries: Some(1),
            ..WebhookFaults::default()
        }),
        FaultMatch::any(),
    )
    .map_err(fail)?;
    let lost = c
        .add_join_requests_from(&lounge, [Requester::WaId("15550100004".to_owned())])
        .map_err(fail)?;
    println!(
        "   request arrives: 15550100004 asks to join \"Customer lounge\", but the webhook is lost (drop fault)"
    );
    settle(&moderator, 7).await?;
    let found = moderator
        .store()
        .get(&lounge, &lost[0])
        .await
        .map_err(fail)?
        .map(|r| r.state);
    let listed = moderator
        .store()
        .audit(Some(&lounge))
        .await
        .map_err(fail)?
        .iter()
        .any(|a| a.join_request_id == lost[0] && a.event == "listed");
    match found {
        Some(state) if listed => println!(
            "   reconciliation: listing the groups found the lost request; it is now {state}"
        ),
        _ => println!("   reconciliation has not found the lost request"),
    }

    let status = moderator.status().await.map_err(fail)?;
    println!("   decisions:");
    let mut table = Table::new(["GROUP", "WA_ID", "RULE", "DECISION", "STATE"]);
    for r in &status.requests {
        table.row(vec![
            if r.group_id == vip {
                "VIP circle"
            } else {
                "Customer lounge"
            }
            .to_owned(),
            r.requester.wa_id.clone().unwrap_or_default(),
            r.rule.clone().unwrap_or_default(),
            r.decision.map(|d| d.to_string()).unwrap_or_default(),
            r.state.to_string(),
        ]);
    }
    print_indented(&table.render());
    let stats = c.stats();
    println!(
        "   calls applied: {} approve and {} reject call(s), batched per group ({} approved, {} rejected)",
        stats.endpoints.approve - before.endpoints.approve,
        stats.endpoints.reject - before.endpoints.reject,
        stats.join_requests_approved - before.join_requests_approved,
        stats.join_requests_rejected - before.join_requests_rejected,
    );
    println!("   moderation summary by state:");
    let mut table = Table::new(["STATE", "REQUESTS"]);
    for s in State::ALL {
        let n = status.total.get(s);
        if n > 0 {
            table.row(vec![s.to_string(), n.to_string()]);
        }
    }
    print_indented(&table.render());
    let _ = stop_tx.send(());
    served.await.map_err(fail)?.map_err(fail)?;
    c.clear_webhook();
    drop(scratch);
    Ok(())
}

/// Waits (at most 20 s) until the moderator knows `records` requests and
/// none is still waiting for a decision or a call.
async fn settle(moderator: &wa_groups_moderation::Moderator, records: usize) -> Result<(), Fatal> {
    use wa_groups_moderation::State;
    let deadline = Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let status = moderator.status().await.map_err(fail)?;
        let busy = [State::Pending, State::Approving, State::Rejecting]
            .iter()
            .map(|s| status.total.get(*s))
            .sum::<u64>();
        if status.requests.len() >= records && busy == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(fail(format!(
                "the moderator did not settle: {} of {records} requests known, {busy} in progress",
                status.requests.len()
            )));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// An error item in a few words: its code and title (or message).
fn short(e: &wa_groups::ErrorDetail) -> String {
    format!("({}) {}", e.code, short_reason(e))
}

fn short_reason(e: &wa_groups::ErrorDetail) -> String {
    e.title
        .clone()
        .or_else(|| e.message.clone())
        .unwrap_or_else(|| reason(e))
}

fn join_ids<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    let ids: Vec<&str> = ids.collect();
    if ids.is_empty() {
        "none".to_owned()
    } else {
        ids.join(", ")
    }
}

fn print_indented(text: &str) {
    for line in text.lines() {
        println!("   {line}");
    }
}
