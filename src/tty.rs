//! Terminal input for the CLI: the new owner's password, typed twice with echo off (or read
//! once from a pipe with `--stdin`, for scripts). Touches: stdin and its terminal settings.

use std::io::BufRead;

/// Reads and checks a new password. `once`: one line from stdin, no prompt (`--stdin`).
/// Otherwise it asks twice on stderr, with echo off when stdin is a terminal.
pub fn read_new_password(once: bool) -> Result<String, String> {
    let stdin = std::io::stdin();
    let mut lines = stdin.lock();
    let pw = if once {
        read_line(&mut lines)?
    } else {
        let a = prompt(&mut lines, "New password: ")?;
        let b = prompt(&mut lines, "Repeat it: ")?;
        if a != b {
            return Err("the two passwords differ; nothing changed".into());
        }
        a
    };
    crate::password::check_new(&pw).map_err(|e| format!("{e}; nothing changed"))?;
    Ok(pw)
}

fn read_line(r: &mut impl BufRead) -> Result<String, String> {
    let mut s = String::new();
    match r.read_line(&mut s) {
        Ok(0) => Err("no password on stdin".into()),
        Ok(_) => Ok(s.trim_end_matches(['\n', '\r']).to_string()),
        Err(e) => Err(format!("reading stdin: {e}")),
    }
}

fn prompt(r: &mut impl BufRead, msg: &str) -> Result<String, String> {
    eprint!("{msg}");
    let _echo = EchoOff::new();
    let line = read_line(r);
    eprintln!();
    line
}

/// Turns terminal echo off while alive (nothing happens when stdin is not a terminal).
struct EchoOff(Option<libc::termios>);

impl EchoOff {
    fn new() -> EchoOff {
        // SAFETY: plain termios calls on fd 0 with a zeroed struct the kernel fills in.
        unsafe {
            if libc::isatty(0) != 1 {
                return EchoOff(None);
            }
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) != 0 {
                return EchoOff(None);
            }
            let saved = t;
            t.c_lflag &= !libc::ECHO;
            t.c_lflag |= libc::ECHONL;
            libc::tcsetattr(0, libc::TCSANOW, &t);
            EchoOff(Some(saved))
        }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        if let Some(t) = &self.0 {
            // SAFETY: restores the settings read in `new`.
            unsafe {
                libc::tcsetattr(0, libc::TCSANOW, t);
            }
        }
    }
}
