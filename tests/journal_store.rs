//! Where journals live and their lock, through the library: locations, local directories and
//! files, and S3 in moto's server (a third-party implementation of S3 that honours
//! `If-None-Match` on PutObject) through the real SDK. Two writers at once, a journal from before
//! journals were kept per organisation, a torn last line, writes and uploads that fail, two
//! organisations with one rollout name, the lock refused, released and forced.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use entitle::apply::journal::{Entry, Event, History, Journal};
use entitle::apply::journal_store::{
    Holder, JournalError, JournalKey, JournalLocation, JournalStore, LockState, Unlocked,
};
use entitle::aws::{AwsClients, AwsSettings};
use support::{MANAGEMENT, Moto, create_bucket, delete_bucket, s3_keys};

const ROLLOUT: &str = "claude-sonnet-4-5";

fn key(organization: &str) -> JournalKey {
    JournalKey::new(organization, ROLLOUT).unwrap()
}

fn phase_active(phase: &str) -> Event {
    Event::PhaseActive {
        phase: phase.to_owned(),
    }
}

fn holder(command: &str, run: &str) -> Holder {
    Holder::new(
        command,
        run,
        Some("arn:aws:iam::100000000001:user/alice".to_owned()),
    )
}

/// Clients whose every service, S3 included, is `endpoint` (moto), with dummy credentials.
async fn clients(endpoint: &str) -> AwsClients {
    AwsClients::load(&AwsSettings {
        fixed_endpoint: Some(endpoint.to_owned()),
        max_attempts: 2,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        ..AwsSettings::default()
    })
    .await
}

/// Clients for the local tests: nothing is reached (local stores make no call).
async fn offline() -> AwsClients {
    clients("http://127.0.0.1:9").await
}

async fn local_store(location: JournalLocation, organization: &str) -> JournalStore {
    JournalStore::open(&offline().await, &location, &key(organization))
        .await
        .unwrap()
}

/// moto with a bucket, and an S3 store of `organization` in it (spool files under `spool`).
async fn s3_store(moto: &Moto, bucket: &str, organization: &str, spool: &Path) -> JournalStore {
    let location = JournalLocation::parse(&format!("s3://{bucket}/team/journals")).unwrap();
    JournalStore::open(
        &clients(&moto.endpoint).await,
        &location,
        &key(organization),
    )
    .await
    .unwrap()
    .with_spool(spool)
}

fn phases(history: &History) -> Vec<String> {
    history
        .entries
        .iter()
        .filter_map(|entry| match &entry.event {
            Event::PhaseActive { phase } => Some(phase.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn locations_are_a_directory_a_file_or_s3_and_nonsense_is_refused_with_the_forms() {
    assert_eq!(
        JournalLocation::parse(".entitle/journal").unwrap(),
        JournalLocation::Directory(PathBuf::from(".entitle/journal"))
    );
    assert_eq!(
        JournalLocation::parse("ci/journal.jsonl").unwrap(),
        JournalLocation::File(PathBuf::from("ci/journal.jsonl"))
    );
    assert_eq!(
        JournalLocation::parse("s3://acme-entitle/prod").unwrap(),
        JournalLocation::S3 {
            bucket: "acme-entitle".to_owned(),
            prefix: "prod".to_owned()
        }
    );
    assert_eq!(
        JournalLocation::parse("s3://acme-entitle/prod")
            .unwrap()
            .to_string(),
        "s3://acme-entitle/prod"
    );
    let error = JournalLocation::parse("s3://").unwrap_err();
    assert!(error.to_string().contains("needs a bucket"), "{error}");
    assert!(error.hint().unwrap().contains("s3://BUCKET/PREFIX"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_directory_keeps_each_organisations_journal_apart_and_round_trips() {
    let directory = tempfile::tempdir().unwrap();
    let location = JournalLocation::Directory(directory.path().to_owned());
    let staging = local_store(location.clone(), "o-staging0001").await;
    let production = local_store(location, "o-production01").await;

    let run = staging.begin("apply", None).await.unwrap();
    run.journal.record(phase_active("pilot")).unwrap();
    run.finish().await.unwrap();

    assert!(
        directory
            .path()
            .join("o-staging0001")
            .join(format!("{ROLLOUT}.jsonl"))
            .exists()
    );
    assert_eq!(phases(&staging.read().await.unwrap()), ["pilot"]);
    assert!(
        production.read().await.unwrap().entries.is_empty(),
        "another organisation's runs never mix in"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_local_writers_at_once_lose_no_line() {
    let directory = tempfile::tempdir().unwrap();
    let store = local_store(
        JournalLocation::Directory(directory.path().to_owned()),
        "o-abcdef0001",
    )
    .await;
    let first = store.journal().await.unwrap();
    let second = store.journal().await.unwrap();
    assert_ne!(first.run(), second.run());
    std::thread::scope(|scope| {
        for journal in [&first, &second] {
            scope.spawn(move || {
                for index in 0..300 {
                    journal
                        .record(phase_active(&format!("{}-{index}", journal.run())))
                        .unwrap();
                }
            });
        }
    });
    let history = store.read().await.unwrap();
    assert_eq!(history.entries.len(), 600);
    assert_eq!(history.unreadable, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_from_before_organisations_is_read_then_moved_under_the_organisation() {
    let directory = tempfile::tempdir().unwrap();
    let legacy = directory.path().join(format!("{ROLLOUT}.jsonl"));
    let old = Journal::open(&legacy).unwrap();
    old.record(phase_active("pilot")).unwrap();
    old.record(phase_active("workloads")).unwrap();
    drop(old);
    let store = local_store(
        JournalLocation::Directory(directory.path().to_owned()),
        "o-abcdef0001",
    )
    .await;

    // Reading changes nothing, and shows the old journal.
    assert_eq!(phases(&store.read().await.unwrap()), ["pilot", "workloads"]);
    assert!(legacy.exists());

    // The first write moves it, and says so.
    let journal = store.journal().await.unwrap();
    journal.record(phase_active("everyone")).unwrap();
    assert!(!legacy.exists(), "moved");
    let history = store.read().await.unwrap();
    assert_eq!(phases(&history), ["pilot", "workloads", "everyone"]);
    let migrated: Vec<&Entry> = history
        .entries
        .iter()
        .filter(|entry| matches!(entry.event, Event::Migrated { .. }))
        .collect();
    assert_eq!(migrated.len(), 1);
    let Event::Migrated { from, lines } = &migrated[0].event else {
        unreachable!()
    };
    assert_eq!(from, &legacy.display().to_string());
    assert_eq!(*lines, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_last_line_never_damages_the_next_runs_first_line() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("journal.jsonl");
    let store = local_store(JournalLocation::File(path.clone()), "o-abcdef0001").await;
    let killed = store.journal().await.unwrap();
    killed.record(phase_active("pilot")).unwrap();
    drop(killed);
    // The process was killed in the middle of its next line.
    use std::io::Write as _;
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(br#"{"at":"2026-11-23T10:00:00.000Z","run":"x","ev"#)
        .unwrap();

    let next = store.journal().await.unwrap();
    next.record(phase_active("workloads")).unwrap();
    let history = store.read().await.unwrap();
    assert_eq!(phases(&history), ["pilot", "workloads"]);
    assert_eq!(
        history.unreadable, 1,
        "the torn line is skipped and counted"
    );
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_write_that_fails_fails_every_later_record() {
    // Every write to /dev/full fails with "no space left on device", as on a full disk.
    let store = local_store(
        JournalLocation::File(PathBuf::from("/dev/full")),
        "o-abcdef0001",
    )
    .await;
    let journal = store.journal().await.unwrap();
    let first = journal.record(phase_active("pilot")).unwrap_err();
    assert!(first.to_string().contains("space"), "{first}");
    let later = journal.record(phase_active("pilot")).unwrap_err();
    assert!(later.to_string().contains("takes no more lines"), "{later}");
    let finished = journal.finish().await.unwrap_err();
    assert!(
        matches!(finished, JournalError::Failed { .. }),
        "{finished}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_lock_refuses_a_second_run_naming_the_holder_until_released() {
    let directory = tempfile::tempdir().unwrap();
    let store = local_store(
        JournalLocation::Directory(directory.path().to_owned()),
        "o-abcdef0001",
    )
    .await;
    let held = store.lock(&holder("apply", "run-1")).await.unwrap();
    let refused = store.lock(&holder("cleanup", "run-2")).await.unwrap_err();
    let message = refused.to_string();
    for part in [
        "rollout `claude-sonnet-4-5` of organisation `o-abcdef0001` is locked",
        "running `apply` (run run-1)",
        "as `arn:aws:iam::100000000001:user/alice`",
        "since ",
    ] {
        assert!(message.contains(part), "{message}");
    }
    assert!(
        refused
            .hint()
            .unwrap()
            .contains("entitle force-unlock PLAN.toml"),
        "{refused:?}"
    );
    assert!(matches!(
        store.lock_state().await.unwrap(),
        LockState::Held(Some(_))
    ));
    // A live process's OS lock cannot be forced.
    let forced = store.force_unlock(None).await.unwrap_err();
    assert!(
        matches!(forced, JournalError::HeldByLiveProcess { .. }),
        "{forced}"
    );
    held.release().await.unwrap();
    assert_eq!(store.lock_state().await.unwrap(), LockState::Free);
    store
        .lock(&holder("cleanup", "run-3"))
        .await
        .unwrap()
        .release()
        .await
        .unwrap();
    // A `.jsonl` file's lock is beside it.
    let file = local_store(
        JournalLocation::File(directory.path().join("one.jsonl")),
        "o-abcdef0001",
    )
    .await;
    let _held = file.lock(&holder("apply", "run-4")).await.unwrap();
    assert!(directory.path().join("one.jsonl.lock").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_round_trips_keeps_organisations_apart_and_two_runs_at_once_lose_no_line() {
    let moto = Moto::start(MANAGEMENT);
    create_bucket(&moto.endpoint, "acme-entitle").await;
    let spool = tempfile::tempdir().unwrap();
    let store = s3_store(&moto, "acme-entitle", "o-staging0001", spool.path()).await;
    let other = s3_store(&moto, "acme-entitle", "o-production01", spool.path()).await;
    assert_eq!(
        store.describe(),
        "s3://acme-entitle/team/journals/o-staging0001/claude-sonnet-4-5/"
    );

    // Two runs at once, each its own object: neither loses the other's lines.
    let first = store.journal().await.unwrap();
    let second = store.journal().await.unwrap();
    for index in 0..40 {
        first.record(phase_active(&format!("a{index}"))).unwrap();
        second.record(phase_active(&format!("b{index}"))).unwrap();
        if index == 20 {
            // The background uploads run in the middle: both runs' objects appear before the
            // runs finish.
            wait_for_keys(
                &moto,
                "acme-entitle",
                "team/journals/o-staging0001/claude-sonnet-4-5/runs/",
                2,
            )
            .await;
        }
    }
    first.finish().await.unwrap();
    second.finish().await.unwrap();
    let keys = s3_keys(
        &moto.endpoint,
        "acme-entitle",
        "team/journals/o-staging0001/claude-sonnet-4-5/runs/",
    )
    .await;
    assert_eq!(keys.len(), 2, "{keys:?}");

    // Read from anywhere: every line, in time order.
    let history = store.read().await.unwrap();
    assert_eq!(history.entries.len(), 80);
    assert_eq!(history.unreadable, 0);
    assert!(
        history
            .entries
            .windows(2)
            .all(|pair| pair[0].at <= pair[1].at)
    );
    assert!(other.read().await.unwrap().entries.is_empty());
    // Nothing left in the spool once the runs' objects are up.
    assert_eq!(
        std::fs::read_dir(spool.path())
            .map(|entries| entries
                .filter_map(Result::ok)
                .flat_map(|entry| walk(&entry.path()))
                .count())
            .unwrap_or(0),
        0
    );
}

/// Every file under `path`.
fn walk(path: &Path) -> Vec<PathBuf> {
    if path.is_dir() {
        std::fs::read_dir(path)
            .unwrap()
            .filter_map(Result::ok)
            .flat_map(|entry| walk(&entry.path()))
            .collect()
    } else {
        vec![path.to_owned()]
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lines_a_killed_run_left_in_its_spool_are_uploaded_by_the_next_run() {
    let moto = Moto::start(MANAGEMENT);
    create_bucket(&moto.endpoint, "acme-entitle").await;
    let spool = tempfile::tempdir().unwrap();
    let store = s3_store(&moto, "acme-entitle", "o-abcdef0001", spool.path()).await;
    // What a killed run leaves: its spool file, unlocked, with a torn last line.
    let directory = spool
        .path()
        .join("acme-entitle/team/journals/o-abcdef0001/claude-sonnet-4-5");
    std::fs::create_dir_all(&directory).unwrap();
    let line = |phase: &str| {
        serde_json::to_string(&Entry {
            at: "2026-11-23T10:00:00.000Z".to_owned(),
            run: "killed".to_owned(),
            event: phase_active(phase),
        })
        .unwrap()
    };
    std::fs::write(
        directory.join("killed.jsonl"),
        format!("{}\n{}\n{{\"at\":\"20", line("pilot"), line("workloads")),
    )
    .unwrap();

    let next = store.journal().await.unwrap();
    next.finish().await.unwrap();
    let history = store.read().await.unwrap();
    assert_eq!(phases(&history), ["pilot", "workloads"]);
    assert_eq!(history.unreadable, 1);
    assert!(!directory.join("killed.jsonl").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_s3_lock_refuses_a_second_run_and_force_unlock_removes_a_stale_one() {
    let moto = Moto::start(MANAGEMENT);
    create_bucket(&moto.endpoint, "acme-entitle").await;
    let spool = tempfile::tempdir().unwrap();
    let store = s3_store(&moto, "acme-entitle", "o-abcdef0001", spool.path()).await;
    let elsewhere = s3_store(&moto, "acme-entitle", "o-other00001", spool.path()).await;

    let held = store.lock(&holder("apply", "run-1")).await.unwrap();
    let refused = store.lock(&holder("apply", "run-2")).await.unwrap_err();
    assert!(
        refused.to_string().contains("running `apply` (run run-1)"),
        "{refused}"
    );
    // Another organisation's rollout of the same name has its own lock.
    elsewhere
        .lock(&holder("apply", "run-3"))
        .await
        .unwrap()
        .release()
        .await
        .unwrap();
    held.release().await.unwrap();
    assert_eq!(store.lock_state().await.unwrap(), LockState::Free);

    // A run killed while holding it: the object stays.
    let killed = store.lock(&holder("cleanup", "run-4")).await.unwrap();
    std::mem::forget(killed);
    let LockState::Held(Some(stale)) = store.lock_state().await.unwrap() else {
        panic!("the stale lock is held");
    };
    assert_eq!(stale.run, "run-4");
    assert!(store.lock(&holder("apply", "run-5")).await.is_err());
    // Shown one holder, the lock is not removed if it changed hands since.
    let mut other = stale.clone();
    other.run = "run-0".to_owned();
    assert!(matches!(
        store.force_unlock(Some(&other)).await.unwrap_err(),
        JournalError::LockChanged { .. }
    ));
    assert_eq!(
        store.force_unlock(Some(&stale)).await.unwrap(),
        Unlocked::Removed(stale)
    );
    assert_eq!(store.force_unlock(None).await.unwrap(), Unlocked::NotLocked);
    store
        .begin("apply", None)
        .await
        .unwrap()
        .finish()
        .await
        .unwrap();
    assert!(
        s3_keys(
            &moto.endpoint,
            "acme-entitle",
            "team/journals/o-abcdef0001/claude-sonnet-4-5/lock.json"
        )
        .await
        .is_empty(),
        "released at the end of the run"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_that_fails_fails_every_later_record() {
    let moto = Moto::start(MANAGEMENT);
    create_bucket(&moto.endpoint, "doomed-bucket").await;
    let spool = tempfile::tempdir().unwrap();
    let store = s3_store(&moto, "doomed-bucket", "o-abcdef0001", spool.path()).await;
    let journal = store.journal().await.unwrap();
    journal.record(phase_active("pilot")).unwrap();
    // The first line is uploaded; then the bucket goes away mid-run.
    wait_for_keys(&moto, "doomed-bucket", "", 1).await;
    delete_bucket(&moto.endpoint, "doomed-bucket").await;
    journal.record(phase_active("workloads")).unwrap();
    let failed = wait_for_failure(&journal).await;
    assert!(failed.contains("NoSuchBucket"), "{failed}");
    let refused = journal.record(phase_active("everyone")).unwrap_err();
    assert!(
        refused.to_string().contains("takes no more lines"),
        "{refused}"
    );
    assert!(journal.finish().await.is_err());
}

/// Waits (up to 10 s) until `count` objects are under `prefix` in the bucket: a background
/// upload has happened.
async fn wait_for_keys(moto: &Moto, bucket: &str, prefix: &str, count: usize) {
    for _ in 0..100 {
        if s3_keys(&moto.endpoint, bucket, prefix).await.len() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {count} object(s) under `{bucket}/{prefix}` after 10 s of background uploads");
}

/// Waits (up to 10 s) for the journal's background upload to fail.
async fn wait_for_failure(journal: &Journal) -> String {
    for _ in 0..100 {
        if let Some(reason) = journal.failed() {
            return reason;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the upload never failed");
}

/// An S3 endpoint that lets the journal's prefix be listed (empty) when `list_ok`, and answers
/// everything else with 403 AccessDenied, as S3 does for an identity without the permission.
async fn denying_s3(list_ok: bool) -> String {
    use axum::http::{Method, StatusCode, Uri};
    use axum::response::IntoResponse;
    let app = axum::Router::new().fallback(move |method: Method, uri: Uri| async move {
        let listing = method == Method::GET
            && uri.query().is_some_and(|query| query.contains("list-type=2"));
        if listing && list_ok {
            return (
                StatusCode::OK,
                [("content-type", "application/xml"), ("x-amz-bucket-region", "us-east-1")],
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>acme-entitle</Name><Prefix>team/</Prefix><KeyCount>0</KeyCount><MaxKeys>1</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>",
            )
                .into_response();
        }
        (
            StatusCode::FORBIDDEN,
            [("content-type", "application/xml")],
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>R403</RequestId></Error>",
        )
            .into_response()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_answering_403_is_refused_with_the_permissions_the_journal_needs() {
    let location = JournalLocation::parse("s3://acme-entitle/team").unwrap();

    // The journal's prefix cannot even be listed: refused before anything else, with the
    // permissions.
    let endpoint = denying_s3(false).await;
    let refused = JournalStore::open(&clients(&endpoint).await, &location, &key("o-abcdef0001"))
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("`s3://acme-entitle`"),
        "{refused}"
    );
    let hint = refused.hint().unwrap();
    for permission in [
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:ListBucket",
    ] {
        assert!(hint.contains(permission), "{hint}");
    }

    // Listed, but not writable: the first upload fails, and every record after it.
    let endpoint = denying_s3(true).await;
    let spool = tempfile::tempdir().unwrap();
    let store = JournalStore::open(&clients(&endpoint).await, &location, &key("o-abcdef0001"))
        .await
        .unwrap()
        .with_spool(spool.path());
    let journal = store.journal().await.unwrap();
    journal.record(phase_active("pilot")).unwrap();
    let failed = wait_for_failure(&journal).await;
    assert!(failed.contains("AccessDenied"), "{failed}");
    assert!(failed.contains("s3:PutObject"), "{failed}");
    assert!(journal.record(phase_active("pilot")).is_err());
    let finished = journal.finish().await.unwrap_err();
    assert!(
        finished
            .hint()
            .unwrap()
            .contains("nothing more was changed")
    );
    // The lock cannot be taken either: refused, not mistaken for a held lock.
    let lock = store.lock(&holder("apply", "run-1")).await.unwrap_err();
    assert!(matches!(lock, JournalError::S3 { .. }), "{lock}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_bucket_is_refused_saying_so() {
    let moto = Moto::start(MANAGEMENT);
    let location = JournalLocation::parse("s3://no-such-bucket/team").unwrap();
    let refused = JournalStore::open(
        &clients(&moto.endpoint).await,
        &location,
        &key("o-abcdef0001"),
    )
    .await
    .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("could not reach the journal's bucket `s3://no-such-bucket`"),
        "{refused}"
    );
    assert!(
        refused
            .hint()
            .unwrap()
            .contains("the bucket does not exist"),
        "{refused:?}"
    );
}
