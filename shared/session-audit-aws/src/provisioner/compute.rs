//! EC2: the AMI and network, the no-ingress security group, the instance, registration.

use aws_sdk_ec2::types as ec2;

use super::*;

impl Provisioner<'_> {
    // ---- lookups ---------------------------------------------------------------------------

    pub(super) async fn resolve_image(&self, p: &Properties) -> Step<String> {
        if p.ami_parameter.starts_with("ami-") {
            return Ok(p.ami_parameter.clone());
        }
        let out = self
            .c
            .ssm
            .get_parameter()
            .name(&p.ami_parameter)
            .send()
            .await
            .step("ssm:GetParameter (AMI)")?;
        out.parameter().and_then(|x| x.value()).map(str::to_string).ok_or_else(|| {
            at("ssm:GetParameter (AMI)")(format!("{} has no value", p.ami_parameter))
        })
    }

    pub(super) async fn resolve_network(&self, p: &Properties) -> Step<(String, Option<String>)> {
        let ec2c = &self.c.ec2;
        if let Some(subnet) = &p.subnet_id {
            let out = ec2c
                .describe_subnets()
                .subnet_ids(subnet)
                .send()
                .await
                .step("ec2:DescribeSubnets")?;
            let vpc =
                out.subnets().first().and_then(|s| s.vpc_id()).ok_or_else(|| {
                    at("ec2:DescribeSubnets")(format!("subnet {subnet} not found"))
                })?;
            return Ok((vpc.to_string(), Some(subnet.clone())));
        }
        let filter = ec2::Filter::builder().name("isDefault").values("true").build();
        let out = ec2c.describe_vpcs().filters(filter).send().await.step("ec2:DescribeVpcs")?;
        let vpc = out.vpcs().first().and_then(|v| v.vpc_id()).ok_or_else(|| {
            at("ec2:DescribeVpcs")("this region has no default VPC; set the SubnetId property")
        })?;
        Ok((vpc.to_string(), None))
    }

    // ---- EC2 -------------------------------------------------------------------------------

    pub(super) async fn ensure_security_group(
        &self,
        n: &Names,
        id: &str,
        vpc_id: &str,
        ledger: &Ledger,
    ) -> Step<String> {
        let ec2c = &self.c.ec2;
        let filters = [
            ec2::Filter::builder().name("group-name").values(&n.security_group).build(),
            ec2::Filter::builder().name("vpc-id").values(vpc_id).build(),
        ];
        let found = ec2c
            .describe_security_groups()
            .set_filters(Some(filters.to_vec()))
            .send()
            .await
            .step("ec2:DescribeSecurityGroups")?;
        if let Some(group) = found.security_groups().first() {
            let ours =
                group.tags().iter().any(|t| t.key() == Some(TAG_RESOURCE) && t.value() == Some(id));
            if !ours {
                return Err(foreign(
                    "ec2:CreateSecurityGroup",
                    &format!("security group {}", n.security_group),
                    id,
                ));
            }
            return Ok(group.group_id().unwrap_or_default().to_string());
        }
        let tags = ec2::TagSpecification::builder()
            .resource_type(ec2::ResourceType::SecurityGroup)
            .tags(ec2::Tag::builder().key(TAG_RESOURCE).value(id).build())
            .tags(ec2::Tag::builder().key("Name").value(&n.security_group).build())
            .build();
        let out = ec2c
            .create_security_group()
            .group_name(&n.security_group)
            .description("No inbound rules: Session Manager needs none (Session Audit)")
            .vpc_id(vpc_id)
            .tag_specifications(tags)
            .send()
            .await
            .step("ec2:CreateSecurityGroup")?;
        let group_id = out.group_id().unwrap_or_default().to_string();
        ledger.add(Made::SecurityGroup(group_id.clone()));
        Ok(group_id)
    }

    pub(super) async fn our_instances(&self, id: &str) -> Step<Vec<ec2::Instance>> {
        let filters = vec![
            ec2::Filter::builder().name(format!("tag:{TAG_RESOURCE}")).values(id).build(),
            ec2::Filter::builder()
                .name("instance-state-name")
                .values("pending")
                .values("running")
                .values("stopping")
                .values("stopped")
                .build(),
        ];
        let out = self
            .c
            .ec2
            .describe_instances()
            .set_filters(Some(filters))
            .send()
            .await
            .step("ec2:DescribeInstances")?;
        Ok(out.reservations().iter().flat_map(|r| r.instances().iter().cloned()).collect())
    }

    pub(super) async fn ensure_instance(
        &self,
        p: &Properties,
        n: &Names,
        id: &str,
        f: &Facts,
        request_id: &str,
        ledger: &Ledger,
    ) -> Step<String> {
        let existing = self.our_instances(id).await?;
        let current = existing.iter().find(|i| {
            let source =
                i.tags().iter().find(|t| t.key() == Some(TAG_AMI_SOURCE)).and_then(|t| t.value());
            source.is_none_or(|s| s == p.ami_parameter)
                && f.subnet_id.as_deref().is_none_or(|s| i.subnet_id() == Some(s))
        });
        if let Some(instance) = current {
            let instance_id = instance.instance_id().unwrap_or_default().to_string();
            if instance.instance_type().map(|t| t.as_str()) != Some(p.instance_type.as_str()) {
                self.change_instance_type(&instance_id, &p.instance_type).await?;
            }
            self.c
                .ec2
                .modify_instance_metadata_options()
                .instance_id(&instance_id)
                .http_tokens(ec2::HttpTokensState::Required)
                .http_endpoint(ec2::InstanceMetadataEndpointState::Enabled)
                .send()
                .await
                .step("ec2:ModifyInstanceMetadataOptions")?;
            self.tag_access(&instance_id, p).await?;
            return Ok(instance_id);
        }
        // A different AmiParameter or subnet means a new instance; the old one goes once the
        // new one runs.
        let instance_id = self.run_instance(p, n, id, f, request_id).await?;
        ledger.add(Made::Instance(instance_id.clone()));
        let old: Vec<String> = existing
            .iter()
            .filter_map(|i| i.instance_id())
            .filter(|i| *i != instance_id)
            .map(str::to_string)
            .collect();
        if !old.is_empty() {
            self.c
                .ec2
                .terminate_instances()
                .set_instance_ids(Some(old))
                .send()
                .await
                .step("ec2:TerminateInstances")?;
        }
        Ok(instance_id)
    }

    pub(super) async fn tag_access(&self, instance_id: &str, p: &Properties) -> Step<()> {
        self.c
            .ec2
            .create_tags()
            .resources(instance_id)
            .tags(ec2::Tag::builder().key(&p.access_tag_key).value(&p.access_tag_value).build())
            .send()
            .await
            .step("ec2:CreateTags")?;
        Ok(())
    }

    pub(super) async fn run_instance(
        &self,
        p: &Properties,
        n: &Names,
        id: &str,
        f: &Facts,
        request_id: &str,
    ) -> Step<String> {
        let ec2c = &self.c.ec2;
        let image = ec2c
            .describe_images()
            .image_ids(&f.image_id)
            .send()
            .await
            .step("ec2:DescribeImages")?;
        let image = image.images().first();
        let root = image.and_then(|i| i.root_device_name()).unwrap_or("/dev/xvda").to_string();
        // The root volume keeps the AMI's size (AL2023: 8 GiB); it is stated because the
        // mapping replaces the AMI's own to turn encryption on.
        let size = image
            .and_then(|i| {
                i.block_device_mappings().iter().find(|m| m.device_name() == Some(root.as_str()))
            })
            .and_then(|m| m.ebs())
            .and_then(|e| e.volume_size())
            .unwrap_or(8);
        let tags = |kind| {
            ec2::TagSpecification::builder()
                .resource_type(kind)
                .tags(ec2::Tag::builder().key(TAG_RESOURCE).value(id).build())
                .tags(ec2::Tag::builder().key("Name").value(&n.instance).build())
                .tags(ec2::Tag::builder().key(&p.access_tag_key).value(&p.access_tag_value).build())
                .tags(ec2::Tag::builder().key(TAG_AMI_SOURCE).value(&p.ami_parameter).build())
                .build()
        };
        // Same request, same token: EC2 itself makes a redelivered RunInstances a no-op.
        let token: String = format!("{}-{}", request_id, f.image_id)
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(64)
            .collect();
        let started = tokio::time::Instant::now();
        loop {
            let mut run = ec2c
                .run_instances()
                .image_id(&f.image_id)
                .instance_type(ec2::InstanceType::from(p.instance_type.as_str()))
                .min_count(1)
                .max_count(1)
                .client_token(&token)
                .iam_instance_profile(
                    ec2::IamInstanceProfileSpecification::builder()
                        .name(&n.instance_profile)
                        .build(),
                )
                .metadata_options(
                    ec2::InstanceMetadataOptionsRequest::builder()
                        .http_tokens(ec2::HttpTokensState::Required)
                        .http_endpoint(ec2::InstanceMetadataEndpointState::Enabled)
                        .http_put_response_hop_limit(1)
                        .build(),
                )
                .block_device_mappings(
                    ec2::BlockDeviceMapping::builder()
                        .device_name(&root)
                        .ebs(
                            ec2::EbsBlockDevice::builder()
                                .encrypted(true)
                                .volume_size(size)
                                .volume_type(ec2::VolumeType::Gp3)
                                .delete_on_termination(true)
                                .build(),
                        )
                        .build(),
                )
                .security_group_ids(&f.sg_id)
                .tag_specifications(tags(ec2::ResourceType::Instance))
                .tag_specifications(tags(ec2::ResourceType::Volume));
            if let Some(subnet) = &f.subnet_id {
                run = run.subnet_id(subnet);
            }
            match run.send().await.map_err(AwsError::from) {
                Ok(out) => {
                    let instance = out.instances().first().and_then(|i| i.instance_id());
                    return instance
                        .map(str::to_string)
                        .ok_or_else(|| at("ec2:RunInstances")("no instance in the response"));
                }
                // A new instance profile takes seconds to propagate to EC2.
                Err(e)
                    if e.is(&["InvalidParameterValue"])
                        && e.message.contains("iamInstanceProfile")
                        && started.elapsed() < self.options.profile_propagation =>
                {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
                Err(e) => return Err(StepError::aws("ec2:RunInstances", e)),
            }
        }
    }

    pub(super) async fn wait_for_state(
        &self,
        instance_id: &str,
        wanted: ec2::InstanceStateName,
        limit: Duration,
    ) -> Step<()> {
        let started = tokio::time::Instant::now();
        loop {
            let out = self
                .c
                .ec2
                .describe_instances()
                .instance_ids(instance_id)
                .send()
                .await
                .step("ec2:DescribeInstances")?;
            let state = out
                .reservations()
                .iter()
                .flat_map(|r| r.instances())
                .find_map(|i| i.state().and_then(|s| s.name()).cloned());
            if state.as_ref() == Some(&wanted)
                || (wanted == ec2::InstanceStateName::Terminated && state.is_none())
            {
                return Ok(());
            }
            if started.elapsed() > limit {
                return Err(at("ec2:DescribeInstances")(format!(
                    "{instance_id} did not reach {} in {}s",
                    wanted.as_str(),
                    limit.as_secs()
                )));
            }
            tokio::time::sleep(self.options.poll_interval).await;
        }
    }

    /// In place: stop, change the type, start (the instance keeps its ID, volume and tags).
    pub(super) async fn change_instance_type(
        &self,
        instance_id: &str,
        instance_type: &str,
    ) -> Step<()> {
        let ec2c = &self.c.ec2;
        ec2c.stop_instances().instance_ids(instance_id).send().await.step("ec2:StopInstances")?;
        self.wait_for_state(instance_id, ec2::InstanceStateName::Stopped, Duration::from_secs(600))
            .await?;
        ec2c.modify_instance_attribute()
            .instance_id(instance_id)
            .instance_type(ec2::AttributeValue::builder().value(instance_type).build())
            .send()
            .await
            .step("ec2:ModifyInstanceAttribute")?;
        ec2c.start_instances().instance_ids(instance_id).send().await.step("ec2:StartInstances")?;
        Ok(())
    }

    pub(super) async fn wait_for_registration(
        &self,
        instance_id: &str,
        timeout_seconds: u64,
    ) -> Step<String> {
        let started = tokio::time::Instant::now();
        loop {
            let filter = aws_sdk_ssm::types::InstanceInformationStringFilter::builder()
                .key("InstanceIds")
                .values(instance_id)
                .build()
                .map_err(at("ssm:DescribeInstanceInformation"))?;
            let out = self
                .c
                .ssm
                .describe_instance_information()
                .filters(filter)
                .send()
                .await
                .step("ssm:DescribeInstanceInformation")?;
            if let Some(info) = out
                .instance_information_list()
                .iter()
                .find(|i| i.ping_status().map(|s| s.as_str()) == Some("Online"))
            {
                return Ok(info.agent_version().unwrap_or("unknown").to_string());
            }
            if started.elapsed() >= Duration::from_secs(timeout_seconds) {
                return Err(at("ssm:DescribeInstanceInformation")(format!("{instance_id} did not register with Systems Manager within {timeout_seconds}s (is there a route to the SSM endpoints?)")));
            }
            tokio::time::sleep(self.options.poll_interval).await;
        }
    }

    pub(super) async fn find_security_group(&self, n: &Names, id: &str) -> Step<Option<String>> {
        let filters = vec![
            ec2::Filter::builder().name("group-name").values(&n.security_group).build(),
            ec2::Filter::builder().name(format!("tag:{TAG_RESOURCE}")).values(id).build(),
        ];
        let out = self
            .c
            .ec2
            .describe_security_groups()
            .set_filters(Some(filters))
            .send()
            .await
            .step("ec2:DescribeSecurityGroups")?;
        Ok(out.security_groups().first().and_then(|g| g.group_id()).map(str::to_string))
    }
}
