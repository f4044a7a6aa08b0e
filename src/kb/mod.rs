//! The knowledge base: products, troubleshooting entries and synonyms as the
//! editors write them in `knowledge/*.yaml`, and the loader that validates
//! them. Every problem is reported (not just the first) as `file:line:col: message`.
//!
//! `types` holds what editors write, `fields` the ticket-field rules,
//! `parse` the pure per-file parsers, `validate` the cross-file checks and
//! `load` the I/O; `import` drafts a product file from a vendor page and
//! `suggest` proposes edits from the query log.

use std::collections::HashMap;

mod cues;
mod fields;
pub mod import;
mod load;
mod parse;
pub mod suggest;
mod types;
mod validate;

pub use cues::{parse_cues, Cues};
pub use fields::{FieldSpec, Format, Validation};
pub use load::{fitted_file, load_dir, FITTED_FILE};
use parse::{locate, yaml_problem};
pub use parse::{parse_out_of_scope, parse_str, parse_synonyms, ParsedFile};
pub use types::{
    Check, Entry, Guide, KbError, OutOfScope, Problem, Product, Span, Synonyms, Topic,
};

/// Declares a string newtype id that serializes as a bare string. Every id
/// that crosses a module boundary (`EntryId`, `tickets::Place`, ...) is one.
macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(s: impl Into<String>) -> Self {
                Self(s.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
    };
}

pub(crate) use string_id;

string_id!(
    /// A troubleshooting entry id, `product/slug`, fixed by `eval/entries.yaml`.
    EntryId
);
string_id!(
    /// A product id such as `c2c`; also the name of its YAML file.
    ProductId
);
string_id!(
    /// A check id, unique within its entry.
    CheckId
);
string_id!(
    /// A ticket field id, unique within its product.
    FieldId
);

impl EntryId {
    /// The product part of `product/slug`.
    pub fn product(&self) -> &str {
        self.0.split_once('/').map_or("", |(p, _)| p)
    }
}

/// A validated knowledge base.
#[derive(Clone, Debug, Default)]
pub struct KnowledgeBase {
    products: Vec<Product>,
    entries: Vec<Entry>,
    synonyms: Synonyms,
    out_of_scope: Vec<Topic>,
    cues: Cues,
    /// The matcher's fitted parameters (`matcher.json` beside the YAML
    /// files), when the directory has its own.
    fitted: Option<String>,
    /// The fitted parameters for models from outside the binary, by the
    /// model's name (`matcher.<name>.json`).
    fitted_models: std::collections::BTreeMap<String, String>,
    by_id: HashMap<EntryId, usize>,
}

impl KnowledgeBase {
    pub fn products(&self) -> &[Product] {
        &self.products
    }

    /// The question-type cues (`cues.yaml`).
    pub fn cues(&self) -> &Cues {
        &self.cues
    }

    /// The matcher's fitted parameters as JSON, when the knowledge
    /// directory has its own `matcher.json`.
    pub fn fitted(&self) -> Option<&str> {
        self.fitted.as_deref()
    }

    /// Replaces the fitted parameters (for `triage fit` and tests).
    pub fn set_fitted(&mut self, json: Option<String>) {
        self.fitted = json;
    }

    /// The fitted parameters for the embedding model named `model`
    /// (`None`: the shipped tables, `fitted`).
    pub fn fitted_for(&self, model: Option<&str>) -> Option<&str> {
        match model {
            None => self.fitted(),
            Some(m) => self.fitted_models.get(m).map(String::as_str),
        }
    }

    /// Replaces the fitted parameters for the model named `model`.
    pub fn set_fitted_for(&mut self, model: Option<&str>, json: Option<String>) {
        match (model, json) {
            (None, json) => self.fitted = json,
            (Some(m), Some(json)) => {
                self.fitted_models.insert(m.to_owned(), json);
            }
            (Some(m), None) => {
                self.fitted_models.remove(m);
            }
        }
    }

    pub fn product(&self, id: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.id.as_str() == id)
    }

    /// All entries, in file order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn entry(&self, id: &str) -> Option<&Entry> {
        self.by_id.get(id).map(|&i| &self.entries[i])
    }

    pub fn synonyms(&self) -> &Synonyms {
        &self.synonyms
    }

    /// The topics this knowledge base does not answer.
    pub fn out_of_scope(&self) -> &[Topic] {
        &self.out_of_scope
    }
}
