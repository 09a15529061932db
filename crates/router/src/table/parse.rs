//! The line grammar of the table, and its errors.

use std::io;
use std::path::{Path, PathBuf};

use super::entry::{Entry, EntryKind, HopLimits, Origin, Password, PeerName, Service};
use super::host::Host;

/// Why a table could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TableError {
    /// The file does not exist. The router refuses to start without a table, as current
    /// SAProuter releases do.
    #[error(
        "route permission table {} not found: the router refuses to start without one \
         (a table of the single line `D * * *` denies every route)",
        .path.display()
    )]
    NotFound { path: PathBuf },
    /// The file exists but could not be read.
    #[error("route permission table {}: {source}", .path.display())]
    Read { path: PathBuf, source: io::Error },
    /// The file is not UTF-8; the position is that of the first invalid byte.
    #[error("route permission table {}: line {line}, column {column}: not UTF-8 text", .path.display())]
    NotUtf8 {
        path: PathBuf,
        line: usize,
        column: usize,
    },
    /// A line is not a valid entry. `column` (1-based, in characters) is where `field`
    /// starts; `path` is set when the table was loaded from a file.
    #[error("{}line {line}, column {column}: {field:?}: {kind}", file_prefix(.path))]
    Syntax {
        path: Option<PathBuf>,
        line: usize,
        column: usize,
        field: String,
        kind: SyntaxErrorKind,
    },
}

fn file_prefix(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|path| format!("route permission table {}: ", path.display()))
        .unwrap_or_default()
}

impl TableError {
    pub(crate) fn in_file(self, file: &Path) -> TableError {
        match self {
            TableError::Syntax {
                line,
                column,
                field,
                kind,
                ..
            } => TableError::Syntax {
                path: Some(file.to_path_buf()),
                line,
                column,
                field,
                kind,
            },
            other => other,
        }
    }
}

/// What is wrong with a field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SyntaxErrorKind {
    #[error(
        "unknown entry type: expected P, S, D, KT, KP, KS or KD (upper case), \
         hop limits only as Pv,n or Sv,n"
    )]
    UnknownType,
    #[error("hop limits are written Pv,n or Sv,n, each of v and n a number 0-255 or *")]
    HopLimits,
    #[error("only P and S entries take hop limits")]
    HopLimitsNotAllowed,
    /// The line has a type and nothing else.
    #[error("the entry needs {what}")]
    MissingField { what: &'static str },
    #[error("too many fields: this entry type takes at most {max} after its type")]
    TooManyFields { max: usize },
    #[error("this entry type takes no password (only P, S, KP and KS do)")]
    PasswordNotAllowed,
    #[error("a field may not start with #: comments are whole lines starting with #")]
    InlineComment,
    #[error("a peer name opened with \" needs a closing \"")]
    UnterminatedQuote,
    #[error("a quoted peer name must be followed by a blank")]
    AfterQuote,
    #[error("a peer name may not contain \"")]
    PeerNameQuote,
    #[error("the peer name is empty")]
    EmptyPeerName,
    #[error("an IPv4 address or pattern needs 4 octets")]
    Ipv4Octets,
    #[error("an octet is a number 0-255 without leading zeros, * or 8 binary digits of 0, 1 or x")]
    Ipv4Octet,
    #[error("a binary octet needs 8 digits of 0, 1 or x")]
    BinaryOctet,
    #[error("a prefix length is a number 0-{max}")]
    PrefixLength { max: u8 },
    #[error("a /prefix needs a plain address, without * or binary octets")]
    PrefixNeedsAddress,
    #[error("not a valid IPv6 address")]
    Ipv6,
    #[error("not a host name, IP address, IPv4 pattern or *")]
    HostName,
    #[error("a port number is 1-65535")]
    Port,
    #[error("a port range is low.high with low <= high, each a port 1-65535 or a service name")]
    PortRange,
    #[error(
        "unknown service name: write a port, a range low.high, sapdpNN, sapgwNN, sapdpsNN, \
         sapgwsNN, a well-known name such as telnet, or *"
    )]
    UnknownService,
}

/// A field of a line and the 1-based character column it starts at.
#[derive(Clone, Copy, Debug)]
struct Field<'a> {
    text: &'a str,
    column: usize,
    /// Written in double quotes (peer names only); `text` is then what is inside them.
    quoted: bool,
}

/// Splits a line into fields at blanks, tracking columns.
struct Scanner<'a> {
    line: &'a str,
    /// Byte offset of the next character; always on a character boundary.
    pos: usize,
    /// 1-based column of the next character.
    column: usize,
}

impl<'a> Scanner<'a> {
    fn new(line: &'a str) -> Scanner<'a> {
        Scanner {
            line,
            pos: 0,
            column: 1,
        }
    }

    fn peek(&self) -> Option<char> {
        self.line
            .get(self.pos..)
            .and_then(|rest| rest.chars().next())
    }

    fn bump(&mut self, c: char) {
        self.pos += c.len_utf8();
        self.column += 1;
    }

    fn slice(&self, start: usize, end: usize) -> &'a str {
        self.line.get(start..end).unwrap_or_default()
    }

    fn skip_blanks(&mut self) {
        while let Some(c) = self.peek().filter(char::is_ascii_whitespace) {
            self.bump(c);
        }
    }

    /// The next blank-separated field.
    fn field(&mut self) -> Option<Field<'a>> {
        self.skip_blanks();
        let (start, column) = (self.pos, self.column);
        while let Some(c) = self.peek().filter(|c| !c.is_ascii_whitespace()) {
            self.bump(c);
        }
        (self.pos > start).then(|| Field {
            text: self.slice(start, self.pos),
            column,
            quoted: false,
        })
    }

    /// The next field, which may be a double-quoted string containing blanks.
    fn peer_field(&mut self) -> Result<Option<Field<'a>>, (Field<'a>, SyntaxErrorKind)> {
        self.skip_blanks();
        if self.peek() != Some('"') {
            return Ok(self.field());
        }
        let (open, column) = (self.pos, self.column);
        self.bump('"');
        let start = self.pos;
        loop {
            match self.peek() {
                Some('"') => break,
                Some(c) => self.bump(c),
                None => {
                    let rest = self.slice(open, self.line.len());
                    let field = Field {
                        text: rest,
                        column,
                        quoted: false,
                    };
                    return Err((field, SyntaxErrorKind::UnterminatedQuote));
                }
            }
        }
        let text = self.slice(start, self.pos);
        self.bump('"');
        if self.peek().is_some_and(|c| !c.is_ascii_whitespace()) {
            let field = self.field().unwrap_or(Field {
                text: "",
                column: self.column,
                quoted: false,
            });
            return Err((field, SyntaxErrorKind::AfterQuote));
        }
        Ok(Some(Field {
            text,
            column,
            quoted: true,
        }))
    }
}

/// Parses one line; `Ok(None)` for a blank or comment line.
pub(crate) fn parse_line(line: &str, number: usize) -> Result<Option<Entry>, TableError> {
    let error = |field: Field<'_>, kind: SyntaxErrorKind| TableError::Syntax {
        path: None,
        line: number,
        column: field.column,
        field: field.text.to_owned(),
        kind,
    };
    let mut scanner = Scanner::new(line);
    let Some(type_field) = scanner.field() else {
        return Ok(None);
    };
    if type_field.text.starts_with('#') {
        return Ok(None);
    }
    let (kind, hops) = parse_type(type_field.text).map_err(|kind| error(type_field, kind))?;

    let max_fields = if kind.takes_password() { 4 } else { 3 };
    let mut origin = None;
    let mut dest = Host::any();
    let mut service = Service::any();
    let mut password = None;
    for index in 0.. {
        let field = if index == 0 && kind.is_keyed() {
            scanner
                .peer_field()
                .map_err(|(field, kind)| error(field, kind))?
        } else {
            scanner.field()
        };
        let Some(field) = field else { break };
        if field.text.starts_with('#') && !field.quoted {
            return Err(error(field, SyntaxErrorKind::InlineComment));
        }
        let parsed = match index {
            0 if kind.is_keyed() => PeerName::parse(field.text).map(|name| {
                origin = Some(Origin::Peer(name));
            }),
            0 => Host::parse(field.text).map(|host| origin = Some(Origin::Host(host))),
            1 => Host::parse(field.text).map(|host| dest = host),
            2 => Service::parse(field.text).map(|parsed| service = parsed),
            3 if kind.takes_password() => {
                password = Some(Password::parse(field.text));
                Ok(())
            }
            3 => Err(SyntaxErrorKind::PasswordNotAllowed),
            _ => Err(SyntaxErrorKind::TooManyFields { max: max_fields }),
        };
        parsed.map_err(|kind| error(field, kind))?;
    }

    let Some(origin) = origin else {
        let what = if kind.is_keyed() {
            "a peer name (a TLS subject, or *)"
        } else {
            "a source host"
        };
        return Err(error(type_field, SyntaxErrorKind::MissingField { what }));
    };
    Ok(Some(Entry {
        line: number,
        kind,
        hops,
        origin,
        dest,
        service,
        password,
    }))
}

/// `P`, `P0,*`, `KT`, …
fn parse_type(text: &str) -> Result<(EntryKind, HopLimits), SyntaxErrorKind> {
    let split = text
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (word, limits) = text.split_at_checked(split).unwrap_or((text, ""));
    let kind = EntryKind::from_keyword(word).ok_or(SyntaxErrorKind::UnknownType)?;
    if limits.is_empty() {
        return Ok((kind, HopLimits::UNLIMITED));
    }
    if !kind.takes_hop_limits() {
        return Err(SyntaxErrorKind::HopLimitsNotAllowed);
    }
    let (before, after) = limits.split_once(',').ok_or(SyntaxErrorKind::HopLimits)?;
    Ok((
        kind,
        HopLimits {
            before: hop_limit(before)?,
            after: hop_limit(after)?,
        },
    ))
}

fn hop_limit(text: &str) -> Result<u8, SyntaxErrorKind> {
    if text == "*" {
        return Ok(u8::MAX);
    }
    if text.is_empty() || text.len() > 3 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SyntaxErrorKind::HopLimits);
    }
    text.parse().map_err(|_| SyntaxErrorKind::HopLimits)
}

/// The 1-based line and column of byte `offset`, whose prefix is valid UTF-8.
pub(crate) fn position_of(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = bytes.get(..offset).unwrap_or(bytes);
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let line = 1 + before.iter().filter(|b| **b == b'\n').count();
    let current = before.get(line_start..).unwrap_or_default();
    let column = 1 + String::from_utf8_lossy(current).chars().count();
    (line, column)
}
