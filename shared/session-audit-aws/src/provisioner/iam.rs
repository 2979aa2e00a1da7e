//! IAM: the instance role and profile, and the users' ABAC policy.

use serde_json::Value;

use super::*;

impl Provisioner<'_> {
    // ---- IAM -------------------------------------------------------------------------------

    pub(super) async fn ensure_user_policy(
        &self,
        p: &Properties,
        n: &Names,
        id: &str,
        ledger: &Ledger,
    ) -> Step<String> {
        let iam = &self.c.iam;
        let arn = n.user_policy_arn(&self.place);
        let document = policies::user_policy(p, &self.place);
        match iam.get_policy().policy_arn(&arn).send().await.map_err(AwsError::from) {
            Ok(found) => {
                let policy = found.policy().ok_or_else(|| at("iam:GetPolicy")("no policy"))?;
                let tags = iam
                    .list_policy_tags()
                    .policy_arn(&arn)
                    .send()
                    .await
                    .step("iam:ListPolicyTags")?;
                if !tags.tags().iter().any(|t| t.key() == TAG_RESOURCE && t.value() == id) {
                    return Err(foreign(
                        "iam:CreatePolicy",
                        &format!("policy {}", n.user_policy),
                        id,
                    ));
                }
                let version = policy.default_version_id().unwrap_or_default();
                let current = iam
                    .get_policy_version()
                    .policy_arn(&arn)
                    .version_id(version)
                    .send()
                    .await
                    .step("iam:GetPolicyVersion")?;
                let text = current.policy_version().and_then(|v| v.document()).unwrap_or_default();
                let decoded = urlencoding::decode(text)
                    .map(|c| c.into_owned())
                    .unwrap_or_else(|_| text.to_string());
                if serde_json::from_str::<Value>(&decoded).ok() != Some(document.clone()) {
                    self.replace_policy_version(&arn, &document).await?;
                }
                Ok(arn)
            }
            Err(e) if e.is(&["NoSuchEntity"]) => {
                let tag = aws_sdk_iam::types::Tag::builder()
                    .key(TAG_RESOURCE)
                    .value(id)
                    .build()
                    .map_err(at("iam:CreatePolicy"))?;
                let out = iam
                    .create_policy()
                    .policy_name(&n.user_policy)
                    .description("Session Manager access to instances carrying the access tag (Session Audit)")
                    .policy_document(document.to_string())
                    .tags(tag)
                    .send()
                    .await
                    .step("iam:CreatePolicy")?;
                let arn = out.policy().and_then(|x| x.arn()).unwrap_or(&arn).to_string();
                ledger.add(Made::UserPolicy(arn.clone()));
                Ok(arn)
            }
            Err(e) => Err(StepError::aws("iam:GetPolicy", e)),
        }
    }

    /// A new default version; the oldest non-default one goes when the limit of five is near.
    pub(super) async fn replace_policy_version(&self, arn: &str, document: &Value) -> Step<()> {
        let iam = &self.c.iam;
        let versions = iam
            .list_policy_versions()
            .policy_arn(arn)
            .send()
            .await
            .step("iam:ListPolicyVersions")?;
        let mut old: Vec<_> =
            versions.versions().iter().filter(|v| !v.is_default_version()).collect();
        old.sort_by_key(|v| v.create_date().map(|d| d.secs()).unwrap_or(0));
        if versions.versions().len() >= 5 {
            if let Some(v) = old.first().and_then(|v| v.version_id()) {
                iam.delete_policy_version()
                    .policy_arn(arn)
                    .version_id(v)
                    .send()
                    .await
                    .step("iam:DeletePolicyVersion")?;
            }
        }
        iam.create_policy_version()
            .policy_arn(arn)
            .policy_document(document.to_string())
            .set_as_default(true)
            .send()
            .await
            .step("iam:CreatePolicyVersion")?;
        Ok(())
    }

    pub(super) async fn ensure_role_and_profile(
        &self,
        n: &Names,
        id: &str,
        ledger: &Ledger,
    ) -> Step<()> {
        let iam = &self.c.iam;
        let tag = || aws_sdk_iam::types::Tag::builder().key(TAG_RESOURCE).value(id).build();
        match iam.get_role().role_name(&n.role).send().await.map_err(AwsError::from) {
            Ok(found) => {
                let ours = found.role().is_some_and(|r| {
                    r.tags().iter().any(|t| t.key() == TAG_RESOURCE && t.value() == id)
                });
                if !ours {
                    return Err(foreign("iam:CreateRole", &format!("role {}", n.role), id));
                }
            }
            Err(e) if e.is(&["NoSuchEntity"]) => {
                iam.create_role()
                    .role_name(&n.role)
                    .description("Session Manager managed instance (Session Audit)")
                    .assume_role_policy_document(policies::ec2_trust_policy().to_string())
                    .tags(tag().map_err(at("iam:CreateRole"))?)
                    .send()
                    .await
                    .step("iam:CreateRole")?;
                ledger.add(Made::Role(n.role.clone()));
            }
            Err(e) => return Err(StepError::aws("iam:GetRole", e)),
        }
        let core = format!("arn:{}:iam::aws:policy/{MANAGED_CORE_POLICY}", self.place.partition);
        iam.attach_role_policy()
            .role_name(&n.role)
            .policy_arn(core)
            .send()
            .await
            .step("iam:AttachRolePolicy")?;
        let profile = match iam
            .get_instance_profile()
            .instance_profile_name(&n.instance_profile)
            .send()
            .await
            .map_err(AwsError::from)
        {
            Ok(found) => found.instance_profile().cloned(),
            Err(e) if e.is(&["NoSuchEntity"]) => {
                let out = iam
                    .create_instance_profile()
                    .instance_profile_name(&n.instance_profile)
                    .tags(tag().map_err(at("iam:CreateInstanceProfile"))?)
                    .send()
                    .await
                    .step("iam:CreateInstanceProfile")?;
                ledger.add(Made::Profile(n.instance_profile.clone()));
                out.instance_profile().cloned()
            }
            Err(e) => return Err(StepError::aws("iam:GetInstanceProfile", e)),
        };
        let has_role =
            profile.as_ref().is_some_and(|ip| ip.roles().iter().any(|r| r.role_name() == n.role));
        if !has_role {
            iam.add_role_to_instance_profile()
                .instance_profile_name(&n.instance_profile)
                .role_name(&n.role)
                .send()
                .await
                .step("iam:AddRoleToInstanceProfile")?;
        }
        Ok(())
    }

    pub(super) async fn put_role_policy(
        &self,
        p: &Properties,
        n: &Names,
        key_arn: &str,
    ) -> Step<()> {
        let document = policies::instance_role_policy(p, n, &self.place, key_arn);
        self.c
            .iam
            .put_role_policy()
            .role_name(&n.role)
            .policy_name(INLINE_POLICY)
            .policy_document(document.to_string())
            .send()
            .await
            .step("iam:PutRolePolicy")?;
        Ok(())
    }

    pub(super) async fn delete_policy(&self, arn: &str) -> Step<()> {
        let iam = &self.c.iam;
        // People are given the user policy (README): IAM refuses to delete a policy that is
        // still attached (DeleteConflict), so it is taken from every user, group and role first.
        let mut pages = iam.list_entities_for_policy().policy_arn(arn).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.step("iam:ListEntitiesForPolicy")?;
            for user in page.policy_users().iter().filter_map(|u| u.user_name()) {
                let detach = iam.detach_user_policy().user_name(user).policy_arn(arn).send();
                detach.await.step("iam:DetachUserPolicy")?;
            }
            for group in page.policy_groups().iter().filter_map(|g| g.group_name()) {
                let detach = iam.detach_group_policy().group_name(group).policy_arn(arn).send();
                detach.await.step("iam:DetachGroupPolicy")?;
            }
            for role in page.policy_roles().iter().filter_map(|r| r.role_name()) {
                let detach = iam.detach_role_policy().role_name(role).policy_arn(arn).send();
                detach.await.step("iam:DetachRolePolicy")?;
            }
        }
        let versions = iam
            .list_policy_versions()
            .policy_arn(arn)
            .send()
            .await
            .step("iam:ListPolicyVersions")?;
        for v in versions.versions().iter().filter(|v| !v.is_default_version()) {
            if let Some(id) = v.version_id() {
                iam.delete_policy_version()
                    .policy_arn(arn)
                    .version_id(id)
                    .send()
                    .await
                    .step("iam:DeletePolicyVersion")?;
            }
        }
        iam.delete_policy().policy_arn(arn).send().await.step("iam:DeletePolicy")?;
        Ok(())
    }

    pub(super) async fn delete_profile(&self, name: &str) -> Step<()> {
        let iam = &self.c.iam;
        let profile = iam
            .get_instance_profile()
            .instance_profile_name(name)
            .send()
            .await
            .step("iam:GetInstanceProfile")?;
        for role in profile.instance_profile().map(|p| p.roles()).unwrap_or_default() {
            iam.remove_role_from_instance_profile()
                .instance_profile_name(name)
                .role_name(role.role_name())
                .send()
                .await
                .step("iam:RemoveRoleFromInstanceProfile")?;
        }
        iam.delete_instance_profile()
            .instance_profile_name(name)
            .send()
            .await
            .step("iam:DeleteInstanceProfile")?;
        Ok(())
    }

    pub(super) async fn delete_role(&self, name: &str) -> Step<()> {
        let iam = &self.c.iam;
        let attached = iam
            .list_attached_role_policies()
            .role_name(name)
            .send()
            .await
            .step("iam:ListAttachedRolePolicies")?;
        for policy in attached.attached_policies() {
            if let Some(arn) = policy.policy_arn() {
                iam.detach_role_policy()
                    .role_name(name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .step("iam:DetachRolePolicy")?;
            }
        }
        let inline =
            iam.list_role_policies().role_name(name).send().await.step("iam:ListRolePolicies")?;
        for policy in inline.policy_names() {
            iam.delete_role_policy()
                .role_name(name)
                .policy_name(policy)
                .send()
                .await
                .step("iam:DeleteRolePolicy")?;
        }
        iam.delete_role().role_name(name).send().await.step("iam:DeleteRole")?;
        Ok(())
    }
}
