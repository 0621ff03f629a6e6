//! Crash safety: `caiji-agent import` is killed with SIGKILL at many points during large
//! imports. After every kill the store opens, each import is wholly present or wholly absent,
//! and everything committed before is intact.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::support::{Agent, teacher, teacher_workbook};

const ROWS: usize = 1000;
const KILLS: usize = 22;

/// Deterministic pseudo-random numbers (no test dependency on a random crate).
struct Lcg(u64);
impl Lcg {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn keys_by_prefix(a: &Agent) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in a.rows("A6-1-1") {
        let key = r["cells"]["emp_no"].as_str().unwrap_or("").to_string();
        let prefix = key.split('-').next().unwrap_or("").to_string();
        *m.entry(prefix).or_default() += 1;
    }
    m
}

#[test]
fn sigkill_during_imports_loses_nothing_committed() {
    let a = Agent::new();
    // Baseline: one import that completes.
    let base = a.path("base.xlsx");
    let rows: Vec<Vec<String>> = (0..300).map(|i| teacher(&format!("B-{i}"), "基线", "198001")).collect();
    teacher_workbook(&base, &rows);
    a.ok(&["import", base.to_str().unwrap()]);

    let mut rng = Lcg(20251203);
    let mut expected: BTreeMap<String, usize> = BTreeMap::from([("B".to_string(), 300)]);
    let (mut present, mut absent) = (0, 0);
    let mut full = Duration::ZERO;
    // The kills are spread around the measured import time, scaled up after a kill that
    // landed before the commit and down after one that landed after it, so both outcomes are
    // tested even when the machine is slower or faster than the probe suggests.
    let mut scale = 1.0;
    let mut i = 0;
    while i < KILLS || ((present == 0 || absent == 0) && i < 3 * KILLS) {
        // Every sixth round first times one complete import, since imports slow down as the
        // sheet grows; the kills are spread over that duration and a bit beyond.
        if i % 6 == 0 {
            let prefix = format!("P{i}");
            let probe = a.path(&format!("p{i}.xlsx"));
            let rows: Vec<Vec<String>> =
                (0..ROWS).map(|n| teacher(&format!("{prefix}-{n}"), "探测", "198001")).collect();
            teacher_workbook(&probe, &rows);
            let t0 = Instant::now();
            a.ok(&["import", probe.to_str().unwrap()]);
            full = t0.elapsed();
            expected.insert(prefix, ROWS);
        }
        let prefix = format!("K{i}");
        let file = a.path(&format!("k{i}.xlsx"));
        // Every third import also changes the baseline rows: an update must be all-or-nothing too.
        let birth = format!("19{:02}01", 50 + i);
        let mut rows: Vec<Vec<String>> = (0..ROWS).map(|n| teacher(&format!("{prefix}-{n}"), "新", "198001")).collect();
        if i % 3 == 0 {
            rows.extend((0..300).map(|n| teacher(&format!("B-{n}"), "基线", &birth)));
        }
        teacher_workbook(&file, &rows);
        let mut child = a
            .command()
            .arg("import")
            .arg(&file)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn import");
        let delay = full.mul_f64(scale * (0.1 + 1.5 * rng.next_f64()));
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();

        let counts = keys_by_prefix(&a);
        let got = counts.get(&prefix).copied().unwrap_or(0);
        assert!(got == 0 || got == ROWS, "kill {i} after {delay:?}: {got} of {ROWS} rows of the import");
        if got == ROWS {
            present += 1;
            scale *= 0.85;
            expected.insert(prefix.clone(), ROWS);
        } else {
            absent += 1;
            scale *= 1.15;
        }
        for (p, n) in &expected {
            assert_eq!(counts.get(p), Some(n), "kill {i}: rows of an earlier import");
        }
        assert_eq!(counts.len(), expected.len(), "kill {i}: unexpected rows {counts:?}");
        // The baseline's birth dates are all the same: an update is never half-applied.
        let births: std::collections::BTreeSet<String> = a
            .rows("A6-1-1")
            .iter()
            .filter(|r| r["cells"]["emp_no"].as_str().is_some_and(|k| k.starts_with("B-")))
            .map(|r| r["cells"]["birth"].as_str().unwrap_or("").to_string())
            .collect();
        assert_eq!(births.len(), 1, "kill {i}: baseline half-updated: {births:?}");

        let conn = rusqlite::Connection::open(a.data().join("caiji-agent.db")).unwrap();
        let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok");
        i += 1;
    }
    // The kills landed both before and after commits; both outcomes were checked.
    assert!(present > 0 && absent > 0, "present {present}, absent {absent}: kills not spread over the import");
}
