//! Unit tests of the analyzer: the typo corrector's letter bound,
//! stemming, synonyms, stop words and language handling.

use super::*;
use proptest::prelude::*;

proptest! {
    /// The letter-count filter may only skip words that really are
    /// further away than the corrector's limit.
    #[test]
    fn letter_bound_never_exceeds_the_edit_distance(a in "[a-z\u{e9}]{0,12}", b in "[a-z\u{e9}]{0,12}") {
        let bound = Letters::of(&a).distance_bound(&Letters::of(&b));
        prop_assert!(bound <= strsim::osa_distance(&a, &b));
    }
}

fn synonyms(groups: &[&[&str]], stopwords: &[&str]) -> Synonyms {
    Synonyms {
        groups: groups
            .iter()
            .map(|g| g.iter().map(|w| (*w).to_owned()).collect())
            .collect(),
        stopwords: stopwords.iter().map(|w| (*w).to_owned()).collect(),
        ..Synonyms::default()
    }
}

fn lexicon() -> Lexicon {
    let syn = synonyms(
        &[
            &["microphone", "mic", "micrófono"],
            &["not showing", "doesn't appear", "missing", "invisible"],
            &["not", "doesnt", "aint", "cant"],
        ],
        &[],
    );
    Lexicon::new(
        &syn,
        [
            "The widget does not appear",
            "microphone permission fails",
            "joinQueue() throws",
        ],
    )
}

fn texts(terms: Vec<AnalyzedTerm>) -> Vec<String> {
    terms.into_iter().map(|t| t.text).collect()
}

#[test]
fn british_ise_spellings_read_as_ize() {
    let lex = lexicon();
    assert_eq!(lex.analyze_kb("initialise"), lex.analyze_kb("initialize"));
}

#[test]
fn typos_are_corrected_but_short_words_are_not() {
    let lex = lexicon();
    assert_eq!(
        lex.analyze_kb("microphone")[0],
        lex.analyze("micraphone")[0].text
    );
    assert!(lex.analyze("micraphone")[0].corrected);
    assert_eq!(lex.analyze("widgt")[0].text, "widget");
    assert_eq!(lex.analyze("wid")[0].text, "wid");
}

#[test]
fn foreign_synonyms_that_stem_like_english_do_not_capture_it() {
    let syn = synonyms(&[&["logged in", "signed in", "connecte"]], &[]);
    let lex = Lexicon::new(
        &syn,
        ["the call is connected", "user is logged in", "ad blocker"],
    );
    assert_eq!(lex.analyze_kb("connecte"), ["log_in"]);
    assert_eq!(lex.analyze_kb("connected"), ["connect"]);
    // Short stems keep their doubled letter: "added" is not "ad".
    assert_eq!(lex.analyze_kb("added"), lex.analyze_kb("add"));
    assert_ne!(lex.analyze_kb("added"), lex.analyze_kb("ad"));
}

#[test]
fn inflected_real_words_are_not_corrected_two_edits_away() {
    let lex = Lexicon::new(&Synonyms::default(), ["pricing plans", "recommended setup"]);
    assert_ne!(lex.analyze("printing")[0].text, "price");
    assert!(lex.analyze("recomended")[0].corrected);
}

#[test]
fn synonyms_map_phrases_and_foreign_words_to_one_term() {
    let lex = lexicon();
    let a = lex.analyze_kb("the widget doesn't appear");
    let b = lex.analyze_kb("widget missing");
    assert!(a.contains(&"not_show".to_owned()), "{a:?}");
    assert_eq!(b, ["widget", "not_show"]);
    assert_eq!(lex.analyze_kb("el micrófono"), lex.analyze_kb("el mic"));
}

fn multilingual() -> Lexicon {
    let syn = synonyms(
        &[
            &["not", "doesnt", "nicht", "kein", "pas", "nao", "no"],
            &["message", "mensaje", "nachricht", "mensagem"],
            &["arrive", "llegar", "chegar"],
            &["hear", "horen", "entendre", "entend"],
            &["not showing", "missing", "ist weg"],
        ],
        &["hola", "problem"],
    );
    Lexicon::new(
        &syn,
        [
            "Messages arrive late in the inbox",
            "The agent cannot hear the caller",
            "The widget is missing",
        ],
    )
}

#[test]
fn foreign_inflections_reach_their_synonym_through_the_languages_stemmer() {
    let lex = multilingual();
    let es = texts(lex.analyze("hola, los mensajes del chat no llegan nunca al agente"));
    assert!(es.contains(&"messag".to_owned()), "{es:?}");
    assert!(es.contains(&"arriv".to_owned()), "{es:?}");
    let pt = texts(lex.analyze("as mensagens dos clientes nunca chegam, o que pode ser"));
    assert!(pt.contains(&"messag".to_owned()), "{pt:?}");
    assert!(pt.contains(&"arriv".to_owned()), "{pt:?}");
}

#[test]
fn negations_survive_the_stopword_lists() {
    let lex = multilingual();
    let de = texts(lex.analyze("der Agent kann den Anrufer leider nicht hören"));
    assert!(de.contains(&"not".to_owned()), "{de:?}");
    assert!(de.contains(&"hear".to_owned()), "{de:?}");
    // An inflection of a listed negation ("keine" of "kein") too.
    let de = texts(lex.analyze("wir bekommen keine Nachrichten mehr von den Kunden"));
    assert!(de.contains(&"not".to_owned()), "{de:?}");
    let fr = texts(lex.analyze("l'agent n'entend pas le client quand il appelle"));
    assert!(fr.contains(&"not".to_owned()), "{fr:?}");
    assert!(fr.contains(&"hear".to_owned()), "{fr:?}");
    let en = texts(lex.analyze("the agent does not hear anything"));
    assert!(en.contains(&"not".to_owned()), "{en:?}");
}

#[test]
fn function_words_are_dropped_in_the_questions_language() {
    let lex = multilingual();
    let es = texts(lex.analyze("los mensajes de la web no llegan a nuestro equipo"));
    for w in ["los", "de", "la", "a", "nuestro"] {
        assert!(!es.iter().any(|t| t == w), "{w} in {es:?}");
    }
    // Phrases may be made of function words alone ("ist weg").
    let de = texts(lex.analyze("das Widget ist weg seit dem Update auf der Seite"));
    assert!(de.contains(&"not_show".to_owned()), "{de:?}");
}

#[test]
fn a_listed_word_wins_over_another_groups_stem() {
    // Portuguese stems "microfone" (microphone) and "microfonia" (echo)
    // alike; the listed word is read as listed, and an unlisted
    // inflection goes to the item the stemmer changes least.
    let syn = synonyms(
        &[&["echo", "microfonia"], &["microphone", "microfone"]],
        &[],
    );
    let lex = Lexicon::new(&syn, ["the agent hears an echo", "microphone blocked"]);
    let pt = texts(lex.analyze("o microfone do cliente nao funciona no celular"));
    assert!(pt.contains(&"microphon".to_owned()), "{pt:?}");
    let pt = texts(lex.analyze("os microfones dos clientes nao funcionam"));
    assert!(pt.contains(&"microphon".to_owned()), "{pt:?}");
}

#[test]
fn derivational_suffixes_lend_no_stem() {
    // "nuevamente" (again) and "nuevo" (new) share the Spanish stem
    // "nuev"; an adverb's stem does not stand for the adjective.
    let syn = synonyms(&[&["again", "nuevamente"]], &[]);
    let lex = Lexicon::new(&syn, ["it happens again"]);
    let es = texts(lex.analyze("el widget nuevo no carga en la web de la tienda"));
    assert!(!es.contains(&"again".to_owned()), "{es:?}");
    let es = texts(lex.analyze("el widget falla nuevamente en la web de la tienda"));
    assert!(es.contains(&"again".to_owned()), "{es:?}");
}

#[test]
fn synonym_items_stay_terms_where_a_stopword_list_has_them() {
    // NLTK lists German "hinter"; the synonyms say it means behind.
    let syn = synonyms(&[&["behind", "hinter"]], &[]);
    let lex = Lexicon::new(&syn, ["calls fail behind a corporate proxy"]);
    let de = texts(lex.analyze("bei Kunden hinter einer Firewall bricht der Anruf ab"));
    assert!(de.contains(&"behind".to_owned()), "{de:?}");
}

#[test]
fn english_questions_keep_words_other_languages_list() {
    // "die" is a German article; in English a call dies.
    let lex = multilingual();
    let en = texts(lex.analyze("calls die after a minute"));
    assert!(en.contains(&"die".to_owned()), "{en:?}");
}
