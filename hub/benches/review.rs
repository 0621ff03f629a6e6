//! `cargo bench -p caiji-hub --bench review`: the office's review page of a 10,000-row
//! submission (A6-1-1, every field filled), the second submission of the sheet with 20 cells
//! changed since the first, so the page shows the diff too. The hub's web router runs
//! in-process on a real store in a temporary directory (requests through
//! `tower::ServiceExt::oneshot`, with the router's middleware and store lock as in `serve`); a
//! reviewer signs in, then each request is timed over repeated runs. Every code field holds a
//! value outside its list, so the submission has 170,000 findings (a worst case for the page).
//! Prints one JSON line with the first view of the page (which reads, checks and diffs the
//! submission) and the median and p95 of each request after it (a page, page 50, a search,
//! the progress board), then the merged school-wide table likewise, in milliseconds:
//! `{"bench":"review_10k","rows":10000,"first_page_ms":{…},"page_50_ms":{…},"search_ms":{…},…}`.
#![allow(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use caiji_hub::server::AppState;
use caiji_hub::store::{HubInfo, HubStore, OfficeRole, OfficeUser};
use caiji_shared::catalog::DepartmentKind;
use caiji_shared::sheet::{Edit, RowId, SheetId};
use caiji_shared::workflow::{Action, Event, Record, RecordKind, Role};
use caiji_shared::{AcademicYear, Value};
use tower::ServiceExt;

const ROWS: usize = 10_000;
const PW: &str = "password-2025";
/// Timed runs of each request (after one untimed warm-up).
const RUNS: usize = 10;

fn stats(mut samples: Vec<f64>) -> String {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    format!("{{\"median\":{:.1},\"p95\":{:.1}}}", at(0.5), at(0.95))
}

/// The head of the department approves the sheet at its heads: a submission, as synced.
fn submit(s: &mut HubStore, id: &SheetId) {
    let heads = s.sheet(id).expect("sheet").heads().iter().map(ToString::to_string).collect();
    let event = Event {
        action: Action::DeptApprove,
        role: Role::DeptHead,
        actor: "李主任".into(),
        at: 1_760_000_000,
        reason: None,
        heads,
    };
    let record = Record {
        id: uuid::Uuid::now_v7().to_string(),
        sheet: id.to_string(),
        kind: RecordKind::Event(event),
        seq: None,
        refused: None,
        late: false,
    };
    let taken = s.take_record(record, "agent:bench", Some(0), None).expect("record");
    assert!(taken.refused.is_none(), "{:?}", taken.refused);
}

fn main() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let info = HubInfo { school: "基准测试职业学院".into(), year: AcademicYear(2025), edition: "2016".into() };
    let mut s = HubStore::init(tmp.path(), &info, "admin", PW).expect("init");
    s.add_department("jsjx", "计算机系", DepartmentKind::Teaching).expect("department");
    s.add_user("审核员", OfficeRole::Reviewer, None, PW).expect("user");
    let id = SheetId::new("2016", AcademicYear(2025), "A6-1-1", "jsjx");
    let table = s.table("A6-1-1").expect("table").clone();
    let t0 = Instant::now();
    let rows: Vec<(RowId, Vec<(String, Value)>)> = (0..ROWS)
        .map(|r| {
            let cells = table
                .fields
                .iter()
                .map(|f| {
                    let v = match f.id.as_str() {
                        "emp_no" => format!("T{r:06}"),
                        "name" => format!("教师{r}"),
                        "birth" => format!("{}{:02}", 1960 + r % 40, r % 12 + 1),
                        other => format!("{other}{}", r % 7),
                    };
                    (f.id.clone(), Value::Text(v))
                })
                .collect();
            (RowId::v7(1_760_000_000_000 + r as u64, [(r % 251) as u8; 10]), cells)
        })
        .collect();
    s.sheet(&id).expect("sheet").add_rows(Edit { user: "张三", time: 1_760_000_000 }, &rows, 1000, None).expect("rows");
    s.commit_sheets(std::slice::from_ref(&id), |_| Ok(())).expect("commit");
    submit(&mut s, &id);
    let reviewer = OfficeUser { name: "审核员".into(), role: OfficeRole::Reviewer, department: None };
    s.office_act(&reviewer, &id, Action::Open, None, &[]).expect("open");
    s.office_act(&reviewer, &id, Action::Return, Some("请核对出生日期"), &[]).expect("return");
    for (i, (row, _)) in rows.iter().step_by(ROWS / 20).enumerate() {
        let v = Value::Text(format!("1990{:02}", i % 12 + 1));
        s.sheet(&id)
            .expect("sheet")
            .set_cell(Edit { user: "张三", time: 1_760_000_100 }, row, "birth", Some(&v))
            .expect("cell");
    }
    s.commit_sheets(std::slice::from_ref(&id), |_| Ok(())).expect("commit");
    submit(&mut s, &id);
    let build_s = t0.elapsed().as_secs_f64();

    let state = Arc::new(AppState::new(s, true).expect("state"));
    let app: Router = caiji_hub::server::router(state.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(async move {
        let login = Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            // name=审核员
            .body(Body::from(format!("name=%E5%AE%A1%E6%A0%B8%E5%91%98&password={PW}")))
            .expect("request");
        let resp = app.clone().oneshot(login).await.expect("login");
        let cookie = resp
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{}=", caiji_hub::web::site(true).session_cookie_name())))
            .and_then(|v| v.split(';').next())
            .expect("signed in")
            .to_string();
        let time = |path: String| {
            let (app, cookie) = (app.clone(), cookie.clone());
            async move {
                let get = || Request::get(&path).header(header::COOKIE, &cookie).body(Body::empty()).expect("request");
                let mut samples = Vec::new();
                let mut bytes = 0;
                for _ in 0..=RUNS {
                    let t = Instant::now();
                    let resp = app.clone().oneshot(get()).await.expect("response");
                    assert_eq!(resp.status(), StatusCode::OK, "{path}");
                    bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body").len();
                    samples.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                // The first run is the warm-up: reported apart, as the first view after a change.
                let cold = samples.remove(0);
                (samples, bytes, cold)
            }
        };
        let (first, first_bytes, cold) = time("/review/A6-1-1/jsjx".into()).await;
        let (page50, _, _) = time("/review/A6-1-1/jsjx?page=50".into()).await;
        let (search, _, _) = time("/review/A6-1-1/jsjx?q=%E6%95%99%E5%B8%884001".into()).await;
        let (board, _, _) = time("/".into()).await;
        // Accepted and merged: the school-wide table, a page of it and a search.
        {
            let mut s = state.store.lock().expect("store");
            s.office_act(&reviewer, &id, Action::Accept, None, &[]).expect("accept");
            let admin = OfficeUser { name: "admin".into(), role: OfficeRole::Admin, department: None };
            caiji_hub::year::merge(&mut s, &admin).expect("merge");
        }
        let (merged, _, merged_cold) = time("/merged/A6-1-1".into()).await;
        let (merged_search, _, _) = time("/merged/A6-1-1?q=%E6%95%99%E5%B8%884001".into()).await;
        println!(
            "{{\"bench\":\"review_10k\",\"rows\":{ROWS},\"fields\":{},\"runs\":{RUNS},\"cold_page_ms\":{cold:.1},\"first_page_ms\":{},\"page_50_ms\":{},\"search_ms\":{},\"board_ms\":{},\"merged_cold_ms\":{merged_cold:.1},\"merged_page_ms\":{},\"merged_search_ms\":{},\"page_bytes\":{first_bytes},\"build_s\":{build_s:.1}}}",
            table.fields.len(),
            stats(first),
            stats(page50),
            stats(search),
            stats(board),
            stats(merged),
            stats(merged_search),
        );
    });
}
