//! Hostile and bad input on the agent's web screens, driven through the router on a real store
//! in a temporary directory: sign-in, the session cookie, pages and scripts without a session,
//! CSRF, cross-site posts, malformed and unknown input, roles and the security headers.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use caiji_shared::Value;
use caiji_shared::sheet::{Edit, RowId};
use caiji_shared::workflow::{Role, State as Flow};
use tower::ServiceExt;

use super::{SITE, router};
use crate::store::{HubLink, Store, StoreError};

const PW: &str = "password-2025";
const TABLE: &str = "A6-1-1";

struct Site {
    _dir: tempfile::TempDir,
    store: Arc<Mutex<Store>>,
    app: Router,
}

/// A signed-in browser: its cookie header and the page's CSRF token.
struct Browser {
    cookie: String,
    csrf: String,
}

/// Records a hub link, as `enroll` does (nothing is contacted).
fn enroll(site: &Site) {
    let link = HubLink {
        url: "https://127.0.0.1:1".into(),
        fingerprint: "00".repeat(32),
        token: "t".into(),
        agent_id: "a".into(),
        school: "测试学校".into(),
    };
    site.store.lock().unwrap().set_hub(&link).unwrap();
}

fn rid(n: u64) -> RowId {
    RowId::v7(1_760_000_000_000 + n, [n as u8; 10])
}

/// A store with a collector (张三), a head (李主任) and two rows in A6-1-1.
fn site() -> Site {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::init(dir.path(), &crate::store::tests::info()).unwrap();
    store.add_user("张三", Role::Collector, PW).unwrap();
    store.add_user("李主任", Role::DeptHead, PW).unwrap();
    store
        .write("张三", |w| {
            let s = w.sheet(TABLE)?;
            for n in 1..=2u64 {
                let cells = [
                    ("emp_no".to_string(), Value::Text(format!("T00{n}"))),
                    ("name".to_string(), Value::Text(format!("教师{n}"))),
                    ("birth".to_string(), Value::Text("198001".into())),
                ];
                s.add_row(Edit { user: "张三", time: 1 }, &rid(n), &cells).map_err(StoreError::sheet(TABLE))?;
            }
            Ok(())
        })
        .unwrap();
    let store = Arc::new(Mutex::new(store));
    Site { _dir: dir, app: router(store.clone()), store }
}

/// What a request could have changed: the sheet's heads, its state and the pending records.
fn snapshot(site: &Site) -> (Vec<String>, Flow, usize) {
    let mut s = site.store.lock().unwrap();
    let heads = s.sheet(TABLE).unwrap().heads().iter().map(ToString::to_string).collect();
    (heads, s.sheet_state(TABLE).unwrap(), s.pending_records().unwrap().len())
}

async fn send(site: &Site, req: Request<Body>) -> Response {
    site.app.clone().oneshot(req).await.unwrap()
}

async fn text(resp: Response) -> String {
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

async fn json(resp: Response) -> serde_json::Value {
    let t = text(resp).await;
    serde_json::from_str(&t).unwrap_or_else(|e| panic!("not JSON ({e}): {t}"))
}

fn get(path: &str, b: Option<&Browser>) -> Request<Body> {
    let mut r = Request::get(path);
    if let Some(b) = b {
        r = r.header(header::COOKIE, &b.cookie);
    }
    r.body(Body::empty()).unwrap()
}

fn form(path: &str, b: Option<&Browser>, pairs: &[(&str, &str)]) -> Request<Body> {
    let mut r = Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(b) = b {
        r = r.header(header::COOKIE, &b.cookie);
    }
    r.body(Body::from(serde_urlencoded::to_string(pairs).unwrap())).unwrap()
}

fn post_json(path: &str, b: Option<&Browser>, csrf: Option<&str>, body: &str) -> Request<Body> {
    let mut r = Request::post(path).header(header::CONTENT_TYPE, "application/json");
    if let Some(b) = b {
        r = r.header(header::COOKIE, &b.cookie);
    }
    if let Some(t) = csrf {
        r = r.header("x-csrf-token", t);
    }
    r.body(Body::from(body.to_string())).unwrap()
}

/// The session cookie a response sets (the whole `Set-Cookie` value), if any.
fn session_cookie(resp: &Response) -> Option<String> {
    resp.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{}=", SITE.session_cookie_name())) && !v.contains("Max-Age=0"))
        .map(str::to_string)
}

fn location(resp: &Response) -> String {
    resp.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("").to_string()
}

/// Signs in and reads the CSRF token from the home page, as a browser would.
async fn sign_in(site: &Site, name: &str) -> Browser {
    let resp = send(site, form("/login", None, &[("name", name), ("password", PW), ("next", "/")])).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let set = session_cookie(&resp).expect("a session cookie");
    let cookie = set.split(';').next().unwrap().to_string();
    let page = text(send(site, get("/", Some(&Browser { cookie: cookie.clone(), csrf: String::new() }))).await).await;
    let at = page.find("name=\"csrf-token\" content=\"").expect("the page carries its CSRF token");
    let rest = &page[at + "name=\"csrf-token\" content=\"".len()..];
    let csrf = rest[..rest.find('"').unwrap()].to_string();
    Browser { cookie, csrf }
}

fn cell_body(row: &str, field: &str, text: &str) -> String {
    serde_json::json!({ "row": row, "field": field, "text": text }).to_string()
}

fn row1() -> String {
    rid(1).as_str().to_string()
}

#[tokio::test]
async fn a_wrong_password_sets_no_session() {
    let site = site();
    for (name, pw) in [("张三", "wrong-password"), ("张三", ""), ("没有此人", PW), ("", "")] {
        let resp = send(&site, form("/login", None, &[("name", name), ("password", pw)])).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{name}/{pw}");
        assert!(location(&resp).starts_with("/login"), "back to the sign-in page");
        assert_eq!(session_cookie(&resp), None, "{name}/{pw}: no session");
        // The notice says why, in Chinese.
        let flash: Vec<_> = resp.headers().get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).collect();
        assert!(flash.iter().any(|c| c.contains("flash=0")), "{flash:?}");
    }
    // A made-up cookie is no session either.
    let fake = Browser {
        cookie: format!("{}=made-up", SITE.session_cookie_name()),
        csrf: crate::webkit::csrf_token("made-up"),
    };
    let resp = send(&site, get("/", Some(&fake))).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(location(&resp).starts_with("/login"));
    let before = snapshot(&site);
    let resp =
        send(&site, post_json("/tables/A6-1-1/cell", Some(&fake), Some(&fake.csrf), &cell_body(&row1(), "name", "x")))
            .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(snapshot(&site), before);
}

#[tokio::test]
async fn the_session_cookie_is_http_only_secure_and_strict() {
    let site = site();
    let resp = send(&site, form("/login", None, &[("name", "张三"), ("password", PW), ("next", "/sync")])).await;
    assert_eq!(location(&resp), "/sync");
    let set = session_cookie(&resp).expect("a session cookie");
    let attrs: Vec<&str> = set.split(';').map(str::trim).collect();
    for a in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(attrs.contains(&a), "{a} missing: {set}");
    }
    assert!(!set.contains("Domain="), "a __Host- cookie has no domain: {set}");
    // An absolute `next` does not lead off the site.
    let resp =
        send(&site, form("/login", None, &[("name", "张三"), ("password", PW), ("next", "//evil.example/")])).await;
    assert_eq!(location(&resp), "/");
    // Signing out ends the session on the server too.
    let b = sign_in(&site, "张三").await;
    let resp = send(&site, form("/logout", Some(&b), &[("_csrf", &b.csrf)])).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let resp = send(&site, get("/", Some(&b))).await;
    assert!(location(&resp).starts_with("/login"), "the old cookie no longer works");
}

#[tokio::test]
async fn without_a_session_pages_go_to_login_and_scripts_get_401() {
    let site = site();
    let r = row1();
    let pages = [
        "/".to_string(),
        "/tables/A6-1-1".into(),
        "/tables/A6-1-1?page=2&q=x".into(),
        format!("/tables/A6-1-1/history?row={r}&field=birth"),
        "/tables/A6-1-1/export".into(),
        "/import".into(),
        "/import/report/0123456789abcdef0123456789abcdef".into(),
        "/sync".into(),
    ];
    for p in &pages {
        let resp = send(&site, get(p, None)).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{p}");
        let to = location(&resp);
        assert!(to.starts_with("/login?next="), "{p} → {to}");
        let next: Vec<(String, String)> = serde_urlencoded::from_str(&to["/login?".len()..]).unwrap();
        assert_eq!(next[0].1, *p, "comes back to {p} after signing in");
    }
    // The sign-in page and the static files need no session.
    assert_eq!(send(&site, get("/login", None)).await.status(), StatusCode::OK);
    assert_eq!(send(&site, get("/static/grid.js", None)).await.status(), StatusCode::OK);

    let before = snapshot(&site);
    let scripts = [
        ("/tables/A6-1-1/check", serde_json::json!({ "field": "birth", "text": "198001" }).to_string()),
        ("/tables/A6-1-1/cell", cell_body(&r, "birth", "199001")),
        ("/tables/A6-1-1/rows/delete", serde_json::json!({ "row": r }).to_string()),
    ];
    for (p, body) in &scripts {
        let resp = send(&site, post_json(p, None, Some("whatever"), body)).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{p}");
        let v = json(resp).await;
        assert_eq!(v["code"], 401, "{p}: {v}");
        assert!(v["message"].as_str().unwrap().contains("重新登录"), "{p}: {v}");
    }
    // A page's script asking for JSON gets JSON too, not a redirect.
    let resp = send(
        &site,
        Request::get("/tables/A6-1-1").header(header::ACCEPT, "application/json").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(json(resp).await["message"].as_str().unwrap().contains("登录"));
    // Forms are refused as well, back to the sign-in page with a notice.
    for (p, pairs) in [
        ("/tables/A6-1-1/rows", vec![("_csrf", "x")]),
        ("/tables/A6-1-1/act", vec![("_csrf", "x"), ("action", "submit")]),
        ("/tables/A6-1-1/comments/c1/resolve", vec![("_csrf", "x")]),
        ("/sync/now", vec![("_csrf", "x")]),
    ] {
        let resp = send(&site, form(p, None, &pairs)).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{p}");
        assert_eq!(location(&resp), "/login", "{p}");
        let set = format!("{:?}", resp.headers().get_all(header::SET_COOKIE));
        assert!(set.contains(&urlencoded("登录已过期")), "{p}: {set}");
    }
    let resp = send(
        &site,
        Request::post("/import")
            .header(header::CONTENT_TYPE, "multipart/form-data; boundary=b")
            .body(Body::from("--b--\r\n"))
            .unwrap(),
    )
    .await;
    assert_eq!(location(&resp), "/login", "an upload without a session");
    assert_eq!(snapshot(&site), before, "nothing changed");
}

#[tokio::test]
async fn a_post_without_the_right_csrf_token_is_refused_and_changes_nothing() {
    let site = site();
    let b = sign_in(&site, "张三").await;
    let other = sign_in(&site, "李主任").await;
    let r = row1();
    let before = snapshot(&site);
    // Scripts: no header, an empty one, a wrong one, and another session's.
    for csrf in [None, Some(""), Some("0123456789abcdef0123456789abcdef"), Some(other.csrf.as_str())] {
        for (p, body) in [
            ("/tables/A6-1-1/cell", cell_body(&r, "birth", "199001")),
            ("/tables/A6-1-1/rows/delete", serde_json::json!({ "row": r }).to_string()),
        ] {
            let resp = send(&site, post_json(p, Some(&b), csrf, &body)).await;
            assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{p} with {csrf:?}");
            let v = json(resp).await;
            assert!(v["message"].as_str().unwrap().contains("安全校验未通过"), "{v}");
        }
    }
    // Forms: no field, a wrong one, and another session's.
    for csrf in [None, Some("wrong"), Some(other.csrf.as_str())] {
        for (p, mut pairs) in
            [("/tables/A6-1-1/rows", vec![]), ("/tables/A6-1-1/act", vec![("action", "submit")]), ("/sync/now", vec![])]
        {
            if let Some(t) = csrf {
                pairs.push(("_csrf", t));
            }
            let resp = send(&site, form(p, Some(&b), &pairs)).await;
            assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{p} with {csrf:?}");
            assert!(text(resp).await.contains("安全校验未通过"));
        }
    }
    // An upload without the token imports nothing.
    let boundary = "caiji-test-boundary";
    let csv = "工号,姓名\nT999,不该导入\n";
    let upload = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"table\"\r\n\r\nA6-1-1\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n"
    );
    let resp = send(
        &site,
        Request::post("/import")
            .header(header::COOKIE, &b.cookie)
            .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
            .body(Body::from(upload))
            .unwrap(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    // A page on another port of this host can plant a cookie of another caiji site (cookies are
    // per host, not per port) and knows the CSRF token that goes with it: still refused.
    for planted in ["caiji-hub", "__Host-caiji-hub", "caiji-agent"] {
        let evil = Browser { cookie: format!("{}; {planted}=planted", b.cookie), csrf: String::new() };
        let token = crate::webkit::csrf_token("planted");
        let resp =
            send(&site, post_json("/tables/A6-1-1/cell", Some(&evil), Some(&token), &cell_body(&r, "birth", "199001")))
                .await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{planted}");
        let resp = send(&site, form("/tables/A6-1-1/rows", Some(&evil), &[("_csrf", &token)])).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{planted}");
        // The real token still works alongside a planted cookie (the hub's on the same host).
        let resp = send(
            &site,
            post_json("/tables/A6-1-1/check", Some(&evil), Some(&b.csrf), "{\"field\":\"birth\",\"text\":\"1\"}"),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::OK, "{planted}");
    }
    assert_eq!(snapshot(&site), before, "nothing changed");

    // With the right token the same requests do change things (the refusals above are real).
    let resp =
        send(&site, post_json("/tables/A6-1-1/cell", Some(&b), Some(&b.csrf), &cell_body(&r, "birth", "199001"))).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(json(resp).await["saved"], true);
    let resp = send(&site, form("/tables/A6-1-1/rows", Some(&b), &[("_csrf", &b.csrf)])).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_ne!(snapshot(&site).0, before.0);
    assert_eq!(site.store.lock().unwrap().sheet(TABLE).unwrap().live_count(), 3);
}

#[tokio::test]
async fn a_cross_site_post_is_refused() {
    let site = site();
    let b = sign_in(&site, "张三").await;
    let before = snapshot(&site);
    let mut req = post_json("/tables/A6-1-1/cell", Some(&b), Some(&b.csrf), &cell_body(&row1(), "birth", "199001"));
    req.headers_mut().insert("sec-fetch-site", "cross-site".parse().unwrap());
    let resp = send(&site, req).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(text(resp).await.contains("拒绝来自其他网站的请求"));
    let mut req = form("/tables/A6-1-1/rows", Some(&b), &[("_csrf", &b.csrf)]);
    req.headers_mut().insert("sec-fetch-site", "cross-site".parse().unwrap());
    assert_eq!(send(&site, req).await.status(), StatusCode::FORBIDDEN);
    // Nor can another site sign someone in.
    let mut req = form("/login", None, &[("name", "张三"), ("password", PW)]);
    req.headers_mut().insert("sec-fetch-site", "cross-site".parse().unwrap());
    let resp = send(&site, req).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(session_cookie(&resp), None);
    // Nor can another program on this host (another port: same-site, not same-origin).
    let mut req = post_json("/tables/A6-1-1/cell", Some(&b), Some(&b.csrf), &cell_body(&row1(), "birth", "199001"));
    req.headers_mut().insert("sec-fetch-site", "same-site".parse().unwrap());
    assert_eq!(send(&site, req).await.status(), StatusCode::FORBIDDEN);
    // A session cookie of another name planted beside the real one (cookies are per host, not
    // per port) does not vouch for a token made from it.
    let evil = "planted-session-token";
    for planted in ["caiji-agent", "caiji-hub", "__Host-caiji-hub"] {
        let planted_csrf = crate::webkit::csrf_token(evil);
        let with_planted = Browser { cookie: format!("{}; {planted}={evil}", b.cookie), csrf: planted_csrf.clone() };
        let req = post_json(
            "/tables/A6-1-1/cell",
            Some(&with_planted),
            Some(&planted_csrf),
            &cell_body(&row1(), "birth", "199001"),
        );
        let resp = send(&site, req).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{planted}");
        let req = form("/tables/A6-1-1/rows", Some(&with_planted), &[("_csrf", &planted_csrf)]);
        assert_eq!(send(&site, req).await.status(), StatusCode::FORBIDDEN, "{planted}");
    }
    assert_eq!(snapshot(&site), before);
    // The same post from this site goes through.
    let mut req = post_json("/tables/A6-1-1/cell", Some(&b), Some(&b.csrf), &cell_body(&row1(), "birth", "199001"));
    req.headers_mut().insert("sec-fetch-site", "same-origin".parse().unwrap());
    assert_eq!(send(&site, req).await.status(), StatusCode::OK);
    assert_ne!(snapshot(&site), before);
}

#[tokio::test]
async fn bad_input_gets_a_chinese_message_naming_the_place_and_changes_nothing() {
    let site = site();
    let b = sign_in(&site, "张三").await;
    let r = row1();
    let before = snapshot(&site);
    let save = |table: &str, body: String| post_json(&format!("/tables/{table}/cell"), Some(&b), Some(&b.csrf), &body);

    // Malformed JSON, and JSON of the wrong shape.
    for body in ["{\"row\":", "not json", "[]", "{\"row\": 1, \"field\": \"birth\"}"] {
        let resp = send(&site, save(TABLE, body.to_string())).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{body}");
        let m = json(resp).await["message"].as_str().unwrap().to_string();
        assert!(m.contains("格式不对") && m.contains(TABLE), "{body}: {m}");
    }
    // An unknown table, as a script and as a page.
    let resp = send(&site, save("Z9-9-9", cell_body(&r, "birth", "199001"))).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let m = json(resp).await["message"].as_str().unwrap().to_string();
    assert!(m.contains("没有表「Z9-9-9」"), "{m}");
    let resp = send(&site, get("/tables/Z9-9-9", Some(&b))).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(text(resp).await.contains("没有表「Z9-9-9」"));
    let resp = send(&site, get("/tables/%3Cscript%3E", Some(&b))).await;
    let page = text(resp).await;
    assert!(page.contains("没有表「&lt;script&gt;」") && !page.contains("<script>"), "escaped: {page}");
    // An unknown row.
    let resp = send(&site, save(TABLE, cell_body("no-such-row", "birth", "199001"))).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let m = json(resp).await["message"].as_str().unwrap().to_string();
    assert!(m.contains(TABLE) && m.contains("没有这一行"), "{m}");
    let resp = send(
        &site,
        post_json(
            "/tables/A6-1-1/rows/delete",
            Some(&b),
            Some(&b.csrf),
            &serde_json::json!({ "row": "nope" }).to_string(),
        ),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(json(resp).await["message"].as_str().unwrap().contains("没有这一行"));
    let resp = send(&site, get("/tables/A6-1-1/history?row=nope&field=birth", Some(&b))).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(text(resp).await.contains("没有这一行"));
    // An unknown field, saved or checked.
    let resp = send(&site, save(TABLE, cell_body(&r, "shoe_size", "42"))).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let m = json(resp).await["message"].as_str().unwrap().to_string();
    assert!(m.contains(TABLE) && m.contains("没有字段「shoe_size」"), "{m}");
    let body = serde_json::json!({ "field": "shoe_size", "text": "42" }).to_string();
    let resp = send(&site, post_json("/tables/A6-1-1/check", Some(&b), Some(&b.csrf), &body)).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(json(resp).await["message"].as_str().unwrap().contains("没有字段「shoe_size」"));
    // Over-long text: the place is named, row and field.
    let long = "长".repeat(2001);
    let resp = send(&site, save(TABLE, cell_body(&r, "name", &long))).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let m = json(resp).await["message"].as_str().unwrap().to_string();
    assert!(m.contains("A6-1-1 第1行「姓名」") && m.contains("内容太长"), "{m}");
    let body = serde_json::json!({ "field": "name", "text": long }).to_string();
    let resp = send(&site, post_json("/tables/A6-1-1/check", Some(&b), Some(&b.csrf), &body)).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(json(resp).await["message"].as_str().unwrap().contains("「姓名」：内容太长"));
    // Unknown action and unknown comment.
    let resp = send(&site, form("/tables/A6-1-1/act", Some(&b), &[("_csrf", &b.csrf), ("action", "lock")])).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(text(resp).await.contains("未知的操作「lock」"));
    let resp =
        send(&site, form("/tables/A6-1-1/comments/nope/resolve", Some(&b), &[("_csrf", &b.csrf), ("back", "//evil")]))
            .await;
    assert_eq!(location(&resp), "/tables/A6-1-1", "no redirect off the site");
    // Odd paging and search are clamped, not errors.
    for q in ["?page=-1", "?page=99999999999999999999", "?page=abc&q=%00%FF", "?only=bogus"] {
        let resp = send(&site, get(&format!("/tables/A6-1-1{q}"), Some(&b))).await;
        assert_eq!(resp.status(), StatusCode::OK, "{q}");
    }
    assert_eq!(snapshot(&site), before, "nothing changed");

    // Exactly the longest text is taken (the limit above is the real one).
    let resp = send(&site, save(TABLE, cell_body(&r, "name", &"长".repeat(2000)))).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_ne!(snapshot(&site), before);
}

#[tokio::test]
async fn a_collector_cannot_take_the_heads_actions() {
    let site = site();
    // Make the sheet submittable: an empty sheet has no errors.
    site.store
        .lock()
        .unwrap()
        .write("张三", |w| {
            let s = w.sheet(TABLE)?;
            for n in 1..=2 {
                s.delete_row(Edit { user: "张三", time: 2 }, &rid(n)).map_err(StoreError::sheet(TABLE))?;
            }
            Ok(())
        })
        .unwrap();
    let collector = sign_in(&site, "张三").await;
    let resp =
        send(&site, form("/tables/A6-1-1/act", Some(&collector), &[("_csrf", &collector.csrf), ("action", "submit")]))
            .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(snapshot(&site).1, Flow::DeptReview, "the collector submitted");
    let page = text(send(&site, get("/tables/A6-1-1", Some(&collector))).await).await;
    assert!(!page.contains("approve-form") && !page.contains("return-form"), "no head's buttons for a collector");

    let before = snapshot(&site);
    for (action, reason) in [("dept_approve", ""), ("dept_return", "不对")] {
        let pairs = [("_csrf", collector.csrf.as_str()), ("action", action), ("reason", reason)];
        let resp = send(&site, form("/tables/A6-1-1/act", Some(&collector), &pairs)).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{action}");
        assert!(text(resp).await.contains("只有部门负责人可以"), "{action}");
    }
    assert_eq!(snapshot(&site), before, "nothing changed");

    // The head may.
    let head = sign_in(&site, "李主任").await;
    let page = text(send(&site, get("/tables/A6-1-1", Some(&head))).await).await;
    assert!(page.contains("approve-form") && page.contains("return-form"));
    let pairs = [("_csrf", head.csrf.as_str()), ("action", "dept_return"), ("reason", "请补充")];
    let resp = send(&site, form("/tables/A6-1-1/act", Some(&head), &pairs)).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(snapshot(&site).1, Flow::Draft, "back to the collector");
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let site = site();
    let b = sign_in(&site, "张三").await;
    let reqs = vec![
        get("/login", None),
        get("/", None),
        get("/", Some(&b)),
        get("/tables/A6-1-1", Some(&b)),
        get("/tables/Z9", Some(&b)),
        get("/static/app.js", None),
        get("/static/nope.js", None),
        get("/no/such/page", None),
        post_json("/tables/A6-1-1/cell", Some(&b), None, "{}"),
        post_json("/tables/A6-1-1/cell", Some(&b), Some(&b.csrf), "{"),
    ];
    for req in reqs {
        let what = format!("{} {}", req.method(), req.uri());
        let resp = send(&site, req).await;
        let h = resp.headers();
        let csp = h.get(header::CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
        assert_eq!(h.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(), "nosniff", "{what}");
        assert_eq!(h.get(header::X_FRAME_OPTIONS).unwrap(), "DENY", "{what}");
    }
    // Signed-in pages are not cached.
    let resp = send(&site, get("/tables/A6-1-1", Some(&b))).await;
    assert_eq!(resp.headers().get(header::CACHE_CONTROL).unwrap(), "no-store");
}

#[tokio::test]
async fn sync_now_wakes_the_sync_loop_or_says_why_not() {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use crate::serve::Changes;

    // Not enrolled: the page has no button, and a post says so.
    let site = site();
    let b = sign_in(&site, "张三").await;
    assert!(!text(send(&site, get("/sync", Some(&b))).await).await.contains("sync-now"));
    let resp = send(&site, form("/sync/now", Some(&b), &[("_csrf", &b.csrf)])).await;
    assert_eq!(location(&resp), "/sync");
    let set = format!("{:?}", resp.headers().get_all(header::SET_COOKIE));
    assert!(set.contains(&urlencoded("本采集端尚未注册到中心端")), "{set}");

    // Enrolled, with a running sync loop: the post wakes it.
    let changes = Arc::new(Changes::default());
    changes.running.store(true, Ordering::Relaxed);
    enroll(&site);
    let app = super::router_with_sync(site.store.clone(), Some(changes.clone()));
    let site = Site { app, ..site };
    let b = sign_in(&site, "张三").await;
    let page = text(send(&site, get("/sync", Some(&b))).await).await;
    assert!(page.contains("id=\"sync-now\"") && page.contains("立即同步"), "the button is there");
    let woken = tokio::time::timeout(Duration::from_millis(50), changes.sync_requested()).await;
    assert!(woken.is_err(), "nobody asked yet");
    // Without the CSRF token nothing is asked.
    let resp = send(&site, form("/sync/now", Some(&b), &[])).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(tokio::time::timeout(Duration::from_millis(50), changes.sync_requested()).await.is_err());
    let resp = send(&site, form("/sync/now", Some(&b), &[("_csrf", &b.csrf)])).await;
    assert_eq!(location(&resp), "/sync");
    let set = format!("{:?}", resp.headers().get_all(header::SET_COOKIE));
    assert!(set.contains(&urlencoded("立即同步已开始")), "{set}");
    let woken = tokio::time::timeout(Duration::from_secs(1), changes.sync_requested()).await;
    assert!(woken.is_ok(), "the sync loop was woken");

    // A sync loop that stopped (e.g. the hub revoked this agent) is not pretended to run.
    changes.running.store(false, Ordering::Relaxed);
    let resp = send(&site, form("/sync/now", Some(&b), &[("_csrf", &b.csrf)])).await;
    let set = format!("{:?}", resp.headers().get_all(header::SET_COOKIE));
    assert!(set.contains(&urlencoded("后台同步没有在运行")), "{set}");
}

/// How a notice's text looks inside its cookie.
fn urlencoded(s: &str) -> String {
    cookie::Cookie::new("x", s).encoded().to_string()["x=".len()..].to_string()
}

#[tokio::test]
async fn markup_typed_into_a_cell_is_shown_as_text() {
    let site = site();
    let b = sign_in(&site, "张三").await;
    let evil = "<img src=x onerror=alert(1)>\"'&";
    let resp =
        send(&site, post_json("/tables/A6-1-1/cell", Some(&b), Some(&b.csrf), &cell_body(&row1(), "name", evil))).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(json(resp).await["value"], evil, "stored as typed");
    for path in [
        "/tables/A6-1-1".to_string(),
        format!("/tables/A6-1-1?q={}", "%3Cimg"),
        format!("/tables/A6-1-1/history?row={}&field=name", row1()),
    ] {
        let page = text(send(&site, get(&path, Some(&b))).await).await;
        assert!(!page.contains("<img"), "{path}: markup escaped");
        assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"), "{path}: shown as text");
    }
}

#[tokio::test]
async fn the_grid_shows_a_change_at_once() {
    let site = site();
    let b = sign_in(&site, "张三").await;
    let page = |q: &'static str| {
        let req = get(&format!("/tables/A6-1-1{q}"), Some(&b));
        async { text(send(&site, req).await).await }
    };
    assert!(!page("").await.contains("不是有效的年月"));
    assert!(page("?only=errors").await.contains("T001"), "a row missing required fields has problems");
    let save = |v: &str| post_json("/tables/A6-1-1/cell", Some(&b), Some(&b.csrf), &cell_body(&row1(), "birth", v));
    assert_eq!(send(&site, save("198513")).await.status(), StatusCode::OK);
    let shown = page("").await;
    assert!(shown.contains("198513") && shown.contains("不是有效的年月"), "the new value and its error");
    assert_eq!(send(&site, save("198512")).await.status(), StatusCode::OK);
    let shown = page("?q=198512").await;
    assert!(shown.contains("T001") && !shown.contains("不是有效的年月"), "fixed, and found by the new value");
    assert!(!page("?q=198513").await.contains("T001"), "the old value is gone");
}

/// The grid table and the pager of a page (what a cached check could get wrong).
fn grid_of(page: &str) -> String {
    let start = page.find("<table class=\"grid\"").expect("a grid");
    let end = page[start..].find("<p class=\"legend").map_or(page.len(), |e| start + e);
    page[start..end].to_string()
}

#[tokio::test]
async fn edits_keep_the_grids_checks_as_a_fresh_check_would_find_them() {
    let site = site();
    let b = sign_in(&site, "张三").await;
    let save = |row: String, field: &'static str, v: &'static str| {
        let req = post_json("/tables/A6-1-1/cell", Some(&b), Some(&b.csrf), &cell_body(&row, field, v));
        let app = site.app.clone();
        async move {
            let resp = app.oneshot(req).await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
        }
    };
    // Each step's grid, from this site (whose cache follows the edits) and from a second
    // router on the same store that checks the sheet from scratch.
    let compare = |step: &'static str| {
        let fresh =
            Site { _dir: tempfile::tempdir().unwrap(), store: site.store.clone(), app: router(site.store.clone()) };
        let (app, cookie) = (site.app.clone(), b.cookie.clone());
        async move {
            let fb = sign_in(&fresh, "张三").await;
            // 我的报表 counts the rows and problems as a fresh check does (before the fresh
            // site's grid has cached anything).
            let line = |page: String| {
                let start = page.find("<tr data-table=\"A6-1-1\"").expect("the table's line");
                page[start..start + page[start..].find("</tr>").unwrap()].to_string()
            };
            let again = line(text(send(&fresh, get("/", Some(&fb))).await).await);
            let req = Request::get("/").header(header::COOKIE, &cookie).body(Body::empty()).unwrap();
            let cached = line(text(app.clone().oneshot(req).await.unwrap()).await);
            assert_eq!(cached, again, "{step}: 我的报表");
            for q in ["", "?only=errors"] {
                let req =
                    Request::get(format!("/tables/A6-1-1{q}")).header(header::COOKIE, &cookie).body(Body::empty());
                let cached = grid_of(&text(app.clone().oneshot(req.unwrap()).await.unwrap()).await);
                let again = grid_of(&text(send(&fresh, get(&format!("/tables/A6-1-1{q}"), Some(&fb))).await).await);
                assert_eq!(cached, again, "{step} {q}");
            }
        }
    };
    let row2 = rid(2).as_str().to_string();
    compare("at first").await;
    // A key made equal to another row's, then told apart again; a bad date; a fix.
    save(row2.clone(), "emp_no", "T001").await;
    compare("duplicate key").await;
    let page = text(send(&site, get("/tables/A6-1-1?only=errors", Some(&b))).await).await;
    assert!(page.contains("与第1行重复"), "the duplicate is found");
    save(row2.clone(), "birth", "198513").await;
    compare("bad date").await;
    save(row1(), "emp_no", "T009").await;
    compare("the first row's key moves away").await;
    let page = text(send(&site, get("/tables/A6-1-1?only=errors", Some(&b))).await).await;
    assert!(!page.contains("与第1行重复"), "no longer a duplicate");
    // A new row, then a cell in it.
    let resp = send(&site, form("/tables/A6-1-1/rows", Some(&b), &[("_csrf", &b.csrf)])).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    compare("a new row").await;
    let new_row = site.store.lock().unwrap().sheet(TABLE).unwrap().live_rows()[2].id.as_str().to_string();
    save(new_row, "emp_no", "T009").await;
    compare("the new row repeats a key").await;
    // A change that does not come from the grid (as sync or an import would make).
    site.store
        .lock()
        .unwrap()
        .write("张三", |w| {
            let v = Value::Text("T001".into());
            w.sheet(TABLE)?
                .set_cell(Edit { user: "张三", time: 2 }, &rid(1), "emp_no", Some(&v))
                .map_err(StoreError::sheet(TABLE))
        })
        .unwrap();
    compare("a change from elsewhere").await;
}

fn paste_body(rows: &[String], fields: &[&str], cells: &[&[&str]], append: bool) -> String {
    serde_json::json!({ "rows": rows, "fields": fields, "cells": cells, "append": append }).to_string()
}

/// The live rows' cells of `fields`, in order.
fn cells_of(site: &Site, fields: &[&str]) -> Vec<Vec<String>> {
    let mut s = site.store.lock().unwrap();
    s.sheet(TABLE)
        .unwrap()
        .live_rows()
        .iter()
        .map(|r| fields.iter().map(|f| r.cells.get(*f).map(ToString::to_string).unwrap_or_default()).collect())
        .collect()
}

#[tokio::test]
async fn a_block_pasted_from_excel_is_stored_whole_or_not_at_all() {
    let site = site();
    let b = sign_in(&site, "张三").await;
    let rows = vec![row1(), rid(2).as_str().to_string()];
    let paste = |body: String| post_json("/tables/A6-1-1/paste", Some(&b), Some(&b.csrf), &body);
    let message = |v: &serde_json::Value| v["message"].as_str().unwrap_or("").to_string();
    let before = snapshot(&site);

    // Refused whole: wider than the fields from the current one, longer than the rows shown
    // (without room to add), a text too long in its last cell, a row not (or no longer) there, an
    // unknown field, nothing to paste, too many cells, too large a body.
    let refused: Vec<(String, StatusCode, &str)> = vec![
        (
            paste_body(&rows, &["birth"], &[&["199001", "x"]], false),
            StatusCode::BAD_REQUEST,
            "有 2 列，从「出生日期」往右只有 1 列",
        ),
        (
            paste_body(&rows[..1], &["birth"], &[&["199001"], &["199002"]], false),
            StatusCode::BAD_REQUEST,
            "本页只有 1 行",
        ),
        (
            paste_body(&rows, &["name", "birth"], &[&["甲", "199001"], &["乙", &"长".repeat(2001)]], false),
            StatusCode::BAD_REQUEST,
            "A6-1-1 第2行「出生日期」：内容太长",
        ),
        (paste_body(&["nope".to_string()], &["birth"], &[&["1"]], false), StatusCode::NOT_FOUND, "没有要粘贴的某一行"),
        (paste_body(&rows, &["shoe_size"], &[&["42"]], false), StatusCode::BAD_REQUEST, "没有字段「shoe_size」"),
        (paste_body(&rows, &["birth"], &[], false), StatusCode::BAD_REQUEST, "没有可粘贴的内容"),
        (paste_body(&rows, &[], &[&["1"]], false), StatusCode::BAD_REQUEST, "没有指定要粘贴到的字段"),
    ];
    for (body, status, says) in refused {
        let resp = send(&site, paste(body.clone())).await;
        assert_eq!(resp.status(), status, "{body}");
        let m = message(&json(resp).await);
        assert!(m.contains(says), "{says}: {m}");
    }
    let many: Vec<Vec<&str>> = (0..201).map(|_| vec!["1"; 100]).collect();
    let body = serde_json::json!({ "rows": rows, "fields": ["birth"], "cells": many }).to_string();
    let resp = send(&site, paste(body)).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(message(&json(resp).await).contains("一次最多粘贴 20000 个单元格"));
    let huge = serde_json::json!({ "rows": rows, "fields": ["name"], "cells": [["长".repeat(1_000_000)]] }).to_string();
    let resp = send(&site, paste(huge)).await;
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(message(&json(resp).await).contains("提交的数据太大"));
    assert_eq!(snapshot(&site), before, "nothing changed");

    // A 2×2 block: each cell checked as typed (a bad date is kept as typed and flagged).
    let body = paste_body(&rows, &["name", "birth"], &[&["王五", "1985-09"], &["赵六", "198513"]], false);
    let resp = send(&site, paste(body)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let reply = json(resp).await;
    assert!(message(&reply).starts_with("已粘贴 4 个单元格（2 行）"), "{reply}");
    assert!(message(&reply).contains("1 个错误"), "{reply}");
    assert_eq!(reply["added"], 0);
    let bad = reply["cells"].as_array().unwrap().iter().find(|c| c["value"] == "198513").expect("the bad date");
    assert!(bad["messages"][0]["message"].as_str().unwrap().contains("不是有效的年月"), "{bad}");
    assert_eq!(cells_of(&site, &["emp_no", "name", "birth"]), [["T001", "王五", "198509"], ["T002", "赵六", "198513"]]);
    // The history says it was pasted.
    let page =
        text(send(&site, get(&format!("/tables/A6-1-1/history?row={}&field=name", row1()), Some(&b))).await).await;
    assert!(page.contains("更新行（粘贴）") && page.contains("王五"), "{page}");

    // Rows beyond those shown are added at the end when the last page shows unfiltered.
    let body =
        paste_body(&rows[1..], &["emp_no", "name"], &[&["T002", "赵六"], &["T003", "钱七"], &["T004", ""]], true);
    let resp = send(&site, paste(body)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let reply = json(resp).await;
    assert_eq!(reply["added"], 2, "{reply}");
    assert!(message(&reply).contains("其中新增 2 行"), "{reply}");
    assert_eq!(
        cells_of(&site, &["emp_no", "name"]),
        [["T001", "王五"], ["T002", "赵六"], ["T003", "钱七"], ["T004", ""]]
    );
    let page = text(send(&site, get("/tables/A6-1-1", Some(&b))).await).await;
    assert!(page.contains("data-append=\"1\"") && page.contains("钱七"));
    let page = text(send(&site, get("/tables/A6-1-1?q=T00", Some(&b))).await).await;
    assert!(page.contains("data-append=\"0\""), "a search shows no room to add rows");
}

#[tokio::test]
async fn cells_not_yet_on_the_hub_are_marked_until_a_sync_takes_them() {
    let site = site();
    enroll(&site);
    let b = sign_in(&site, "张三").await;
    let synced = || {
        let mut s = site.store.lock().unwrap();
        let key = s.sheet_id(TABLE).to_string();
        let heads = s.sheet(TABLE).unwrap().heads();
        s.record_sync(&[(key, heads)], &[]).unwrap();
    };
    let marks = || {
        let req = get("/tables/A6-1-1", Some(&b));
        let app = site.app.clone();
        async move {
            let page = text(app.oneshot(req).await.unwrap()).await;
            let mut out: Vec<String> = Vec::new();
            for row in page.split("<tr data-row=\"").skip(1) {
                let id = &row[..row.find('"').unwrap()];
                let no = if id == row1() { "1" } else { "2" };
                if row.split("</tr>").next().unwrap().contains("class=\"rowno c-pending") {
                    out.push(format!("{no}:"));
                }
                for cell in row.split("</tr>").next().unwrap().split("<td data-field=\"").skip(1) {
                    let field = &cell[..cell.find('"').unwrap()];
                    let head = &cell[..cell.find('>').unwrap()];
                    if head.contains("c-pending") {
                        out.push(format!("{no}:{field}"));
                    }
                }
            }
            out
        }
    };
    // Never synced: every cell of both rows waits.
    assert!(marks().await.len() >= 6, "{:?}", marks().await);
    synced();
    assert_eq!(marks().await, Vec::<String>::new(), "all on the hub");
    // A cell saved here waits until the next sync takes it; the others stay unmarked.
    let save = |v: &str| post_json("/tables/A6-1-1/cell", Some(&b), Some(&b.csrf), &cell_body(&row1(), "birth", v));
    assert_eq!(send(&site, save("198502")).await.status(), StatusCode::OK);
    assert_eq!(marks().await, ["1:birth"]);
    assert_eq!(send(&site, save("198503")).await.status(), StatusCode::OK);
    assert_eq!(marks().await, ["1:birth"], "still the one cell");
    synced();
    assert_eq!(marks().await, Vec::<String>::new());
}
