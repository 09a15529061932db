//! CSV as the portal's downloads write it (`/audit.csv`, `/systems.csv`): one rule for
//! quoting and for defusing cells a spreadsheet would run as a formula.

/// One CSV cell: always quoted, quotes doubled, and a cell a spreadsheet would read as a
/// formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) prefixed with `'`.
pub fn cell(out: &mut String, s: &str) {
    out.push('"');
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        out.push('\'');
    }
    out.push_str(&s.replace('"', "\"\""));
    out.push('"');
}

/// One CSV record of `cells`, ended by CRLF.
pub fn row(out: &mut String, cells: &[&str]) {
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        cell(out, c);
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        let mut out = String::new();
        row(
            &mut out,
            &[
                "a",
                "say \"hi\", ok",
                "=SUM(A1)",
                "+1",
                "-2",
                "@x",
                "\tt",
                "\rr",
                "line\nbreak",
            ],
        );
        assert_eq!(
            out,
            "\"a\",\"say \"\"hi\"\", ok\",\"'=SUM(A1)\",\"'+1\",\"'-2\",\"'@x\",\"'\tt\",\"'\rr\",\"line\nbreak\"\r\n"
        );
    }
}
