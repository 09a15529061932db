//! The hub: API, tunnel endpoint, entry points, audit.
#![forbid(unsafe_code)]

pub mod entry;
