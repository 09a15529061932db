//! Alerting (CC-44..46, sap-reference §3.10): the connector watches itself and tells people
//! when something needs them: the tunnel down, the CPU busy for long, the disk nearly full, a
//! certificate about to expire, a back end not answering, the audit log not writable.
//!
//! Every `check_interval` the watcher (`alerts_watch::run`) gathers an [`Observation`] (the status, the
//! hardware history, the last reachability checks, the certificates), [`evaluate`]s it by the
//! thresholds of `[alerts]`, and brings the [`Book`] in line: an alert is raised once while its
//! condition lasts and resolved once when it clears, each time queueing a delivery per channel
//! (e-mail, webhooks) for the categories that notify. Deliveries are made in order, retried
//! with a growing wait, and kept in `data_dir/alerts.json` until a channel took them, so a
//! restart loses none. The book is read by the admin socket (`portcullis connector alerts`),
//! the REST API (`GET /api/v1/alerts`) and the admin UI's Alerts page.
//!
//! # Layout
//! - [`conditions`]: observation → conditions (pure).
//! - [`book`]: the alerts and the pending deliveries, and their file.
//! - [`deliver`]: e-mail and webhook sending.
//!
//! [`Observation`]: conditions::Observation
//! [`evaluate`]: conditions::evaluate
//! [`Book`]: book::Book

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tokio::sync::watch;

pub mod book;
pub mod conditions;
pub mod deliver;

use book::{Alert, Book, Delivery};

use crate::config::AlertsConfig;

/// What the watcher needs from the configuration; replaced on every reload.
#[derive(Debug, Clone, Default)]
pub struct Watched {
    /// `[alerts]`.
    pub alerts: AlertsConfig,
    /// The system certificate's chain file, whose expiry is watched too.
    pub system_certificate: Option<PathBuf>,
}

impl Watched {
    /// What of `config` the watcher needs.
    pub fn of(config: &crate::config::ConnectorConfig) -> Watched {
        Watched {
            alerts: config.alerts.clone(),
            system_certificate: config
                .backend_tls
                .system_certificate
                .as_ref()
                .map(|(chain, _)| chain.clone()),
        }
    }
}

/// The alerting state shared with the admin socket and the admin UI.
#[derive(Debug)]
pub struct Alerts {
    /// The configuration in force (the reloader replaces it).
    pub watched: watch::Sender<Watched>,
    book: Mutex<Book>,
    path: PathBuf,
}

/// The alerts and what waits to be sent, as listed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct AlertsView {
    /// Alerts, newest first.
    pub alerts: Vec<Alert>,
    /// Deliveries not yet made, oldest first.
    pub pending: Vec<Delivery>,
    /// The channels configured now.
    pub channels: Vec<String>,
}

impl Alerts {
    /// The alerting state of the data directory `data_dir`, with the book the last run left.
    pub fn load(data_dir: &Path, watched: Watched) -> Alerts {
        let path = crate::data_dir::ConnectorDataDir::new(data_dir).alerts();
        let mut book = book::load(&path);
        // What waited at the last stop is tried at once: the stop may have been the fix.
        let now = now_ms();
        for d in &mut book.pending {
            d.next_ms = d.next_ms.min(now);
        }
        Alerts {
            book: Mutex::new(book),
            watched: watch::Sender::new(watched),
            path,
        }
    }

    pub(crate) fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many alerts are active now.
    pub fn active_count(&self) -> usize {
        self.book()
            .alerts
            .iter()
            .filter(|a| a.status == book::AlertStatus::Active)
            .count()
    }

    /// The alerts newest first and the pending deliveries.
    pub fn view(&self) -> AlertsView {
        let b = self.book();
        AlertsView {
            alerts: b.newest_first(),
            pending: b.pending.clone(),
            channels: book::channels(&self.watched.borrow().alerts),
        }
    }

    pub(crate) fn save(&self, b: &Book) {
        if let Err(e) = book::save(&self.path, b) {
            tracing::error!(path = %self.path.display(), error = %e, "cannot save the alert book");
        }
    }
}

/// `ms` (unix milliseconds) as RFC 3339 in UTC, for messages and lists.
pub use crate::windows::format_ms as rfc3339;

pub(crate) fn now_ms() -> i64 {
    crate::windows::now_ms()
}
