//! A tiny stderr logger (procd forwards stderr to logread). `LANGO_LOG=debug|trace|warn` sets the level.

use log::{Level, LevelFilter, Log, Metadata, Record};
use std::io::Write;

struct Stderr {
    level: LevelFilter,
}

impl Log for Stderr {
    fn enabled(&self, m: &Metadata) -> bool {
        m.level() <= self.level
    }

    fn log(&self, r: &Record) {
        if !self.enabled(r.metadata()) {
            return;
        }
        // Other crates' chatter only from debug up.
        if !r.target().starts_with("lango")
            && r.level() > Level::Warn
            && self.level < LevelFilter::Debug
        {
            return;
        }
        let _ = writeln!(
            std::io::stderr().lock(),
            "{} {}",
            r.level().as_str().to_ascii_lowercase(),
            r.args()
        );
    }

    fn flush(&self) {}
}

/// Installs the logger once; later calls do nothing.
pub fn init() {
    let level = match std::env::var("LANGO_LOG").as_deref() {
        Ok("trace") => LevelFilter::Trace,
        Ok("debug") => LevelFilter::Debug,
        Ok("warn") => LevelFilter::Warn,
        Ok("error") => LevelFilter::Error,
        Ok("off") => LevelFilter::Off,
        _ => LevelFilter::Info,
    };
    if log::set_boxed_logger(Box::new(Stderr { level })).is_ok() {
        log::set_max_level(level);
    }
}
