//! [`heavy`]: a guard that keeps the heavy end-to-end tests from running at the same time.
//!
//! The end-to-end scenarios share one test binary, so the harness runs any two of them at
//! once. Most load the machine lightly; a few load it as much as a whole build (the pre-auth
//! flood holds hundreds of connections, each schemathesis run is a Python process busy on one
//! core) and have time limits of their own. Two of those together on a two-core machine could
//! miss their limits, so each holds this guard for its whole run. Light tests do not take it:
//! they run beside a heavy one as they run beside other builds on the same machine.

use tokio::sync::{Mutex, MutexGuard};

static HEAVY: Mutex<()> = Mutex::const_new(());

/// Waits until no other heavy test runs; the guard lets the next one start when dropped.
/// A tokio mutex (not `std`'s), because tests that wait for it are async and a test that
/// panics releases it without poisoning it for the rest.
pub async fn heavy() -> MutexGuard<'static, ()> {
    HEAVY.lock().await
}
