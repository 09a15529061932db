//! The systems list's filter syntax (issue #15): what a user types into the list's search box
//! and `GET /api/v1/companies/{c}/systems?q=` takes.
//!
//! ```text
//! prd NOT status:inactive -flag:eu_data_protection product:"S/4HANA" state:open
//! ```
//!
//! * A free word matches the SID, the product or the description, ignoring the case of the
//!   letters A–Z (other letters compare as typed: `ärger` does not find `Ärger`). One rule
//!   that every store backend can say in its query language (SQLite's `lower` folds ASCII
//!   only), so a list is the same whichever backend answers it.
//! * `field:value` picks by a field: `status`, `type`, `product` (substring), `flag`,
//!   `network`, `state` (any of the system's service connections in that state now) and
//!   `favourite` (`yes`/`no`).
//! * `NOT term` (the keyword in any case) or `-term` negates one term.
//! * Terms combine with AND. `"…"` quotes a word or a value with spaces (or a word that would
//!   otherwise read as `NOT` or a field); there is no escape inside quotes.
//!
//! Parsing is pure and total: every input gives a [`Filter`] or a [`FilterError`] that says
//! what is wrong. Matching is the caller's (`crate::ops::systems` in the hub), which knows the
//! live state. [`Filter`]'s `Display` is its canonical form: parsing it again gives the same
//! filter.

use std::fmt;

use crate::system::{SystemStatus, SystemType};
use crate::window::WindowState;

/// Most characters of text (words and `product:` values together) in one filter.
pub const MAX_LEN: usize = 500;
/// Longest input accepted (characters), whitespace and quotes included.
pub const MAX_INPUT: usize = 4 * MAX_LEN;
/// Most terms in one filter.
pub const MAX_TERMS: usize = 32;

/// The flags a system can have set.
pub const FLAGS: [&str; 3] = [
    "eu_data_protection",
    "advanced_secure_support",
    "allow_independent_opening",
];
/// A system's network status as the list shows it.
pub const NETWORKS: [&str; 3] = ["connected", "not_connected", "not_set_up"];
/// The fields a term can name.
pub const FIELDS: [&str; 7] = [
    "status",
    "type",
    "product",
    "flag",
    "network",
    "state",
    "favourite",
];

/// One condition on a system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// Text (A–Z lower-cased) the SID, product or description contains.
    Word(String),
    /// `status:`
    Status(SystemStatus),
    /// `type:`
    Type(SystemType),
    /// `product:` text (A–Z lower-cased) the product contains.
    Product(String),
    /// `flag:` one of [`FLAGS`].
    Flag(&'static str),
    /// `network:` one of [`NETWORKS`].
    Network(&'static str),
    /// `state:` any of the system's service connections is in this state now.
    State(WindowState),
    /// `favourite:` the viewer's favourite (`yes`) or not (`no`).
    Favourite(bool),
}

/// A term, maybe negated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// `NOT` / `-`.
    pub negated: bool,
    /// The condition.
    pub term: Term,
}

/// Every clause must hold (AND). Empty: every system.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// The clauses in the order typed.
    pub clauses: Vec<Clause>,
}

/// Why a filter does not parse; the message is shown to the user as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("filter: {0}")]
pub struct FilterError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, FilterError> {
    Err(FilterError(msg.into()))
}

/// One whitespace-separated piece of the input, quotes removed.
struct Token {
    /// Began with `-`.
    dash: bool,
    /// Text with quotes removed.
    text: String,
    /// Byte index in `text` of the first `:` outside quotes.
    colon: Option<usize>,
    /// Any part was quoted.
    quoted: bool,
}

fn tokens(input: &str) -> Result<Vec<Token>, FilterError> {
    let mut out = Vec::new();
    let mut chars = input.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else { break };
        let dash = first == '-';
        if dash {
            chars.next();
            if chars.peek().is_none_or(|c| c.is_whitespace()) {
                return err("\"-\" needs a term right after it, e.g. -status:inactive");
            }
        }
        let mut t = Token {
            dash,
            text: String::new(),
            colon: None,
            quoted: false,
        };
        let mut in_quotes = false;
        while let Some(&c) = chars.peek() {
            if !in_quotes && c.is_whitespace() {
                break;
            }
            chars.next();
            match c {
                '"' => {
                    in_quotes = !in_quotes;
                    t.quoted = true;
                }
                ':' if !in_quotes && t.colon.is_none() => {
                    t.colon = Some(t.text.len());
                    t.text.push(':');
                }
                c => t.text.push(c),
            }
        }
        if in_quotes {
            return err("a quote is not closed");
        }
        out.push(t);
    }
    Ok(out)
}

fn one_of(field: &str, value: &str, allowed: &[&'static str]) -> Result<&'static str, FilterError> {
    allowed
        .iter()
        .copied()
        .find(|a| *a == value)
        .ok_or_else(|| {
            FilterError(format!(
                "{field}: {value:?} is not one of {}",
                allowed.join(", ")
            ))
        })
}

fn term(field: &str, value: &str) -> Result<Term, FilterError> {
    let field = field.to_lowercase();
    if value.is_empty() {
        return err(format!("{field}: needs a value after the colon"));
    }
    let lower = value.to_lowercase();
    Ok(match field.as_str() {
        "status" => Term::Status(match one_of("status", &lower, &["active", "inactive"])? {
            "active" => SystemStatus::Active,
            _ => SystemStatus::Inactive,
        }),
        "type" => {
            let names: Vec<&'static str> = SystemType::ALL.iter().map(|t| t.as_str()).collect();
            let name = one_of("type", &lower, &names)?;
            Term::Type(name.parse().map_err(|_| FilterError("type".into()))?)
        }
        "product" => Term::Product(value.to_ascii_lowercase()),
        "flag" => Term::Flag(one_of("flag", &lower, &FLAGS)?),
        "network" => Term::Network(one_of("network", &lower, &NETWORKS)?),
        "state" => Term::State(match one_of("state", &lower, &["open", "closed", "reserved"])? {
            "open" => WindowState::Open,
            "closed" => WindowState::Closed,
            _ => WindowState::Reserved,
        }),
        "favourite" | "favorite" => Term::Favourite(one_of("favourite", &lower, &["yes", "no"])? == "yes"),
        other => {
            return err(format!(
                "unknown field {other:?}; the fields are {} (quote a word with a colon: \"{other}:{value}\")",
                FIELDS.join(", ")
            ))
        }
    })
}

/// Parses what the user typed.
pub fn parse(input: &str) -> Result<Filter, FilterError> {
    if input.chars().count() > MAX_INPUT {
        return err(format!("longer than {MAX_INPUT} characters"));
    }
    let mut clauses = Vec::new();
    let mut pending_not = false;
    for t in tokens(input)? {
        if !t.dash && !t.quoted && t.text.eq_ignore_ascii_case("not") {
            if pending_not {
                return err("NOT NOT: say what to exclude once");
            }
            pending_not = true;
            continue;
        }
        if pending_not && t.dash {
            return err("NOT -term: negate a term once");
        }
        let term = match t.colon {
            Some(i) => term(&t.text[..i], &t.text[i + 1..])?,
            None if t.text.is_empty() => return err("an empty quoted word matches everything"),
            None => Term::Word(t.text.to_ascii_lowercase()),
        };
        clauses.push(Clause {
            negated: pending_not || t.dash,
            term,
        });
        pending_not = false;
        if clauses.len() > MAX_TERMS {
            return err(format!("more than {MAX_TERMS} terms"));
        }
    }
    if pending_not {
        return err("NOT needs a term after it, e.g. NOT status:inactive");
    }
    let text: usize = clauses
        .iter()
        .map(|c| match &c.term {
            Term::Word(w) | Term::Product(w) => w.chars().count(),
            _ => 0,
        })
        .sum();
    if text > MAX_LEN {
        return err(format!("more than {MAX_LEN} characters of text"));
    }
    Ok(Filter { clauses })
}

impl fmt::Display for Clause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negated {
            f.write_str("NOT ")?;
        }
        match &self.term {
            Term::Word(w) => write!(f, "\"{w}\""),
            Term::Status(s) => write!(f, "status:{}", s.as_str()),
            Term::Type(t) => write!(f, "type:{}", t.as_str()),
            Term::Product(p) => write!(f, "product:\"{p}\""),
            Term::Flag(x) => write!(f, "flag:{x}"),
            Term::Network(n) => write!(f, "network:{n}"),
            Term::State(s) => write!(f, "state:{}", s.as_str()),
            Term::Favourite(y) => write!(f, "favourite:{}", if *y { "yes" } else { "no" }),
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.clauses.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clause(negated: bool, term: Term) -> Clause {
        Clause { negated, term }
    }

    #[test]
    fn words_fields_and_negation() {
        let f = parse("PRD  NOT status:Inactive -flag:eu_data_protection product:\"S/4 HANA\"")
            .unwrap();
        assert_eq!(
            f.clauses,
            vec![
                clause(false, Term::Word("prd".into())),
                clause(true, Term::Status(SystemStatus::Inactive)),
                clause(true, Term::Flag("eu_data_protection")),
                clause(false, Term::Product("s/4 hana".into())),
            ]
        );
        let f = parse("type:hana network:not_set_up state:reserved favourite:no not favorite:yes")
            .unwrap();
        assert_eq!(
            f.clauses,
            vec![
                clause(false, Term::Type(SystemType::Hana)),
                clause(false, Term::Network("not_set_up")),
                clause(false, Term::State(WindowState::Reserved)),
                clause(false, Term::Favourite(false)),
                clause(true, Term::Favourite(true)),
            ]
        );
        assert_eq!(parse("   ").unwrap(), Filter::default());
    }

    #[test]
    fn quotes_keep_keywords_and_colons_as_words() {
        let f = parse("\"not\" \"a:b\" \"two words\"").unwrap();
        assert_eq!(
            f.clauses,
            vec![
                clause(false, Term::Word("not".into())),
                clause(false, Term::Word("a:b".into())),
                clause(false, Term::Word("two words".into())),
            ]
        );
    }

    #[test]
    fn mistakes_are_named() {
        let msg = |s: &str| parse(s).unwrap_err().to_string();
        assert!(
            msg("colour:red").contains("unknown field \"colour\""),
            "{}",
            msg("colour:red")
        );
        assert!(
            msg("status:sleeping").contains("status: \"sleeping\" is not one of active, inactive")
        );
        assert!(msg("state:ajar").contains("state:"));
        assert!(msg("flag:x").contains("flag:"));
        assert!(msg("network:up").contains("network:"));
        assert!(msg("type:cobol").contains("type:"));
        assert!(msg("favourite:maybe").contains("yes, no"));
        assert!(msg("status:").contains("needs a value"));
        assert!(msg("prd NOT").contains("NOT needs a term"));
        assert!(msg("NOT NOT prd").contains("NOT NOT"));
        assert!(msg("NOT -prd").contains("once"));
        assert!(msg("- prd").contains("\"-\" needs a term"));
        assert!(msg("\"open").contains("quote is not closed"));
        assert!(msg("\"\"").contains("empty"));
        assert!(msg(&"x ".repeat(33)).contains("more than 32 terms"));
        assert!(msg(&"x".repeat(501)).contains("more than 500 characters"));
        assert!(msg(&" ".repeat(2001)).contains("longer than 2000"));
    }

    #[test]
    fn the_canonical_form_parses_to_the_same_filter() {
        for s in [
            "prd NOT status:inactive -flag:eu_data_protection product:\"S/4 HANA\"",
            "\"not\" \"a:b\" type:java network:connected state:open favourite:yes",
            "",
        ] {
            let f = parse(s).unwrap();
            assert_eq!(parse(&f.to_string()).unwrap(), f, "{s}");
        }
    }

    proptest::proptest! {
        // What the fuzz target checks, on the inputs proptest makes: no panic, and an accepted
        // filter's canonical form parses to the same filter.
        #[test]
        fn any_text_parses_or_is_refused_and_round_trips(
            s in "(NOT |not |-|\"|:| |status|state|open|favourite|yes|type|abap|[a-zA-Z0-9/ßİ]){0,40}"
        ) {
            if let Ok(f) = parse(&s) {
                proptest::prop_assert_eq!(parse(&f.to_string()).unwrap(), f);
            }
        }
    }
}
