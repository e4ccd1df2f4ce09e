//! scrypt (RFC 7914), the memory-hard key derivation behind the owner's password, on top of
//! ring's PBKDF2-HMAC-SHA256 (ring is linked anyway, for TLS: this costs a few KB of flash
//! instead of another crate). Touches: nothing (pure computation).

use std::num::NonZeroU32;

/// Why scrypt parameters are refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BadParams {
    #[error("scrypt N must be a power of two above 1")]
    N,
    #[error("scrypt r and p must be at least 1, and p * r below 2^30")]
    RP,
    #[error("scrypt would need more than {0} MiB of memory")]
    Memory(usize),
}

/// Refuse parameters that would need more memory than a router has to spare.
const MAX_MEMORY: usize = 64 << 20;

/// Derives `out.len()` bytes from `password` and `salt` with cost `n` (a power of two),
/// block size `r` and parallelism `p`. Uses `128 * r * n` bytes of memory.
pub fn derive(
    password: &[u8],
    salt: &[u8],
    n: u64,
    r: u32,
    p: u32,
    out: &mut [u8],
) -> Result<(), BadParams> {
    if n < 2 || !n.is_power_of_two() {
        return Err(BadParams::N);
    }
    if r == 0 || p == 0 || u64::from(r) * u64::from(p) >= 1 << 30 {
        return Err(BadParams::RP);
    }
    let words = 32 * r as usize; // one block of 128 * r bytes, as u32
    if (n as u128) * (words as u128) * 4 > MAX_MEMORY as u128 {
        return Err(BadParams::Memory(MAX_MEMORY >> 20));
    }
    let one = NonZeroU32::new(1).expect("1 is not 0");
    let mut b = vec![0u8; p as usize * words * 4];
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA256,
        one,
        salt,
        password,
        &mut b,
    );
    let mut v = vec![0u32; n as usize * words];
    let mut x = vec![0u32; words];
    let mut scratch = vec![0u32; words];
    for chunk in b.chunks_exact_mut(words * 4) {
        for (w, c) in x.iter_mut().zip(chunk.chunks_exact(4)) {
            *w = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        ro_mix(&mut x, &mut v, &mut scratch, n);
        for (w, c) in x.iter().zip(chunk.chunks_exact_mut(4)) {
            c.copy_from_slice(&w.to_le_bytes());
        }
    }
    ring::pbkdf2::derive(ring::pbkdf2::PBKDF2_HMAC_SHA256, one, &b, password, out);
    Ok(())
}

/// scryptROMix: fills `v` with successive BlockMix outputs, then reads it back in an order
/// that depends on the data, so the whole of `v` must be kept in memory.
fn ro_mix(x: &mut [u32], v: &mut [u32], scratch: &mut [u32], n: u64) {
    let words = x.len();
    for i in 0..n as usize {
        v[i * words..(i + 1) * words].copy_from_slice(x);
        block_mix(x, scratch);
    }
    for _ in 0..n {
        // Integerify: the first 64 bits of the last 64-byte block, modulo N (a power of two).
        let last = words - 16;
        let j = (u64::from(x[last]) | u64::from(x[last + 1]) << 32) & (n - 1);
        let vj = &v[j as usize * words..(j as usize + 1) * words];
        for (a, b) in x.iter_mut().zip(vj) {
            *a ^= b;
        }
        block_mix(x, scratch);
    }
}

/// scryptBlockMix with Salsa20/8 over `2r` 64-byte blocks; even outputs first, then odd.
fn block_mix(b: &mut [u32], y: &mut [u32]) {
    let blocks = b.len() / 16;
    let mut x = [0u32; 16];
    x.copy_from_slice(&b[(blocks - 1) * 16..]);
    for i in 0..blocks {
        for (a, c) in x.iter_mut().zip(&b[i * 16..(i + 1) * 16]) {
            *a ^= c;
        }
        salsa20_8(&mut x);
        let at = if i % 2 == 0 {
            i / 2
        } else {
            blocks / 2 + i / 2
        };
        y[at * 16..(at + 1) * 16].copy_from_slice(&x);
    }
    b.copy_from_slice(y);
}

/// The Salsa20/8 core: 8 rounds, then the input added back.
fn salsa20_8(b: &mut [u32; 16]) {
    let mut x = *b;
    macro_rules! quarter {
        ($a:expr, $b:expr, $c:expr, $d:expr) => {
            x[$b] ^= x[$a].wrapping_add(x[$d]).rotate_left(7);
            x[$c] ^= x[$b].wrapping_add(x[$a]).rotate_left(9);
            x[$d] ^= x[$c].wrapping_add(x[$b]).rotate_left(13);
            x[$a] ^= x[$d].wrapping_add(x[$c]).rotate_left(18);
        };
    }
    for _ in 0..4 {
        // Columns.
        quarter!(0, 4, 8, 12);
        quarter!(5, 9, 13, 1);
        quarter!(10, 14, 2, 6);
        quarter!(15, 3, 7, 11);
        // Rows.
        quarter!(0, 1, 2, 3);
        quarter!(5, 6, 7, 4);
        quarter!(10, 11, 8, 9);
        quarter!(15, 12, 13, 14);
    }
    for (o, a) in b.iter_mut().zip(x) {
        *o = o.wrapping_add(a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn scrypt_hex(pw: &str, salt: &str, n: u64, r: u32, p: u32) -> String {
        let mut out = [0u8; 64];
        derive(pw.as_bytes(), salt.as_bytes(), n, r, p, &mut out).unwrap();
        hex(&out)
    }

    /// RFC 7914 section 8.
    #[test]
    fn salsa20_8_core_matches_rfc_7914() {
        let input = "7e879a214f3ec9867ca940e641718f26baee555b8c61c1b50df846116dcd3b1d\
                     ee24f319df9b3d8514121e4b5ac5aa3276021d2909c74829edebc68db8b8c25e";
        let want = "a41f859c6608cc993b81cacb020cef05044b2181a2fd337dfd7b1c6396682f29\
                    b4393168e3c9e6bcfe6bc5b7a06d96bae424cc102c91745c24ad673dc7618f81";
        let bytes: Vec<u8> = (0..64)
            .map(|i| u8::from_str_radix(&input[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        let mut words = [0u32; 16];
        for (w, c) in words.iter_mut().zip(bytes.chunks_exact(4)) {
            *w = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        salsa20_8(&mut words);
        let out: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        assert_eq!(hex(&out), want);
    }

    /// RFC 7914 section 12 (the 1 GiB fourth vector is left out: a router could not run it).
    #[test]
    fn scrypt_matches_rfc_7914() {
        assert_eq!(
            scrypt_hex("", "", 16, 1, 1),
            "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442\
             fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906"
        );
        assert_eq!(
            scrypt_hex("password", "NaCl", 1024, 8, 16),
            "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162\
             2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"
        );
        assert_eq!(
            scrypt_hex("pleaseletmein", "SodiumChloride", 16384, 8, 1),
            "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2\
             d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887"
        );
    }

    #[test]
    fn refuses_bad_parameters() {
        let mut out = [0u8; 32];
        assert_eq!(derive(b"", b"", 1000, 8, 1, &mut out), Err(BadParams::N));
        assert_eq!(derive(b"", b"", 1024, 0, 1, &mut out), Err(BadParams::RP));
        assert_eq!(
            derive(b"", b"", 1 << 20, 8, 1, &mut out),
            Err(BadParams::Memory(64))
        );
    }
}
