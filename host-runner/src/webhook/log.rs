//! Structured logs: one JSON object per line on standard error.

use serde_json::{Map, Value};
use std::io::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Log levels, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Level {
    /// Failures of the server itself.
    Error,
    /// Problems the server survives (a bad certificate reload, a hostile module).
    Warn,
    /// Startup, shutdown and every denial.
    Info,
    /// Every request.
    Debug,
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);

/// Sets the most detailed level written.
pub fn set_level(level: Level) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

/// Whether `level` is written.
pub fn enabled(level: Level) -> bool {
    level as u8 <= LEVEL.load(Ordering::Relaxed)
}

/// Writes one line: `{"ts", "level", "msg", …fields}`.
pub fn log(level: Level, msg: &str, fields: &[(&str, Value)]) {
    if !enabled(level) {
        return;
    }
    let mut line = Map::new();
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    line.insert("ts".to_owned(), Value::from(ts));
    let name = match level {
        Level::Error => "error",
        Level::Warn => "warn",
        Level::Info => "info",
        Level::Debug => "debug",
    };
    line.insert("level".to_owned(), Value::from(name));
    line.insert("msg".to_owned(), Value::from(msg));
    for (key, value) in fields {
        line.insert((*key).to_owned(), value.clone());
    }
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{}", Value::Object(line));
}
