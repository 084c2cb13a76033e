//! The shipped sample set through `siftgram eval` (the binary) with the real local model.

use std::process::Command;

fn sample(file: &str) -> String {
    format!("{}/../eval/sample/{file}", env!("CARGO_MANIFEST_DIR"))
}

/// Runs `siftgram eval` on the sample set; returns stdout and stderr.
fn eval(extra: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_siftgram"))
        .args(["eval", "--corpus", &sample("corpus.jsonl"), "--questions", &sample("questions.jsonl")])
        .args(extra)
        .env_remove("SIFTGRAM_EMBEDDER")
        .output()
        .expect("the binary runs");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    assert!(out.status.success(), "{stderr}");
    (stdout, stderr)
}

/// The row of `system` for `kind`: questions, recall@1, recall@5, recall@10, MRR@10, nDCG@10.
fn row(stdout: &str, system: &str, kind: &str) -> Vec<f64> {
    let line = stdout.lines().find(|l| l.split_whitespace().take(2).eq([system, kind])).unwrap_or_else(|| panic!("a row for {system} {kind}:\n{stdout}"));
    line.split_whitespace().skip(2).map(|v| v.parse().unwrap()).collect()
}

#[test]
fn eval_on_the_sample_set_prints_metrics_good_enough_to_ship_beside_the_baseline() {
    let work = tempfile::tempdir().unwrap();
    let (dir, run) = (work.path().join("index"), work.path().join("run.jsonl"));
    let (stdout, stderr) = eval(&["--reuse", dir.to_str().unwrap(), "--run", run.to_str().unwrap()]);
    println!("{stdout}");
    assert!(stderr.lines().any(|l| l.starts_with("[eval: indexing] ") && l.contains(" posts in ")), "indexing shows its progress: {stderr}");
    let ours = row(&stdout, "embedded", "all");
    assert_eq!(ours[0], 18.0);
    assert!(ours[2] >= 0.85, "recall@5 {}", ours[2]);
    assert!(ours[4] >= 0.75, "MRR@10 {}", ours[4]);
    let baseline = row(&stdout, "bm25", "all");
    assert!(baseline[4] < ours[4], "plain BM25 is the floor: {baseline:?} vs {ours:?}");
    let kinds: f64 = ["keyword", "paraphrase", "time", "cross-lingual"].iter().map(|k| row(&stdout, "embedded", k)[0]).sum();
    assert_eq!(kinds, 18.0, "every question counted under its kind");

    // The run file: each question's ranking by each system, recomputing the printed recall@1.
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&run).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 36, "18 questions × 2 systems");
    let ours_run: Vec<&serde_json::Value> = lines.iter().filter(|l| l["system"] == "embedded").collect();
    assert_eq!(ours_run[0]["qid"], 1);
    assert_eq!(ours_run[0]["kind"], "keyword");
    assert!(ours_run.iter().all(|l| l["ranked"].as_array().unwrap().len() == l["scores"].as_array().unwrap().len()));
    let first_hits = ours_run.iter().filter(|l| l["relevant"].as_array().unwrap().contains(&l["ranked"][0])).count();
    // recall@1 = hits / min(1, relevant): a relevant first post counts 1 however many are relevant.
    let recall1 = first_hits as f64 / 18.0;
    assert!(first_hits > 0);
    assert!((recall1 - ours[1]).abs() < 0.001, "run file {recall1} vs table {}", ours[1]);

    // Asked again with --reuse: nothing indexed, the same figures.
    let (again, stderr) = eval(&["--reuse", dir.to_str().unwrap()]);
    assert!(stderr.contains("reusing the index in") && stderr.contains("(36 posts, nothing to index)"), "{stderr}");
    assert!(!stderr.lines().any(|l| l.starts_with("[eval: indexing] ") && l.contains(" posts in ")), "{stderr}");
    assert_eq!(row(&again, "embedded", "all"), ours);
}

#[test]
fn eval_refuses_to_reuse_an_index_of_another_corpus() {
    let work = tempfile::tempdir().unwrap();
    let corpus = work.path().join("corpus.jsonl");
    let text = std::fs::read_to_string(sample("corpus.jsonl")).unwrap();
    std::fs::write(&corpus, text.lines().take(30).collect::<Vec<_>>().join("\n")).unwrap();
    let dir = work.path().join("index");
    let run = |corpus: &str| {
        Command::new(env!("CARGO_BIN_EXE_siftgram"))
            .args(["eval", "--corpus", corpus, "--questions", &sample("questions.jsonl"), "--reuse", dir.to_str().unwrap()])
            .env_remove("SIFTGRAM_EMBEDDER")
            .output()
            .expect("the binary runs")
    };
    assert!(run(corpus.to_str().unwrap()).status.success());
    let refused = run(&sample("corpus.jsonl"));
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("holds the index of another corpus or embedding model (built from 30 posts"), "{stderr}");
}

#[test]
fn eval_answer_mode_reports_valid_citations_and_relevant_sources() {
    let out = Command::new(env!("CARGO_BIN_EXE_siftgram"))
        .args(["eval", "--answers", "--corpus", &sample("corpus.jsonl"), "--questions", &sample("questions.jsonl")])
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
