//! Runs the kernel tools the gate drives (`nft`, `tc`, `ip`, `conntrack`), scripts on stdin.
//! The only place in Lango that spawns processes. Never: SQLite, HTTP.
//!
//! A command prefix lets tests run the gate inside a network namespace
//! (`Runner::in_netns("r1")` runs `ip netns exec r1 nft ...`); a router uses none.

use super::{conntrack, Error};
use std::io::{ErrorKind, Write};
use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

/// Long `nft` errors quote the script; an error message keeps this much of stderr.
const MAX_STDERR: usize = 2000;

/// Spawns the gate's commands, optionally inside a network namespace.
#[derive(Debug, Default)]
pub struct Runner {
    prefix: Vec<String>,
    /// `conntrack` is missing: said once, then quiet.
    no_conntrack: AtomicBool,
}

impl Runner {
    /// Commands run as they are: the router itself.
    pub fn host() -> Runner {
        Runner::default()
    }

    /// Commands run inside network namespace `name` (`ip netns exec NAME ...`).
    pub fn in_netns(name: &str) -> Runner {
        Runner {
            prefix: vec!["ip".into(), "netns".into(), "exec".into(), name.into()],
            ..Runner::default()
        }
    }

    /// Applies an nft script as one transaction (`nft -f -`).
    pub fn nft(&self, script: &str) -> Result<(), Error> {
        self.run("nft", &["-f", "-"], Some(script)).map(drop)
    }

    /// `nft list WHAT...`, e.g. `["tables"]`.
    pub fn nft_list(&self, what: &[&str]) -> Result<String, Error> {
        let args: Vec<&str> = std::iter::once("list")
            .chain(what.iter().copied())
            .collect();
        self.run("nft", &args, None)
    }

    /// The kernel's IPv6 neighbour table (`ip -6 neigh show`).
    pub fn ip6_neigh(&self) -> Result<String, Error> {
        self.run("ip", &["-6", "neigh", "show"], None)
    }

    /// Applies a tc batch (`tc -batch -`); it stops at the first failing line.
    pub fn tc_batch(&self, script: &str) -> Result<(), Error> {
        self.run("tc", &["-batch", "-"], Some(script)).map(drop)
    }

    /// A tc batch that carries on past failing lines (`tc -force -batch -`), for clean-up.
    pub fn tc_batch_force(&self, script: &str) -> Result<(), Error> {
        self.run("tc", &["-force", "-batch", "-"], Some(script))
            .map(drop)
    }

    /// `tc ARGS...`, returning stdout.
    pub fn tc(&self, args: &[&str]) -> Result<String, Error> {
        self.run("tc", args, None)
    }

    /// `ip ARGS...`, returning stdout.
    pub fn ip(&self, args: &[&str]) -> Result<String, Error> {
        self.run("ip", args, None)
    }

    /// The kernel's neighbour tables, IPv4 and IPv6 (`ip neigh show`).
    pub fn neighbours(&self) -> Result<String, Error> {
        self.ip(&["neigh", "show"])
    }

    /// A file as seen from the gate's namespace (`/proc/sys/net/...` differs per namespace).
    pub fn read(&self, path: &str) -> Option<String> {
        if self.prefix.is_empty() {
            std::fs::read_to_string(path).ok()
        } else {
            self.run("cat", &[path], None).ok()
        }
    }

    /// Removes every conntrack entry involving `addrs` so open connections stop: one dump, then
    /// one `conntrack -R -` batch for the addresses that have entries. Never fails: a missing
    /// `conntrack` is warned about once, other failures every time (the forward chain still
    /// blocks the device; only offloaded flows and replies already on their way would linger).
    pub fn forget_connections(&self, addrs: &[IpAddr]) {
        if addrs.is_empty() || self.no_conntrack.load(Ordering::Relaxed) {
            return;
        }
        let result = self.run("conntrack", &["-L"], None).and_then(|dump| {
            let script = conntrack::render_deletions(&dump, addrs);
            if script.is_empty() {
                return Ok(String::new());
            }
            self.run("conntrack", &["-R", "-"], Some(&script))
        });
        match result {
            Ok(_) => {}
            Err(Error::Spawn { source, .. }) if source.kind() == ErrorKind::NotFound => {
                self.no_conntrack.store(true, Ordering::Relaxed);
                log::warn!(
                    "gate: `conntrack` is not installed; open connections of evicted devices are not cut (opkg install conntrack)"
                );
            }
            Err(e) => log::warn!("gate: could not cut connections: {e}"),
        }
    }

    fn run(&self, program: &str, args: &[&str], stdin: Option<&str>) -> Result<String, Error> {
        let argv: Vec<&str> = self
            .prefix
            .iter()
            .map(String::as_str)
            .chain([program])
            .chain(args.iter().copied())
            .collect();
        let command = argv.join(" ");
        log::debug!("gate: run `{command}`");
        if let Some(script) = stdin {
            log::trace!("gate: `{command}` stdin:\n{script}");
        }
        let spawn_err = |source| Error::Spawn {
            command: command.clone(),
            source,
        };
        let mut child = Command::new(argv[0])
            .args(&argv[1..])
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn_err)?;
        let input = child.stdin.take();
        let output = std::thread::scope(|s| {
            // Feed stdin on its own thread so a chatty child cannot deadlock us on a full pipe.
            if let (Some(mut pipe), Some(script)) = (input, stdin) {
                s.spawn(move || {
                    // A child that stops reading early (tc at its first error) closes the pipe;
                    // its exit status tells what happened.
                    let _ = pipe.write_all(script.as_bytes());
                });
            }
            child.wait_with_output()
        })
        .map_err(spawn_err)?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr);
        log::trace!(
            "gate: `{command}` -> {}\nstdout: {stdout}\nstderr: {stderr}",
            output.status
        );
        if !output.status.success() {
            let mut stderr = stderr.trim().to_string();
            if stderr.len() > MAX_STDERR {
                let cut = (0..=MAX_STDERR)
                    .rev()
                    .find(|&i| stderr.is_char_boundary(i))
                    .unwrap_or(0);
                stderr.truncate(cut);
                stderr.push_str(" ...");
            }
            return Err(Error::Command {
                command,
                status: output.status.to_string(),
                stderr,
            });
        }
        Ok(stdout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_carry_command_status_and_stderr() {
        let r = Runner {
            prefix: vec![
                "sh".into(),
                "-c".into(),
                "echo '  bad line 3  ' >&2; exit 3".into(),
            ],
            ..Runner::default()
        };
        match r.run("tc", &["-batch", "-"], Some("qdisc add\n")) {
            Err(Error::Command {
                command,
                status,
                stderr,
            }) => {
                assert_eq!(
                    command,
                    "sh -c echo '  bad line 3  ' >&2; exit 3 tc -batch -"
                );
                assert!(status.contains('3'), "{status}");
                assert_eq!(stderr, "bad line 3");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn stdin_reaches_the_command() {
        let r = Runner::host();
        assert_eq!(r.run("cat", &[], Some("hello\n")).unwrap(), "hello\n");
    }

    #[test]
    fn a_missing_program_is_a_spawn_error() {
        let r = Runner::host();
        assert!(matches!(
            r.run("lango-no-such-tool", &[], None),
            Err(Error::Spawn { .. })
        ));
    }

    #[test]
    fn a_missing_conntrack_is_not_an_error() {
        let r = Runner {
            prefix: vec!["lango-no-such-tool".into()],
            ..Runner::default()
        };
        r.forget_connections(&["192.0.2.1".parse().unwrap()]);
        assert!(r.no_conntrack.load(Ordering::Relaxed));
    }
}
