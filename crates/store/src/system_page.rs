//! One page of a company's systems list, picked, ordered and counted by the store.
//!
//! The systems list (the portal's `/systems`, `GET /api/v1/companies/{c}/systems`) takes the
//! filter syntax of [`portcullis_domain::system_filter`]. Reading the whole company to filter,
//! sort and page in the hub costs tens of milliseconds at 10 000 systems; a backend answers
//! [`SystemPageQuery`] in its query language instead and hands back only the page and the
//! count. What each term means is stated here, once, and checked against every backend by the
//! conformance suite (`conformance::system_page`):
//!
//! * a word: the SID, the product or the description contains it, ignoring the case of the
//!   letters A–Z (the parser lower-cases them; other characters compare as they are);
//! * `status:`, `type:`: equal; `product:`: the product contains it, as a word does;
//! * `flag:`: the flag is set;
//! * `favourite:yes`: the viewer marked the system;
//! * `network:`: `not_set_up` without service connections; `not_connected` when one of them
//!   goes through a connector not in [`SystemPageQuery::connected`]; `connected` otherwise;
//! * `state:open`: one of its service connections has a window that is open at `now` (not
//!   closed, started, not ended); `state:reserved`: one has a window that starts later and
//!   none open; `state:closed`: one has no window that is open or reserved at `now`;
//! * `NOT`: the term does not hold. Terms combine with AND.
//!
//! Order: by the group's key (when grouped), then by the sort key, then by id. The sort
//! `open` puts systems with more open service connections first.

use portcullis_domain::system_filter::Filter;
use time::OffsetDateTime;

use crate::remote::System;
use crate::Id;

/// The key a list is sorted by within its groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemSort {
    /// The SID.
    Sid,
    /// The product.
    Product,
    /// The status (`active` before `inactive`).
    Status,
    /// The system type.
    SystemType,
    /// Most open service connections first.
    Open,
}

impl SystemSort {
    /// The names the list's `sort` takes.
    pub const NAMES: [&'static str; 5] = ["sid", "product", "status", "system_type", "open"];

    /// The sort named `name` (one of [`Self::NAMES`]).
    pub fn named(name: &str) -> Option<SystemSort> {
        Some(match name {
            "sid" => SystemSort::Sid,
            "product" => SystemSort::Product,
            "status" => SystemSort::Status,
            "system_type" => SystemSort::SystemType,
            "open" => SystemSort::Open,
            _ => return None,
        })
    }
}

/// What a list is grouped by: runs of one key, keys ascending (compared as UTF-8 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemGroup {
    /// The status.
    Status,
    /// The system type.
    Type,
    /// The product.
    Product,
    /// The network status (`connected`, `not_connected`, `not_set_up`).
    Network,
}

impl SystemGroup {
    /// The names the list's `group` takes.
    pub const NAMES: [&'static str; 4] = ["status", "type", "product", "network"];

    /// The grouping named `name` (one of [`Self::NAMES`]).
    pub fn named(name: &str) -> Option<SystemGroup> {
        Some(match name {
            "status" => SystemGroup::Status,
            "type" => SystemGroup::Type,
            "product" => SystemGroup::Product,
            "network" => SystemGroup::Network,
            _ => return None,
        })
    }
}

/// Which systems of a company, in which order, and which part of them.
#[derive(Debug, Clone)]
pub struct SystemPageQuery<'a> {
    /// The company whose systems are listed.
    pub company_id: Id,
    /// Whose favourites `favourite:` means.
    pub viewer: Id,
    /// The instant `state:` is judged at.
    pub now: OffsetDateTime,
    /// The company's connectors that are connected now (`network:`); the store cannot know
    /// which tunnels are up.
    pub connected: &'a [Id],
    /// Every clause must hold.
    pub filter: &'a Filter,
    /// Runs of one key first, when set.
    pub group: Option<SystemGroup>,
    /// The order within a group.
    pub sort: SystemSort,
    /// Systems skipped before the page.
    pub offset: u64,
    /// Most systems on the page; `None`: all the rest.
    pub limit: Option<u64>,
}

/// A page of systems and how many match in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemPage {
    /// Systems that match the filter, on every page.
    pub total: u64,
    /// The page, in order.
    pub systems: Vec<System>,
}
