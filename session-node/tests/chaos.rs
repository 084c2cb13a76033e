//! The chaos run at CI's size: `siftgram chaos` kills the real binary five times (backfill, live
//! changes, questions, a digest, a login) and finds nothing lost or doubled — on the embedded
//! store, and with the node's consumers on LocalStack's SQS and DynamoDB.

use std::process::Command;

fn chaos(extra: &[&str]) -> (bool, String) {
    let work = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_siftgram"))
        .args(["chaos", "--kills", "5", "--channels", "2", "--posts", "200", "--seed", "7"])
        .args(extra)
        .arg("--work")
        .arg(work.path())
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let log = std::fs::read_to_string(work.path().join("node.log")).unwrap_or_default();
    let tail: String = log.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
    println!("{stdout}");
    (out.status.success(), format!("{stdout}\n--- stderr ---\n{stderr}\n--- node log (tail) ---\n{tail}"))
}

fn assert_clean(report: &str) {
    for count in ["posts missing", "posts not indexed", "posts doubled", "stale edits", "deleted still found", "replies sent twice", "replies lost", "quota counted twice", "sign-ins lost"] {
        let line = report.lines().find(|l| l.starts_with(count)).unwrap_or_else(|| panic!("{count} is printed:\n{report}"));
        assert!(line.trim_end().ends_with(" 0"), "{line}\n{report}");
    }
    for moment in ["backfill", "live changes", "questions", "digest", "login"] {
        assert!(report.lines().any(|l| l.starts_with(moment)), "a kill during {moment}:\n{report}");
    }
}

#[test]
fn killed_five_times_the_standalone_node_loses_and_doubles_nothing() {
    let (ok, report) = chaos(&[]);
    assert!(ok, "{report}");
    assert_clean(&report);
}

#[test]
fn killed_five_times_on_localstack_the_node_loses_and_doubles_nothing() {
    let (ok, report) = chaos(&["--localstack", &localstack_endpoint()]);
    assert!(ok, "{report}");
    assert!(report.contains("LocalStack SQS + DynamoDB"), "{report}");
    assert_clean(&report);
}

/// Where the test suite's LocalStack is (as `siftgram_tests::localstack_endpoint`).
fn localstack_endpoint() -> String {
    std::env::var("SIFTGRAM_TEST_AWS_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:4566".into())
}
