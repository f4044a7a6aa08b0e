//! Property-based fuzzing (proptest) of everything that takes text from
//! outside: the knowledge loader (YAML), the bot's config, component
//! `custom_id`s, the ticket-field validators, `match` input and the
//! Markdown splitter. None may panic; each keeps its contract. Inputs are
//! both arbitrary and mutations of real files. Case counts are bounded so
//! the run stays short in CI (`cargo test --test fuzz`); raise them with
//! `PROPTEST_CASES=5000 cargo test --test fuzz` for a longer session.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use proptest::prelude::*;

use triage::config::Config;
use triage::discord::route::Route;
use triage::discord::text;
use triage::kb::{self, KnowledgeBase};
use triage::matcher::{Matcher, Query};

fn shipped() -> &'static Arc<KnowledgeBase> {
    static KB: OnceLock<Arc<KnowledgeBase>> = OnceLock::new();
    KB.get_or_init(|| {
        Arc::new(kb::load_dir(Path::new("knowledge")).expect("the shipped knowledge base loads"))
    })
}

fn matcher() -> &'static Matcher {
    static M: OnceLock<Matcher> = OnceLock::new();
    M.get_or_init(|| Matcher::new(shipped().clone()).expect("the matcher builds"))
}

const PRODUCT_FILE: &str = include_str!("../knowledge/c2c.yaml");
const CONFIG: &str = include_str!("../triage.example.yaml");

/// A real file with a few bytes deleted, replaced or inserted: close enough
/// to valid that the loader gets deep into it.
fn mutated(original: &'static str) -> impl Strategy<Value = String> {
    let len = original.len();
    prop::collection::vec(
        (0..len, 0usize..12, "[ -~\n\t:\\-\"'{}\\[\\]#&*!|>%@`]{0,8}"),
        1..6,
    )
    .prop_map(move |edits| {
        let mut s = original.as_bytes().to_vec();
        for (at, cut, insert) in edits {
            let at = at.min(s.len());
            let end = (at + cut).min(s.len());
            s.splice(at..end, insert.bytes());
        }
        String::from_utf8_lossy(&s).into_owned()
    })
}

fn cases(n: u32) -> ProptestConfig {
    // PROPTEST_CASES, when set, wins (proptest reads it for the default).
    let from_env = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok());
    ProptestConfig {
        cases: from_env.unwrap_or(n),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cases(96))]

    /// A broken product file is refused with `file:line:col` problems, never a panic.
    #[test]
    fn the_knowledge_loader_never_panics(src in prop_oneof![mutated(PRODUCT_FILE), any::<String>()]) {
        let origin = Path::new("knowledge/c2c.yaml");
        match kb::parse_str(&src, origin) {
            Ok(_) => {}
            Err(problems) => {
                prop_assert!(!problems.is_empty());
                for p in &problems {
                    prop_assert!(p.to_string().starts_with("knowledge/c2c.yaml:"), "{}", p);
                }
            }
        }
        let _ = kb::parse_synonyms(&src, Path::new("synonyms.yaml"));
        let _ = kb::parse_out_of_scope(&src, Path::new("out-of-scope.yaml"));
        let _ = kb::parse_cues(&src, Path::new("cues.yaml"));
    }

    /// A broken config is refused with a message naming what is wrong.
    #[test]
    fn the_config_parser_never_panics(src in prop_oneof![mutated(CONFIG), any::<String>()]) {
        if let Err(e) = Config::parse_str(&src) {
            prop_assert!(!e.trim().is_empty());
        }
    }

    /// Any custom_id decodes to a route or to nothing; a decoded route
    /// encodes back to an id that decodes to the same route.
    #[test]
    fn custom_ids_never_panic_and_round_trip(
        id in prop_oneof![
            any::<String>(),
            "t:[a-z]{1,6}:[0-9a-z]{0,14}\\.[0-9a-z]{0,14}(:[ -~]{0,40})?",
        ]
    ) {
        if let Some(route) = Route::decode(&id) {
            if let Ok(again) = route.encode() {
                prop_assert_eq!(Route::decode(&again), Some(route));
            }
        }
    }

    /// Every ticket field validator answers any text with ok or a reason.
    #[test]
    fn field_validators_never_panic(answer in any::<String>()) {
        for product in shipped().products() {
            for field in &product.ticket_fields {
                if let Err(reason) = field.check(&answer) {
                    prop_assert!(!reason.trim().is_empty());
                }
            }
        }
    }

    /// The Markdown splitter keeps every piece within the limit and, outside
    /// code fences, loses no visible character.
    #[test]
    fn the_markdown_splitter_keeps_limits_and_text(
        s in prop_oneof![any::<String>(), "([a-z]{1,12}[ \n]{1,2}|```|\\*\\*|> |- ){0,400}"],
        max in 40usize..2000,
    ) {
        let pieces = text::split(&s, max);
        for p in &pieces {
            prop_assert!(text::len(p) <= max, "{} > {}", text::len(p), max);
        }
        if !s.contains("```") {
            let visible = |t: &str| t.chars().filter(|c| !c.is_whitespace()).collect::<String>();
            prop_assert_eq!(visible(&pieces.concat()), visible(&s));
        }
    }
}

proptest! {
    // The matcher is the slowest thing here: fewer cases.
    #![proptest_config(cases(48))]

    /// `match` answers any input, in any product, with at most 5 results.
    #[test]
    fn match_input_never_panics(
        text in prop_oneof![
            any::<String>(),
            "(widget|call|429|init\\(\\)|no audio|hola|CSP|```|<@123>|[ -~]{1,12}| ){0,60}",
        ],
        product in prop::option::of(prop::sample::select(vec!["c2c", "convot", "widget-sdk", "nope"])),
    ) {
        let product = product.map(triage::kb::ProductId::from);
        let m = matcher().find(&Query { text: &text, product: product.as_ref(), among: None });
        prop_assert!(m.results.len() <= 5);
    }
}
