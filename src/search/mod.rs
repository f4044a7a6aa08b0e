//! Search: the analyzer that turns entry text and user text into the same
//! terms (`words` splits text, `language` reads which language a question
//! is in and holds its stemmer and function words, `analysis` is the
//! `Lexicon`: typo correction, synonyms, stopwords) and the in-RAM tantivy
//! index over entries that the matcher queries with those terms (`index`).

mod analysis;
mod index;
mod language;
mod words;

pub use analysis::{AnalyzedTerm, Lexicon};
pub use index::{bm25_idf, Boosts, Fields, IndexDoc, SearchIndex, BOOSTS};
pub use words::words;
