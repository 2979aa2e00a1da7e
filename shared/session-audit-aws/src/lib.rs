//! Session Audit's AWS side: thin adapters over the AWS SDK that plug into the engine's seams
//! (the S3 [`s3_store::S3Store`], the findings sink [`findings::FindingsOut`] (EventBridge, and
//! Security Hub when turned on), the EC2/SSM
//! lookups of the start audit), the custom-resource protocol and the provisioner's steps, the
//! settings the functions read from the environment and SSM, and the Lambda error contract.
//! Everything here is exercised against the local emulator (moto) by the tests crate; the
//! engine never depends on this crate (Cargo enforces it).

pub mod access_summary;
pub mod audit_digest;
pub mod config_rule;
pub mod custom_resource;
pub mod eventbridge;
pub mod findings;
pub mod guardduty;
pub mod lake;
pub mod provisioner;
pub mod s3_store;
pub mod security_hub;
pub mod session_log;
pub mod session_report;
pub mod session_start;
pub mod session_stream;
pub mod settings;

use session_audit::{Failure, FailureKind};

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::error::SdkError;

/// The SDK clients a function needs, built once in `main` and borrowed by every invocation.
#[derive(Clone, Debug)]
pub struct Clients {
    /// S3: the audit store, transcripts, the rule pack.
    pub s3: aws_sdk_s3::Client,
    /// EC2: targets' tags, the provisioner's instance.
    pub ec2: aws_sdk_ec2::Client,
    /// IAM: the provisioner's role, profile and user policy.
    pub iam: aws_sdk_iam::Client,
    /// KMS: the provisioner's key.
    pub kms: aws_sdk_kms::Client,
    /// CloudWatch Logs: the transcript log group and the sessions' streams.
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// SSM: preferences, documents, parameters, managed nodes' tags.
    pub ssm: aws_sdk_ssm::Client,
    /// EventBridge: finding events.
    pub events: aws_sdk_eventbridge::Client,
    /// Secrets Manager: the redaction key the stack generated.
    pub secrets: aws_sdk_secretsmanager::Client,
    /// Security Hub: findings imported when the stack turns it on.
    pub securityhub: aws_sdk_securityhub::Client,
    /// Whether S3 is addressed path-style (the emulator), for clients made later.
    pub s3_path_style: bool,
}

/// `S3_FORCE_PATH_STYLE=true` addresses buckets as `endpoint/bucket/key`, which the local
/// emulator needs. Unset (as in AWS) the SDK's virtual-hosted default is kept.
pub const S3_PATH_STYLE_ENV: &str = "S3_FORCE_PATH_STYLE";

impl Clients {
    /// Every client from one SDK configuration (`S3_FORCE_PATH_STYLE=true` for the emulator).
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        let path_style = std::env::var(S3_PATH_STYLE_ENV).is_ok_and(|v| v == "true" || v == "1");
        Self::with_path_style(config, path_style)
    }

    /// As [`Clients::new`], with S3 path-style addressing chosen explicitly.
    pub fn with_path_style(config: &aws_config::SdkConfig, path_style: bool) -> Self {
        Clients {
            s3: Clients::s3_client(config, path_style),
            ec2: aws_sdk_ec2::Client::new(config),
            iam: aws_sdk_iam::Client::new(config),
            kms: aws_sdk_kms::Client::new(config),
            logs: aws_sdk_cloudwatchlogs::Client::new(config),
            ssm: aws_sdk_ssm::Client::new(config),
            events: aws_sdk_eventbridge::Client::new(config),
            secrets: aws_sdk_secretsmanager::Client::new(config),
            securityhub: aws_sdk_securityhub::Client::new(config),
            s3_path_style: path_style,
        }
    }

    /// An S3 client from `config` (path-style addressing when asked).
    pub fn s3_client(config: &aws_config::SdkConfig, path_style: bool) -> aws_sdk_s3::Client {
        let s3_config =
            aws_sdk_s3::config::Builder::from(config).force_path_style(path_style).build();
        aws_sdk_s3::Client::from_conf(s3_config)
    }
}

/// A failed AWS call, with the service's error code when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    /// The service's error code, when it gave one.
    pub code: Option<String>,
    /// The message, with the code when there is one.
    pub message: String,
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{code}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl<E, R> From<SdkError<E, R>> for AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    fn from(e: SdkError<E, R>) -> Self {
        let code = e.code().map(str::to_string);
        let message = match e.message() {
            Some(m) => m.to_string(),
            None => aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
        };
        AwsError { code, message }
    }
}

impl AwsError {
    /// True when the error code is one of `codes`.
    pub fn is(&self, codes: &[&str]) -> bool {
        self.code.as_deref().is_some_and(|c| codes.contains(&c))
    }
}

/// The Lambda error for a failed invocation: `errorType` names what failed
/// (`MalformedEvent`, `S3Error`, `EventBridgeError`), `errorMessage` says where and why.
pub fn diagnostic<E: Failure>(e: E) -> lambda_runtime::Diagnostic {
    let error_type = match e.kind() {
        FailureKind::MalformedEvent => "MalformedEvent",
        FailureKind::Store => "S3Error",
        FailureKind::Sink => "EventBridgeError",
        FailureKind::Signer => "KmsError",
        FailureKind::Evidence => "EvidenceTampered",
        FailureKind::Lake => "SecurityLakeError",
        FailureKind::Lookup => "ServiceError",
    };
    tracing::error!(error_type, error = %e, "invocation failed");
    lambda_runtime::Diagnostic { error_type: error_type.into(), error_message: e.to_string() }
}
