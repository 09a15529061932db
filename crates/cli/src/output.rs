//! Output for people and for programs: an aligned table by default, JSON with `--json`.
//!
//! A command that prints records flattens [`OutputArgs`] into its arguments and ends with
//! [`OutputArgs::print`], giving the value (printed as JSON with `--json`) and how to show it
//! to a person (usually a [`Table`]):
//!
//! ```ignore
//! out.print(&events, |events| {
//!     Table::from_rows(events.iter().map(|e| [("SEQ", e.seq.to_string()), ("ACTION", e.action.clone())]))
//!         .empty("no events")
//!         .to_string()
//! })
//! ```
//!
//! JSON output is the stable interface for scripts; tables are for reading and may change.
//! Table cells never carry control characters to the terminal: anything a remote party
//! could have written (an actor name, an event detail) is escaped, so it cannot move the
//! cursor, recolour the screen or fake a line of its own.

use std::fmt;

use anyhow::Result;
use serde::Serialize;

/// `--json`: print JSON instead of a table.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct OutputArgs {
    /// Print JSON (stable field names, for scripts) instead of a table.
    #[arg(long)]
    pub json: bool,
}

impl OutputArgs {
    /// Prints `value` as pretty JSON with `--json`, else what `human` makes of it.
    pub fn print<T: Serialize + ?Sized>(
        &self,
        value: &T,
        human: impl FnOnce(&T) -> String,
    ) -> Result<()> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value)?);
        } else {
            let text = human(value);
            if text.ends_with('\n') {
                print!("{text}");
            } else {
                println!("{text}");
            }
        }
        Ok(())
    }

    /// [`OutputArgs::print`] for a view of the hub's answer (the client's typed value): with
    /// `--json` it is printed as the JSON the hub sent, object keys in serde_json's order (as
    /// the answer itself printed), not in the view's field order.
    pub fn print_answer<T: Serialize + ?Sized>(
        &self,
        view: &T,
        human: impl FnOnce(&T) -> String,
    ) -> Result<()> {
        if self.json {
            self.print(&serde_json::to_value(view)?, |_| String::new())
        } else {
            self.print(view, human)
        }
    }
}

/// Default [`Table::max_width`]: wide enough for a hash, narrow enough for a terminal.
pub const DEFAULT_MAX_WIDTH: usize = 64;

/// Rows of `(header, value)` cells printed as aligned columns.
///
/// The columns are every header seen, in the order first seen; a row without some header
/// shows an empty cell there. Widths are counted in characters (a character of an East Asian
/// wide script counts as one, so such text may misalign). A column whose every cell is a
/// number is right-aligned.
#[derive(Debug, Clone)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<(String, String)>>,
    max_width: usize,
    empty: String,
}

impl Default for Table {
    fn default() -> Self {
        Table {
            headers: Vec::new(),
            rows: Vec::new(),
            max_width: DEFAULT_MAX_WIDTH,
            empty: "(none)".into(),
        }
    }
}

impl Table {
    /// An empty table.
    pub fn new() -> Table {
        Table::default()
    }

    /// A table of `rows`.
    pub fn from_rows<R, H, V>(rows: impl IntoIterator<Item = R>) -> Table
    where
        R: IntoIterator<Item = (H, V)>,
        H: Into<String>,
        V: Into<String>,
    {
        let mut t = Table::new();
        for r in rows {
            t.push(r);
        }
        t
    }

    /// Adds a row.
    pub fn push<H: Into<String>, V: Into<String>>(
        &mut self,
        row: impl IntoIterator<Item = (H, V)>,
    ) -> &mut Table {
        let row: Vec<(String, String)> =
            row.into_iter().map(|(h, v)| (h.into(), v.into())).collect();
        for (h, _) in &row {
            if !self.headers.contains(h) {
                self.headers.push(h.clone());
            }
        }
        self.rows.push(row);
        self
    }

    /// Cells longer than `n` characters are cut to `n` with a trailing `…` (`--json` shows
    /// them whole). At least 2.
    pub fn max_width(mut self, n: usize) -> Table {
        self.max_width = n.max(2);
        self
    }

    /// What to print when there are no rows.
    pub fn empty(mut self, message: impl Into<String>) -> Table {
        self.empty = message.into();
        self
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn cells(&self) -> Vec<Vec<String>> {
        self.rows
            .iter()
            .map(|row| {
                self.headers
                    .iter()
                    .map(|h| {
                        let v = row
                            .iter()
                            .find(|(k, _)| k == h)
                            .map_or("", |(_, v)| v.as_str());
                        fit(&sanitize(v), self.max_width)
                    })
                    .collect()
            })
            .collect()
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rows.is_empty() {
            return writeln!(f, "{}", sanitize(&self.empty));
        }
        let headers: Vec<String> = self
            .headers
            .iter()
            .map(|h| fit(&sanitize(h), self.max_width))
            .collect();
        let cells = self.cells();
        let width = |i: usize| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain([headers[i].chars().count()])
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..headers.len()).map(width).collect();
        let numeric: Vec<bool> = (0..headers.len())
            .map(|i| cells.iter().all(|r| is_number(&r[i])))
            .collect();
        let line = |f: &mut fmt::Formatter<'_>, row: &[String], header: bool| {
            let mut out = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    out.push_str("  ");
                }
                let pad = widths[i].saturating_sub(cell.chars().count());
                if numeric[i] && !header {
                    out.extend(std::iter::repeat_n(' ', pad));
                    out.push_str(cell);
                } else {
                    out.push_str(cell);
                    out.extend(std::iter::repeat_n(' ', pad));
                }
            }
            writeln!(f, "{}", out.trim_end())
        };
        line(f, &headers, true)?;
        for row in &cells {
            line(f, row, false)?;
        }
        Ok(())
    }
}

fn is_number(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Whether showing `c` raw could change what the terminal displays beyond the character
/// itself: control characters (C0, DEL, C1), line and paragraph separators, and the
/// invisible direction and width marks.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// `s` with every unsafe character written as a Rust escape (`\n`, `\u{1b}`).
pub fn sanitize(s: &str) -> String {
    if !s.chars().any(is_unsafe) {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            if is_unsafe(c) {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `s` cut to `max` characters, the last one a `…` when cut.
fn fit(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_follow_first_appearance() {
        let t = Table::from_rows([
            vec![("ID", "7"), ("NAME", "acme")],
            vec![("ID", "12"), ("NAME", "globex-corp"), ("NOTE", "new")],
        ]);
        assert_eq!(
            t.to_string(),
            "ID  NAME         NOTE\n 7  acme\n12  globex-corp  new\n"
        );
    }

    #[test]
    fn empty_tables_say_so() {
        let t = Table::new().empty("no audit events");
        assert_eq!(t.to_string(), "no audit events\n");
        assert!(t.is_empty());
    }

    #[test]
    fn long_cells_are_cut_and_counted_in_characters() {
        let t = Table::from_rows([[("A", "ééééééé"), ("B", "x")]]).max_width(4);
        assert_eq!(t.to_string(), "A     B\nééé…  x\n");
    }

    #[test]
    fn control_characters_cannot_reach_the_terminal() {
        let t = Table::from_rows([[("ACTOR", "eve\n2  admin\u{1b}[2J\u{202e}")]]);
        let out = t.to_string();
        assert_eq!(out.lines().count(), 2, "one header, one row: {out:?}");
        assert!(!out.contains('\u{1b}') && !out.contains('\u{202e}'));
        assert!(out.contains(r"eve\n2  admin\u{1b}[2J\u{202e}"), "{out}");
    }

    #[test]
    fn negative_and_mixed_columns() {
        assert!(is_number("-3") && is_number("42"));
        assert!(!is_number("") && !is_number("-") && !is_number("4a"));
    }
}
