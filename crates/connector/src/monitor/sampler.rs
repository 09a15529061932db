//! The sampling task: started with the connector (after the admin socket proved no other
//! connector uses the data directory), stopped with it.
//!
//! At start, [`restore`] reads the hardware history and the usage statistics the last run
//! left (see the `store` module). [`run`] then samples CPU and memory every
//! `[monitoring] hardware_interval_ms` (the first sample of a run is marked as a run start:
//! a gap lies before it) and the disk every `disk_interval_ms`, and writes both files at most
//! every [`SAVE_EVERY`] (or every sample when the interval is longer), and once more when it
//! stops. A sample that cannot be read is skipped (the gap rule shows it when two intervals
//! pass without one).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::hardware::{cpu_permille, read_cpu, read_disk, read_memory};
use super::store;
use super::Monitor;
use crate::config::MonitoringConfig;
use crate::data_dir::ConnectorDataDir;
use crate::windows::now_ms;

/// How often the files are written at most (besides when the sampler stops).
pub const SAVE_EVERY: Duration = Duration::from_secs(60);

/// The monitoring files of a connector with `data_dir`.
#[derive(Debug, Clone)]
pub(crate) struct Files {
    history: PathBuf,
    usage: PathBuf,
}

impl Files {
    pub fn new(data_dir: &Path) -> Files {
        let d = ConnectorDataDir::new(data_dir);
        Files {
            history: d.hardware_history(),
            usage: d.usage(),
        }
    }
}

/// Reads what the last run left into `monitor`, which saves to `files` from now on;
/// unusable files are set aside.
pub(crate) fn restore(monitor: &Monitor, files: Files, config: MonitoringConfig) {
    let now = now_ms();
    let history = store::load_or_set_aside(&files.history, "hardware history", |p| {
        store::read_history(p, now)
    })
    .unwrap_or_default();
    let usage = store::load_or_set_aside(&files.usage, "usage statistics", store::read_usage)
        .unwrap_or_default();
    monitor.restore(history, usage, config, files);
}

/// Writes the usage file, and the history file too with `history`, on a blocking thread;
/// failures are logged. Saves are serialised, and each takes its figures under that lock, so
/// an older figure never overwrites a newer one.
pub(crate) async fn save(monitor: &Arc<Monitor>, history: bool) {
    let monitor = monitor.clone();
    let written = tokio::task::spawn_blocking(move || {
        let _one_at_a_time = monitor.save_lock.lock().unwrap_or_else(|e| e.into_inner());
        let Some(files) = monitor.files() else {
            return;
        };
        if history {
            if let Err(e) = store::save_history(&files.history, &monitor.history()) {
                tracing::warn!(error = %e, "cannot save the hardware history");
            }
        }
        if let Err(e) = store::save_usage(&files.usage, &monitor.view().usage) {
            tracing::warn!(error = %e, "cannot save the usage statistics");
        }
    })
    .await;
    if let Err(e) = written {
        tracing::warn!(error = %e, "saving the monitoring files failed");
    }
}

/// Samples until `stop`, then saves once more.
pub(crate) async fn run(
    monitor: Arc<Monitor>,
    data_dir: PathBuf,
    config: MonitoringConfig,
    stop: CancellationToken,
) {
    let mut cpu_before = read_cpu();
    let mut run_start = true;
    let mut disk_run_start = true;
    let mut tick = tokio::time::interval_at(Instant::now() + config.interval, config.interval);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut disk_tick = tokio::time::interval(config.disk_interval);
    disk_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let save_every = SAVE_EVERY.max(config.interval);
    let mut last_save = Instant::now();
    let mut failing = false;
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {
                let cpu_now = read_cpu();
                let cpu = cpu_before.zip(cpu_now).and_then(|(a, b)| cpu_permille(a, b));
                cpu_before = cpu_now.or(cpu_before);
                match cpu.and_then(read_memory) {
                    Some(sample) => {
                        monitor.push_cpu_memory(now_ms(), run_start, sample);
                        run_start = false;
                        failing = false;
                    }
                    None if !failing => {
                        failing = true;
                        tracing::warn!("cannot read /proc/stat or /proc/meminfo; CPU and memory samples are skipped");
                    }
                    None => {}
                }
            }
            _ = disk_tick.tick() => match read_disk(&data_dir) {
                Ok(sample) => {
                    monitor.push_disk(now_ms(), disk_run_start, sample);
                    disk_run_start = false;
                }
                Err(e) => tracing::debug!(error = %e, "cannot read the data directory's file system"),
            },
        }
        if last_save.elapsed() >= save_every {
            last_save = Instant::now();
            save(&monitor, true).await;
        }
    }
    save(&monitor, true).await;
}
