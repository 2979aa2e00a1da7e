//! The integration suite, one binary (it links the whole AWS SDK once): each module is one
//! area, run against its own local emulator (moto) where it needs AWS. The report-memory test
//! is a separate binary because its counting allocator is process-wide.

mod access_summary;
mod bad_ids;
mod boundaries;
mod config_rule;
mod custom_resource;
mod docs;
mod lake_export;
mod module_graph;
mod ocsf;
mod outage_replay;
mod pipeline;
mod provisioner;
mod report_provenance;
mod security_hub;
mod session_report;
mod session_start;
mod session_stream;
mod spoke_template;
mod template_iam;
mod use_cases;
