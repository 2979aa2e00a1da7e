//! The digests' public keys: read from PEM or DER (as KMS's GetPublicKey gives it), named by
//! the SHA-256 of their DER form, and checked against a signature in pure Rust.

use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::{DecodePublicKey, EncodePublicKey};

use super::sha256_hex;

/// A P-256 public key a verifier trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    key: VerifyingKey,
    der: Vec<u8>,
}

/// Bytes that are not a P-256 public key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a P-256 public key (PEM or DER SubjectPublicKeyInfo): {0}")]
pub struct PublicKeyError(String);

impl PublicKey {
    /// From PEM (`-----BEGIN PUBLIC KEY-----`) or DER SubjectPublicKeyInfo bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, PublicKeyError> {
        let key = match std::str::from_utf8(bytes) {
            Ok(text) if text.contains("-----BEGIN") => {
                VerifyingKey::from_public_key_pem(text.trim())
            }
            _ => VerifyingKey::from_public_key_der(bytes),
        }
        .map_err(|e| PublicKeyError(e.to_string()))?;
        Self::from_verifying_key(key)
    }

    /// From a verifying key.
    pub fn from_verifying_key(key: VerifyingKey) -> Result<Self, PublicKeyError> {
        let der = key.to_public_key_der().map_err(|e| PublicKeyError(e.to_string()))?;
        Ok(PublicKey { key, der: der.as_bytes().to_vec() })
    }

    /// Hex SHA-256 of the DER form: the name sidecars use for the key.
    pub fn fingerprint(&self) -> String {
        sha256_hex(&self.der)
    }

    /// The PEM form, as published beside the digests.
    pub fn to_pem(&self) -> String {
        self.key.to_public_key_pem(p256::pkcs8::LineEnding::LF).expect("a valid key encodes")
    }

    /// Whether `signature` (DER, as KMS returns it) is this key's over `message` (ECDSA with
    /// SHA-256 of the message, as KMS's `ECDSA_SHA_256` on a RAW message).
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(signature) = Signature::from_der(signature) else { return false };
        // KMS does not promise low-S signatures; both forms of one signature are the same
        // proof (normalising cannot make a forged signature verify).
        let signature = signature.normalize_s().unwrap_or(signature);
        self.key.verify(message, &signature).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Signer;
    use p256::ecdsa::SigningKey;

    fn signing_key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32].into()).unwrap()
    }

    #[test]
    fn pem_and_der_give_one_key_that_verifies_its_own_signatures_only() {
        let signer = signing_key(7);
        let key = PublicKey::from_verifying_key(*signer.verifying_key()).unwrap();
        assert_eq!(PublicKey::parse(key.to_pem().as_bytes()).unwrap(), key);
        assert_eq!(PublicKey::parse(&key.der).unwrap(), key);
        let signature: Signature = signer.sign(b"message");
        let der = signature.to_der();
        assert!(key.verifies(b"message", der.as_bytes()));
        assert!(!key.verifies(b"messagE", der.as_bytes()));
        assert!(!key.verifies(b"message", b"not DER"));
        let other = PublicKey::from_verifying_key(*signing_key(8).verifying_key()).unwrap();
        assert!(!other.verifies(b"message", der.as_bytes()));
        assert_ne!(other.fingerprint(), key.fingerprint());
        assert!(PublicKey::parse(b"-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----")
            .is_err());
    }
}
