//! `cargo bench -p caiji-agent --bench grid`: the web grid on a table of 10,000 rows × every
//! field of A6-1-1 (valid values, generated deterministically). The agent's web router runs
//! in-process (no sockets: each request goes through `tower::ServiceExt::oneshot`, with the
//! router's middleware, extractors and store lock as in `caiji-agent serve`); one person signs
//! in, then each request is timed over repeated runs. Prints one JSON line with the median and
//! p95 of each, in milliseconds (the first page after a start, once; a page, page 50, a search, saving one cell, pasting 100 rows ×
//! 5 columns, page 50 again with cells waiting for the hub, checking a typed value), and the
//! grid page's size:
//! `{"bench":"grid_10k","rows":10000,"first_page_ms":{"median":…,"p95":…},…,"page_bytes":…}`.
#![allow(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use caiji_agent::store::{AgentInfo, Store, StoreError};
use caiji_shared::catalog::DepartmentKind;
use caiji_shared::sheet::{Edit, RowId};
use caiji_shared::validate::check_cell;
use caiji_shared::workflow::Role;
use caiji_shared::{AcademicYear, Value};
use tower::ServiceExt;

#[path = "support/teachers.rs"]
mod teachers;

const ROWS: usize = 10_000;
const TABLE: &str = "A6-1-1";
const PW: &str = "password-2025";
/// Timed runs of each request (after one untimed warm-up).
const RUNS: usize = 30;

/// Median and 95th percentile of `samples` (milliseconds).
fn stats(mut samples: Vec<f64>) -> String {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    format!("{{\"median\":{:.2},\"p95\":{:.2}}}", at(0.5), at(0.95))
}

struct Client {
    app: Router,
    cookie: String,
    csrf: String,
}

impl Client {
    async fn send(&self, req: Request<Body>) -> (StatusCode, Vec<u8>) {
        let resp = self.app.clone().oneshot(req).await.expect("response");
        let status = resp.status();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
        (status, body.to_vec())
    }

    fn get(&self, path: &str) -> Request<Body> {
        Request::get(path).header(header::COOKIE, &self.cookie).body(Body::empty()).expect("request")
    }

    fn post(&self, path: &str, json: &serde_json::Value) -> Request<Body> {
        Request::post(path)
            .header(header::COOKIE, &self.cookie)
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-csrf-token", &self.csrf)
            .body(Body::from(json.to_string()))
            .expect("request")
    }

    /// Times `make()`'s request `RUNS` times (after a warm-up); each must answer 200.
    async fn time(&self, what: &str, mut make: impl FnMut(usize) -> Request<Body>) -> (Vec<f64>, usize) {
        let (status, body) = self.send(make(0)).await;
        assert_eq!(status, StatusCode::OK, "{what}: {}", String::from_utf8_lossy(&body));
        let mut samples = Vec::with_capacity(RUNS);
        for i in 1..=RUNS {
            let req = make(i);
            let t = Instant::now();
            let (status, body) = self.send(req).await;
            samples.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(status, StatusCode::OK, "{what}: {}", String::from_utf8_lossy(&body));
        }
        (samples, body.len())
    }
}

fn main() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let info = AgentInfo {
        department: "jsjx".into(),
        department_name: "计算机系".into(),
        department_kind: DepartmentKind::Teaching,
        year: AcademicYear(2025),
        edition: "2016".into(),
        collector: "基准测试".into(),
    };
    let mut store = Store::init(tmp.path(), &info).expect("init");
    store.add_user("张三", Role::Collector, PW).expect("user");

    // 10,000 rows of valid values, stored as an import stores them (batches of 1,000).
    let t0 = Instant::now();
    let table = store.table(TABLE).expect("A6-1-1").clone();
    let period = info.year.period(table.period);
    let rows: Vec<(RowId, Vec<(String, Value)>)> = (0..ROWS)
        .map(|r| {
            let cells = table
                .fields
                .iter()
                .filter_map(|f| {
                    let c = check_cell(store.edition(), f, period, &teachers::value(&f.id, f.ty, r));
                    assert!(!c.has_errors(), "row {r} field {}: {:?}", f.id, c.issues);
                    c.value.map(|v| (f.id.clone(), v))
                })
                .collect();
            (RowId::v7(1_760_000_000_000 + r as u64, [(r % 251) as u8; 10]), cells)
        })
        .collect();
    store
        .write("张三", |w| {
            w.sheet(TABLE)?
                .add_rows(Edit { user: "张三", time: 1_760_000_000 }, &rows, 1000, None)
                .map_err(StoreError::sheet(TABLE))?;
            Ok(())
        })
        .expect("write rows");
    let build_s = t0.elapsed().as_secs_f64();
    let errors = {
        let (_, findings) = caiji_agent::cmd::sheet_findings(&mut store, TABLE).expect("findings");
        findings.iter().filter(|f| f.is_error()).count()
    };
    if std::env::var("CAIJI_BENCH_STAGES").is_ok() {
        stages(&mut store);
    }
    // Enrolled, and the hub has the sheet as it is now: the saves below make cells "not yet
    // on the hub", which the pages timed after them mark.
    let link = caiji_agent::store::HubLink {
        url: "https://127.0.0.1:1".into(),
        fingerprint: "00".repeat(32),
        token: "t".into(),
        agent_id: "a".into(),
        school: "基准测试学校".into(),
    };
    store.set_hub(&link).expect("enrolled");
    let key = store.sheet_id(TABLE).to_string();
    let heads = store.sheet(TABLE).expect("sheet").heads();
    store.record_sync(&[(key, heads)], &[]).expect("synced");
    let middle_row = rows[ROWS / 2].0.as_str().to_string();
    // A paste of 100 rows × 5 columns (a page of names, ethnicities, posts, titles, educations).
    let paste_rows: Vec<String> = rows[4900..5000].iter().map(|(id, _)| id.as_str().to_string()).collect();
    let store = Arc::new(Mutex::new(store));
    let app = caiji_agent::web::router(store);

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(async move {
        // Sign in and read the page's CSRF token, as a browser would.
        let login = Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(serde_urlencoded::to_string([("name", "张三"), ("password", PW)]).expect("form")))
            .expect("request");
        let resp = app.clone().oneshot(login).await.expect("login");
        let name = format!("{}=", caiji_agent::web::SITE.session_cookie_name());
        let cookie = resp
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&name))
            .and_then(|v| v.split(';').next())
            .expect("signed in")
            .to_string();
        let mut client = Client { app, cookie, csrf: String::new() };
        let (_, home) = client.send(client.get("/")).await;
        let home = String::from_utf8(home).expect("utf-8");
        let at = home.find("name=\"csrf-token\" content=\"").expect("csrf meta") + "name=\"csrf-token\" content=\"".len();
        client.csrf = home[at..at + 32].to_string();

        // The first page after a start reads and checks the whole sheet (once: later pages reuse it).
        let t = Instant::now();
        let (status, _) = client.send(client.get("/tables/A6-1-1")).await;
        assert_eq!(status, StatusCode::OK);
        let cold_ms = t.elapsed().as_secs_f64() * 1000.0;
        let (first, page_bytes) = client.time("first page", |_| client.get("/tables/A6-1-1")).await;
        let (middle, middle_bytes) = client.time("page 50", |_| client.get("/tables/A6-1-1?page=50")).await;
        // "教师4001" … matches that one row among 10,000 (every row is searched).
        let (search, _) = client.time("search", |i| client.get(&format!("/tables/A6-1-1?q=%E6%95%99%E5%B8%88{}", 4000 + i))).await;
        // A save that changes the cell each time (alternating two valid values).
        let (save, _) = client
            .time("save", |i| {
                let text = if i % 2 == 0 { "198001" } else { "198002" };
                client.post("/tables/A6-1-1/cell", &serde_json::json!({ "row": middle_row, "field": "birth", "text": text }))
            })
            .await;
        let (paste, _) = client
            .time("paste", |i| {
                let block: Vec<Vec<String>> = (0..100)
                    .map(|r| {
                        let title = ["教授", "副教授", "讲师", "助教"][(r + i) % 4];
                        vec![format!("粘贴{i}-{r}"), "汉族".into(), "".into(), title.into(), "大学本科".into()]
                    })
                    .collect();
                let body = serde_json::json!({
                    "rows": paste_rows,
                    "fields": ["name", "ethnicity", "post", "title", "education"],
                    "cells": block,
                });
                client.post("/tables/A6-1-1/paste", &body)
            })
            .await;
        // Page 50 again, now with cells waiting for the hub (the rows at the hub's heads are
        // read once, then reused).
        let (after_edits, _) = client.time("page 50 after edits", |_| client.get("/tables/A6-1-1?page=50")).await;
        let (check, _) = client
            .time("check", |i| {
                client.post("/tables/A6-1-1/check", &serde_json::json!({ "field": "birth", "text": format!("1985{:02}", i % 12 + 1) }))
            })
            .await;
        println!(
            "{{\"bench\":\"grid_10k\",\"rows\":{ROWS},\"fields\":{},\"runs\":{RUNS},\"cold_page_ms\":{cold_ms:.1},\"first_page_ms\":{},\"page_50_ms\":{},\"search_ms\":{},\"save_cell_ms\":{},\"paste_500_cells_ms\":{},\"page_50_after_edits_ms\":{},\"check_ms\":{},\"page_bytes\":{page_bytes},\"page_50_bytes\":{middle_bytes},\"build_s\":{build_s:.1},\"errors\":{errors}}}",
            table.fields.len(),
            stats(first),
            stats(middle),
            stats(search),
            stats(save),
            stats(paste),
            stats(after_edits),
            stats(check),
        );
    });
}

/// Times what a grid request does to the store (set CAIJI_BENCH_STAGES=1), to see where time goes.
fn stages(store: &mut Store) {
    let sheet = store.sheet(TABLE).expect("sheet");
    let t = Instant::now();
    let rows = sheet.rows();
    eprintln!("rows(): {:.1} ms ({} rows)", t.elapsed().as_secs_f64() * 1000.0, rows.len());
    let t = Instant::now();
    let n = sheet.live_count();
    eprintln!("live_count(): {:.1} ms ({n})", t.elapsed().as_secs_f64() * 1000.0);
    let t = Instant::now();
    let one = sheet.row(&rows[ROWS / 2].id);
    eprintln!("row(id): {:.3} ms ({})", t.elapsed().as_secs_f64() * 1000.0, one.is_some());
    let t = Instant::now();
    let (_, findings) = caiji_agent::cmd::sheet_findings(store, TABLE).expect("findings");
    eprintln!("sheet_findings: {:.1} ms ({} findings)", t.elapsed().as_secs_f64() * 1000.0, findings.len());
    for f in findings.iter().take(2) {
        eprintln!("  e.g. {f}");
    }

    let t = Instant::now();
    let live = store.sheet(TABLE).expect("sheet").live_rows();
    eprintln!("live_rows(): {:.1} ms ({})", t.elapsed().as_secs_f64() * 1000.0, live.len());
    let rid = live[ROWS / 2].id.clone();
    for i in 0..3 {
        let t = Instant::now();
        store
            .write("张三", |w| {
                let edit = Edit { user: "张三", time: caiji_agent::store::now() };
                let v = Value::from(format!("教师改{i}").as_str());
                w.sheet(TABLE)?.set_cell(edit, &rid, "name", Some(&v)).map_err(StoreError::sheet(TABLE))?;
                Ok(())
            })
            .expect("write");
        eprintln!("write one cell: {:.1} ms", t.elapsed().as_secs_f64() * 1000.0);
    }

    let t = Instant::now();
    let state = store.sheet_state(TABLE).expect("state");
    eprintln!("sheet_state: {:.3} ms ({state:?})", t.elapsed().as_secs_f64() * 1000.0);
}
