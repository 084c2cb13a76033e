//! The real binary, as an operator runs it: starts, serves /health behind the token, and exits
//! cleanly and promptly on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn get(addr: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    (status, body)
}

/// Sends `signal` (`-TERM`, `-INT`) and waits for the process to exit, at most `within`.
fn signal_and_wait(child: &mut std::process::Child, signal: &str, within: Duration) -> std::process::ExitStatus {
    let sent = Instant::now();
    assert!(Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap().success());
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(sent.elapsed() < within, "did not exit within {within:?} of kill {signal}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_standalone_node_serves_health_and_stops_on_sigterm() {
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_siftgram"))
        .env("SIFTGRAM_DATA_DIR", data.path())
        .env("SIFTGRAM_HTTP_ADDR", "127.0.0.1:0")
        .env("SIFTGRAM_OPS_TOKEN", "test-operator-token-123")
        .env_remove("SIFTGRAM_BACKEND")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start siftgram");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.split("http://").nth(1).and_then(|s| s.split('/').next()).expect("address in the start line").to_owned();

    assert_eq!(get(&addr, "/health", None).0, 401, "no token, no health");
    assert_eq!(get(&addr, "/health", Some("wrong-token-wrong-token")).0, 401);
    let (status, body) = get(&addr, "/health", Some("test-operator-token-123"));
    assert_eq!(status, 200, "{body}");
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["backend"], "embedded");
    assert_eq!(health["schema_version"], 2);

    let status = signal_and_wait(&mut child, "-TERM", Duration::from_secs(10));
    assert!(status.success(), "exit status {status:?}");
    assert!(TcpStream::connect(&addr).is_err(), "the port is released");
}

/// `siftgram demo` as README's first command runs it: prints where the chat page is, serves it,
/// keeps its data where it was told, and stops cleanly on Ctrl-C (SIGINT).
#[test]
fn the_demo_prints_its_page_serves_it_and_stops_on_ctrl_c() {
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_siftgram"))
        .args(["demo", "--addr", "127.0.0.1:0", "--data"])
        .arg(data.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start siftgram demo");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let page = loop {
        let line = lines.next().expect("the banner").unwrap();
        if let Some(url) = line.trim().strip_prefix("Open:") {
            break url.trim().to_owned();
        }
    };
    let addr = page.split("http://").nth(1).and_then(|s| s.split('/').next()).unwrap().to_owned();
    let (status, body) = get(&addr, "/demo", None);
    assert_eq!(status, 200);
    assert!(body.contains("/demo/demo.js"), "the chat page");
    assert_eq!(get(&addr, "/demo/api/about", None).0, 401, "its API wants the page's key");
    assert!(data.path().join("siftgram.redb").exists(), "the data lives where --data said");

    let status = signal_and_wait(&mut child, "-INT", Duration::from_secs(60));
    assert!(status.success(), "exit status {status:?}");
    assert!(lines.any(|l| l.is_ok_and(|l| l.contains("stopping the demo"))));
}
