//! Every list of vendors outside the Rust code agrees with the registry.
//!
//! `shared/src/registry.rs` is the one list of vendors: `VendorName`, secret
//! parsing, client dispatch and the profiles are generated from it. But the
//! deployment (`template.yaml`), the local stack (`local/`), the end-to-end
//! tests and the documentation name the vendors too, in text the compiler
//! never sees. These tests read those files and fail, naming the file and
//! what to change, when one of them disagrees with `VendorName::ALL`.
//!
//! A sixth vendor takes its folder (`shared/src/vendors/<vendor>/`), one line
//! in `shared/src/registry.rs`, its sandbox module
//! (`local/sandbox/vendors/<vendor>.py` and one line in
//! `local/sandbox/vendors/__init__.py`) and its document
//! (`docs/vendors/<vendor>.md`). Everything else that must follow is checked
//! here: the template's `Vendors` parameter (and the `PutSecretValue` grant
//! if vendorlink writes the vendor's secret back), `local/localstack.py`,
//! `local/with-functions`, `local/bench_report.py`, the sandbox's and the
//! client's tests, the end-to-end tests, the README and `docs/`.
//!
//! The files are read as plain text, simply (no YAML or Python parser); a
//! check that can no longer find what it looks for fails and says what it
//! looked for. Nothing here needs an emulator, Python or the network: a
//! plain `cargo test` runs it.

use std::fs;
use std::path::{Path, PathBuf};

use vendorlink_shared::vendors::ExternalIdSource;
use vendorlink_shared::VendorName;

const REGISTRY: &str = "the registry (shared/src/registry.rs)";

// ------------------------------------------------------------ the registry

/// The registry's vendor names, in registry order.
fn registry() -> Vec<String> {
    names_where(|_| true)
}

/// The names of the vendors for which `keep` holds, in registry order.
fn names_where(keep: impl Fn(VendorName) -> bool) -> Vec<String> {
    VendorName::ALL
        .into_iter()
        .filter(|vendor| keep(*vendor))
        .map(|vendor| vendor.as_str().to_owned())
        .collect()
}

/// `(vendor, default role name)` for every vendor, in registry order.
fn default_role_names() -> Vec<(String, String)> {
    VendorName::ALL
        .into_iter()
        .map(|vendor| (vendor.as_str().to_owned(), vendor.default_role().name))
        .collect()
}

fn sorted<T: Ord>(mut items: Vec<T>) -> Vec<T> {
    items.sort();
    items
}

// ---------------------------------------------------------- reading files

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A file of the repository, by its path from the repository's root.
fn read(file: &str) -> String {
    let path = root().join(file);
    fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {file} ({}): {e}", path.display()))
}

/// The names (without extension) of the files ending in `.<ext>` in `dir`,
/// sorted.
fn file_stems(dir: &str, ext: &str) -> Vec<String> {
    let path = root().join(dir);
    let entries = fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("cannot list {dir} ({}): {e}", path.display()));
    let mut stems: Vec<String> = entries
        .map(|entry| {
            entry
                .unwrap_or_else(|e| panic!("cannot list {dir}: {e}"))
                .path()
        })
        .filter(|file| file.extension().and_then(|e| e.to_str()) == Some(ext))
        .filter_map(|file| file.file_stem().and_then(|s| s.to_str()).map(str::to_owned))
        .collect();
    stems.sort();
    stems
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Every `"..."` string in `text`, in order.
fn quoted(text: &str) -> Vec<String> {
    text.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// Every `` `...` `` span in `text`, in order.
fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

fn unquote(value: &str) -> &str {
    let value = value.trim();
    for quote in ['"', '\''] {
        if value.len() >= 2 && value.starts_with(quote) && value.ends_with(quote) {
            return &value[1..value.len() - 1];
        }
    }
    value
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

// ------------------------------------------------------- template.yaml

/// The value of `field` of the template parameter `parameter`.
fn template_parameter(template: &str, parameter: &str, field: &str) -> String {
    let lines: Vec<&str> = template.lines().collect();
    let parameters = lines
        .iter()
        .position(|line| line.trim_end() == "Parameters:")
        .expect("template.yaml has no top-level `Parameters:` section");
    let header = format!("{parameter}:");
    let start = lines
        .iter()
        .enumerate()
        .skip(parameters + 1)
        .find(|(_, line)| indent(line) == 2 && line.trim() == header)
        .map(|(i, _)| i)
        .unwrap_or_else(|| panic!("template.yaml has no parameter `{parameter}` under Parameters"));
    let prefix = format!("{field}:");
    for line in lines.iter().skip(start + 1) {
        if line.trim().is_empty() {
            continue;
        }
        if indent(line) <= 2 {
            break;
        }
        if let Some(value) = line.trim().strip_prefix(&prefix) {
            return unquote(value).to_owned();
        }
    }
    panic!("template.yaml parameter `{parameter}` has no `{field}`")
}

/// The template's top-level `Description`, on one line.
fn template_description(template: &str) -> String {
    let mut lines = template
        .lines()
        .skip_while(|line| !line.starts_with("Description:"));
    let first = lines
        .next()
        .expect("template.yaml has no top-level `Description:`");
    let mut text = first.trim_start_matches("Description:").to_owned();
    for line in lines {
        if !line.trim().is_empty() && indent(line) == 0 {
            break;
        }
        text.push(' ');
        text.push_str(line);
    }
    one_line(text.trim_start_matches([' ', '>', '-', '|']))
}

/// One policy statement that allows `secretsmanager:PutSecretValue`: the
/// template resource it belongs to and its `Resource` entries.
struct WriteGrant {
    resource: String,
    secrets: Vec<String>,
}

/// Whether a YAML line holds more than blanks or a comment.
fn is_content(line: &str) -> bool {
    !line.trim().is_empty() && !line.trim().starts_with('#')
}

/// Every statement of the template that allows `secretsmanager:PutSecretValue`.
fn put_secret_value_grants(template: &str) -> Vec<WriteGrant> {
    let lines: Vec<&str> = template.lines().collect();
    let mut grants = Vec::new();
    for (at, line) in lines.iter().enumerate() {
        if !is_content(line) || !line.contains("secretsmanager:PutSecretValue") {
            continue;
        }
        // The `Action` key: this line, or (for a list of actions) the
        // nearest line above it that is indented less.
        let action = if line.trim().trim_start_matches("- ").starts_with("Action") {
            at
        } else {
            match (0..at)
                .rev()
                .find(|&j| is_content(lines[j]) && indent(lines[j]) < indent(line))
            {
                Some(j) => j,
                None => continue,
            }
        };
        if !lines[action]
            .trim()
            .trim_start_matches("- ")
            .starts_with("Action")
        {
            continue;
        }
        // The statement: the list item (`- Sid: ...`) the key belongs to.
        let start = if lines[action].trim().starts_with("- ") {
            action
        } else {
            (0..action)
                .rev()
                .find(|&j| {
                    lines[j].trim().starts_with("- ") && indent(lines[j]) < indent(lines[action])
                })
                .unwrap_or_else(|| {
                    panic!(
                        "template.yaml line {}: cannot find the policy statement of this Action",
                        action + 1
                    )
                })
        };
        let base = indent(lines[start]);
        let statement: Vec<&str> = lines
            .iter()
            .skip(start + 1)
            .take_while(|line| !is_content(line) || indent(line) > base)
            .copied()
            .collect();
        let resource = (0..start)
            .rev()
            .find(|&j| {
                indent(lines[j]) == 2 && is_content(lines[j]) && lines[j].trim().ends_with(':')
            })
            .map(|j| lines[j].trim().trim_end_matches(':').to_owned())
            .unwrap_or_default();
        grants.push(WriteGrant {
            resource,
            secrets: statement_resources(lines[start], &statement),
        });
    }
    grants
}

/// The `Resource` entries of a statement, given its first line (`- Sid: ...`)
/// and the lines after it.
fn statement_resources(first: &str, rest: &[&str]) -> Vec<String> {
    let key_indent = indent(first) + 2;
    let first_key = first.trim().trim_start_matches("- ");
    let keys = std::iter::once((0, first_key)).chain(
        rest.iter()
            .enumerate()
            .filter(|(_, line)| indent(line) == key_indent && !line.trim().starts_with('-'))
            .map(|(i, line)| (i + 1, line.trim())),
    );
    let mut resources = Vec::new();
    for (position, key) in keys {
        let Some(value) = key.strip_prefix("Resource:") else {
            continue;
        };
        if !value.trim().is_empty() {
            resources.push(secret_name(value));
            continue;
        }
        for line in rest.iter().skip(position) {
            let item = line.trim();
            if item.is_empty() || item.starts_with('#') {
                continue;
            }
            match item.strip_prefix("- ") {
                Some(entry) if indent(line) >= key_indent => resources.push(secret_name(entry)),
                _ => break,
            }
        }
    }
    resources
}

/// The vendor a `${SecretPrefix}<vendor>-??????` secret ARN names (also as
/// `!If [Enables<Vendor>, !Sub "<arn>", !Ref AWS::NoValue]`); anything else
/// as written.
fn secret_name(resource: &str) -> String {
    let resource = resource.trim().trim_matches(['"', '\'']);
    let resource = resource
        .strip_suffix(", !Ref AWS::NoValue]")
        .unwrap_or(resource);
    match resource.split_once("${SecretPrefix}") {
        Some((_, name)) => {
            let name = name.trim_end_matches(['"', '\'']);
            name.strip_suffix("-??????").unwrap_or(name).to_owned()
        }
        None => resource.to_owned(),
    }
}

#[test]
fn template_vendors_parameter_defaults_to_every_registered_vendor_in_order() {
    let default = template_parameter(&read("template.yaml"), "Vendors", "Default");
    let listed: Vec<String> = default
        .split(',')
        .map(|name| name.trim().to_owned())
        .collect();
    assert_eq!(
        listed,
        registry(),
        "template.yaml Vendors.Default lists {listed:?} but {REGISTRY} has {:?}: \
         set `Default: {}`",
        registry(),
        registry().join(",")
    );
}

#[test]
fn template_vendors_parameter_allows_exactly_the_registered_vendors() {
    let pattern = template_parameter(&read("template.yaml"), "Vendors", "AllowedPattern");
    // The alternatives of each innermost group `(a|b|c)`.
    let mut groups: Vec<Vec<String>> = Vec::new();
    let mut open = None;
    for (i, c) in pattern.char_indices() {
        match c {
            '(' => open = Some(i + 1),
            ')' => {
                if let Some(start) = open.take() {
                    groups.push(pattern[start..i].split('|').map(str::to_owned).collect());
                }
            }
            _ => {}
        }
    }
    let alternatives = registry().join("|");
    let fix = format!("set `AllowedPattern: ^({alternatives})(,({alternatives}))*$`");
    assert!(
        !groups.is_empty(),
        "template.yaml Vendors.AllowedPattern `{pattern}` has no group of vendor names: {fix}"
    );
    for group in groups {
        assert_eq!(
            group,
            registry(),
            "template.yaml Vendors.AllowedPattern lists {group:?} but {REGISTRY} has {:?}: {fix}",
            registry()
        );
    }
}

#[test]
fn template_vendors_parameter_constraint_description_names_every_registered_vendor() {
    let description =
        template_parameter(&read("template.yaml"), "Vendors", "ConstraintDescription");
    let names = description
        .rsplit_once(" of ")
        .map(|(_, names)| names)
        .unwrap_or(description.as_str());
    let listed: Vec<String> = names
        .split(',')
        .flat_map(|part| part.split(" and "))
        .flat_map(|part| part.split(" or "))
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .collect();
    assert_eq!(
        listed,
        registry(),
        "template.yaml Vendors.ConstraintDescription lists {listed:?} but {REGISTRY} has {:?}: \
         set `ConstraintDescription: a comma-separated list (no spaces) of {}`",
        registry(),
        registry().join(", ")
    );
}

#[test]
fn template_grants_put_secret_value_only_on_the_secrets_vendorlink_writes_back() {
    let writers = names_where(|vendor| vendor.profile().writes_back_secret());
    let grants = put_secret_value_grants(&read("template.yaml"));
    let fix = format!(
        "each function policy's secretsmanager:PutSecretValue statement must list exactly \
         `!Sub arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:${{SecretPrefix}}<vendor>-??????` \
         for the vendors whose profile().writes_back_secret() is true ({writers:?}), \
         and none for the others"
    );
    assert!(
        !grants.is_empty() || writers.is_empty(),
        "template.yaml grants secretsmanager:PutSecretValue nowhere, but vendorlink writes back \
         the secrets of {writers:?} (profile().writes_back_secret()): {fix}"
    );
    for grant in grants {
        assert_eq!(
            sorted(grant.secrets.clone()),
            sorted(writers.clone()),
            "template.yaml {} may PutSecretValue on the secrets of {:?} but the vendors whose \
             profile().writes_back_secret() is true are {writers:?}: {fix}",
            grant.resource,
            grant.secrets
        );
    }
}

#[test]
fn template_description_names_every_vendor_by_its_title() {
    let description = template_description(&read("template.yaml"));
    for vendor in VendorName::ALL {
        let title = vendor.profile().title;
        assert!(
            description.contains(title),
            "template.yaml's Description does not name {title} ({vendor}), which {REGISTRY} \
             has: add \"{title}\" to the list of vendors in its first lines"
        );
    }
}

// ---------------------------------------------------------- local stack

/// The strings of the Python tuple assigned to `name` at the start of a line
/// (`NAME = ("a", "b")`, on one line or several).
/// The file's `VENDORS = (...)` tuple lists the registry's vendors in order.
fn assert_vendors_tuple_is_the_registry(text: &str, file: &str) {
    let listed = python_tuple(text, file, "VENDORS");
    assert_eq!(
        listed,
        registry(),
        "{file} VENDORS lists {listed:?} but {REGISTRY} has {:?}: set VENDORS to that tuple",
        registry()
    );
}

fn python_tuple(text: &str, file: &str, name: &str) -> Vec<String> {
    let key = format!("{name} = (");
    let at = text
        .match_indices(&key)
        .map(|(at, _)| at)
        .find(|&at| at == 0 || text[..at].ends_with('\n'))
        .unwrap_or_else(|| panic!("{file} has no line `{key}...)`"));
    let body = &text[at + key.len()..];
    let end = body
        .find(')')
        .unwrap_or_else(|| panic!("{file}: `{key}` is never closed"));
    quoted(&body[..end])
}

/// The top-level `"key": value` entries of the Python dict literal opened on
/// the first line that starts (after indentation) with `opening`, up to the
/// `}` that closes it at the indentation of that line.
fn python_dict(text: &str, file: &str, opening: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|line| line.trim_start().starts_with(opening) && line.trim_end().ends_with('{'))
        .unwrap_or_else(|| panic!("{file} has no line starting with `{opening}`"));
    let base = indent(lines[start]);
    let mut entries = Vec::new();
    for line in lines.iter().skip(start + 1) {
        let item = line.trim();
        if item.starts_with('}') && indent(line) <= base {
            break;
        }
        if let Some((key, value)) = item
            .strip_prefix('"')
            .and_then(|item| item.split_once("\":"))
        {
            entries.push((indent(line), key.to_owned(), value.trim().to_owned()));
        }
    }
    let top = entries.iter().map(|entry| entry.0).min().unwrap_or(0);
    entries
        .into_iter()
        .filter(|entry| entry.0 == top)
        .map(|(_, key, value)| (key, value))
        .collect()
}

fn keys(entries: &[(String, String)]) -> Vec<String> {
    entries.iter().map(|(key, _)| key.clone()).collect()
}

#[test]
fn local_stack_seeds_every_registered_vendor() {
    let file = "local/localstack.py";
    let text = read(file);
    assert_vendors_tuple_is_the_registry(&text, file);

    let demo = text
        .find("def demo_secrets(")
        .map(|at| &text[at..])
        .unwrap_or_else(|| panic!("{file} has no `def demo_secrets(`"));
    let secrets = keys(&python_dict(demo, file, "return {"));
    assert_eq!(
        sorted(secrets.clone()),
        sorted(registry()),
        "{file} demo_secrets() writes the secrets of {secrets:?} but {REGISTRY} has {:?}: \
         give every vendor its secret there (its fields: shared/src/vendors/<vendor>/secret.rs), \
         with `base_url` pointing at the sandbox's `/<vendor>` prefix",
        registry()
    );

    let in_secret =
        names_where(|vendor| vendor.profile().external_id != ExternalIdSource::IssuedByVendor);
    let principals = keys(&python_dict(&text, file, "DEMO_PRINCIPALS = {"));
    assert_eq!(
        sorted(principals.clone()),
        sorted(in_secret.clone()),
        "{file} DEMO_PRINCIPALS has AWS accounts for {principals:?} but the vendors whose \
         principal is in the secret (profile().external_id is not IssuedByVendor) are \
         {in_secret:?}: give exactly those a placeholder account id"
    );
}

#[test]
fn local_stack_without_aws_managed_policies_gives_an_inline_policy_to_every_role_that_has_none() {
    let file = "local/localstack.py";
    let text = read(file);
    let lines: Vec<&str> = text.lines().collect();
    let line = lines
        .windows(2)
        .find(|pair| {
            pair[0].starts_with("for ")
                && pair[0].contains(" in (")
                && pair[1].contains("WITHOUT_AWS_MANAGED")
        })
        .map(|pair| pair[0])
        .unwrap_or_else(|| {
            panic!(
                "{file} has no `for _vendor in (...):` loop that gives WITHOUT_AWS_MANAGED \
                 inline policies"
            )
        });
    let listed = quoted(line);
    let without_inline = names_where(|vendor| vendor.default_role().inline_policy.is_none());
    assert_eq!(
        sorted(listed.clone()),
        sorted(without_inline.clone()),
        "{file} gives an inline read-only policy (for an emulator without AWS managed policies) \
         to {listed:?} but the vendors whose default role has no inline policy are \
         {without_inline:?}: list exactly those in `{}`",
        line.trim()
    );
}

#[test]
fn local_function_host_enables_every_registered_vendor_by_default() {
    let file = "local/with-functions";
    let text = read(file);
    let key = "${VENDORS:-";
    let start = text
        .find(key)
        .map(|at| at + key.len())
        .unwrap_or_else(|| panic!("{file} has no default for VENDORS (`{key}...}}`)"));
    let end = text[start..]
        .find('}')
        .map(|len| start + len)
        .unwrap_or_else(|| panic!("{file}: `{key}` is never closed"));
    let listed: Vec<String> = text[start..end].split(',').map(str::to_owned).collect();
    assert_eq!(
        listed,
        registry(),
        "{file} enables {listed:?} by default but {REGISTRY} has {:?}: \
         set `export VENDORS=\"${{VENDORS:-{}}}\"`",
        registry(),
        registry().join(",")
    );
}

#[test]
fn bench_report_counts_every_registered_vendor_and_its_documented_rate_limit() {
    let file = "local/bench_report.py";
    let text = read(file);
    assert_vendors_tuple_is_the_registry(&text, file);

    let limits_line = text
        .lines()
        .find(|line| line.starts_with("LIMITS = {"))
        .unwrap_or_else(|| panic!("{file} has no line `LIMITS = {{...}}`"));
    let limits: Vec<(String, String)> = quoted(limits_line)
        .chunks(2)
        .map(|pair| (pair[0].clone(), pair.get(1).cloned().unwrap_or_default()))
        .collect();
    let documented: Vec<(String, String)> = VendorName::ALL
        .into_iter()
        .filter_map(|vendor| {
            let limit = vendor.profile().rate_limit?;
            Some((
                vendor.as_str().to_owned(),
                format!("{}/min", limit.requests_per_minute),
            ))
        })
        .collect();
    assert_eq!(
        sorted(limits.clone()),
        sorted(documented.clone()),
        "{file} LIMITS is {limits:?} but the vendors' profiles (profile().rate_limit) document \
         {documented:?}: list exactly those, as \"<requests_per_minute>/min\""
    );
}

// ------------------------------------------------------------- sandbox

#[test]
fn sandbox_registry_lists_one_module_per_registered_vendor_in_order() {
    let file = "local/sandbox/vendors/__init__.py";
    let listed = python_tuple(&read(file), file, "MODULES");
    assert_eq!(
        listed,
        registry(),
        "{file} MODULES lists {listed:?} but {REGISTRY} has {:?}: \
         one line per vendor, in registry order",
        registry()
    );
}

#[test]
fn sandbox_has_a_module_named_after_each_registered_vendor_and_no_other() {
    let dir = "local/sandbox/vendors";
    let modules: Vec<String> = file_stems(dir, "py")
        .into_iter()
        .filter(|module| module != "__init__")
        .collect();
    assert_eq!(
        modules,
        sorted(registry()),
        "{dir}/ holds the modules {modules:?} but {REGISTRY} has {:?}: each vendor needs \
         {dir}/<vendor>.py (a sandbox_core.vendor.Vendor subclass exported as VENDOR), \
         and no module may serve a vendor the registry does not have",
        registry()
    );
    for vendor in registry() {
        let file = format!("{dir}/{vendor}.py");
        let text = read(&file);
        assert!(
            text.contains(&format!("name = \"{vendor}\"")),
            "{file} does not set `name = \"{vendor}\"` on its Vendor class: the name is the \
             vendor's path prefix and seed key, and must be its name in {REGISTRY}"
        );
        assert!(
            text.lines().any(|line| line.starts_with("VENDOR = ")),
            "{file} does not export its Vendor class as `VENDOR = <Class>` at the end of the module"
        );
    }
}

#[test]
fn sandbox_tests_cover_every_registered_vendor() {
    for vendor in registry() {
        let file = format!("local/sandbox/tests/test_{vendor}.py");
        assert!(
            root().join(&file).is_file(),
            "{file} is missing: every vendor in {REGISTRY} has its sandbox contract tests \
             (see local/sandbox/README.md, \"Adding a vendor\")"
        );
    }
    let file = "local/sandbox/tests/harness.py";
    let seeded = keys(&python_dict(&read(file), file, "SEED"));
    assert_eq!(
        sorted(seeded.clone()),
        sorted(registry()),
        "{file} SEED has test credentials for {seeded:?} but {REGISTRY} has {:?}: \
         give every vendor its section",
        registry()
    );
}

#[test]
fn vendor_client_suite_tests_every_registered_vendor() {
    let suite = "shared/tests/vendors/main.rs";
    let text = read(suite);
    for vendor in registry() {
        let file = format!("shared/tests/vendors/{vendor}.rs");
        let declaration = format!("mod {vendor};");
        assert!(
            root().join(&file).is_file() && text.lines().any(|line| line.trim() == declaration),
            "{file} is missing or {suite} does not declare `{declaration}`: every vendor in \
             {REGISTRY} has its client's tests against its sandbox (the `sandbox` feature)"
        );
    }
}

// ------------------------------------------------------------ e2e tests

#[test]
fn end_to_end_tests_expect_every_registered_vendor_with_its_default_role() {
    let file = "tests/e2e/test_run_event.py";
    let text = read(file);
    assert_vendors_tuple_is_the_registry(&text, file);

    let roles: Vec<(String, String)> = python_dict(&text, file, "ROLE_NAMES = {")
        .into_iter()
        .map(|(vendor, value)| (vendor, quoted(&value).into_iter().next().unwrap_or(value)))
        .collect();
    assert_eq!(
        sorted(roles.clone()),
        sorted(default_role_names()),
        "{file} ROLE_NAMES is {roles:?} but the default roles (VendorName::default_role) are \
         {:?}: give every vendor its default role's name",
        default_role_names()
    );
}

// ---------------------------------------------------------- documentation

/// The rows (cells trimmed) of the first Markdown table whose header row
/// starts with `header`.
fn table(text: &str, file: &str, header: &str) -> Vec<Vec<String>> {
    let mut lines = text
        .lines()
        .map(str::trim)
        .skip_while(|line| !line.starts_with(header));
    assert!(
        lines.next().is_some(),
        "{file} has no table whose header starts with `{header}`"
    );
    lines.next(); // the |---| row
    lines
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            line.trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().to_owned())
                .collect()
        })
        .collect()
}

/// The first cell of each row, without backticks.
fn first_cells(rows: &[Vec<String>]) -> Vec<String> {
    rows.iter()
        .map(|row| row[0].trim_matches('`').to_owned())
        .collect()
}

/// `(first cell, first backticked name in the second cell)` of each row.
fn vendor_and_role(rows: &[Vec<String>]) -> Vec<(String, String)> {
    rows.iter()
        .map(|row| {
            let role = row
                .get(1)
                .and_then(|cell| backticked(cell).into_iter().next())
                .unwrap_or_default();
            (row[0].trim_matches('`').to_owned(), role)
        })
        .collect()
}

/// The names in backticks in the last cell of the table row for `variable`.
fn variable_row(text: &str, file: &str, variable: &str) -> Vec<String> {
    let start = format!("| `{variable}` |");
    let row = text
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with(&start))
        .unwrap_or_else(|| panic!("{file} has no table row starting with `{start}`"));
    let last = row.trim_matches('|').rsplit('|').next().unwrap_or_default();
    backticked(last)
}

/// The text from the line `heading` to the next heading of the same level.
fn section<'a>(text: &'a str, file: &str, heading: &str) -> &'a str {
    let start = text
        .match_indices(heading)
        .map(|(at, _)| at)
        .find(|&at| {
            (at == 0 || text[..at].ends_with('\n')) && text[at + heading.len()..].starts_with('\n')
        })
        .unwrap_or_else(|| panic!("{file} has no section `{heading}`"));
    let level = heading.split(' ').next().unwrap_or("##");
    let body = &text[start + heading.len()..];
    let end = body.find(&format!("\n{level} ")).unwrap_or(body.len());
    &body[..end]
}

#[test]
fn readme_vendors_variable_lists_every_registered_vendor() {
    let listed = variable_row(&read("README.md"), "README.md", "VENDORS");
    assert_eq!(
        listed,
        registry(),
        "README.md's Configuration row for `VENDORS` lists {listed:?} but {REGISTRY} has {:?}: \
         list each as `<vendor>`, in registry order",
        registry()
    );
}

#[test]
fn readme_default_roles_table_gives_each_vendor_its_default_role_name() {
    let rows = table(&read("README.md"), "README.md", "| vendor | default role |");
    let listed = vendor_and_role(&rows);
    assert_eq!(
        listed,
        default_role_names(),
        "README.md's \"Trust roles\" table lists (vendor, role) {listed:?} but {REGISTRY} and \
         the vendors' default roles (VendorName::default_role) give {:?}: one row per vendor, \
         in registry order, `| <vendor> | `<role name>` | <policies> |`",
        default_role_names()
    );
}

#[test]
fn readme_shows_the_secret_of_every_registered_vendor() {
    let secrets = section(&read("README.md"), "README.md", "## Vendor secrets").to_owned();
    let key = "create-secret --name vendorlink/";
    let listed: Vec<String> = secrets
        .split(key)
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                .collect()
        })
        .collect();
    assert_eq!(
        listed,
        registry(),
        "README.md's \"Vendor secrets\" section shows the secrets of {listed:?} but {REGISTRY} \
         has {:?}: add an `aws secretsmanager {key}<vendor>` example for each vendor, \
         in registry order",
        registry()
    );
}

#[test]
fn readme_introduction_names_every_vendor_by_its_title() {
    let readme = read("README.md");
    let introduction = one_line(readme.split("\n## ").next().unwrap_or_default());
    for vendor in VendorName::ALL {
        let title = vendor.profile().title;
        assert!(
            introduction.contains(title),
            "README.md's introduction (before the first `##` heading) does not name {title} \
             ({vendor}), which {REGISTRY} has: add \"{title}\" to the bold list of vendors"
        );
    }
}

#[test]
fn every_vendor_profile_points_at_its_own_document_under_docs_vendors() {
    for vendor in VendorName::ALL {
        let expected = format!("docs/vendors/{vendor}.md");
        let docs = vendor.profile().docs;
        assert_eq!(
            docs, expected,
            "shared/src/vendors/{vendor}/mod.rs PROFILE.docs is {docs:?}: set it to {expected:?}"
        );
        assert!(
            root().join(&expected).is_file(),
            "{expected} is missing: every vendor in {REGISTRY} has a document of the facts its \
             client relies on, with their sources, and a \"Sandbox contract\" section"
        );
    }
}

#[test]
fn docs_vendors_holds_one_document_per_registered_vendor_titled_as_its_profile() {
    let documents = file_stems("docs/vendors", "md");
    assert_eq!(
        documents,
        sorted(registry()),
        "docs/vendors/ holds documents for {documents:?} but {REGISTRY} has {:?}: one \
         docs/vendors/<vendor>.md per vendor, and none for a vendor the registry does not have",
        registry()
    );
    for vendor in VendorName::ALL {
        let file = format!("docs/vendors/{vendor}.md");
        let text = read(&file);
        let first = text.lines().next().unwrap_or_default();
        let title = vendor.profile().title;
        assert_eq!(
            first,
            format!("# {title}"),
            "{file} starts with {first:?}: start it with `# {title}` (the vendor's \
             profile().title in shared/src/vendors/{vendor}/mod.rs)"
        );
    }
}

#[test]
fn docs_index_links_every_vendor_document() {
    let file = "docs/README.md";
    let text = read(file);
    let mut linked: Vec<String> = text
        .split("](vendors/")
        .skip(1)
        .filter_map(|rest| rest.split_once(".md)").map(|(name, _)| name.to_owned()))
        .collect();
    linked.sort();
    linked.dedup();
    assert_eq!(
        linked,
        sorted(registry()),
        "{file} links the vendor documents of {linked:?} but {REGISTRY} has {:?}: \
         give each vendor a row `| [vendors/<vendor>.md](vendors/<vendor>.md) | ... |`",
        registry()
    );
}

#[test]
fn architecture_tables_list_every_registered_vendor() {
    let file = "docs/architecture.md";
    let text = read(file);

    let listed = variable_row(&text, file, "VENDORS");
    assert_eq!(
        listed,
        registry(),
        "{file}'s configuration contract row for `VENDORS` lists {listed:?} but {REGISTRY} \
         has {:?}: list each as `<vendor>`, in registry order",
        registry()
    );

    for (header, what) in [
        ("| vendor | required fields |", "secrets contract"),
        ("| vendor | principal |", "trust parameters"),
    ] {
        let listed = first_cells(&table(&text, file, header));
        assert_eq!(
            listed,
            registry(),
            "{file}'s {what} table (`{header} ...`) lists {listed:?} but {REGISTRY} has {:?}: \
             one row per vendor, in registry order",
            registry()
        );
    }

    let roles = vendor_and_role(&table(&text, file, "| vendor | role |"));
    assert_eq!(
        roles,
        default_role_names(),
        "{file}'s default roles table lists (vendor, role) {roles:?} but the default roles \
         (VendorName::default_role) are {:?}: one row per vendor, in registry order",
        default_role_names()
    );
}
