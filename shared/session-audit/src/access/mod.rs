//! Access the stack sanctions beyond "who may start a session where": the Session documents it
//! provides (shell, port forwarding, parameterised tasks) with what their parameters may be,
//! and the approvals protected instances need. Pure: the provisioner writes these documents,
//! the start audit judges every StartSession against them.

pub mod approval;
pub mod documents;
pub mod schema;

#[cfg(test)]
mod tests;

pub use documents::{Catalog, Destination, Kind, Use, DEFAULT_SHELL};
pub use schema::Parameters;
