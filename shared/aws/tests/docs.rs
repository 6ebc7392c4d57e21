//! The documentation stays true to the code it describes:
//! - `docs/storage.md` names every key prefix and key constant of
//!   `shared/model/src/store/keys.rs`, and every key prefix it names exists there;
//! - every relative link in `README.md` and `docs/**/*.md` resolves to a file
//!   (and to a heading, when the link names one);
//! - the README names every parameter and every route path of `template.yaml`.
//!
//! Plain text reading, no markdown crate: the docs use a small, regular subset.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Lines outside fenced code blocks.
fn prose_lines(markdown: &str) -> Vec<&str> {
    let mut in_fence = false;
    let mut lines = Vec::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if !in_fence {
            lines.push(line);
        }
    }
    lines
}

/// The text of every inline code span (`like this`) outside fenced blocks.
fn code_spans(markdown: &str) -> Vec<String> {
    let mut spans = Vec::new();
    for line in prose_lines(markdown) {
        let mut parts = line.split('`');
        parts.next();
        while let (Some(inside), Some(_)) = (parts.next(), parts.next()) {
            spans.push(inside.to_string());
        }
    }
    spans
}

/// String literals of Rust source, comments and the test module left out.
fn string_literals(source: &str) -> Vec<String> {
    let code = source.split("#[cfg(test)]").next().unwrap_or(source);
    let mut literals = Vec::new();
    for line in code.lines() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(start) = rest.find('"') {
            let after = &rest[start + 1..];
            let Some(end) = after.find('"') else { break };
            literals.push(after[..end].to_string());
            rest = &after[end + 1..];
        }
    }
    literals
}

/// Upper-case key words of a key text (`CALL`, `EVENT`, `PART`, `GSI1PK`...),
/// with `format!` placeholders removed.
fn key_words(text: &str) -> Vec<String> {
    let mut plain = String::new();
    let mut depth = 0;
    for c in text.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ if depth == 0 => plain.push(c),
            _ => plain.push(' '),
        }
    }
    let mut words = Vec::new();
    let mut word = String::new();
    for c in plain.chars().chain([' ']) {
        if c.is_ascii_uppercase() || (!word.is_empty() && (c.is_ascii_digit() || c == '_')) {
            word.push(c);
        } else {
            if word.len() >= 2 {
                words.push(word.clone());
            }
            word.clear();
        }
    }
    words
}

#[test]
fn storage_doc_and_keys_rs_name_the_same_keys() {
    let root = repo_root();
    let keys = read(&root.join("shared/model/src/store/keys.rs"));
    let doc = read(&root.join("docs/storage.md"));
    let spans = code_spans(&doc);
    let in_doc = |text: &str| spans.iter().any(|span| span.contains(text));

    let literals = string_literals(&keys);
    let mut code_words = BTreeSet::new();
    let mut missing = Vec::new();
    for literal in &literals {
        for word in key_words(literal) {
            if !in_doc(&word) {
                missing.push(word.clone());
            }
            code_words.insert(word);
        }
        // Whole constant values that are not key words: attribute names
        // (`expires_at`, `item_type`) and item types (`number_config`).
        let is_name = !literal.is_empty()
            && literal.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            && literal.len() > 1;
        if is_name && !in_doc(literal) {
            missing.push(literal.clone());
        }
    }
    assert!(
        code_words.len() >= 10,
        "keys.rs yielded too few key words to be right: {code_words:?}"
    );
    assert!(
        missing.is_empty(),
        "docs/storage.md does not name these keys of keys.rs in a code span: {missing:?}"
    );

    // The other way: every `PREFIX#` the doc names is built by keys.rs.
    let mut unknown = BTreeSet::new();
    for span in &spans {
        let mut rest = span.as_str();
        while let Some(hash) = rest.find('#') {
            let before = &rest[..hash];
            let word: String = before
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            if word.len() >= 2 && !code_words.contains(&word) {
                unknown.insert(format!("{word}#"));
            }
            rest = &rest[hash + 1..];
        }
    }
    assert!(
        unknown.is_empty(),
        "docs/storage.md names key prefixes keys.rs does not build: {unknown:?}"
    );
}

/// Every markdown file the links are checked in: the README and `docs/`.
fn markdown_files(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    let mut files = vec![root.join("README.md")];
    walk(&root.join("docs"), &mut files);
    files.sort();
    files
}

/// Link targets in a markdown text: `[text](target)` and `[label]: target`,
/// outside code.
fn link_targets(markdown: &str) -> Vec<String> {
    let mut targets = Vec::new();
    for line in prose_lines(markdown) {
        // Drop inline code: a `](` inside it is not a link.
        let text: String = line
            .split('`')
            .enumerate()
            .filter(|(i, _)| i % 2 == 0)
            .map(|(_, part)| part)
            .collect::<Vec<_>>()
            .join(" ");
        let mut rest = text.as_str();
        while let Some(open) = rest.find("](") {
            let after = &rest[open + 2..];
            let end = after.find(')').unwrap_or(after.len());
            let target = after[..end].split_whitespace().next().unwrap_or("");
            targets.push(target.trim_matches(['<', '>']).to_string());
            rest = &after[end..];
        }
        let trimmed = text.trim_start();
        if trimmed.starts_with('[') {
            if let Some(close) = trimmed.find("]:") {
                if let Some(target) = trimmed[close + 2..].split_whitespace().next() {
                    targets.push(target.to_string());
                }
            }
        }
    }
    targets
}

/// GitHub's anchors for the headings of a markdown text.
fn heading_anchors(markdown: &str) -> BTreeSet<String> {
    let mut anchors = BTreeSet::new();
    let mut seen: std::collections::HashMap<String, usize> = Default::default();
    for line in prose_lines(markdown) {
        let hashes = line.chars().take_while(|c| *c == '#').count();
        if hashes == 0 || hashes > 6 || !line[hashes..].starts_with(' ') {
            continue;
        }
        let title = line[hashes..].trim().trim_end_matches('#').trim();
        let slug: String = title
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let count = seen.entry(slug.clone()).or_insert(0);
        let anchor = if *count == 0 {
            slug.clone()
        } else {
            format!("{slug}-{count}")
        };
        *count += 1;
        anchors.insert(anchor);
    }
    anchors
}

#[test]
fn every_relative_link_in_the_docs_resolves() {
    let root = repo_root();
    let files = markdown_files(&root);
    assert!(files.len() > 1, "no docs/ found under {}", root.display());
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in &files {
        let text = read(file);
        for target in link_targets(&text) {
            if target.is_empty()
                || target.contains("://")
                || target.starts_with("mailto:")
                || target.starts_with('/')
            {
                continue;
            }
            checked += 1;
            let (path, anchor) = match target.split_once('#') {
                Some((path, anchor)) => (path, Some(anchor)),
                None => (target.as_str(), None),
            };
            let resolved = if path.is_empty() {
                file.clone()
            } else {
                file.parent().expect("a file has a folder").join(path)
            };
            let name = file.strip_prefix(&root).unwrap_or(file).display();
            if !resolved.exists() {
                broken.push(format!("{name}: {target} (no such file)"));
                continue;
            }
            if let Some(anchor) = anchor {
                if resolved.extension().is_some_and(|e| e == "md")
                    && !heading_anchors(&read(&resolved)).contains(anchor)
                {
                    broken.push(format!("{name}: {target} (no such heading)"));
                }
            }
        }
    }
    assert!(
        checked > 10,
        "only {checked} links found: is the reader right?"
    );
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn readme_names_every_template_parameter_and_route() {
    let root = repo_root();
    let template = read(&root.join("template.yaml"));
    let readme = read(&root.join("README.md"));

    let mut parameters = Vec::new();
    let mut in_parameters = false;
    for line in template.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            in_parameters = line.trim_end() == "Parameters:";
            continue;
        }
        if in_parameters {
            if let Some(name) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':')) {
                if !name.starts_with(' ') && !name.starts_with('#') {
                    parameters.push(name.to_string());
                }
            }
        }
    }
    assert!(parameters.len() >= 5, "template parameters: {parameters:?}");
    // One silence parameter per provider, documented once as
    // `<Provider>SilenceHours`.
    let per_provider = |name: &str| {
        readme.contains("`<Provider>SilenceHours`")
            && callhooks::route_table::PROVIDERS
                .iter()
                .any(|p| name == format!("{}SilenceHours", p.template_prefix))
    };
    let missing: Vec<_> = parameters
        .iter()
        .filter(|p| !readme.contains(&format!("`{p}`")) && !per_provider(p))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md's parameter table lacks: {missing:?}"
    );

    let paths: Vec<&str> = template
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Path: "))
        .map(|p| p.trim().trim_matches(['"', '\'']))
        .collect();
    assert!(!paths.is_empty(), "no route paths in template.yaml");
    let missing: Vec<_> = paths.iter().filter(|p| !readme.contains(**p)).collect();
    assert!(
        missing.is_empty(),
        "README.md's route table lacks: {missing:?}"
    );
}

#[test]
fn the_readers_read_what_they_should() {
    let doc = "# Top\n## A `code` title!\n## Top\n```\n# not a heading [x](nowhere.md)\n```\n\
               see [storage](storage.md#items-and-keys) and `[no](link.md)`\n[ref]: other.md\n";
    assert_eq!(
        heading_anchors(doc),
        BTreeSet::from(["top".into(), "a-code-title".into(), "top-1".into()])
    );
    assert_eq!(
        link_targets(doc),
        vec!["storage.md#items-and-keys".to_string(), "other.md".into()]
    );
    assert_eq!(
        key_words("{owner_sk}#PART#{index:04}"),
        vec!["PART".to_string()]
    );
    assert_eq!(key_words("CALL#{provider}#{id}"), vec!["CALL".to_string()]);
    assert_eq!(
        string_literals("// \"no\"\npub const A: &str = \"GSI1PK\";\n#[cfg(test)]\n\"x\""),
        vec!["GSI1PK".to_string()]
    );
}

/// The repository stands alone: no file points at documents outside it
/// (a design brief or provider documents kept next to a checkout).
#[test]
fn no_file_refers_to_documents_outside_the_repository() {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let skipped = name.starts_with('.')
                || matches!(
                    name.as_str(),
                    "target" | "corpus" | "artifacts" | "logs" | "bench-results"
                );
            if skipped {
                continue;
            }
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let root = repo_root();
    let mut files = Vec::new();
    walk(&root, &mut files);
    // Built from parts so this file does not name them itself.
    // Lines are compared in lower case.
    let needles = [
        ["design", ".md"].concat(),
        ["shared/", "seeds"].concat(),
        ["seed ", "00"].concat(),
        ["seeds ", "00"].concat(),
        ["the seed", "'s"].concat(),
        ["of the ", "seed"].concat(),
        ["the seed ", "lists"].concat(),
    ];
    let mut found = Vec::new();
    let mut read = 0;
    for file in &files {
        let Ok(text) = fs::read_to_string(file) else {
            continue; // not text
        };
        read += 1;
        for (number, line) in text.lines().enumerate() {
            let lower = line.to_lowercase();
            if needles.iter().any(|n| lower.contains(n.as_str())) {
                let name = file.strip_prefix(&root).unwrap_or(file).display();
                found.push(format!("{name}:{}: {}", number + 1, line.trim()));
            }
        }
    }
    assert!(read > 50, "only {read} files read under {}", root.display());
    assert!(
        found.is_empty(),
        "say it in the project's own words or point to docs/:\n{}",
        found.join("\n")
    );
}

/// Every path of this repository a doc names in a code span (`shared/...`,
/// `functions/...`, `scripts/...`...) exists: a file moved is a doc to fix.
#[test]
fn every_repository_path_the_docs_name_exists() {
    let root = repo_root();
    let docs = markdown_files(&root);
    let roots = [
        "shared/",
        "functions/",
        "scripts/",
        "tests/",
        "cli/",
        "bench/",
        "events/",
        "fuzz/",
        "examples/",
    ];
    let mut missing = Vec::new();
    for doc in docs {
        for span in code_spans(&read(&doc)) {
            // A path alone, not a command or a pattern.
            let path = span.trim().trim_end_matches('/');
            if !roots.iter().any(|r| path.starts_with(r))
                || path.contains(|c: char| c.is_whitespace() || "*<>{}$|".contains(c))
            {
                continue;
            }
            if !root.join(path).exists() {
                missing.push(format!("{}: {span}", doc.display()));
            }
        }
    }
    missing.sort();
    missing.dedup();
    assert!(
        missing.is_empty(),
        "paths that do not exist:\n{}",
        missing.join("\n")
    );
}
