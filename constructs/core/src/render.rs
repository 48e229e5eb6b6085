//! The one writer: every JSON file cairn produces (templates, manifests, asset manifests,
//! embedded documents such as state machine definitions) is rendered by serde_json from a
//! value that implements `Serialize`; YAML templates by serde-saphyr.
//!
//! JSON is pretty-printed with a one-space indent and keys in insertion order, as the CDK
//! writes its templates, so the same app always gives the same bytes.
//!
//! ```
//! let v = serde_json::json!({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}});
//! assert_eq!(
//!     cairn_core::render::json(&v).unwrap(),
//!     "{\n \"Resources\": {\n  \"Topic\": {\n   \"Type\": \"AWS::SNS::Topic\"\n  }\n }\n}"
//! );
//! ```

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};

/// The formatter of every JSON file: serde_json's pretty printer with a one-space indent.
fn formatter() -> serde_json::ser::PrettyFormatter<'static> {
    serde_json::ser::PrettyFormatter::with_indent(b" ")
}

/// Renders `value` as pretty JSON (one-space indent).
pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    let mut out = Vec::with_capacity(4096);
    write_json_to(&mut out, value).map_err(|e| Error::Serialize {
        stack: String::new(),
        message: e.to_string(),
    })?;
    String::from_utf8(out).map_err(|e| Error::Serialize {
        stack: String::new(),
        message: e.to_string(),
    })
}

/// Renders `value` as pretty JSON (one-space indent) into a writer.
pub fn write_json_to<W: Write, T: Serialize + ?Sized>(out: W, value: &T) -> serde_json::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(out, formatter());
    value.serialize(&mut ser)
}

/// Writes `value` as pretty JSON (one-space indent) to a file.
pub fn write_json_file<T: Serialize + ?Sized>(file: &Path, value: &T) -> Result<()> {
    let io = |source| Error::Io {
        path: file.to_path_buf(),
        source,
    };
    let mut out = std::io::BufWriter::new(std::fs::File::create(file).map_err(io)?);
    write_json_to(&mut out, value).map_err(|e| io(e.into()))?;
    out.flush().map_err(io)
}

/// Renders `value` as YAML: block collections, every string on one line (no folding, so
/// a shell command stays one command), strings that a YAML 1.1 reader would take for
/// another type (`yes`, `012`) quoted.
pub fn yaml<T: Serialize>(value: &T) -> Result<String> {
    let mut options = serde_saphyr::SerializerOptions::default();
    options.prefer_block_scalars = false;
    serde_saphyr::to_string_with_options(value, options).map_err(|e| Error::Serialize {
        stack: String::new(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn yaml_round_trips_and_quotes_ambiguous_strings() {
        let long = "x ".repeat(100);
        let v = json!({"A": ["yes", "012", "a: b", "", 1, 2.5, null, true, long], "B": {}, "C": []});
        let text = super::yaml(&v).unwrap();
        assert!(text.contains("\"yes\""), "{text}");
        assert!(!text.contains(">-"), "long strings stay on one line: {text}");
        let back: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(back, v);
    }
}
