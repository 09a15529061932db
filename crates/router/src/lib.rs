//! A SAProuter-compatible router (`portcullis router`).
//!
//! # Layout
//!
//! * `io`: NI frames over async streams, with a size limit checked before allocating.
//! * `client`: the client side of routing (connect through a route string, version query),
//!   also what a router uses to forward a route to the next router.
//! * `niping`: SAP's niping test tool, server (echo every NI frame) and client (send buffers
//!   directly or through a route string, check and time each echo, niping's report).
//! * `table`: the route permission table (`saprouttab`): parsed once into validated entries
//!   with errors that name the line and column, then matched first-match-wins, default deny
//!   (sap-reference §1.2). A permitted route yields a `table::Permit`.

pub mod client;
pub mod io;
pub mod niping;
pub mod table;
