//! `lango demo`: the portal, the owner's page and a simulated M-Pesa on this machine, with a
//! temporary database and a gate that only logs. Nothing here touches the kernel.

use crate::config::Config;
use crate::daemon::{Daemon, Parts};
use crate::gate::neigh::Neighbours;
use crate::gate::LogGate;
use crate::sim::{SimOptions, Simulator};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

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

    let mut config = Config::for_demo(&dir, &sim_url);
    config.admin_listen = admin;
    config.admin_http_listen = Some(admin_http);
    // A real file, so the owner's page can save settings in the demo too.
    let config = Config::write(&dir.join("lango.conf"), &config.to_uci())?;
    let parts = Parts {
        gate: Arc::new(LogGate::new()),
        neighbours: Neighbours::Derived,
        clock: Arc::new(crate::clock::SystemClock),
        portal_listen: Some(portal),
    };
    let daemon = Daemon::start(config, parts).await?;
    let codes = crate::ctl::generate_vouchers(
        &daemon.store,
        1,
        3,
        crate::clock::Clock::now(&crate::clock::SystemClock),
    )
    .await
    .map_err(anyhow::Error::msg)?;
    println!(
        "\nLango demo is running.\n\n  Portal (the phone's view):  http://{}/\n  Owner's page:               https://{}/  (choose its password on first visit)\n  Its certificate (self-signed; the browser warns once), SHA-256:\n    {}\n  Simulated M-Pesa (Daraja):  {sim_url}\n  Database:                   {}\n",
        daemon.portal_addr,
        daemon.admin_addr,
        daemon.certs.fingerprint(),
        dir.join("lango.db").display()
    );
    println!("Pay with one of these numbers (the PIN prompt is simulated, answered after 4 s):");
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
    tokio::signal::ctrl_c().await?;
    daemon.stop(false).await;
    sim_task.abort();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
