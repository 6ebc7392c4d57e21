//! A fresh clone sets up the same tools: every Python package `make`
//! installs is pinned with its whole dependency tree (constraints-dev.txt,
//! bench/constraints.txt, which the Makefile passes to pip as `-c`), and
//! the Rust toolchain is pinned (rust-toolchain.toml) to the version that
//! runs these checks, with the components `make lint` needs and nothing
//! that would make rustup download a target.

use callhooks_tests::{project_root, python};
use std::collections::BTreeMap;
use std::process::Command;

/// `name==version` lines (comments and blanks left out), names normalized
/// as pip compares them.
fn pins(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap().trim())
        .filter(|l| !l.is_empty())
        .map(|line| {
            let (name, version) = line
                .split_once("==")
                .unwrap_or_else(|| panic!("not pinned with ==: {line}"));
            let name = name.split('[').next().unwrap();
            (
                name.trim().to_ascii_lowercase().replace(['_', '.'], "-"),
                version.trim().to_string(),
            )
        })
        .collect()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(project_root().join(path)).unwrap()
}

#[test]
fn python_tools_are_pinned_with_their_whole_tree_and_make_uses_the_pins() {
    let makefile = read("Makefile");
    for (requirements, constraints) in [
        ("requirements-dev.txt", "constraints-dev.txt"),
        ("bench/requirements.txt", "bench/constraints.txt"),
    ] {
        let wanted = pins(&read(requirements));
        let locked = pins(&read(constraints));
        for (name, version) in &wanted {
            assert_eq!(
                locked.get(name),
                Some(version),
                "{constraints} must pin {name}=={version} as {requirements} does"
            );
        }
        assert!(
            makefile.contains(&format!("-r {requirements} -c {constraints}")),
            "the Makefile installs {requirements} without -c {constraints}"
        );
    }
    // What .venv holds is exactly the constraints (no package left
    // unpinned, none at another version).
    let frozen = Command::new(python())
        .args(["-m", "pip", "freeze", "--disable-pip-version-check"])
        .output()
        .expect("pip freeze in .venv");
    assert!(frozen.status.success());
    let installed = pins(&String::from_utf8_lossy(&frozen.stdout));
    let locked = pins(&read("constraints-dev.txt"));
    assert_eq!(
        installed, locked,
        ".venv differs from constraints-dev.txt: refresh it with `pip freeze` after changing requirements-dev.txt"
    );
}

#[test]
fn the_rust_toolchain_is_pinned_to_the_one_running_the_checks() {
    let toolchain = read("rust-toolchain.toml");
    let channel = toolchain
        .lines()
        .find_map(|l| l.trim().strip_prefix("channel = "))
        .expect("a channel")
        .trim_matches('"')
        .to_string();
    assert!(
        channel.split('.').count() == 3 && channel.split('.').all(|p| p.parse::<u32>().is_ok()),
        "an exact version, not {channel:?}"
    );
    for component in ["rustfmt", "clippy"] {
        assert!(
            toolchain.contains(&format!("\"{component}\"")),
            "{component}"
        );
    }
    assert!(
        !toolchain.contains("targets"),
        "a target listed here is downloaded before every cargo call; make adds aarch64 when it builds for it"
    );
    let rustc = Command::new("rustc")
        .arg("--version")
        .current_dir(project_root())
        .output()
        .expect("rustc --version");
    let version = String::from_utf8_lossy(&rustc.stdout);
    assert!(
        version.starts_with(&format!("rustc {channel} ")),
        "rust-toolchain.toml pins {channel}, the checks run {version}"
    );
}
