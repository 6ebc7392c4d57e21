//! Stored text is the outside world's: a caller-ID name, an SMS body or a
//! provider's message can hold terminal escape sequences (`ESC ] 52` writes
//! the clipboard, `ESC [ 2J` clears the screen) or bidi overrides that
//! reorder what the operator reads. Everything the command prints from the
//! table goes through here, so such characters show as visible escapes and
//! do nothing.

use std::borrow::Cow;
use std::fmt::Write;

/// Characters that change how a terminal shows what follows rather than
/// being shown: C0 and C1 controls, DEL, bidi embeddings, overrides and
/// isolates, and the invisible separators and joiners that hide text.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// `text` for a table cell or a `label: value` line: each unsafe character
/// as `\u{..}` (`\n`, `\r`, `\t` as themselves, escaped), everything else
/// as is.
pub fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Writing to a String cannot fail.
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Text output as a whole, once more: every unsafe character but the line
/// breaks and the colour sequences this command writes itself
/// (`ESC [ <digits and ;> m`) made visible. Cells are already safe; this
/// covers messages that quote stored text.
pub fn text_output(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '\u{1b}' {
            if let Some(len) = sgr_len(rest) {
                out.push_str(&rest[..len]);
                rest = &rest[len..];
                continue;
            }
        }
        if c == '\n' {
            out.push('\n');
        } else {
            out.push_str(&visible(&rest[..c.len_utf8()]));
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The length of the colour sequence (`ESC [ 1;31 m`) `text` begins with.
fn sgr_len(text: &str) -> Option<usize> {
    let params = text.strip_prefix("\u{1b}[")?;
    let digits = params
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b';')
        .count();
    (params.as_bytes().get(digits) == Some(&b'm')).then_some(2 + digits + 1)
}

/// JSON output: serde_json already escapes C0 controls (`\u001b`); the
/// other unsafe characters (DEL, C1, bidi, invisible) it writes raw, so
/// they become `\uXXXX` escapes too. They can only be inside strings (JSON's
/// own syntax is ASCII), where the escape means the same character: a
/// script reading the JSON gets exactly the stored text.
pub fn json_output(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if is_unsafe(c) && !matches!(c, '\n' | '\r' | '\t' | ' ') {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "Jo\u{1b}]52;c;ZXZpbA==\u{7}hn\u{1b}[2J \u{202e}eoD\u{202c}\u{9b}31m\u{7f}\u{2066}x\u{2069}\u{200b}";

    fn harmless(text: &str) {
        assert!(!text.chars().any(|c| is_unsafe(c) && c != '\n'), "{text:?}");
    }

    #[test]
    fn every_unsafe_character_becomes_visible() {
        let shown = visible(HOSTILE);
        harmless(&shown);
        assert_eq!(
            shown,
            "Jo\\u{1b}]52;c;ZXZpbA==\\u{7}hn\\u{1b}[2J \\u{202e}eoD\\u{202c}\\u{9b}31m\\u{7f}\\u{2066}x\\u{2069}\\u{200b}"
        );
        assert_eq!(visible("a\nb\tc"), "a\\nb\\tc");
        assert!(matches!(visible("Zoë 日本 O'Brien"), Cow::Borrowed(_)));
    }

    #[test]
    fn whole_output_keeps_our_colours_and_line_breaks_only() {
        let ours = "\u{1b}[1mNAME\u{1b}[0m\n\u{1b}[31;1mx\u{1b}[0m";
        assert_eq!(text_output(ours), ours);
        let theirs = format!("error: {HOSTILE}\n");
        let shown = text_output(&theirs);
        harmless(&shown);
        assert!(shown.ends_with('\n'));
        // An escape that is not a colour is shown, even one that looks close.
        assert_eq!(text_output("\u{1b}[2J\u{1b}[m"), "\\u{1b}[2J\u{1b}[m");
    }

    #[test]
    fn json_stays_json_and_the_same_text() {
        let value = serde_json::json!({ "caller_name": HOSTILE, "n": "a\nb" });
        let printed = json_output(&serde_json::to_string_pretty(&value).unwrap());
        harmless(&printed);
        let back: serde_json::Value = serde_json::from_str(&printed).unwrap();
        assert_eq!(back, value);
        assert!(printed.contains("\\u001b]52"), "{printed}");
        assert!(printed.contains("\\u202e"), "{printed}");
        assert!(printed.contains("\\u009b"), "{printed}");
    }
}
