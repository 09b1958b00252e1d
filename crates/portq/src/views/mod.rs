//! Rows and views the front ends share: the CLI's outputs, the web console and the
//! exporter render these, so a fact reads the same in each. Views only shape what the
//! library decided; they decide nothing.

pub mod check;
pub mod lookup;
pub mod roles;
pub mod trace;
