//! Session Audit's domain: transcripts in, compliance reports out. Nothing here calls AWS.

pub mod transcript;
