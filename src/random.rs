//! Random bytes from the kernel, for voucher codes, secrets and tokens.
//! Touches: /dev/urandom.

use std::io::Read;

/// `N` bytes from /dev/urandom. Panics only if the kernel has no /dev/urandom, which no
/// Linux router lacks.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .expect("/dev/urandom is readable");
    buf
}

/// A random lower-case hex string of `2 * N` characters.
pub fn hex<const N: usize>() -> String {
    bytes::<N>().iter().map(|b| format!("{b:02x}")).collect()
}
