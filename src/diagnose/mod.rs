//! The connection check: probing a server's ports and judging what was found.

pub mod certificate;
mod findings;
pub mod probe;
pub mod report;
