//! OCSF events as Amazon Security Lake takes them from a custom source: Apache Parquet, one
//! OCSF class per source, objects under
//! `ext/<source>/region=<region>/accountId=<account>/eventDay=<YYYYMMDD>/`. The events are
//! the engine's ([`session_audit::ocsf`]); this crate only encodes and files them, so the
//! engine and the functions that do not write to the lake stay free of Arrow and Parquet.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_json::reader::{infer_json_schema_from_iterator, ReaderBuilder};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::Value;
use session_audit::ocsf::Class;

/// Events that cannot be filed or encoded, or a file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    /// An event is none of the classes written.
    #[error("event {0}: not an OCSF class Session Audit writes")]
    UnknownClass(usize),
    /// Events of several classes (or none) for one file.
    #[error("a Parquet file holds events of one OCSF class")]
    MixedClasses,
    /// Arrow could not take the events.
    #[error("Arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// Parquet could not write or read the file.
    #[error("Parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
}

/// One Parquet object to put: where, what class, how many events.
#[derive(Debug, Clone)]
pub struct LakeObject {
    /// Its key, under the lake prefix.
    pub key: String,
    /// The OCSF class it holds.
    pub class: Class,
    /// How many events.
    pub events: usize,
    /// The Parquet bytes.
    pub bytes: Vec<u8>,
}

/// A partition: `region=`, `accountId=`, `eventDay=`.
type Partition = (String, String, String);

/// A partition value from an event: `region=` and `accountId=` take only what AWS would
/// write there (anything else is `unknown`, never a path of its own).
fn partition(event: &Value) -> Partition {
    let region = event["cloud"]["region"]
        .as_str()
        .filter(|r| r.len() <= 32 && session_audit::session::is_region(r));
    let account = event["cloud"]["account"]["uid"]
        .as_str()
        .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()));
    let day = event["time"]
        .as_i64()
        .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
        .map(|t| t.strftime("%Y%m%d").to_string())
        .unwrap_or_else(|| "19700101".into());
    (region.unwrap_or("unknown").into(), account.unwrap_or("unknown").into(), day)
}

/// The key of an object of `class` in a partition: `<prefix>ext/<source>/region=…/accountId=…/
/// eventDay=…/<name>.parquet`.
pub fn object_key(
    prefix: &str,
    class: Class,
    (region, account, day): (&str, &str, &str),
    name: &str,
) -> String {
    format!(
        "{prefix}ext/{}/region={region}/accountId={account}/eventDay={day}/{name}.parquet",
        class.source()
    )
}

/// `events` filed by class and partition, each group one Parquet object named `name`
/// (unique per writer and time, so two writers never overwrite each other), in key order.
pub fn objects(events: &[Value], prefix: &str, name: &str) -> Result<Vec<LakeObject>, LakeError> {
    let mut groups: BTreeMap<(Class, Partition), Vec<&Value>> = BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        let class = Class::of(e).ok_or(LakeError::UnknownClass(i))?;
        groups.entry((class, partition(e))).or_default().push(e);
    }
    groups
        .into_iter()
        .map(|((class, (region, account, day)), group)| {
            let owned: Vec<Value> = group.into_iter().cloned().collect();
            Ok(LakeObject {
                key: object_key(prefix, class, (&region, &account, &day), name),
                class,
                events: owned.len(),
                bytes: encode(&owned)?,
            })
        })
        .collect()
}

/// Events of one class as one Parquet file (Snappy), the columns those of the events (nested
/// objects as structs, arrays as lists, times as 64-bit integers, as OCSF types them).
pub fn encode(events: &[Value]) -> Result<Vec<u8>, LakeError> {
    let first = events.first().and_then(Class::of).ok_or(LakeError::MixedClasses)?;
    if events.iter().any(|e| Class::of(e) != Some(first)) {
        return Err(LakeError::MixedClasses);
    }
    let schema = Arc::new(infer_json_schema_from_iterator(events.iter().map(|e| Ok(e.clone())))?);
    let mut decoder = ReaderBuilder::new(schema.clone()).build_decoder()?;
    decoder.serialize(events)?;
    let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
    let mut writer = ArrowWriter::try_new(Vec::new(), schema, Some(props))?;
    while let Some(batch) = decoder.flush()? {
        writer.write(&batch)?;
        if batch.num_rows() == 0 {
            break;
        }
    }
    Ok(writer.into_inner()?)
}

/// A Parquet file's rows back as JSON objects (absent values left out), in order.
pub fn decode(bytes: Vec<u8>) -> Result<Vec<Value>, LakeError> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))?.build()?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch?;
        let mut json = arrow_json::ArrayWriter::new(Vec::new());
        json.write_batches(&[&batch])?;
        json.finish()?;
        let rows: Vec<Value> = serde_json::from_slice(&json.into_inner())
            .map_err(|e| arrow_schema::ArrowError::JsonError(e.to_string()))?;
        out.extend(rows);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
