//! The built `wa-groups` binary against a real emulator on 127.0.0.1.

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use wa_groups_emulator::GroupOptions;

mod support;

use support::{BIN, Emu, emulator};

fn run(emu: &Emu, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env("WHATSAPP_ACCESS_TOKEN", emu.access_token())
        .env("WA_GROUPS_BASE_URL", emu.base_url())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(input) = stdin {
        pipe.write_all(input.as_bytes()).unwrap();
    }
    drop(pipe);
    let out = child.wait_with_output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(emu.access_token()), "the token leaked: {all}");
    out
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}

fn group(emu: &Emu, pending: usize) -> (String, Vec<String>) {
    let g = emu.create_group(GroupOptions::default()).unwrap();
    let ids = emu.add_join_requests(&g, pending).unwrap();
    (g, ids)
}

#[test]
fn list_prints_every_page_as_json_and_as_a_table() {
    let emu = emulator();
    let (g1, ids1) = group(&emu, 30); // more than one page of 25
    let (g2, _) = group(&emu, 2);
    let out = run(
        &emu,
        &["list", "--group", &g1, "--group", &g2, "--json"],
        None,
    );
    assert_eq!(code(&out), 0, "{out:?}");
    let doc = json(&out);
    assert_eq!(doc["command"], "list");
    let listed: Vec<&str> = doc["groups"][0]["join_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["join_request_id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ids1.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        doc["groups"][1]["join_requests"].as_array().unwrap().len(),
        2
    );
    assert!(doc["groups"][1]["join_requests"][0]["creation_timestamp"].is_i64());

    let out = run(&emu, &["list", "--group", &g2, "--format", "table"], None);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("GROUP"), "{text}");
    assert!(
        text.contains("2 pending join requests in 1 group"),
        "{text}"
    );
}

#[test]
fn approve_and_reject_take_ids_from_arguments_files_and_stdin() {
    let emu = emulator();
    let (g, ids) = group(&emu, 5);
    let out = run(
        &emu,
        &["approve", "--group", &g, &ids[0], &ids[1], "--json"],
        None,
    );
    assert_eq!(code(&out), 0, "{out:?}");
    let doc = json(&out);
    assert_eq!(doc["groups"][0]["approved"].as_array().unwrap().len(), 2);
    assert_eq!(doc["summary"]["approved"], 2);

    let out = run(
        &emu,
        &["reject", "--group", &g, "-", "--json"],
        Some(&format!("{}\n\n# a comment\n{}\n", ids[2], ids[3])),
    );
    assert_eq!(code(&out), 0, "{out:?}");
    assert_eq!(
        json(&out)["groups"][0]["rejected"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let file = std::env::temp_dir().join(format!("wa-groups-cli-test-{}", std::process::id()));
    std::fs::write(&file, format!("{}\n", ids[4])).unwrap();
    let out = run(
        &emu,
        &[
            "approve",
            "--group",
            &g,
            "--from-file",
            file.to_str().unwrap(),
            "--format",
            "table",
        ],
        None,
    );
    std::fs::remove_file(&file).ok();
    assert_eq!(code(&out), 0, "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok"));
    assert!(emu.pending_join_requests(&g).unwrap().is_empty());
    assert_eq!(emu.participants(&g).unwrap().len(), 3);
}

#[test]
fn a_partial_failure_exits_1_and_names_each_failed_id() {
    let emu = emulator();
    let (g, ids) = group(&emu, 2);
    let out = run(
        &emu,
        &[
            "approve",
            "--group",
            &g,
            &ids[0],
            "not-a-pending-id",
            "--json",
        ],
        None,
    );
    assert_eq!(code(&out), 1, "{out:?}");
    let doc = json(&out);
    assert_eq!(
        doc["groups"][0]["failed"][0]["join_request_id"],
        "not-a-pending-id"
    );
    assert_eq!(doc["groups"][0]["failed"][0]["errors"][0]["code"], 131213);
    let out = run(
        &emu,
        &["reject", "--group", &g, &ids[0], "--format", "table"],
        None,
    );
    assert_eq!(code(&out), 1);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Failed:") && text.contains("131213"),
        "{text}"
    );
}

#[test]
fn approve_all_and_reject_all_work_over_many_groups() {
    let emu = emulator();
    let groups: Vec<(String, Vec<String>)> = (0..6).map(|i| group(&emu, 1 + i % 3)).collect();
    let file = std::env::temp_dir().join(format!("wa-groups-cli-groups-{}", std::process::id()));
    let list: String = groups[..3].iter().map(|(g, _)| format!("{g}\n")).collect();
    std::fs::write(&file, list).unwrap();
    let out = run(
        &emu,
        &[
            "approve-all",
            "--groups-file",
            file.to_str().unwrap(),
            "--json",
            "--concurrency",
            "2",
        ],
        None,
    );
    std::fs::remove_file(&file).ok();
    assert_eq!(code(&out), 0, "{out:?}");
    let doc = json(&out);
    assert_eq!(doc["summary"]["groups"], 3);
    assert_eq!(doc["summary"]["approved"], 1 + 2 + 3);
    let mut args = vec!["reject-all".to_owned()];
    for (g, _) in &groups[3..] {
        args.push("--group".into());
        args.push(g.clone());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&emu, &args, None);
    assert_eq!(code(&out), 0, "{out:?}");
    for (g, _) in &groups {
        assert!(emu.pending_join_requests(g).unwrap().is_empty());
    }
}

#[test]
fn bad_input_exits_2_with_one_line_and_sends_nothing() {
    let emu = emulator();
    let before = emu.stats().requests;
    for args in [
        &["approve", "--group", "no/slash", "x"][..],
        &["approve", "--group", "g", "has space"][..],
        &["reject", "--group", "g"][..],
        &["list"][..],
        &["list", "--group", "g", "--limit", "0"][..],
        &["list", "--group", "g", "--limit", "1001"][..],
        &["list", "--group", ""][..],
        &["list", "--group", "g", "--group", "  "][..],
        &["approve", "--group", "", "x"][..],
        &["approve-all", "--group", ""][..],
    ] {
        let out = run(&emu, args, None);
        assert_eq!(code(&out), 2, "{args:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{err}");
    }
    assert_eq!(emu.stats().requests, before, "nothing was sent");
    let err = String::from_utf8(run(&emu, &["list", "--group", "g", "--limit", "0"], None).stderr)
        .unwrap();
    assert!(err.contains("--limit must be between 1 and 1000"), "{err}");
    let err = String::from_utf8(run(&emu, &["list", "--group", ""], None).stderr).unwrap();
    assert!(err.contains("group ID must not be empty"), "{err}");

    let out = Command::new(BIN)
        .args(["list", "--group", "g"])
        .env_remove("WHATSAPP_ACCESS_TOKEN")
        .output()
        .unwrap();
    assert_eq!(code(&out), 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("WHATSAPP_ACCESS_TOKEN"));
}

#[test]
fn api_errors_exit_3_and_never_show_the_token() {
    let emu = emulator();
    let out = run(&emu, &["approve-all", "--group", "unknown-group"], None);
    assert_eq!(code(&out), 3, "{out:?}");
    let out = Command::new(BIN)
        .args([
            "list",
            "--group",
            "g",
            "--base-url",
            emu.base_url(),
            "--max-retries",
            "0",
        ])
        .env("WHATSAPP_ACCESS_TOKEN", "EAAGwrongSECRET")
        .output()
        .unwrap();
    assert_eq!(code(&out), 3);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("190"), "{all}");
    assert!(!all.contains("EAAGwrongSECRET"), "{all}");
}

#[test]
fn demo_runs_to_the_end() {
    let out = Command::new(BIN).arg("demo").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    for part in ["Summary", "131204", "131213", "429", "approve_all"] {
        assert!(text.contains(part), "demo output lacks {part}:\n{text}");
    }
    // The moderation act: each rule's decision, the applied calls, the
    // lost delivery caught by reconciliation, the summary by state.
    for part in [
        "An automatic moderator",
        "moderator listening at http://127.0.0.1:",
        "request arrives: 15550100001",
        "the webhook is lost (drop fault)",
        "reconciliation: listing the groups found the lost request; it is now approved",
        "calls applied: ",
        "moderation summary by state:",
    ] {
        assert!(text.contains(part), "demo output lacks {part}:\n{text}");
    }
    let row = |wa_id: &str| {
        text.lines()
            .find(|l| l.contains(wa_id) && !l.contains("request arrives"))
            .map(|l| l.split_whitespace().rev().take(3).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    assert_eq!(row("15550100001"), ["approved", "approve", "customers"]);
    assert_eq!(
        row("79990000001"),
        ["rejected", "reject", "blocked-countries"]
    );
    assert_eq!(row("4420000000001"), ["held", "hold", "default"]);
    assert_eq!(row("15550100003"), ["held", "hold", "vip-group"]);
    assert_eq!(row("15550100004"), ["approved", "approve", "customers"]);
    let state = |s: &str| {
        text.lines()
            .skip_while(|l| !l.contains("moderation summary by state:"))
            .find(|l| l.trim_start().starts_with(s))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        (state("approved"), state("rejected"), state("held")),
        ("3".to_owned(), "2".to_owned(), "2".to_owned())
    );
}

#[test]
fn emulator_subcommand_serves_until_stopped() {
    let seed = std::env::temp_dir().join(format!("wa-groups-seed-{}.json", std::process::id()));
    std::fs::write(
        &seed,
        r#"{"groups": [{"subject": "Seeded", "join_requests": 3}]}"#,
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .args([
            "emulator",
            "--port",
            "0",
            "--seed",
            seed.to_str().unwrap(),
            "--access-token",
            "local-token",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut group = None;
    let mut exports = Vec::new();
    let mut banner = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        banner.push_str(&line);
        banner.push('\n');
        if let Some(rest) = line.strip_prefix("seeded group ") {
            group = rest.split_whitespace().next().map(str::to_owned);
        }
        // Issue 15: ready-to-paste `export NAME=VALUE` lines.
        if let Some(rest) = line.trim_start().strip_prefix("export ") {
            let (name, value) = rest.split_once('=').unwrap();
            exports.push((name.to_owned(), value.to_owned()));
        }
        if line.starts_with("Press Ctrl-C") {
            break;
        }
    }
    std::fs::remove_file(&seed).ok();
    let group = group.unwrap();
    let names: Vec<&str> = exports.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["WA_GROUPS_BASE_URL", "WHATSAPP_ACCESS_TOKEN"],
        "{banner}"
    );
    assert!(exports[0].1.starts_with("http://127.0.0.1:"), "{banner}");
    assert_eq!(exports[1].1, "local-token");
    assert!(banner.contains("not a secret"), "{banner}");
    assert!(banner.contains("crates/emulator/README.md"), "{banner}");
    // The pasted lines are all the CLI needs: no --base-url.
    let out = Command::new(BIN)
        .args(["list", "--group", &group, "--json"])
        .env_remove("WA_GROUPS_BASE_URL")
        .env_remove("WHATSAPP_ACCESS_TOKEN")
        .envs(exports.iter().map(|(n, v)| (n.as_str(), v.as_str())))
        .output()
        .unwrap();
    child.kill().ok();
    child.wait().ok();
    assert_eq!(code(&out), 0, "{out:?}");
    assert_eq!(
        json(&out)["groups"][0]["join_requests"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

/// Issue 15: `wa-groups emulator --help` describes the seed file.
#[test]
fn emulator_help_describes_the_seed_file() {
    let out = Command::new(BIN)
        .args(["emulator", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for part in [
        "business_scoped_join_requests",
        "participant_cap",
        "{\"groups\": [",
        "export WA_GROUPS_BASE_URL",
        "crates/emulator/README.md",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
    // The example in the help is a seed the emulator takes.
    let start = text.find("{\"groups\"").unwrap();
    let end = text[start..].find("]}").unwrap() + start + 2;
    wa_groups_emulator::Seed::from_json(&text.as_bytes()[start..end]).unwrap();
}

#[test]
fn help_explains_the_commands() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for part in [
        "approve-all",
        "emulator",
        "demo",
        "WHATSAPP_ACCESS_TOKEN",
        "Exit codes",
    ] {
        assert!(text.contains(part), "{part}");
    }
}

/// Issue 10 item 10: `RUST_LOG=trace` logs to stderr (hyper and rustls
/// included) and no line carries the token, though the server echoes it.
#[test]
fn rust_log_trace_logs_to_stderr_without_the_token() {
    let emu = emulator();
    for args in [
        vec!["list", "--group", "g"],
        vec!["approve", "--group", "g", "jr-1"],
    ] {
        let mut full: Vec<&str> = args.clone();
        full.extend(["--base-url", emu.base_url(), "--max-retries", "0"]);
        let out = Command::new(BIN)
            .args(&full)
            .env("WHATSAPP_ACCESS_TOKEN", "EAAGwrong/SECRET\"tok")
            .env("RUST_LOG", "trace")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let all = format!("{}{stderr}", String::from_utf8_lossy(&out.stdout));
        assert!(stderr.contains("wa_groups"), "tracing wrote nothing: {all}");
        for form in [
            "EAAGwrong/SECRET\"tok",
            "EAAGwrong\\/SECRET\\\"tok",
            "EAAGwrong/SECRET\\\"tok",
            "EAAGwrong%2FSECRET%22tok",
            "SECRET",
        ] {
            assert!(!all.contains(form), "{form} in {all}");
        }
    }
}

/// Runs a shell pipeline with the binary as `$BIN` against `emu`.
fn pipeline(emu: &Emu, script: &str) -> Output {
    let out = Command::new("sh")
        .args(["-c", script])
        .env("BIN", BIN)
        .env("WHATSAPP_ACCESS_TOKEN", emu.access_token())
        .env("WA_GROUPS_BASE_URL", emu.base_url())
        .output()
        .unwrap();
    assert!(out.status.success(), "{script}: {out:?}");
    out
}

/// Issue 15: off a terminal the listing is tab-separated rows without a
/// header (summary on stderr), so the help's `cut -f1` example is true;
/// `--format ids` pipes straight into `reject -`.
#[test]
fn piped_output_is_tsv_and_ids_pipe_into_decisions() {
    let emu = emulator();
    let (g, ids) = group(&emu, 30);
    let out = run(&emu, &["list", "--group", &g], None);
    assert_eq!(code(&out), 0, "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 30, "{text}");
    for (row, id) in rows.iter().zip(&ids) {
        assert_eq!(row.len(), 4, "{row:?}");
        assert_eq!((row[0], row[1]), (id.as_str(), g.as_str()));
        row[3].parse::<i64>().unwrap();
    }
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("30 pending join requests in 1 group"), "{err}");

    // The example of `--help`, word for word but for the group.
    let help = String::from_utf8(Command::new(BIN).arg("--help").output().unwrap().stdout).unwrap();
    let example = "wa-groups list --group GROUP_ID | cut -f1 | wa-groups reject --group GROUP_ID -";
    assert!(help.contains(example), "{help}");
    let script = example
        .replace("wa-groups", "\"$BIN\"")
        .replace("GROUP_ID", &g);
    let out = pipeline(&emu, &script);
    let rejected = String::from_utf8(out.stdout).unwrap();
    assert_eq!(rejected.lines().count(), 30, "{rejected}");
    assert!(
        rejected.lines().all(|l| l.contains("\trejected\t")),
        "{rejected}"
    );
    assert!(emu.pending_join_requests(&g).unwrap().is_empty());

    let (g, ids) = group(&emu, 7);
    let out = pipeline(
        &emu,
        &format!(
            "\"$BIN\" list --group {g} --format ids | \"$BIN\" approve --group {g} --format ids -"
        ),
    );
    let approved: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(approved, ids);
    assert!(emu.pending_join_requests(&g).unwrap().is_empty());

    let (g, ids) = group(&emu, 2);
    let out = run(
        &emu,
        &["reject", "--group", &g, "--format", "tsv", &ids[0], &ids[1]],
        None,
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!(
            "{}\t{g}\trejected\t\t\n{}\t{g}\trejected\t\t\n",
            ids[0], ids[1]
        )
    );
}

/// Issue 15: a group that fails is counted as failed, not as "0 pending".
#[test]
fn the_summary_counts_groups_that_failed() {
    let emu = emulator();
    let (g, _) = group(&emu, 2);
    let out = run(
        &emu,
        &["list", "--group", "no-such-group", "--format", "table"],
        None,
    );
    assert_eq!(code(&out), 3, "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text,
        "0 pending join requests in 0 groups; 1 of 1 group could not be listed\n"
    );
    let out = run(
        &emu,
        &[
            "list",
            "--group",
            &g,
            "--group",
            "no-such-group",
            "--format",
            "table",
        ],
        None,
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.ends_with("2 pending join requests in 1 group; 1 of 2 groups could not be listed\n"),
        "{text}"
    );
}

/// Issue 15: `approve-all` and `reject-all` name themselves in `--json`,
/// and `--help` explains `error` and `errors`.
#[test]
fn json_names_the_command_and_help_explains_error_fields() {
    let emu = emulator();
    for (command, _) in [
        ("approve-all", 0),
        ("reject-all", 0),
        ("approve", 1),
        ("reject", 1),
    ] {
        let (g, ids) = group(&emu, 1);
        let mut args = vec![command, "--group", &g, "--json"];
        if command.ends_with("approve") || command.ends_with("reject") {
            args.push(&ids[0]);
        }
        let out = run(&emu, &args, None);
        assert_eq!(code(&out), 0, "{out:?}");
        assert_eq!(json(&out)["command"], command);
    }
    let help = String::from_utf8(Command::new(BIN).arg("--help").output().unwrap().stdout).unwrap();
    for part in [
        "--format",
        "error: null, or the group's call failed",
        "errors[]: the API's top-level errors",
        "approve-all",
    ] {
        assert!(help.contains(part), "{part}: {help}");
    }
    let help = String::from_utf8(
        Command::new(BIN)
            .args(["list", "--help"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    for part in ["--format <FORMAT>", "--json", "--quiet", "--verbose"] {
        assert!(help.contains(part), "{part}: {help}");
    }
}

/// Issue 15: each retry is one stderr line (when, why, the wait) with
/// `-v`; `-q` and a non-terminal stderr keep quiet.
#[test]
fn retries_are_reported_on_stderr() {
    use wa_groups_emulator::{Fault, FaultMatch};
    let emu = emulator();
    let (g, _) = group(&emu, 1);
    let rate_limit = || {
        emu.inject_fault(
            Fault::RateLimited {
                code: 131_208,
                retry_after: Some(0),
            },
            FaultMatch::any().times(2),
        )
        .unwrap();
    };
    rate_limit();
    let out = run(&emu, &["list", "--group", &g, "-v"], None);
    assert_eq!(code(&out), 0, "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    let retries: Vec<&str> = err.lines().filter(|l| l.starts_with("retry: ")).collect();
    assert_eq!(retries.len(), 2, "{err}");
    assert!(
        retries[0]
            .contains(" UTC attempt 1 failed (rate limited: Graph API error 131208 (HTTP 429)"),
        "{err}"
    );
    assert!(retries[0].ends_with("retry 1 of 3 in 0.0s"), "{err}");
    assert!(retries[1].contains("attempt 2 failed"), "{err}");

    for quiet in [&["-q"][..], &[][..]] {
        rate_limit();
        let mut args = vec!["list", "--group", &g];
        args.extend_from_slice(quiet);
        let out = run(&emu, &args, None);
        assert_eq!(code(&out), 0, "{out:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(!err.contains("retry"), "{quiet:?}: {err}");
    }
}
