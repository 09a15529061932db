//! The admin's operations on the running connector: what the local admin socket (and, later,
//! an admin web UI or REST API) calls.

pub(crate) mod trust;
