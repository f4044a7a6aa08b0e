//! Search: the analyzer that turns entry text and user text into the same
//! terms (`words` splits text, `language` reads which language a question
//! is in and holds its stemmer and function words, `analysis` is the
//! `Lexicon`: typo correction, synonyms, stopwords) and the in-RAM tantivy
//! index over entries that the matcher queries with those terms (`index`);
//! `chat` takes a chat message's emoji shortcodes and @-mentions out before
//! a question is read.

mod analysis;
mod chat;
mod index;
mod language;
mod words;

pub use analysis::{AnalyzedTerm, Lexicon};
pub use chat::without_decoration;
pub use index::{bm25_idf, Boosts, Fields, IndexDoc, SearchIndex, BOOSTS};
pub use words::words;
