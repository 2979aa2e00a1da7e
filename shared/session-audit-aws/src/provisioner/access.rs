//! The stack's Session documents, its Change Calendar and the approval runbook with its role:
//! each document created tagged as ours, updated in place when its content changed, removed
//! when the stack no longer wants it, and never adopted when someone else's.

use aws_sdk_ssm::types::{DocumentFormat, DocumentType, ResourceTypeForTagging, Tag};
use serde_json::Value;

use super::*;
use session_audit::access::Kind;
use session_audit::provisioner::access as documents;
use session_audit::session::findings::BusinessHours;

/// One document the stack wants.
struct Wanted {
    name: String,
    content: String,
    kind: DocumentType,
    format: DocumentFormat,
}

impl Provisioner<'_> {
    /// Every document the properties ask for, written; those they no longer ask for, removed.
    /// The approval role comes first: the runbook names it.
    pub(super) async fn ensure_access(
        &self,
        p: &Properties,
        n: &Names,
        id: &str,
        ledger: &Ledger,
    ) -> Step<Vec<String>> {
        let wanted = self.wanted(p, n);
        if wanted.iter().any(|w| w.name == n.approval_runbook) {
            self.ensure_approval_role(p, n, id, ledger).await?;
        } else if self.ours_role(&n.approval_role, id).await? {
            self.forget(Made::Role(n.approval_role.clone())).await?;
        }
        for w in &wanted {
            self.ensure_document(w, id, ledger).await?;
        }
        for name in Self::every_name(&p.name_prefix, n) {
            if !wanted.iter().any(|w| w.name == name) && self.ours_document(&name, id).await? {
                self.forget(Made::SessionDocument(name)).await?;
            }
        }
        Ok(wanted.into_iter().map(|w| w.name).collect())
    }

    /// On Delete: every document and the role this resource made.
    pub(super) async fn remove_access(&self, prefix: &str, physical: &str) -> Step<()> {
        let n = Names::new(prefix, &self.place);
        let p = Properties::parse(&HashMap::new()).map_err(at("remove documents"))?;
        let catalog =
            session_audit::access::Catalog { prefix: prefix.to_string(), ..p.catalog.clone() };
        let mut names: Vec<String> = Kind::ALL.iter().map(|k| catalog.name(*k)).collect();
        names.extend([n.change_calendar.clone(), n.approval_runbook.clone()]);
        for name in names {
            if self.ours_document(&name, physical).await? {
                self.forget(Made::SessionDocument(name)).await?;
            }
        }
        if self.ours_role(&n.approval_role, physical).await? {
            self.forget(Made::Role(n.approval_role.clone())).await?;
        }
        Ok(())
    }

    /// Every document name a stack under `prefix` may have made.
    fn every_name(prefix: &str, n: &Names) -> Vec<String> {
        let mut names: Vec<String> = Kind::ALL.iter().map(|k| k.named(prefix)).collect();
        names.extend([n.change_calendar.clone(), n.approval_runbook.clone()]);
        names
    }

    fn wanted(&self, p: &Properties, n: &Names) -> Vec<Wanted> {
        let json = |name: String, content: Value, kind: DocumentType| Wanted {
            name,
            content: content.to_string(),
            kind,
            format: DocumentFormat::Json,
        };
        let inputs = policies::preferences_document(p, n)["inputs"].clone();
        let mut out: Vec<Wanted> = p
            .catalog
            .kinds()
            .into_iter()
            .map(|k| json(p.catalog.name(k), p.catalog.document(k, &inputs), DocumentType::Session))
            .collect();
        if p.protected_tag.is_some() {
            if p.change_calendar.is_none() {
                let window =
                    BusinessHours::parse(&p.change_window).expect("checked by Properties::parse");
                out.push(Wanted {
                    name: n.change_calendar.clone(),
                    content: documents::change_calendar(&window, &p.change_window, &p.name_prefix),
                    kind: DocumentType::ChangeCalendar,
                    format: DocumentFormat::Text,
                });
            }
            if !p.approvers.is_empty() {
                let runbook = documents::approval_runbook(p, n, &self.place);
                out.push(json(n.approval_runbook.clone(), runbook, DocumentType::Automation));
            }
        }
        out
    }

    /// Whether the document exists and carries this resource's tag.
    async fn ours_document(&self, name: &str, id: &str) -> Step<bool> {
        let tags = self
            .c
            .ssm
            .list_tags_for_resource()
            .resource_type(ResourceTypeForTagging::Document)
            .resource_id(name)
            .send()
            .await
            .map_err(AwsError::from);
        match tags {
            Ok(t) => Ok(t.tag_list().iter().any(|t| t.key() == TAG_RESOURCE && t.value() == id)),
            Err(e) if e.is(&["InvalidResourceId", "InvalidDocument"]) => Ok(false),
            Err(e) => Err(StepError::aws("ssm:ListTagsForResource", e)),
        }
    }

    /// Create the document, or bring its default version to the wanted content.
    async fn ensure_document(&self, w: &Wanted, id: &str, ledger: &Ledger) -> Step<()> {
        let ssm = &self.c.ssm;
        let found = ssm.describe_document().name(&w.name).send().await.map_err(AwsError::from);
        match found {
            Err(e) if e.is(&["InvalidDocument"]) => {
                let tag = Tag::builder()
                    .key(TAG_RESOURCE)
                    .value(id)
                    .build()
                    .map_err(at("ssm:CreateDocument"))?;
                ssm.create_document()
                    .name(&w.name)
                    .content(&w.content)
                    .document_type(w.kind.clone())
                    .document_format(w.format.clone())
                    .tags(tag)
                    .send()
                    .await
                    .step("ssm:CreateDocument")?;
                ledger.add(Made::SessionDocument(w.name.clone()));
                Ok(())
            }
            Err(e) => Err(StepError::aws("ssm:DescribeDocument", e)),
            Ok(_) => {
                if !self.ours_document(&w.name, id).await? {
                    return Err(foreign("ssm:CreateDocument", &format!("document {}", w.name), id));
                }
                let updated = ssm
                    .update_document()
                    .name(&w.name)
                    .content(&w.content)
                    .document_version("$LATEST")
                    .document_format(w.format.clone())
                    .send()
                    .await
                    .map_err(AwsError::from);
                let version = match updated {
                    // The content is what we want already.
                    Err(e) if e.is(&["DuplicateDocumentContent"]) => return Ok(()),
                    Err(e) => return Err(StepError::aws("ssm:UpdateDocument", e)),
                    Ok(out) => out
                        .document_description()
                        .and_then(|d| d.document_version())
                        .unwrap_or_default()
                        .to_string(),
                };
                ssm.update_document_default_version()
                    .name(&w.name)
                    .document_version(version)
                    .send()
                    .await
                    .step("ssm:UpdateDocumentDefaultVersion")?;
                Ok(())
            }
        }
    }

    async fn ours_role(&self, name: &str, id: &str) -> Step<bool> {
        match self.c.iam.get_role().role_name(name).send().await.map_err(AwsError::from) {
            Ok(found) => Ok(found.role().is_some_and(|r| {
                r.tags().iter().any(|t| t.key() == TAG_RESOURCE && t.value() == id)
            })),
            Err(e) if e.is(&["NoSuchEntity"]) => Ok(false),
            Err(e) => Err(StepError::aws("iam:GetRole", e)),
        }
    }

    /// The role the approval runbook acts as: trusted by Automation in this account, allowed
    /// only to put and remove the approval tag.
    async fn ensure_approval_role(
        &self,
        p: &Properties,
        n: &Names,
        id: &str,
        ledger: &Ledger,
    ) -> Step<()> {
        let iam = &self.c.iam;
        match iam.get_role().role_name(&n.approval_role).send().await.map_err(AwsError::from) {
            Ok(_) if self.ours_role(&n.approval_role, id).await? => {}
            Ok(_) => {
                return Err(foreign("iam:CreateRole", &format!("role {}", n.approval_role), id))
            }
            Err(e) if e.is(&["NoSuchEntity"]) => {
                let tag = aws_sdk_iam::types::Tag::builder()
                    .key(TAG_RESOURCE)
                    .value(id)
                    .build()
                    .map_err(at("iam:CreateRole"))?;
                iam.create_role()
                    .role_name(&n.approval_role)
                    .description("Session Audit approval runbook: tags an approved instance for its requester")
                    .assume_role_policy_document(documents::approval_role_trust(&self.place).to_string())
                    .tags(tag)
                    .send()
                    .await
                    .step("iam:CreateRole")?;
                ledger.add(Made::Role(n.approval_role.clone()));
            }
            Err(e) => return Err(StepError::aws("iam:GetRole", e)),
        }
        iam.put_role_policy()
            .role_name(&n.approval_role)
            .policy_name(APPROVAL_POLICY)
            .policy_document(documents::approval_role_policy(p, &self.place).to_string())
            .send()
            .await
            .step("iam:PutRolePolicy")?;
        Ok(())
    }
}

const APPROVAL_POLICY: &str = "session-audit-approval";
