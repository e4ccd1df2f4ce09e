//! Payments: the Daraja client, the payment state machine and the poller that confirms payments.
//! Touches: Daraja, the store, sessions. Never: the kernel directly.

pub mod daraja;
