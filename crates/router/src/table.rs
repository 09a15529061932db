//! The route permission table (`saprouttab`, sap-reference §1.2).
//!
//! A table is a list of entries, one per line, checked first-match-wins for every route
//! request: the first entry whose source, destination and service match decides, and a route
//! no entry matches is denied. The router refuses to start without a table, as SAP's does.
//!
//! # Layout
//!
//! * `table.rs` (here): [`RouteTable`]: parsing, loading, host-name resolution, checking.
//! * `entry.rs`: [`Entry`] and its parts (type, hop limits, service, password, TLS peer name),
//!   rendered back to table syntax with the password masked.
//! * `host.rs`: host patterns: `*`, IPv4/IPv6 addresses and prefixes, `a.b.*.*` wildcards,
//!   binary octets like `1011xxxx`, host names.
//! * `parse.rs`: the line grammar, with errors that name line and column ([`TableError`]).
//! * `matching.rs`: [`RouteQuery`] in, [`Decision`] out ([`Permit`] or a [`DenyReason`]).
//!
//! # Syntax
//!
//! ```text
//! # a comment: the first non-blank character of the line is '#'
//! P[v,n]  <source-host>  [<dest-host>  [<dest-serv>  [<password>]]]   permit
//! S[v,n]  <source-host>  [<dest-host>  [<dest-serv>  [<password>]]]   permit NI routes only
//! D       <source-host>  [<dest-host>  [<dest-serv>]]                  deny
//! KT      <peer-name>    [<host>       [<serv>]]                       this hop needs TLS
//! KP      <peer-name>    [<dest-host>  [<dest-serv>  [<password>]]]   permit, TLS peers only
//! KS      <peer-name>    [<dest-host>  [<dest-serv>  [<password>]]]   KP, NI routes only
//! KD      <peer-name>    [<dest-host>  [<dest-serv>]]                  deny, TLS peers only
//! ```
//!
//! Omitted trailing fields are `*`. Fields are separated by blanks (spaces, tabs); columns in
//! errors count characters, a tab being one. A `#` only starts a comment at the beginning of a
//! line: SAP documents no inline comments, so a field may contain `#`, but a field that
//! *starts* with `#` is refused, because `P * * 3200 #dispatcher` would otherwise silently
//! make `#dispatcher` the password.
//!
//! * `v` / `n` in `Pv,n` / `Sv,n`: the most routers allowed before / after this one, a number
//!   0–255 or `*` (unlimited, 255). `P` alone is `P*,*`.
//! * Hosts: `*`; an IPv4 address; an IPv4 pattern of four octets, each a number, `*`, or eight
//!   binary digits where `x` is either bit (`155.57.1011xxxx.*` = 155.57.176.0–155.57.191.255);
//!   a prefix `133.27.16.0/24`; an IPv6 address or prefix; a host name. Decimal octets with a
//!   leading zero (`010`) are refused: C's `inet_aton` reads them as octal.
//! * Services: `*`, a port, a range `low.high` (with a period), or a name
//!   ([`portcullis_ni::service::resolve_service`]: `sapdp00`, `sapgw00`, `telnet`, …). An
//!   unknown name is an error, so a table means the same on every host.
//! * Passwords: any field not starting with `#`; `*` accepts any password, none included.
//! * Peer names (the SNC names of SAP's K entries; TLS certificate subjects here): `*` (any
//!   authenticated peer), or a subject such as `"p:CN=sapserv2, OU=SAProuter, O=SAP, C=DE"`,
//!   quoted when it contains blanks. See [`PeerName`] for how names compare.
//!
//! # Matching
//!
//! See [`RouteTable::check`].

mod entry;
mod host;
mod matching;
mod parse;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

pub use entry::{Entry, EntryKind, PeerName};
pub use matching::{Decision, DenyReason, Permit, RouteMode, RouteQuery, SAP_SERVICE_PORTS};
pub use parse::{SyntaxErrorKind, TableError};

/// A parsed route permission table, in file order.
#[derive(Clone, Debug, Default)]
pub struct RouteTable {
    entries: Vec<Entry>,
}

impl RouteTable {
    /// Parses a table. Blank lines and comment lines are skipped; any other line must be a
    /// valid entry, and the first that is not is reported with its line and column.
    pub fn parse(text: &str) -> Result<RouteTable, TableError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut entries = Vec::new();
        for (index, line) in text.lines().enumerate() {
            if let Some(entry) = parse::parse_line(line, index + 1)? {
                entries.push(entry);
            }
        }
        Ok(RouteTable { entries })
    }

    /// Reads and parses the table at `path`.
    ///
    /// A missing file is an error ([`TableError::NotFound`]): a router without a table refuses
    /// to start, as current SAProuter releases do (older ones permitted everything). The file
    /// must be UTF-8 (ASCII in practice); a leading byte-order mark is ignored.
    pub fn load(path: impl AsRef<Path>) -> Result<RouteTable, TableError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => TableError::NotFound {
                path: path.to_path_buf(),
            },
            _ => TableError::Read {
                path: path.to_path_buf(),
                source,
            },
        })?;
        let text = std::str::from_utf8(&bytes).map_err(|err| {
            let (line, column) = parse::position_of(&bytes, err.valid_up_to());
            TableError::NotUtf8 {
                path: path.to_path_buf(),
                line,
                column,
            }
        })?;
        RouteTable::parse(text).map_err(|err| err.in_file(path))
    }

    /// Attaches addresses to the host names in the table, replacing any attached before.
    ///
    /// `resolve` is called once per distinct name (names compare ignoring ASCII case), in
    /// table order. The router calls this once after loading (and again on reload); a name
    /// `resolve` returns nothing for still matches a destination written with that name, but
    /// never a source. Resolving once at load follows SAP, whose internal table holds
    /// addresses; when DNS changes, reload the table.
    pub fn resolve_hosts(&mut self, mut resolve: impl FnMut(&str) -> Vec<IpAddr>) {
        let mut resolved: HashMap<String, Vec<IpAddr>> = HashMap::new();
        for entry in &mut self.entries {
            for host in entry.hosts_mut() {
                if let Some(name) = host.name() {
                    let addrs = resolved
                        .entry(name.to_ascii_lowercase())
                        .or_insert_with(|| resolve(name))
                        .clone();
                    host.set_addresses(addrs);
                }
            }
        }
    }

    /// The distinct host names in the table, in order of first appearance: what
    /// [`resolve_hosts`](Self::resolve_hosts) will ask for. Lets an async caller resolve them
    /// up front and hand the answers over.
    pub fn host_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for host in self.entries.iter().flat_map(Entry::hosts) {
            if let Some(name) = host.name() {
                if !names.iter().any(|seen| seen.eq_ignore_ascii_case(name)) {
                    names.push(name);
                }
            }
        }
        names
    }

    /// Decides a route request (sap-reference §1.2.3, §1.2.4).
    ///
    /// 1. **Incoming TLS requirement.** The first `KT` entry whose host matches the source
    ///    address requires the predecessor to have authenticated over TLS with that entry's
    ///    peer name; otherwise the route is denied ([`DenyReason::TlsRequired`]), whatever the
    ///    other entries say. (A `KT` service applies to outgoing hops only: an incoming
    ///    connection arrives from an ephemeral port.)
    /// 2. **First match.** The first `P`/`S`/`D`/`KP`/`KS`/`KD` entry whose source,
    ///    destination and service match decides. `P`, `S` and `D` match any connection by
    ///    source address; `KP`, `KS` and `KD` match only a predecessor authenticated over TLS,
    ///    by its peer name, and ignore the source address. No match: denied
    ///    ([`DenyReason::NoMatch`]).
    ///
    ///    SAP's native-service rule: when this router is the last (`hops_after == 0`), the
    ///    route is native (RAW) and the port is not an SAP service port
    ///    ([`SAP_SERVICE_PORTS`]), a permitting entry's `*` service does not match; the port
    ///    must be written as a number, name or range. Deny entries keep matching with `*`, so
    ///    the rule can never let a route slip past a `D` line.
    /// 3. **Conditions.** A `D`/`KD` entry denies. A permitting entry then checks, in this
    ///    order: its password (none: no check; `*`: any; otherwise equality, in constant
    ///    time), its hop limits (`P`/`S` only: at most `v` routers before and `n` after), and
    ///    the mode (`S`/`KS`: NI routes only). A failed condition **denies**; evaluation does
    ///    not fall through to later entries. SAP calls these "conditions for the permission,
    ///    but not essential for the match", which implies this, but it is not verified
    ///    against a real SAProuter (sap-reference Appendix A, question 3). The password is
    ///    checked first so that a client without it learns nothing else about the entry.
    /// 4. **Outgoing TLS requirement.** The first `KT` entry whose host and service match
    ///    the destination names the peer the outgoing hop must authenticate as
    ///    ([`Permit::outgoing_tls_peer`]).
    pub fn check(&self, query: &RouteQuery<'_>) -> Decision {
        matching::check(&self.entries, query)
    }

    /// The number of entries (comment and blank lines excluded).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table has no entries; such a table denies every route.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries in table order, e.g. for the router's information output.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }
}
