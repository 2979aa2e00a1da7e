//! The digest chain as the function runs it: the engine's use case over the log bucket, signed
//! by the stack's KMS key (ECC_NIST_P256, SIGN_VERIFY), whose private half never leaves KMS.

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use session_audit::audit_digest::AuditDigest;
use session_audit::ports::signer::{SignError, Signer};
use session_audit::settings::DigestSettings;

use crate::s3_store::S3Store;
use crate::{AwsError, Clients};

/// The digest chain as the function runs it: over S3, signed by KMS.
pub type AwsAuditDigest = AuditDigest<S3Store, KmsSigner>;

/// The chain of the settings' bucket, signed by their key.
pub fn audit_digest(clients: &Clients, settings: DigestSettings) -> AwsAuditDigest {
    AuditDigest {
        store: S3Store::new(clients.s3.clone(), settings.audit_bucket.clone()),
        signer: KmsSigner { kms: clients.kms.clone(), key_id: settings.signing_key },
        bucket: settings.audit_bucket,
        options: settings.options,
    }
}

/// An asymmetric KMS key signing with `ECDSA_SHA_256` over the raw message (KMS hashes it).
#[derive(Debug, Clone)]
pub struct KmsSigner {
    /// The KMS client.
    pub kms: aws_sdk_kms::Client,
    /// The key's ARN.
    pub key_id: String,
}

impl KmsSigner {
    fn error(&self, e: AwsError) -> SignError {
        SignError { key_id: self.key_id.clone(), code: e.code, message: e.message }
    }

    fn refuse(&self, message: String) -> SignError {
        SignError { key_id: self.key_id.clone(), code: None, message }
    }
}

impl Signer for KmsSigner {
    fn key_id(&self) -> &str {
        &self.key_id
    }

    async fn public_key(&self) -> Result<Vec<u8>, SignError> {
        let out = self.kms.get_public_key().key_id(&self.key_id).send().await;
        let out = out.map_err(|e| self.error(e.into()))?;
        // A key of another kind would sign what verifiers cannot check: refuse it up front
        // (the engine reads the DER as P-256 only, so an RSA or P-384 key is refused there).
        if !out.signing_algorithms().contains(&SigningAlgorithmSpec::EcdsaSha256) {
            return Err(self.refuse("the key does not sign with ECDSA_SHA_256".into()));
        }
        let der = out.public_key().ok_or_else(|| self.refuse("no public key returned".into()))?;
        Ok(der.as_ref().to_vec())
    }

    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let out = self
            .kms
            .sign()
            .key_id(&self.key_id)
            .message(Blob::new(message))
            .message_type(MessageType::Raw)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await
            .map_err(|e| self.error(e.into()))?;
        let signature = out.signature().ok_or_else(|| self.refuse("no signature".into()))?;
        Ok(signature.as_ref().to_vec())
    }
}
