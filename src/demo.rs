//! `lango demo`: the portal, the owner's page and a simulated M-Pesa on this machine, with a
//! temporary database and a gate that only logs. Nothing here touches the kernel.

use crate::config::{Config, Secret};
use crate::daemon::{Daemon, Parts};
use crate::gate::neigh::Neighbours;
use crate::gate::LogGate;
use crate::sim::{SimOptions, Simulator};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// A config for `lango demo` and tests: loopback, files in `dir`, the simulator's credentials.
pub fn config(dir: &Path, daraja_base_url: &str) -> Config {
    let mut c = Config::parse("", "<demo>").expect("defaults are valid");
    c.interfaces = vec![];
    c.database = dir.join("lango.db");
    c.control_socket = dir.join("lango.sock");
    c.admin_listen = "127.0.0.1:8443".parse().expect("literal");
    c.admin_http_listen = Some("127.0.0.1:8080".parse().expect("literal"));
    c.admin_cert = dir.join("admin.crt");
    c.admin_key = dir.join("admin.key");
    c.site_name = "Lango Demo".into();
    let d = &mut c.daraja;
    d.base_url = daraja_base_url.trim_end_matches('/').to_string();
    d.consumer_key = Secret(crate::sim::DEMO_CONSUMER_KEY.into());
    d.consumer_secret = Secret(crate::sim::DEMO_CONSUMER_SECRET.into());
    d.passkey = Secret(crate::sim::SANDBOX_PASSKEY.into());
    d.poll_first = Duration::from_secs(2);
    d.poll_interval = Duration::from_secs(2);
    c
}

/// Starts everything, prints what to do, runs until Ctrl-C.
pub async fn run(
    portal: SocketAddr,
    admin: SocketAddr,
    admin_http: SocketAddr,
) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("lango-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let sim_listener = crate::listen::bind((std::net::Ipv4Addr::LOCALHOST, 0).into())?;
    let sim_url = format!("http://{}", sim_listener.local_addr()?);
    let sim = Simulator::new(SimOptions {
        delay: Duration::from_secs(4),
        ..Default::default()
    });
    let sim_task = tokio::spawn(sim.serve(sim_listener));

    let mut config = self::config(&dir, &sim_url);
    config.admin_listen = admin;
    config.admin_http_listen = Some(admin_http);
    // A real file, so the owner's page can save settings in the demo too.
    let config = Config::write(&dir.join("lango.conf"), &config.to_uci())?;
    let gate = Arc::new(LogGate::new());
    let parts = |_: &Config| Parts {
        gate: gate.clone(),
        neighbours: Neighbours::Derived,
        clock: Arc::new(crate::clock::SystemClock),
        portal_listen: Some(portal),
    };
    let started = async |daemon: &Daemon| -> anyhow::Result<()> {
        let codes = crate::owner::generate_vouchers(
            &daemon.store,
            1,
            3,
            None,
            crate::clock::Clock::now(&crate::clock::SystemClock),
        )
        .await
        .map(|b| b.codes)
        .map_err(anyhow::Error::msg)?;
        println!(
            "\nLango demo is running.\n\n  Portal (the phone's view):  http://{}/\n  Owner's page:               https://{}/  (choose its password on first visit)\n  Its certificate (self-signed; the browser warns once), SHA-256:\n    {}\n  Simulated M-Pesa (Daraja):  {sim_url}\n  Database:                   {}\n",
            daemon.portal_addr,
            daemon.admin_addr,
            daemon.certs.fingerprint(),
            dir.join("lango.db").display()
        );
        println!(
            "Pay with one of these numbers (the PIN prompt is simulated, answered after 4 s):"
        );
        println!("  0708374149   approves (Safaricom's sandbox test number; any number not below also approves)");
        println!(
            "  0712341032   cancels (you cancelled)          0712341037   phone unreachable (timeout)"
        );
        println!("  0712340001   insufficient balance             0712342001   wrong PIN");
        println!("  0712344999   stays pending until Lango gives up");
        println!(
            "\nOr redeem a voucher (package Basic): {}",
            codes.join("  ")
        );
        println!("\nCtrl-C stops the demo.\n");
        Ok(())
    };
    let served = crate::daemon::serve(config, parts, false, started).await;
    sim_task.abort();
    let _ = std::fs::remove_dir_all(&dir);
    served
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_config_is_complete_and_survives_a_round_trip_through_uci() {
        let demo = config(Path::new("/tmp/d"), "http://127.0.0.1:9/");
        assert!(demo.daraja.missing().is_empty());
        assert_eq!(demo.daraja.base_url, "http://127.0.0.1:9");
        let back = Config::parse(&demo.to_uci(), "x").unwrap();
        assert_eq!(back.daraja, demo.daraja);
        assert_eq!(back.database, demo.database);
        assert_eq!(back.admin_cert, demo.admin_cert);
    }
}
