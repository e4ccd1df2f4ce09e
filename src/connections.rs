//! Who holds a listener's connections: each is counted against its client (the device's MAC
//! where the caller can tell it, else the IPv4 address or the IPv6 /64) and against the
//! listener's cap, and near that cap the connection that has waited longest without sending a
//! complete request is dropped to make room (slow or half-sent requests cannot fill the portal).
//! Pure bookkeeping with the time passed in. Touches: nothing.

use crate::mac::Mac;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// What a connection counts against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Client {
    /// A device on a captive interface, however many addresses it uses.
    Device(Mac),
    V4(Ipv4Addr),
    /// An IPv6 /64: one host can hold a whole /64 of addresses.
    V6Net([u8; 8]),
}

impl Client {
    /// The client of a connection from `ip`, whose MAC is `mac` if known.
    pub fn of(ip: IpAddr, mac: Option<Mac>) -> Client {
        if let Some(mac) = mac {
            return Client::Device(mac);
        }
        match ip.to_canonical() {
            IpAddr::V4(v4) => Client::V4(v4),
            IpAddr::V6(v6) => {
                let mut net = [0; 8];
                net.copy_from_slice(&v6.octets()[..8]);
                Client::V6Net(net)
            }
        }
    }
}

/// The caps of one listener.
#[derive(Clone, Copy, Debug)]
pub struct Caps {
    /// Connections open at once in all.
    pub total: usize,
    /// Connections open at once per client.
    pub per_client: usize,
    /// When fewer than this many places are left, the oldest idle connection is dropped for
    /// each new one.
    pub headroom: usize,
}

/// One open connection, as its task sees it: whether it is busy with a request, and the
/// signal that it must close.
pub struct Conn {
    id: u64,
    client: Client,
    table: Arc<Table>,
    evict: Notify,
}

impl Conn {
    /// A complete request arrived: not idle until it is answered.
    pub fn busy(&self) {
        self.table.set_idle_since(self.id, None);
    }

    /// Answered; waiting for the next request's headers (idle) since `now_ms`.
    pub fn idle(&self, now_ms: u64) {
        self.table.set_idle_since(self.id, Some(now_ms));
    }

    /// Resolves when the connection is dropped to make room.
    pub async fn evicted(&self) {
        self.evict.notified().await
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // An evicted connection was uncounted when it was evicted.
        let mut t = self.table.lock();
        if t.conns.remove(&self.id).is_some() {
            t.uncount(self.client);
        }
    }
}

/// Why a connection was not admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Its client already holds `per_client` connections.
    ClientFull,
    /// The listener is full of connections that are all busy.
    Full,
}

/// The connections of one listener.
pub struct Table {
    caps: Caps,
    inner: Mutex<Inner>,
}

struct Entry {
    client: Client,
    /// Idle (waiting for request headers) since this many ms; `None` while busy.
    idle_since: Option<u64>,
    conn: std::sync::Weak<Conn>,
}

#[derive(Default)]
struct Inner {
    next: u64,
    conns: HashMap<u64, Entry>,
    per_client: HashMap<Client, usize>,
}

impl Inner {
    fn uncount(&mut self, client: Client) {
        if let Some(n) = self.per_client.get_mut(&client) {
            *n -= 1;
            if *n == 0 {
                self.per_client.remove(&client);
            }
        }
    }
}

impl Table {
    pub fn new(caps: Caps) -> Arc<Table> {
        Arc::new(Table {
            caps,
            inner: Mutex::new(Inner::default()),
        })
    }

    /// Admits a new connection of `client` at `now_ms` (idle until its request arrives),
    /// dropping the oldest idle connection first if the listener is nearly full.
    pub fn admit(me: &Arc<Table>, client: Client, now_ms: u64) -> Result<Arc<Conn>, Refused> {
        let mut t = me.lock();
        if t.per_client.get(&client).copied().unwrap_or(0) >= me.caps.per_client {
            return Err(Refused::ClientFull);
        }
        if t.conns.len() + me.caps.headroom >= me.caps.total {
            let oldest = t
                .conns
                .iter()
                .filter_map(|(id, e)| e.idle_since.map(|s| (s, *id)))
                .min();
            if let Some((_, id)) = oldest {
                // Gone from the count at once; its task closes the socket when it wakes.
                if let Some(e) = t.conns.remove(&id) {
                    t.uncount(e.client);
                    if let Some(c) = e.conn.upgrade() {
                        c.evict.notify_one();
                    }
                }
            }
        }
        if t.conns.len() >= me.caps.total {
            return Err(Refused::Full);
        }
        t.next += 1;
        let id = t.next;
        let conn = Arc::new(Conn {
            id,
            client,
            table: me.clone(),
            evict: Notify::new(),
        });
        t.conns.insert(
            id,
            Entry {
                client,
                idle_since: Some(now_ms),
                conn: Arc::downgrade(&conn),
            },
        );
        *t.per_client.entry(client).or_insert(0) += 1;
        Ok(conn)
    }

    /// Connections counted now (in all, and of `client`).
    pub fn count(&self, client: Client) -> (usize, usize) {
        let t = self.lock();
        (
            t.conns.len(),
            t.per_client.get(&client).copied().unwrap_or(0),
        )
    }

    fn set_idle_since(&self, id: u64, since: Option<u64>) {
        if let Some(e) = self.lock().conns.get_mut(&id) {
            e.idle_since = since;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Every update leaves the maps whole, so a panic elsewhere cannot leave them inconsistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAPS: Caps = Caps {
        total: 8,
        per_client: 3,
        headroom: 2,
    };

    fn v4(n: u8) -> Client {
        Client::of(IpAddr::from([192, 168, 1, n]), None)
    }

    #[test]
    fn clients_are_devices_else_addresses_else_ipv6_nets() {
        let mac = Mac([2, 0, 0, 0, 0, 1]);
        let a: IpAddr = "2001:db8:1:2::10".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:aaaa::99".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::10".parse().unwrap();
        assert_eq!(Client::of(a, None), Client::of(b, None), "same /64");
        assert_ne!(Client::of(a, None), Client::of(c, None));
        assert_eq!(Client::of(a, Some(mac)), Client::of(c, Some(mac)));
        assert_eq!(
            Client::of("::ffff:10.0.0.1".parse().unwrap(), None),
            Client::V4([10, 0, 0, 1].into())
        );
    }

    #[test]
    fn each_client_is_capped() {
        let t = Table::new(CAPS);
        let held: Vec<_> = (0..3)
            .map(|i| Table::admit(&t, v4(1), i).unwrap())
            .collect();
        assert_eq!(Table::admit(&t, v4(1), 9).err(), Some(Refused::ClientFull));
        assert!(Table::admit(&t, v4(2), 9).is_ok());
        drop(held);
        assert_eq!(t.count(v4(1)), (0, 0), "closed connections are uncounted");
    }

    #[test]
    fn near_the_cap_the_oldest_idle_connection_makes_room() {
        let t = Table::new(CAPS);
        let held: Vec<_> = (0..6)
            .map(|i| Table::admit(&t, v4(i as u8), 100 + i).unwrap())
            .collect();
        // The first two are answering requests: never dropped for room.
        held[0].busy();
        held[1].busy();
        let newcomer = Table::admit(&t, v4(50), 200).unwrap();
        assert_eq!(
            t.count(v4(2)),
            (6, 0),
            "the oldest idle one (v4 2) made room"
        );
        assert_eq!(t.count(v4(0)).1, 1);
        let evicted = held[2].evicted();
        tokio_test_block_on(evicted);
        drop(newcomer);
    }

    #[test]
    fn a_listener_full_of_busy_connections_refuses() {
        let t = Table::new(CAPS);
        let held: Vec<_> = (0..8)
            .map(|i| {
                let c = Table::admit(&t, v4(i as u8), i).unwrap_or_else(|_| panic!("{i}"));
                c.busy();
                c
            })
            .collect();
        assert_eq!(Table::admit(&t, v4(60), 9).err(), Some(Refused::Full));
        held[3].idle(10);
        assert!(
            Table::admit(&t, v4(60), 11).is_ok(),
            "an idle one made room"
        );
    }

    /// Waits for a future on a throwaway runtime.
    fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(async { tokio::time::timeout(std::time::Duration::from_secs(1), f).await })
            .expect("evicted")
    }
}
