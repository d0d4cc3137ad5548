//! The moderation sweep: what a business with thousands of groups lives
//! through. The emulator creates GROUPS × PER_GROUP join requests (varied
//! requesters from its pool) under a phone-number rate limit, and delivers
//! their webhooks with 10% dropped and 10% duplicated to the real built
//! `wa-groups moderate serve` (separate processes, a policy that approves
//! some and rejects others by `wa_id` prefix). The harness kills a
//! moderator with SIGKILL once mid-run and starts it again on the same
//! store; lost deliveries are left to the reconciler.
//!
//! At the end it checks, from the emulator's state and counters and from
//! the store: every request is in its policy's state, applied exactly once
//! (one `approved` / `rejected` audit row per ID, the emulator's counts
//! equal to the policy's, nothing left pending, participants as expected).
//! It reports the wall time against the rate limit's floor and the peak
//! RSS (`VmHWM`) over every moderator process.
//!
//! The floor is the time the rate limiter needs to admit the fewest API
//! calls the job needs: `(GROUPS + Σ_g ([g has approvals] + [g has
//! rejections])) / RATE`, where each group is listed once (lost deliveries
//! can only be found by listing, and which groups lost one is not known)
//! and one approve and one reject call go to each group that has such
//! requests. The harness empties the limiter's bucket before the job
//! starts, so no burst is admitted faster than the rate and this is a true
//! lower bound.
//!
//! ```sh
//! cargo build --release -p wa-groups-cli
//! cargo run --release -p wa-groups-moderation --example sweep -- \
//!     [--bin target/release/wa-groups] [--store URL|postgres] [--replicas N] \
//!     [--groups 2000] [--per-group 4] [--rate 2000] [--reconcile-every 2s] \
//!     [--webhook-lanes 1] [--runs 1]
//! ```
//!
//! `--runs N` runs the whole job N times, each on a new emulator and a new
//! store, and its rows give the median run's wall time with every run's
//! beside it: one 429 (the emulator's `Retry-After` is at least a second)
//! moves a single run's wall time by a third of the floor. The client
//! paces its calls by the emulator's usage header to stay clear of them;
//! the 429 count beside each run shows whether it did.
//!
//! `--webhook-lanes N` has the emulator post up to N deliveries at once,
//! in any order, instead of one at a time: with one lane the delivery rate
//! is at most one over the receiver's acknowledgement latency.
//!
//! `SWEEP_TRACE=1` prints the progress every 100 ms (requests applied, API
//! calls by kind, webhooks delivered and failed).
//!
//! Defaults: one replica on a SQLite file in a temporary folder. Several
//! replicas need a shared store (`--store postgres://...`, or `--store
//! postgres` for a scratch schema on the server in `WA_GROUPS_TEST_POSTGRES`); the harness
//! then puts a round-robin forwarder in front of them, as a load balancer
//! would be. Writes its rows for `cargo xtask bench` to
//! `target/bench-results/moderation-sweep-{sqlite|postgres}-{N}[-lanesL].tsv`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use wa_groups_emulator::{
    Emulator, Fault, FaultMatch, GroupOptions, RateLimit, Requester, RequesterPool, WebhookFaults,
};
use wa_groups_moderation::{State, Store};

const SECRET: &str = "sweep-app-secret";
/// Requesters whose `wa_id` starts with one of these are rejected; every
/// other one (business-scoped users included) is approved.
const REJECT_PREFIXES: [&str; 2] = ["44", "91"];
const WALL_TARGET: f64 = 1.3;
const RSS_TARGET_MB: f64 = 64.0;
/// When the run is given up (a moderator that never finishes).
const GIVE_UP: Duration = Duration::from_secs(180);

mod scratch;

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Args {
    bin: PathBuf,
    store: Option<String>,
    replicas: usize,
    groups: usize,
    per_group: usize,
    rate: f64,
    reconcile_every: String,
    /// Webhook deliveries the emulator posts at once (1: in order).
    webhook_lanes: usize,
    /// Runs of the whole job; the rows give the median run.
    runs: usize,
}

fn parse_args() -> Result<Args, Error> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut a = Args {
        bin: std::env::var_os("WA_GROUPS_BIN")
            .map_or_else(|| root.join("target/release/wa-groups"), PathBuf::from),
        store: None,
        replicas: 1,
        groups: 2000,
        per_group: 4,
        rate: 2000.0,
        reconcile_every: "2s".into(),
        webhook_lanes: 1,
        runs: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--bin" => a.bin = value()?.into(),
            "--store" => a.store = Some(value()?),
            "--replicas" => a.replicas = value()?.parse()?,
            "--groups" => a.groups = value()?.parse()?,
            "--per-group" => a.per_group = value()?.parse()?,
            "--rate" => a.rate = value()?.parse()?,
            "--reconcile-every" => a.reconcile_every = value()?,
            "--webhook-lanes" => a.webhook_lanes = value()?.parse()?,
            "--runs" => a.runs = value()?.parse()?,
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    if a.replicas == 0 || a.groups == 0 || a.per_group == 0 || a.webhook_lanes == 0 || a.runs == 0 {
        return Err(
            "--replicas, --groups, --per-group, --webhook-lanes and --runs must be at least 1"
                .into(),
        );
    }
    // Each run must start on an empty store: a new SQLite file or a new
    // scratch schema, never a given URL the first run has filled.
    if a.runs > 1 && a.store.as_deref().is_some_and(|s| s != "postgres") {
        return Err(
            "--runs N needs an empty store per run: leave --store out (SQLite) or give --store postgres (a scratch schema each)"
                .into(),
        );
    }
    if a.replicas > 1 && a.store.as_deref().is_none_or(|s| s.starts_with("sqlite:")) {
        return Err("several replicas need a shared store: --store postgres://...".into());
    }
    Ok(a)
}

/// The decision the policy file below makes for `r`.
fn approves(r: &Requester) -> bool {
    match r {
        Requester::WaId(w) => !REJECT_PREFIXES.iter().any(|p| w.starts_with(p)),
        Requester::BusinessScoped { .. } => true,
    }
}

fn policy_toml() -> String {
    let prefixes: Vec<String> = REJECT_PREFIXES.iter().map(|p| format!("{p:?}")).collect();
    format!(
        "default = \"approve\"\n\n[[rules]]\nname = \"reject-prefixes\"\naction = \"reject\"\nwa_id_prefix = [{}]\n",
        prefixes.join(", ")
    )
}

/// How a participant is listed by the emulator: its `wa_id` or `user_id`.
fn participant_id(r: &Requester) -> String {
    match r {
        Requester::WaId(w) => w.clone(),
        Requester::BusinessScoped { user_id, .. } => user_id.clone(),
    }
}

/// `VmHWM` of a live process, in MB.
fn peak_rss_mb(pid: u32) -> Option<f64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
}

/// One `wa-groups moderate serve` process.
struct Replica {
    child: tokio::process::Child,
    pid: u32,
    listen: SocketAddr,
    log: PathBuf,
}

struct Launch<'a> {
    bin: &'a Path,
    store: &'a str,
    policy: &'a Path,
    groups_file: &'a Path,
    base_url: &'a str,
    token: &'a str,
    reconcile_every: &'a str,
    dir: &'a Path,
}

impl Launch<'_> {
    async fn start(&self, listen: SocketAddr, name: &str) -> Result<Replica, Error> {
        let log = self.dir.join(format!("{name}.log"));
        let child = tokio::process::Command::new(self.bin)
            .args(["moderate", "serve", "--policy"])
            .arg(self.policy)
            .args(["--store", self.store, "--listen", &listen.to_string()])
            .args(["--base-url", self.base_url, "--groups-file"])
            .arg(self.groups_file)
            .args(["--reconcile-every", self.reconcile_every])
            .env("WHATSAPP_ACCESS_TOKEN", self.token)
            .env("WHATSAPP_APP_SECRET", SECRET)
            .env("WHATSAPP_VERIFY_TOKEN", "sweep-verify-token")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.bin.display()))?;
        let pid = child.id().ok_or("the moderator exited at once")?;
        let mut replica = Replica {
            child,
            pid,
            listen,
            log,
        };
        replica.wait_healthy().await?;
        Ok(replica)
    }
}

impl Replica {
    async fn wait_healthy(&mut self) -> Result<(), Error> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                return Err(format!("the moderator exited ({status}):\n{log}").into());
            }
            if let Ok(mut s) = tokio::net::TcpStream::connect(self.listen).await {
                use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
                s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
                    .await?;
                let mut answer = Vec::new();
                let _ = s.read_to_end(&mut answer).await;
                if answer.starts_with(b"HTTP/1.1 200") {
                    return Ok(());
                }
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err("the moderator did not become healthy within 30 s".into());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// A free port on 127.0.0.1 (bound, then released for the moderator).
fn free_addr() -> Result<SocketAddr, Error> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// The biggest `VmHWM` seen per process, sampled while the processes live.
#[derive(Default)]
struct RssWatch {
    peak: std::sync::Mutex<BTreeMap<u32, f64>>,
    pids: std::sync::Mutex<Vec<u32>>,
}

impl RssWatch {
    fn sample(&self) {
        let pids = self.pids.lock().unwrap().clone();
        let mut peak = self.peak.lock().unwrap();
        for pid in pids {
            if let Some(mb) = peak_rss_mb(pid) {
                let e = peak.entry(pid).or_insert(0.0);
                *e = e.max(mb);
            }
        }
    }

    fn watch(&self, pid: u32) {
        self.pids.lock().unwrap().push(pid);
        self.sample();
    }

    fn max(&self) -> f64 {
        self.sample();
        self.peak
            .lock()
            .unwrap()
            .values()
            .copied()
            .fold(0.0, f64::max)
    }
}

/// Forwards each delivery to the replicas in turn (the next one when a
/// replica does not answer), as a load balancer in front of them would.
async fn balancer(replicas: Vec<SocketAddr>) -> Result<SocketAddr, Error> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let next = Arc::new(AtomicUsize::new(0));
    let replicas = Arc::new(replicas);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (client, next, replicas) =
                (client.clone(), Arc::clone(&next), Arc::clone(&replicas));
            let service =
                hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let (client, next, replicas) =
                        (client.clone(), Arc::clone(&next), Arc::clone(&replicas));
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let first = next.fetch_add(1, Ordering::Relaxed);
                        for i in 0..replicas.len() {
                            let target = replicas[(first + i) % replicas.len()];
                            let mut forward = http::Request::builder()
                                .method(parts.method.clone())
                                .uri(format!("http://{target}{}", parts.uri));
                            for (k, v) in &parts.headers {
                                forward = forward.header(k, v);
                            }
                            let Ok(forward) = forward.body(Full::new(body.clone())) else {
                                break;
                            };
                            if let Ok(resp) = client.request(forward).await {
                                let (p, b) = resp.into_parts();
                                let b = b.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                                return Ok::<_, std::convert::Infallible>(
                                    http::Response::from_parts(p, Full::new(b)),
                                );
                            }
                        }
                        let mut bad = http::Response::new(Full::new(Bytes::from_static(
                            b"no replica answered\n",
                        )));
                        *bad.status_mut() = http::StatusCode::BAD_GATEWAY;
                        Ok(bad)
                    }
                });
            tokio::spawn(async move {
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
            });
        }
    });
    Ok(addr)
}

/// Lists a group until the limiter answers 131208: its bucket is empty.
async fn drain_bucket(emu: &wa_groups_emulator::EmulatorHandle, group: &str) -> Result<(), Error> {
    let client = wa_groups::Client::builder()
        .access_token(emu.access_token())
        .base_url(emu.base_url())
        .max_retries(0)
        // It runs into the limit on purpose.
        .pace_by_usage(false)
        .build()?;
    loop {
        match client
            .list_join_requests(group, wa_groups::ListOptions::default())
            .await
        {
            Ok(_) => {}
            Err(e) if e.kind() == wa_groups::ErrorKind::RateLimited => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args = parse_args()?;
    if !args.bin.exists() {
        return Err(format!(
            "{} not found: build it with `cargo build --release -p wa-groups-cli`, or pass --bin",
            args.bin.display()
        )
        .into());
    }
    let mut runs = Vec::with_capacity(args.runs);
    for _ in 0..args.runs {
        runs.push(sweep_once(&args).await?);
    }
    write_rows(&args, &runs)?;
    if runs.iter().any(|r| !r.correct) {
        return Err(
            "the sweep did not end with every request in its policy's state exactly once".into(),
        );
    }
    Ok(())
}

/// What one run of the sweep measured.
struct Outcome {
    /// The job's wall time ([`GIVE_UP`] when it never finished).
    wall: Duration,
    /// The rate limit's floor (the same for every run of the same args).
    floor: Duration,
    /// One approve and one reject call per group that has such requests.
    decide_calls: u64,
    /// API calls the emulator answered.
    calls: u64,
    /// Of those, answered 429.
    rate_limited: u64,
    /// Every request in its policy's state, each applied once.
    correct: bool,
    /// The biggest `VmHWM` over the run's moderator processes, in MB.
    peak_rss: f64,
    /// `SQLite` or `PostgreSQL`.
    store_label: &'static str,
}

/// One run of the job on a new emulator and a new store; prints what it
/// saw (and the moderators' logs when it was not correct).
async fn sweep_once(args: &Args) -> Result<Outcome, Error> {
    let dir = tempfile::tempdir()?;
    // `--store postgres`: a scratch schema on the server whose URL is in
    // WA_GROUPS_TEST_POSTGRES (kept off the command line), dropped at the end.
    let (store_url, scratch) = match args.store.as_deref() {
        None => (
            format!("sqlite:{}", dir.path().join("sweep.db").display()),
            None,
        ),
        Some("postgres") => {
            let server = std::env::var("WA_GROUPS_TEST_POSTGRES")
                .map_err(|_| "--store postgres: set WA_GROUPS_TEST_POSTGRES to the server's URL")?;
            let (url, schema) = scratch::schema(&server, "wa_groups_sweep").await?;
            (url, Some((server, schema)))
        }
        Some(url) => (url.to_owned(), None),
    };
    let store_label = if store_url.starts_with("sqlite:") {
        "SQLite"
    } else {
        "PostgreSQL"
    };

    // The groups and every requester, known before anything is created.
    let emu = Emulator::builder()
        .webhook_concurrency(args.webhook_lanes)
        .start()
        .await?;
    let ctl = emu.controller();
    let mut groups = Vec::with_capacity(args.groups);
    for _ in 0..args.groups {
        groups.push(ctl.create_group(
            GroupOptions::default().participant_cap(u32::try_from(args.per_group)? + 8),
        )?);
    }
    let mut pool = RequesterPool::new(7);
    let requesters: Vec<Vec<Requester>> = (0..args.groups)
        .map(|_| (0..args.per_group).map(|_| pool.draw()).collect())
        .collect();
    let (mut approvals, mut rejections, mut decide_calls) = (0u64, 0u64, 0u64);
    for rs in &requesters {
        let a = rs.iter().filter(|r| approves(r)).count() as u64;
        let r = rs.len() as u64 - a;
        approvals += a;
        rejections += r;
        decide_calls += u64::from(a > 0) + u64::from(r > 0);
    }
    let total = approvals + rejections;
    let min_calls = args.groups as u64 + decide_calls;
    // The job starts with the limiter's bucket empty (see `drain_bucket`).
    let floor = Duration::from_secs_f64(min_calls as f64 / args.rate);

    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, policy_toml())?;
    let groups_file = dir.path().join("groups.txt");
    std::fs::write(&groups_file, groups.join("\n"))?;
    let launch = Launch {
        bin: &args.bin,
        store: &store_url,
        policy: &policy,
        groups_file: &groups_file,
        base_url: emu.base_url(),
        token: emu.access_token(),
        reconcile_every: &args.reconcile_every,
        dir: dir.path(),
    };

    ctl.set_rate_limit(Some(RateLimit::per_phone(args.rate)))?;
    let rss = Arc::new(RssWatch::default());
    let mut replicas = Vec::with_capacity(args.replicas);
    for i in 0..args.replicas {
        let r = launch.start(free_addr()?, &format!("replica-{i}")).await?;
        rss.watch(r.pid);
        replicas.push(r);
    }
    let webhook_addr = if args.replicas == 1 {
        replicas[0].listen
    } else {
        balancer(replicas.iter().map(|r| r.listen).collect()).await?
    };
    ctl.set_webhook(&format!("http://{webhook_addr}/webhook"), SECRET)?;
    ctl.inject_fault(
        Fault::Webhook(WebhookFaults {
            drop: 0.1,
            duplicate: 0.1,
            seed: Some(11),
            ..WebhookFaults::default()
        }),
        FaultMatch::any(),
    )?;
    // The first reconcile pass lists the (still empty) groups. Then the
    // harness spends the limiter's bucket, so that the job starts with no
    // burst to draw on: no call is admitted faster than the rate, and the
    // floor is the fewest calls over the rate, nothing taken off.
    while ctl.stats().endpoints.list < (args.groups * args.replicas) as u64 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drain_bucket(&emu, &groups[0]).await?;
    ctl.reset_stats();
    {
        let rss = Arc::clone(&rss);
        tokio::spawn(async move {
            loop {
                rss.sample();
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
    }

    // The job: requests arrive over about a second (the emulator's webhook
    // sender posts one delivery at a time unless --webhook-lanes says more), and the moderators decide and
    // apply them; one is killed with SIGKILL once half of them are applied.
    let started = Instant::now();
    let creator = {
        let ctl = ctl.clone();
        let groups = groups.clone();
        let requesters = requesters.clone();
        tokio::spawn(async move {
            let per_tick = 20;
            let mut ids = Vec::with_capacity(groups.len());
            for (i, (g, rs)) in groups.iter().zip(requesters).enumerate() {
                ids.push(
                    ctl.add_join_requests_from(g, rs)
                        .expect("join requests created"),
                );
                if i % per_tick == per_tick - 1 {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            ids
        })
    };
    let mut killed_at = None;
    let mut restarted_in = Duration::ZERO;
    let finished = loop {
        let s = ctl.stats();
        let done = s.join_requests_approved + s.join_requests_rejected;
        if std::env::var_os("SWEEP_TRACE").is_some() && started.elapsed().as_millis() % 100 < 6 {
            eprintln!(
                "{:.2} done {done} calls {} list {} approve {} reject {} 429 {} delivered {} failed {}",
                started.elapsed().as_secs_f64(),
                s.requests,
                s.endpoints.list,
                s.endpoints.approve,
                s.endpoints.reject,
                s.rate_limited,
                s.webhooks_delivered,
                s.webhooks_failed
            );
        }
        if done >= total {
            break Some(started.elapsed());
        }
        if killed_at.is_none() && done * 2 >= total {
            let victim = &mut replicas[0];
            rss.sample();
            victim.child.start_kill()?; // SIGKILL
            victim.child.wait().await?;
            killed_at = Some(started.elapsed());
            let t = Instant::now();
            let r = launch.start(victim.listen, "replica-0-restarted").await?;
            restarted_in = t.elapsed();
            rss.watch(r.pid);
            replicas[0] = r;
        }
        if started.elapsed() > GIVE_UP {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let created: Vec<Vec<String>> = creator.await?;
    let stats = ctl.stats();
    let peak_rss = rss.max();

    // What the store says, once its outcomes are recorded.
    let store = Store::open(&store_url).await?;
    let settle = Instant::now();
    let status = loop {
        let s = store.status().await?;
        let final_states = s.total.get(State::Approved) + s.total.get(State::Rejected);
        if final_states >= total || settle.elapsed() > Duration::from_secs(30) {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let audit = store.audit(None).await?;
    for r in &mut replicas {
        rss.sample();
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(r.pid.to_string())
            .status();
        let _ = tokio::time::timeout(Duration::from_secs(15), r.child.wait()).await;
    }

    // Every request in its policy's state, applied once.
    let mut problems: Vec<String> = Vec::new();
    let mut expected: HashMap<(&str, &str), bool> = HashMap::new();
    for ((g, ids), rs) in groups.iter().zip(&created).zip(&requesters) {
        for (id, r) in ids.iter().zip(rs) {
            expected.insert((g.as_str(), id.as_str()), approves(r));
        }
    }
    for r in &status.requests {
        match expected.get(&(r.group_id.as_str(), r.join_request_id.as_str())) {
            Some(&a) => {
                let want = if a { State::Approved } else { State::Rejected };
                if r.state != want {
                    problems.push(format!(
                        "{} / {}: {} in the store, the policy says {}",
                        r.group_id,
                        r.join_request_id,
                        r.state.as_str(),
                        want.as_str()
                    ));
                }
            }
            None => problems.push(format!(
                "{} / {}: in the store, never created",
                r.group_id, r.join_request_id
            )),
        }
    }
    if status.requests.len() as u64 != total {
        problems.push(format!(
            "{} records in the store, {total} requests created",
            status.requests.len()
        ));
    }
    let mut finals: HashMap<(&str, &str), usize> = HashMap::new();
    for a in audit
        .iter()
        .filter(|a| a.to == "approved" || a.to == "rejected")
    {
        *finals
            .entry((a.group_id.as_str(), a.join_request_id.as_str()))
            .or_default() += 1;
    }
    let twice = finals.values().filter(|&&n| n > 1).count();
    if twice > 0 {
        problems.push(format!(
            "{twice} IDs reached approved/rejected more than once in the audit trail"
        ));
    }
    if stats.join_requests_approved != approvals || stats.join_requests_rejected != rejections {
        problems.push(format!(
            "the emulator approved {} and rejected {}; the policy approves {approvals} and rejects {rejections}",
            stats.join_requests_approved, stats.join_requests_rejected
        ));
    }
    let mut still_pending = 0;
    for (g, rs) in groups.iter().zip(&requesters) {
        still_pending += ctl.pending_join_requests(g)?.len();
        let got: HashSet<String> = ctl.participants(g)?.into_iter().collect();
        let want: HashSet<String> = rs
            .iter()
            .filter(|r| approves(r))
            .map(participant_id)
            .collect();
        if got != want {
            problems.push(format!(
                "{g}: participants {got:?}, the policy approves {want:?}"
            ));
        }
    }
    if still_pending > 0 {
        problems.push(format!(
            "{still_pending} requests still pending at the emulator"
        ));
    }
    let correct = finished.is_some() && problems.is_empty();

    let wall = finished.unwrap_or(GIVE_UP);
    let ratio = floor.as_secs_f64() / wall.as_secs_f64();
    let replicas_label = replicas_label(args.replicas);
    println!(
        "moderation sweep: {} groups × {}, {total} requests ({approvals} to approve, {rejections} to reject), limit {}/s for the phone number, {replicas_label} on {store_label}",
        args.groups, args.per_group, args.rate
    );
    println!(
        "  wall {:.2} s; floor {:.2} s = ({} lists + {decide_calls} decide calls) / {}/s; wall/floor {:.2} (target ≤ {WALL_TARGET})",
        wall.as_secs_f64(),
        floor.as_secs_f64(),
        args.groups,
        args.rate,
        1.0 / ratio
    );
    println!(
        "  SIGKILL at {:.2} s, serving again {:.0} ms later; peak RSS {peak_rss:.1} MB over the moderator processes (target ≤ {RSS_TARGET_MB})",
        killed_at.unwrap_or_default().as_secs_f64(),
        restarted_in.as_secs_f64() * 1000.0
    );
    println!(
        "  API: {} requests ({} list, {} approve, {} reject), {} rate-limited; {} failed items (131213 confirms after the kill)",
        stats.requests,
        stats.endpoints.list,
        stats.endpoints.approve,
        stats.endpoints.reject,
        stats.rate_limited,
        stats.failed_items
    );
    println!(
        "  webhooks: {} delivered, {} dropped by the fault, {} duplicated, {} failed (retried {}), {} dropped by a full queue",
        stats.webhooks_delivered,
        stats.webhooks_fault_dropped,
        stats.webhooks_duplicated,
        stats.webhooks_failed,
        stats.webhooks_retried,
        stats.webhooks_dropped
    );
    println!(
        "  {}",
        if correct {
            "every request in its policy's state, each applied exactly once".to_owned()
        } else {
            format!(
                "NOT CORRECT: {}",
                problems
                    .iter()
                    .take(10)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        }
    );
    emu.shutdown().await;
    drop(store);
    if let Some((server, schema)) = &scratch {
        scratch::drop(server, schema).await?;
    }
    if !correct {
        for r in &replicas {
            eprintln!(
                "--- {}:\n{}",
                r.log.display(),
                std::fs::read_to_string(&r.log).unwrap_or_default()
            );
        }
    }
    Ok(Outcome {
        wall,
        floor,
        decide_calls,
        calls: stats.requests,
        rate_limited: stats.rate_limited,
        correct,
        peak_rss,
        store_label,
    })
}

/// "1 replica", "3 replicas".
fn replicas_label(n: usize) -> String {
    if n == 1 {
        "1 replica".to_owned()
    } else {
        format!("{n} replicas")
    }
}

/// Writes the rows for `cargo xtask bench`: the median run's wall time
/// (every run's beside it), "exactly once" only if every run was, and the
/// biggest peak RSS of any run.
fn write_rows(args: &Args, runs: &[Outcome]) -> Result<(), Error> {
    let mut by_wall: Vec<&Outcome> = runs.iter().collect();
    by_wall.sort_by_key(|r| r.wall);
    // The upper middle when the count is even: never the kinder one.
    let median = by_wall[by_wall.len() / 2];
    let correct = runs.iter().all(|r| r.correct);
    let peak_rss = runs.iter().map(|r| r.peak_rss).fold(0.0, f64::max);
    let (wall, floor) = (median.wall.as_secs_f64(), median.floor.as_secs_f64());
    let met = |ok: bool| if ok { "yes" } else { "no" };
    let replicas_label = replicas_label(args.replicas);
    let lanes = if args.webhook_lanes > 1 {
        format!(", webhooks {} at a time", args.webhook_lanes)
    } else {
        String::new()
    };
    let case = format!(
        "sweep: {} groups × {}, limit {:.0}/s, 10% dropped, 10% duplicated{lanes}, SIGKILL once, {replicas_label} on {}",
        args.groups, args.per_group, args.rate, median.store_label
    );
    let every_run = if runs.len() > 1 {
        let walls: Vec<String> = runs
            .iter()
            .map(|r| format!("{:.2}", r.wall.as_secs_f64()))
            .collect();
        let limited: Vec<String> = runs.iter().map(|r| r.rate_limited.to_string()).collect();
        format!(
            " (median of {} runs: walls {} s, rate-limited {})",
            runs.len(),
            walls.join(", "),
            limited.join(", ")
        )
    } else {
        String::new()
    };
    let rows = [
        format!(
            "moderation\t{case}\twall {wall:.2} s, {} calls, {} rate-limited{every_run}; exactly once: {}\tfloor {floor:.2} s = ({} lists + {} decide calls) / {:.0}/s\t{:.3}\t≥ 0.77× (wall ≤ 1.3× floor), exactly once\t{}\n",
            median.calls,
            median.rate_limited,
            met(correct),
            args.groups,
            median.decide_calls,
            args.rate,
            floor / wall,
            met(correct && wall <= WALL_TARGET * floor)
        ),
        format!(
            "moderation\t{case}: peak RSS\t{peak_rss:.1} MB (VmHWM, max over the moderator processes{})\ttarget {RSS_TARGET_MB} MB\t{:.3}\t≥ 1× (≤ {RSS_TARGET_MB} MB)\t{}\n",
            if runs.len() > 1 { " of every run" } else { "" },
            RSS_TARGET_MB / peak_rss,
            met(peak_rss <= RSS_TARGET_MB)
        ),
    ];
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-results");
    std::fs::create_dir_all(&out)?;
    let store_kind = if median.store_label == "SQLite" {
        "sqlite"
    } else {
        "postgres"
    };
    std::fs::write(
        out.join(format!(
            "moderation-sweep-{store_kind}-{}{}.tsv",
            args.replicas,
            if args.webhook_lanes > 1 {
                format!("-lanes{}", args.webhook_lanes)
            } else {
                String::new()
            }
        )),
        rows.concat(),
    )?;
    Ok(())
}
