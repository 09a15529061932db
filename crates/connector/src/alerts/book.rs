//! The alert book: every alert raised (active ones and the recently resolved) and the
//! deliveries not yet made, kept in `data_dir/alerts.json`
//! ([`ALERTS_FILE`](crate::data_dir::names::ALERTS_FILE)).
//!
//! An alert is raised once when its condition first holds and resolved once when it no
//! longer does; each raise and each resolution queues one delivery per channel (e-mail, each
//! webhook) for the categories that notify. A delivery leaves the queue only when the channel
//! took it; a failed one waits longer each time (5 s doubling up to 10 minutes). The file is
//! written after every change, like the connector's other files (temporary name, mode 0600,
//! synced, renamed), so neither an alert nor a pending delivery is lost to a restart, and a
//! condition that still holds after a restart is not raised again.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::conditions::Condition;
use crate::config::{AlertsConfig, Category};

/// Alerts kept: the active ones always, the resolved ones up to this many in all.
pub const KEPT: usize = 500;
/// Deliveries kept at most; beyond this the oldest are dropped (logged), so an unreachable
/// channel cannot grow the file without bound.
pub const MAX_PENDING: usize = 5_000;
/// The first retry waits this long; each next one twice as long …
const RETRY_FIRST_MS: i64 = 5_000;
/// … up to this.
const RETRY_MAX_MS: i64 = 600_000;

/// Whether an alert's condition still holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    /// It holds.
    Active,
    /// It held and no longer does.
    Resolved,
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Alert {
    /// Its number, unique in this data directory.
    pub id: u64,
    /// The condition's key (`tunnel`, `backend:erp` …).
    pub key: String,
    /// Its category.
    pub category: Category,
    /// Active or resolved.
    pub status: AlertStatus,
    /// What is wrong, as first seen.
    pub message: String,
    /// What it is about.
    pub entity: String,
    /// When it was raised, unix ms.
    pub raised_ms: i64,
    /// When it was resolved, unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_ms: Option<i64>,
}

/// What a delivery tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// The alert was raised.
    Raised,
    /// Its condition cleared.
    Resolved,
}

/// A delivery not yet made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Delivery {
    /// The alert (as it was when the delivery was queued).
    pub alert: Alert,
    /// Raised or resolved.
    pub event: Event,
    /// `email` or `webhook <host>#<hash>` ([`webhook_channel`]).
    pub channel: String,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due, unix ms.
    pub next_ms: i64,
    /// Why the last attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// The file's content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Book {
    /// The number the next alert gets.
    pub next_id: u64,
    /// Alerts, oldest first.
    pub alerts: Vec<Alert>,
    /// Deliveries not yet made, in the order they were queued.
    pub pending: Vec<Delivery>,
}

/// The channels configured now, by the names deliveries carry.
pub fn channels(c: &AlertsConfig) -> Vec<String> {
    let mut out = Vec::new();
    if c.email.is_some() {
        out.push("email".to_owned());
    }
    out.extend(c.webhooks.iter().map(|w| webhook_channel(&w.url)));
    out
}

/// A webhook's name in lists, logs and the book: its host and a short hash of the whole URL
/// (`webhook alerts.example.com#3f9a1c`), never the URL itself, whose path or query often
/// carries a token.
pub fn webhook_channel(url: &str) -> String {
    use sha2::Digest;
    let host = url
        .parse::<http::Uri>()
        .ok()
        .and_then(|u| u.host().map(str::to_owned))
        .unwrap_or_default();
    let hash = hex::encode(&sha2::Sha256::digest(url.as_bytes())[..3]);
    format!("webhook {host}#{hash}")
}

impl Book {
    /// Brings the book in line with the conditions that hold now: raises the new ones,
    /// resolves the gone ones, queues their deliveries. Returns whether anything changed.
    pub fn update(&mut self, now: &[Condition], config: &AlertsConfig, now_ms: i64) -> bool {
        self.update_known(now, config, now_ms, &[])
    }

    /// [`Book::update`], leaving the active alerts of the `unknown` categories as they are:
    /// those whose data is not there yet (back ends before their first probe after a
    /// start), so a restart does not resolve them only to raise them again.
    pub fn update_known(
        &mut self,
        now: &[Condition],
        config: &AlertsConfig,
        now_ms: i64,
        unknown: &[Category],
    ) -> bool {
        let holding: BTreeSet<&str> = now.iter().map(|c| c.key.as_str()).collect();
        let channels = channels(config);
        let mut changed = false;
        let mut queue = Vec::new();
        for a in self.alerts.iter_mut().filter(|a| {
            a.status == AlertStatus::Active
                && !holding.contains(a.key.as_str())
                && !unknown.contains(&a.category)
        }) {
            a.status = AlertStatus::Resolved;
            a.resolved_ms = Some(now_ms);
            changed = true;
            if config.notifies(a.category) {
                queue.push((a.clone(), Event::Resolved));
            }
        }
        for c in now {
            let active = self
                .alerts
                .iter()
                .any(|a| a.status == AlertStatus::Active && a.key == c.key);
            if active {
                continue;
            }
            self.next_id += 1;
            let a = Alert {
                id: self.next_id,
                key: c.key.clone(),
                category: c.category,
                status: AlertStatus::Active,
                message: c.message.clone(),
                entity: c.entity.clone(),
                raised_ms: now_ms,
                resolved_ms: None,
            };
            tracing::warn!(category = c.category.name(), entity = %c.entity, "alert: {}", c.message);
            if config.notifies(c.category) {
                queue.push((a.clone(), Event::Raised));
            }
            self.alerts.push(a);
            changed = true;
        }
        for (alert, event) in queue {
            for channel in &channels {
                self.pending.push(Delivery {
                    alert: alert.clone(),
                    event,
                    channel: channel.clone(),
                    attempts: 0,
                    next_ms: now_ms,
                    last_error: None,
                });
            }
        }
        self.trim();
        changed
    }

    /// Drops the oldest resolved alerts beyond [`KEPT`] and the oldest deliveries beyond
    /// [`MAX_PENDING`].
    fn trim(&mut self) {
        while self.alerts.len() > KEPT {
            match self
                .alerts
                .iter()
                .position(|a| a.status == AlertStatus::Resolved)
            {
                Some(i) => {
                    self.alerts.remove(i);
                }
                None => break,
            }
        }
        if self.pending.len() > MAX_PENDING {
            let drop = self.pending.len() - MAX_PENDING;
            tracing::error!(
                dropped = drop,
                "alert deliveries dropped: more than {MAX_PENDING} were waiting"
            );
            self.pending.drain(..drop);
        }
    }

    /// Drops deliveries to channels no longer configured (logged); returns whether any were.
    pub fn forget_unconfigured(&mut self, config: &AlertsConfig) -> bool {
        let channels = channels(config);
        let before = self.pending.len();
        self.pending.retain(|d| {
            let keep = channels.contains(&d.channel);
            if !keep {
                tracing::warn!(channel = %d.channel, alert = d.alert.id, "alert delivery dropped: its channel is no longer configured");
            }
            keep
        });
        before != self.pending.len()
    }

    /// Records a failed attempt of the delivery at `i`: it is tried again later.
    pub fn failed(&mut self, i: usize, error: String, now_ms: i64) {
        let d = &mut self.pending[i];
        d.attempts += 1;
        let wait = RETRY_FIRST_MS
            .saturating_mul(1 << d.attempts.saturating_sub(1).min(16))
            .min(RETRY_MAX_MS);
        d.next_ms = now_ms + wait;
        d.last_error = Some(error);
    }

    /// The next delivery to make at `now_ms`: per channel only the oldest waiting one may go
    /// (so a "resolved" never overtakes its "raised"), and only when it is due; channels in
    /// `skip` are left out.
    pub fn next_due(&self, now_ms: i64, skip: &[String]) -> Option<Delivery> {
        let mut seen: Vec<&str> = Vec::new();
        for d in &self.pending {
            if seen.contains(&d.channel.as_str()) {
                continue;
            }
            seen.push(&d.channel);
            if d.next_ms <= now_ms && !skip.contains(&d.channel) {
                return Some(d.clone());
            }
        }
        None
    }

    /// Alerts newest first (what the CLI, API and UI list).
    pub fn newest_first(&self) -> Vec<Alert> {
        self.alerts.iter().rev().cloned().collect()
    }
}

/// Reads the book; a missing file is an empty book, a broken one is set aside
/// (`alerts.json.corrupt-<unix time>`) and logged: alerts are rebuilt at the next check.
pub fn load(path: &Path) -> Book {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Book::default(),
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "cannot read the alert book; starting without it");
            return Book::default();
        }
    };
    match serde_json::from_slice::<File>(&bytes) {
        Ok(f) if f.version == 1 => f.book,
        Ok(f) => {
            tracing::error!(path = %path.display(), version = f.version, "the alert book has an unknown version; starting without it");
            set_aside(path);
            Book::default()
        }
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "the alert book does not parse; set aside, starting without it");
            set_aside(path);
            Book::default()
        }
    }
}

fn set_aside(path: &Path) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let aside = path.with_extension(format!("json.corrupt-{secs}"));
    if let Err(e) = std::fs::rename(path, &aside) {
        tracing::error!(path = %path.display(), error = %e, "cannot set the alert book aside");
    }
}

/// Writes the book atomically (mode 0600).
pub fn save(path: &Path, book: &Book) -> std::io::Result<()> {
    let f = FileRef { version: 1, book };
    let bytes = serde_json::to_vec(&f).map_err(std::io::Error::other)?;
    crate::identity::write_atomic(path, &bytes).map_err(|e| std::io::Error::other(e.to_string()))
}

#[derive(Deserialize)]
struct File {
    version: u32,
    #[serde(flatten)]
    book: Book,
}

#[derive(Serialize)]
struct FileRef<'a> {
    version: u32,
    #[serde(flatten)]
    book: &'a Book,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::WebhookConfig;
    use portcullis_transport::proxy::Secret;

    fn cond(key: &str, category: Category) -> Condition {
        Condition {
            key: key.into(),
            category,
            message: format!("{key} is wrong"),
            entity: "x".into(),
        }
    }

    fn config() -> AlertsConfig {
        AlertsConfig {
            notify: vec![Category::Tunnel, Category::Disk],
            webhooks: vec![WebhookConfig {
                url: "http://127.0.0.1:9/".into(),
                secret: Secret::new("0123456789abcdef".into()),
                ca_file: None,
            }],
            ..Default::default()
        }
    }

    #[test]
    fn raised_once_while_it_holds_resolved_once_when_it_clears() {
        let c = config();
        let mut b = Book::default();
        assert!(b.update(&[cond("tunnel", Category::Tunnel)], &c, 1));
        assert!(!b.update(&[cond("tunnel", Category::Tunnel)], &c, 2));
        assert_eq!(b.pending.len(), 1);
        assert_eq!(b.pending[0].event, Event::Raised);
        assert!(b.update(&[], &c, 3));
        assert_eq!(b.alerts[0].status, AlertStatus::Resolved);
        assert_eq!(b.alerts[0].resolved_ms, Some(3));
        assert_eq!(b.pending[1].event, Event::Resolved);
        assert!(!b.update(&[], &c, 4));
        // Holds again: a new alert.
        assert!(b.update(&[cond("tunnel", Category::Tunnel)], &c, 5));
        assert_eq!(b.alerts.len(), 2);
        assert_eq!(b.newest_first()[0].id, 2);
    }

    #[test]
    fn an_unknown_category_is_neither_resolved_nor_raised_again() {
        let c = config();
        let mut b = Book::default();
        b.update(&[cond("backend:erp", Category::Backend)], &c, 1);
        assert!(!b.update_known(&[], &c, 2, &[Category::Backend]));
        assert_eq!(b.alerts[0].status, AlertStatus::Active);
        assert!(b.update(&[], &c, 3));
        assert_eq!(b.alerts[0].status, AlertStatus::Resolved);
    }

    #[test]
    fn categories_that_do_not_notify_are_listed_but_not_sent() {
        let c = config();
        let mut b = Book::default();
        b.update(&[cond("cpu", Category::Cpu)], &c, 1);
        assert_eq!(b.alerts.len(), 1);
        assert!(b.pending.is_empty());
    }

    #[test]
    fn failures_back_off_and_the_file_round_trips() {
        let c = config();
        let mut b = Book::default();
        b.update(&[cond("disk", Category::Disk)], &c, 0);
        b.failed(0, "refused".into(), 0);
        assert_eq!(b.pending[0].next_ms, 5_000);
        b.failed(0, "refused".into(), 0);
        assert_eq!(b.pending[0].next_ms, 10_000);
        for _ in 0..20 {
            b.failed(0, "refused".into(), 0);
        }
        assert_eq!(b.pending[0].next_ms, RETRY_MAX_MS);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.json");
        save(&path, &b).unwrap();
        assert_eq!(load(&path), b);
        std::fs::write(&path, b"{not json").unwrap();
        assert_eq!(load(&path), Book::default());
        assert!(!path.exists(), "a broken book is set aside");
    }

    #[test]
    fn a_newer_delivery_never_overtakes_an_older_one_waiting_on_its_channel() {
        let c = config();
        let mut b = Book::default();
        b.update(&[cond("tunnel", Category::Tunnel)], &c, 0);
        b.failed(0, "refused".into(), 0); // waits until 5 000
        b.update(&[], &c, 100); // the resolution, due at once
        assert_eq!(b.pending.len(), 2);
        assert_eq!(b.next_due(100, &[]), None, "the raise must go first");
        let next = b.next_due(5_000, &[]).unwrap();
        assert_eq!(next.event, Event::Raised);
    }

    #[test]
    fn deliveries_to_removed_channels_are_dropped() {
        let mut b = Book::default();
        b.update(&[cond("tunnel", Category::Tunnel)], &config(), 0);
        assert!(b.forget_unconfigured(&AlertsConfig::default()));
        assert!(b.pending.is_empty());
    }
}
