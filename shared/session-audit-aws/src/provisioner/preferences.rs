//! The account's Session Manager preferences (`SSM-SessionManagerRunShell`).

use serde_json::Value;

use super::*;

impl Provisioner<'_> {
    // ---- Session Manager preferences ---------------------------------------------------------

    /// S5/S6: create the preferences document, or add a version and make it the default,
    /// remembering (in the version's description) what to restore on Delete.
    pub(super) async fn ensure_preferences(
        &self,
        p: &Properties,
        n: &Names,
        id: &str,
        ledger: &Ledger,
    ) -> Step<String> {
        let ssm = &self.c.ssm;
        let desired = policies::preferences_document(p, n);
        let found =
            ssm.describe_document().name(PREFERENCES_DOCUMENT).send().await.map_err(AwsError::from);
        match found {
            Err(e) if e.is(&["InvalidDocument"]) => {
                let mut doc = desired.clone();
                doc["description"] =
                    Value::String(format!("Session Manager preferences {DOC_MARK_CREATED} ({id})"));
                let out = ssm
                    .create_document()
                    .name(PREFERENCES_DOCUMENT)
                    .content(doc.to_string())
                    .document_type(aws_sdk_ssm::types::DocumentType::Session)
                    .document_format(aws_sdk_ssm::types::DocumentFormat::Json)
                    .send()
                    .await
                    .step("ssm:CreateDocument")?;
                ledger.add(Made::Document);
                Ok(out
                    .document_description()
                    .and_then(|d| d.document_version())
                    .unwrap_or("1")
                    .to_string())
            }
            Err(e) => Err(StepError::aws("ssm:DescribeDocument", e)),
            Ok(described) => {
                let default_version = described
                    .document()
                    .and_then(|d| d.default_version())
                    .unwrap_or("1")
                    .to_string();
                let current = self.document_content(&default_version).await?;
                let current_description =
                    current["description"].as_str().unwrap_or_default().to_string();
                let mark = if current_description.contains(id) {
                    // Already ours: keep pointing at what was there before us.
                    current_description.clone()
                } else {
                    format!("Session Manager preferences managed by Session Audit ({id}); {DOC_MARK_PREVIOUS}{default_version}")
                };
                let mut doc = desired.clone();
                doc["description"] = Value::String(mark);
                if current == doc {
                    return Ok(default_version);
                }
                let out = ssm
                    .update_document()
                    .name(PREFERENCES_DOCUMENT)
                    .content(doc.to_string())
                    .document_version("$LATEST")
                    .document_format(aws_sdk_ssm::types::DocumentFormat::Json)
                    .send()
                    .await
                    .step("ssm:UpdateDocument")?;
                let version = out
                    .document_description()
                    .and_then(|d| d.document_version())
                    .unwrap_or_default()
                    .to_string();
                ssm.update_document_default_version()
                    .name(PREFERENCES_DOCUMENT)
                    .document_version(&version)
                    .send()
                    .await
                    .step("ssm:UpdateDocumentDefaultVersion")?;
                ledger.add(Made::DocumentVersion(default_version));
                Ok(version)
            }
        }
    }

    pub(super) async fn document_content(&self, version: &str) -> Step<Value> {
        let out = self
            .c
            .ssm
            .get_document()
            .name(PREFERENCES_DOCUMENT)
            .document_version(version)
            .document_format(aws_sdk_ssm::types::DocumentFormat::Json)
            .send()
            .await
            .step("ssm:GetDocument")?;
        Ok(serde_json::from_str(out.content().unwrap_or("{}")).unwrap_or(Value::Null))
    }

    /// S6: put the preferences back as they were before this resource: the previous default
    /// version, or no document if we created it. Sessions never point at a deleted bucket.
    pub(super) async fn restore_preferences(&self, id: &str) -> Step<()> {
        let ssm = &self.c.ssm;
        let described = match ssm
            .describe_document()
            .name(PREFERENCES_DOCUMENT)
            .send()
            .await
            .map_err(AwsError::from)
        {
            Ok(d) => d,
            Err(e) if e.is(&["InvalidDocument"]) => return Ok(()),
            Err(e) => return Err(StepError::aws("ssm:DescribeDocument", e)),
        };
        let default_version =
            described.document().and_then(|d| d.default_version()).unwrap_or("1").to_string();
        let current = self.document_content(&default_version).await?;
        let description = current["description"].as_str().unwrap_or_default();
        if !description.contains(id) {
            return Ok(()); // someone else's preferences now: leave them
        }
        if description.contains(DOC_MARK_CREATED) {
            match ssm
                .delete_document()
                .name(PREFERENCES_DOCUMENT)
                .send()
                .await
                .map_err(AwsError::from)
            {
                Ok(_) => return Ok(()),
                Err(e) if e.is(&["InvalidDocument"]) => return Ok(()),
                Err(e) => return Err(StepError::aws("ssm:DeleteDocument", e)),
            }
        }
        if let Some(previous) = description.split(DOC_MARK_PREVIOUS).nth(1) {
            let previous: String = previous.chars().take_while(char::is_ascii_digit).collect();
            ssm.update_document_default_version()
                .name(PREFERENCES_DOCUMENT)
                .document_version(previous)
                .send()
                .await
                .step("ssm:UpdateDocumentDefaultVersion")?;
        }
        Ok(())
    }
}
