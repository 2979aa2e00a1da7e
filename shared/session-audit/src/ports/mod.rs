//! The seams the use cases are written against, each with its in-memory double: the audit
//! [`store`] (S3 in AWS), the findings [`sink`] (EventBridge) and the [`session_log`] (the
//! transcript log group in CloudWatch Logs), the digests' [`signer`] (KMS), the OCSF
//! [`lake`] (Security Lake) and the Config rule's [`compliance`] facts and answers (EC2, SSM,
//! IAM; Config). The AWS crate implements them.

pub mod compliance;
pub mod lake;
pub mod session_log;
pub mod signer;
pub mod sink;
pub mod store;
