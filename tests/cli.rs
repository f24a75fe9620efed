//! The command line as ops and compliance officers use it: `check` names file, line and key and
//! exits non-zero; `scan` redacts stdin; `eval` scores a corpus.

use std::io::Write;
use std::process::{Command, Stdio};

fn privgate(args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_privgate"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_accepts_the_shipped_config_and_policies() {
    let root = env!("CARGO_MANIFEST_DIR");
    let (code, out, err) = privgate(
        &[
            "check",
            "--config",
            &format!("{root}/privgate.example.toml"),
            "--policies",
            &format!("{root}/policies"),
        ],
        None,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ok:"));
}

#[test]
fn check_reports_every_problem_with_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    std::fs::write(
        policies.join("bad.toml"),
        "id = \"bad\"\nversion = \"1\"\n[actions]\nEMIAL = \"mask\"\nPHONE = \"shred\"\n",
    )
    .unwrap();
    std::fs::write(
        policies.join("failing-test.toml"),
        "id = \"t\"\nversion = \"1\"\n[[test]]\ninput = \"mail a.b@example.com\"\nexpect = \"mail a.b@example.com\"\n",
    )
    .unwrap();
    let config = dir.path().join("privgate.toml");
    std::fs::write(&config, "[limits]\nmax_body_bytes = \"lots\"\n").unwrap();
    let (code, _out, err) = privgate(
        &[
            "check",
            "--config",
            config.to_str().unwrap(),
            "--policies",
            policies.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("privgate.toml:2: limits.max_body_bytes:"),
        "{err}"
    );
    assert!(
        err.contains("bad.toml:4: actions.EMIAL: unknown entity type (did you mean EMAIL?)"),
        "{err}"
    );
    assert!(
        err.contains("bad.toml:5: actions.PHONE: unknown action \"shred\""),
        "{err}"
    );
    assert!(
        err.contains("failing-test.toml"),
        "policy test failures are reported: {err}"
    );
}

#[test]
fn check_reports_recognizer_problems_and_scan_names_the_recognizer() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    std::fs::write(
        policies.join("rec.toml"),
        "id = \"rec\"\nversion = \"1\"\n[[recognizer]]\nname = \"emp\"\npattern = \"EMP[0-9]{5}\"\n\n[[recognizer]]\nname = \"bad\"\nentity = \"EMPLOYEE\"\npattern = \"(EMP\"\nvalidator = \"crc32\"\n",
    )
    .unwrap();
    let (code, _out, err) = privgate(&["check", "--policies", policies.to_str().unwrap()], None);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("rec.toml:9: recognizer[1].entity: unknown entity type"),
        "{err}"
    );
    assert!(
        err.contains("rec.toml:11: recognizer[1].validator: unknown validator \"crc32\""),
        "{err}"
    );
    // Fixed, the recognizer runs, and `scan --json` names it.
    std::fs::write(
        policies.join("rec.toml"),
        "id = \"rec\"\nversion = \"1\"\n[[recognizer]]\nname = \"emp\"\npattern = \"EMP[0-9]{5}\"\n",
    )
    .unwrap();
    let (code, out, err) = privgate(
        &[
            "scan",
            "--json",
            "--policy",
            "rec",
            "--policies",
            policies.to_str().unwrap(),
        ],
        Some("employee EMP12345 asked"),
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["findings"][0]["entity"], "CUSTOM", "{out}");
    assert_eq!(v["findings"][0]["recognizer"], "emp", "{out}");
}

#[test]
fn scan_redacts_stdin_and_reports_findings() {
    let (code, out, _) = privgate(&["scan"], Some("write to ops.team@example.org today"));
    assert_eq!(code, 0);
    assert!(
        out.starts_with("write to <EMAIL_") && out.ends_with("> today"),
        "{out}"
    );
    let (code, out, _) = privgate(&["scan", "--json"], Some("write to ops.team@example.org"));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["findings"][0]["entity"], "EMAIL");
    assert_eq!(v["findings"][0]["start"], 9);
    assert_eq!(v["findings"][0]["end"], 29);
}

#[test]
fn eval_scores_a_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("mini.jsonl");
    let text = "Contact me at lena.fischer@example.de please";
    let record = serde_json::json!({"id": "t1", "lang": "en", "source": "test", "hard_negative": false,
        "text": text, "spans": [{"start": 14, "end": 37, "bstart": 14, "bend": 37, "type": "EMAIL",
        "value": "lena.fischer@example.de"}], "ignore_spans": []});
    std::fs::write(&corpus, format!("{record}\n")).unwrap();
    let (code, out, err) = privgate(&["eval", corpus.to_str().unwrap()], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("EMAIL"), "{out}");
    let (code, out, _) = privgate(&["eval", corpus.to_str().unwrap(), "--json"], None);
    assert_eq!(code, 0);
    let _: serde_json::Value = serde_json::from_str(&out).expect("JSON report");
}

/// RELIABILITY I1: version floors for the HTTP stack (hyper #4123, RUSTSEC-2026-0258).
#[test]
fn dependency_version_floors_hold() {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock")).unwrap();
    let version_of = |name: &str| -> Vec<u32> {
        let entry = lock
            .split("[[package]]")
            .find(|p| p.contains(&format!("name = \"{name}\"\n")))
            .unwrap_or_else(|| panic!("{name} in Cargo.lock"));
        let v = entry
            .split("version = \"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        v.split('.').map(|x| x.parse().unwrap_or(0)).collect()
    };
    assert!(version_of("hyper") >= vec![1, 11, 0], "hyper >= 1.11");
    assert!(version_of("h2") >= vec![0, 4, 16], "h2 >= 0.4.16");
    assert!(version_of("rustls") >= vec![0, 23, 0], "rustls 0.23.x");
    assert!(
        version_of("tokio-rustls") >= vec![0, 26, 0],
        "tokio-rustls 0.26.x"
    );
}

/// The compliance officer's commands on the data dir of a server that was killed with SIGKILL
/// mid-life: every answered exchange is there, export and erase work, the chain verifies.
#[tokio::test]
async fn audit_commands_on_a_killed_servers_data_dir() {
    use crate::common::{client_for, BinaryServer, FakeUpstream};
    let up = FakeUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut bin = BinaryServer::spawn(&up, dir.path(), &[], "info").await;
    let client = client_for(&bin.ca, bin.addr);
    let base = format!("https://localhost:{}", bin.addr.port());
    for subject in ["alice-1", "alice-1", "bob-2"] {
        let resp = client
            .post(format!("{base}/v1/chat/completions"))
            .header("x-privgate-subject", subject)
            .json(&serde_json::json!({"model": "m", "messages": [{"role": "user", "content": "mail x.y@example.com"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    bin.kill().await;
    let data = bin.data.to_str().unwrap().to_string();
    let run = |args: &[&str]| {
        let mut all = vec!["audit"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--data-dir", &data]);
        privgate(&all, None)
    };

    let (code, out, err) = run(&["query", "--subject", "alice-1"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        !out.contains("alice-1"),
        "subjects appear only as blind indexes"
    );
    assert!(
        !out.contains("x.y@example.com"),
        "no detected value in the trail"
    );

    let (code, out, _) = run(&["export", "--subject", "alice-1"]);
    assert_eq!(code, 0);
    let _: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");

    let (code, _, err) = run(&["erase", "--subject", "alice-1"]);
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = run(&["query", "--subject", "alice-1"]);
    assert!(
        !out.contains("\"record\""),
        "erased records are unreadable: {out}"
    );
    let (code, out, _) = run(&["query", "--subject", "bob-2"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 1);

    let (code, out, err) = run(&["verify"]);
    assert_eq!(
        code, 0,
        "the chain verifies after a kill and an erasure: {out}{err}"
    );
    let (code, out, _) = run(&["stats"]);
    assert_eq!(code, 0);
    let _: serde_json::Value = serde_json::from_str(out.trim()).unwrap();

    // Key rotation re-wraps every data key: the records stay readable, the chain verifies.
    let (code, out, err) = privgate(&["keys", "rotate", "--data-dir", &data], None);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("master_key_generation"), "{out}");
    let (code, out, _) = run(&["query", "--subject", "bob-2"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("\"record\""),
        "still readable after rotation: {out}"
    );
    let (code, _, _) = run(&["verify"]);
    assert_eq!(code, 0);

    // Retention from the config: with no limit nothing happens; with `retention_days = 0`
    // every record is past it and becomes a tombstone, and the chain still verifies.
    let (code, out, err) = run(&["purge", "--retention"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"records_tombstoned\":0"), "{out}");
    let cfg = dir.path().join("retention.toml");
    std::fs::write(&cfg, "[audit]\nretention_days = 0\n").unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let (code, out, err) = run(&["purge", "--retention", "--config", cfg.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(report["records_tombstoned"].as_u64().unwrap() > 3, "{out}");
    let (code, out, _) = run(&["query", "--subject", "bob-2"]);
    assert_eq!(code, 1, "tombstoned records leave the subject index: {out}");
    let (code, out, err) = run(&["verify"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("\"tombstones\":"), "{out}");
}
