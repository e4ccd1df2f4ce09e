use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

fn phone_ip(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 1, (i / 254) as u8, (i % 254 + 1) as u8)
}
async fn connect_from(ip: Ipv4Addr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let s = TcpSocket::new_v4()?;
    s.bind((ip, 0).into())?;
    let s = s.connect(to).await?;
    s.set_nodelay(true)?;
    Ok(s)
}
async fn once(ip: Ipv4Addr, to: SocketAddr, req: &[u8]) -> u16 {
    let mut s = connect_from(ip, to).await.unwrap();
    s.write_all(req).await.unwrap();
    let mut buf = vec![];
    let mut chunk = [0u8; 16384];
    loop {
        let n = s.read(&mut chunk).await.unwrap();
        assert!(n > 0);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .map_or(0, |v| v.parse().unwrap());
            if buf.len() >= end + 4 + len {
                return head.split_whitespace().nth(1).unwrap().parse().unwrap();
            }
        }
    }
}
fn serve() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = TcpSocket::new_v4().unwrap(); l.bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let l: TcpListener = l.listen(4096).unwrap();
            tx.send(l.local_addr().unwrap()).unwrap();
            let page: Arc<Vec<u8>> = Arc::new({ let body = vec![b'x'; 9000]; let mut r = format!("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes(); r.extend(body); r });
            loop {
                let (mut s, _) = l.accept().await.unwrap();
                let page = page.clone();
                tokio::spawn(async move {
                    let _ = s.set_nodelay(true);
                    let mut buf = vec![0u8; 8192]; let mut n = 0;
                    loop { let k = s.read(&mut buf[n..]).await.unwrap_or(0); if k == 0 { return; } n += k; if buf[..n].windows(4).any(|w| w == b"\r\n\r\n") { break; } }
                    if buf.starts_with(b"GET /generate_204") {
                        let _ = s.write_all(b"HTTP/1.1 302 Found\r\nLocation: http://10.0.0.1:2050/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
                    } else { let _ = s.write_all(&page).await; }
                    let mut rest = [0u8; 64]; let _ = tokio::time::timeout(Duration::from_secs(5), s.read(&mut rest)).await;
                });
            }
        });
    });
    rx.recv().unwrap()
}
#[test]
fn floor() {
    let to = serve();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        for phones in [50usize, 512, 1000, 512, 1000] {
            let go = Arc::new(tokio::sync::Barrier::new(phones));
            let page = format!("GET / HTTP/1.1\r\nHost: {to}\r\n\r\n").into_bytes();
            let page: Arc<[u8]> = page.into();
            let tasks: Vec<_> = (0..phones).map(|i| { let (go, page) = (go.clone(), page.clone()); tokio::spawn(async move {
                let ip = phone_ip(i); go.wait().await; let t = Instant::now();
                assert_eq!(once(ip, to, b"GET /generate_204 HTTP/1.1\r\nHost: connectivitycheck.gstatic.com\r\nConnection: close\r\n\r\n").await, 302);
                assert_eq!(once(ip, to, &page).await, 200);
                t.elapsed().as_micros() as u32 })}).collect();
            let mut lat = vec![]; for t in tasks { lat.push(t.await.unwrap()); }
            lat.sort();
            println!("floor: {phones} phones join at once: p50 {:.1} ms, p99 {:.1} ms", lat[lat.len()/2] as f64/1000.0, lat[lat.len()*99/100] as f64/1000.0);
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
}
