//! The built `triage` binary as a terminal user runs it, for the tests that
//! drive the CLI (`tests/chat.rs`, `tests/lifecycle/binary.rs`): the shipped
//! model and knowledge base on a database the test chooses, and a process
//! fed its stdin to the end.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// `triage --kb knowledge/ --db DB`: the shipped model and knowledge base,
/// no colour, warnings only, and neither TRIAGE_DB nor TRIAGE_KB from the
/// environment. A test adds the subcommand and what else it sets.
pub fn triage(db: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_triage"));
    c.env("TRIAGE_MODEL", "shipped");
    c.arg("--kb")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge"))
        .arg("--db")
        .arg(db)
        .env_remove("TRIAGE_DB")
        .env_remove("TRIAGE_KB")
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "warn");
    c
}

/// Starts `command` with `lines` as its stdin, closes the stdin and waits
/// for the end; stdout and stderr are captured. The caller judges the exit.
pub fn feed(command: &mut Command, lines: &[&str]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for l in lines {
        writeln!(stdin, "{l}").unwrap();
    }
    drop(stdin);
    child.wait_with_output().unwrap()
}
