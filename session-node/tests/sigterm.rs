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

    let stopping = Instant::now();
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(stopping.elapsed() < Duration::from_secs(10), "did not exit within 10 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status:?}");
    assert!(TcpStream::connect(&addr).is_err(), "the port is released");
}
