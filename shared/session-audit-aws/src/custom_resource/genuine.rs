//! Is this request one CloudFormation really sent? Anyone allowed to invoke the function can
//! hand it a request, and the stack's ID is easy to read (DescribeStacks), so naming the right
//! stack proves nothing. Two checks that a forger cannot pass from outside CloudFormation:
//!
//! * **The response goes only to CloudFormation's response bucket in this region**
//!   ([`ResponseHosts`]): a request whose `ResponseURL` points anywhere else gets no work and
//!   no response (a response is a PUT of what we made, names included, to whoever asked).
//! * **CloudFormation has this resource's operation in progress** ([`confirm`]): the logical
//!   ID's status is `*_IN_PROGRESS`, its type is ours and, for Update and Delete, its physical
//!   ID is the request's. A forged Delete between stack operations is refused; one sent while
//!   the stack itself is deleting this resource asks for what is happening anyway.
//!
//! What remains (docs/threat-model.md): during a genuine operation on this very resource a
//! forged request of the same kind cannot be told from CloudFormation's; the invoke permission
//! is the control there, and the destructive Delete choices never come from the request.

use std::future::Future;

use super::Meta;
use crate::AwsError;

/// Where responses may be PUT: CloudFormation's response bucket of the function's region, and,
/// only where the local emulator runs, one loopback origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHosts {
    region: String,
    emulator_origin: Option<String>,
}

/// The S3 endpoints a region's pre-signed URLs use (regional, legacy dash form, dual-stack;
/// us-east-1 also has the global ones).
fn s3_endpoints(region: &str) -> Vec<String> {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else if region.starts_with("eusc-") {
        "amazonaws.eu"
    } else {
        "amazonaws.com"
    };
    let mut hosts = vec![
        format!("s3.{region}.{suffix}"),
        format!("s3-{region}.{suffix}"),
        format!("s3.dualstack.{region}.{suffix}"),
    ];
    if region == "us-east-1" {
        hosts.extend([format!("s3.{suffix}"), format!("s3-external-1.{suffix}")]);
    }
    hosts
}

impl ResponseHosts {
    /// Responses for stacks in `region`; `emulator_origin` (`EMULATOR_RESPONSE_ORIGIN`, a
    /// loopback `http://127.0.0.1:port` checked by the settings) adds the local response
    /// server. Never set in AWS.
    pub fn new(region: &str, emulator_origin: Option<String>) -> Self {
        ResponseHosts { region: region.to_string(), emulator_origin }
    }

    /// The bucket CloudFormation pre-signs responses in for this region.
    pub fn bucket(&self) -> String {
        format!("cloudformation-custom-resource-response-{}", self.region.replace('-', ""))
    }

    /// `Ok` when `url` is a pre-signed URL of CloudFormation's response bucket in this region
    /// (virtual-hosted or path style, HTTPS, default port, no user info).
    pub fn check(&self, url: &str) -> Result<(), String> {
        if let Some(origin) = &self.emulator_origin {
            if url.strip_prefix(origin.as_str()).is_some_and(|rest| rest.starts_with('/')) {
                return Ok(());
            }
        }
        let refused = |why: &str| {
            // The URL's query is a signature: only its host and path are named.
            let shown = url.split('?').next().unwrap_or_default();
            Err(format!(
                "refused: the ResponseURL {shown} {why}, so this is not a request CloudFormation \
                 sent; nothing was changed and no response was sent"
            ))
        };
        let Ok(parsed) = reqwest::Url::parse(url) else {
            return refused("is not a URL");
        };
        if parsed.scheme() != "https" || parsed.port().is_some() || !parsed.username().is_empty() {
            return refused("is not a plain HTTPS URL");
        }
        let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
        let bucket = self.bucket();
        let endpoints = s3_endpoints(&self.region);
        let virtual_hosted = host
            .strip_prefix(&bucket)
            .and_then(|rest| rest.strip_prefix('.'))
            .is_some_and(|endpoint| endpoints.iter().any(|e| e == endpoint));
        let path_style = endpoints.contains(&host)
            && parsed
                .path()
                .strip_prefix('/')
                .and_then(|p| p.strip_prefix(&bucket))
                .is_some_and(|rest| rest.starts_with('/'));
        if virtual_hosted || path_style {
            Ok(())
        } else {
            refused(&format!(
                "is not in CloudFormation's response bucket {bucket} of {}",
                self.region
            ))
        }
    }
}

/// What CloudFormation says of one resource of the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceState {
    /// `CREATE_IN_PROGRESS`, `UPDATE_COMPLETE`, …
    pub status: String,
    /// The resource type (`Custom::SessionAuditAccessPath`).
    pub resource_type: String,
    /// The physical ID CloudFormation holds (none while a Create is in progress).
    pub physical_id: Option<String>,
}

/// The port: CloudFormation's view of a stack's resource (DescribeStackResource).
pub trait StackResources {
    /// The state of `logical_id` in `stack_id`.
    fn describe(
        &self,
        stack_id: &str,
        logical_id: &str,
    ) -> impl Future<Output = Result<ResourceState, AwsError>> + Send;
}

impl StackResources for aws_sdk_cloudformation::Client {
    async fn describe(&self, stack_id: &str, logical_id: &str) -> Result<ResourceState, AwsError> {
        let out = self
            .describe_stack_resource()
            .stack_name(stack_id)
            .logical_resource_id(logical_id)
            .send()
            .await
            .map_err(AwsError::from)?;
        let detail = out.stack_resource_detail().ok_or_else(|| AwsError {
            code: None,
            message: "DescribeStackResource answered without a resource".into(),
        })?;
        Ok(ResourceState {
            status: detail.resource_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
            resource_type: detail.resource_type().unwrap_or_default().to_string(),
            physical_id: detail.physical_resource_id().map(str::to_string),
        })
    }
}

/// `Ok` when `state` (what CloudFormation says) admits `meta` (the request) as CloudFormation's
/// own: an operation in progress on a resource of `resource_type` whose physical ID, for
/// Update and Delete, is the request's.
pub fn confirm(meta: &Meta, resource_type: &str, state: &ResourceState) -> Result<(), String> {
    let refuse = |why: String| {
        Err(format!(
            "refused: CloudFormation reports {} of this stack {why}, so this {} was not sent by \
             CloudFormation; nothing was changed",
            meta.logical_resource_id, meta.request_type
        ))
    };
    if state.resource_type != resource_type {
        return refuse(format!("as a {}, not a {resource_type}", state.resource_type));
    }
    if !state.status.ends_with("_IN_PROGRESS") {
        return refuse(format!("as {}, with no operation in progress", state.status));
    }
    if let Some(asked) = &meta.physical_id {
        if state.physical_id.as_deref() != Some(asked.as_str()) {
            let held = state.physical_id.as_deref().unwrap_or("(none)");
            return refuse(format!("with physical ID {held}, not {asked}"));
        }
    }
    Ok(())
}

/// Ask CloudFormation about `meta`'s resource and [`confirm`] the request. A failed question
/// refuses too: a request that cannot be confirmed is not acted on.
pub async fn confirm_with(
    cloudformation: &impl StackResources,
    meta: &Meta,
    resource_type: &str,
) -> Result<(), String> {
    let state =
        cloudformation.describe(&meta.stack_id, &meta.logical_resource_id).await.map_err(|e| {
            format!(
                "refused: CloudFormation could not confirm this {} ({e}); nothing was changed",
                meta.request_type
            )
        })?;
    confirm(meta, resource_type, &state)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNED: &str = "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abc";

    #[test]
    fn cloudformations_response_urls_are_accepted_in_every_form_s3_signs() {
        let east = ResponseHosts::new("us-east-1", None);
        for url in [
            "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3Aaws%3Acloudformation%3Aus-east-1%3A1%3Astack/s/g%7CAccess%7Cr",
            "https://cloudformation-custom-resource-response-useast1.s3.us-east-1.amazonaws.com/k",
            "https://s3.amazonaws.com/cloudformation-custom-resource-response-useast1/k",
            "https://CLOUDFORMATION-custom-resource-response-useast1.s3.amazonaws.com/k",
        ] {
            assert_eq!(east.check(&format!("{url}{SIGNED}")), Ok(()), "{url}");
        }
        let ireland = ResponseHosts::new("eu-west-1", None);
        for url in [
            "https://cloudformation-custom-resource-response-euwest1.s3-eu-west-1.amazonaws.com/k",
            "https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com/k",
        ] {
            assert_eq!(ireland.check(url), Ok(()), "{url}");
        }
        let beijing = ResponseHosts::new("cn-north-1", None);
        let url = "https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn/k";
        assert_eq!(beijing.check(url), Ok(()));
    }

    #[test]
    fn any_other_response_url_is_refused_without_its_signature_in_the_reason() {
        let east = ResponseHosts::new("us-east-1", None);
        for url in [
            "https://attacker.example/collect",
            "http://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/k",
            "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com:8443/k",
            "https://u:p@cloudformation-custom-resource-response-useast1.s3.amazonaws.com/k",
            // Another region's bucket, a look-alike bucket, a look-alike endpoint.
            "https://cloudformation-custom-resource-response-uswest2.s3.us-west-2.amazonaws.com/k",
            "https://cloudformation-custom-resource-response-useast1x.s3.amazonaws.com/k",
            "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com.evil.example/k",
            "https://cloudformation-custom-resource-response-useast1.evil.example/k",
            // Path style needs the bucket as the whole first segment.
            "https://s3.amazonaws.com/cloudformation-custom-resource-response-useast1x/k",
            "https://s3.amazonaws.com/other/cloudformation-custom-resource-response-useast1/k",
            "https://127.0.0.1:4566/cfn-response/x",
            "not a url",
        ] {
            let refused = east.check(&format!("{url}{SIGNED}")).expect_err(url);
            assert!(refused.contains("no response was sent"), "{refused}");
            assert!(!refused.contains("Signature"), "the signature is not repeated: {refused}");
        }
    }

    #[test]
    fn the_emulator_origin_admits_only_itself() {
        let local = ResponseHosts::new("us-east-1", Some("http://127.0.0.1:4566".into()));
        assert_eq!(local.check("http://127.0.0.1:4566/cfn-response/x"), Ok(()));
        for url in ["http://127.0.0.1:45660/cfn-response/x", "http://127.0.0.1:4566.evil/x"] {
            assert!(local.check(url).is_err(), "{url}");
        }
    }

    fn meta(kind: &'static str, physical: Option<&str>) -> Meta {
        Meta {
            request_type: kind,
            request_id: "r".into(),
            stack_id: "arn:aws:cloudformation:us-east-1:123456789012:stack/s/g".into(),
            logical_resource_id: "AccessPath".into(),
            response_url: String::new(),
            physical_id: physical.map(str::to_string),
        }
    }

    fn state(status: &str, physical: Option<&str>) -> ResourceState {
        ResourceState {
            status: status.into(),
            resource_type: "Custom::Ours".into(),
            physical_id: physical.map(str::to_string),
        }
    }

    #[test]
    fn only_an_operation_in_progress_on_this_resource_is_confirmed() {
        let ok = |m: &Meta, s: &ResourceState| confirm(m, "Custom::Ours", s);
        assert_eq!(ok(&meta("Create", None), &state("CREATE_IN_PROGRESS", None)), Ok(()));
        assert_eq!(ok(&meta("Update", Some("p")), &state("UPDATE_IN_PROGRESS", Some("p"))), Ok(()));
        assert_eq!(ok(&meta("Delete", Some("p")), &state("DELETE_IN_PROGRESS", Some("p"))), Ok(()));
        // A rollback's Update or Delete arrives while the resource is in a rollback status.
        let rollback = state("UPDATE_ROLLBACK_IN_PROGRESS", Some("p"));
        assert_eq!(ok(&meta("Update", Some("p")), &rollback), Ok(()));

        let forged_delete = ok(&meta("Delete", Some("p")), &state("CREATE_COMPLETE", Some("p")));
        assert!(forged_delete.unwrap_err().contains("as CREATE_COMPLETE"));
        let other_physical =
            ok(&meta("Delete", Some("p")), &state("DELETE_IN_PROGRESS", Some("q")));
        assert!(other_physical.unwrap_err().contains("physical ID q, not p"));
        let mut other_type = state("CREATE_IN_PROGRESS", None);
        other_type.resource_type = "AWS::S3::Bucket".into();
        assert!(ok(&meta("Create", None), &other_type).unwrap_err().contains("AWS::S3::Bucket"));
    }
}
