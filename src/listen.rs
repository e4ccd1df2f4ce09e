//! Opens Lango's listening sockets with a backlog sized for a crowd of phones joining at once.
//! Touches: sockets, /proc/sys/net/core/somaxconn. Never: what is served on them.

use std::io;
use std::net::SocketAddr;
use tokio::net::{TcpListener, TcpSocket};

/// Where the kernel keeps its cap on every listen backlog (OpenWrt and Linux ≥ 5.4: 4096).
const SOMAXCONN: &str = "/proc/sys/net/core/somaxconn";
/// When that cannot be read: room for a crowd. The 128 that std and tokio ask for overflows when
/// 512 phones arrive together, and each SYN that overflows is retried only after 1 s.
const FALLBACK_BACKLOG: u32 = 1024;

/// A TCP listener on `addr` (address reuse as `TcpListener::bind`), backlog from [`backlog`].
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog())
}

/// The kernel's own cap (`somaxconn`), or [`FALLBACK_BACKLOG`] when it cannot be read.
pub fn backlog() -> u32 {
    parse_somaxconn(&std::fs::read_to_string(SOMAXCONN).unwrap_or_default())
        .unwrap_or(FALLBACK_BACKLOG)
}

fn parse_somaxconn(text: &str) -> Option<u32> {
    text.trim().parse().ok().filter(|&n| n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backlog_is_the_kernels_or_a_crowds() {
        assert_eq!(parse_somaxconn("4096\n"), Some(4096));
        assert_eq!(parse_somaxconn(""), None);
        assert_eq!(parse_somaxconn("0"), None);
        assert_eq!(parse_somaxconn("lots"), None);
        assert!(backlog() > 128);
    }

    #[tokio::test]
    async fn binds_v4_and_v6_and_accepts() {
        let l = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = l.local_addr().unwrap();
        let _c = tokio::net::TcpStream::connect(addr).await.unwrap();
        l.accept().await.unwrap();
        if let Ok(l6) = bind("[::1]:0".parse().unwrap()) {
            assert!(l6.local_addr().unwrap().is_ipv6());
        }
    }
}
