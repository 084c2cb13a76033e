//! Telegram's HTML parse mode, as far as a bot needs it: the allowed tags and entities are
//! accepted and removed from the visible text; anything else is refused like the real API does
//! ("can't parse entities"), which catches user text that was not escaped.

const TAGS: &[&str] = &[
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "tg-spoiler", "span", "blockquote",
];

/// The visible text of an HTML-formatted message, or the API's error description.
pub fn visible_text(html: &str) -> Result<String, String> {
    let mut out = String::with_capacity(html.len());
    let mut open: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => {
                let end = rest.find('>').ok_or_else(|| err("unclosed start tag", html, rest))?;
                let tag = &rest[1..end];
                if let Some(name) = tag.strip_prefix('/') {
                    match open.pop() {
                        Some(o) if o == name.trim() => {}
                        _ => return Err(err("unmatched end tag", html, rest)),
                    }
                } else {
                    let name = tag.split_whitespace().next().unwrap_or("");
                    if !TAGS.contains(&name) {
                        return Err(err(&format!("unsupported start tag \"{name}\""), html, rest));
                    }
                    open.push(name.to_owned());
                }
                rest = &rest[end + 1..];
            }
            '&' => {
                let end = rest.find(';').filter(|&e| e <= 8).ok_or_else(|| err("unsupported entity", html, rest))?;
                out.push(match &rest[1..end] {
                    "lt" => '<',
                    "gt" => '>',
                    "amp" => '&',
                    "quot" => '"',
                    _ => return Err(err("unsupported entity", html, rest)),
                });
                rest = &rest[end + 1..];
            }
            _ => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if let Some(tag) = open.pop() {
        return Err(format!("Bad Request: can't parse entities: can't find end tag corresponding to start tag \"{tag}\""));
    }
    Ok(out)
}

fn err(what: &str, all: &str, rest: &str) -> String {
    let offset = all[..all.len() - rest.len()].encode_utf16().count();
    format!("Bad Request: can't parse entities: {what} at byte offset {offset}")
}

#[cfg(test)]
mod tests {
    use super::visible_text;

    #[test]
    fn markup_is_removed_and_bad_markup_refused() {
        assert_eq!(visible_text("<b>Каналы</b> &lt;3 &amp; <a href=\"https://t.me/x\">x</a>").unwrap(), "Каналы <3 & x");
        assert!(visible_text("a < b").is_err());
        assert!(visible_text("<b>open").is_err());
        assert!(visible_text("<script>x</script>").is_err());
        assert!(visible_text("R&D").is_err());
    }
}
