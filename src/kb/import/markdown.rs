//! Markdown pages, read with pulldown-cmark. Raw HTML in the page is
//! dropped, and so is any text between `<script>`/`<style>` tags, so
//! nothing a page would run ends up in a draft.

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag};

use super::doc::{collapse, Block, Inline};

/// Reads a Markdown page into blocks.
pub fn parse(src: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut buf = Inline::default();
    let mut in_heading: Option<u8> = None;
    let mut list_depth: u8 = 0;
    // Depth of the item whose text is in `buf`, if any.
    let mut item: Vec<u8> = Vec::new();
    let mut code: Option<String> = None;
    let mut strong: Option<String> = None;
    let mut table: Option<(Vec<String>, Vec<Vec<String>>)> = None;
    let mut row: Vec<String> = Vec::new();
    let mut cell = String::new();
    let mut skipping = false; // between <script> and </script>

    let flush = |buf: &mut Inline, out: &mut Vec<Block>, item: &[u8]| {
        let text = collapse(&buf.text);
        if text.is_empty() {
            *buf = Inline::default();
            return;
        }
        let inline = Inline {
            text,
            code: std::mem::take(&mut buf.code),
            strong: std::mem::take(&mut buf.strong),
        };
        *buf = Inline::default();
        match item.last() {
            Some(&d) => out.push(Block::Item {
                depth: d,
                text: inline,
            }),
            None => out.push(Block::Para(inline)),
        }
    };

    for ev in Parser::new_ext(src, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH) {
        match ev {
            Event::Html(h) => {
                let l = h.to_ascii_lowercase();
                if l.contains("<script") || l.contains("<style") {
                    skipping = !(l.contains("</script") || l.contains("</style"));
                } else if l.contains("</script") || l.contains("</style") {
                    skipping = false;
                }
            }
            _ if skipping => {}
            Event::Start(Tag::Heading(level, ..)) => {
                flush(&mut buf, &mut out, &item);
                in_heading = Some(heading_level(level));
            }
            Event::End(Tag::Heading(..)) => {
                let text = collapse(&buf.text);
                if let (Some(level), false) = (in_heading.take(), text.is_empty()) {
                    out.push(Block::Heading {
                        level,
                        text: Inline {
                            text,
                            code: std::mem::take(&mut buf.code),
                            strong: std::mem::take(&mut buf.strong),
                        },
                        rebuilt: false,
                    });
                }
                buf = Inline::default();
            }
            Event::Start(Tag::List(_)) => {
                flush(&mut buf, &mut out, &item);
                list_depth += 1;
            }
            Event::End(Tag::List(_)) => list_depth = list_depth.saturating_sub(1),
            Event::Start(Tag::Item) => {
                flush(&mut buf, &mut out, &item);
                item.push(list_depth.saturating_sub(1));
            }
            Event::End(Tag::Item) => {
                flush(&mut buf, &mut out, &item);
                item.pop();
            }
            Event::Start(Tag::Paragraph) => {
                if item.is_empty() {
                    flush(&mut buf, &mut out, &item);
                } else {
                    buf.text.push(' ');
                }
            }
            Event::End(Tag::Paragraph) if item.is_empty() => flush(&mut buf, &mut out, &item),
            Event::Start(Tag::CodeBlock(_)) => {
                flush(&mut buf, &mut out, &item);
                code = Some(String::new());
            }
            Event::End(Tag::CodeBlock(_)) => {
                if let Some(c) = code.take() {
                    let c = c.trim_end().to_owned();
                    if !c.is_empty() {
                        out.push(Block::Code(c));
                    }
                }
            }
            Event::Start(Tag::Table(_)) => {
                flush(&mut buf, &mut out, &item);
                table = Some((Vec::new(), Vec::new()));
            }
            Event::End(Tag::Table(_)) => {
                if let Some((header, rows)) = table.take() {
                    out.push(Block::Table { header, rows });
                }
            }
            Event::End(Tag::TableHead) => {
                if let Some(t) = table.as_mut() {
                    t.0 = std::mem::take(&mut row);
                }
            }
            Event::End(Tag::TableRow) => {
                if let Some(t) = table.as_mut() {
                    t.1.push(std::mem::take(&mut row));
                }
            }
            Event::End(Tag::TableCell) => {
                row.push(collapse(&cell));
                cell.clear();
            }
            Event::Start(Tag::Strong) => strong = Some(String::new()),
            Event::End(Tag::Strong) => {
                if let Some(s) = strong.take() {
                    buf.strong.push(collapse(&s));
                }
            }
            Event::Code(c) => {
                let c = c.to_string();
                if table.is_some() {
                    cell.push_str(&c);
                } else {
                    buf.code.push(collapse(&c));
                    buf.text.push_str(&c);
                }
                if let Some(s) = strong.as_mut() {
                    s.push_str(&c);
                }
            }
            Event::Text(t) => {
                if let Some(c) = code.as_mut() {
                    c.push_str(&t);
                } else if table.is_some() {
                    cell.push_str(&t);
                } else {
                    buf.text.push_str(&t);
                    if let Some(s) = strong.as_mut() {
                        s.push_str(&t);
                    }
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if table.is_some() {
                    cell.push(' ');
                } else {
                    buf.text.push(' ');
                }
            }
            _ => {}
        }
    }
    flush(&mut buf, &mut out, &item);
    out
}

fn heading_level(l: HeadingLevel) -> u8 {
    match l {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_items_keep_their_depth_and_scripts_are_dropped() {
        let b = parse("# Page\n\n## Problem\n\n1. **Cause:** it `broke`\n   - Fix: mend it\n\n<script>alert('x')</script>\n\nText <script>evil()</script> after.\n");
        assert!(matches!(&b[0], Block::Heading { level: 1, .. }));
        let Block::Item { depth: 0, text } = &b[2] else {
            panic!("{b:?}")
        };
        assert_eq!(text.code, ["broke"]);
        assert_eq!(text.strong, ["Cause:"]);
        assert!(matches!(&b[3], Block::Item { depth: 1, .. }), "{b:?}");
        let all = format!("{b:?}");
        assert!(!all.contains("alert") && !all.contains("evil"), "{all}");
    }
}
