//! The hub's web screens driven through the real router (`tower::ServiceExt::oneshot`) on a
//! real store in a temporary directory: hostile and malformed requests are refused with Chinese
//! messages and change nothing; "who changed this"; the rollover after the final approval.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use caiji_agent::webkit;
use caiji_shared::catalog::DepartmentKind;
use caiji_shared::sheet::{Edit, RowId, SheetId};
use caiji_shared::workflow::{Action, Event, Record, RecordKind, Role, State as St};
use caiji_shared::{AcademicYear, Value};
use tower::ServiceExt;

use crate::server::{AppState, router};
use crate::store::tests::info;
use crate::store::{HubStore, OfficeRole, OfficeUser};

const PW: &str = "password-2025";
const ADMIN_PW: &str = "admin-password-1";
/// A CSRF token of the right shape that belongs to no session.
const WRONG: &str = "00000000000000000000000000000000";

/// A hub with 计算机系, its A6-1-1 submitted (two teachers, approved by the head at their
/// heads), an enrolled agent, and a reviewer, an approver and the head of 计算机系 (read-only).
struct Hub {
    dir: tempfile::TempDir,
    state: Arc<AppState>,
    app: Router,
    /// The row id of T002.
    t002: String,
    agent: String,
}

fn sheet() -> SheetId {
    SheetId::new("2016", AcademicYear(2025), "A6-1-1", "jsjx")
}

fn user(name: &str, role: OfficeRole) -> OfficeUser {
    OfficeUser { name: name.into(), role, department: None }
}

fn teacher(emp_no: &str, name: &str, birth: &str) -> Vec<(String, Value)> {
    [("dept", "计算机系"), ("emp_no", emp_no), ("name", name), ("birth", birth)]
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect()
}

fn hub() -> Hub {
    let dir = tempfile::tempdir().unwrap();
    let mut s = HubStore::init(dir.path(), &info(), "admin", ADMIN_PW).unwrap();
    s.add_department("jsjx", "计算机系", DepartmentKind::Teaching).unwrap();
    s.add_user("审核员", OfficeRole::Reviewer, None, PW).unwrap();
    s.add_user("审定人", OfficeRole::Approver, None, PW).unwrap();
    s.add_user("计算机系主任", OfficeRole::DeptViewer, Some("jsjx"), PW).unwrap();
    let code = s.new_enroll_code("jsjx", 24).unwrap();
    let (agent, _) = s.enroll(&code, "计算机系-电脑1").unwrap();
    let id = sheet();
    let (t001, t002) = (RowId::v7(1_700_000_000_000, [1; 10]), RowId::v7(1_700_000_000_001, [2; 10]));
    let edit = Edit { user: "张三", time: 1_700_000_000 };
    s.sheet(&id).unwrap().add_row(edit, &t001, &teacher("T001", "王五", "198001")).unwrap();
    s.sheet(&id).unwrap().add_row(edit, &t002, &teacher("T002", "李四", "198512")).unwrap();
    s.commit_sheets(std::slice::from_ref(&id), |_| Ok(())).unwrap();
    submit(&mut s);
    let state = Arc::new(AppState::new(s, true).unwrap());
    Hub { dir, app: router(state.clone()), state, t002: t002.0, agent: agent.id }
}

/// The head of 计算机系 approves the sheet at its current heads (a submission, as synced).
fn submit(s: &mut HubStore) {
    let id = sheet();
    let heads = s.sheet(&id).unwrap().heads().iter().map(ToString::to_string).collect();
    let event = Event {
        action: Action::DeptApprove,
        role: Role::DeptHead,
        actor: "李主任".into(),
        at: crate::store::now(),
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
    let taken = s.take_record(record, "agent:test", Some(0), None).unwrap();
    assert!(taken.refused.is_none(), "{:?}", taken.refused);
}

/// The hub's session cookie's name (`__Host-` and the hub's own).
fn session_cookie() -> String {
    crate::web::site(true).session_cookie_name()
}

fn get(uri: &str, token: Option<&str>) -> Request<Body> {
    let mut b = Request::get(uri);
    if let Some(t) = token {
        b = b.header(header::COOKIE, format!("{}={t}", session_cookie()));
    }
    b.body(Body::empty()).unwrap()
}

fn post(uri: &str, token: Option<&str>, body: &str) -> Request<Body> {
    let mut b = Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(t) = token {
        b = b.header(header::COOKIE, format!("{}={t}", session_cookie()));
    }
    b.body(Body::from(body.to_string())).unwrap()
}

/// A form body with the CSRF token first.
fn with_csrf(csrf: &str, body: &str) -> String {
    if body.is_empty() { format!("_csrf={csrf}") } else { format!("_csrf={csrf}&{body}") }
}

async fn text(resp: Response<Body>) -> String {
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn set_cookies(resp: &Response<Body>) -> Vec<String> {
    resp.headers().get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect()
}

/// The notice a redirect leaves: (ok, text).
fn flash(resp: &Response<Body>) -> Option<(bool, String)> {
    set_cookies(resp).iter().find(|c| c.starts_with("caiji-hub-flash=") && !c.contains("Max-Age=0")).map(|c| {
        let value = cookie::Cookie::parse_encoded(c.clone()).unwrap().value().to_string();
        let mut chars = value.chars();
        let ok = chars.next() == Some('1');
        (ok, chars.as_str().to_string())
    })
}

fn location(resp: &Response<Body>) -> String {
    resp.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

impl Hub {
    async fn send(&self, req: Request<Body>) -> Response<Body> {
        self.app.clone().oneshot(req).await.unwrap()
    }

    /// Signs in through the form; returns the session token and its CSRF token.
    async fn login(&self, name: &str, password: &str) -> (String, String) {
        let body = format!("name={}&password={}&next=%2F", super::auth::urlencode(name), password);
        let resp = self.send(post("/login", None, &body)).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{name}");
        let prefix = format!("{}=", session_cookie());
        let cookie = set_cookies(&resp)
            .into_iter()
            .find(|c| c.starts_with(&prefix))
            .unwrap_or_else(|| panic!("{name}: no session cookie"));
        let token = cookie[prefix.len()..].split(';').next().unwrap().to_string();
        let csrf = webkit::csrf_token(&token);
        (token, csrf)
    }

    fn with<T>(&self, f: impl FnOnce(&mut HubStore) -> T) -> T {
        let mut s = self.state.store.lock().unwrap();
        f(&mut s)
    }

    fn state_of(&self) -> St {
        self.with(|s| s.sheet_state(&sheet()).unwrap())
    }

    /// Everything a state-changing request could change, counted.
    fn snapshot(&self) -> Vec<(String, i64)> {
        self.with(|s| {
            let c = s.conn();
            [
                "SELECT COUNT(*) FROM records",
                "SELECT COUNT(*) FROM audit",
                "SELECT COUNT(*) FROM departments",
                "SELECT COUNT(*) FROM users",
                "SELECT COUNT(*) FROM sessions",
                "SELECT COUNT(*) FROM plan",
                "SELECT COUNT(*) FROM enroll_codes",
                "SELECT COUNT(*) FROM agents WHERE revoked_at IS NOT NULL",
                "SELECT COUNT(*) FROM sheets",
                "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'plan_version'",
                "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'year'",
            ]
            .iter()
            .map(|q| (q.to_string(), c.query_row(q, [], |r| r.get::<_, i64>(0)).unwrap()))
            .chain([("exports".to_string(), i64::from(s.dir().join("exports").exists()))])
            .collect()
        })
    }

    fn audit_has(&self, actor: &str, action: &str) -> bool {
        self.with(|s| s.audit_log(None, 1000).unwrap().iter().any(|(_, a, x, _)| a == actor && x == action))
    }

    /// Accepted, merged, locked and approved, as the office does it.
    fn approve_all(&self) {
        self.with(|s| {
            s.office_act(&user("审核员", OfficeRole::Reviewer), &sheet(), Action::Accept, None, &[]).unwrap();
            let admin = user("admin", OfficeRole::Admin);
            crate::year::merge(s, &admin).unwrap();
            crate::year::lock(s, &admin).unwrap();
            crate::year::approve(s, &user("审定人", OfficeRole::Approver)).unwrap();
        });
    }
}

/// Every state-changing form of the hub's screens: (address, body without the CSRF token).
fn forms(agent: &str) -> Vec<(&'static str, String)> {
    vec![
        ("/review/A6-1-1/jsjx/act", "action=accept".into()),
        ("/review/A6-1-1/jsjx/act", "action=return&reason=wrong".into()),
        ("/review/A6-1-1/jsjx/act", "action=open".into()),
        ("/review/A6-1-1/jsjx/comment", "row=T001&field=birth&text=check".into()),
        ("/year/merge", String::new()),
        ("/year/lock", String::new()),
        ("/year/approve", String::new()),
        ("/year/export", String::new()),
        ("/year/rollover", String::new()),
        ("/year/exception", "sheet=A6-1-1%2Fjsjx&reason=late".into()),
        ("/plan/department", "code=szb&name=szb-name&kind=teaching".into()),
        ("/plan/assign", "table=A6-1-2&department=jsjx&op=assign&deadline=2026-10-15".into()),
        ("/plan/code", "department=jsjx&hours=24".into()),
        ("/plan/revoke", format!("agent={agent}")),
        ("/plan/user", "name=eve&role=admin&department=&password=long-enough-1".into()),
        ("/logout", String::new()),
    ]
}

fn has_csp(resp: &Response<Body>) -> bool {
    let h = resp.headers();
    h.get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("script-src 'self'") && v.contains("frame-ancestors 'none'"))
        && h.get(header::X_CONTENT_TYPE_OPTIONS).is_some_and(|v| v == "nosniff")
}

#[tokio::test]
async fn a_wrong_password_sets_no_cookie_and_is_audited_and_the_cookie_is_host_only() {
    let h = hub();
    let resp = h.send(post("/login", None, "name=admin&password=wrong-password&next=%2Fplan")).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(set_cookies(&resp).iter().all(|c| c.starts_with("caiji-hub-flash=")), "{:?}", set_cookies(&resp));
    assert_eq!(location(&resp), "/login?next=%2Fplan");
    assert_eq!(flash(&resp), Some((false, "用户名或密码错误".to_string())));
    assert!(h.audit_has("user:admin", "sign_in_failed"));
    assert!(!h.audit_has("user:admin", "sign_in"));
    // An unknown user is refused and audited the same way.
    let resp = h.send(post("/login", None, "name=nobody&password=whatever-123")).await;
    assert!(set_cookies(&resp).iter().all(|c| c.starts_with("caiji-hub-flash=")));
    assert!(h.audit_has("user:nobody", "sign_in_failed"));
    // A malformed sign-in form is a Chinese message, not a session.
    let resp = h.send(post("/login", None, "name=admin")).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(set_cookies(&resp).is_empty());
    assert!(text(resp).await.contains("提交的表单不完整或格式不对"));

    let resp = h.send(post("/login", None, &format!("name=admin&password={ADMIN_PW}"))).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(h.audit_has("user:admin", "sign_in"));
    let cookie = set_cookies(&resp)
        .into_iter()
        .find(|c| c.contains("-session") || c.contains("caiji-hub="))
        .expect("a session cookie");
    assert!(cookie.starts_with("__Host-caiji-hub="), "{cookie}");
    let attrs: Vec<&str> = cookie.split(';').map(str::trim).skip(1).collect();
    for a in ["Path=/", "HttpOnly", "Secure", "SameSite=Strict"] {
        assert!(attrs.contains(&a), "{a} missing: {cookie}");
    }
    assert!(!attrs.iter().any(|a| a.starts_with("Domain")), "__Host- cookies carry no Domain: {cookie}");
    // The token is stored hashed only.
    let token = cookie["__Host-caiji-hub=".len()..].split(';').next().unwrap().to_string();
    let stored: i64 = h
        .with(|s| s.conn().query_row("SELECT COUNT(*) FROM sessions WHERE token_hash = ?1", [&token], |r| r.get(0)))
        .unwrap();
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn without_a_session_pages_redirect_to_login_and_scripts_get_chinese_json() {
    let h = hub();
    for page in ["/", "/review/A6-1-1/jsjx", "/merged", "/merged/A6-1-1", "/plan", "/audit?table=A6-1-1", "/who"] {
        let resp = h.send(get(page, None)).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{page}");
        let to = location(&resp);
        assert!(to.starts_with("/login?next="), "{page}: {to}");
        assert_eq!(to, format!("/login?next={}", super::auth::urlencode(page)));
    }
    // A session token nobody issued is no session.
    let resp = h.send(get("/plan", Some("forged-token"))).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    // Scripts (asking for JSON) and unsafe methods get 401 with a Chinese message.
    let req = Request::get("/board/version").header(header::ACCEPT, "application/json").body(Body::empty()).unwrap();
    let resp = h.send(req).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = serde_json::from_str(&text(resp).await).unwrap();
    assert_eq!(body["message"], "登录已过期，请刷新页面重新登录");
    let before = h.snapshot();
    for (path, body) in forms(&h.agent) {
        let resp = h.send(post(path, None, &body)).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert!(text(resp).await.contains("登录"), "{path}");
    }
    assert_eq!(h.snapshot(), before);
}

#[tokio::test]
async fn every_form_without_or_with_a_wrong_csrf_token_or_from_another_site_is_refused() {
    let h = hub();
    let (token, csrf) = h.login("admin", ADMIN_PW).await;
    let (_, other_csrf) = h.login("审核员", PW).await;
    let before = h.snapshot();
    for (path, body) in forms(&h.agent) {
        for given in [None, Some(WRONG), Some(""), Some(other_csrf.as_str()), Some(&csrf[..31])] {
            let body = match given {
                None => body.clone(),
                Some(c) => with_csrf(c, &body),
            };
            let resp = h.send(post(path, Some(&token), &body)).await;
            assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path} {body}");
            assert!(has_csp(&resp), "{path}");
            assert!(text(resp).await.contains("安全校验未通过"), "{path} {body}");
        }
        // The right token, but posted from another site.
        let mut req = post(path, Some(&token), &with_csrf(&csrf, &body));
        req.headers_mut().insert("sec-fetch-site", "cross-site".parse().unwrap());
        let resp = h.send(req).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(has_csp(&resp), "{path}");
        assert!(text(resp).await.contains("拒绝来自其他网站的请求"), "{path}");
    }
    // A session cookie planted by a sibling host of the same site (one without the `__Host-`
    // prefix, or an agent's) does not vouch for a form of the real session.
    for planted in ["caiji-agent", "caiji-hub", "__Host-caiji-agent"] {
        let evil = "planted-session-token";
        for cookies in [
            format!("{}={token}; {planted}={evil}", session_cookie()),
            format!("{planted}={evil}; {}={token}", session_cookie()),
        ] {
            let mut req = post("/review/A6-1-1/jsjx/act", None, &with_csrf(&webkit::csrf_token(evil), "action=accept"));
            req.headers_mut().insert(header::COOKIE, cookies.parse().unwrap());
            let resp = h.send(req).await;
            assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{cookies}");
            assert!(text(resp).await.contains("安全校验未通过"), "{cookies}");
        }
    }
    // A post from another port of this host (same-site, not same-origin) is refused outright,
    // even with the right token.
    let mut req = post("/review/A6-1-1/jsjx/act", Some(&token), &with_csrf(&csrf, "action=accept"));
    req.headers_mut().insert("sec-fetch-site", "same-site".parse().unwrap());
    let resp = h.send(req).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(text(resp).await.contains("拒绝来自其他网站的请求"));
    assert_eq!(h.snapshot(), before, "nothing changed");
    assert_eq!(h.state_of(), St::Submitted);
    // The session still works, and the same forms with the right token do act.
    assert_eq!(h.send(get("/plan", Some(&token))).await.status(), StatusCode::OK);
    let resp = h.send(post("/review/A6-1-1/jsjx/act", Some(&token), &with_csrf(&csrf, "action=accept"))).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(h.state_of(), St::Accepted);
    let resp = h
        .send(post("/plan/user", Some(&token), &with_csrf(&csrf, "name=eve&role=reviewer&password=long-enough-1")))
        .await;
    assert_eq!(flash(&resp), Some((true, "已添加用户 eve（平台审核员）".to_string())));
    assert_ne!(h.snapshot(), before);
    // Same-origin requests (the hub's own pages) are not refused by the guard.
    let mut req = post("/plan/code", Some(&token), &with_csrf(&csrf, "department=jsjx&hours=24"));
    req.headers_mut().insert("sec-fetch-site", "same-origin".parse().unwrap());
    let resp = h.send(req).await;
    assert!(flash(&resp).is_some_and(|(ok, t)| ok && t.contains("的注册码")), "{:?}", flash(&resp));
    // Signing out needs the token too; then the session is gone.
    let resp = h.send(post("/logout", Some(&token), &with_csrf(&csrf, ""))).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(set_cookies(&resp).iter().any(|c| c.starts_with("__Host-caiji-hub=;") && c.contains("Max-Age=0")));
    assert_eq!(h.send(get("/plan", Some(&token))).await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_department_head_is_refused_every_office_page_and_form() {
    let h = hub();
    let (token, csrf) = h.login("计算机系主任", PW).await;
    // The board sends them to the merged tables, the one thing they may read.
    let resp = h.send(get("/", Some(&token))).await;
    assert_eq!((resp.status(), location(&resp)), (StatusCode::SEE_OTHER, "/merged".to_string()));
    let resp = h.send(get("/merged", Some(&token))).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let page = text(resp).await;
    assert!(!page.contains("href=\"/plan\"") && !page.contains("step-"), "no office navigation or steps");
    let who = format!("/who?table=A6-1-1&department=jsjx&row={}&field=birth", h.t002);
    for path in ["/review/A6-1-1/jsjx", "/plan", "/audit", who.as_str(), "/board/version", "/exports/x/y.csv"] {
        let resp = h.send(get(path, Some(&token))).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path}");
        let body = text(resp).await;
        assert!(
            body.contains("部门负责人（只读）") || body.contains("只读用户") || body.contains("只有平台管理员"),
            "{path}: {body}"
        );
    }
    let before = h.snapshot();
    for (path, body) in forms(&h.agent).into_iter().filter(|(p, _)| *p != "/logout") {
        let resp = h.send(post(path, Some(&token), &with_csrf(&csrf, &body))).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path}");
        let body = text(resp).await;
        assert!(body.contains("只读用户不能执行此操作") || body.contains("只有平台管理员可以"), "{path}: {body}");
    }
    assert_eq!(h.snapshot(), before, "nothing changed");
    assert_eq!(h.state_of(), St::Submitted);
}

#[tokio::test]
async fn an_approver_cannot_open_return_or_accept_and_a_reviewer_cannot_run_the_year() {
    let h = hub();
    let (token, csrf) = h.login("审定人", PW).await;
    let before = h.snapshot();
    for (action, label) in [("accept", "审核通过"), ("return&reason=wrong", "退回修改"), ("open", "开始审核")]
    {
        let resp =
            h.send(post("/review/A6-1-1/jsjx/act", Some(&token), &with_csrf(&csrf, &format!("action={action}")))).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{action}");
        assert!(text(resp).await.contains(&format!("终审（院长办公会）不能执行「{label}」")), "{action}");
    }
    let resp = h.send(post("/review/A6-1-1/jsjx/comment", Some(&token), &with_csrf(&csrf, "text=hi"))).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    for step in ["merge", "lock", "export", "rollover"] {
        let resp = h.send(post(&format!("/year/{step}"), Some(&token), &with_csrf(&csrf, ""))).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{step}");
    }
    // The review page shows the approver no action.
    let page = text(h.send(get("/review/A6-1-1/jsjx", Some(&token))).await).await;
    assert!(!page.contains("act-accept") && !page.contains("act-return"));
    assert_eq!(h.snapshot(), before);
    assert_eq!(h.state_of(), St::Submitted);

    let (token, csrf) = h.login("审核员", PW).await;
    let before = h.snapshot();
    for step in ["merge", "lock", "export", "approve", "rollover"] {
        let resp = h.send(post(&format!("/year/{step}"), Some(&token), &with_csrf(&csrf, ""))).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{step}");
    }
    let resp = h.send(post("/year/exception", Some(&token), &with_csrf(&csrf, "sheet=A6-1-1%2Fjsjx&reason=x"))).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp =
        h.send(post("/review/A6-1-1/jsjx/act", Some(&token), &with_csrf(&csrf, "action=exception&reason=x"))).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    for (path, body) in forms(&h.agent).into_iter().filter(|(p, _)| p.starts_with("/plan/")) {
        let resp = h.send(post(path, Some(&token), &with_csrf(&csrf, &body))).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(text(resp).await.contains("只有平台管理员可以"), "{path}");
    }
    assert_eq!(h.snapshot(), before);
}

#[tokio::test]
async fn export_downloads_stay_inside_the_exports_folder() {
    let h = hub();
    let (token, _) = h.login("admin", ADMIN_PW).await;
    let folder = h.dir.path().join("exports").join("20260101-000000");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("a.csv"), "教工号\nT001\n").unwrap();
    std::fs::write(h.dir.path().join("secret.csv"), "SECRET").unwrap();
    std::os::unix::fs::symlink(h.dir.path().join("secret.csv"), folder.join("link.csv")).unwrap();
    let resp = h.send(get("/exports/20260101-000000/a.csv", Some(&token))).await;
    assert_eq!(resp.status(), StatusCode::OK, "the real file downloads");
    assert!(resp.headers()[header::CONTENT_DISPOSITION].to_str().unwrap().starts_with("attachment"));
    assert_eq!(text(resp).await, "教工号\nT001\n");
    for bad in [
        "/exports/20260101-000000/..%2F..%2Fsecret.csv",
        "/exports/20260101-000000/..%2Fsecret.csv",
        "/exports/..%2F..%2F/secret.csv",
        "/exports/%2E%2E/secret.csv",
        "/exports/../secret.csv",
        "/exports/20260101-000000/%2E%2E",
        "/exports/20260101-000000/%2Fetc%2Fpasswd",
        "/exports/%2Fetc/passwd",
        "/exports/%2F/secret.csv",
        "/exports/20260101-000000/..%5C..%5Csecret.csv",
        "/exports/20260101-000000/link.csv",
        "/exports/20260101-000000/a.csv%00.xlsx",
        "/exports/20260101-000000/.hidden",
        "/exports/20260101-000000/missing.csv",
    ] {
        let resp = h.send(get(bad, Some(&token))).await;
        assert!(
            resp.status() == StatusCode::NOT_FOUND || resp.status() == StatusCode::BAD_REQUEST,
            "{bad}: {}",
            resp.status()
        );
        assert!(has_csp(&resp), "{bad}");
        let body = text(resp).await;
        assert!(!body.contains("SECRET") && !body.contains("root:"), "{bad}");
    }
    // Only the real file's download happened, and it is audited.
    assert_eq!(h.with(|s| s.audit_log(Some("export_download"), 100).unwrap().len()), 1);
}

#[tokio::test]
async fn malformed_forms_and_unknown_names_get_chinese_messages_naming_them() {
    let h = hub();
    let (token, csrf) = h.login("admin", ADMIN_PW).await;
    let t = Some(token.as_str());
    let post_flash = |path: &'static str, body: &str| {
        let req = post(path, t, &with_csrf(&csrf, body));
        let app = h.app.clone();
        async move {
            let resp = app.oneshot(req).await.unwrap();
            assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{path}");
            flash(&resp).unwrap_or_else(|| panic!("{path}: no notice"))
        }
    };
    let before = h.snapshot();
    // Forms that are not what the page sends.
    let resp = h.send(post("/review/A6-1-1/jsjx/act", t, &with_csrf(&csrf, "reason=x"))).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(text(resp).await.contains("提交的表单不完整或格式不对"));
    let resp = h.send(post("/review/A6-1-1/jsjx/act", t, &with_csrf(&csrf, "action=fly"))).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(text(resp).await.contains("操作「fly」无效"));
    let resp = h.send(post("/year/fly", t, &with_csrf(&csrf, ""))).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(text(resp).await.contains("没有步骤「fly」"));
    let resp = h.send(post("/year/exception", t, &with_csrf(&csrf, "sheet=A6-1-1&reason=x"))).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(text(resp).await.contains("请选择要例外开放的表"));
    let resp = h.send(post("/plan/code", t, &with_csrf(&csrf, "hours=3"))).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "no department");
    assert!(text(resp).await.contains("提交的表单不完整"));
    // Unknown tables, departments, rows, fields, roles, agents: named in the notice.
    let (ok, m) = post_flash("/review/NOPE/jsjx/act", "action=accept").await;
    assert!(!ok && m.contains("没有表「NOPE」"), "{m}");
    let (ok, m) = post_flash("/review/A6-1-1/nope/act", "action=accept").await;
    assert!(!ok && m.contains("没有部门「nope」"), "{m}");
    let (ok, m) = post_flash("/review/A6-1-1/jsjx/comment", "row=T999&field=birth&text=x").await;
    assert!(!ok && m.contains("没有「T999」这一行"), "{m}");
    let (ok, m) = post_flash("/review/A6-1-1/jsjx/comment", "row=T001&field=shoe_size&text=x").await;
    assert!(!ok && m.contains("没有字段「shoe_size」"), "{m}");
    let (ok, m) = post_flash("/review/A6-1-1/jsjx/comment", "row=T001&field=&text=++").await;
    assert!(!ok && m.contains("批注内容不能为空"), "{m}");
    let (ok, m) = post_flash("/review/A6-1-1/jsjx/act", "action=return&reason=&comments=T999%3Abirth%3Ax").await;
    assert!(!ok && m.contains("T999"), "{m}");
    let (ok, m) = post_flash("/plan/assign", "table=NOPE&department=jsjx&op=assign").await;
    assert!(!ok && m.contains("没有表「NOPE」"), "{m}");
    let (ok, m) = post_flash("/plan/assign", "table=A6-1-1&department=nope&op=assign").await;
    assert!(!ok && m.contains("nope"), "{m}");
    let (ok, m) = post_flash("/plan/assign", "table=A6-1-1&department=jsjx&deadline=10%2F15").await;
    assert!(!ok && m.contains("截止日期「10/15」无效"), "{m}");
    let (ok, m) = post_flash("/plan/code", "department=nope&hours=24").await;
    assert!(!ok && m.contains("没有部门「nope」"), "{m}");
    let (ok, m) = post_flash("/plan/code", "department=jsjx&hours=abc").await;
    assert!(!ok && m.contains("有效期「abc」无效"), "{m}");
    let (ok, m) = post_flash("/plan/revoke", "agent=zzz").await;
    assert!(!ok && m.contains("没有采集端「zzz」"), "{m}");
    let (ok, m) = post_flash("/plan/user", "name=eve&role=king&password=long-enough-1").await;
    assert!(!ok && m.contains("角色「king」无效"), "{m}");
    let (ok, m) = post_flash("/plan/user", "name=eve&role=dept_viewer&department=nope&password=long-enough-1").await;
    assert!(!ok && m.contains("没有部门「nope」"), "{m}");
    let (ok, m) = post_flash("/plan/department", "code=BAD%20CODE&name=x&kind=teaching").await;
    assert!(!ok && m.contains("部门代码「BAD CODE」无效"), "{m}");
    assert_eq!(h.state_of(), St::Submitted);
    let but_audit = |v: Vec<(String, i64)>| v.into_iter().filter(|(q, _)| !q.contains("audit")).collect::<Vec<_>>();
    assert_eq!(but_audit(h.snapshot()), but_audit(before), "nothing changed");

    // Pages with unknown names.
    for (path, says, status) in [
        ("/review/NOPE/jsjx", "没有表「NOPE」", StatusCode::NOT_FOUND),
        ("/review/A6-1-1/nope", "没有部门「nope」", StatusCode::NOT_FOUND),
        ("/merged/NOPE", "没有表「NOPE」", StatusCode::NOT_FOUND),
        ("/who?table=NOPE&department=jsjx&row=T001&field=birth", "没有表「NOPE」", StatusCode::NOT_FOUND),
        ("/who?table=A6-1-1&department=nope&row=T001&field=birth", "没有部门「nope」", StatusCode::NOT_FOUND),
        ("/who?table=A6-1-1&department=jsjx&row=T999&field=birth", "没有「T999」这一行", StatusCode::NOT_FOUND),
        ("/who?table=A6-1-1&department=jsjx&row=T001&field=shoe_size", "没有字段「shoe_size」", StatusCode::NOT_FOUND),
        ("/who?table=A6-1-1&department=jsjx&field=birth", "请指定行", StatusCode::BAD_REQUEST),
        ("/who?table=A6-1-1&department=jsjx&row=&field=birth", "请指定行", StatusCode::BAD_REQUEST),
        ("/nowhere", "没有这个页面", StatusCode::NOT_FOUND),
    ] {
        let resp = h.send(get(path, t)).await;
        assert_eq!(resp.status(), status, "{path}");
        assert!(has_csp(&resp), "{path}");
        let body = text(resp).await;
        assert!(body.contains(says), "{path}: {body}");
    }
    // A query that is not a number is no crash and no English message.
    let resp = h.send(get("/audit?limit=abc&department=", t)).await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn responses_carry_the_security_headers() {
    let h = hub();
    let (token, _) = h.login("admin", ADMIN_PW).await;
    for (path, token) in [
        ("/login", None),
        ("/plan", None),
        ("/static/app.css", None),
        ("/", Some(token.as_str())),
        ("/review/A6-1-1/jsjx", Some(token.as_str())),
        ("/merged", Some(token.as_str())),
        ("/audit", Some(token.as_str())),
        ("/plan", Some(token.as_str())),
        ("/merged/A6-1-1", Some(token.as_str())),
        ("/api/health", None),
    ] {
        let resp = h.send(get(path, token)).await;
        assert!(resp.status().is_success() || resp.status().is_redirection() || resp.status().is_client_error());
        assert!(has_csp(&resp), "{path}");
        assert_eq!(resp.headers()[header::X_FRAME_OPTIONS], "DENY", "{path}");
        if resp.status() == StatusCode::OK && path != "/static/app.css" && path != "/api/health" {
            let page = text(resp).await;
            // No inline script or style for the policy to forbid.
            assert!(!page.contains("<script>") && !page.contains("style=") && !page.contains("onclick"), "{path}");
        }
    }
}

#[tokio::test]
async fn next_never_leads_off_the_site() {
    let h = hub();
    for (next, to) in [
        ("%2Freview%2FA6-1-1%2Fjsjx", "/review/A6-1-1/jsjx"),
        ("https%3A%2F%2Fevil.example%2F", "/"),
        ("%2F%2Fevil.example", "/"),
        ("%2F%5Cevil.example", "/"),
        ("%2F%09%2Fevil.example", "/"),
        ("%2F%0A%2Fevil.example", "/"),
        ("javascript%3Aalert(1)", "/"),
        ("evil.example", "/"),
        ("", "/"),
    ] {
        let body = format!("name=admin&password={ADMIN_PW}&next={next}");
        let resp = h.send(post("/login", None, &body)).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&resp), to, "next={next}");
        // A wrong password goes back to the sign-in, keeping only a safe next.
        let body = format!("name=admin&password=wrong&next={next}");
        let back = location(&h.send(post("/login", None, &body)).await);
        assert_eq!(back, format!("/login?next={}", super::auth::urlencode(to)), "next={next}");
        // The sign-in page carries only a safe next in its form.
        let page = text(h.send(get(&format!("/login?next={next}"), None)).await).await;
        assert!(page.contains(&format!("name=\"next\" value=\"{to}\"")), "next={next}");
        assert!(!page.contains("evil.example"), "next={next}");
    }
}

#[tokio::test]
async fn who_changed_a_cell_relative_to_the_submission() {
    let h = hub();
    // After the submission the collector corrects T002's birth date (not in the submission).
    h.with(|s| {
        let edit = Edit { user: "张三", time: crate::store::now() + 1 };
        let row = RowId(h.t002.clone());
        s.sheet(&sheet()).unwrap().set_cell(edit, &row, "birth", Some(&Value::from("198511"))).unwrap();
        s.commit_sheets(&[sheet()], |_| Ok(())).unwrap();
    });
    let (token, _) = h.login("审核员", PW).await;
    let href = super::who::href("A6-1-1", "jsjx", &h.t002, "birth");
    let page = text(h.send(get("/review/A6-1-1/jsjx", Some(&token))).await).await;
    // The review page carries what its script needs to build that link on a click: the
    // history address without row and field, and each row's id and each cell's field.
    let base = super::who::href("A6-1-1", "jsjx", "", "");
    assert!(page.contains(&format!("data-who=\"{}\"", base.replace('&', "&amp;"))), "{page}");
    assert!(page.contains(&format!("data-id=\"{}\"", h.t002)), "{page}");
    assert!(page.contains("<td data-field=\"birth\">"), "{page}");
    let resp = h.send(get(&href, Some(&token))).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let page = text(resp).await;
    assert!(page.contains("T002") && page.contains("出生日期"), "{page}");
    assert!(page.contains("<del>（空）</del> → <ins>198512</ins>"), "{page}");
    assert!(page.contains("<del>198512</del> → <ins>198511</ins>"), "{page}");
    assert!(page.contains("报送（李主任）前") && page.contains("报送（李主任）后"), "{page}");
    assert!(page.contains("<dd id=\"who-now\">198511</dd>"), "{page}");
    // The row by its natural key gives the same history; the command line's text agrees.
    let by_key = text(
        h.send(get(
            &format!("/who?table=A6-1-1&department=jsjx&row=T002&field={}", super::auth::urlencode("出生日期")),
            Some(&token),
        ))
        .await,
    )
    .await;
    assert!(by_key.contains("<del>198512</del> → <ins>198511</ins>"));
    let cli = h.with(|s| crate::year::who(s, &sheet(), "T002", "birth").unwrap());
    assert!(cli.starts_with("A6-1-1 校内专任教师基本情况 T002「出生日期」的修改记录：\n"), "{cli}");
    assert!(cli.contains("张三  198512 → 198511  报送（李主任）后"), "{cli}");
    assert_eq!(cli.lines().count(), 3, "{cli}");

    // The merged table links its cells too once merged, for the office but not for heads.
    h.approve_all();
    let page = text(h.send(get("/merged/A6-1-1", Some(&token))).await).await;
    assert!(page.contains(&href.replace('&', "&amp;")), "the merged page links each cell");
    let page = text(h.send(get(&href, Some(&token))).await).await;
    assert!(page.contains("锁定（admin）前") && page.contains("审定（审定人）前"), "{page}");
    let (head, _) = h.login("计算机系主任", PW).await;
    let page = text(h.send(get("/merged/A6-1-1", Some(&head))).await).await;
    assert!(page.contains("王五") && !page.contains("/who?"), "heads read the numbers without the history links");
}

#[tokio::test]
async fn rollover_after_the_final_approval_starts_the_next_year_from_the_approved_data() {
    let h = hub();
    let (token, csrf) = h.login("admin", ADMIN_PW).await;
    // Before the final approval there is no rollover, and a forged request is refused.
    let page = text(h.send(get("/merged", Some(&token))).await).await;
    assert!(!page.contains("step-rollover"));
    let resp = h.send(post("/year/rollover", Some(&token), &with_csrf(&csrf, ""))).await;
    let (ok, m) = flash(&resp).unwrap();
    assert!(!ok && m.contains("还没有经院长办公会审定的表"), "{m}");
    h.with(|s| {
        s.office_act(&user("审核员", OfficeRole::Reviewer), &sheet(), Action::Accept, None, &[]).unwrap();
        let admin = user("admin", OfficeRole::Admin);
        crate::year::merge(s, &admin).unwrap();
        crate::year::lock(s, &admin).unwrap();
    });
    let resp = h.send(post("/year/rollover", Some(&token), &with_csrf(&csrf, ""))).await;
    let (ok, m) = flash(&resp).unwrap();
    assert!(!ok && m.contains("还有 1 张已锁定的表未经院长办公会审定：A6-1-1 计算机系"), "{m}");
    assert_eq!(h.with(|s| s.info().year), AcademicYear(2025));

    h.with(|s| crate::year::approve(s, &user("审定人", OfficeRole::Approver)).unwrap());
    let page = text(h.send(get("/merged", Some(&token))).await).await;
    assert!(page.contains("id=\"step-rollover\""), "offered after the final approval");
    assert!(
        page.contains("action=\"/year/rollover\"")
            && page.contains("data-confirm=\"确定以院长办公会审定的数据开始2026-2027学年吗？")
    );
    // The reviewer may not.
    let (rt, rc) = h.login("审核员", PW).await;
    let resp = h.send(post("/year/rollover", Some(&rt), &with_csrf(&rc, ""))).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(text(resp).await.contains("只有平台管理员可以开始新学年"));
    assert_eq!(h.with(|s| s.info().year), AcademicYear(2025));

    let resp = h.send(post("/year/rollover", Some(&token), &with_csrf(&csrf, ""))).await;
    assert_eq!(location(&resp), "/merged");
    let (ok, m) = flash(&resp).unwrap();
    assert!(ok && m.starts_with("已开始2026-2027学年：结转 1 张表、2 行"), "{m}");
    assert!(h.audit_has("user:admin", "rollover"));
    let next = SheetId::new("2016", AcademicYear(2026), "A6-1-1", "jsjx");
    h.with(|s| {
        assert_eq!(s.info().year, AcademicYear(2026));
        let rows = s.sheet(&next).unwrap().live_rows();
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().any(|r| r.cells.get("birth") == Some(&Value::from("198512"))));
        assert_eq!(s.sheet_state(&next).unwrap(), St::Draft);
    });
    // The new year has nothing approved: no second rollover.
    let page = text(h.send(get("/merged", Some(&token))).await).await;
    assert!(!page.contains("step-rollover") && page.contains("2026-2027学年"));
    let resp = h.send(post("/year/rollover", Some(&token), &with_csrf(&csrf, ""))).await;
    let (ok, m) = flash(&resp).unwrap();
    assert!(!ok && m.contains("2026-2027学年 还没有经院长办公会审定的表"), "{m}");
    assert_eq!(h.with(|s| s.info().year), AcademicYear(2026));
}

#[tokio::test]
async fn malformed_addresses_get_a_chinese_page_and_change_nothing() {
    let h = hub();
    let (token, csrf) = h.login("admin", ADMIN_PW).await;
    for path in ["/review/%FF/jsjx", "/merged/%FF", "/exports/%FF/a.csv", "/static/%FF"] {
        let resp = h.send(get(path, Some(&token))).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{path}");
        assert!(has_csp(&resp), "{path}");
        let body = text(resp).await;
        assert!(body.contains(&format!("网址「{path}」不正确")), "{path}: {body}");
    }
    let before = h.snapshot();
    let resp = h.send(post("/review/%FF/jsjx/act", Some(&token), &with_csrf(&csrf, "action=accept"))).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(text(resp).await.contains("不正确"));
    let resp = h.send(post("/year/%FF", Some(&token), &with_csrf(&csrf, ""))).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(h.snapshot(), before);
}

#[tokio::test]
async fn review_and_merged_tables_search_and_page_on_the_server() {
    let h = hub();
    let (token, _) = h.login("审核员", PW).await;
    let t = Some(token.as_str());
    let data =
        |page: &str| page.split("id=\"data\"").nth(1).unwrap_or("").split("</table>").next().unwrap_or("").to_string();
    // A search keeps the matching rows (by content or by number) and the comment form offers
    // only those rows.
    let page = text(h.send(get("/review/A6-1-1/jsjx?q=%E6%9D%8E%E5%9B%9B", t)).await).await;
    assert!(data(&page).contains("T002") && !data(&page).contains("T001"), "{page}");
    assert!(page.contains("符合条件 1 行，共 2 行"), "{page}");
    assert!(page.contains("name=\"q\" value=\"李四\""), "the search box keeps what was typed");
    assert!(!page.contains("<option value=\"T001\">"), "the comment form lists the rows shown");
    let page = text(h.send(get("/review/A6-1-1/jsjx?q=1", t)).await).await;
    assert!(data(&page).contains("T001"), "row number 1 matches");
    let page = text(h.send(get("/review/A6-1-1/jsjx?q=nobody", t)).await).await;
    assert!(page.contains("没有符合条件的行。") && page.contains("符合条件 0 行，共 2 行"), "{page}");
    // Pages out of range or unreadable fall back to one that exists.
    for p in ["99", "abc", "-1", "last", "0"] {
        let resp = h.send(get(&format!("/review/A6-1-1/jsjx?page={p}"), t)).await;
        assert_eq!(resp.status(), StatusCode::OK, "page={p}");
        let page = text(resp).await;
        assert!(data(&page).contains("T001") && data(&page).contains("T002"), "page={p}");
        assert!(page.contains("第 1 / 1 页"), "page={p}: {page}");
    }
    // Only the rows with findings (here both: required fields are empty).
    let page = text(h.send(get("/review/A6-1-1/jsjx?only=errors", t)).await).await;
    assert!(page.contains("<option value=\"errors\" selected>有问题的行</option>"), "{page}");
    assert!(data(&page).contains("T001") && data(&page).contains("T002"), "{page}");
    // The merged table searches the department's name too.
    h.approve_all();
    let merged = |page: &str| {
        page.split("id=\"merged\"").nth(1).unwrap_or("").split("</table>").next().unwrap_or("").to_string()
    };
    let page = text(h.send(get("/merged/A6-1-1?q=%E8%AE%A1%E7%AE%97%E6%9C%BA", t)).await).await;
    assert!(merged(&page).contains("T001") && merged(&page).contains("T002"), "{page}");
    let page = text(h.send(get("/merged/A6-1-1?q=T001", t)).await).await;
    assert!(merged(&page).contains("T001") && !merged(&page).contains("T002"), "{page}");
    assert!(page.contains("符合条件 1 行，全校共 2 行"), "{page}");
}

#[tokio::test]
async fn the_review_shows_what_changed_after_the_submission_and_after_the_lock() {
    let h = hub();
    let (token, _) = h.login("审核员", PW).await;
    let review = || {
        let req = get("/review/A6-1-1/jsjx", Some(&token));
        let app = h.app.clone();
        async move { text(app.oneshot(req).await.unwrap()).await }
    };
    let since =
        |page: &str| page.split("id=\"since\"").nth(1).map(|t| t.split("</table>").next().unwrap_or("").to_string());
    let page = review().await;
    assert!(since(&page).is_none() && !page.contains("报送后又有修改"), "nothing changed yet");
    // The collector corrects T002 after submitting: shown apart, not in the submitted data.
    let change = |to: &'static str| {
        h.with(|s| {
            let edit = Edit { user: "张三", time: crate::store::now() + 1 };
            let row = RowId(h.t002.clone());
            s.sheet(&sheet()).unwrap().set_cell(edit, &row, "birth", Some(&Value::from(to))).unwrap();
            s.commit_sheets(&[sheet()], |_| Ok(())).unwrap();
        })
    };
    change("198511");
    let page = review().await;
    assert!(page.contains("报送后又有修改（不在本次报送中）"), "{page}");
    let d = since(&page).expect("the changes since");
    assert!(d.contains("T002") && d.contains("<del>198512</del> → <ins>198511</ins>"), "{d}");
    let data = page.split("id=\"data\"").nth(1).unwrap().split("</table>").next().unwrap();
    assert!(data.contains("198512") && !data.contains("198511"), "the data is the submitted version");
    // Accepted, merged, locked: a later change shows as after the lock.
    h.approve_all();
    let page = review().await;
    assert!(!page.contains("锁定后的修改"), "{page}");
    change("198510");
    let page = review().await;
    assert!(page.contains("锁定后的修改（已保存，不在上报数据中）"), "{page}");
    let d = since(&page).expect("the changes since the lock");
    assert!(d.contains("<del>198511</del> → <ins>198510</ins>"), "{d}");
}

#[tokio::test]
async fn the_merged_table_follows_changes_until_the_lock() {
    let h = hub();
    let (token, _) = h.login("admin", ADMIN_PW).await;
    h.with(|s| {
        s.office_act(&user("审核员", OfficeRole::Reviewer), &sheet(), Action::Accept, None, &[]).unwrap();
        crate::year::merge(s, &user("admin", OfficeRole::Admin)).unwrap();
    });
    let merged = || {
        let req = get("/merged/A6-1-1?q=T002", Some(&token));
        let app = h.app.clone();
        async move {
            let page = text(app.oneshot(req).await.unwrap()).await;
            page.split("id=\"merged\"").nth(1).unwrap_or("").split("</table>").next().unwrap_or("").to_string()
        }
    };
    let change = |to: &'static str| {
        h.with(|s| {
            let edit = Edit { user: "张三", time: crate::store::now() + 1 };
            s.sheet(&sheet()).unwrap().set_cell(edit, &RowId(h.t002.clone()), "birth", Some(&Value::from(to))).unwrap();
            s.commit_sheets(&[sheet()], |_| Ok(())).unwrap();
        })
    };
    assert!(merged().await.contains("198512"));
    // Merged but not locked: the table is the sheet as it stands (the page shows it at once).
    change("198511");
    let table = merged().await;
    assert!(table.contains("198511") && !table.contains("198512"), "{table}");
    // Locked: the table stays at the locked version whatever changes after.
    h.with(|s| crate::year::lock(s, &user("admin", OfficeRole::Admin)).unwrap());
    change("198510");
    let table = merged().await;
    assert!(table.contains("198511") && !table.contains("198510"), "{table}");
    // Each view is in the audit log, cached or not.
    let views = h.with(|s| s.audit_log(None, 1000).unwrap().iter().filter(|e| e.2 == "view_merged").count());
    assert_eq!(views, 3);
}
