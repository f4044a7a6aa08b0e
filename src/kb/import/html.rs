//! HTML pages, read with scraper (html5ever). Scripts, styles, templates,
//! navigation, forms and hidden elements are skipped whole, so their text
//! never reaches a draft. `<dt>`/`<summary>` (FAQ layouts) read as
//! headings under the current one.

use scraper::node::Node;
use scraper::{ElementRef, Html};

use super::doc::{collapse, Block, Inline};

/// Reads an HTML page into blocks.
pub fn parse(src: &str) -> Vec<Block> {
    let doc = Html::parse_document(src);
    let mut w = Walker {
        out: Vec::new(),
        last_level: 1,
        pending: Inline::default(),
    };
    w.walk(doc.root_element(), 0);
    w.flush();
    w.out
}

struct Walker {
    out: Vec<Block>,
    /// The level of the last heading, so FAQ questions nest under it.
    last_level: u8,
    /// Loose text directly inside a container (not in a `<p>`).
    pending: Inline,
}

fn skipped(el: &ElementRef) -> bool {
    let v = el.value();
    matches!(
        v.name(),
        "script"
            | "style"
            | "noscript"
            | "template"
            | "head"
            | "svg"
            | "iframe"
            | "object"
            | "canvas"
            | "nav"
            | "form"
            | "button"
            | "select"
            | "textarea"
    ) || v.attr("hidden").is_some()
        || v.attr("aria-hidden") == Some("true")
}

impl Walker {
    fn flush(&mut self) {
        let text = collapse(&self.pending.text);
        let p = std::mem::take(&mut self.pending);
        if !text.is_empty() {
            self.out.push(Block::Para(Inline { text, ..p }));
        }
    }

    fn walk(&mut self, el: ElementRef, depth: u8) {
        for child in el.children() {
            match child.value() {
                Node::Text(t) => self.pending.text.push_str(t),
                Node::Element(_) => {
                    let Some(c) = ElementRef::wrap(child) else {
                        continue;
                    };
                    if skipped(&c) {
                        continue;
                    }
                    self.element(c, depth);
                }
                _ => {}
            }
        }
    }

    fn element(&mut self, c: ElementRef, depth: u8) {
        let name = c.value().name();
        match name {
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                self.flush();
                let level = name[1..].parse().unwrap_or(2);
                let text = inline(c, false);
                if !text.text.is_empty() {
                    self.last_level = level;
                    self.out.push(Block::Heading {
                        level,
                        text,
                        rebuilt: false,
                    });
                }
            }
            "dt" | "summary" => {
                self.flush();
                let text = inline(c, false);
                if !text.text.is_empty() {
                    self.out.push(Block::Heading {
                        level: self.last_level.saturating_add(1).min(6),
                        text,
                        rebuilt: false,
                    });
                }
            }
            "p" | "dd" | "blockquote" | "figcaption" if !has_blocks(c) => {
                self.flush();
                let text = inline(c, false);
                if !text.text.is_empty() {
                    self.out.push(Block::Para(text));
                }
            }
            "ul" | "ol" => {
                self.flush();
                for li in c.children().filter_map(ElementRef::wrap) {
                    if li.value().name() != "li" || skipped(&li) {
                        continue;
                    }
                    let text = inline(li, true);
                    if !text.text.is_empty() {
                        self.out.push(Block::Item { depth, text });
                    }
                    // Nested lists and block content of the item.
                    for sub in li.children().filter_map(ElementRef::wrap) {
                        if matches!(sub.value().name(), "ul" | "ol") && !skipped(&sub) {
                            self.element(sub, depth.saturating_add(1));
                        } else if matches!(sub.value().name(), "table" | "pre") {
                            self.element(sub, depth);
                        }
                    }
                }
            }
            "table" => {
                self.flush();
                let mut header = Vec::new();
                let mut rows = Vec::new();
                let sel = scraper::Selector::parse("tr").expect("static selector");
                for tr in c.select(&sel) {
                    let cells: Vec<ElementRef> = tr
                        .children()
                        .filter_map(ElementRef::wrap)
                        .filter(|e| matches!(e.value().name(), "td" | "th"))
                        .collect();
                    let texts: Vec<String> = cells.iter().map(|e| inline(*e, false).text).collect();
                    let is_head = cells.iter().all(|e| e.value().name() == "th");
                    if is_head && header.is_empty() && rows.is_empty() {
                        header = texts;
                    } else if texts.iter().any(|t| !t.is_empty()) {
                        rows.push(texts);
                    }
                }
                self.out.push(Block::Table { header, rows });
            }
            "pre" => {
                self.flush();
                let text: String = text_of(c);
                let text = text.trim_end().to_owned();
                if !text.is_empty() {
                    self.out.push(Block::Code(text));
                }
            }
            "br" => self.pending.text.push(' '),
            "a" | "span" | "code" | "strong" | "b" | "em" | "i" | "q" | "small" | "mark"
            | "kbd" | "abbr" | "sup" | "sub" | "u" | "s" | "time" | "label" => {
                let t = inline(c, false);
                self.pending.text.push(' ');
                self.pending.text.push_str(&t.text);
                self.pending.text.push(' ');
                self.pending.code.extend(t.code);
                self.pending.strong.extend(t.strong);
            }
            _ => {
                // Containers (div, section, main, article, li content...).
                self.flush();
                self.walk(c, depth);
                self.flush();
            }
        }
    }
}

/// Whether an element holds block children (then it is walked, not read
/// as one paragraph).
fn has_blocks(el: ElementRef) -> bool {
    el.children().filter_map(ElementRef::wrap).any(|c| {
        matches!(
            c.value().name(),
            "p" | "ul" | "ol" | "table" | "pre" | "div" | "h1" | "h2" | "h3" | "h4" | "dl"
        )
    })
}

/// The text of an element with its code and bold spans; `item` leaves out
/// nested lists, tables and code blocks (they become blocks of their own).
fn inline(el: ElementRef, item: bool) -> Inline {
    let mut out = Inline::default();
    collect(el, item, &mut out);
    out.text = collapse(&out.text);
    out
}

fn collect(el: ElementRef, item: bool, out: &mut Inline) {
    for child in el.children() {
        match child.value() {
            Node::Text(t) => out.text.push_str(t),
            Node::Element(_) => {
                let Some(c) = ElementRef::wrap(child) else {
                    continue;
                };
                if skipped(&c) {
                    continue;
                }
                let name = c.value().name();
                if item && matches!(name, "ul" | "ol" | "table" | "pre") {
                    continue;
                }
                match name {
                    "code" => {
                        let t = collapse(&text_of(c));
                        out.text.push_str(&t);
                        out.code.push(t);
                    }
                    "strong" | "b" => {
                        let mut inner = Inline::default();
                        collect(c, item, &mut inner);
                        out.strong.push(collapse(&inner.text));
                        out.text.push_str(&inner.text);
                        out.code.extend(inner.code);
                    }
                    "br" => out.text.push(' '),
                    "p" | "div" | "li" | "dd" | "dt" => {
                        out.text.push(' ');
                        collect(c, item, out);
                        out.text.push(' ');
                    }
                    _ => collect(c, item, out),
                }
            }
            _ => {}
        }
    }
}

/// All text under an element except skipped elements.
fn text_of(el: ElementRef) -> String {
    let mut s = String::new();
    for child in el.children() {
        match child.value() {
            Node::Text(t) => s.push_str(t),
            Node::Element(_) => {
                if let Some(c) = ElementRef::wrap(child) {
                    if !skipped(&c) {
                        s.push_str(&text_of(c));
                    }
                }
            }
            _ => {}
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faq_tables_lists_and_no_script_text() {
        let b = parse(
            r#"<html><head><title>x</title><script>steal()</script></head><body>
            <nav>Home | Docs</nav>
            <h1>Help</h1><h2>Calls</h2>
            <dl><dt>Why is there no sound?</dt><dd>The <code>audio.mute</code> flag is on. <script>bad()</script></dd></dl>
            <ul><li><strong>Cause:</strong> a thing<ul><li>Fix: undo it</li></ul></li></ul>
            <table><tr><th>Status</th><th>Meaning</th></tr><tr><td>404</td><td>Not found</td></tr></table>
            <div onclick="x()">loose text</div>
            </body></html>"#,
        );
        let all = format!("{b:?}");
        assert!(
            !all.contains("steal") && !all.contains("bad()") && !all.contains("Home"),
            "{all}"
        );
        assert!(b.iter().any(|x| matches!(x, Block::Heading { level: 3, text, .. } if text.text == "Why is there no sound?")), "{all}");
        assert!(
            b.iter().any(|x| matches!(x, Block::Item { depth: 1, .. })),
            "{all}"
        );
        assert!(
            b.iter()
                .any(|x| matches!(x, Block::Table { rows, .. } if rows[0] == ["404", "Not found"])),
            "{all}"
        );
        assert!(
            b.iter()
                .any(|x| matches!(x, Block::Para(t) if t.text == "loose text")),
            "{all}"
        );
    }
}
