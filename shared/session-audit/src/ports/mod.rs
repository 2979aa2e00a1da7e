//! The seams the use cases are written against, each with its in-memory double: the audit
//! [`store`] (S3 in AWS), the findings [`sink`] (EventBridge) and the [`session_log`] (the
//! transcript log group in CloudWatch Logs), the digests' [`signer`] (KMS) and the OCSF
//! [`lake`] (Security Lake). The AWS crate implements them.

pub mod lake;
pub mod session_log;
pub mod signer;
pub mod sink;
pub mod store;
