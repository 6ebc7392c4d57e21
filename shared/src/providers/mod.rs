//! One module per provider: its wire types as the provider documents them,
//! and their mapping to the normalized model. Pure: plain bytes or
//! parameters and a time in, the normalized event(s) and what they write (a
//! `WritePlan`, built with `store::plan`'s constructors) out, or a
//! [`ReadError`]. A provider names no HTTP, VoXML, pipeline or SDK type (a
//! test below keeps it so). Each provider's protocol and our answers:
//! `docs/providers/<name>.md`.

pub mod retell;
pub mod salpre;
pub mod voxtelesys;
pub mod zonitel;
pub mod zonitel_sms;

mod read_error;

#[cfg(test)]
pub(crate) use read_error::parse_json_checked;
pub use read_error::{parse_json, ReadError};

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// What a provider module must not use: HTTP requests and answers, the
    /// VoXML writer, the pipeline and runtime around it, the AWS SDK.
    const FORBIDDEN: &[&str] = &[
        "crate::http",
        "crate::voxml",
        "crate::ingest",
        "crate::webhook",
        "crate::runtime",
        "lambda_http",
        "lambda_runtime",
        "aws_sdk_",
        "aws_config",
    ];

    fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("the providers folder") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                rust_files(&path, into);
            } else if path.extension().is_some_and(|e| e == "rs") {
                into.push(path);
            }
        }
    }

    /// A provider file's code: without comments and without its test
    /// module (tests may inspect what a plan stores with the SDK's types).
    fn code_of(text: &str) -> String {
        let text = text.split("#[cfg(test)]\nmod tests {").next().unwrap_or("");
        text.lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn providers_use_no_http_voxml_pipeline_or_sdk_type() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/providers");
        let mut files = Vec::new();
        rust_files(&root, &mut files);
        files.retain(|path| path.file_name().is_some_and(|name| name != "tests.rs"));
        // Every provider's module is looked at, not an empty folder.
        assert!(files.len() >= 15, "{files:?}");
        let mut found = Vec::new();
        for path in &files {
            let code = code_of(&std::fs::read_to_string(path).expect("a provider file"));
            for forbidden in FORBIDDEN {
                if code.contains(forbidden) {
                    found.push(format!("{} uses {forbidden}", path.display()));
                }
            }
        }
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn the_check_sees_imports_and_skips_comments_and_tests() {
        let code = code_of(
            "use crate::http::ApiError;\n// crate::voxml writes it\n#[cfg(test)]\nmod tests {\n    use aws_sdk_dynamodb::types::AttributeValue;\n}\n",
        );
        assert!(code.contains("crate::http"));
        assert!(!code.contains("crate::voxml"));
        assert!(!code.contains("aws_sdk_"));
    }
}
