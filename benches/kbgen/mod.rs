//! Generates a synthetic knowledge base of any size for the matching
//! benchmarks: products of a few hundred entries each, written as the YAML
//! editors write, with support vocabulary (symptoms, errors, statuses,
//! checks with signals) and loaded through `KnowledgeBase::from_sources`.

use std::fmt::Write as _;
use std::path::PathBuf;

use triage::kb::KnowledgeBase;

const SUBJECTS: &[&str] = &[
    "chat widget",
    "call button",
    "launcher icon",
    "video window",
    "inbox",
    "webhook",
    "survey",
    "queue position",
    "session token",
    "embed iframe",
    "loader script",
    "microphone prompt",
    "audio stream",
    "pre-call form",
    "contact form",
    "agent console",
    "notification sound",
    "typing indicator",
    "file upload",
    "screen share",
    "callback request",
    "status page",
    "analytics event",
    "identity hash",
    "language picker",
    "transcript email",
    "offline message",
    "business hours banner",
    "consent dialog",
    "mobile layout",
    "dark theme",
    "avatar image",
    "attachment preview",
    "ticket link",
    "routing rule",
    "sip trunk",
    "recording indicator",
    "waiting music",
    "greeting message",
    "csat rating",
];
const FAILURES: &[&str] = &[
    "does not appear",
    "never loads",
    "shows a blank box",
    "stays greyed out",
    "disappears after a few seconds",
    "is stuck on loading",
    "fails silently",
    "throws an error",
    "arrives late",
    "goes missing",
    "is cut off",
    "keeps resetting",
    "shows the wrong language",
    "never fires",
    "is duplicated",
    "breaks after login",
    "freezes the page",
    "is rejected by the server",
    "times out",
    "shows twice",
];
const CONTEXTS: &[&str] = &[
    "on mobile",
    "in Safari",
    "behind a corporate proxy",
    "after the last deploy",
    "for logged-in users",
    "on the pricing page",
    "in an iframe",
    "with an ad blocker",
    "after an hour on the page",
    "when the tab is in the background",
    "on slow networks",
    "in incognito mode",
    "on our staging domain",
    "in the React app",
    "after a page refresh",
    "during peak hours",
    "for visitors abroad",
    "on Android",
    "with strict CSP",
    "after switching wifi",
];
const CAUSES: &[&str] = &[
    "the content security policy blocks the script",
    "the app key in the snippet is wrong",
    "the domain is not on the allowlist",
    "an ad blocker hides the element",
    "the token expired",
    "the init call runs twice",
    "the element mounts after the timeout",
    "the integration is paused",
    "the request is rate limited",
    "the browser denied the permission",
    "the websocket upgrade is blocked",
    "the profile has no destination",
    "the schedule evaluates to closed",
    "the payload exceeds the limit",
    "the handler throws and the error is swallowed",
    "the page is served over plain http",
    "the mobile template strips the snippet",
    "the event name is not selected",
    "the cache serves an old build",
    "the parent page never sends the handshake",
];
const FIXES: &[&str] = &[
    "add the origin to the directive",
    "copy the key again from settings",
    "verify the domain in the console",
    "allowlist the site in the blocker",
    "create a new client instance",
    "guard the call with a flag",
    "render the container before init",
    "reactivate the integration",
    "initialise once per session",
    "ask the visitor to re-enable access",
    "enable websocket upgrades on the proxy",
    "add a destination",
    "fix the timezone of the schedule",
    "shorten the context values",
    "check the sandbox console",
    "serve the page over https",
    "include the snippet in every template",
    "select the event in the editor",
    "purge the cdn cache",
    "send the handshake after the iframe loads",
];
const ERRORS: &[&str] = &[
    "Refused to load the script",
    "Widget not initialized",
    "Permission denied by the user",
    "WebSocket connection failed",
    "Token has expired",
    "Origin not allowed",
    "Rate limit exceeded",
    "Parent node not found",
    "Invalid widget key",
    "Session could not be created",
];
const STATUSES: &[u16] = &[
    400, 401, 403, 404, 409, 410, 413, 422, 423, 429, 500, 502, 503,
];

/// A deterministic pseudo-random sequence (xorshift), so every run
/// benchmarks the same knowledge base.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

fn product_yaml(p: usize, entries: usize, rng: &mut Rng) -> String {
    let mut y = String::new();
    let _ = writeln!(
        y,
        "product:\n  id: prod{p}\n  name: Product {p} support widget\n  aliases: [prod{p}, product{p}.example.com, Prod{p}Client]\n  ticket_fields:\n    - id: account\n      label: Account\n      question: Which account is it?\n      example: acme\nentries:"
    );
    for e in 0..entries {
        let subject = rng.pick(SUBJECTS);
        let failure = rng.pick(FAILURES);
        let _ = writeln!(y, "  - id: prod{p}/{}-{e}", subject.replace(' ', "-"));
        let _ = writeln!(y, "    title: \"The {subject} {failure} ({p}.{e})\"");
        y.push_str("    symptoms:\n");
        for _ in 0..6 {
            let _ = writeln!(
                y,
                "      - \"{} {} {}\"",
                rng.pick(SUBJECTS),
                rng.pick(FAILURES),
                rng.pick(CONTEXTS)
            );
        }
        let _ = writeln!(y, "      - \"the {subject} {failure}\"");
        if rng.next().is_multiple_of(3) {
            let _ = writeln!(y, "    errors: [\"{}\"]", rng.pick(ERRORS));
        }
        if rng.next().is_multiple_of(4) {
            let _ = writeln!(
                y,
                "    statuses: [{}]",
                STATUSES[(rng.next() % STATUSES.len() as u64) as usize]
            );
        }
        y.push_str("    checks:\n");
        for c in 0..3 {
            let _ = writeln!(
                y,
                "      - id: check-{c}\n        cause: \"Maybe {}.\"\n        verify: \"Open the console {} and look at the {}.\"\n        fix: \"{}.\"\n        signals: [\"{}\", \"{}\"]",
                rng.pick(CAUSES),
                rng.pick(CONTEXTS),
                rng.pick(SUBJECTS),
                rng.pick(FIXES),
                rng.pick(CONTEXTS),
                rng.pick(SUBJECTS)
            );
        }
    }
    y
}

/// A knowledge base of `entries` entries over products of 200 entries,
/// with the shipped synonyms file so the analyzer is the real one.
pub fn generate(entries: usize, synonyms: &str) -> KnowledgeBase {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let per_product = 200;
    let mut files = vec![(PathBuf::from("synonyms.yaml"), synonyms.to_owned())];
    let mut left = entries;
    let mut p = 0;
    while left > 0 {
        let n = left.min(per_product);
        files.push((
            PathBuf::from(format!("prod{p}.yaml")),
            product_yaml(p, n, &mut rng),
        ));
        left -= n;
        p += 1;
    }
    match KnowledgeBase::from_sources(&files) {
        Ok(kb) => kb,
        Err(problems) => {
            for pr in problems.iter().take(10) {
                eprintln!("{pr}");
            }
            panic!(
                "the generated knowledge base is invalid ({} problems)",
                problems.len()
            );
        }
    }
}
