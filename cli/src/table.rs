//! A plain-text table: columns as wide as their widest cell, two spaces between them, optional
//! ANSI colour per cell (applied after padding, so colours never disturb the alignment).

/// An ANSI foreground colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    Red,
    Green,
    Yellow,
}

impl Colour {
    fn code(self) -> &'static str {
        match self {
            Colour::Red => "31",
            Colour::Green => "32",
            Colour::Yellow => "33",
        }
    }
}

/// `text` in `colour` when `enabled`, unchanged otherwise.
pub fn paint(text: &str, colour: Option<Colour>, enabled: bool) -> String {
    match colour {
        Some(c) if enabled && !text.is_empty() => format!("\x1b[{}m{text}\x1b[0m", c.code()),
        _ => text.to_string(),
    }
}

/// Whether to colour output written to a stream that is (or is not) a terminal: never when it
/// is not, nor when NO_COLOR is set (https://no-color.org).
pub fn colours_wanted(is_terminal: bool) -> bool {
    is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// `text` broken into lines of at most `width` characters at spaces (a longer word gets a line
/// of its own).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// One cell: its text and, optionally, its colour.
pub struct Cell {
    pub text: String,
    pub colour: Option<Colour>,
}

impl Cell {
    pub fn new(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            colour: None,
        }
    }

    pub fn coloured(text: impl Into<String>, colour: Option<Colour>) -> Cell {
        Cell {
            text: text.into(),
            colour,
        }
    }
}

/// The table, one line per row after the header, each line ending in a newline; trailing
/// spaces are trimmed.
pub fn render(headers: &[&str], rows: &[Vec<Cell>], colour: bool) -> String {
    let columns = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(columns) {
            widths[i] = widths[i].max(cell.text.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<(String, Option<Colour>)>, out: &mut String| {
        let mut text = String::new();
        let last = cells.len().saturating_sub(1);
        for (i, (cell, c)) in cells.into_iter().enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            text.push_str(&paint(&cell, c, colour));
            if i < last {
                text.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(
        headers.iter().map(|h| (h.to_string(), None)).collect(),
        &mut out,
    );
    for row in rows {
        line(
            row.iter()
                .take(columns)
                .map(|c| (c.text.clone(), c.colour))
                .collect(),
            &mut out,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping() {
        assert_eq!(wrap("a bb ccc dddd", 6), ["a bb", "ccc", "dddd"]);
        assert_eq!(wrap("  ", 6), Vec::<String>::new());
        assert_eq!(wrap("abcdefgh ij", 4), ["abcdefgh", "ij"]);
    }

    #[test]
    fn aligned_without_colour() {
        let rows = vec![
            vec![
                Cell::new("587"),
                Cell::coloured("works", Some(Colour::Green)),
            ],
            vec![Cell::new("25"), Cell::new("")],
        ];
        assert_eq!(
            render(&["PORT", "VERDICT"], &rows, false),
            "PORT  VERDICT\n587   works\n25\n"
        );
    }

    #[test]
    fn colour_does_not_change_alignment() {
        let rows = vec![vec![
            Cell::coloured("ok", Some(Colour::Red)),
            Cell::new("x"),
        ]];
        assert_eq!(
            render(&["A", "B"], &rows, true),
            "A   B\n\x1b[31mok\x1b[0m  x\n"
        );
    }
}
