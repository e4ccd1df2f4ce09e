//! RADIUS: Lango as a NAS (network access server) of a central FreeRADIUS, as MikroTik hotspots
//! are. Codes that are not local vouchers are checked with an Access-Request, every session is
//! accounted (Start, Interim-Update, Stop) from a queue kept in SQLite, and the server may
//! disconnect a device or change its time and speed (RFC 5176). The operator's side is in
//! `docs/radius.md`. Touches: UDP sockets, the store, sessions. Never: HTTP, the kernel directly.

pub mod md5;
pub mod packet;
pub mod rate;
