//! A SAProuter-compatible router (`portcullis router`).
//!
//! # Layout
//!
//! * `table`: the route permission table (`saprouttab`): parsed once into validated entries
//!   with errors that name the line and column, then matched first-match-wins, default deny
//!   (sap-reference §1.2). A permitted route yields a `table::Permit`.

pub mod table;
