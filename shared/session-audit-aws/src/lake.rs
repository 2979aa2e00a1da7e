//! Security Lake as the export writes to it: the events filed as Parquet objects
//! (`session-audit-lake`) and put into the lake bucket, each OCSF class with its own S3
//! client. In Security Lake each class is a custom source whose provider role the function
//! assumes (with the source's external ID); without roles the objects go into the audit bucket
//! under `ocsf/`, in the same layout, for Athena or a copy job.

use std::collections::BTreeMap;

use aws_sdk_s3::primitives::ByteStream;
use session_audit::lake_export::LakeExport;
use session_audit::ocsf::Class;
use session_audit::ports::lake::{LakeWriteError, LakeWriter};
use session_audit::settings::{LakeSettings, LakeTarget};

use crate::s3_store::S3Store;
use crate::{AwsError, Clients};

/// The export as the function runs it: from the audit bucket into the lake.
pub type AwsLakeExport = LakeExport<S3Store, S3Lake>;

/// Parquet objects into one bucket, a client per class.
#[derive(Debug, Clone)]
pub struct S3Lake {
    /// The bucket.
    pub bucket: String,
    /// The prefix the layout starts under (`ocsf/` in the audit bucket, empty in the lake's).
    pub prefix: String,
    /// Each class's client (its provider role's credentials in Security Lake).
    pub clients: BTreeMap<Class, aws_sdk_s3::Client>,
}

impl LakeWriter for S3Lake {
    async fn write(
        &self,
        events: &[serde_json::Value],
        name: &str,
    ) -> Result<Vec<String>, LakeWriteError> {
        let objects = session_audit_lake::objects(events, &self.prefix, name)
            .map_err(|e| LakeWriteError(e.to_string()))?;
        let mut keys = Vec::with_capacity(objects.len());
        for o in objects {
            let client = &self.clients[&o.class];
            client
                .put_object()
                .bucket(&self.bucket)
                .key(&o.key)
                .content_type("application/vnd.apache.parquet")
                .body(ByteStream::from(o.bytes))
                .send()
                .await
                .map_err(|e| {
                    let e = AwsError::from(e);
                    LakeWriteError(format!("s3://{}/{}: {e}", self.bucket, o.key))
                })?;
            keys.push(o.key);
        }
        Ok(keys)
    }
}

/// The export of `settings`: the audit bucket read with `clients`, the lake written with each
/// class's role (assumed from `sdk`) or, without roles, with `clients` into the audit bucket.
pub async fn lake_export(
    sdk: &aws_config::SdkConfig,
    clients: &Clients,
    settings: LakeSettings,
) -> AwsLakeExport {
    let (bucket, prefix, mut per_class) = match settings.target {
        LakeTarget::AuditBucket => {
            (settings.audit_bucket.clone(), "ocsf/".to_string(), BTreeMap::new())
        }
        LakeTarget::SecurityLake { bucket, roles, external_id } => {
            let mut per_class = BTreeMap::new();
            for (class, role) in roles {
                let provider = aws_config::sts::AssumeRoleProvider::builder(role)
                    .external_id(&external_id)
                    .session_name("session-audit-lake-export")
                    .configure(sdk)
                    .build()
                    .await;
                let config = sdk.to_builder().credentials_provider(
                    aws_sdk_s3::config::SharedCredentialsProvider::new(provider),
                );
                per_class.insert(class, Clients::s3_client(&config.build(), clients.s3_path_style));
            }
            (bucket, String::new(), per_class)
        }
    };
    for class in Class::ALL {
        per_class.entry(class).or_insert_with(|| clients.s3.clone());
    }
    LakeExport {
        store: S3Store::new(clients.s3.clone(), settings.audit_bucket),
        lake: S3Lake { bucket, prefix, clients: per_class },
        options: settings.options,
    }
}
