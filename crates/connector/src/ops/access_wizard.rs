//! The steps of the wizard that adds an access entry (sap-reference §3.5.1): name and
//! back-end type → protocol (only those the back-end type offers) → internal host → virtual
//! host → host in header (HTTP, HTTPS) → system certificate (HTTPS, TCP-TLS, LDAPS) →
//! system ID and description → summary.
//!
//! A browser without JavaScript carries the earlier answers in hidden fields, so every step
//! checks all answers up to it again here: a forged earlier answer is caught like a typed
//! one. The rules are the domain's (`BackendType::protocols`, `HostPorts::parse`) and, from
//! the virtual host on, the whole configuration loaded with the new entry in it, as the
//! final add will load it.

use portcullis_domain::access::{BackendType, HostInHeader, Protocol};
use portcullis_domain::target::HostPorts;

use super::entry_text::{self, EntryFields};
use super::OpError;
use crate::config::MAX_ENTRY_NAME_LEN;
use crate::config_file::read_config;
use crate::shared::Shared;

/// A step of the wizard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// Name and back-end type.
    Backend = 1,
    /// Protocol.
    Protocol,
    /// Internal host and port.
    Internal,
    /// Virtual host and port.
    Virtual,
    /// Host in request header.
    HostHeader,
    /// System certificate.
    Certificate,
    /// System ID and description.
    Describe,
    /// Summary, with the reachability check option.
    Summary,
}

impl Step {
    const ALL: [Step; 8] = [
        Step::Backend,
        Step::Protocol,
        Step::Internal,
        Step::Virtual,
        Step::HostHeader,
        Step::Certificate,
        Step::Describe,
        Step::Summary,
    ];

    /// The step numbered `n` (as forms carry it).
    pub fn from_number(n: u8) -> Option<Step> {
        Step::ALL.into_iter().find(|s| *s as u8 == n)
    }

    /// Its number.
    pub fn number(self) -> u8 {
        self as u8
    }

    /// Whether the step is asked for an entry of `protocol`.
    fn applies(self, protocol: Option<Protocol>) -> bool {
        match self {
            Step::HostHeader => protocol.is_some_and(Protocol::is_http),
            Step::Certificate => protocol.is_some_and(Protocol::is_tls),
            _ => true,
        }
    }

    /// The step after this one for `f`.
    pub fn next(self, f: &EntryFields) -> Step {
        let p = f.protocol.parse().ok();
        Step::ALL
            .into_iter()
            .find(|s| *s > self && s.applies(p))
            .unwrap_or(Step::Summary)
    }

    /// The step before this one for `f`.
    pub fn back(self, f: &EntryFields) -> Step {
        let p = f.protocol.parse().ok();
        Step::ALL
            .into_iter()
            .rev()
            .find(|s| *s < self && s.applies(p))
            .unwrap_or(Step::Backend)
    }
}

/// Why a step's answers are refused: the step to show, and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct StepError {
    /// The step whose answer is at fault.
    pub step: Step,
    /// Why.
    pub reason: String,
}

fn at(step: Step, reason: impl Into<String>) -> StepError {
    StepError {
        step,
        reason: reason.into(),
    }
}

/// The protocols the back-end type named `backend` offers (all when it does not parse).
pub fn protocols_for(backend: &str) -> &'static [Protocol] {
    backend
        .parse::<BackendType>()
        .map_or(&Protocol::ALL[..], BackendType::protocols)
}

/// Checks every answer of `f` up to and including `upto`, against the file as it is now.
pub(crate) async fn check_upto(
    shared: &Shared,
    f: &EntryFields,
    upto: Step,
) -> Result<(), StepError> {
    let file = |e: OpError| at(upto, sentence(&e.to_string()));
    let (_, text) = read_config(shared.config_path.as_deref())
        .await
        .map_err(|e| file(e.into()))?;
    let name = f.name.trim();
    if name.is_empty() {
        return Err(at(Step::Backend, "Give the entry a name."));
    }
    if name.len() > MAX_ENTRY_NAME_LEN || name.chars().any(char::is_control) {
        return Err(at(
            Step::Backend,
            format!(
                "The name must be at most {MAX_ENTRY_NAME_LEN} bytes without control characters."
            ),
        ));
    }
    let taken = entry_text::versions(&text).map_err(|e| file(e.into()))?;
    if taken.iter().any(|(n, _)| n == name) {
        return Err(at(
            Step::Backend,
            format!("An access entry is named {name:?} already."),
        ));
    }
    let backend: BackendType =
        f.backend_type
            .parse()
            .map_err(|e: portcullis_domain::access::UnknownName| {
                at(Step::Backend, format!("Choose a back-end type: {e}."))
            })?;
    if upto < Step::Protocol {
        return Ok(());
    }
    let protocol: Protocol = f
        .protocol
        .parse()
        .map_err(|e| at(Step::Protocol, format!("Choose a protocol: {e}.")))?;
    if !backend.protocols().contains(&protocol) {
        let offered: Vec<&str> = backend.protocols().iter().map(|p| p.as_str()).collect();
        return Err(at(
            Step::Protocol,
            format!(
                "{protocol} is not offered for back-end type {backend} (offered: {}).",
                offered.join(", ")
            ),
        ));
    }
    if upto < Step::Internal {
        return Ok(());
    }
    HostPorts::parse(&f.internal)
        .map_err(|e| at(Step::Internal, format!("The internal host: {e}.")))?;
    if upto < Step::Virtual {
        return Ok(());
    }
    HostPorts::parse(&f.virtual_target)
        .map_err(|e| at(Step::Virtual, format!("The virtual host: {e}.")))?;
    if upto >= Step::HostHeader && !f.host_in_header.trim().is_empty() {
        f.host_in_header
            .parse::<HostInHeader>()
            .map_err(|e| at(Step::HostHeader, format!("Host in header: {e}.")))?;
    }
    // The entry as far as answered, in the whole file: ranges, overlaps, field rules.
    let mut so_far = f.clone();
    if upto < Step::HostHeader {
        so_far.host_in_header.clear();
    }
    if upto < Step::Certificate {
        so_far.system_certificate = false;
    }
    if upto < Step::Describe {
        so_far.system_id.clear();
        so_far.description.clear();
    }
    super::access_entry::check_new(shared, &so_far)
        .await
        .map_err(file)
}

/// `s` as a sentence: capital first letter, full stop.
fn sentence(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => format!("{}{}.", f.to_uppercase(), c.as_str().trim_end_matches('.')),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_skip_what_the_protocol_does_not_use() {
        let mut f = EntryFields {
            protocol: "tcp".into(),
            ..Default::default()
        };
        assert_eq!(Step::Virtual.next(&f), Step::Describe);
        assert_eq!(Step::Describe.back(&f), Step::Virtual);
        f.protocol = "http".into();
        assert_eq!(Step::Virtual.next(&f), Step::HostHeader);
        assert_eq!(Step::HostHeader.next(&f), Step::Describe);
        f.protocol = "https".into();
        assert_eq!(Step::HostHeader.next(&f), Step::Certificate);
        f.protocol = "ldaps".into();
        assert_eq!(Step::Virtual.next(&f), Step::Certificate);
        assert_eq!(Step::from_number(8), Some(Step::Summary));
        assert_eq!(Step::from_number(9), None);
        assert_eq!(protocols_for("PI"), &[Protocol::Http, Protocol::Https]);
    }
}
