//! Figures for the `hollow` CLI on the benchmark workload (`docs/benchmark.md`):
//!
//! - `export` throughput (records/s, JSON Lines to a file) beside
//!   `serde_json` of the native structs writing the same lines to the same
//!   kind of file, in the same run;
//! - `diff` of two adjacent versions (1 % of the movies modified, 0.1 %
//!   removed and added) and of versions five apart, through the deltas,
//!   beside the same diffs computed by loading both versions whole and
//!   joining them by key (checked to give the same result);
//! - peak memory of a `hollow export` process at two sizes (it must stay
//!   flat as N grows): resident anonymous memory (heap, stacks) and
//!   file-backed pages of the memory-mapped snapshot, sampled from
//!   `/proc/<pid>/status`;
//! - `hollow serve` (a process, over HTTP): time from start to the first
//!   page, a key lookup page (the first, which loads the version, and a
//!   second) and a 1 % diff page, each beside the same operation as a
//!   `hollow` command process (`versions`, `inspect`, `diff`) in the same
//!   run. `--serve-only` measures these alone.
//!
//! Usage: `hollow-cli-bench [--movies N] [--reps R] [--hollow PATH]`
//! (build the `hollow` binary in release first; `--hollow` defaults to the
//! `hollow` beside this executable).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hollow_benches::flags::{unknown, Flags};
use hollow_benches::{change, initial, median, ms, Actor, Movie};
use hollow_runtime::{FileAnnouncer, FsBlobStore, Producer};

struct Args {
    movies: u64,
    reps: usize,
    hollow: PathBuf,
    serve_only: bool,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        movies: 1_000_000,
        reps: 5,
        hollow: std::env::current_exe()
            .map_err(|e| e.to_string())?
            .with_file_name("hollow"),
        serve_only: false,
    };
    let mut f = Flags::from_env();
    while let Some(x) = f.next_flag() {
        match x.as_str() {
            "--movies" => a.movies = f.movies()?,
            "--reps" => a.reps = f.reps()?,
            "--hollow" => a.hollow = PathBuf::from(f.value("--hollow")?),
            "--serve-only" => a.serve_only = true,
            "-h" | "--help" => {
                println!(
                    "usage: hollow-cli-bench [--movies N (1000000)] [--reps R (5)] [--hollow PATH (beside this binary)] [--serve-only]"
                );
                std::process::exit(0);
            }
            other => return Err(unknown(other)),
        }
    }
    Ok(a)
}

/// What [`produce`] returns: the versions, the actors and the final movies.
type Produced = (Vec<u64>, Vec<Actor>, Vec<Movie>);

/// Publishes the scenario's cycles 1..=`cycles` into `dir`; returns the
/// versions and the final movies.
fn produce(dir: &Path, n: u64, cycles: usize) -> Result<Produced, Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let store = Arc::new(FsBlobStore::new(dir)?);
    let announcer = Arc::new(FileAnnouncer::new(dir)?);
    let mut producer = Producer::builder(store, announcer).build();
    let (actors, mut movies, mut rng) = initial(n);
    let mut next_id = n;
    let mut versions = Vec::new();
    for c in 1..=cycles {
        if c > 1 {
            change(&mut rng, &mut movies, n, n / 100, &mut next_id);
        }
        let s = Instant::now();
        let out = rt.block_on(producer.run_cycle(|w| {
            actors.iter().try_for_each(|a| w.add(a))?;
            movies.iter().try_for_each(|m| w.add(m))
        }))?;
        versions.push(out.version.ok_or("a cycle made no version")?);
        eprintln!("  cycle {c}: {:.0} ms", ms(s.elapsed()));
    }
    Ok((versions, actors, movies))
}

/// The same JSON Lines `hollow export` writes, from the native structs.
#[derive(serde::Serialize)]
struct Line<'a, T> {
    #[serde(rename = "type")]
    ty: &'static str,
    ordinal: usize,
    record: &'a T,
}

fn native_export(actors: &[Actor], movies: &[Movie], path: &Path) -> std::io::Result<u64> {
    let mut w = BufWriter::with_capacity(1 << 16, std::fs::File::create(path)?);
    for (i, a) in actors.iter().enumerate() {
        serde_json::to_writer(
            &mut w,
            &Line {
                ty: "Actor",
                ordinal: i,
                record: a,
            },
        )?;
        w.write_all(b"\n")?;
    }
    for (i, m) in movies.iter().enumerate() {
        serde_json::to_writer(
            &mut w,
            &Line {
                ty: "Movie",
                ordinal: i,
                record: m,
            },
        )?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok((actors.len() + movies.len()) as u64)
}

/// Checks that a whole-load diff's JSON equals the delta path's (less the
/// `through` field), so the baseline computes the same thing.
fn same_diff(
    whole: &[u8],
    store: &hollow_cli::store::Store,
    a: u64,
    b: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut via = Vec::new();
    hollow_cli::cmd::diff::run(store, a, b, None, true, &mut via)?;
    let mut x: serde_json::Value = serde_json::from_slice(whole)?;
    let mut y: serde_json::Value = serde_json::from_slice(&via)?;
    x["through"] = serde_json::Value::Null;
    y["through"] = serde_json::Value::Null;
    // The order of entries may differ: compare them as sets.
    let norm = |v: &mut serde_json::Value| {
        if let Some(types) = v["types"].as_array_mut() {
            for t in types {
                for side in ["added", "removed", "modified"] {
                    if let Some(list) = t[side].as_array_mut() {
                        list.sort_by_key(|e| e.to_string());
                    }
                }
            }
        }
    };
    norm(&mut x);
    norm(&mut y);
    if x != y {
        return Err(
            format!("diff {a} → {b}: the whole-load diff differs from the delta one").into(),
        );
    }
    Ok(())
}

/// Peak memory of `hollow export store` (output to /dev/null), sampled
/// every 2 ms: (max RssAnon, max RssFile, last VmHWM) in bytes, and time.
fn export_memory(
    hollow: &Path,
    store: &Path,
) -> Result<(u64, u64, u64, f64), Box<dyn std::error::Error>> {
    let s = Instant::now();
    let mut child = Command::new(hollow)
        .arg("export")
        .arg(store)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    let status_path = format!("/proc/{}/status", child.id());
    let (mut anon, mut file, mut hwm) = (0u64, 0u64, 0u64);
    loop {
        if let Ok(text) = std::fs::read_to_string(&status_path) {
            for line in text.lines() {
                let kb = |l: &str| -> u64 {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|x| x.parse().ok())
                        .unwrap_or(0)
                        * 1024
                };
                if line.starts_with("RssAnon:") {
                    anon = anon.max(kb(line));
                } else if line.starts_with("RssFile:") {
                    file = file.max(kb(line));
                } else if line.starts_with("VmHWM:") {
                    hwm = hwm.max(kb(line));
                }
            }
        }
        if let Some(st) = child.try_wait()? {
            if !st.success() {
                return Err(format!("hollow export failed: {st}").into());
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok((anon, file, hwm, ms(s.elapsed())))
}

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / (1 << 20) as f64)
}

fn main() {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("hollow-cli-bench: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&args) {
        eprintln!("hollow-cli-bench: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let n = args.movies;
    let tmp = tempfile::tempdir()?;
    let big = tmp.path().join("big");
    eprintln!("producing {n} movies, 6 cycles ...");
    let (versions, actors, movies) = produce(&big, n, 6)?;
    let (v1, v5, v6) = (versions[0], versions[4], versions[5]);
    let key = movies[movies.len() / 2].id;
    let serve_rows = serve_figures(args, &big, v5, v6, key)?;
    if args.serve_only {
        print_header(args, n);
        serve_rows.iter().for_each(|r| println!("{r}"));
        return Ok(());
    }
    let store = hollow_cli::store::Store::open(big.to_str().ok_or("path")?)?;
    let records = n + hollow_benches::ACTORS;

    // Export: the CLI's path in process, and the native baseline, to files.
    let out_path = tmp.path().join("export.jsonl");
    let (mut cli, mut native) = (Vec::new(), Vec::new());
    let (mut cli_bytes, mut native_bytes) = (0, 0);
    for _ in 0..args.reps {
        let s = Instant::now();
        let mut w = BufWriter::with_capacity(1 << 16, std::fs::File::create(&out_path)?);
        let written = hollow_cli::cmd::export::run(&store, Some(v6), None, &mut w)?;
        w.flush()?;
        cli.push(ms(s.elapsed()));
        if written != records {
            return Err(format!("export wrote {written} records, expected {records}").into());
        }
        cli_bytes = std::fs::metadata(&out_path)?.len();
        let s = Instant::now();
        native_export(&actors, &movies, &out_path)?;
        native.push(ms(s.elapsed()));
        native_bytes = std::fs::metadata(&out_path)?.len();
    }
    let (cli_ms, native_ms) = (median(cli), median(native));

    // Diff: adjacent versions (through the delta), and five apart.
    let mut adjacent = Vec::new();
    let mut five = Vec::new();
    let (mut adjacent_whole, mut five_whole) = (Vec::new(), Vec::new());
    use hollow_cli::cmd::diff::{run_with, Method};
    let mut adjacent_bytes = 0;
    let mut five_bytes = 0;
    for _ in 0..args.reps {
        let mut buf = Vec::new();
        let s = Instant::now();
        hollow_cli::cmd::diff::run(&store, v5, v6, None, true, &mut buf)?;
        adjacent.push(ms(s.elapsed()));
        adjacent_bytes = buf.len();
        let mut buf = Vec::new();
        let s = Instant::now();
        hollow_cli::cmd::diff::run(&store, v1, v6, None, true, &mut buf)?;
        five.push(ms(s.elapsed()));
        five_bytes = buf.len();
        // Baseline: the same diffs with both versions loaded whole and
        // joined by key; their output must be the same.
        let mut whole = Vec::new();
        let s = Instant::now();
        run_with(&store, v5, v6, None, true, &mut whole, Method::Whole)?;
        adjacent_whole.push(ms(s.elapsed()));
        same_diff(&whole, &store, v5, v6)?;
        let mut whole = Vec::new();
        let s = Instant::now();
        run_with(&store, v1, v6, None, true, &mut whole, Method::Whole)?;
        five_whole.push(ms(s.elapsed()));
        same_diff(&whole, &store, v1, v6)?;
    }
    let check: serde_json::Value = {
        let mut buf = Vec::new();
        hollow_cli::cmd::diff::run(&store, v5, v6, Some("Movie"), true, &mut buf)?;
        serde_json::from_slice(&buf)?
    };
    let count = |k: &str| check["types"][0][k].as_array().map_or(0, Vec::len);
    let (added, removed, modified) = (count("added"), count("removed"), count("modified"));

    // Peak memory of `hollow export` at N/4 and N.
    let small = tmp.path().join("small");
    eprintln!("producing {} movies for the memory comparison ...", n / 4);
    produce(&small, n / 4, 1)?;
    let m_small = export_memory(&args.hollow, &small)?;
    let m_big = export_memory(&args.hollow, &big)?;
    let snap = |dir: &Path| -> u64 {
        std::fs::read_dir(dir)
            .ok()
            .and_then(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().starts_with("snapshot-"))
                    .filter_map(|e| e.metadata().ok().map(|m| m.len()))
                    .max()
            })
            .unwrap_or(0)
    };

    print_header(args, n);
    println!(
        "| export, all {records} records to a JSON Lines file | {cli_ms:.0} ms = {:.0} records/s ({}) | serde_json of the native structs: {native_ms:.0} ms = {:.0} records/s ({}) | {:.2}× the baseline's time |",
        records as f64 / (cli_ms / 1e3),
        mib(cli_bytes),
        records as f64 / (native_ms / 1e3),
        mib(native_bytes),
        cli_ms / native_ms
    );
    let (a, aw) = (median(adjacent), median(adjacent_whole));
    let (f, fw) = (median(five), median(five_whole));
    println!(
        "| diff of adjacent versions {v5} → {v6} through the delta (Movie: {added} added, {removed} removed, {modified} modified) | {a:.0} ms ({} of JSON) | both versions loaded whole, joined by key: {aw:.0} ms | {:.3}× |",
        mib(adjacent_bytes as u64),
        a / aw
    );
    println!(
        "| diff of versions five apart {v1} → {v6} through 5 deltas | {f:.0} ms ({} of JSON) | both versions loaded whole, joined by key: {fw:.0} ms | {:.3}× |",
        mib(five_bytes as u64),
        f / fw
    );
    for (label, size, m, dir) in [("N/4", n / 4, m_small, &small), ("N", n, m_big, &big)] {
        println!(
            "| `hollow export` process at {label} = {size} movies (snapshot {}) | peak anonymous RSS {}; peak file-backed RSS {}; VmHWM {}; {:.0} ms | | |",
            mib(snap(dir)),
            mib(m.0),
            mib(m.1),
            mib(m.2),
            m.3
        );
    }
    serve_rows.iter().for_each(|r| println!("{r}"));
    Ok(())
}

fn print_header(args: &Args, n: u64) {
    println!(
        "hollow CLI on the benchmark workload: {n} movies + {} actors; machine: {} cores",
        hollow_benches::ACTORS,
        std::thread::available_parallelism().map_or(0, |p| p.get())
    );
    println!("medians of {} runs", args.reps);
    println!();
    println!("| figure | hollow CLI | baseline (same run) | ratio |");
    println!("|---|---|---|---|");
}

/// One HTTP/1.1 GET on a fresh connection: the status and the body's length.
fn http_get(addr: &str, path: &str) -> Result<(u16, usize), Box<dyn std::error::Error>> {
    use std::io::Read;
    let mut conn = std::net::TcpStream::connect(addr)?;
    write!(
        conn,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut reply = Vec::new();
    conn.read_to_end(&mut reply)?;
    let text = String::from_utf8_lossy(&reply);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("GET {path}: no HTTP status in the reply"))?;
    let body = text.find("\r\n\r\n").map_or(0, |i| reply.len() - i - 4);
    Ok((status, body))
}

/// GET `path` until it is not a "loading" page (202): the time it took and
/// the final body's length; anything but 200 at the end is an error.
fn page(addr: &str, path: &str) -> Result<(f64, usize), Box<dyn std::error::Error>> {
    let s = Instant::now();
    loop {
        let (status, len) = http_get(addr, path)?;
        match status {
            202 => std::thread::sleep(Duration::from_millis(5)),
            200 => return Ok((ms(s.elapsed()), len)),
            other => return Err(format!("GET {path}: status {other}").into()),
        }
    }
}

/// Runs `hollow ARGS` to the end: its wall time; a failure is an error.
fn command(hollow: &Path, args: &[&str]) -> Result<f64, Box<dyn std::error::Error>> {
    let s = Instant::now();
    let st = Command::new(hollow)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()?;
    if !st.success() {
        return Err(format!("hollow {} failed: {st}", args.join(" ")).into());
    }
    Ok(ms(s.elapsed()))
}

/// The `hollow serve` rows: each page over HTTP beside the same operation
/// as a `hollow` command, medians of `args.reps` server starts.
fn serve_figures(
    args: &Args,
    store: &Path,
    v5: u64,
    v6: u64,
    key: u64,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    use std::io::BufRead;
    let dir = store.to_str().ok_or("path")?;
    let (k, v5s, v6s) = (key.to_string(), v5.to_string(), v6.to_string());
    let lookup = format!("/v/{v6}/types/Movie/record?key={key}");
    let diff = format!("/diff/{v5}/{v6}?type=Movie");
    let api_diff = format!("/api/diff/{v5}/{v6}?type=Movie&per_page=1000");
    let mut t: [Vec<f64>; 8] = Default::default();
    for _ in 0..args.reps {
        let s = Instant::now();
        let mut child = Command::new(&args.hollow)
            .args(["serve", dir, "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let mut line = String::new();
        let stdout = child.stdout.take().ok_or("no stdout")?;
        std::io::BufReader::new(stdout).read_line(&mut line)?;
        let addr = line
            .trim()
            .rsplit(' ')
            .next()
            .and_then(|u| u.strip_prefix("http://"))
            .and_then(|u| u.strip_suffix('/'))
            .ok_or_else(|| format!("hollow serve printed no URL: {line:?}"))?
            .to_owned();
        let result = (|| -> Result<[f64; 5], Box<dyn std::error::Error>> {
            page(&addr, "/")?;
            let first = ms(s.elapsed());
            let (cold, _) = page(&addr, &lookup)?;
            let (warm, _) = page(&addr, &lookup)?;
            let (d, _) = page(&addr, &diff)?;
            let (dj, _) = page(&addr, &api_diff)?;
            Ok([first, cold, warm, d, dj])
        })();
        let _ = child.kill();
        let _ = child.wait();
        for (i, x) in result?.into_iter().enumerate() {
            t[i].push(x);
        }
        t[5].push(command(&args.hollow, &["versions", dir])?);
        t[6].push(command(
            &args.hollow,
            &[
                "inspect",
                dir,
                "--type",
                "Movie",
                "--key",
                &k,
                "--version",
                &v6s,
            ],
        )?);
        t[7].push(command(
            &args.hollow,
            &["diff", dir, &v5s, &v6s, "--type", "Movie", "--json"],
        )?);
    }
    let [first, cold, warm, d, dj, versions, inspect, cli_diff] = t.map(median);
    Ok(vec![
        format!("| `hollow serve`: start to the first page (`/`) | {first:.0} ms | `hollow versions` process: {versions:.0} ms | {:.2}× |", first / versions),
        format!("| `hollow serve`: key lookup page (Movie {key}), first (loads version {v6}) | {cold:.0} ms | `hollow inspect --key` process: {inspect:.0} ms | {:.2}× |", cold / inspect),
        format!("| `hollow serve`: the same key lookup page again (version loaded) | {warm:.0} ms | `hollow inspect --key` process: {inspect:.0} ms | {:.2}× |", warm / inspect),
        format!("| `hollow serve`: 1 % diff page {v5} → {v6} (Movie, first 50 of each list) | {d:.0} ms | `hollow diff --json` process: {cli_diff:.0} ms | {:.2}× |", d / cli_diff),
        format!("| `hollow serve`: the same diff as JSON, 1000 a list (`/api`; the diff the page computed is kept) | {dj:.0} ms | `hollow diff --json` process: {cli_diff:.0} ms | {:.2}× |", dj / cli_diff),
    ])
}
