//! Matching speed and memory: per-query latency over every dev.yaml query on
//! the shipped knowledge base and on a generated 10,000-entry one, index
//! build time at both sizes, and peak heap while building and querying
//! (a counting global allocator). Criterion gives the means; the p50/p99
//! over all queries are computed here and printed first.
//!
//! `cargo bench --bench matching`
//!
//! With `TRIAGE_MODEL=DIR` the matcher runs the sentence transformer in
//! DIR (`--model`) instead of the shipped tables, on the shipped
//! knowledge base only (the generated one has no parameters fitted for
//! it), and the report goes to `target/matching-bench-transformer.txt`.

mod kbgen;

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde::Deserialize;
use triage::kb::{self, KnowledgeBase, ProductId};
use triage::matcher::{Matcher, Query};

/// Counts live heap bytes and their high-water mark.
struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Off while latency is timed: the counters' atomic updates on every
/// allocation are the benchmark's cost, not the matcher's.
static COUNTING: AtomicBool = AtomicBool::new(true);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwards to the system allocator with the caller's layout.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() && COUNTING.load(Ordering::Relaxed) {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) };
        if COUNTING.load(Ordering::Relaxed) {
            CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[derive(Deserialize)]
struct Item {
    query: String,
    #[serde(default)]
    product: Option<String>,
}

/// Every dev.yaml query (with its channel product), or a few built-in
/// questions when the shared evaluation files are not beside the repo.
fn queries() -> Vec<(String, Option<ProductId>)> {
    let path: PathBuf = root().join("../shared/eval/dev.yaml");
    let items: Vec<Item> = std::fs::read_to_string(&path)
        .ok()
        .and_then(|s| serde_yaml::from_str(&s).ok())
        .unwrap_or_else(|| {
            eprintln!(
                "note: {} not found; using built-in questions",
                path.display()
            );
            [
                "the chat bubble never shows up on our site",
                "Error: Widget not initialized. Call init() first.",
                "calls drop when switching from wifi to 4g",
                "POST .../init 429 (Too Many Requests)",
                "how do I change the colour of the widget?",
            ]
            .iter()
            .map(|q| Item {
                query: (*q).to_owned(),
                product: None,
            })
            .collect()
        });
    items
        .into_iter()
        .map(|i| (i.query, i.product.map(ProductId::new)))
        .collect()
}

fn run_all(m: &Matcher, qs: &[(String, Option<ProductId>)]) {
    for (text, product) in qs {
        black_box(m.find(&Query {
            text,
            product: product.as_ref(),
            among: None,
        }));
    }
}

/// Latency of every query, `rounds` times each: (p50, p99, max, mean), and
/// the slowest queries by their median time, so the tail can be chased.
fn percentiles(
    m: &Matcher,
    qs: &[(String, Option<ProductId>)],
    rounds: usize,
    before_each: &dyn Fn(),
) -> ([Duration; 4], String) {
    run_all(m, qs); // warm-up
    let mut samples = Vec::with_capacity(qs.len() * rounds);
    let mut per_query = vec![Vec::with_capacity(rounds); qs.len()];
    for _ in 0..rounds {
        for (i, (text, product)) in qs.iter().enumerate() {
            before_each();
            let t = Instant::now();
            black_box(m.find(&Query {
                text,
                product: product.as_ref(),
                among: None,
            }));
            let d = t.elapsed();
            samples.push(d);
            per_query[i].push(d);
        }
    }
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    let mut medians: Vec<(Duration, usize)> = per_query
        .iter_mut()
        .enumerate()
        .map(|(i, v)| {
            v.sort_unstable();
            (v[v.len() / 2], i)
        })
        .collect();
    medians.sort_unstable_by(|a, b| b.cmp(a));
    let slowest = medians
        .iter()
        .take(6)
        .map(|&(d, i)| {
            let text: String = qs[i].0.chars().take(50).collect();
            format!(
                "  {d:?}  ({} chars) {:?}\n",
                qs[i].0.chars().count(),
                text.replace('\n', " ")
            )
        })
        .collect();
    ([at(0.50), at(0.99), at(1.0), mean], slowest)
}

/// Builds the matcher and runs every query once, returning the matcher
/// and the peak heap growth over the starting point.
fn measured_build(kb: KnowledgeBase, qs: &[(String, Option<ProductId>)]) -> (Matcher, usize) {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let m = Matcher::new(Arc::new(kb)).expect("index builds");
    run_all(&m, qs);
    (m, PEAK.load(Ordering::Relaxed).saturating_sub(base))
}

/// The median of three builds' times. Taken with the heap counters off:
/// their atomic updates on every allocation, from both cores at once,
/// are the benchmark's cost, not the matcher's.
fn build_time(kb: &KnowledgeBase, before_each: &dyn Fn()) -> Duration {
    let mut times: Vec<Duration> = (0..3)
        .map(|_| {
            before_each();
            let kb = Arc::new(kb.clone());
            let t = Instant::now();
            let m = Matcher::new(kb).expect("index builds");
            let took = t.elapsed();
            drop(m);
            took
        })
        .collect();
    times.sort();
    times[1]
}

fn vm_hwm_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn benches(c: &mut Criterion) {
    let qs = queries();
    let synonyms =
        std::fs::read_to_string(root().join("knowledge/synonyms.yaml")).unwrap_or_default();
    let shipped = || kb::load_dir(&root().join("knowledge")).expect("shipped knowledge base loads");
    if let Some(dir) = std::env::var_os("TRIAGE_MODEL") {
        triage::matcher::semantic::choose(
            Some(PathBuf::from(dir)),
            true,
            Some(root().join("knowledge")),
        );
        return transformer(c, &qs, &shipped);
    }

    let kb_heap_before = CURRENT.load(Ordering::Relaxed);
    let big_kb = kbgen::generate(10_000, &synonyms);
    let big_kb_bytes = CURRENT
        .load(Ordering::Relaxed)
        .saturating_sub(kb_heap_before);

    let (small, small_peak) = measured_build(shipped(), &qs);
    let (big, big_peak) = measured_build(big_kb.clone(), &qs);
    // Heap figures are taken; the rest is timed without counting (so
    // CURRENT no longer tracks the live heap).
    COUNTING.store(false, Ordering::Relaxed);
    let ([s50, s99, smax, smean], s_slow) = percentiles(&small, &qs, 20, &|| {});
    let ([b50, b99, bmax, bmean], b_slow) = percentiles(&big, &qs, 5, &|| {});
    let small_build = build_time(&shipped(), &|| {});
    let big_build = build_time(&big_kb, &|| {});
    let report = format!(
        "matching over {n} dev.yaml queries\n\
         shipped KB ({se} entries): p50 {s50:?}  p99 {s99:?}  max {smax:?}  mean {smean:?}; \
         build {small_build:?} (median of 3); peak heap while building+querying {sp:.1} MiB\n\
         slowest queries (median):\n{s_slow}\
         generated KB (10,000 entries): p50 {b50:?}  p99 {b99:?}  max {bmax:?}  mean {bmean:?}; \
         build {big_build:?} (median of 3); peak heap while building+querying {bp:.1} MiB (+{kbm:.1} MiB for the parsed KB itself)\n\
         slowest queries (median):\n{b_slow}\
         process VmHWM: {hwm} KiB\n",
        n = qs.len(),
        se = small.kb().entries().len(),
        sp = mb(small_peak),
        bp = mb(big_peak),
        kbm = mb(big_kb_bytes),
        hwm = vm_hwm_kb().map_or_else(|| "?".into(), |v| v.to_string()),
    );
    println!("\n{report}");
    let _ = std::fs::create_dir_all(root().join("target"));
    let _ = std::fs::write(root().join("target/matching-bench.txt"), &report);

    let mut g = c.benchmark_group("match");
    g.throughput(Throughput::Elements(qs.len() as u64));
    g.bench_function("shipped/dev-queries", |b| b.iter(|| run_all(&small, &qs)));
    g.sample_size(10);
    g.bench_function("10k/dev-queries", |b| b.iter(|| run_all(&big, &qs)));
    g.finish();

    let mut g = c.benchmark_group("build");
    g.sample_size(10);
    g.bench_function("shipped", |b| {
        b.iter_with_setup(shipped, |kb| Matcher::new(Arc::new(kb)).expect("builds"))
    });
    g.bench_function("10k", |b| {
        b.iter_with_setup(
            || big_kb.clone(),
            |kb| Matcher::new(Arc::new(kb)).expect("builds"),
        )
    });
    g.finish();
}

/// The shipped knowledge base matched with the chosen sentence
/// transformer: latency percentiles, build time and peak heap.
fn transformer(
    c: &mut Criterion,
    qs: &[(String, Option<ProductId>)],
    shipped: &dyn Fn() -> KnowledgeBase,
) {
    let (small, small_peak) = measured_build(shipped(), qs);
    assert!(
        small.is_semantic(),
        "TRIAGE_MODEL is set but the matcher has no embedding model"
    );
    COUNTING.store(false, Ordering::Relaxed);
    // The transformer remembers what it embedded: each question and each
    // build is timed with nothing remembered.
    let model = triage::matcher::semantic::Semantic::chosen().expect("the model loads");
    let forget = || model.forget();
    let ([s50, s99, smax, smean], s_slow) = percentiles(&small, qs, 3, &forget);
    let small_build = build_time(&shipped(), &forget);
    let report = format!(
        "matching over {n} dev.yaml queries with the sentence transformer {model:?}\n\
         shipped KB ({se} entries): p50 {s50:?}  p99 {s99:?}  max {smax:?}  mean {smean:?}; \
         build {small_build:?} (median of 3); peak heap while building+querying {sp:.1} MiB\n\
         slowest queries (median):\n{s_slow}\
         process VmHWM: {hwm} KiB\n",
        n = qs.len(),
        model = triage::matcher::semantic::chosen_dir(),
        se = small.kb().entries().len(),
        sp = mb(small_peak),
        hwm = vm_hwm_kb().map_or_else(|| "?".into(), |v| v.to_string()),
    );
    println!("\n{report}");
    let _ = std::fs::create_dir_all(root().join("target"));
    let _ = std::fs::write(
        root().join("target/matching-bench-transformer.txt"),
        &report,
    );
    let mut g = c.benchmark_group("match-transformer");
    g.throughput(Throughput::Elements(qs.len() as u64));
    g.sample_size(10);
    g.bench_function("shipped/dev-queries", |b| {
        b.iter(|| {
            forget();
            run_all(&small, qs)
        })
    });
    g.finish();
}

criterion_group! {
    name = matching;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));
    targets = benches
}
criterion_main!(matching);
