//! [`Manifest`]: what a backup holds, and the checks a restore makes against it before it
//! touches anything (shared with the hub: `portcullis_backup::manifest`).

pub use portcullis_backup::manifest::*;

/// The component name of a connector backup (a hub backup says `hub`).
pub const COMPONENT: &str = CONNECTOR;
