//! End-to-end scenarios live in `tests/e2e/`, one module per subject in one test binary; this
//! crate has no library code.
