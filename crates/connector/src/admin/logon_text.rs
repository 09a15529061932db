//! The logon-screen text: a few lines an Administrator sets for everyone who logs on (whom to
//! call, what the system is), in a small HTML subset (`portcullis_webui::sanitize`: `<p>`,
//! `<br>`, `<strong>`, `<em>`, `<a href="https://…">`); everything else shows as typed. Kept
//! as typed in `data_dir/admin/logon-text.html` (0600) and sanitised whenever it is shown.
//! Its settings page is [`super::settings_page`].

use std::path::PathBuf;
use std::sync::RwLock;

use crate::data_dir::ConnectorDataDir;
use crate::identity::{write_atomic, IdentityError};

/// The text as typed, and where it is kept.
#[derive(Debug)]
pub struct LogonText {
    path: PathBuf,
    raw: RwLock<String>,
}

impl LogonText {
    /// Reads the text (none when the file is missing or unreadable).
    pub fn load(dir: &ConnectorDataDir) -> LogonText {
        let path = dir.logon_text();
        let raw = std::fs::read_to_string(&path).unwrap_or_default();
        LogonText {
            path,
            raw: RwLock::new(raw),
        }
    }

    /// The text as typed.
    pub fn raw(&self) -> String {
        self.raw.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The text as HTML to show (sanitised).
    pub fn html(&self) -> String {
        portcullis_webui::sanitize::sanitize(&self.raw())
    }

    /// Replaces the text (empty: none).
    pub fn set(&self, text: &str) -> Result<(), IdentityError> {
        let text = text.trim();
        write_atomic(&self.path, text.as_bytes())?;
        *self.raw.write().unwrap_or_else(|p| p.into_inner()) = text.to_owned();
        Ok(())
    }
}
