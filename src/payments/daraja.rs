//! The Daraja HTTP client: OAuth token (cached until expiry), STK Push, STK Push Query.
//! Touches: Safaricom (or the simulator) over HTTPS. Never: SQLite, the kernel.
