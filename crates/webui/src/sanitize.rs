//! A small HTML subset an administrator may write for everyone to read (the connector's
//! logon-screen text): `<p>`, `<br>`, `<strong>`, `<em>` and `<a href="https://…">`, written
//! exactly so, without other attributes. Everything else is shown as the text it is (escaped),
//! never interpreted: no other tag, no attribute, no entity, no script can get through.
//!
//! Why an allowlist of exact spellings instead of an HTML parser: the input is a few lines by
//! an administrator; anything clever is shown as typed, which is what he sees and can fix.

/// Longest text accepted (bytes).
pub const MAX_LEN: usize = 4096;

/// Escapes `s` for HTML text or a double-quoted attribute.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    P,
    Strong,
    Em,
    A,
}

impl Tag {
    fn name(self) -> &'static str {
        match self {
            Tag::P => "p",
            Tag::Strong => "strong",
            Tag::Em => "em",
            Tag::A => "a",
        }
    }
}

/// What one `<…>` is.
enum Token {
    Open(Tag, Option<String>),
    Close(Tag),
    Br,
}

/// An `https://` URL fit for an `href`: no quotes, angle brackets, spaces or controls.
fn https_url(u: &str) -> bool {
    u.len() > "https://".len()
        && u.get(..8)
            .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
        && !u.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '<' | '>' | '`' | '\\')
        })
}

fn token(inner: &str) -> Option<Token> {
    let lower = inner.to_ascii_lowercase();
    match lower.as_str() {
        "p" => return Some(Token::Open(Tag::P, None)),
        "/p" => return Some(Token::Close(Tag::P)),
        "strong" => return Some(Token::Open(Tag::Strong, None)),
        "/strong" => return Some(Token::Close(Tag::Strong)),
        "em" => return Some(Token::Open(Tag::Em, None)),
        "/em" => return Some(Token::Close(Tag::Em)),
        "/a" => return Some(Token::Close(Tag::A)),
        "br" | "br/" | "br /" => return Some(Token::Br),
        _ => {}
    }
    if !(lower.starts_with("a href=\"") && lower.ends_with('"') && inner.len() > 9) {
        return None;
    }
    let url = &inner["a href=\"".len()..inner.len() - 1];
    https_url(url).then(|| Token::Open(Tag::A, Some(url.to_owned())))
}

/// The HTML to show for `input`: the allowed tags kept (balanced; a link never inside a
/// link), everything else escaped. Input beyond [`MAX_LEN`] is cut (at a character).
pub fn sanitize(input: &str) -> String {
    let mut end = input.len().min(MAX_LEN);
    while !input.is_char_boundary(end) {
        end -= 1;
    }
    let input = &input[..end];
    let mut out = String::new();
    let mut open: Vec<Tag> = Vec::new();
    let mut rest = input;
    while let Some(lt) = rest.find('<') {
        out.push_str(&escape(&rest[..lt]));
        let after = &rest[lt + 1..];
        let Some(gt) = after.find('>') else {
            out.push_str(&escape(&rest[lt..]));
            rest = "";
            break;
        };
        let inner = &after[..gt];
        let raw = &rest[lt..lt + 1 + gt + 1];
        match token(inner) {
            Some(Token::Br) => out.push_str("<br>"),
            Some(Token::Open(Tag::A, _)) if open.contains(&Tag::A) => out.push_str(&escape(raw)),
            Some(Token::Open(tag, href)) => {
                match href {
                    Some(h) => {
                        out.push_str(&format!("<a href=\"{}\" rel=\"noreferrer\">", escape(&h)))
                    }
                    None => out.push_str(&format!("<{}>", tag.name())),
                }
                open.push(tag);
            }
            Some(Token::Close(tag)) if open.last() == Some(&tag) => {
                open.pop();
                out.push_str(&format!("</{}>", tag.name()));
            }
            _ => out.push_str(&escape(raw)),
        }
        rest = &after[gt + 1..];
    }
    out.push_str(&escape(rest));
    while let Some(tag) = open.pop() {
        out.push_str(&format!("</{}>", tag.name()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subset_is_kept_and_balanced() {
        assert_eq!(
            sanitize("<p>Call <strong>+49 30</strong><br>or <em>mail</em></p>"),
            "<p>Call <strong>+49 30</strong><br>or <em>mail</em></p>"
        );
        assert_eq!(
            sanitize("<a href=\"https://it.example/help?a=1&b=2\">help</a>"),
            "<a href=\"https://it.example/help?a=1&amp;b=2\" rel=\"noreferrer\">help</a>"
        );
        assert_eq!(sanitize("<P>open"), "<p>open</p>", "closed at the end");
        assert_eq!(
            sanitize("a</em>b"),
            "a&lt;/em&gt;b",
            "a stray close is text"
        );
    }

    #[test]
    fn everything_else_is_text() {
        assert_eq!(
            sanitize("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            sanitize("<a href=\"javascript:alert(1)\">x</a>"),
            "&lt;a href=&quot;javascript:alert(1)&quot;&gt;x&lt;/a&gt;"
        );
        assert_eq!(
            sanitize("<p onclick=\"x\">t</p>"),
            "&lt;p onclick=&quot;x&quot;&gt;t&lt;/p&gt;"
        );
        assert_eq!(
            sanitize("<img src=x onerror=alert(1)>"),
            "&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(
            sanitize("<a href=\"https://a\" onclick=\"x\">"),
            "&lt;a href=&quot;https://a&quot; onclick=&quot;x&quot;&gt;"
        );
        assert_eq!(
            sanitize("<a href=\"https://a.example/\"><a href=\"https://b.example/\">x</a>"),
            "<a href=\"https://a.example/\" rel=\"noreferrer\">&lt;a href=&quot;https://b.example/&quot;&gt;x</a>"
        );
        assert_eq!(sanitize("&amp; 1 < 2"), "&amp;amp; 1 &lt; 2");
        assert_eq!(sanitize("<br"), "&lt;br");
        assert!(sanitize(&"é".repeat(MAX_LEN)).len() <= MAX_LEN);
    }
}
