//! The shipped sample set through `siftgram eval` (the binary) with the real local model.

use std::process::Command;

#[test]
fn eval_on_the_sample_set_prints_metrics_good_enough_to_ship() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../eval/sample");
    let out = Command::new(env!("CARGO_BIN_EXE_siftgram"))
        .args(["eval", "--corpus", &format!("{root}/corpus.jsonl"), "--questions", &format!("{root}/questions.jsonl")])
        .env_remove("SIFTGRAM_EMBEDDER")
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let row: Vec<&str> = stdout.lines().find(|l| l.starts_with("embedded")).expect("a row for the embedded backend").split_whitespace().collect();
    let value = |i: usize| row[i].parse::<f64>().unwrap();
    assert_eq!(row[1], "18");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.lines().any(|l| l.starts_with("[eval: indexing] ") && l.contains(" posts in ")), "indexing shows its progress: {stderr}");
    let (recall5, mrr) = (value(3), value(5));
    println!("{stdout}");
    assert!(recall5 >= 0.85, "recall@5 {recall5}");
    assert!(mrr >= 0.75, "MRR@10 {mrr}");
}

#[test]
fn eval_answer_mode_reports_valid_citations_and_relevant_sources() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../eval/sample");
    let out = Command::new(env!("CARGO_BIN_EXE_siftgram"))
        .args(["eval", "--answers", "--corpus", &format!("{root}/corpus.jsonl"), "--questions", &format!("{root}/questions.jsonl")])
        .env_remove("SIFTGRAM_EMBEDDER")
        .env_remove("SIFTGRAM_CHAT_1_URL")
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    println!("{stdout}");
    let row: Vec<&str> = stdout.lines().find(|l| l.starts_with("extractive")).expect("an answers row").split_whitespace().collect();
    let value = |i: usize| row[i].parse::<f64>().unwrap();
    assert_eq!(row[1], "18");
    assert_eq!(value(3), 1.0, "extractive answers only ever cite what they quote");
    assert!(value(4) >= 0.8, "share citing a relevant post {}", value(4));
}
