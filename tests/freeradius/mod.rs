//! A real FreeRADIUS 3.2 (Debian's `freeradius`) for the tests: its own config tree written to a
//! temporary directory (clients.conf for 127.0.0.1, one virtual server, the `sql` module on a
//! SQLite file holding radcheck, radreply and radacct), listening on loopback ports the test
//! picks. `radclient` sends Disconnect and CoA requests.

#![allow(dead_code)] // each test file uses part of it

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SECRET: &str = "testing123";

pub struct FreeRadius {
    pub dir: PathBuf,
    /// The network namespace it runs in (`None`: the test's own).
    netns: Option<String>,
    pub auth_port: u16,
    pub acct_port: u16,
    child: Option<Child>,
}

/// `None` (and a visible skip line) when FreeRADIUS is not installed; CI (LANGO_CI=1) installs
/// it (`.ci/packages-radius.txt`) and fails instead of skipping.
pub fn installed(test: &str) -> bool {
    let found = Path::new("/usr/sbin/freeradius").exists() && which("radclient");
    if !found {
        assert!(
            std::env::var("LANGO_CI").as_deref() != Ok("1"),
            "CI installs freeradius and freeradius-utils: {test} may not be skipped"
        );
        println!("SKIPPED: needs freeradius and radclient (apt-get install freeradius freeradius-utils): {test}");
    }
    found
}

fn which(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).exists()))
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl FreeRadius {
    /// Writes the config and the database, and starts the server on loopback.
    pub fn start(dir: &Path) -> FreeRadius {
        FreeRadius::start_in(dir, None)
    }

    /// `start`, inside network namespace `netns` (on its loopback).
    pub fn start_in(dir: &Path, netns: Option<&str>) -> FreeRadius {
        let raddb = dir.join("raddb");
        let _ = std::fs::remove_dir_all(&raddb);
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("cp")
            .args(["-a", "/etc/freeradius/3.0"])
            .arg(&raddb)
            .status()
            .unwrap()
            .success();
        assert!(ok, "copying /etc/freeradius/3.0");
        let (auth_port, acct_port) = (free_udp_port(), free_udp_port());
        let conf = std::fs::read_to_string(raddb.join("radiusd.conf")).unwrap();
        let d = dir.display();
        let conf: String = conf
            .lines()
            .map(|l| {
                let t = l.trim_start();
                if t.starts_with("raddbdir =") {
                    format!("raddbdir = {d}/raddb")
                } else if t.starts_with("logdir =") {
                    format!("logdir = {d}")
                } else if t.starts_with("run_dir =") {
                    format!("run_dir = {d}")
                } else if t.starts_with("user =") || t.starts_with("group =") {
                    String::new()
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(raddb.join("radiusd.conf"), conf).unwrap();
        std::fs::write(
            raddb.join("clients.conf"),
            format!("client lango {{\n\tipaddr = 127.0.0.1\n\tsecret = {SECRET}\n\tnas_type = other\n}}\n"),
        )
        .unwrap();
        for gone in [
            "sites-enabled/default",
            "sites-enabled/inner-tunnel",
            "mods-enabled/eap",
        ] {
            let _ = std::fs::remove_file(raddb.join(gone));
        }
        std::fs::write(
            raddb.join("sites-enabled/lango"),
            format!(
                "server lango {{
	listen {{
		type = auth
		ipaddr = 127.0.0.1
		port = {auth_port}
	}}
	listen {{
		type = acct
		ipaddr = 127.0.0.1
		port = {acct_port}
	}}
	authorize {{
		preprocess
		sql
		pap
	}}
	authenticate {{
		Auth-Type PAP {{
			pap
		}}
	}}
	preacct {{
		preprocess
		acct_unique
	}}
	accounting {{
		sql
	}}
	# FreeRADIUS before 3.2.5 signs answers only when asked (Lango requires it: CVE-2024-3596).
	post-auth {{
		update reply {{
			&Message-Authenticator := 0x00
		}}
		Post-Auth-Type REJECT {{
			update reply {{
				&Message-Authenticator := 0x00
			}}
		}}
	}}
}}
"
            ),
        )
        .unwrap();
        std::fs::write(
            raddb.join("mods-enabled/sql"),
            format!(
                "sql {{
	dialect = \"sqlite\"
	driver = \"rlm_sql_sqlite\"
	sqlite {{
		filename = \"{d}/radius.db\"
	}}
	radius_db = \"radius\"
	acct_table1 = \"radacct\"
	acct_table2 = \"radacct\"
	postauth_table = \"radpostauth\"
	authcheck_table = \"radcheck\"
	groupcheck_table = \"radgroupcheck\"
	authreply_table = \"radreply\"
	groupreply_table = \"radgroupreply\"
	usergroup_table = \"radusergroup\"
	read_groups = yes
	delete_stale_sessions = yes
	pool {{
		start = 1
		min = 1
		max = 2
		spare = 1
		uses = 0
		lifetime = 0
		idle_timeout = 0
	}}
	read_clients = no
	client_table = \"nas\"
	group_attribute = \"SQL-Group\"
	$INCLUDE ${{modconfdir}}/${{.:name}}/main/${{dialect}}/queries.conf
}}
"
            ),
        )
        .unwrap();
        // radacct's class column is filled once the queries are told to (queries.conf says so).
        let q = raddb.join("mods-config/sql/main/sqlite/queries.conf");
        let text = std::fs::read_to_string(&q).unwrap();
        let text = text
            .replace("column_name =\t# \", class\"", "column_name = \", class\"")
            .replace(
                "packet_xlat =\t# \", '%{Class}'\"",
                "packet_xlat = \", '%{Class}'\"",
            )
            .replace(
                "reply_xlat =\t# \", '%{reply:Class}'\"",
                "reply_xlat = \", '%{reply:Class}'\"",
            );
        std::fs::write(&q, text).unwrap();
        let db = dir.join("radius.db");
        if !db.exists() {
            let schema = std::fs::read_to_string(
                "/etc/freeradius/3.0/mods-config/sql/main/sqlite/schema.sql",
            )
            .unwrap();
            rusqlite::Connection::open(&db)
                .unwrap()
                .execute_batch(&schema)
                .unwrap();
        }
        let mut r = FreeRadius {
            dir: dir.to_path_buf(),
            netns: netns.map(str::to_string),
            auth_port,
            acct_port,
            child: None,
        };
        r.run();
        r
    }

    /// Starts the server (again, on the same ports and database) and waits until it is ready.
    pub fn run(&mut self) {
        let log = self.dir.join("freeradius.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = self
            .command("/usr/sbin/freeradius")
            .args(["-X", "-d"])
            .arg(self.dir.join("raddb"))
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("Ready to process requests") {
                return;
            }
            let exited = self.child.as_mut().unwrap().try_wait().unwrap();
            if exited.is_some() || Instant::now() > until {
                panic!("FreeRADIUS did not start:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `program`, in the server's namespace.
    fn command(&self, program: &str) -> Command {
        match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, program]);
                c
            }
            None => Command::new(program),
        }
    }

    /// Stops the server (the database stays).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn db(&self) -> rusqlite::Connection {
        let c = rusqlite::Connection::open(self.dir.join("radius.db")).unwrap();
        c.busy_timeout(Duration::from_secs(5)).unwrap();
        c
    }

    /// A code in radcheck with its replies in radreply.
    pub fn add_code(&self, code: &str, replies: &[(&str, &str)]) {
        let c = self.db();
        c.execute(
            "INSERT INTO radcheck (username, attribute, op, value) VALUES (?1, 'Cleartext-Password', ':=', ?1)",
            [code],
        )
        .unwrap();
        for (attr, value) in replies {
            c.execute(
                "INSERT INTO radreply (username, attribute, op, value) VALUES (?1, ?2, ':=', ?3)",
                [code, attr, value],
            )
            .unwrap();
        }
    }

    /// Sends `attrs` (radclient's text form) as `kind` (`disconnect`, `coa`) to `to` with
    /// `secret`; returns radclient's output, or `None` if no answer came.
    pub fn radclient(
        &self,
        to: std::net::SocketAddr,
        kind: &str,
        secret: &str,
        attrs: &str,
    ) -> Option<String> {
        let mut child = self
            .command("radclient")
            .args(["-x", "-r", "1", "-t", "2"])
            .arg(to.to_string())
            .args([kind, secret])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(attrs.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        // radclient fails on a NAK too: what counts is whether an answer came.
        let answered = text.contains("Received ");
        if !answered {
            println!("radclient {kind} to {to}: no answer\n{text}");
        }
        answered.then_some(text)
    }
}

impl Drop for FreeRadius {
    fn drop(&mut self) {
        self.stop();
    }
}
