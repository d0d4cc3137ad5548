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
    println!(
        "\nNext: `wa-groups emulator` runs the emulator for your own code; `wa-groups --help` lists the commands."
    );
    emu.shutdown().await;
    Ok(Outcome::Success)
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
