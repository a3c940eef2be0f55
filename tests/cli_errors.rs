//! Errors that name their cause: a profile the files do not define, an endpoint that does not
//! answer, plan, state and journal files that cannot be read, and flags a command cannot honour.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use support::{entitle, ran};

/// Writes the shared config and credentials files of a fake home.
fn aws_files(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let config = dir.join("config");
    let credentials = dir.join("credentials");
    std::fs::write(
        &config,
        "[default]\nregion = eu-west-1\n\n[profile prod-admin]\nregion = eu-west-1\n\n[sso-session corp]\nsso_region = eu-west-1\n",
    )
    .unwrap();
    std::fs::write(
        &credentials,
        "[staging]\naws_access_key_id = AKIDTESTTESTTEST\naws_secret_access_key = test\n",
    )
    .unwrap();
    (config, credentials)
}

#[test]
fn a_misspelt_profile_is_named_with_the_files_read_and_the_profiles_they_define() {
    let dir = tempfile::tempdir().unwrap();
    let (config, credentials) = aws_files(dir.path());
    for how in ["flag", "environment"] {
        let mut command = entitle(None);
        command
            .env("AWS_CONFIG_FILE", &config)
            .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
            .arg("discover");
        match how {
            "flag" => command.args(["--profile", "prod-admn"]),
            _ => command.env("AWS_PROFILE", "prod-admn"),
        };
        let started = Instant::now();
        let result = ran(&mut command);
        assert_eq!(result.code, 1, "{how}: {}", result.stderr);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{how}: refused at once, not after IMDS timeouts"
        );
        assert!(
            result
                .stderr
                .contains("profile `prod-admn` is not defined in"),
            "{how}: {}",
            result.stderr
        );
        assert!(
            result.stderr.contains(&format!("`{}`", config.display())),
            "{how} names the config file: {}",
            result.stderr
        );
        assert!(
            result
                .stderr
                .contains(&format!("`{}`", credentials.display())),
            "{how} names the credentials file: {}",
            result.stderr
        );
        assert!(
            result
                .stderr
                .contains("the profiles there: `default`, `prod-admin`, `staging`"),
            "{how} lists the profiles that exist (not the sso-session): {}",
            result.stderr
        );
        assert!(
            result
                .stderr
                .contains("hint: name one of the profiles listed"),
            "{how}: {}",
            result.stderr
        );
        assert!(!result.stderr.contains("IMDS"), "{how}: {}", result.stderr);
    }
}

#[test]
fn a_profile_in_no_file_says_the_files_were_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let result = ran(entitle(None)
        .env("AWS_CONFIG_FILE", dir.path().join("absent-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.path().join("absent-credentials"),
        )
        .args(["discover", "--profile", "prod"]));
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert!(
        result.stderr.contains("absent-config` (not found)")
            && result.stderr.contains("they define no profile"),
        "{}",
        result.stderr
    );
}

#[test]
fn an_existing_profile_passes_the_check() {
    // A profile the credentials file defines reaches the endpoint (here an emulator), whatever
    // the config file says.
    let dir = tempfile::tempdir().unwrap();
    let (config, credentials) = aws_files(dir.path());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sandbox = rt.block_on(support::start(entitle::sandbox::state::State::demo()));
    let result = ran(entitle(Some(&sandbox.endpoint()))
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
        .args(["discover", "--profile", "staging"]));
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert!(
        !result.stderr.contains("is not defined"),
        "{}",
        result.stderr
    );
}

#[test]
fn an_endpoint_that_does_not_answer_fails_fast_naming_service_and_endpoint() {
    // A port bound and closed again: nothing listens there, every connection is refused.
    let port = support::free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let result = ran(entitle(Some(&endpoint)).arg("discover"));
    let took = started.elapsed();
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert!(
        took < Duration::from_secs(30),
        "connections never made are not retried for a minute (took {took:?})"
    );
    assert!(
        result
            .stderr
            .contains(&format!("could not connect to `{endpoint}`")),
        "names the endpoint: {}",
        result.stderr
    );
    assert!(
        result.stderr.contains("organizations:"),
        "names the service: {}",
        result.stderr
    );
    assert!(
        result.stderr.contains("hint: check the endpoint"),
        "{}",
        result.stderr
    );
}
