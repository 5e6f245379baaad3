//! The library's modules form layers: each uses only the modules listed
//! before it in `src/lib.rs`, so there are no import circles and the leaves
//! (ids, vendor names, errors) never depend on what builds on them. This
//! test reads the sources and fails on any `crate::<module>` path that
//! points up or sideways into a later layer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The layers, bottom up; a module may use modules of its own or earlier
/// layers only, and never itself through another module of its layer.
const LAYERS: &[&[&str]] = &[
    &["registry"],
    &["ids", "vendor_name"],
    &["error"],
    &["tls"],
    &["secret", "aws"],
    &["config", "policy"],
    &["vendors"],
    &["contract"],
    &["events"],
    &["ledger", "org", "member_iam"],
    &["secret_store"],
    &["ports"],
    &["tasks"],
    &["fakes"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src/") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            // Unit tests may reach anywhere (they build worlds of fakes).
            if path.file_name().is_some_and(|n| n != "tests") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The `crate::<module>` paths of a file's code, leaving out comments and
/// its `#[cfg(test)] mod tests` block.
fn uses(source: &str) -> Vec<String> {
    let code = source
        .split("#[cfg(test)]\nmod tests")
        .next()
        .unwrap_or_default();
    let mut found = Vec::new();
    for line in code.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let before = rest[..at].chars().last();
            rest = &rest[at + "crate::".len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let module: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.push(module);
        }
    }
    found
}

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src/");
        let module = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .map(|s| s.trim_end_matches(".rs").to_owned())
            .expect("a module name");
        if module == "lib" {
            continue;
        }
        let own = layer_of(&module).unwrap_or_else(|| {
            panic!("src/{module} is in no layer of tests/layering.rs: add it where it belongs")
        });
        let source = std::fs::read_to_string(file).expect("read a source file");
        for used in uses(&source) {
            if used == module {
                continue;
            }
            let Some(layer) = layer_of(&used) else {
                panic!(
                    "{} uses crate::{used}, which is in no layer",
                    relative.display()
                );
            };
            let sideways = layer == own;
            if layer > own || sideways {
                wrong
                    .entry(relative.display().to_string())
                    .or_default()
                    .push(used);
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "modules that use a module of their own or a later layer (see src/lib.rs's Layout): {wrong:?}"
    );
}
