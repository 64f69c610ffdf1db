//! Message composition: RFC 5322 headers, MIME structure and transfer encodings.
//!
//! [`Message`] is what callers build; [`mime`] turns it into a byte stream for one server;
//! [`wp_mail`] gives WordPress's `wp_mail()` semantics on top.

pub mod builder;
pub mod content_type;
pub mod encoding;
pub mod header;
pub mod mime;
mod render;
pub mod wp_mail;

pub use builder::{AddressField, Charset, Message};
pub use mime::{MessageStream, Prepared};
pub use wp_mail::{WpDefaults, WpMail, WpParsed, wp_mail};
