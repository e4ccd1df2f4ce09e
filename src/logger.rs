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
        let msg = r.args().to_string();
        let line = one_line(&msg);
        let _ = writeln!(
            std::io::stderr().lock(),
            "{} {line}",
            r.level().as_str().to_ascii_lowercase(),
        );
    }

    fn flush(&self) {}
}

/// A message as one log line: control characters (a new line in a value from outside could
/// forge a line of its own) are written as escapes such as `\n` and `\u{1b}`.
fn one_line(msg: &str) -> std::borrow::Cow<'_, str> {
    if !msg.chars().any(char::is_control) {
        return msg.into();
    }
    msg.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_a_value_cannot_forge_a_log_line() {
        assert_eq!(one_line("plain text"), "plain text");
        assert_eq!(
            one_line("callback for ws_CO_1\ninfo payment 9 paid\r\u{1b}[2J\u{0}"),
            "callback for ws_CO_1\\ninfo payment 9 paid\\r\\u{1b}[2J\\u{0}"
        );
    }
}
