//! `--sandbox` never sends a byte beyond its emulator, whatever the environment says: proxies
//! (upper and lower case, `ALL_PROXY`), endpoint overrides for every service, and a profile whose
//! `credential_process` would run a program. The proxies point at a loopback listener that counts
//! the connections it is offered; the endpoint overrides at a loopback port nobody serves.
#![allow(clippy::unwrap_used)]

mod support;

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use support::{entitle, free_port, ran};

/// A loopback listener that accepts and counts every connection, answering nothing.
fn counting_listener() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            if stream.is_ok() {
                counted.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    (format!("http://{address}"), count)
}

#[test]
fn the_sandbox_ignores_proxies_endpoint_overrides_and_profiles() {
    let dir = tempfile::tempdir().unwrap();
    let (proxy, offered) = counting_listener();
    let nowhere = format!("http://127.0.0.1:{}", free_port());
    let marker = dir.path().join("credential-process-ran");
    let config = dir.path().join("config");
    std::fs::write(
        &config,
        format!(
            "[profile hostile]\nregion = eu-west-1\ncredential_process = sh -c 'touch {}'\nendpoint_url = {nowhere}\n",
            marker.display()
        ),
    )
    .unwrap();

    let hostile = || {
        let mut command = entitle(None);
        command
            .current_dir(dir.path())
            .env("AWS_CONFIG_FILE", &config)
            .env("AWS_PROFILE", "hostile")
            .env_remove("NO_PROXY")
            .env_remove("no_proxy");
        for variable in [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "http_proxy",
            "https_proxy",
            "all_proxy",
        ] {
            command.env(variable, &proxy);
        }
        for variable in [
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_ORGANIZATIONS",
            "AWS_ENDPOINT_URL_LICENSE_MANAGER",
            "AWS_ENDPOINT_URL_MARKETPLACE_AGREEMENT",
            "AWS_ENDPOINT_URL_STS",
            "AWS_ENDPOINT_URL_BEDROCK",
            "AWS_ENDPOINT_URL_IAM",
            "AWS_ENDPOINT_URL_COST_EXPLORER",
        ] {
            command.env(variable, &nowhere);
        }
        command
    };
    let plan = support::repository("plans/claude-sonnet-4-5.toml");
    for args in [
        vec!["--sandbox", "discover"],
        vec!["--sandbox", "plan", plan.as_str()],
        vec!["--sandbox", "status", plan.as_str()],
    ] {
        let result = ran(hostile().args(&args));
        assert_eq!(
            result.code,
            0,
            "`entitle {}` under a hostile environment:\n{}{}",
            args.join(" "),
            result.stdout,
            result.stderr
        );
    }
    assert_eq!(
        offered.load(Ordering::SeqCst),
        0,
        "no connection may be offered to the proxy"
    );
    assert!(
        !marker.exists(),
        "the profile's credential_process must not run under --sandbox"
    );
}
