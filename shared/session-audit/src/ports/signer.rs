//! The signing seam: who signs the digests. KMS implements it in the AWS crate (an asymmetric
//! ECC_NIST_P256 key that never leaves KMS); [`KeySigner`] holds a P-256 key in memory, for
//! tests and the local emulator's doubles.

use std::future::Future;

use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::EncodePublicKey;

/// A signature that could not be made, or a public key that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("signing with {key_id} failed: {}{message}", code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default())]
pub struct SignError {
    /// The key.
    pub key_id: String,
    /// The service's error code, when it gave one.
    pub code: Option<String>,
    /// What went wrong.
    pub message: String,
}

/// Signs digests with ECDSA P-256 over SHA-256 (KMS's `ECDSA_SHA_256`).
pub trait Signer: Sync {
    /// The key's name as the sidecar records it (the KMS key ARN).
    fn key_id(&self) -> &str;

    /// The public half, DER SubjectPublicKeyInfo (as KMS's GetPublicKey returns it).
    fn public_key(&self) -> impl Future<Output = Result<Vec<u8>, SignError>> + Send;

    /// A DER ECDSA signature of `message` (hashed with SHA-256 by the signer).
    fn sign(&self, message: &[u8]) -> impl Future<Output = Result<Vec<u8>, SignError>> + Send;
}

/// A P-256 key in memory (deterministic RFC 6979 signatures).
#[derive(Debug, Clone)]
pub struct KeySigner {
    /// The name it signs under.
    pub key_id: String,
    /// The private key.
    pub key: SigningKey,
}

impl KeySigner {
    /// The key whose secret scalar is `seed` repeated (tests: a fixed, valid scalar).
    pub fn from_seed(key_id: &str, seed: u8) -> Self {
        let key = SigningKey::from_bytes(&[seed; 32].into()).expect("a scalar below the order");
        KeySigner { key_id: key_id.into(), key }
    }
}

impl Signer for KeySigner {
    fn key_id(&self) -> &str {
        &self.key_id
    }

    async fn public_key(&self) -> Result<Vec<u8>, SignError> {
        let der = self.key.verifying_key().to_public_key_der().map_err(|e| SignError {
            key_id: self.key_id.clone(),
            code: None,
            message: e.to_string(),
        })?;
        Ok(der.as_bytes().to_vec())
    }

    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let signature: Signature = self.key.sign(message);
        Ok(signature.to_der().as_bytes().to_vec())
    }
}
