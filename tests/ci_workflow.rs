//! The example GitHub Actions workflow (`examples/github-actions/entitle.yml`) and the pipeline
//! guide (`docs/ci.md`) are checked here:
//!
//! - the workflow passes a workflow linter installed from PyPI into the test venv (jactionlint,
//!   a maintained fork of actionlint that ships its binary in the wheel);
//! - it has the triggers, token permissions, concurrency groups, OIDC credentials, S3 journal and
//!   artifacts that docs/ci.md describes, parsed as YAML;
//! - every `entitle` command line in it, and in docs/ci.md's shell examples, uses only
//!   subcommands, flags and flag values that `entitle <subcommand> --help` of the built binary
//!   shows.
#![allow(clippy::print_stderr, clippy::unwrap_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

/// The workflow, relative to the repository.
const WORKFLOW: &str = "examples/github-actions/entitle.yml";
/// The guide, relative to the repository.
const GUIDE: &str = "docs/ci.md";
/// The linter, as `python_venv` in tests/support/mod.rs installs it.
const LINTER_REQUIREMENT: &str = "jactionlint==2.3.0";
const LINTER_VERSION: &str = "2.3.0";

fn repository_path(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repository_path(path))
        .unwrap_or_else(|error| panic!("could not read {path}: {error}"))
}

fn workflow() -> Yaml {
    let text = read(WORKFLOW);
    let mut documents = YamlLoader::load_from_str(&text)
        .unwrap_or_else(|error| panic!("{WORKFLOW} is not valid YAML: {error}"));
    assert_eq!(
        documents.len(),
        1,
        "{WORKFLOW} must hold exactly one YAML document"
    );
    documents.remove(0)
}

// ---------------------------------------------------------------------------------------------
// The linter
// ---------------------------------------------------------------------------------------------

/// The linter's binary in the test venv, installed there if the venv predates it (the venv is
/// only created once; `python_venv` lists the linter for new ones).
fn linter() -> PathBuf {
    let venv = support::python_venv();
    let binary = venv.join("bin/jactionlint");
    let installed = Command::new(&binary)
        .arg("--version")
        .output()
        .is_ok_and(|output| {
            output.status.success()
                && String::from_utf8_lossy(&output.stdout).contains(LINTER_VERSION)
        });
    if !installed {
        let output = Command::new(venv.join("bin/python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                LINTER_REQUIREMENT,
            ])
            .output()
            .unwrap_or_else(|error| panic!("could not run pip in {}: {error}", venv.display()));
        assert!(
            output.status.success(),
            "could not install {LINTER_REQUIREMENT} from PyPI into {} ({}):\n{}{}",
            venv.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    binary
}

#[test]
fn the_venv_installs_the_linter() {
    // `python_venv` may list one package more than moto and boto3: the linter, pinned.
    let support = read("tests/support/mod.rs");
    assert!(
        support.contains(&format!("\"{LINTER_REQUIREMENT}\"")),
        "python_venv in tests/support/mod.rs must install {LINTER_REQUIREMENT}, the linter this test runs"
    );
}

#[test]
fn the_workflow_passes_the_linter() {
    let linter = linter();
    // No user-wide configuration of the developer's, and never the network.
    let home = tempfile::tempdir().unwrap();
    let output = Command::new(&linter)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path())
        .env_remove("JACTIONLINT_ONLINE")
        .args([
            "--no-online",
            "--no-color",
            "--profile=default",
            // An example cannot know the commit SHAs a team pins its actions to (docs/ci.md
            // says to pin them); every other rule of the default profile applies.
            "--ignore=unpinned-uses",
            // Warnings and notes fail the test too.
            "--strict-exit",
            WORKFLOW,
        ])
        .output()
        .unwrap_or_else(|error| panic!("could not run {}: {error}", linter.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "jactionlint {LINTER_VERSION} finds fault with {WORKFLOW} ({}):\n{stdout}{stderr}",
        output.status
    );
    eprintln!("jactionlint {LINTER_VERSION}: {WORKFLOW} is clean{}", {
        let notes = stderr.trim();
        if notes.is_empty() {
            String::new()
        } else {
            format!(" ({notes})")
        }
    });
}

// ---------------------------------------------------------------------------------------------
// The workflow's structure
// ---------------------------------------------------------------------------------------------

fn text(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(text) | Yaml::Real(text) => Some(text.clone()),
        Yaml::Integer(number) => Some(number.to_string()),
        Yaml::Boolean(flag) => Some(flag.to_string()),
        _ => None,
    }
}

fn keys(value: &Yaml) -> BTreeSet<String> {
    value
        .as_hash()
        .map(|hash| hash.keys().filter_map(text).collect())
        .unwrap_or_default()
}

fn strings(value: &Yaml) -> Vec<String> {
    match value {
        Yaml::Array(items) => items.iter().filter_map(text).collect(),
        other => text(other).into_iter().collect(),
    }
}

/// One job of the workflow.
struct Job<'a> {
    id: String,
    body: &'a Yaml,
}

impl Job<'_> {
    fn steps(&self) -> &[Yaml] {
        self.body["steps"].as_vec().map_or(&[], Vec::as_slice)
    }

    fn uses(&self, action: &str) -> Vec<&Yaml> {
        self.steps()
            .iter()
            .filter(|step| {
                step["uses"]
                    .as_str()
                    .is_some_and(|uses| uses.split('@').next() == Some(action))
            })
            .collect()
    }

    /// The `entitle` command lines of the job's `run:` steps, in order.
    fn entitle_lines(&self) -> Vec<Invocation> {
        self.steps()
            .iter()
            .filter_map(|step| step["run"].as_str())
            .flat_map(|script| invocations(script, &format!("{WORKFLOW}: job `{}`", self.id)))
            .collect()
    }

    fn condition(&self) -> String {
        self.body["if"].as_str().unwrap_or_default().to_owned()
    }
}

fn jobs(workflow: &Yaml) -> Vec<Job<'_>> {
    workflow["jobs"]
        .as_hash()
        .map(|jobs| {
            jobs.iter()
                .map(|(id, body)| Job {
                    id: text(id).unwrap_or_default(),
                    body,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The jobs whose `if:` runs them on this event (and only those naming it).
fn jobs_for<'a>(jobs: &'a [Job<'a>], event: &str) -> Vec<&'a Job<'a>> {
    jobs.iter()
        .filter(|job| job.condition().contains(&format!("'{event}'")))
        .collect()
}

#[test]
fn the_workflow_plans_pull_requests_and_applies_merges_and_on_a_schedule() {
    let workflow = workflow();
    let on = &workflow["on"];
    let triggers = keys(on);
    for trigger in ["pull_request", "push", "schedule"] {
        assert!(
            triggers.contains(trigger),
            "{WORKFLOW} must run on `{trigger}` (it runs on {triggers:?})"
        );
    }
    assert!(
        strings(&on["push"]["branches"]).contains(&"main".to_owned()),
        "the apply on merge runs on pushes to main"
    );
    let crons: Vec<String> = on["schedule"]
        .as_vec()
        .map(|entries| {
            entries
                .iter()
                .filter_map(|entry| text(&entry["cron"]))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        !crons.is_empty(),
        "`schedule:` needs a cron entry for the scheduled apply"
    );
    for cron in &crons {
        assert_eq!(
            cron.split_whitespace().count(),
            5,
            "cron `{cron}` must have five fields"
        );
    }

    let jobs = jobs(&workflow);
    let on_pull_requests = jobs_for(&jobs, "pull_request");
    assert_eq!(
        on_pull_requests.len(),
        1,
        "exactly one job runs on pull requests"
    );
    let plan = on_pull_requests[0];
    let lines = plan.entitle_lines();
    let planned = lines
        .iter()
        .find(|line| line.subcommand() == Some("plan"))
        .unwrap_or_else(|| panic!("job `{}` must run `entitle plan`", plan.id));
    for flag in ["--detailed-exitcode", "--out"] {
        assert!(
            planned.has_flag(flag),
            "the pull request's plan runs with `{flag}`: {planned}"
        );
    }
    assert!(
        !lines.iter().any(|line| line.subcommand() == Some("apply")),
        "a pull request must never apply"
    );
    let saved = planned
        .flag_value("--out")
        .unwrap_or_else(|| panic!("`--out` needs a file: {planned}"));
    let kept = plan.uses("actions/upload-artifact").iter().any(|step| {
        strings(&step["with"]["path"])
            .iter()
            .flat_map(|paths| {
                paths
                    .lines()
                    .map(str::trim)
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .any(|path| path == saved)
    });
    assert!(
        kept,
        "job `{}` must upload the saved plan `{saved}` as an artifact",
        plan.id
    );

    for event in ["push", "schedule"] {
        let appliers = jobs_for(&jobs, event);
        assert_eq!(appliers.len(), 1, "exactly one job runs on `{event}`");
        let apply = appliers[0]
            .entitle_lines()
            .into_iter()
            .find(|line| line.subcommand() == Some("apply"))
            .unwrap_or_else(|| {
                panic!(
                    "job `{}` ({event}) must run `entitle apply`",
                    appliers[0].id
                )
            });
        assert!(
            apply.has_flag("--auto-approve"),
            "an apply without a terminal needs `--auto-approve`: {apply}"
        );
        assert!(
            !apply.has_flag("--ignore-gates") && !apply.has_flag("--ignore-gate"),
            "a pipeline never ignores gates on its own: {apply}"
        );
    }

    // The merged apply applies the plan saved on the pull request (or one saved in the job).
    let merged = jobs_for(&jobs, "push")[0];
    let applies_saved_plan = merged.entitle_lines().iter().any(|line| {
        line.subcommand() == Some("apply")
            && line
                .args
                .iter()
                .any(|arg| arg.ends_with(".json") || arg.contains("SAVED"))
    });
    assert!(
        applies_saved_plan,
        "job `{}` must apply a saved plan (the pull request's, or one saved in the job)",
        merged.id
    );
}

#[test]
fn the_workflow_uses_oidc_least_privilege_tokens_and_one_apply_at_a_time() {
    let workflow = workflow();

    // The workflow grants nothing by default; each job asks.
    let top = &workflow["permissions"];
    assert!(
        top.as_hash().is_some_and(|hash| hash.is_empty()) || top.as_str() == Some("read-all"),
        "top-level `permissions:` must be `{{}}` (each job asks for what it needs)"
    );

    let jobs = jobs(&workflow);
    let mut aws_jobs = 0;
    for job in &jobs {
        let permissions = &job.body["permissions"];
        let writes: Vec<String> = permissions
            .as_hash()
            .map(|hash| {
                hash.iter()
                    .filter(|(_, level)| level.as_str() == Some("write"))
                    .filter_map(|(scope, _)| text(scope))
                    .collect()
            })
            .unwrap_or_default();
        let credentials = job.uses("aws-actions/configure-aws-credentials");
        let entitle_lines = job.entitle_lines();
        let calls_aws = entitle_lines
            .iter()
            .any(|line| matches!(line.subcommand(), Some("plan" | "apply" | "doctor")));
        if calls_aws {
            aws_jobs += 1;
            assert_eq!(
                credentials.len(),
                1,
                "job `{}` calls AWS and must get its credentials from one configure-aws-credentials step",
                job.id
            );
            assert_eq!(
                writes,
                vec!["id-token".to_owned()],
                "job `{}` must have `id-token: write` (OIDC) and write nothing else",
                job.id
            );
            let with = &credentials[0]["with"];
            assert!(
                with["role-to-assume"]
                    .as_str()
                    .is_some_and(|role| !role.is_empty()),
                "job `{}` assumes a role (`role-to-assume`)",
                job.id
            );
            for key in ["aws-access-key-id", "aws-secret-access-key"] {
                assert!(
                    with[key].is_badvalue(),
                    "job `{}` must not use long-lived keys (`{key}`): OIDC only",
                    job.id
                );
            }
            // doctor first: nothing is planned or applied when a prerequisite fails.
            assert_eq!(
                entitle_lines.first().and_then(Invocation::subcommand),
                Some("doctor"),
                "job `{}` runs `entitle doctor` before anything else",
                job.id
            );
        } else {
            assert!(
                writes.is_empty(),
                "job `{}` does not call AWS and needs no write permission (has {writes:?})",
                job.id
            );
        }
    }
    assert!(
        aws_jobs >= 3,
        "plan, merged apply and scheduled apply call AWS"
    );

    // Every job that applies is in one concurrency group that never cancels a running apply.
    let mut groups = BTreeSet::new();
    for job in jobs.iter().filter(|job| {
        job.entitle_lines()
            .iter()
            .any(|line| line.subcommand() == Some("apply"))
    }) {
        let concurrency = &job.body["concurrency"];
        let group = concurrency["group"]
            .as_str()
            .unwrap_or_else(|| panic!("job `{}` applies and needs `concurrency.group`", job.id));
        assert!(
            !group.contains("${{"),
            "job `{}`: the apply group must be one fixed name for every event, not `{group}`",
            job.id
        );
        assert_eq!(
            concurrency["cancel-in-progress"].as_bool(),
            Some(false),
            "job `{}`: a running apply must never be cancelled (it would leave the journal's lock)",
            job.id
        );
        assert!(
            job.body["environment"].as_str().is_some(),
            "job `{}` applies from an environment (the apply role trusts that environment)",
            job.id
        );
        groups.insert(group.to_owned());
    }
    assert_eq!(
        groups.len(),
        1,
        "all apply jobs share one concurrency group (found {groups:?})"
    );
    assert!(
        workflow["concurrency"]["group"].as_str().is_some(),
        "the workflow has a top-level concurrency group (a newer push supersedes a pull request's plan)"
    );
}

#[test]
fn the_workflow_shares_the_s3_journal_and_builds_entitle_with_cargo() {
    let workflow = workflow();
    let journal = workflow["env"]["ENTITLE_JOURNAL"]
        .as_str()
        .unwrap_or_else(|| panic!("{WORKFLOW} sets ENTITLE_JOURNAL for every job"));
    assert!(
        journal.starts_with("s3://") && journal.len() > "s3://".len(),
        "ENTITLE_JOURNAL is an s3://BUCKET/PREFIX location, not `{journal}`"
    );
    // entitle reads the variable: clap shows it in the help of `--journal`.
    let help = help(&[]);
    assert!(
        help.text.contains("ENTITLE_JOURNAL"),
        "`entitle --help` does not mention ENTITLE_JOURNAL: the workflow's journal would be ignored"
    );
    for job in jobs(&workflow) {
        for line in job.entitle_lines() {
            assert!(
                !line.has_flag("--journal"),
                "job `{}` should take the journal from ENTITLE_JOURNAL, not `--journal`: {line}",
                job.id
            );
        }
    }

    let builds: Vec<String> = jobs(&workflow)
        .iter()
        .flat_map(|job| job.steps().iter().filter_map(|step| step["run"].as_str()))
        .flat_map(str::lines)
        .filter(|line| line.contains("cargo") && line.contains(" install "))
        .map(str::to_owned)
        .collect();
    assert!(
        builds
            .iter()
            .any(|line| line.contains("--locked") && line.contains("--git")),
        "entitle is built with `cargo install --locked --git ...` (found {builds:?})"
    );
}

// ---------------------------------------------------------------------------------------------
// `entitle` command lines against the CLI
// ---------------------------------------------------------------------------------------------

/// One `entitle` command line found in a script.
#[derive(Debug, Clone)]
struct Invocation {
    /// Where it was found, for messages.
    origin: String,
    /// The words after `entitle`, quotes removed, redirections dropped.
    args: Vec<String>,
}

impl std::fmt::Display for Invocation {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "`entitle {}` ({})",
            self.args.join(" "),
            self.origin
        )
    }
}

impl Invocation {
    /// The first word that is not a flag or a flag's value (flags taking values are known from
    /// `entitle --help`).
    fn subcommand(&self) -> Option<&str> {
        let top = help(&[]);
        let mut words = self.args.iter();
        while let Some(word) = words.next() {
            if word.starts_with('-') {
                let name = word.split('=').next().unwrap_or(word);
                if top
                    .flags
                    .get(name)
                    .is_some_and(|flag| flag.value == Value::Required)
                    && !word.contains('=')
                {
                    words.next();
                }
                continue;
            }
            return Some(word.as_str());
        }
        None
    }

    fn has_flag(&self, flag: &str) -> bool {
        self.args
            .iter()
            .any(|arg| arg == flag || arg.starts_with(&format!("{flag}=")))
    }

    fn flag_value(&self, flag: &str) -> Option<String> {
        let position = self.args.iter().position(|arg| arg == flag)?;
        self.args.get(position + 1).cloned()
    }
}

/// Words and operators of a shell script, enough for the command lines of a workflow and a
/// guide: quotes, backslash line continuations, comments, `;`, `&&`, `||`, `|`, `(`, `)`, `$(`
/// and redirections. Expansions are kept as written (`"$PLAN"` is the word `$PLAN`).
fn shell_words(line: &str) -> Vec<Word> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut started = false;
    let mut chars = line.chars().peekable();
    let flush = |current: &mut String, started: &mut bool, words: &mut Vec<Word>| {
        if *started {
            words.push(Word::Text(std::mem::take(current)));
            *started = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                started = true;
                for inner in chars.by_ref() {
                    if inner == '\'' {
                        break;
                    }
                    current.push(inner);
                }
            }
            '"' => {
                started = true;
                while let Some(inner) = chars.next() {
                    match inner {
                        '"' => break,
                        '\\' => {
                            if let Some(escaped) = chars.next() {
                                current.push(escaped);
                            }
                        }
                        other => current.push(other),
                    }
                }
            }
            '\\' => {
                if let Some(escaped) = chars.next() {
                    started = true;
                    current.push(escaped);
                }
            }
            '#' if !started => break,
            ' ' | '\t' => flush(&mut current, &mut started, &mut words),
            ';' | '|' | '&' | '(' | ')' => {
                flush(&mut current, &mut started, &mut words);
                if matches!(c, '|' | '&') && chars.peek() == Some(&c) {
                    chars.next();
                }
                words.push(Word::Operator);
            }
            '$' if chars.peek() == Some(&'(') => {
                chars.next();
                flush(&mut current, &mut started, &mut words);
                words.push(Word::Operator);
            }
            '<' | '>' => {
                flush(&mut current, &mut started, &mut words);
                while matches!(chars.peek(), Some('>' | '&')) {
                    chars.next();
                }
                words.push(Word::Redirect);
            }
            other => {
                // `2>`: the descriptor belongs to the redirection.
                if other.is_ascii_digit() && !started && matches!(chars.peek(), Some('<' | '>')) {
                    continue;
                }
                started = true;
                current.push(other);
            }
        }
    }
    flush(&mut current, &mut started, &mut words);
    words
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Word {
    Text(String),
    Operator,
    Redirect,
}

/// Words after which a word is in command position.
const COMMAND_PREFIXES: &[&str] = &[
    "if", "then", "else", "elif", "do", "while", "until", "!", "time", "exec",
];

/// The `entitle` command lines of a script.
fn invocations(script: &str, origin: &str) -> Vec<Invocation> {
    let mut logical = Vec::new();
    let mut pending = String::new();
    for line in script.lines() {
        if let Some(continued) = line.strip_suffix('\\') {
            pending.push_str(continued);
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        logical.push(std::mem::take(&mut pending));
    }
    if !pending.is_empty() {
        logical.push(pending);
    }

    let mut found = Vec::new();
    for line in logical {
        let words = shell_words(&line);
        let mut command_position = true;
        let mut index = 0;
        while index < words.len() {
            match &words[index] {
                Word::Operator => command_position = true,
                Word::Redirect => index += 1, // the target
                Word::Text(word) if command_position => {
                    let is_assignment = word.contains('=')
                        && word.split('=').next().is_some_and(|name| {
                            !name.is_empty()
                                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        });
                    if COMMAND_PREFIXES.contains(&word.as_str()) || is_assignment {
                        // still in command position
                    } else {
                        command_position = false;
                        // `entitle`, or a path to it (`~/.cargo/bin/entitle`).
                        if word == "entitle" || word.ends_with("/entitle") {
                            let mut args = Vec::new();
                            let mut next = index + 1;
                            while next < words.len() {
                                match &words[next] {
                                    Word::Text(arg) => args.push(arg.clone()),
                                    Word::Redirect => next += 1,
                                    Word::Operator => break,
                                }
                                next += 1;
                            }
                            found.push(Invocation {
                                origin: format!("{origin}: {}", line.trim()),
                                args,
                            });
                            index = next;
                            continue;
                        }
                    }
                }
                Word::Text(_) => {}
            }
            index += 1;
        }
    }
    found
}

/// Whether a flag takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
    None,
    /// `--flag VALUE` or `--flag=VALUE`.
    Required,
    /// `--flag[=VALUE]`: only with `=`.
    Optional,
}

#[derive(Debug, Clone)]
struct Flag {
    value: Value,
    /// The possible values clap lists, if any.
    choices: Vec<String>,
}

/// What `entitle <path> --help` says.
#[derive(Debug, Clone)]
struct Help {
    text: String,
    flags: HashMap<String, Flag>,
    subcommands: BTreeSet<String>,
}

fn parse_help(text: &str) -> Help {
    let mut flags = HashMap::new();
    let mut subcommands = BTreeSet::new();
    let mut section = "";
    let mut last: Vec<String> = Vec::new();
    let mut in_choices = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if !line.starts_with(' ') && trimmed.ends_with(':') {
            section = trimmed;
            in_choices = false;
            continue;
        }
        if trimmed.is_empty() {
            in_choices = false;
            continue;
        }
        match section {
            "Commands:" => {
                let indent = line.len() - line.trim_start().len();
                if indent == 2
                    && let Some(name) = trimmed.split_whitespace().next()
                {
                    subcommands.insert(name.to_owned());
                }
            }
            "Options:" => {
                if trimmed.starts_with('-')
                    && line.starts_with("  ")
                    && !line.starts_with("          ")
                {
                    // `-v, --verbose...`, `--output <OUTPUT>`, `--sandbox[=<STATE_FILE>]`
                    let spec = trimmed.split("  ").next().unwrap_or(trimmed);
                    let value = if spec.contains("[=") {
                        Value::Optional
                    } else if spec.contains(" <") {
                        Value::Required
                    } else {
                        Value::None
                    };
                    last = spec
                        .split(", ")
                        .map(|part| {
                            part.split(['[', ' ', '.'])
                                .next()
                                .unwrap_or(part)
                                .to_owned()
                        })
                        .collect();
                    for name in &last {
                        flags.insert(
                            name.clone(),
                            Flag {
                                value,
                                choices: Vec::new(),
                            },
                        );
                    }
                    in_choices = false;
                } else if trimmed == "Possible values:" {
                    in_choices = true;
                } else if in_choices && let Some(choice) = trimmed.strip_prefix("- ") {
                    let choice = choice.split(':').next().unwrap_or(choice).trim().to_owned();
                    for name in &last {
                        if let Some(flag) = flags.get_mut(name) {
                            flag.choices.push(choice.clone());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Help {
        text: text.to_owned(),
        flags,
        subcommands,
    }
}

/// `entitle <path> --help` of the built binary, parsed (cached per path).
fn help(path: &[&str]) -> Help {
    use std::sync::{Mutex, OnceLock};
    type Cache = Mutex<BTreeMap<Vec<String>, Result<Help, String>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let key: Vec<String> = path.iter().map(|word| (*word).to_owned()).collect();
    let cache = CACHE.get_or_init(|| Mutex::new(BTreeMap::new()));
    if let Some(found) = cache.lock().unwrap().get(&key) {
        return found.clone().unwrap_or_else(|error| panic!("{error}"));
    }
    let result = help_uncached(path);
    cache.lock().unwrap().insert(key, result.clone());
    result.unwrap_or_else(|error| panic!("{error}"))
}

fn help_uncached(path: &[&str]) -> Result<Help, String> {
    let output = Command::new(env!("CARGO_BIN_EXE_entitle"))
        .args(path)
        .arg("--help")
        .env("NO_COLOR", "1")
        .env_remove("ENTITLE_JOURNAL")
        .output()
        .map_err(|error| format!("could not run entitle: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "`entitle {} --help` failed ({}): {}",
            path.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(parse_help(&String::from_utf8_lossy(&output.stdout)))
}

/// Whether `entitle <path> --help` succeeds: `path` names a command.
fn is_command(path: &[&str]) -> bool {
    help_uncached(path).is_ok()
}

/// Checks one command line against the CLI: every subcommand exists, every flag is in the help
/// of the command it is given to, every value is one the flag lists. The problems, empty when
/// it passes.
fn check(invocation: &Invocation) -> Vec<String> {
    let mut problems = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut current = help(&[]);
    let mut words = invocation.args.iter().peekable();
    while let Some(word) = words.next() {
        if word == "--" {
            break;
        }
        if word.starts_with('-') && word.len() > 1 {
            let (name, inline) = match word.split_once('=') {
                Some((name, value)) => (name, Some(value.to_owned())),
                None => (word.as_str(), None),
            };
            let Some(flag) = current.flags.get(name).cloned() else {
                problems.push(format!(
                    "`{name}` is not a flag of `entitle {}` (see `entitle {} --help`)",
                    path.join(" "),
                    path.join(" ")
                ));
                continue;
            };
            let value = match (flag.value, inline) {
                (Value::None, Some(value)) => {
                    problems.push(format!("`{name}` takes no value, got `{value}`"));
                    None
                }
                (Value::None | Value::Optional, None) => None,
                (_, Some(value)) => Some(value),
                (Value::Required, None) => match words.next() {
                    Some(value) => Some(value.clone()),
                    None => {
                        problems.push(format!("`{name}` needs a value"));
                        None
                    }
                },
            };
            if let Some(value) = value
                && !flag.choices.is_empty()
                && !value.starts_with('$')
                && !flag.choices.contains(&value)
            {
                problems.push(format!(
                    "`{name} {value}`: `{value}` is not one of {:?}",
                    flag.choices
                ));
            }
            continue;
        }
        if current.subcommands.contains(word.as_str()) {
            path.push(word.clone());
            let refs: Vec<&str> = path.iter().map(String::as_str).collect();
            current = help(&refs);
            continue;
        }
        if !current.subcommands.is_empty() {
            let mut refs: Vec<&str> = path.iter().map(String::as_str).collect();
            refs.push(word);
            if !is_command(&refs) {
                problems.push(format!(
                    "`{word}` is not a command of `entitle {}`",
                    path.join(" ")
                ));
            }
            // Nothing after an unknown command can be checked.
            break;
        }
        // A positional argument (a plan file, a saved plan, a shell): not checked.
    }
    problems
}

#[test]
fn every_entitle_command_line_of_the_workflow_is_one_the_cli_accepts() {
    let workflow = workflow();
    let lines: Vec<Invocation> = jobs(&workflow)
        .iter()
        .flat_map(Job::entitle_lines)
        .collect();
    let subcommands: BTreeSet<&str> = lines.iter().filter_map(Invocation::subcommand).collect();
    for expected in ["doctor", "plan", "apply"] {
        assert!(
            subcommands.contains(expected),
            "the workflow should run `entitle {expected}` (found {subcommands:?}); is the parser still finding the command lines?"
        );
    }
    let failures: Vec<String> = lines
        .iter()
        .flat_map(|line| {
            check(line)
                .into_iter()
                .map(move |problem| format!("{line}: {problem}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "command lines in {WORKFLOW} that the CLI refuses:\n{}",
        failures.join("\n")
    );
    eprintln!(
        "{} entitle command lines in {WORKFLOW} checked against the CLI",
        lines.len()
    );
}

/// The shell examples of a Markdown file (fenced blocks marked sh, bash, shell or console).
fn shell_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut inside: Option<(usize, bool, String)> = None;
    for (number, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            match inside.take() {
                Some((start, true, text)) => blocks.push((start, text)),
                Some((_, false, _)) => {}
                None => {
                    let shell = matches!(info.trim(), "sh" | "bash" | "shell" | "console");
                    inside = Some((number + 2, shell, String::new()));
                }
            }
            continue;
        }
        if let Some((_, _, text)) = inside.as_mut() {
            // `$ entitle ...` in console blocks.
            text.push_str(line.strip_prefix("$ ").unwrap_or(line));
            text.push('\n');
        }
    }
    blocks
}

#[test]
fn every_entitle_command_line_of_docs_ci_is_one_the_cli_accepts() {
    let guide = read(GUIDE);
    let lines: Vec<Invocation> = shell_blocks(&guide)
        .into_iter()
        .flat_map(|(start, block)| invocations(&block, &format!("{GUIDE}, block at line {start}")))
        .collect();
    assert!(
        lines.len() >= 5,
        "{GUIDE} shows the commands of a pipeline in sh blocks (found {} command lines)",
        lines.len()
    );
    let mut failures = Vec::new();
    for line in &lines {
        for problem in check(line) {
            failures.push(format!("{line}: {problem}"));
        }
    }
    assert!(
        failures.is_empty(),
        "command lines in {GUIDE} that the CLI refuses:\n{}",
        failures.join("\n")
    );
    eprintln!(
        "{} entitle command lines in {GUIDE} checked against the CLI",
        lines.len()
    );
}

// ---------------------------------------------------------------------------------------------
// The checker itself: it must catch what it is there to catch.
// ---------------------------------------------------------------------------------------------

#[test]
fn the_command_line_check_refuses_unknown_commands_flags_and_values() {
    let found = invocations(
        "set +e\n\
         code=0; entitle plan \"$PLAN\" --detailed-exitcode \\\n  --out plan.json > plan.txt 2>&1 || code=$?\n\
         cargo install --locked --git \"$URL\" entitle\n\
         echo \"run entitle apply later\"\n\
         entitle --output json apply plan.json --auto-approve --no-such-flag\n\
         entitle plan x.toml --output yaml\n\
         entitle frobnicate --auto-approve\n\
         if ! entitle doctor \"$PLAN\"; then exit 1; fi\n",
        "test",
    );
    let args: Vec<String> = found.iter().map(|line| line.args.join(" ")).collect();
    assert_eq!(
        args,
        vec![
            "plan $PLAN --detailed-exitcode --out plan.json",
            "--output json apply plan.json --auto-approve --no-such-flag",
            "plan x.toml --output yaml",
            "frobnicate --auto-approve",
            "doctor $PLAN",
        ],
        "the entitle command lines of the script (not cargo's argument, not echo's text)"
    );
    assert_eq!(found[1].subcommand(), Some("apply"));
    assert!(check(&found[0]).is_empty(), "{:?}", check(&found[0]));
    assert!(check(&found[4]).is_empty(), "{:?}", check(&found[4]));
    let unknown_flag = check(&found[1]);
    assert!(
        unknown_flag.len() == 1 && unknown_flag[0].contains("--no-such-flag"),
        "{unknown_flag:?}"
    );
    let bad_value = check(&found[2]);
    assert!(
        bad_value.len() == 1 && bad_value[0].contains("`yaml` is not one of"),
        "{bad_value:?}"
    );
    let unknown_command = check(&found[3]);
    assert!(
        unknown_command.len() == 1 && unknown_command[0].contains("`frobnicate` is not a command"),
        "{unknown_command:?}"
    );
    // A flag of another command is refused too: `--auto-approve` is apply's, not plan's.
    let misplaced = check(&Invocation {
        origin: "test".to_owned(),
        args: vec!["plan".into(), "x.toml".into(), "--auto-approve".into()],
    });
    assert!(
        misplaced.len() == 1
            && misplaced[0].contains("`--auto-approve` is not a flag of `entitle plan`"),
        "{misplaced:?}"
    );
}
