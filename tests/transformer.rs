//! Matching with a sentence transformer from a local directory (`--model`).
//! Needs the model's files: `TRIAGE_TEST_MODEL=DIR` (`.ci/run` fetches
//! both models with `scripts/fetch-transformer` and runs these tests with
//! each). Without it these tests print how to run them and pass, as the
//! browser tests do.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use triage::kb;
use triage::matcher::semantic::{self, dot, Semantic};
use triage::matcher::{Decision, Matcher, Query};

fn model_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("TRIAGE_TEST_MODEL").map(PathBuf::from);
    if dir.is_none() {
        eprintln!(
            "skipped: set TRIAGE_TEST_MODEL=DIR (scripts/fetch-transformer NAME DIR puts a model there)"
        );
    }
    dir
}

fn model() -> Option<&'static Semantic> {
    static MODEL: OnceLock<Option<Semantic>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let dir = model_dir()?;
            Some(Semantic::transformer(&dir, None).expect("the test model loads"))
        })
        .as_ref()
}

/// The test model's name, as triage names it after its directory.
fn model_name() -> String {
    model()
        .and_then(Semantic::name)
        .expect("a transformer has a name")
        .to_owned()
}

fn knowledge() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("knowledge")
}

/// The shipped knowledge base matched with the test model, chosen for the
/// process as `--model` chooses it.
fn matcher() -> Option<&'static Matcher> {
    static M: OnceLock<Option<Matcher>> = OnceLock::new();
    M.get_or_init(|| {
        semantic::choose(Some(model_dir()?), true, Some(knowledge()));
        let kb = kb::load_dir(&knowledge()).expect("shipped knowledge base loads");
        Some(Matcher::new(Arc::new(kb)).expect("the matcher builds"))
    })
    .as_ref()
}

#[test]
fn related_sentences_are_closer_than_unrelated_ones() {
    let Some(s) = model() else { return };
    let a = s.embed("nobody can hear me during the call");
    let b = s.embed("the other side gets no sound from my microphone");
    let c = s.embed("how do I download last month's invoice");
    assert!(
        dot(&a, &b) > dot(&a, &c) + 0.1,
        "{} {}",
        dot(&a, &b),
        dot(&a, &c)
    );
    assert!((dot(&a, &a) - 1.0).abs() < 1e-4);
    assert!(s.embed("   ").iter().all(|&x| x == 0.0));
}

/// Texts of different lengths are padded to one length in a batch; the
/// padding must not change any text's embedding.
#[test]
fn a_batch_embeds_each_text_as_it_embeds_it_alone() {
    let Some(s) = model() else { return };
    let texts = [
        "the chat bubble never shows up",
        "calls drop after exactly thirty seconds when I am on the office network behind the corporate firewall",
        "",
        "no sound",
        "the chat bubble never shows up",
    ];
    let rows = s.embed_many(&texts);
    assert_eq!(rows.len(), texts.len() * s.dim());
    for (row, text) in rows.chunks_exact(s.dim()).zip(texts) {
        let alone = s.embed(text);
        let diff = row
            .iter()
            .zip(&alone)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(diff < 1e-4, "{text:?}: {diff}");
    }
}

#[test]
fn a_huge_paste_is_cut_not_refused() {
    let Some(s) = model() else { return };
    let long = "the widget does not load on our checkout page ".repeat(2_000);
    let v = s.embed(&long);
    assert!((dot(&v, &v) - 1.0).abs() < 1e-4);
}

/// With parameters fitted for the model (knowledge/matcher.NAME.json), the
/// matcher uses it, and each entry's own title still finds that entry.
#[test]
fn each_entry_title_ranks_its_entry_first_with_the_transformer() {
    let Some(m) = matcher() else { return };
    assert_eq!(
        m.transformer(),
        model().and_then(Semantic::name),
        "the knowledge base has parameters fitted for the test model"
    );
    let kb = m.kb();
    let mut misses = Vec::new();
    for e in kb.entries() {
        let r = m.find(&Query {
            text: &e.title,
            product: None,
            among: None,
        });
        let top = r.results.first().map(|c| c.id.as_str());
        if r.decision != Decision::Answer || top != Some(e.id.as_str()) {
            misses.push(format!("{}: {:?} {top:?}", e.id, r.decision));
        }
    }
    assert!(
        misses.len() * 10 <= kb.entries().len(),
        "{} of {} titles not answered with their entry: {misses:?}",
        misses.len(),
        kb.entries().len()
    );
}

/// A knowledge base with no parameters fitted for the chosen model is
/// matched with the shipped tables instead, not refused.
#[test]
fn a_knowledge_base_without_parameters_for_the_model_falls_back_to_the_shipped_tables() {
    if matcher().is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    for f in std::fs::read_dir(knowledge())
        .expect("knowledge dir")
        .flatten()
    {
        let name = f.file_name().to_string_lossy().into_owned();
        if name.ends_with(".yaml") || name == "matcher.json" {
            std::fs::copy(f.path(), dir.path().join(&name)).expect("copy");
        }
    }
    let kb = kb::load_dir(dir.path()).expect("loads");
    let m = Matcher::new(Arc::new(kb)).expect("builds");
    assert!(m.is_semantic());
    assert_eq!(m.transformer(), None);
}

/// `triage` run in a directory with the model installed where
/// `scripts/fetch-transformer` puts it, and the log line that names the
/// model it matches with.
fn match_in_a_directory_with_the_model(model: Option<&str>) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let installed = dir.path().join("models");
    std::fs::create_dir_all(&installed).expect("models dir");
    std::os::unix::fs::symlink(
        std::fs::canonicalize(model_dir().expect("checked by the caller")).expect("model dir"),
        installed.join(model_name()),
    )
    .expect("symlink");
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_triage"));
    c.current_dir(dir.path())
        .env_remove("TRIAGE_MODEL")
        .env_remove("TRIAGE_KB")
        .env("RUST_LOG", "triage=info")
        .env("NO_COLOR", "1")
        .arg("--kb")
        .arg(knowledge());
    if let Some(m) = model {
        c.args(["--model", m]);
    }
    let out = c
        .args(["match", "the chat bubble is gone from our site"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_installed_model_is_used_unless_the_shipped_tables_are_asked_for() {
    if model_dir().is_none() {
        return;
    }
    let log = match_in_a_directory_with_the_model(None);
    assert!(
        log.contains("matching with a sentence transformer") && log.contains(&model_name()),
        "{log}"
    );
    let log = match_in_a_directory_with_the_model(Some("shipped"));
    assert!(!log.contains("sentence transformer"), "{log}");
}

/// Each text's embedding starts and ends with the four numbers given,
/// within 2e-4.
fn embeds_as(s: &Semantic, cases: &[(&str, [f32; 4], [f32; 4])]) {
    for (text, head, tail) in cases {
        let v = s.embed(text);
        let got: Vec<f32> = v[..4].iter().chain(&v[v.len() - 4..]).copied().collect();
        let want: Vec<f32> = head.iter().chain(tail).copied().collect();
        assert!(
            got.iter().zip(&want).all(|(a, b)| (a - b).abs() < 2e-4),
            "{text:?}: {got:?} against {want:?}"
        );
    }
}

/// An MPNet (all-mpnet-base-v2) gives the embeddings the reference
/// implementation gives: the first and last four numbers of two texts'
/// embeddings as sentence-transformers computes them, one short and one
/// long enough that tokens sit in the far, logarithmic distance buckets.
#[test]
fn an_mpnet_embeds_as_the_reference_implementation_does() {
    let Some(dir) = model_dir() else { return };
    let config = std::fs::read_to_string(dir.join("config.json")).expect("config.json");
    if !config.contains("\"mpnet\"") {
        eprintln!("skipped: the test model is not an MPNet");
        return;
    }
    let s = model().expect("loaded");
    let cases = [
        (
            "the chat bubble never shows up",
            [0.00396, -0.05561, -0.00107, -0.01856],
            [0.02819, 0.02544, -0.0181, 0.0718],
        ),
        (
            "Calls drop after a minute when the agent answers, any idea why? We use Chrome on Windows and the office network is behind a corporate firewall.",
            [-0.00657, -0.05542, 0.0275, -0.06359],
            [0.05533, 0.06104, 0.01565, 0.00884],
        ),
    ];
    embeds_as(s, &cases);
}

/// The knowledge base's adapter for the model (`adapter.NAME.safetensors`,
/// from `scripts/fit-adapter.py`), merged into the weights as the network
/// is built, gives the embeddings the fitting script's PyTorch network
/// gives with it: the first and last four numbers of two texts', as the
/// script printed them. A refit adapter prints new ones.
#[test]
fn the_knowledge_base_s_adapter_embeds_as_the_fitting_script_does() {
    let Some(dir) = model_dir() else { return };
    let name = model_name();
    if !knowledge()
        .join(format!("adapter.{name}.safetensors"))
        .is_file()
    {
        eprintln!("skipped: the knowledge base has no adapter for {name}");
        return;
    }
    let s = Semantic::transformer(&dir, Some(&knowledge())).expect("loads with the adapter");
    assert_ne!(s.fingerprint(), model().and_then(Semantic::fingerprint));
    let cases = [
        (
            "the chat bubble never shows up",
            ADAPTED_SHORT_HEAD,
            ADAPTED_SHORT_TAIL,
        ),
        (
            "Calls drop after a minute when the agent answers, any idea why? We use Chrome on Windows and the office network is behind a corporate firewall.",
            ADAPTED_LONG_HEAD,
            ADAPTED_LONG_TAIL,
        ),
    ];
    embeds_as(&s, &cases);
}

/// An adapter that does not fit the model (here: one layer's change of
/// the wrong shape) stops the model from loading, with the file and the
/// reason, rather than being half applied.
#[test]
fn an_adapter_that_does_not_fit_the_model_is_refused() {
    let Some(dir) = model_dir() else { return };
    let kb = tempfile::tempdir().expect("tempdir");
    let path = kb
        .path()
        .join(format!("adapter.{}.safetensors", model_name()));
    let zeros = |rows: usize, cols: usize| {
        candle_core::Tensor::zeros(
            (rows, cols),
            candle_core::DType::F32,
            &candle_core::Device::Cpu,
        )
        .expect("tensor")
    };
    let tensors = std::collections::HashMap::from([
        (
            "encoder.layer.0.attention.attn.q.lora_A".to_owned(),
            zeros(4, 7),
        ),
        (
            "encoder.layer.0.attention.attn.q.lora_B".to_owned(),
            zeros(5, 4),
        ),
    ]);
    candle_core::safetensors::save(&tensors, &path).expect("saves");
    let Err(err) = Semantic::transformer(&dir, Some(kb.path())) else {
        panic!("an adapter that does not fit was applied");
    };
    let err = format!("{err:#}");
    assert!(err.contains("does not fit"), "{err}");
}

/// What `scripts/fit-adapter.py` printed for the shipped adapter.
const ADAPTED_SHORT_HEAD: [f32; 4] = [0.00382, -0.03475, -0.00587, -0.01842];
const ADAPTED_SHORT_TAIL: [f32; 4] = [0.00231, 0.003, -0.02563, 0.07595];
const ADAPTED_LONG_HEAD: [f32; 4] = [0.00081, -0.01987, 0.01327, -0.03687];
const ADAPTED_LONG_TAIL: [f32; 4] = [0.0294, 0.06709, 0.00169, -0.00359];
