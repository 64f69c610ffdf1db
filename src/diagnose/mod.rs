//! Diagnostics: turning failures into plain words and next steps.

pub mod certificate;
pub mod explain;
pub mod probe;
pub mod report;
