//! Where transcripts and logs go: the KMS key, the S3 bucket, the CloudWatch log group.

use aws_sdk_s3::types as s3;

use super::*;

impl Provisioner<'_> {
    // ---- KMS -------------------------------------------------------------------------------

    async fn put_key_policy(&self, p: &Properties, n: &Names, key_id: &str) -> Step<()> {
        self.c
            .kms
            .put_key_policy()
            .key_id(key_id)
            .policy_name("default")
            .policy(policies::key_policy(p, n, &self.place).to_string())
            .send()
            .await
            .step("kms:PutKeyPolicy")?;
        Ok(())
    }

    pub(super) async fn ensure_key(
        &self,
        p: &Properties,
        n: &Names,
        id: &str,
        ledger: &Ledger,
    ) -> Step<String> {
        if let Some(arn) = &p.kms_key_arn {
            return Ok(arn.clone());
        }
        let kms = &self.c.kms;
        match kms.describe_key().key_id(&n.key_alias).send().await.map_err(AwsError::from) {
            Ok(found) => {
                let meta =
                    found.key_metadata().ok_or_else(|| at("kms:DescribeKey")("no key metadata"))?;
                let tags = kms
                    .list_resource_tags()
                    .key_id(meta.key_id())
                    .send()
                    .await
                    .step("kms:ListResourceTags")?;
                let ours =
                    tags.tags().iter().any(|t| t.tag_key() == TAG_RESOURCE && t.tag_value() == id);
                if !ours {
                    return Err(foreign(
                        "kms:CreateAlias",
                        &format!("key alias {}", n.key_alias),
                        id,
                    ));
                }
                // Ours: its policy follows the properties (an organization added or removed).
                self.put_key_policy(p, n, meta.key_id()).await?;
                return Ok(meta.arn().unwrap_or_default().to_string());
            }
            Err(e) if e.is(&["NotFoundException"]) => {}
            Err(e) => return Err(StepError::aws("kms:DescribeKey", e)),
        }
        let tag = aws_sdk_kms::types::Tag::builder()
            .tag_key(TAG_RESOURCE)
            .tag_value(id)
            .build()
            .map_err(at("kms:CreateKey"))?;
        let created = kms
            .create_key()
            .description(format!(
                "Session Audit: Session Manager transcripts and logs ({})",
                p.name_prefix
            ))
            .tags(tag)
            .send()
            .await
            .step("kms:CreateKey")?;
        let meta = created.key_metadata().ok_or_else(|| at("kms:CreateKey")("no key metadata"))?;
        let (key_id, arn) = (meta.key_id().to_string(), meta.arn().unwrap_or_default().to_string());
        ledger.add(Made::Key(key_id.clone()));
        // Created with the default key policy, then given ours: KMS's lockout check then runs
        // on a key that exists and carries our tag, which is what the role's PutKeyPolicy
        // grant is conditioned on (a policy passed to CreateKey is checked before that).
        self.put_key_policy(p, n, &key_id).await?;
        kms.enable_key_rotation().key_id(&key_id).send().await.step("kms:EnableKeyRotation")?;
        kms.create_alias()
            .alias_name(&n.key_alias)
            .target_key_id(&key_id)
            .send()
            .await
            .step("kms:CreateAlias")?;
        ledger.add(Made::Alias(n.key_alias.clone()));
        Ok(arn)
    }

    // ---- S3 and CloudWatch Logs ----------------------------------------------------------

    pub(super) async fn ensure_bucket(
        &self,
        p: &Properties,
        n: &Names,
        id: &str,
        key_arn: &str,
        ledger: &Ledger,
    ) -> Step<()> {
        let s3c = &self.c.s3;
        match s3c.get_bucket_tagging().bucket(&n.bucket).send().await.map_err(AwsError::from) {
            Ok(tags) => {
                if !tags.tag_set().iter().any(|t| t.key() == TAG_RESOURCE && t.value() == id) {
                    return Err(foreign("s3:CreateBucket", &format!("bucket {}", n.bucket), id));
                }
            }
            Err(e) if e.is(&["NoSuchBucket"]) => {
                // Object Lock is switched on at creation (it cannot be turned off later).
                let mut create = s3c
                    .create_bucket()
                    .bucket(&n.bucket)
                    .object_lock_enabled_for_bucket(p.object_lock_days > 0);
                if self.place.region != "us-east-1" {
                    let constraint = s3::BucketLocationConstraint::from(self.place.region.as_str());
                    create = create.create_bucket_configuration(
                        s3::CreateBucketConfiguration::builder()
                            .location_constraint(constraint)
                            .build(),
                    );
                }
                create.send().await.step("s3:CreateBucket")?;
                ledger.add(Made::Bucket(n.bucket.clone()));
            }
            Err(e) if e.is(&["NoSuchTagSet"]) => {
                return Err(foreign("s3:CreateBucket", &format!("bucket {}", n.bucket), id));
            }
            Err(e) => return Err(StepError::aws("s3:GetBucketTagging", e)),
        }
        // The RetainLogs choice is recorded here for the Delete (which never trusts its own
        // request's properties), with the tag that makes the bucket ours.
        let tag = |key: &str, value: &str| {
            s3::Tag::builder().key(key).value(value).build().map_err(at("s3:PutBucketTagging"))
        };
        let tagging = s3::Tagging::builder()
            .tag_set(tag(TAG_RESOURCE, id)?)
            .tag_set(tag(TAG_RETAIN, if p.retain_logs { "true" } else { "false" })?)
            .build()
            .map_err(at("s3:PutBucketTagging"))?;
        s3c.put_bucket_tagging()
            .bucket(&n.bucket)
            .tagging(tagging)
            .send()
            .await
            .step("s3:PutBucketTagging")?;
        let rule = s3::ServerSideEncryptionRule::builder()
            .apply_server_side_encryption_by_default(
                s3::ServerSideEncryptionByDefault::builder()
                    .sse_algorithm(s3::ServerSideEncryption::AwsKms)
                    .kms_master_key_id(key_arn)
                    .build()
                    .map_err(at("s3:PutBucketEncryption"))?,
            )
            .bucket_key_enabled(true)
            .build();
        let encryption = s3::ServerSideEncryptionConfiguration::builder()
            .rules(rule)
            .build()
            .map_err(at("s3:PutBucketEncryption"))?;
        s3c.put_bucket_encryption()
            .bucket(&n.bucket)
            .server_side_encryption_configuration(encryption)
            .send()
            .await
            .step("s3:PutBucketEncryption")?;
        let versioning = s3::VersioningConfiguration::builder()
            .status(s3::BucketVersioningStatus::Enabled)
            .build();
        s3c.put_bucket_versioning()
            .bucket(&n.bucket)
            .versioning_configuration(versioning)
            .send()
            .await
            .step("s3:PutBucketVersioning")?;
        if p.object_lock_days > 0 && !self.locked_for(&n.bucket, p.object_lock_days).await {
            // Governance mode: an administrator with s3:BypassGovernanceRetention can still
            // remove versions early; nobody in a session can.
            let retention = s3::DefaultRetention::builder()
                .mode(s3::ObjectLockRetentionMode::Governance)
                .days(i32::try_from(p.object_lock_days).unwrap_or(i32::MAX))
                .build();
            let lock = s3::ObjectLockConfiguration::builder()
                .object_lock_enabled(s3::ObjectLockEnabled::Enabled)
                .rule(s3::ObjectLockRule::builder().default_retention(retention).build())
                .build();
            s3c.put_object_lock_configuration()
                .bucket(&n.bucket)
                .object_lock_configuration(lock)
                .send()
                .await
                .step("s3:PutObjectLockConfiguration")?;
        }
        let block = s3::PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(true)
            .build();
        s3c.put_public_access_block()
            .bucket(&n.bucket)
            .public_access_block_configuration(block)
            .send()
            .await
            .step("s3:PutPublicAccessBlock")?;
        // Uploads reach session-report through EventBridge (`Object Created`), which the
        // template's rule matches by this bucket's name.
        let notifications = s3::NotificationConfiguration::builder()
            .event_bridge_configuration(s3::EventBridgeConfiguration::builder().build())
            .build();
        s3c.put_bucket_notification_configuration()
            .bucket(&n.bucket)
            .notification_configuration(notifications)
            .send()
            .await
            .step("s3:PutBucketNotificationConfiguration")?;
        let tls = p.enforce_tls && self.options.tls_policy_allowed;
        if let Some(policy) = policies::bucket_policy(p, n, &self.place, tls) {
            s3c.put_bucket_policy()
                .bucket(&n.bucket)
                .policy(policy.to_string())
                .send()
                .await
                .step("s3:PutBucketPolicy")?;
        } else {
            match s3c.delete_bucket_policy().bucket(&n.bucket).send().await.map_err(AwsError::from)
            {
                Ok(_) => {}
                Err(e) if e.is(&["NoSuchBucketPolicy"]) => {}
                Err(e) => return Err(StepError::aws("s3:DeleteBucketPolicy", e)),
            }
        }
        Ok(())
    }

    #[allow(deprecated)] // ListTagsLogGroup: the emulator lacks ListTagsForResource for logs
    pub(super) async fn ensure_log_group(
        &self,
        p: &Properties,
        n: &Names,
        id: &str,
        key_arn: &str,
        ledger: &Ledger,
    ) -> Step<()> {
        let logs = &self.c.logs;
        let created = logs
            .create_log_group()
            .log_group_name(&n.log_group)
            .kms_key_id(key_arn)
            .tags(TAG_RESOURCE, id)
            .send()
            .await
            .map_err(AwsError::from);
        match created {
            Ok(_) => ledger.add(Made::LogGroup(n.log_group.clone())),
            Err(e) if e.is(&["ResourceAlreadyExistsException"]) => {
                let tags = logs
                    .list_tags_log_group()
                    .log_group_name(&n.log_group)
                    .send()
                    .await
                    .step("logs:ListTagsLogGroup")?;
                if tags.tags().and_then(|t| t.get(TAG_RESOURCE)).map(String::as_str) != Some(id) {
                    return Err(foreign(
                        "logs:CreateLogGroup",
                        &format!("log group {}", n.log_group),
                        id,
                    ));
                }
                let described = logs
                    .describe_log_groups()
                    .log_group_name_prefix(&n.log_group)
                    .send()
                    .await
                    .step("logs:DescribeLogGroups")?;
                let current = described
                    .log_groups()
                    .iter()
                    .find(|g| g.log_group_name() == Some(n.log_group.as_str()))
                    .and_then(|g| g.kms_key_id());
                if current != Some(key_arn) {
                    logs.associate_kms_key()
                        .log_group_name(&n.log_group)
                        .kms_key_id(key_arn)
                        .send()
                        .await
                        .step("logs:AssociateKmsKey")?;
                }
            }
            Err(e) => return Err(StepError::aws("logs:CreateLogGroup", e)),
        }
        // Credentials the stream carries are masked wherever the group is read from, except
        // by a reader granted logs:Unmask (session-report, to compare the channels).
        logs.put_data_protection_policy()
            .log_group_identifier(&n.log_group)
            .policy_document(policies::data_protection_policy(&self.place).to_string())
            .send()
            .await
            .step("logs:PutDataProtectionPolicy")?;
        let days = i32::try_from(p.log_retention_days).unwrap_or(30);
        logs.put_retention_policy()
            .log_group_name(&n.log_group)
            .retention_in_days(days)
            .send()
            .await
            .step("logs:PutRetentionPolicy")?;
        Ok(())
    }

    /// Whether the bucket's default retention is already governance for `days` (set only
    /// when it is not: an unchanged Update touches nothing).
    async fn locked_for(&self, bucket: &str, days: u32) -> bool {
        let current = self.c.s3.get_object_lock_configuration().bucket(bucket).send().await;
        let retention = current
            .ok()
            .and_then(|o| o.object_lock_configuration()?.rule()?.default_retention().cloned());
        retention.is_some_and(|r| {
            r.mode() == Some(&s3::ObjectLockRetentionMode::Governance)
                && r.days() == i32::try_from(days).ok()
        })
    }

    /// Every object version and delete marker, then the bucket (`RetainLogs=false` only).
    /// Versions under Object Lock cannot be deleted before their retention ends: they and the
    /// bucket are kept (said in the log), and the Delete still succeeds.
    pub(super) async fn empty_and_delete_bucket(&self, bucket: &str) -> Step<()> {
        let s3c = &self.c.s3;
        let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
        let mut kept = 0usize;
        let mut first_refusal = None;
        loop {
            let page = s3c
                .list_object_versions()
                .bucket(bucket)
                .max_keys(1000)
                .set_key_marker(key_marker.clone())
                .set_version_id_marker(version_marker.clone())
                .send()
                .await
                .step("s3:ListObjectVersions")?;
            let versions = page.versions().iter().map(|v| (v.key(), v.version_id()));
            let markers = page.delete_markers().iter().map(|m| (m.key(), m.version_id()));
            let ids: Vec<s3::ObjectIdentifier> = versions
                .chain(markers)
                .map(|(key, version)| {
                    s3::ObjectIdentifier::builder()
                        .key(key.unwrap_or_default())
                        .set_version_id(version.map(str::to_string))
                        .build()
                        .expect("key set")
                })
                .collect();
            if !ids.is_empty() {
                let delete = s3::Delete::builder()
                    .set_objects(Some(ids))
                    .quiet(true)
                    .build()
                    .expect("objects set");
                let out = s3c
                    .delete_objects()
                    .bucket(bucket)
                    .delete(delete)
                    .send()
                    .await
                    .step("s3:DeleteObjects")?;
                kept += out.errors().len();
                if let Some(e) = out.errors().first().filter(|_| first_refusal.is_none()) {
                    first_refusal = Some(format!(
                        "{}: {}",
                        e.code().unwrap_or("refused"),
                        e.message().unwrap_or_default()
                    ));
                }
            }
            if page.is_truncated() != Some(true) {
                break;
            }
            key_marker = page.next_key_marker().map(str::to_string);
            version_marker = page.next_version_id_marker().map(str::to_string);
        }
        if kept > 0 {
            tracing::warn!(
                bucket,
                kept,
                first = first_refusal.as_deref().unwrap_or(""),
                "versions S3 refused to delete (Object Lock retention) are kept, and the bucket with them"
            );
            return Ok(());
        }
        s3c.delete_bucket().bucket(bucket).send().await.step("s3:DeleteBucket")?;
        Ok(())
    }
}
