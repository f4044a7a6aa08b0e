//! The page as the importer sees it, whatever its format: headings,
//! paragraphs, list items, tables and code, in page order. Each front end
//! (Markdown, HTML, plain text) produces this; `build` reads only this.

/// Text with what its formatting said about parts of it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inline {
    /// The text as read, whitespace collapsed.
    pub text: String,
    /// Code-formatted spans (`like this`): candidate error strings.
    pub code: Vec<String>,
    /// Spans the page marks as emphasised (bold): candidate labels such as
    /// "Cause:" or "Fix:".
    pub strong: Vec<String>,
}

impl Inline {
    pub fn plain(text: &str) -> Self {
        Inline {
            text: collapse(text),
            ..Default::default()
        }
    }
}

/// One block of the page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    /// A heading; `level` 1 is the page title. `rebuilt` says the page lost
    /// the heading and the importer took the paragraph's first sentence.
    Heading {
        level: u8,
        text: Inline,
        rebuilt: bool,
    },
    Para(Inline),
    /// A list item; `depth` 0 is a top-level item.
    Item {
        depth: u8,
        text: Inline,
    },
    /// A table: its header row (may be empty) and its rows.
    Table {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    Code(String),
}

/// Collapses runs of whitespace to one space and trims.
pub fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}
