//! The Daraja simulator: Safaricom's sandbox API (OAuth, STK Push, STK Push Query), as strict as
//! the real one, with outcomes chosen by the phone number. Used by `lango demo`, tests, benchmarks.
//! Touches: its own listener. Never: Lango's database or gate.

/// Credentials the simulator accepts unless told otherwise.
pub const DEMO_CONSUMER_KEY: &str = "lango-demo-key";
pub const DEMO_CONSUMER_SECRET: &str = "lango-demo-secret";
/// Safaricom's published sandbox passkey for shortcode 174379.
pub const SANDBOX_PASSKEY: &str =
    "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919";
