//! Plain aligned tables and a little colour, for a person at a terminal.
//! Columns are padded by display width (a name with accents or wide
//! characters stays aligned); colour goes around the padded text, so it
//! never shifts a column, and only when the output is a terminal.

use anstyle::{AnsiColor, Style};
use unicode_width::UnicodeWidthStr;

/// What a cell means, which decides its colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Plain,
    Good,
    Warn,
    Bad,
    Dim,
    Header,
}

impl Tone {
    fn style(self) -> Style {
        match self {
            Tone::Plain => Style::new(),
            Tone::Good => AnsiColor::Green.on_default(),
            Tone::Warn => AnsiColor::Yellow.on_default(),
            Tone::Bad => AnsiColor::Red.on_default().bold(),
            Tone::Dim => Style::new().dimmed(),
            Tone::Header => Style::new().bold(),
        }
    }
}

/// Whether to colour: only on a terminal, and never when `NO_COLOR` is set
/// to anything but the empty string (<https://no-color.org>).
pub fn color_wanted(is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    is_terminal && no_color.is_none_or(|v| v.is_empty())
}

pub fn paint(text: &str, tone: Tone, color: bool) -> String {
    let style = tone.style();
    if !color || style == Style::new() {
        return text.to_string();
    }
    format!("{}{text}{}", style.render(), style.render_reset())
}

#[derive(Clone, Debug, Default)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<(String, Tone)>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Self {
        Table {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Cells are stored text: made visible and harmless ([`crate::safe`]).
    pub fn row(&mut self, cells: Vec<(String, Tone)>) {
        self.rows.push(
            cells
                .into_iter()
                .map(|(text, tone)| match crate::safe::visible(&text) {
                    std::borrow::Cow::Borrowed(_) => (text, tone),
                    std::borrow::Cow::Owned(safe) => (safe, tone),
                })
                .collect(),
        );
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table, two spaces between columns, no trailing spaces.
    pub fn render(&self, color: bool) -> String {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.width()).collect();
        for row in &self.rows {
            for (i, (text, _)) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(text.width());
            }
        }
        let header: Vec<(String, Tone)> = self
            .headers
            .iter()
            .map(|h| (h.clone(), Tone::Header))
            .collect();
        let mut out = String::new();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, (text, tone)) in row.iter().enumerate().take(columns) {
                let last = i + 1 == columns.min(row.len());
                let pad = if last { 0 } else { widths[i] - text.width() };
                line.push_str(&paint(text, *tone, color));
                line.push_str(&" ".repeat(pad));
                if !last {
                    line.push_str("  ");
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// `label: value` lines, labels aligned; values made visible and harmless
/// ([`crate::safe`]).
pub fn fields(pairs: &[(&str, String, Tone)], color: bool) -> String {
    let width = pairs.iter().map(|(l, _, _)| l.width()).max().unwrap_or(0);
    let mut out = String::new();
    for (label, value, tone) in pairs {
        let pad = " ".repeat(width - label.width());
        out.push_str(&format!(
            "{}{pad}  {}\n",
            paint(&format!("{label}:"), Tone::Dim, color),
            paint(&crate::safe::visible(value), *tone, color)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_by_display_width() {
        let mut table = Table::new(&["NAME", "NUMBER"]);
        table.row(vec![
            ("Zoë".into(), Tone::Plain),
            ("+1".into(), Tone::Plain),
        ]);
        table.row(vec![
            ("日本".into(), Tone::Bad),
            ("+81".into(), Tone::Plain),
        ]);
        assert_eq!(table.render(false), "NAME  NUMBER\nZoë   +1\n日本  +81\n");
        let coloured = table.render(true);
        assert!(coloured.contains("\u{1b}[1m"), "{coloured:?}");
        let stripped: String = coloured
            .split('\u{1b}')
            .map(|part| part.split_once('m').map_or(part, |(_, rest)| rest))
            .collect();
        assert_eq!(stripped, table.render(false));
    }

    #[test]
    fn hostile_cells_are_shown_not_obeyed_and_stay_aligned() {
        let mut table = Table::new(&["NAME", "N"]);
        table.row(vec![
            ("\u{1b}]52;c;eA==\u{7}\u{202e}x".into(), Tone::Plain),
            ("1".into(), Tone::Plain),
        ]);
        table.row(vec![("ok".into(), Tone::Plain), ("2".into(), Tone::Plain)]);
        let text = table.render(false);
        let shown = "\\u{1b}]52;c;eA==\\u{7}\\u{202e}x";
        let pad = |s: &str| format!("{s}{}", " ".repeat(shown.len() - s.len() + 2));
        assert_eq!(
            text,
            format!("{}N\n{}1\n{}2\n", pad("NAME"), pad(shown), pad("ok"))
        );
        let shown = fields(&[("name", "a\u{9b}b\nc".into(), Tone::Plain)], false);
        assert_eq!(shown, "name:  a\\u{9b}b\\nc\n");
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        use std::ffi::OsStr;
        assert!(color_wanted(true, None));
        assert!(color_wanted(true, Some(OsStr::new(""))));
        assert!(!color_wanted(true, Some(OsStr::new("1"))));
        assert!(!color_wanted(false, None));
    }
}
