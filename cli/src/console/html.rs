//! HTML from stored text: every value is escaped for HTML and its control,
//! bidi and invisible characters shown as visible escapes by the same rule
//! as the terminal output ([`crate::safe`]), so text from strangers never
//! becomes markup, never reorders a line and never hides.

use crate::safe;
use std::fmt::Write;

/// Text for an HTML text node or a quoted attribute value.
pub fn text(value: &str) -> String {
    let shown = safe::visible(value);
    let mut out = String::with_capacity(shown.len() + 8);
    for c in shown.chars() {
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

/// A multi-line text (a raw body, a document) for a `<pre>`: line breaks
/// kept, everything else as [`text`].
pub fn block(value: &str) -> String {
    value
        .split('\n')
        .map(|line| text(line.strip_suffix('\r').unwrap_or(line)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A query-string component (percent-encoded).
pub fn q(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A path segment (percent-encoded, `/` included).
pub fn seg(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'+') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The menu: (path, label).
const MENU: [(&str, &str); 8] = [
    ("/", "Overview"),
    ("/calls", "Calls"),
    ("/sms", "SMS"),
    ("/alerts", "Alerts"),
    ("/unrecognized", "Unrecognized"),
    ("/numbers", "Numbers"),
    ("/contacts", "Contacts"),
    ("/dry-run", "Dry run"),
];

/// A whole page around `body` (already HTML); `title` is plain text.
pub fn page(title: &str, current: &str, body: &str) -> String {
    let mut nav = String::new();
    for (path, label) in MENU {
        let here = if path == current {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(nav, "<a href=\"{path}\"{here}>{label}</a>");
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{} · callhooks</title><link rel=\"stylesheet\" href=\"/console.css\">\
<link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\"></head>\
<body><header><strong>callhooks</strong><nav>{nav}</nav></header><main><h1>{}</h1>{body}</main></body></html>\n",
        text(title),
        text(title)
    )
}

/// A table: headers (plain text) and rows of cells that are already HTML.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    if rows.is_empty() {
        return "<p class=\"empty\">Nothing here.</p>".into();
    }
    let mut out = String::from("<div class=\"scroll\"><table><thead><tr>");
    for h in headers {
        let _ = write!(out, "<th>{}</th>", text(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    out
}

/// `label: value` pairs (values already HTML).
pub fn fields(pairs: &[(&str, String)]) -> String {
    let mut out = String::from("<dl class=\"fields\">");
    for (label, value) in pairs {
        if value.is_empty() {
            continue;
        }
        let _ = write!(out, "<dt>{}</dt><dd>{value}</dd>", text(label));
    }
    out.push_str("</dl>");
    out
}

/// A `<select>` of `options` (value, label), `chosen` selected.
pub fn select(name: &str, options: &[(&str, &str)], chosen: &str) -> String {
    let mut out = format!("<select name=\"{name}\" id=\"{name}\">");
    for (value, label) in options {
        let selected = if *value == chosen { " selected" } else { "" };
        let _ = write!(
            out,
            "<option value=\"{}\"{selected}>{}</option>",
            text(value),
            text(label)
        );
    }
    out.push_str("</select>");
    out
}

/// The stylesheet: readable from a phone's 390 px to a laptop; wide tables
/// scroll inside their own box, never the page.
pub const CSS: &str = r#"
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2430;background:#f6f7f9}
header{background:#1d2a44;color:#fff;padding:.5rem 1rem;display:flex;flex-wrap:wrap;gap:.25rem 1rem;align-items:center}
header nav{display:flex;flex-wrap:wrap;gap:.25rem .75rem}
header a{color:#cfe0ff;text-decoration:none}
header a[aria-current]{color:#fff;text-decoration:underline}
main{padding:1rem;max-width:72rem;margin:0 auto}
h1{font-size:1.35rem;margin:.2rem 0 .8rem}
h2{font-size:1.1rem;margin:1.4rem 0 .5rem}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;background:#fff;font-size:.9rem}
th,td{padding:.3rem .55rem;border-bottom:1px solid #e3e6ea;text-align:left;vertical-align:top}
th{background:#eef1f5;white-space:nowrap}
td{overflow-wrap:anywhere}
pre{background:#fff;border:1px solid #e3e6ea;padding:.6rem;overflow-x:auto;max-width:100%;white-space:pre-wrap;overflow-wrap:anywhere;font-size:.85rem}
form.filters{display:flex;flex-wrap:wrap;gap:.5rem .8rem;align-items:flex-end;margin-bottom:1rem}
form.filters label{display:flex;flex-direction:column;font-size:.8rem;color:#4a5566}
input,select,textarea,button{font:inherit;max-width:100%}
textarea{width:100%;min-height:16rem;font-family:ui-monospace,monospace;font-size:.85rem}
button{background:#1d5fd1;color:#fff;border:0;border-radius:4px;padding:.35rem .9rem;cursor:pointer}
button.danger{background:#b3261e}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(9.5rem,1fr));gap:.6rem}
.card{background:#fff;border:1px solid #e3e6ea;border-radius:6px;padding:.5rem .7rem}
.card b{display:block;font-size:1.3rem}
.card span{font-size:.8rem;color:#4a5566}
svg{max-width:100%;height:auto;background:#fff;border:1px solid #e3e6ea}
svg text{font:11px system-ui,sans-serif;fill:#4a5566}
.legend{display:flex;flex-wrap:wrap;gap:.3rem 1rem;font-size:.85rem}
.swatch{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}
.p0{background:#1d5fd1}.p1{background:#e07b00}.p2{background:#2e9d57}.p3{background:#9b3fc2}.p4{background:#7a8594}
.bad{color:#b3261e;font-weight:600}.good{color:#1e7a3c}.warn{color:#8a5a00}
.empty{color:#4a5566}
dl.fields{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .9rem;background:#fff;border:1px solid #e3e6ea;padding:.6rem}
dl.fields dt{color:#4a5566}dl.fields dd{margin:0;overflow-wrap:anywhere}
.turn{background:#fff;border:1px solid #e3e6ea;border-radius:6px;padding:.4rem .6rem;margin:.3rem 0}
.turn.agent{border-left:4px solid #1d5fd1}.turn.user{border-left:4px solid #2e9d57}
.notice{background:#fff7e0;border:1px solid #e9c46a;padding:.5rem .7rem;border-radius:4px}
.error{background:#fde8e7;border:1px solid #e6a19c;padding:.5rem .7rem;border-radius:4px}
.pager{margin:.8rem 0}
"#;

/// The console's icon (so the browser's request for one is answered).
pub const FAVICON: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\"><rect width=\"16\" height=\"16\" rx=\"3\" fill=\"#1d2a44\"/><path d=\"M4 5h8v2H4zM4 9h5v2H4z\" fill=\"#fff\"/></svg>";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_text_never_becomes_markup_nor_reorders() {
        let hostile = "<script>alert(1)</script>\"' onload=x \u{202e}gnp.exe\u{1b}[2J";
        let shown = text(hostile);
        assert!(!shown.contains('<') && !shown.contains('"') && !shown.contains('\''));
        assert!(!shown.contains('\u{202e}') && !shown.contains('\u{1b}'));
        assert!(shown.contains("\\u{202e}"), "{shown}");
        assert_eq!(block("a<b\r\nc"), "a&lt;b\nc");
    }

    #[test]
    fn urls_are_encoded() {
        assert_eq!(q("+1 415&x"), "%2B1+415%26x");
        assert_eq!(seg("a/b#c"), "a%2Fb%23c");
        assert_eq!(seg("+14155552671"), "+14155552671");
    }
}
