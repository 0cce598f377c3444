//! Relay load test: throughput against the disk's fsync rate and the CPU's
//! signature-verify rate, three-hop latency, and fan-out storage — measured
//! in one run so that the ratios hold on a shared machine.
//!
//! ```text
//! cargo run --release -p congvan --example relay_load -- \
//!     [--dispatches N] [--concurrency C] [--latency-count M] [--fanout R] \
//!     [--attachment-mb S] [--dir DIR] [--keep] [--parts abc] [--postfix]
//! ```
//!
//! What it does, all in this process on 127.0.0.1:
//!
//! 1. Limits, measured just before and just after (a) (the disk and the
//!    cores are shared with other jobs, so both are printed): the raw fsync
//!    rate (append 200 bytes + `File::sync_data` in a loop for ~2 s, in the
//!    relay's data folder; the table uses the mean of the two probes) and
//!    the raw ECDSA P-256 verify rate (ring `UnparsedPublicKey::verify`,
//!    one thread, ~2 s; the table uses the better of the two).
//! 2. (a) Throughput: one province relay whose offices are served locally.
//!    N small dispatches (signer + seal) from office H99 to office H99.10 are
//!    created and signed *before* timing; then C concurrent clients upload
//!    them over mutual TLS (one connection per upload, as `congvan send`
//!    does). The relay verifies every signature, appends its custody
//!    receipt, group-commits and answers only after the commit. Timing ends
//!    when the last answer arrives; the inbox is then checked to hold all N.
//!    Also printed: store writes per commit (the group-commit batch), the
//!    process's CPU time and how long its threads waited for a CPU.
//! 3. (b) Latency over three hops: commune relay -> district relay ->
//!    province relay (each child pushes upward to its parent, and
//!    long-polls it for what comes down, such as custody receipts). M
//!    dispatches are sent one at a time to the commune relay; each is timed
//!    from just before the upload until the province store shows it in the
//!    inbox of H99 (read every 0.1 ms from its SQLite file, on a thread of
//!    its own: tokio's timer would round each wait up to a millisecond).
//! 4. (c) Fan-out storage: a province relay whose registry lists R communes,
//!    all served by it (R inbox rows); only the sender has certificates.
//!    One dispatch with an S MB pseudo-random attachment goes to all R; the
//!    growth of the relay's data folder (sum of file sizes) is compared
//!    with the `.cvd` size. The same upload is also timed against `cp` +
//!    `sync` of the `.cvd`, with this process's /proc/self/io counters and
//!    peak RSS over it (`--fanout 1 --attachment-mb 1024 --parts c` is
//!    the 1 GiB ingest).
//!
//! With `--postfix`, right after (a): Postfix accept+relay on the same
//! machine (`scripts/bench-postfix.sh`: smtp-source -> Postfix on loopback
//! -> smtp-sink, as many messages as (a) had dispatches, of (a)'s mean
//! `.cvd` size, over as many kept-alive sessions as (a) had clients),
//! printed as a ratio to (a). The script installs and configures Postfix
//! loopback-only itself.
//!
//! Exit status 1 when (c) exceeds 1.5x the `.cvd` size or when (a) commits
//! no more than one dispatch per transaction (no batching); 2 on a setup
//! error. `--parts a` (or `b`, `c`,
//! any combination) runs only some of the measurements.
#![allow(clippy::disallowed_macros)] // a measurement or test program prints its own output
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

/// The allocator the `congvan` binary (and so `congvan relay run`) uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "support/probes.rs"]
mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use congvan_envelope::metadata::{Draft, Organization, SignerBlock};
use congvan_envelope::{issue_dispatch, AttachmentSource};
use congvan_org::OrgId;
use congvan_relay::config::{DeliveryConfig, PeerMode};
use congvan_relay::{client_config, RelayClient, RelayConfig, RunningRelay, TlsTrust};
use congvan_sign::{Algorithm, Certificate, Credential};
use time::OffsetDateTime;

/// Largest accepted growth of the data folder per byte of `.cvd` in (c).
const MAX_FANOUT_RATIO: f64 = 1.5;
/// How long each raw-limit loop runs.
const PROBE: Duration = Duration::from_secs(2);

struct Options {
    dispatches: usize,
    concurrency: usize,
    latency_count: usize,
    fanout: usize,
    attachment_mb: u64,
    dir: PathBuf,
    keep: bool,
    parts: String,
    postfix: bool,
}

fn parse_args() -> Result<Options> {
    let mut o = Options {
        dispatches: 2000,
        concurrency: 32,
        latency_count: 200,
        fanout: 500,
        attachment_mb: 10,
        dir: std::env::temp_dir().join(format!("congvan-relay-load-{}", std::process::id())),
        keep: false,
        parts: "abc".into(),
        postfix: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<u64> {
            let v = args
                .next()
                .with_context(|| format!("{name} needs a number"))?;
            v.parse()
                .with_context(|| format!("{name} {v:?} is not a number"))
        };
        match arg.as_str() {
            "--dispatches" => o.dispatches = number("--dispatches")? as usize,
            "--concurrency" => o.concurrency = number("--concurrency")?.max(1) as usize,
            "--latency-count" => o.latency_count = number("--latency-count")?.max(1) as usize,
            "--fanout" => o.fanout = number("--fanout")?.max(1) as usize,
            "--attachment-mb" => o.attachment_mb = number("--attachment-mb")?,
            "--dir" => o.dir = PathBuf::from(args.next().context("--dir needs a path")?),
            "--keep" => o.keep = true,
            "--postfix" => o.postfix = true,
            "--parts" => o.parts = args.next().context("--parts needs letters, e.g. ac")?,
            "-h" | "--help" => {
                println!(
                    "relay_load [--dispatches N] [--concurrency C] [--latency-count M] \
                     [--fanout R] [--attachment-mb S] [--dir DIR] [--keep] [--parts abc] [--postfix]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}; see --help"),
        }
    }
    if o.dispatches == 0 {
        bail!("--dispatches must be at least 1");
    }
    Ok(o)
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("relay_load: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<bool> {
    // RUST_LOG=congvan_relay=info shows the relays' own log lines.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let o = parse_args()?;
    // As `congvan relay run` does: the relays of this run live in this process.
    congvan_relay::small_pages::use_small_pages().context("prctl(PR_SET_THP_DISABLE)")?;
    if o.dir.join("pki").exists() {
        bail!(
            "{} already holds a run; choose another --dir",
            o.dir.display()
        );
    }
    std::fs::create_dir_all(&o.dir).with_context(|| format!("{}", o.dir.display()))?;
    let runtime = tokio::runtime::Runtime::new().context("tokio runtime")?;
    let ok = runtime.block_on(run_all(&o))?;
    if !o.keep {
        std::fs::remove_dir_all(&o.dir).ok();
    } else {
        println!("files kept in {}", o.dir.display());
    }
    Ok(ok)
}

async fn run_all(o: &Options) -> Result<bool> {
    let cpu = cpu_model();
    println!("CPU: {cpu} ({} logical cores)", num_cores());
    println!("run folder: {}", o.dir.display());
    let pki = o.dir.join("pki");
    congvan_sign::build_demo(&pki, Algorithm::EcdsaP256).context("demo PKI")?;

    let a = if o.parts.contains('a') {
        Some(throughput(o, &pki).await?)
    } else {
        None
    };
    let b = if o.parts.contains('b') {
        Some(latency(o, &pki).await?)
    } else {
        None
    };
    let c = if o.parts.contains('c') {
        Some(fanout(o, &pki).await?)
    } else {
        None
    };

    println!();
    println!("| measure | value | ratio |");
    println!("|---|---:|---:|");
    let mut ok = true;
    if let Some(a) = &a {
        let verify_limit = a.verifies / 2.0 * 2.0;
        println!(
            "| raw fsync (200 B append + sync_data, 1 thread; mean of probes before ({:.0}) and after ({:.0}) (a)) | {:.0} /s | |",
            a.fsync_before, a.fsync_after, a.fsyncs
        );
        println!(
            "| raw ECDSA P-256 verify (ring, 1 thread; best of before/after (a)) | {:.0} /s | |",
            a.verifies
        );
        println!(
            "| (a) accepted-and-durable dispatches, 1 relay, {} clients, N = {} | {:.0} /s | {:.2}x fsync rate; {:.3} of verify limit ({:.0} /s = verify/s ÷ 2 signatures × 2 cores) |",
            o.concurrency,
            a.count,
            a.rate,
            a.rate / a.fsyncs,
            a.rate / verify_limit,
            verify_limit
        );
        if let Some(postfix) = a.postfix {
            println!(
                "| Postfix accept+relay, same machine: smtp-source -> postfix (loopback) -> smtp-sink, {} messages of {} bytes, {} kept-alive sessions | {postfix:.0} /s | (a) is {:.2}x Postfix |",
                a.count,
                a.avg_size,
                o.concurrency,
                a.rate / postfix
            );
        }
        println!(
            "| (a) group commit | {:.1} dispatches per commit | {:.0} commits/s |",
            a.per_commit, a.commit_rate
        );
        println!(
            "| (a) CPU of this process (relay + clients) | {:.2} ms per dispatch | {:.0}% of {} cores; waited {:.1} s for a CPU per CPU-second used |",
            a.cpu_ms_per_dispatch,
            a.cpu_share * 100.0,
            num_cores(),
            a.run_queue_wait / a.cpu_secs.max(1e-9)
        );
        // The requirement is that commits are batched, so throughput is not
        // capped at one fsync per dispatch: more than one dispatch per commit.
        if a.per_commit <= 1.0 {
            eprintln!(
                "FAIL: {:.2} dispatches per commit: group commit is not batching \
                 (throughput {:.0}/s against a raw fsync rate of {:.0}/s)",
                a.per_commit, a.rate, a.fsyncs
            );
            ok = false;
        }
    }
    if let Some(b) = &b {
        println!(
            "| (b) 3-hop latency, commune -> district -> province, {} sequential | p50 {:.1} ms, p99 {:.1} ms | delivered_at - send: p50 {:.0} ms, p99 {:.0} ms; first hop (upload until the commune answers): p50 {:.1} ms, p99 {:.1} ms |",
            b.count, b.p50, b.p99, b.stamped_p50, b.stamped_p99, b.upload_p50, b.upload_p99
        );
    }
    if let Some(c) = &c {
        println!(
            "| (c) disk for 1 dispatch ({:.1} MB .cvd) to {} local offices | +{:.2} MB | {:.3}x the .cvd |",
            c.cvd_size as f64 / 1e6,
            c.recipients,
            c.growth as f64 / 1e6,
            c.ratio
        );
        let i = &c.ingest;
        let per_cvd = |bytes: u64| bytes as f64 / c.cvd_size as f64;
        println!(
            "| (c) ingest: upload until the durable answer, against `cp` + `sync` of the same .cvd | {:.2} s | {:.2}x ({:.2} s) |",
            i.secs,
            i.secs / i.cp_sync_secs,
            i.cp_sync_secs
        );
        println!(
            "| (c) ingest I/O, client and relay together, per byte of .cvd | rchar {:.2}x, wchar {:.2}x; write_bytes {:.2}x | rchar/wchar: bytes through read()/write(), the client's read of the file included; write_bytes: what reached storage |",
            per_cvd(i.rchar),
            per_cvd(i.wchar),
            per_cvd(i.write_bytes)
        );
        println!(
            "| (c) ingest peak RSS of this process (relay + client) | {} | |",
            i.peak_rss.map_or("not measured".to_string(), |b| format!(
                "{:.1} MB",
                b as f64 / 1e6
            ))
        );
        if c.ratio > MAX_FANOUT_RATIO {
            eprintln!(
                "FAIL: fan-out stored {:.2}x the dispatch (limit {MAX_FANOUT_RATIO}x)",
                c.ratio
            );
            ok = false;
        }
    }
    Ok(ok)
}

struct Throughput {
    avg_size: usize,
    /// Postfix accept+relay, messages/s, when `--postfix` asked for it.
    postfix: Option<f64>,
    fsync_before: f64,
    fsync_after: f64,
    fsyncs: f64,
    per_commit: f64,
    commit_rate: f64,
    cpu_secs: f64,
    run_queue_wait: f64,
    verifies: f64,
    count: usize,
    rate: f64,
    cpu_ms_per_dispatch: f64,
    cpu_share: f64,
}

/// (a): N pre-signed dispatches from C concurrent clients to one relay.
async fn throughput(o: &Options, pki: &Path) -> Result<Throughput> {
    let a_dir = o.dir.join("a");
    let data = a_dir.join("relay-h99");
    std::fs::create_dir_all(&data)?;
    println!(
        "(a) creating and signing {} small dispatches H99 -> H99.10 (not timed)…",
        o.dispatches
    );
    let t = Instant::now();
    let files = compose_many(
        &a_dir.join("cvd"),
        pki,
        "H99",
        &[("H99.10", "Sở Thông tin và Truyền thông tỉnh Hà Tĩnh")],
        o.dispatches,
    )?;
    let bodies: Vec<Vec<u8>> = files
        .iter()
        .map(|p| std::fs::read(p).with_context(|| format!("{}", p.display())))
        .collect::<Result<_>>()?;
    let avg_size = bodies.iter().map(Vec::len).sum::<usize>() / bodies.len();
    println!(
        "    done in {:.1} s; average .cvd {} bytes",
        t.elapsed().as_secs_f64(),
        avg_size
    );

    let (fsync_before, verify_before) = limits(&data)?;

    let province = start_relay(&data, pki, "H99", &pki.join("registry.toml"), None, &[]).await?;
    let office = Credential::load(&pki.join("H99/office"), None)?;
    let client = client_for(&province, pki, &office)?;
    // One untimed upload so that the first TLS session and the SQLite pages
    // are warm; it is counted in the inbox check, not in the rate.
    client
        .send_bytes(bodies[0].clone().into())
        .await
        .context("warm-up upload")?;
    println!(
        "(a) uploading {} dispatches from {} concurrent clients…",
        bodies.len() - 1,
        o.concurrency
    );
    let bodies = Arc::new(bodies);
    let next = Arc::new(AtomicUsize::new(1));
    let cpu_before = process_cpu_secs();
    let (_, wait_before) = sched_totals();
    let (writes_before, commits_before) = province.state.writer.committed();
    let opened_before = client.connections_opened();
    let writer_before = writer_run_secs();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..o.concurrency {
        let client = client.clone();
        let bodies = bodies.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= bodies.len() {
                    return Ok::<(), anyhow::Error>(());
                }
                let accepted = client.send_bytes(bodies[i].clone().into()).await?;
                if accepted.status != "accepted" {
                    bail!("dispatch {i}: {}", accepted.status);
                }
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_used = process_cpu_secs() - cpu_before;
    let connections = client.connections_opened() - opened_before;
    let writer_ran = writer_run_secs().zip(writer_before).map(|(a, b)| a - b);
    let (_, wait_after) = sched_totals();
    let run_queue_wait = (wait_after - wait_before).max(0.0);
    let (writes_after, commits_after) = province.state.writer.committed();
    let writes = writes_after - writes_before;
    let commits = commits_after - commits_before;
    let count = bodies.len() - 1;
    let rate = count as f64 / elapsed;
    let held = province.state.store.inbox("H99.10")?.len();
    if held != bodies.len() {
        bail!(
            "the inbox of H99.10 holds {held} dispatches, expected {}",
            bodies.len()
        );
    }
    let cpu_share = cpu_used / elapsed / num_cores() as f64;
    println!(
        "    {count} accepted in {elapsed:.2} s: {rate:.0} dispatch/s (inbox holds all {held}); \
         this process used {cpu_used:.2} CPU s ({:.0}% of {} cores, {:.2} ms per dispatch, clients included)",
        100.0 * cpu_share,
        num_cores(),
        1000.0 * cpu_used / count as f64
    );
    println!("    TLS connections opened by the clients: {connections} for {count} uploads");
    match writer_ran {
        Some(secs) => println!(
            "    the store's writer thread ran {secs:.2} s of the {elapsed:.2} s ({:.0}%, {:.3} ms per dispatch)",
            100.0 * secs / elapsed,
            1000.0 * secs / count as f64
        ),
        None => println!("    the store's writer thread was not found in /proc/self/task"),
    }
    println!(
        "    run-queue wait: threads of this process waited {run_queue_wait:.2} s for a CPU \
         (from /proc/self/task/*/schedstat; other jobs share the cores)"
    );
    println!(
        "    group commit: {writes} store writes in {commits} transactions ({:.1} per commit, {:.0} commits/s)",
        writes as f64 / commits.max(1) as f64,
        commits as f64 / elapsed
    );
    province.stop().await;
    let (fsync_after, verify_after) = limits(&data)?;
    let postfix = if o.postfix {
        Some(postfix_rate(count, o.concurrency, avg_size)?)
    } else {
        None
    };
    Ok(Throughput {
        avg_size,
        postfix,
        fsync_before,
        fsync_after,
        fsyncs: (fsync_before + fsync_after) / 2.0,
        verifies: verify_before.max(verify_after),
        per_commit: writes as f64 / commits.max(1) as f64,
        cpu_secs: cpu_used,
        run_queue_wait,
        commit_rate: commits as f64 / elapsed,
        count,
        rate,
        cpu_ms_per_dispatch: 1000.0 * cpu_used / count as f64,
        cpu_share,
    })
}

/// The raw fsync and verify rates, printed.
fn limits(data: &Path) -> Result<(f64, f64)> {
    let fsyncs = fsync_rate(data)?;
    let verifies = support::verify_rate(PROBE)?;
    println!(
        "limits: raw fsync {fsyncs:.0}/s (200 B append + sync_data in {}), \
         raw ECDSA P-256 verify {verifies:.0}/s (one thread)",
        data.display()
    );
    Ok((fsyncs, verifies))
}

struct Latency {
    count: usize,
    upload_p50: f64,
    upload_p99: f64,
    p50: f64,
    p99: f64,
    stamped_p50: f64,
    stamped_p99: f64,
}

/// (b): commune -> district -> province, one dispatch at a time.
async fn latency(o: &Options, pki: &Path) -> Result<Latency> {
    println!(
        "(b) three hops commune -> district -> province, {} dispatches one at a time…",
        o.latency_count
    );
    let b_dir = o.dir.join("b");
    let registry = pki.join("registry.toml");
    let files = compose_many(
        &b_dir.join("cvd"),
        pki,
        "H99.01.01",
        &[("H99", "Ủy ban nhân dân tỉnh Hà Tĩnh")],
        o.latency_count + 1,
    )?;
    let province = start_relay(
        &b_dir.join("relay-h99"),
        pki,
        "H99",
        &registry,
        None,
        &["H99.01"],
    )
    .await?;
    let district = start_relay(
        &b_dir.join("relay-h99-01"),
        pki,
        "H99.01",
        &registry,
        Some((&format!("https://{}", province.addr), "H99")),
        &["H99.01.01"],
    )
    .await?;
    let commune = start_relay(
        &b_dir.join("relay-h99-01-01"),
        pki,
        "H99.01.01",
        &registry,
        Some((&format!("https://{}", district.addr), "H99.01")),
        &[],
    )
    .await?;
    let commune_office = Credential::load(&pki.join("H99.01.01/office"), None)?;
    let client = client_for(&commune, pki, &commune_office)?;
    let mut polled = Vec::new();
    let mut stamped = Vec::new();
    let mut uploads = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let body = std::fs::read(file)?;
        let sent_ms = unix_ms();
        let start = Instant::now();
        let accepted = client.send_bytes(body.into()).await?;
        let first_hop = start.elapsed().as_secs_f64() * 1000.0;
        let took = arrival(&province, &accepted.id, start).await?;
        if i == 0 {
            continue; // warm-up: first TLS sessions on every hop
        }
        polled.push(took);
        uploads.push(first_hop);
        let item = province
            .state
            .store
            .inbox("H99")?
            .into_iter()
            .find(|it| it.id == accepted.id)
            .context("inbox row")?;
        stamped.push((item.delivered_at - sent_ms) as f64);
    }
    let (p50, p99) = percentiles(&mut polled);
    let (s50, s99) = percentiles(&mut stamped);
    let (u50, u99) = percentiles(&mut uploads);
    println!(
        "    polled: p50 {p50:.1} ms, p99 {p99:.1} ms; \
         delivered_at - send: p50 {s50:.0} ms, p99 {s99:.0} ms; \
         of which the upload to the commune relay (until its answer): p50 {u50:.1} ms, p99 {u99:.1} ms"
    );
    for relay in [commune, district, province] {
        relay.stop().await;
    }
    Ok(Latency {
        count: polled.len(),
        p50,
        p99,
        upload_p50: u50,
        upload_p99: u99,
        stamped_p50: s50,
        stamped_p99: s99,
    })
}

/// Milliseconds from `start` until the province's store shows dispatch
/// `id` in the inbox of H99. The store is read every 100 µs from a thread
/// of its own: tokio's timer rounds a sleep up to whole milliseconds, which
/// would add up to 1 ms to every figure.
async fn arrival(province: &RunningRelay, id: &str, start: Instant) -> Result<f64> {
    let state = province.state.clone();
    let id = id.to_string();
    tokio::task::spawn_blocking(move || {
        let deadline = start + Duration::from_secs(30);
        loop {
            if state.store.in_inbox("H99", &id)? {
                return Ok(start.elapsed().as_secs_f64() * 1000.0);
            }
            if Instant::now() > deadline {
                bail!("dispatch {id} did not reach the province within 30 s");
            }
            std::thread::sleep(Duration::from_micros(100));
        }
    })
    .await?
}

struct Fanout {
    cvd_size: u64,
    recipients: usize,
    growth: u64,
    ratio: f64,
    ingest: Ingest,
}

/// What the upload of (c) cost, next to copying the same file.
struct Ingest {
    /// From the start of the upload to the relay's answer (durable).
    secs: f64,
    /// `cp` of the `.cvd` into the relay's data folder, then `sync`.
    cp_sync_secs: f64,
    /// Bytes this process passed to `read()` / `write()` during the upload
    /// (`rchar` / `wchar` of /proc/self/io), client and relay together.
    rchar: u64,
    wchar: u64,
    /// Bytes the upload made the kernel write to storage (`write_bytes`).
    write_bytes: u64,
    /// Peak resident memory of the process during the upload, in bytes
    /// (`VmHWM` after `clear_refs` reset it), when the kernel allowed it.
    peak_rss: Option<u64>,
}

/// (c): one dispatch with a large attachment to many local offices.
async fn fanout(o: &Options, pki: &Path) -> Result<Fanout> {
    println!(
        "(c) one dispatch with a {} MB attachment to {} communes served by one relay…",
        o.attachment_mb, o.fanout
    );
    let c_dir = o.dir.join("c");
    std::fs::create_dir_all(&c_dir)?;
    let registry = c_dir.join("registry.toml");
    let communes = write_fanout_registry(&registry, o.fanout)?;
    let attachment = c_dir.join("du-lieu-dinh-kem.bin");
    write_random(&attachment, o.attachment_mb * 1_000_000)?;
    let to: Vec<(&str, &str)> = communes
        .iter()
        .map(|(c, n)| (c.as_str(), n.as_str()))
        .collect();
    let cvd = c_dir.join("fanout.cvd");
    compose(
        &cvd,
        pki,
        "H99",
        &to,
        "99/CV-UBND",
        Some(&attachment),
        &registry,
    )?;
    let cvd_size = std::fs::metadata(&cvd)?.len();
    let c_data = c_dir.join("relay-h99");
    let relay = start_relay(&c_data, pki, "H99", &registry, None, &[]).await?;
    let before = dir_size(&c_data)?;
    let office = Credential::load(&pki.join("H99/office"), None)?;
    let client = client_for(&relay, pki, &office)?;
    // The .cvd's own writeback must not be counted against the upload.
    sync_all()?;
    let peak_reset = std::fs::write("/proc/self/clear_refs", "5");
    if let Err(e) = &peak_reset {
        println!("    (peak RSS not measured: /proc/self/clear_refs: {e})");
    }
    let io_before = proc_io()?;
    let started = Instant::now();
    let accepted = client.send_file(&cvd).await?;
    let ingest_secs = started.elapsed().as_secs_f64();
    let io_after = proc_io()?;
    let peak_rss = match peak_reset {
        Ok(()) => Some(peak_rss()?),
        Err(_) => None,
    };
    let record = relay
        .state
        .store
        .dispatch(&accepted.id)?
        .context("dispatch row")?;
    let mut inboxes = 0;
    for (code, _) in &communes {
        if relay.state.store.in_inbox(code, &accepted.id)? {
            inboxes += 1;
        }
    }
    let after = dir_size(&c_data)?;
    relay.stop().await;
    let du_after = du_sb(&c_data);
    let cp_sync_secs = cp_and_sync(&cvd, &c_data.join("cp-copy.cvd"))?;
    let delta = |key: &str| {
        io_after
            .get(key)
            .copied()
            .unwrap_or(0)
            .saturating_sub(io_before.get(key).copied().unwrap_or(0))
    };
    let ingest = Ingest {
        secs: ingest_secs,
        cp_sync_secs,
        rchar: delta("rchar"),
        wchar: delta("wchar"),
        write_bytes: delta("write_bytes"),
        peak_rss,
    };
    let growth = after.saturating_sub(before);
    let ratio = growth as f64 / cvd_size as f64;
    println!(
        "    .cvd {cvd_size} bytes; data folder {before} -> {after} bytes (+{growth}); \
         {inboxes} inbox rows; one blob {}…; du -sb after stop: {}",
        &record.blob[..12],
        du_after.map_or("n/a".into(), |v| v.to_string()),
    );
    if inboxes != communes.len() {
        bail!("{inboxes} of {} inboxes hold the dispatch", communes.len());
    }
    Ok(Fanout {
        cvd_size,
        recipients: communes.len(),
        growth,
        ratio,
        ingest,
    })
}

/// Postfix accept+relay of `messages` messages of `size` bytes over
/// `sessions` sessions, by `scripts/bench-postfix.sh`: messages/s.
fn postfix_rate(messages: usize, sessions: usize, size: usize) -> Result<f64> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/bench-postfix.sh");
    println!("(a) Postfix on the same machine ({})…", script.display());
    let out = std::process::Command::new("bash")
        .arg(&script)
        .args(["--messages", &messages.to_string()])
        .args(["--sessions", &sessions.to_string()])
        .args(["--size", &size.to_string()])
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "{} failed ({}): {}{}",
            script.display(),
            out.status,
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("postfix: "))
        .with_context(|| format!("no result line from {}: {stdout}", script.display()))?;
    println!("    {line}");
    // "... accepted and relayed in R s (Y /s)"
    let rate = line
        .rsplit_once('(')
        .and_then(|(_, r)| r.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .with_context(|| format!("cannot read the rate in {line:?}"))?;
    Ok(rate)
}

/// `sync`: everything written so far reaches the disk.
fn sync_all() -> Result<()> {
    let status = std::process::Command::new("sync")
        .status()
        .context("sync")?;
    if !status.success() {
        bail!("sync failed: {status}");
    }
    Ok(())
}

/// Seconds for `cp FROM TO` and then `sync`, the floor an ingest is held to.
fn cp_and_sync(from: &Path, to: &Path) -> Result<f64> {
    sync_all()?;
    let started = Instant::now();
    let status = std::process::Command::new("cp")
        .arg(from)
        .arg(to)
        .status()
        .context("cp")?;
    if !status.success() {
        bail!("cp failed: {status}");
    }
    sync_all()?;
    let secs = started.elapsed().as_secs_f64();
    std::fs::remove_file(to).with_context(|| format!("{}", to.display()))?;
    Ok(secs)
}

/// The counters of /proc/self/io.
fn proc_io() -> Result<std::collections::HashMap<String, u64>> {
    let text = std::fs::read_to_string("/proc/self/io").context("/proc/self/io")?;
    let mut counters = std::collections::HashMap::new();
    for line in text.lines() {
        if let Some((key, value)) = line.split_once(':') {
            let value = value
                .trim()
                .parse()
                .with_context(|| format!("/proc/self/io: {line}"))?;
            counters.insert(key.to_string(), value);
        }
    }
    Ok(counters)
}

/// `VmHWM` of /proc/self/status, in bytes.
fn peak_rss() -> Result<u64> {
    let text = std::fs::read_to_string("/proc/self/status").context("/proc/self/status")?;
    let line = text
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .context("no VmHWM in /proc/self/status")?;
    let kb: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .with_context(|| format!("/proc/self/status: {line}"))?;
    Ok(kb * 1024)
}

// ---- limits ----------------------------------------------------------------

fn fsync_rate(dir: &Path) -> Result<f64> {
    let path = dir.join("fsync-probe.tmp");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?;
    let record = [0x5au8; 200];
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < PROBE {
        file.write_all(&record)?;
        file.sync_data()?;
        n += 1;
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    drop(file);
    std::fs::remove_file(&path)?;
    Ok(rate)
}

// ---- relays and clients ------------------------------------------------------

async fn start_relay(
    data: &Path,
    pki: &Path,
    org: &str,
    registry: &Path,
    parent: Option<(&str, &str)>,
    children: &[&str],
) -> Result<RunningRelay> {
    let mut config = RelayConfig::for_demo_pki(pki, &OrgId::parse(org)?, data.to_path_buf());
    // This run's own registry (e.g. 500 communes for the fan-out).
    config.registry = registry.to_path_buf();
    // Up: pushed to the parent. Down (custody receipts on their way back
    // to the sender): long-polled, so no fixed ports are needed.
    if let Some((url, parent_org)) = parent {
        config = config.with_demo_parent(&OrgId::parse(parent_org)?, url, PeerMode::Pull);
    }
    for child in children {
        config = config.with_demo_pulling_child(&OrgId::parse(child)?);
    }
    config.delivery = DeliveryConfig {
        retry_initial_ms: 100,
        retry_max_ms: 2_000,
        ..DeliveryConfig::default()
    };
    Ok(congvan_relay::start(config).await?)
}

fn client_for(relay: &RunningRelay, pki: &Path, office: &Credential) -> Result<RelayClient> {
    let root = Certificate::load(&pki.join("root/cert.pem"))?;
    let tls = client_config(office, &TlsTrust::new(&[root], Vec::new())?)?;
    Ok(RelayClient::new(
        &format!("https://{}", relay.addr),
        tls,
        relay.state.peer_trust(),
        congvan_relay::ExpectedRelay::Org(relay.state.config.org.clone()),
    )?
    .with_timeout(Duration::from_secs(120)))
}

// ---- dispatches ----------------------------------------------------------------

/// Creates and signs `count` small dispatches on two threads.
fn compose_many(
    dir: &Path,
    pki: &Path,
    from: &str,
    to: &[(&str, &str)],
    count: usize,
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let registry = pki.join("registry.toml");
    let workers = 2;
    let results: Vec<Result<Vec<PathBuf>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let registry = &registry;
                s.spawn(move || {
                    let mut out = Vec::new();
                    for i in (w..count).step_by(workers) {
                        let path = dir.join(format!("{i:05}.cvd"));
                        let number = format!("{}/CV-UBND", i + 1);
                        compose(&path, pki, from, to, &number, None, registry)?;
                        out.push(path);
                    }
                    Ok(out)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut files = Vec::new();
    for r in results {
        files.extend(r?);
    }
    files.sort();
    Ok(files)
}

fn compose(
    out: &Path,
    pki: &Path,
    from: &str,
    to: &[(&str, &str)],
    number: &str,
    attachment: Option<&Path>,
    registry: &Path,
) -> Result<()> {
    let official = Credential::load(&pki.join(from).join("official"), None)?;
    let office = Credential::load(&pki.join(from).join("office"), None)?;
    let registry = congvan_org::Registry::load(registry)?;
    let from_id = OrgId::parse(from)?;
    let from_name = registry
        .get(&from_id)
        .map_or_else(|| from.to_string(), |o| o.name.clone());
    let recipients = to
        .iter()
        .map(|(id, name)| Ok(Organization::new(OrgId::parse(id)?, *name)))
        .collect::<Result<_>>()?;
    let metadata = Draft {
        number: number.to_string(),
        place: registry
            .get(&from_id)
            .and_then(|o| o.place.clone())
            .unwrap_or_else(|| "Hà Tĩnh".into()),
        ..Draft::cong_van(
            Organization::new(from_id, from_name),
            recipients,
            SignerBlock::for_the_committee(official.cert()),
        )
    }
    .metadata();
    let attachments: Vec<AttachmentSource> =
        attachment.into_iter().map(AttachmentSource::file).collect();
    issue_dispatch(
        &metadata,
        &attachments,
        out,
        &official,
        Some(&office),
        OffsetDateTime::now_utc(),
    )?;
    Ok(())
}

/// A registry of the province H99 (served by relay-h99) and `count`
/// communes under five districts, none with a relay of its own, so all are
/// served by the province relay.
fn write_fanout_registry(path: &Path, count: usize) -> Result<Vec<(String, String)>> {
    let mut text = String::from(
        "# Generated by relay_load: one province relay serving many communes.\n\n\
         [[office]]\ncode = \"H99\"\nname = \"Ủy ban nhân dân tỉnh Hà Tĩnh\"\n\
         level = \"province\"\nplace = \"Hà Tĩnh\"\nrelay = \"relay-h99\"\n",
    );
    let districts = 5;
    for d in 0..districts {
        text.push_str(&format!(
            "\n[[office]]\ncode = \"H99.{:02}\"\nname = \"Ủy ban nhân dân huyện số {}\"\n\
             level = \"district\"\nparent = \"H99\"\n",
            51 + d,
            d + 1
        ));
    }
    let mut communes = Vec::new();
    for i in 0..count {
        let district = 51 + i % districts;
        let code = format!("H99.{district:02}.{:03}", i / districts + 1);
        let name = format!("Ủy ban nhân dân xã số {}", i + 1);
        text.push_str(&format!(
            "\n[[office]]\ncode = \"{code}\"\nname = \"{name}\"\nlevel = \"commune\"\n\
             parent = \"H99.{district:02}\"\n"
        ));
        communes.push((code, name));
    }
    std::fs::write(path, text)?;
    Ok(communes)
}

/// Pseudo-random (incompressible) bytes, so the `.cvd` is as big as the file.
fn write_random(path: &Path, size: u64) -> Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut block = vec![0u8; 64 * 1024];
    let mut left = size;
    while left > 0 {
        for chunk in block.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
        }
        let n = left.min(block.len() as u64) as usize;
        file.write_all(&block[..n])?;
        left -= n as u64;
    }
    file.flush()?;
    Ok(())
}

// ---- small helpers -------------------------------------------------------------

fn dir_size(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        if meta.is_dir() {
            total += dir_size(&entry.path())?;
        } else {
            total += meta.len();
        }
    }
    Ok(total)
}

fn du_sb(dir: &Path) -> Option<u64> {
    let out = std::process::Command::new("du")
        .arg("-sb")
        .arg(dir)
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn percentiles(v: &mut [f64]) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
        v[rank - 1]
    };
    (at(0.50), at(0.99))
}

fn unix_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// Time on a CPU and time waiting on a run queue, summed over the threads
/// alive now (seconds), from /proc/self/task/*/schedstat.
fn sched_totals() -> (f64, f64) {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return (0.0, 0.0);
    };
    let (mut run, mut wait) = (0u64, 0u64);
    for task in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(task.path().join("schedstat")) {
            let mut fields = text
                .split_whitespace()
                .map(|f| f.parse::<u64>().unwrap_or(0));
            run += fields.next().unwrap_or(0);
            wait += fields.next().unwrap_or(0);
        }
    }
    (run as f64 / 1e9, wait as f64 / 1e9)
}

/// Seconds the relay store's writer thread has run on a CPU (its
/// schedstat), or `None` when no such thread exists: the one thread every
/// commit goes through, so a share near 100% of the wall time would make
/// it the bottleneck.
fn writer_run_secs() -> Option<f64> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).ok()?;
        if comm.trim() == "congvan-store-w" {
            let text = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
            let run: u64 = text.split_whitespace().next()?.parse().ok()?;
            return Some(run as f64 / 1e9);
        }
    }
    None
}

/// User + system CPU time of this process so far, from /proc/self/stat.
fn process_cpu_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the file: 11 and 12 here.
    (ticks(11) + ticks(12)) / 100.0
}

fn num_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
