//! The SMTP protocol: replies, commands, EHLO extensions, SASL authentication, message data
//! encoding, and the session state machine that drives them over a connection.

pub mod auth;
pub mod command;
pub mod data;
pub mod extensions;
pub mod reply;
pub mod session;
pub(crate) mod stream;
