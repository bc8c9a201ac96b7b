//! Escaping text for XML 1.0 and HTML, in element content and in quoted attribute values.

/// `s` as XML or HTML text: `&`, `<`, `>`, `"` and `'` become references (`&#39;` for the
/// apostrophe, which HTML 4 lacks as `&apos;`), and the control characters XML 1.0 forbids
/// (below U+0020 except tab, line feed and carriage return) become U+FFFD, so no input can
/// make the document malformed.
pub fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::xml;

    #[test]
    fn markup_and_forbidden_controls_are_escaped_and_the_rest_kept() {
        assert_eq!(
            xml("a<b & \"c\" 'd' >"),
            "a&lt;b &amp; &quot;c&quot; &#39;d&#39; &gt;"
        );
        assert_eq!(xml("tab\tline\ncr\r"), "tab\tline\ncr\r");
        assert_eq!(xml("nul\u{0}bell\u{7}"), "nul\u{FFFD}bell\u{FFFD}");
        assert_eq!(xml("µm, g/m²/h, °C"), "µm, g/m²/h, °C");
    }

    #[test]
    fn an_independent_xml_reader_reads_escaped_text_back_as_it_was() {
        // Every printable ASCII character and a few beyond, in an element and an attribute:
        // roxmltree unescapes both to the input.
        let s: String = (0x20u8..0x7f)
            .map(char::from)
            .chain("µ²°é\t".chars())
            .collect();
        let doc = format!("<r a=\"{}\">{}</r>", xml(&s), xml(&s));
        let parsed = roxmltree::Document::parse(&doc).expect("well-formed");
        let r = parsed.root_element();
        assert_eq!(r.text(), Some(s.as_str()));
        // Attribute values are normalized by XML (a tab becomes a space).
        assert_eq!(r.attribute("a"), Some(s.replace('\t', " ").as_str()));
        // A forbidden control character cannot make the document malformed.
        let bad = format!("<r>{}</r>", xml("x\u{1}y"));
        assert!(roxmltree::Document::parse(&bad).is_ok());
    }
}
