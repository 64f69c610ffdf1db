//! Diagnostics: turning failures into plain words and next steps.

pub mod explain;
