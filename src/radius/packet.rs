//! RADIUS packets on the wire (RFC 2865, 2866, 3579, 5176): decoding with every malformed packet
//! refused by name, encoding with the authenticators each code needs, PAP password hiding, and
//! the checks that make a forged answer worthless (Response Authenticator, Message-Authenticator).
//! Pure functions over bytes. Touches: nothing (no sockets, no store).

use super::md5::{hmac, md5, same};
use std::net::Ipv4Addr;

/// RFC 2865 §3: a packet is at most 4096 bytes.
pub const MAX_LEN: usize = 4096;
/// Code, identifier, length and authenticator.
const HEADER: usize = 20;
/// An attribute's value is at most 253 bytes (its length field counts type and length too).
pub const MAX_VALUE: usize = 253;

/// The packet codes Lango sends or answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    AccessRequest = 1,
    AccessAccept = 2,
    AccessReject = 3,
    AccountingRequest = 4,
    AccountingResponse = 5,
    AccessChallenge = 11,
    DisconnectRequest = 40,
    DisconnectAck = 41,
    DisconnectNak = 42,
    CoaRequest = 43,
    CoaAck = 44,
    CoaNak = 45,
}

impl Code {
    fn from_u8(b: u8) -> Option<Code> {
        Some(match b {
            1 => Code::AccessRequest,
            2 => Code::AccessAccept,
            3 => Code::AccessReject,
            4 => Code::AccountingRequest,
            5 => Code::AccountingResponse,
            11 => Code::AccessChallenge,
            40 => Code::DisconnectRequest,
            41 => Code::DisconnectAck,
            42 => Code::DisconnectNak,
            43 => Code::CoaRequest,
            44 => Code::CoaAck,
            45 => Code::CoaNak,
            _ => return None,
        })
    }

    /// Requests whose authenticator is an MD5 over the packet (not random): RFC 2866, 5176.
    fn signed_request(self) -> bool {
        matches!(
            self,
            Code::AccountingRequest | Code::DisconnectRequest | Code::CoaRequest
        )
    }
}

/// Attribute types (RFC 2865, 2866, 2869, 3576/5176).
pub mod attr {
    pub const USER_NAME: u8 = 1;
    pub const USER_PASSWORD: u8 = 2;
    pub const NAS_IP_ADDRESS: u8 = 4;
    pub const SERVICE_TYPE: u8 = 6;
    pub const FRAMED_IP_ADDRESS: u8 = 8;
    pub const REPLY_MESSAGE: u8 = 18;
    pub const CLASS: u8 = 25;
    pub const VENDOR_SPECIFIC: u8 = 26;
    pub const SESSION_TIMEOUT: u8 = 27;
    pub const CALLED_STATION_ID: u8 = 30;
    pub const CALLING_STATION_ID: u8 = 31;
    pub const NAS_IDENTIFIER: u8 = 32;
    pub const ACCT_STATUS_TYPE: u8 = 40;
    pub const ACCT_DELAY_TIME: u8 = 41;
    pub const ACCT_INPUT_OCTETS: u8 = 42;
    pub const ACCT_OUTPUT_OCTETS: u8 = 43;
    pub const ACCT_SESSION_ID: u8 = 44;
    pub const ACCT_AUTHENTIC: u8 = 45;
    pub const ACCT_SESSION_TIME: u8 = 46;
    pub const ACCT_TERMINATE_CAUSE: u8 = 49;
    pub const ACCT_INPUT_GIGAWORDS: u8 = 52;
    pub const ACCT_OUTPUT_GIGAWORDS: u8 = 53;
    pub const EVENT_TIMESTAMP: u8 = 55;
    pub const NAS_PORT_TYPE: u8 = 61;
    pub const CONNECT_INFO: u8 = 77;
    pub const MESSAGE_AUTHENTICATOR: u8 = 80;
    pub const ACCT_INTERIM_INTERVAL: u8 = 85;
    pub const ERROR_CAUSE: u8 = 101;
}

/// Vendor-Specific attributes Lango understands: (vendor id, vendor type).
pub mod vendor {
    /// `Mikrotik-Rate-Limit`: "rx/tx" from the router's side, e.g. "2M/5M".
    pub const MIKROTIK_RATE_LIMIT: (u32, u8) = (14988, 8);
    /// `WISPr-Bandwidth-Max-Up`: bits per second from the client.
    pub const WISPR_MAX_UP: (u32, u8) = (14122, 7);
    /// `WISPr-Bandwidth-Max-Down`: bits per second to the client.
    pub const WISPR_MAX_DOWN: (u32, u8) = (14122, 8);
}

/// A decoded packet. Attributes keep their order; Vendor-Specific ones stay whole (type 26).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    pub code: Code,
    pub id: u8,
    pub authenticator: [u8; 16],
    pub attrs: Vec<(u8, Vec<u8>)>,
}

/// Why bytes are not a RADIUS packet.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("{0} bytes is shorter than a RADIUS header (20)")]
    Short(usize),
    #[error("length field {field} is outside 20..={max} or beyond the {got} bytes received")]
    Length {
        field: usize,
        got: usize,
        max: usize,
    },
    #[error("unknown packet code {0}")]
    Code(u8),
    #[error("attribute type {typ} at byte {at}: length {len} runs past the packet or is under 2")]
    Attribute { typ: u8, at: usize, len: usize },
    #[error("Message-Authenticator of {0} bytes (must be 16)")]
    MessageAuthenticator(usize),
}

/// Why a packet that decoded is still not believed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("malformed: {0}")]
    Malformed(#[from] Malformed),
    #[error("identifier {got} does not answer request {want}")]
    OtherId { got: u8, want: u8 },
    #[error("code {0:?} does not answer this request")]
    OtherCode(Code),
    #[error("wrong authenticator (a forgery, or a different shared secret)")]
    Authenticator,
    #[error("no Message-Authenticator (required, CVE-2024-3596)")]
    NoMessageAuthenticator,
    #[error("wrong Message-Authenticator (a forgery, or a different shared secret)")]
    MessageAuthenticator,
}

impl Packet {
    /// Decodes `b`, refusing anything malformed. Bytes past the length field are padding
    /// (RFC 2865 §3) and ignored.
    pub fn decode(b: &[u8]) -> Result<Packet, Malformed> {
        if b.len() < HEADER {
            return Err(Malformed::Short(b.len()));
        }
        let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
        if !(HEADER..=MAX_LEN).contains(&len) || len > b.len() {
            return Err(Malformed::Length {
                field: len,
                got: b.len(),
                max: MAX_LEN,
            });
        }
        let code = Code::from_u8(b[0]).ok_or(Malformed::Code(b[0]))?;
        let mut authenticator = [0; 16];
        authenticator.copy_from_slice(&b[4..HEADER]);
        let mut attrs = vec![];
        let mut at = HEADER;
        while at < len {
            let typ = b[at];
            let alen = b.get(at + 1).map_or(0, |l| usize::from(*l));
            if alen < 2 || at + alen > len {
                return Err(Malformed::Attribute { typ, at, len: alen });
            }
            let value = &b[at + 2..at + alen];
            if typ == attr::MESSAGE_AUTHENTICATOR && value.len() != 16 {
                return Err(Malformed::MessageAuthenticator(value.len()));
            }
            attrs.push((typ, value.to_vec()));
            at += alen;
        }
        Ok(Packet {
            code,
            id: b[1],
            authenticator,
            attrs,
        })
    }

    /// The first attribute of type `t`.
    pub fn get(&self, t: u8) -> Option<&[u8]> {
        self.attrs
            .iter()
            .find(|(typ, _)| *typ == t)
            .map(|(_, v)| v.as_slice())
    }

    /// The first attribute of type `t` as text (invalid UTF-8 is no text).
    pub fn text(&self, t: u8) -> Option<&str> {
        self.get(t).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The first attribute of type `t` as a 32-bit integer (another length is no integer).
    pub fn int(&self, t: u8) -> Option<u32> {
        let v = self.get(t)?;
        Some(u32::from_be_bytes(v.try_into().ok()?))
    }

    /// The first vendor attribute `(vendor, type)`, looked for in every Vendor-Specific
    /// attribute (one may carry several). Badly formed sub-attributes end that attribute's walk.
    pub fn vendor(&self, (vendor, typ): (u32, u8)) -> Option<&[u8]> {
        for (t, v) in &self.attrs {
            if *t != attr::VENDOR_SPECIFIC || v.len() < 4 {
                continue;
            }
            if u32::from_be_bytes([v[0], v[1], v[2], v[3]]) != vendor {
                continue;
            }
            let mut at = 4;
            while at + 2 <= v.len() {
                let l = usize::from(v[at + 1]);
                if l < 2 || at + l > v.len() {
                    break;
                }
                if v[at] == typ {
                    return Some(&v[at + 2..at + l]);
                }
                at += l;
            }
        }
        None
    }
}

/// An attribute list under construction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attrs(pub Vec<(u8, Vec<u8>)>);

impl Attrs {
    /// Adds `value`, cut to the 253 bytes an attribute holds.
    pub fn bytes(&mut self, t: u8, value: &[u8]) -> &mut Self {
        self.0
            .push((t, value[..value.len().min(MAX_VALUE)].to_vec()));
        self
    }
    pub fn text(&mut self, t: u8, value: &str) -> &mut Self {
        self.bytes(t, value.as_bytes())
    }
    pub fn int(&mut self, t: u8, value: u32) -> &mut Self {
        self.bytes(t, &value.to_be_bytes())
    }
    pub fn ip(&mut self, t: u8, value: Ipv4Addr) -> &mut Self {
        self.bytes(t, &value.octets())
    }
    /// The attributes as on the wire (type, length, value, ...): how the queue stores them.
    pub fn to_wire(&self) -> Vec<u8> {
        let mut b = vec![];
        for (t, v) in &self.0 {
            b.extend([*t, v.len() as u8 + 2]);
            b.extend_from_slice(v);
        }
        b
    }

    /// Reads `to_wire`'s bytes back.
    pub fn from_wire(b: &[u8]) -> Result<Attrs, Malformed> {
        let mut out = vec![];
        let mut at = 0;
        while at < b.len() {
            let typ = b[at];
            let l = b.get(at + 1).map_or(0, |l| usize::from(*l));
            if l < 2 || at + l > b.len() {
                return Err(Malformed::Attribute { typ, at, len: l });
            }
            out.push((typ, b[at + 2..at + l].to_vec()));
            at += l;
        }
        Ok(Attrs(out))
    }

    /// A Vendor-Specific attribute holding one vendor attribute.
    pub fn vendor(&mut self, (vendor, typ): (u32, u8), value: &[u8]) -> &mut Self {
        let value = &value[..value.len().min(MAX_VALUE - 6)];
        let mut v = vendor.to_be_bytes().to_vec();
        v.extend([typ, value.len() as u8 + 2]);
        v.extend_from_slice(value);
        self.bytes(attr::VENDOR_SPECIFIC, &v)
    }
}

/// Lays out a packet with `auth` in the authenticator field and, if `ma`, a zeroed
/// Message-Authenticator first among the attributes. Returns the bytes and where its value is.
fn layout(code: Code, id: u8, auth: &[u8; 16], attrs: &Attrs, ma: bool) -> (Vec<u8>, usize) {
    let mut b = vec![code as u8, id, 0, 0];
    b.extend_from_slice(auth);
    let mut ma_at = 0;
    if ma {
        b.extend([attr::MESSAGE_AUTHENTICATOR, 18]);
        ma_at = b.len();
        b.extend([0; 16]);
    }
    for (t, v) in &attrs.0 {
        if *t == attr::MESSAGE_AUTHENTICATOR {
            continue;
        }
        // The packet is capped: attributes that would not fit are left off (Lango sends few).
        if b.len() + 2 + v.len() > MAX_LEN {
            break;
        }
        b.extend([*t, v.len() as u8 + 2]);
        b.extend_from_slice(v);
    }
    let len = (b.len() as u16).to_be_bytes();
    b[2..4].copy_from_slice(&len);
    (b, ma_at)
}

/// Encodes a request Lango sends. An Access-Request carries `random` as its authenticator;
/// Accounting, CoA and Disconnect requests are signed with the secret (RFC 2866 §3, RFC 5176
/// §2.3). Every request carries a Message-Authenticator (RFC 3579 §3.2).
pub fn encode_request(
    code: Code,
    id: u8,
    random: [u8; 16],
    attrs: &Attrs,
    secret: &[u8],
) -> Vec<u8> {
    let auth = if code.signed_request() {
        [0; 16]
    } else {
        random
    };
    let (mut b, ma_at) = layout(code, id, &auth, attrs, true);
    let mac = hmac(secret, &[&b]);
    b[ma_at..ma_at + 16].copy_from_slice(&mac);
    if code.signed_request() {
        let sum = md5(&[&b, secret]);
        b[4..HEADER].copy_from_slice(&sum);
    }
    b
}

/// Encodes Lango's answer to a request whose authenticator was `request_auth` (the CoA and
/// Disconnect ACK/NAK), with a Message-Authenticator, signed per RFC 2865 §3.
pub fn encode_response(
    code: Code,
    id: u8,
    request_auth: &[u8; 16],
    attrs: &Attrs,
    secret: &[u8],
) -> Vec<u8> {
    let (mut b, ma_at) = layout(code, id, request_auth, attrs, true);
    let mac = hmac(secret, &[&b]);
    b[ma_at..ma_at + 16].copy_from_slice(&mac);
    let sum = md5(&[&b, secret]);
    b[4..HEADER].copy_from_slice(&sum);
    b
}

/// The bytes a Message-Authenticator was computed over: `raw` with `auth` in the
/// authenticator field and the Message-Authenticator's value zeroed. `None` if it has none.
fn ma_input(raw: &[u8], p: &Packet, auth: &[u8; 16]) -> Option<(Vec<u8>, [u8; 16])> {
    let given: [u8; 16] = p.get(attr::MESSAGE_AUTHENTICATOR)?.try_into().ok()?;
    let len = usize::from(u16::from_be_bytes([raw[2], raw[3]]));
    let mut b = raw[..len].to_vec();
    b[4..HEADER].copy_from_slice(auth);
    let mut at = HEADER;
    while at + 2 <= len {
        let l = usize::from(b[at + 1]);
        if b[at] == attr::MESSAGE_AUTHENTICATOR {
            b[at + 2..at + l].fill(0);
            break;
        }
        at += l.max(2);
    }
    Some((b, given))
}

/// Checks an answer to Lango's request (`id`, `request_auth`): the Response Authenticator
/// always, the Message-Authenticator if present, and requires one if `require_ma` (every
/// Access-Accept, -Reject and -Challenge: CVE-2024-3596).
pub fn verify_response(
    raw: &[u8],
    id: u8,
    request_auth: &[u8; 16],
    secret: &[u8],
    require_ma: bool,
) -> Result<Packet, Refused> {
    let p = Packet::decode(raw)?;
    if p.id != id {
        return Err(Refused::OtherId {
            got: p.id,
            want: id,
        });
    }
    let len = usize::from(u16::from_be_bytes([raw[2], raw[3]]));
    let sum = md5(&[&raw[..4], request_auth, &raw[HEADER..len], secret]);
    if !same(&sum, &p.authenticator) {
        return Err(Refused::Authenticator);
    }
    match ma_input(raw, &p, request_auth) {
        Some((b, given)) if !same(&hmac(secret, &[&b]), &given) => {
            Err(Refused::MessageAuthenticator)
        }
        None if require_ma => Err(Refused::NoMessageAuthenticator),
        _ => Ok(p),
    }
}

/// Checks a signed request sent to Lango (CoA, Disconnect; RFC 5176 §3.5): its authenticator,
/// and its Message-Authenticator if present.
pub fn verify_request(raw: &[u8], secret: &[u8]) -> Result<Packet, Refused> {
    let p = Packet::decode(raw)?;
    if !p.code.signed_request() {
        return Err(Refused::OtherCode(p.code));
    }
    let len = usize::from(u16::from_be_bytes([raw[2], raw[3]]));
    let sum = md5(&[&raw[..4], &[0; 16], &raw[HEADER..len], secret]);
    if !same(&sum, &p.authenticator) {
        return Err(Refused::Authenticator);
    }
    if let Some((b, given)) = ma_input(raw, &p, &[0; 16]) {
        if !same(&hmac(secret, &[&b]), &given) {
            return Err(Refused::MessageAuthenticator);
        }
    }
    Ok(p)
}

/// Hides a PAP password (RFC 2865 §5.2): padded to 16-byte blocks (at most 128 bytes), each
/// XORed with MD5(secret + the previous block, the first with the request authenticator).
pub fn hide_password(password: &[u8], secret: &[u8], authenticator: &[u8; 16]) -> Vec<u8> {
    let password = &password[..password.len().min(128)];
    let blocks = password.len().div_ceil(16).max(1);
    let mut out = password.to_vec();
    out.resize(blocks * 16, 0);
    let mut prev = authenticator.to_vec();
    for chunk in out.chunks_mut(16) {
        let key = md5(&[secret, &prev]);
        for (c, k) in chunk.iter_mut().zip(key) {
            *c ^= k;
        }
        prev = chunk.to_vec();
    }
    out
}

/// Undoes `hide_password` (the padding stays off).
pub fn reveal_password(hidden: &[u8], secret: &[u8], authenticator: &[u8; 16]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hidden.len());
    let mut prev = authenticator.to_vec();
    for chunk in hidden.chunks(16) {
        let key = md5(&[secret, &prev]);
        out.extend(chunk.iter().zip(key).map(|(c, k)| c ^ k));
        prev = chunk.to_vec();
    }
    while out.last() == Some(&0) {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 2865 §7.1: nemo's Access-Request (secret "xyzzy5461", password "arctangent").
    #[test]
    fn rfc_2865_pap_example() {
        let req = unhex(
            "01 00 00 38 0f 40 3f 94 73 97 80 57 bd 83 d5 cb 98 f4 22 7a
             01 06 6e 65 6d 6f 02 12 0d be 70 8d 93 d4 13 ce 31 96 e4 3f
             78 2a 0a ee 04 06 c0 a8 01 10 05 06 00 00 00 03",
        );
        let p = Packet::decode(&req).unwrap();
        assert_eq!(p.code, Code::AccessRequest);
        assert_eq!(p.text(attr::USER_NAME), Some("nemo"));
        let hidden = p.get(attr::USER_PASSWORD).unwrap();
        assert_eq!(
            hide_password(b"arctangent", b"xyzzy5461", &p.authenticator),
            hidden
        );
        assert_eq!(
            reveal_password(hidden, b"xyzzy5461", &p.authenticator),
            b"arctangent"
        );
        // Its Access-Accept: the Response Authenticator checks out (it predates
        // Message-Authenticator, so only when one is not required).
        let accept = unhex(
            "02 00 00 26 86 fe 22 0e 76 24 ba 2a 10 05 f6 bf 9b 55 e0 b2
             06 06 00 00 00 01 0f 06 00 00 00 00 0e 06 c0 a8 01 03",
        );
        let ok = verify_response(&accept, 0, &p.authenticator, b"xyzzy5461", false).unwrap();
        assert_eq!(ok.int(attr::SERVICE_TYPE), Some(1));
        assert_eq!(
            verify_response(&accept, 0, &p.authenticator, b"xyzzy5461", true),
            Err(Refused::NoMessageAuthenticator)
        );
        assert_eq!(
            verify_response(&accept, 0, &p.authenticator, b"wrong", false),
            Err(Refused::Authenticator)
        );
    }

    /// RFC 2866 §5.1-style: an Accounting-Request's authenticator is MD5 over it and the secret.
    #[test]
    fn accounting_and_coa_requests_are_signed_and_verified() {
        let mut a = Attrs::default();
        a.int(attr::ACCT_STATUS_TYPE, 1)
            .text(attr::ACCT_SESSION_ID, "0001");
        for code in [
            Code::AccountingRequest,
            Code::CoaRequest,
            Code::DisconnectRequest,
        ] {
            let b = encode_request(code, 7, [9; 16], &a, b"s3cret");
            let p = verify_request(&b, b"s3cret").unwrap();
            assert_eq!((p.code, p.id), (code, 7));
            assert_eq!(verify_request(&b, b"other"), Err(Refused::Authenticator));
            let mut tampered = b.clone();
            *tampered.last_mut().unwrap() ^= 1;
            assert_eq!(
                verify_request(&tampered, b"s3cret"),
                Err(Refused::Authenticator)
            );
        }
    }

    #[test]
    fn responses_with_message_authenticator_verify_and_forgeries_do_not() {
        let req_auth = [5u8; 16];
        let mut a = Attrs::default();
        a.int(attr::SESSION_TIMEOUT, 3600)
            .vendor(vendor::MIKROTIK_RATE_LIMIT, b"2M/5M");
        let b = encode_response(Code::AccessAccept, 3, &req_auth, &a, b"s3cret");
        let p = verify_response(&b, 3, &req_auth, b"s3cret", true).unwrap();
        assert_eq!(p.vendor(vendor::MIKROTIK_RATE_LIMIT), Some(&b"2M/5M"[..]));
        assert_eq!(p.int(attr::SESSION_TIMEOUT), Some(3600));
        assert_eq!(
            verify_response(&b, 4, &req_auth, b"s3cret", true),
            Err(Refused::OtherId { got: 3, want: 4 })
        );
        assert_eq!(
            verify_response(&b, 3, &[6; 16], b"s3cret", true),
            Err(Refused::Authenticator)
        );
        // A forger who can fix up the Response Authenticator (MD5 collisions, BlastRADIUS) still
        // cannot make the HMAC: rebuild the authenticator over a changed Message-Authenticator.
        let mut forged = b.clone();
        forged[HEADER + 2] ^= 1;
        let len = forged.len();
        let sum = md5(&[&forged[..4], &req_auth, &forged[HEADER..len], b"s3cret"]);
        forged[4..HEADER].copy_from_slice(&sum);
        assert_eq!(
            verify_response(&forged, 3, &req_auth, b"s3cret", true),
            Err(Refused::MessageAuthenticator)
        );
    }

    #[test]
    fn access_request_carries_a_valid_message_authenticator() {
        let mut a = Attrs::default();
        a.text(attr::USER_NAME, "code");
        let b = encode_request(Code::AccessRequest, 1, [7; 16], &a, b"k");
        let p = Packet::decode(&b).unwrap();
        assert_eq!(p.authenticator, [7; 16]);
        let (input, given) = ma_input(&b, &p, &[7; 16]).unwrap();
        assert_eq!(hmac(b"k", &[&input]), given);
    }

    #[test]
    fn malformed_packets_are_refused_by_name() {
        assert_eq!(Packet::decode(&[1; 10]), Err(Malformed::Short(10)));
        let mut ok = encode_request(Code::AccountingRequest, 1, [0; 16], &Attrs::default(), b"k");
        assert!(Packet::decode(&ok).is_ok());
        let mut long = ok.clone();
        long[3] = 200;
        assert!(matches!(
            Packet::decode(&long),
            Err(Malformed::Length { field: 200, .. })
        ));
        let mut code = ok.clone();
        code[0] = 99;
        assert_eq!(Packet::decode(&code), Err(Malformed::Code(99)));
        ok.extend([1, 0]);
        let n = ok.len() as u16;
        ok[2..4].copy_from_slice(&n.to_be_bytes());
        assert!(matches!(
            Packet::decode(&ok),
            Err(Malformed::Attribute { typ: 1, len: 0, .. })
        ));
        let mut ma = vec![2, 0, 0, 24];
        ma.extend([0; 16]);
        ma.extend([80, 4, 0, 0]);
        assert_eq!(Packet::decode(&ma), Err(Malformed::MessageAuthenticator(2)));
        // Padding past the length field is ignored.
        let mut padded = encode_request(Code::CoaRequest, 1, [0; 16], &Attrs::default(), b"k");
        padded.extend([0; 7]);
        assert!(verify_request(&padded, b"k").is_ok());
    }

    #[test]
    fn attributes_round_trip_through_the_queue_form() {
        let mut a = Attrs::default();
        a.text(attr::USER_NAME, "x")
            .int(attr::ACCT_STATUS_TYPE, 3)
            .bytes(attr::CLASS, &[]);
        assert_eq!(Attrs::from_wire(&a.to_wire()), Ok(a));
        assert!(Attrs::from_wire(&[1, 5, 0]).is_err());
    }

    #[test]
    fn long_passwords_are_cut_and_blocks_chain() {
        let pw = [b'x'; 40];
        let h = hide_password(&pw, b"s", &[1; 16]);
        assert_eq!(h.len(), 48);
        assert_eq!(reveal_password(&h, b"s", &[1; 16]), pw);
        assert_eq!(hide_password(&[b'y'; 200], b"s", &[1; 16]).len(), 128);
        assert_eq!(hide_password(b"", b"s", &[1; 16]).len(), 16);
    }
}
