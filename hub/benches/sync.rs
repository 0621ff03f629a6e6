//! `cargo bench -p caiji-hub --bench sync`: sync figures against a real `caiji-hub serve`
//! process over TLS on loopback, one JSON line per figure:
//! - `initial_sync`: 20 departments × 10 tables × 500 rows × 20 fields, all agents at once;
//!   seconds, bytes on the wire (sync request and response bodies) and their ratio to the
//!   documents' saved size;
//! - `one_cell_edit`: an edit on an agent running background sync until the hub has stored it
//!   (push, not polling): median and p95 latency, and the bytes of one push;
//! - `idle_sync`: a sync round over 500 documents (50 agents × 10) with nothing changed;
//! - `concurrent_agents`: 50 agents syncing at once for a few seconds: rounds per second and
//!   the hub process's peak memory.
#![allow(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use caiji_agent::hub_client::HubClient;
use caiji_agent::store::{AgentInfo, Store};
use caiji_agent::sync::{client_for, push, sync_once};
use caiji_hub::store::{HubInfo, HubStore};
use caiji_shared::catalog::DepartmentKind;
use caiji_shared::sheet::{Edit, RowId};
use caiji_shared::{AcademicYear, Value};

const YEAR: AcademicYear = AcademicYear(2025);
const DEPTS: usize = 20;
const TABLES: usize = 10;
const ROWS: usize = 500;
const FIELDS: usize = 20;
const MANY: usize = 50;

fn start_hub(data: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_caiji-hub"))
        .arg("--data")
        .arg(data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("CAIJI_LOG", "warn,caiji_hub=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start caiji-hub");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("https://").nth(1) {
                let _ = tx.send(format!("https://{}", rest.split_whitespace().next().unwrap_or("")));
            }
        }
    });
    let url = rx.recv_timeout(Duration::from_secs(30)).expect("hub listens");
    (child, url)
}

fn peak_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(String::from))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1024.0)
}

/// An agent of department `code` with `tables` sheets of `rows` rows, enrolled with the hub.
fn agent(
    root: &Path,
    hub: &mut HubStore,
    url: &str,
    fingerprint: &str,
    code: &str,
    tables: &[String],
    rows: usize,
) -> Store {
    let dir = root.join(format!("agent-{code}"));
    let info = AgentInfo {
        department: code.into(),
        department_name: format!("部门{code}"),
        department_kind: DepartmentKind::Teaching,
        year: YEAR,
        edition: "2016".into(),
        collector: "基准".into(),
    };
    let mut store = Store::init(&dir, &info).expect("agent init");
    for (t, table) in tables.iter().enumerate() {
        let data: Vec<(RowId, Vec<(String, Value)>)> = (0..rows)
            .map(|r| {
                let cells =
                    (0..FIELDS).map(|f| (format!("f{f:02}"), Value::Text(format!("{code}-{t}-{r}-{f}")))).collect();
                (RowId::v7(1_700_000_000_000 + r as u64, [(r % 251) as u8, t as u8, 0, 0, 0, 0, 0, 0, 0, 1]), cells)
            })
            .collect();
        store
            .write("基准", |w| {
                w.sheet(table)?.add_rows(Edit { user: "基准", time: 1 }, &data, 100, None).expect("rows");
                Ok(())
            })
            .expect("write");
    }
    drop(store);
    let code_text = hub.new_enroll_code(code, 1).expect("code");
    let (d, u, c, f) = (dir.clone(), url.to_string(), code_text, fingerprint.to_string());
    std::thread::spawn(move || caiji_agent::cmd_sync::enroll(&d, &u, &c, None, None, Some(f)))
        .join()
        .expect("enroll thread")
        .expect("enroll");
    Store::open(&dir).expect("reopen")
}

/// A loopback TCP proxy that counts the bytes passing through it (TLS records included).
fn counting_proxy(upstream: &str) -> (String, Arc<std::sync::atomic::AtomicU64>) {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicU64, Ordering};
    let target = upstream.trim_start_matches("https://").to_string();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind proxy");
    let port = listener.local_addr().expect("addr").port();
    let count = Arc::new(AtomicU64::new(0));
    let c = count.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = std::net::TcpStream::connect(&target) else { continue };
            for (mut from, mut to) in
                [(client.try_clone().expect("clone"), server.try_clone().expect("clone")), (server, client)]
            {
                let c = c.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16 * 1024];
                    while let Ok(n) = from.read(&mut buf) {
                        if n == 0 || to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        c.fetch_add(n as u64, Ordering::Relaxed);
                    }
                    let _ = to.shutdown(std::net::Shutdown::Write);
                });
            }
        }
    });
    (format!("https://127.0.0.1:{port}"), count)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let hub_dir = tmp.path().join("hub");
    let info = HubInfo { school: "基准测试学院".into(), year: YEAR, edition: "2016".into() };
    let mut hub = HubStore::init(&hub_dir, &info, "admin", "benchmark-password").expect("hub init");
    let fingerprint = caiji_hub::tls::generate(&hub_dir, "基准", &["127.0.0.1".into()]).expect("tls");
    let tables: Vec<String> = hub.edition().tables.iter().take(TABLES).map(|t| t.id.clone()).collect();
    for d in 0..MANY {
        hub.add_department(&format!("d{d:02}"), &format!("部门{d:02}"), DepartmentKind::Teaching).expect("dept");
    }
    let (mut child, url) = start_hub(&hub_dir);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");

    // ---- initial sync -------------------------------------------------------------------
    let mut stores = Vec::new();
    let mut saved = 0usize;
    for d in 0..DEPTS {
        let mut s = agent(tmp.path(), &mut hub, &url, &fingerprint, &format!("d{d:02}"), &tables, ROWS);
        for t in &tables {
            saved += s.sheet(t).expect("sheet").save().len();
        }
        stores.push(Arc::new(Mutex::new(s)));
    }
    let clients: Vec<HubClient> = stores.iter().map(|s| client_for(&s.lock().unwrap()).expect("client")).collect();
    let t0 = Instant::now();
    let reports = rt.block_on(async {
        let mut tasks = Vec::new();
        for (s, c) in stores.iter().zip(&clients) {
            let (s, c) = (s.clone(), c.clone());
            tasks.push(tokio::spawn(async move { sync_once(&s, &c).await.expect("initial sync") }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.expect("task"));
        }
        out
    });
    let initial_s = t0.elapsed().as_secs_f64();
    let wire: usize = reports.iter().map(|r| r.bytes_sent + r.bytes_received).sum();
    println!(
        "{{\"bench\":\"initial_sync\",\"departments\":{DEPTS},\"tables\":{TABLES},\"rows\":{ROWS},\"fields\":{FIELDS},\"seconds\":{initial_s:.2},\"wire_bytes\":{wire},\"saved_bytes\":{saved},\"ratio\":{:.3}}}",
        wire as f64 / saved as f64
    );

    // ---- one-cell edit, pushed by the background loop -------------------------------------
    let first = Arc::try_unwrap(stores.remove(0)).ok().expect("sole owner").into_inner().expect("lock");
    let sheet_key = first.sheet_id(&tables[0]).to_string();
    let running = caiji_agent::serve::Running::start(first, rt.handle(), None).expect("start agent");
    let hub_db = rusqlite::Connection::open(hub_dir.join(caiji_hub::store::DB_FILE)).expect("hub db");
    let row = running.store.lock().unwrap().sheet(&tables[0]).expect("sheet").live_rows()[0].id.clone();
    std::thread::sleep(Duration::from_millis(500)); // let the loop's first sync settle
    let mut latencies = Vec::new();
    for i in 0..30 {
        let heads = {
            let mut s = running.store.lock().unwrap();
            let start = Instant::now();
            s.write("基准", |w| {
                w.sheet(&tables[0])?
                    .set_cell(Edit { user: "基准", time: 2 }, &row, "f00", Some(&Value::Text(format!("edit {i}"))))
                    .expect("edit");
                Ok(())
            })
            .expect("write");
            let mut h = s.sheet(&tables[0]).expect("sheet").heads();
            h.sort();
            (start, h)
        };
        let (start, mut want) = heads;
        want.dedup();
        loop {
            let stored: String = hub_db
                .query_row("SELECT heads FROM sheets WHERE sheet = ?1", [&sheet_key], |r| r.get(0))
                .expect("heads");
            let mut got = caiji_agent::docstore::parse_heads(&stored);
            got.sort();
            if got == want {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(20), "edit {i} never reached the hub");
            std::thread::sleep(Duration::from_millis(1));
        }
        latencies.push(start.elapsed().as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_millis(50));
    }
    let first = running.store.clone();
    rt.block_on(running.stop());
    stores.insert(0, first);
    latencies.sort_by(f64::total_cmp);
    // The bytes of one push, measured on a second agent's explicit push of one edit: the sync
    // bodies, and everything on the TCP connection (HTTP headers and TLS records included) once
    // the connection is open.
    let second = stores[1].clone();
    let token = second.lock().unwrap().hub().expect("hub").expect("enrolled").token;
    let (proxy_url, tcp) = counting_proxy(&url);
    let client = HubClient::new(&proxy_url, Some(&fingerprint), Some(&token)).expect("client");
    let (row2, id2) = {
        let mut s = second.lock().unwrap();
        let id = s.sheet_id(&tables[0]);
        (s.sheet(&tables[0]).expect("sheet").live_rows()[0].id.clone(), id)
    };
    let one_push = |n: usize| {
        second
            .lock()
            .unwrap()
            .write("基准", |w| {
                w.sheet(&tables[0])?
                    .set_cell(Edit { user: "基准", time: 3 }, &row2, "f01", Some(&Value::Text(format!("x{n}"))))
                    .expect("edit");
                Ok(())
            })
            .expect("write");
        let before = tcp.load(std::sync::atomic::Ordering::Relaxed);
        let r = rt.block_on(push(&second, &client, std::slice::from_ref(&id2))).expect("push");
        (r.bytes_sent + r.bytes_received, tcp.load(std::sync::atomic::Ordering::Relaxed) - before)
    };
    let _warm = one_push(0);
    let (body_bytes, tcp_bytes) = one_push(1);
    println!(
        "{{\"bench\":\"one_cell_edit\",\"samples\":{},\"median_ms\":{:.1},\"p95_ms\":{:.1},\"body_bytes\":{body_bytes},\"tcp_bytes\":{tcp_bytes}}}",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.95)
    );

    // ---- 50 agents: idle round over 500 documents, then concurrent syncing ---------------
    for d in DEPTS..MANY {
        let s = agent(tmp.path(), &mut hub, &url, &fingerprint, &format!("d{d:02}"), &tables, 20);
        stores.push(Arc::new(Mutex::new(s)));
    }
    let clients: Vec<HubClient> = stores.iter().map(|s| client_for(&s.lock().unwrap()).expect("client")).collect();
    rt.block_on(async {
        for (s, c) in stores.iter().zip(&clients) {
            sync_once(s, c).await.expect("catch up");
        }
    });
    let docs: usize = stores.iter().map(|s| s.lock().unwrap().summary().expect("summary").len()).sum();
    let t1 = Instant::now();
    let idle_bytes: usize = rt.block_on(async {
        let mut total = 0;
        for (s, c) in stores.iter().zip(&clients) {
            let r = sync_once(s, c).await.expect("idle sync");
            assert_eq!(r.sheets, 0, "nothing changed");
            total += r.bytes_sent + r.bytes_received;
        }
        total
    });
    let idle_s = t1.elapsed().as_secs_f64();
    println!(
        "{{\"bench\":\"idle_sync\",\"documents\":{docs},\"agents\":{},\"seconds\":{idle_s:.3},\"ms_per_agent\":{:.2},\"bytes\":{idle_bytes}}}",
        stores.len(),
        idle_s * 1000.0 / stores.len() as f64
    );

    let duration = Duration::from_secs(5);
    let t2 = Instant::now();
    let rounds: usize = rt.block_on(async {
        let mut tasks = Vec::new();
        for (i, (s, c)) in stores.iter().zip(&clients).enumerate() {
            let (s, c, table) = (s.clone(), c.clone(), tables[i % TABLES].clone());
            tasks.push(tokio::spawn(async move {
                let mut n = 0;
                while t2.elapsed() < duration {
                    // Every other round carries an edit, as a working department's would.
                    if n % 2 == 0 {
                        let mut st = s.lock().unwrap();
                        let row = st.sheet(&table).expect("sheet").live_rows()[0].id.clone();
                        st.write("基准", |w| {
                            w.sheet(&table)?
                                .set_cell(Edit { user: "基准", time: 4 }, &row, "f02", Some(&Value::Int(n as i64)))
                                .expect("edit");
                            Ok(())
                        })
                        .expect("write");
                    }
                    sync_once(&s, &c).await.expect("sync");
                    n += 1;
                }
                n
            }));
        }
        let mut total = 0;
        for t in tasks {
            total += t.await.expect("task");
        }
        total
    });
    let elapsed = t2.elapsed().as_secs_f64();
    println!(
        "{{\"bench\":\"concurrent_agents\",\"agents\":{},\"seconds\":{elapsed:.1},\"rounds\":{rounds},\"rounds_per_s\":{:.1},\"hub_peak_rss_mb\":{:.1}}}",
        stores.len(),
        rounds as f64 / elapsed,
        peak_rss_mb(child.id())
    );
    let _ = child.kill();
    let _ = child.wait();
}
