//! The dashboard and alert rules in `infra/observability/` refer only to metrics the code
//! exports (`siftgram_core::telemetry::ALL`), the dashboard shows every one of them, and
//! promtool (Debian's, extracted by `scripts/promtool.sh`) accepts the rules.

use siftgram_core::telemetry::ALL;
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/observability")
}

/// Metric names in a PromQL expression (a histogram's `_bucket`/`_count`/`_sum` series count as
/// the histogram).
fn metrics_in(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find("siftgram_") {
        let tail = &rest[at..];
        let end = tail.find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')).unwrap_or(tail.len());
        let name = &tail[..end];
        let base = ["_bucket", "_count", "_sum"].iter().find_map(|s| name.strip_suffix(s).filter(|b| ALL.contains(b))).unwrap_or(name);
        names.push(base.to_owned());
        rest = &tail[end..];
    }
    names
}

fn dashboard_exprs() -> Vec<String> {
    let dashboard: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir().join("dashboard.json")).unwrap()).expect("the dashboard is JSON");
    dashboard["panels"].as_array().expect("panels").iter().flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default()).map(|t| t["expr"].as_str().expect("an expr").to_owned()).collect()
}

fn alert_exprs() -> Vec<String> {
    std::fs::read_to_string(dir().join("alerts.yml")).unwrap().lines().filter_map(|l| l.trim().strip_prefix("expr:")).map(|e| e.trim().to_owned()).collect()
}

#[test]
fn every_expression_names_only_exported_metrics_and_every_metric_is_on_the_dashboard() {
    let dashboard = dashboard_exprs();
    let alerts = alert_exprs();
    assert!(dashboard.len() >= 10 && alerts.len() >= 5, "read {} panels' queries and {} alerts", dashboard.len(), alerts.len());
    for expr in dashboard.iter().chain(&alerts) {
        let names = metrics_in(expr);
        assert!(!names.is_empty(), "{expr} names no metric");
        for name in names {
            assert!(ALL.contains(&name.as_str()), "{expr}: {name} is not a metric the code exports");
        }
    }
    let shown: Vec<String> = dashboard.iter().flat_map(|e| metrics_in(e)).collect();
    for name in ALL {
        assert!(shown.iter().any(|s| s == name), "{name} is on no dashboard panel");
    }
    for wanted in ["siftgram_queue_dead_letters", "siftgram_sync_published_total", "siftgram_provider_calls_total", "siftgram_updates_total"] {
        assert!(alerts.iter().any(|a| a.contains(wanted)), "an alert watches {wanted}");
    }
}

#[test]
fn promtool_accepts_the_alert_rules() {
    let promtool = std::env::var_os("SIFTGRAM_PROMTOOL").map(PathBuf::from).unwrap_or_else(|| {
        let cached = PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/siftgram-promtool/usr/bin/promtool");
        assert!(cached.is_file(), "promtool is missing: scripts/test-all.sh extracts it (scripts/promtool.sh), or set SIFTGRAM_PROMTOOL");
        cached
    });
    let out = std::process::Command::new(promtool).args(["check", "rules"]).arg(dir().join("alerts.yml")).output().expect("promtool runs");
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("SUCCESS"));
}

#[test]
fn names_are_found_in_expressions() {
    assert_eq!(metrics_in("histogram_quantile(0.99, sum by (le) (rate(siftgram_update_duration_seconds_bucket[5m])))"), ["siftgram_update_duration_seconds"]);
    assert_eq!(metrics_in("a / siftgram_nope_total"), ["siftgram_nope_total"], "unknown names are reported as they are");
}
