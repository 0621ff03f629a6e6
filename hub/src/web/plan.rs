//! 采集计划: departments, which department fills which table by when, enrollment codes (shown
//! once), the enrolled agents (revoke) and the office's users. The office may look; only the
//! administrator changes anything, as on the command line.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use caiji_agent::webkit::{self, CsrfForm, WebError};
use caiji_shared::catalog::DepartmentKind;
use maud::{Markup, html};
use serde::Deserialize;

use super::{Session, admin_only, back, frame, office_only, with_store};
use crate::server::AppState;
use crate::store::{HubStore, OfficeRole};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/plan", get(page))
        .route("/plan/department", post(add_department))
        .route("/plan/assign", post(assign))
        .route("/plan/code", post(code))
        .route("/plan/revoke", post(revoke))
        .route("/plan/user", post(add_user))
}

const ROLES: [OfficeRole; 4] = [OfficeRole::Reviewer, OfficeRole::Admin, OfficeRole::Approver, OfficeRole::DeptViewer];

fn render(store: &HubStore, session: &Session) -> Result<Markup, WebError> {
    let admin = session.user.role == OfficeRole::Admin;
    let csrf = &session.csrf;
    let departments = store.departments()?;
    let mut plan: HashMap<(String, String), Option<String>> = HashMap::new();
    for d in &departments {
        for t in store.plan_for(&d.code)?.tables {
            plan.insert((t.table, d.code.clone()), t.deadline);
        }
    }
    let edition = store.edition();
    let planned: Vec<_> = edition
        .tables
        .iter()
        .filter(|t| departments.iter().any(|d| plan.contains_key(&(t.id.clone(), d.code.clone()))))
        .collect();
    let agents = store.agents()?;
    let users = store.users()?;
    let dept_name = |c: &str| departments.iter().find(|d| d.code == c).map_or(c.to_string(), |d| d.name.clone());
    Ok(html! {
        div.toolbar { h1 { "采集计划" } span.spacer {} button type="button" data-print { "打印" } }
        @if !admin { p.hint { "只有平台管理员可以修改采集计划、注册码、采集端和用户。" } }
        section.panel #departments {
            h2 { "部门" }
            table.list {
                thead { tr { th { "代码" } th { "名称" } th { "类型" } th { "分配的表" } } }
                tbody { @for d in &departments { tr {
                    td { (d.code) } td { (d.name) }
                    td { (if d.kind == DepartmentKind::Teaching { "系部" } else { "处室" }) }
                    td { (plan.keys().filter(|(_, c)| *c == d.code).count()) }
                } } }
            }
            @if admin {
                form.toolbar method="post" action="/plan/department" {
                    (webkit::csrf_field(csrf))
                    label { "代码" input type="text" name="code" required pattern="[a-z0-9-]+" placeholder="如 jsjx"; }
                    label { "名称" input type="text" name="name" required placeholder="如 计算机系"; }
                    label { "类型" select name="kind" { option value="teaching" { "系部" } option value="office" { "处室" } } }
                    button.primary type="submit" #add-department { "添加部门" }
                }
            }
        }
        section.panel #assignments {
            h2 { "表的分配与截止日期" }
            div.scroll { table.list #plan-table {
                thead { tr { th { "表" } @for d in &departments { th { (d.name) } } } }
                tbody { @for t in &planned { tr {
                    th { (t.id) " " (t.name) }
                    @for d in &departments {
                        @match plan.get(&(t.id.clone(), d.code.clone())) {
                            Some(dl) => { td { "✓" @if let Some(dl) = dl { " 截止 " (dl) } } }
                            None => { td.none { "—" } }
                        }
                    }
                } } }
            } }
            @if admin {
                form method="post" action="/plan/assign" {
                    (webkit::csrf_field(csrf))
                    div.toolbar {
                        label { "表" select name="table" required {
                            @for t in &edition.tables { option value=(t.id) { (t.id) " " (t.name) } }
                        } }
                        label { "截止日期" input type="date" name="deadline"; }
                        label { "操作" select name="op" { option value="assign" { "分配 / 修改截止日期" } option value="remove" { "取消分配" } } }
                    }
                    div.toolbar {
                        "部门："
                        @for d in &departments { label { input type="checkbox" name="department" value=(d.code); " " (d.name) } }
                        button.primary type="submit" #assign { "保存" }
                    }
                }
            }
        }
        @if admin {
            section.panel #codes {
                h2 { "注册码" }
                p.hint { "为部门的采集端签发一次性注册码；注册码只显示这一次，请当面或电话告知。" }
                form.toolbar method="post" action="/plan/code" {
                    (webkit::csrf_field(csrf))
                    label { "部门" select name="department" { @for d in &departments { option value=(d.code) { (d.name) } } } }
                    label { "有效期（小时）" input type="number" name="hours" value="72" min="1" max="720"; }
                    button.primary type="submit" #issue-code { "签发注册码" }
                }
            }
        }
        section.panel #agents {
            h2 { "采集端" }
            @if agents.is_empty() { p.muted { "还没有采集端注册。" } }
            table.list { tbody { @for a in &agents { tr class=[a.revoked.then_some("deleted")] {
                td { (a.name) } td { (dept_name(&a.department)) } td.muted { (a.id) }
                td { @if a.revoked { "已停用" } @else {
                    "正常"
                    @if admin {
                        form method="post" action="/plan/revoke" data-confirm="停用后该采集端不能再同步。确定停用吗？" {
                            (webkit::csrf_field(csrf)) input type="hidden" name="agent" value=(a.id);
                            button.danger type="submit" { "停用" }
                        }
                    }
                } }
            } } } }
        }
        section.panel #users {
            h2 { "用户" }
            table.list { tbody { @for u in &users { tr {
                td { (u.name) } td { (u.role.label()) }
                td { (u.department.as_deref().map(&dept_name).unwrap_or_default()) }
            } } } }
            @if admin {
                form.toolbar method="post" action="/plan/user" {
                    (webkit::csrf_field(csrf))
                    label { "用户名" input type="text" name="name" required; }
                    label { "角色" select name="role" { @for r in ROLES { option value=(r.as_str()) { (r.label()) } } } }
                    label { "部门（部门负责人必选）" select name="department" {
                        option value="" { "（无）" }
                        @for d in &departments { option value=(d.code) { (d.name) } }
                    } }
                    label { "密码（至少 8 位）" input type="password" name="password" required minlength="8" autocomplete="new-password"; }
                    button.primary type="submit" #add-user { "添加用户" }
                }
            }
        }
    })
}

async fn page(State(state): State<Arc<AppState>>, session: Session) -> Result<Response, WebError> {
    office_only(&session)
        .map_err(|_| WebError::forbidden("部门负责人（只读）不能查看采集计划，只能查看全校汇总数据"))?;
    let st = state.clone();
    with_store(&state, move |s| {
        let body = render(s, &session)?;
        let f = frame(&st, s, &session, "/plan", &[]);
        Ok(webkit::page(&f, "采集计划", body))
    })
    .await
}

fn actor(session: &Session) -> String {
    format!("user:{}", session.user.name)
}

#[derive(Deserialize)]
struct DepartmentForm {
    code: String,
    name: String,
    kind: String,
}

async fn add_department(
    State(state): State<Arc<AppState>>,
    session: Session,
    CsrfForm(form): CsrfForm<DepartmentForm>,
) -> Result<Response, WebError> {
    admin_only(&session, "添加部门")?;
    let who = actor(&session);
    let result = with_store(&state, move |s: &mut HubStore| {
        let (code, name) = (form.code.trim(), form.name.trim());
        if name.is_empty() {
            return Err(WebError::bad_request(format!("部门「{code}」的名称不能为空")));
        }
        let kind = if form.kind == "office" { DepartmentKind::Office } else { DepartmentKind::Teaching };
        let n = s.add_department(code, name, kind)?;
        s.audit(&who, "department_added", &format!("{code} {name}"))?;
        Ok(format!("已添加部门 {name}（{code}），默认分配 {n} 张表"))
    })
    .await;
    back(&state, "/plan", result)
}

async fn assign(
    State(state): State<Arc<AppState>>,
    session: Session,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    admin_only(&session, "修改采集计划")?;
    let who = actor(&session);
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_string()).unwrap_or_default();
    let (table, deadline, remove) = (get("table"), get("deadline"), get("op") == "remove");
    let departments: Vec<String> = pairs.iter().filter(|(k, _)| k == "department").map(|(_, v)| v.clone()).collect();
    let result = with_store(&state, move |s| {
        if departments.is_empty() {
            return Err(WebError::bad_request(format!("表「{table}」：请至少选择一个部门")));
        }
        let deadline = Some(deadline.as_str()).filter(|d| !d.is_empty());
        for d in &departments {
            s.set_assignment(&table, d, !remove, deadline)?;
            s.audit(&who, "plan_changed", &format!("{table} {d} {}", if remove { "remove" } else { "assign" }))?;
        }
        Ok(format!(
            "已{}表 {table}：{}{}",
            if remove { "取消分配" } else { "分配" },
            departments.join("、"),
            deadline.filter(|_| !remove).map(|d| format!("，截止 {d}")).unwrap_or_default()
        ))
    })
    .await;
    back(&state, "/plan", result)
}

#[derive(Deserialize)]
struct CodeForm {
    department: String,
    hours: Option<String>,
}

async fn code(
    State(state): State<Arc<AppState>>,
    session: Session,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<Response, WebError> {
    admin_only(&session, "签发注册码")?;
    let who = actor(&session);
    let result = with_store(&state, move |s| {
        let hours: i64 = match form.hours.as_deref().map(str::trim).filter(|h| !h.is_empty()) {
            None => 72,
            Some(h) => h
                .parse()
                .ok()
                .filter(|h| (1..=720).contains(h))
                .ok_or_else(|| WebError::bad_request(format!("有效期「{h}」无效：应为 1 到 720 之间的小时数")))?,
        };
        let code = s.new_enroll_code(&form.department, hours)?;
        let dept = s.department(&form.department)?;
        s.audit(&who, "enroll_code_issued", &form.department)?;
        let fp = crate::tls::server_fingerprint(s.dir()).unwrap_or_else(|_| "（未使用 TLS）".into());
        Ok(format!(
            "{}（{}）的注册码：{code}（只显示这一次，{hours} 小时内有效）；中心端证书指纹：{fp}",
            dept.name, dept.code
        ))
    })
    .await;
    back(&state, "/plan", result)
}

#[derive(Deserialize)]
struct RevokeForm {
    agent: String,
}

async fn revoke(
    State(state): State<Arc<AppState>>,
    session: Session,
    CsrfForm(form): CsrfForm<RevokeForm>,
) -> Result<Response, WebError> {
    admin_only(&session, "停用采集端")?;
    let who = actor(&session);
    let result = with_store(&state, move |s| {
        if s.revoke(&form.agent)? {
            s.audit(&who, "agent_revoked", &form.agent)?;
            Ok(format!("已停用采集端 {}", form.agent))
        } else {
            Err(WebError::bad_request(format!("没有采集端「{}」，或它已停用", form.agent)))
        }
    })
    .await;
    back(&state, "/plan", result)
}

#[derive(Deserialize)]
struct UserForm {
    name: String,
    role: String,
    #[serde(default)]
    department: String,
    password: String,
}

async fn add_user(
    State(state): State<Arc<AppState>>,
    session: Session,
    CsrfForm(form): CsrfForm<UserForm>,
) -> Result<Response, WebError> {
    admin_only(&session, "添加用户")?;
    let result = with_store(&state, move |s| {
        let name = form.name.trim();
        if name.is_empty() {
            return Err(WebError::bad_request("用户名不能为空"));
        }
        let role = OfficeRole::parse(&form.role)
            .ok_or_else(|| WebError::bad_request(format!("用户「{name}」的角色「{}」无效", form.role)))?;
        let department = Some(form.department.trim()).filter(|d| !d.is_empty());
        if role == OfficeRole::DeptViewer && department.is_none() {
            return Err(WebError::bad_request(format!("用户「{name}」是部门负责人，请选择部门")));
        }
        s.add_user(name, role, department, &form.password)?;
        Ok(format!("已添加用户 {name}（{}）", role.label()))
    })
    .await;
    back(&state, "/plan", result)
}
