//! 同步状态 (/sync): whether the hub was reachable at the last attempt, when the last sync
//! succeeded, and what waits to go (sheets changed since, workflow records not yet sent).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use caiji_shared::sheet::SheetId;
use caiji_shared::workflow::{Record, RecordKind};
use maud::html;
use serde::Deserialize;

use super::{SITE, Session, WebState, frame, with_store};
use crate::cmd::local_time;
use crate::webkit::{self, CsrfForm, WebError};

pub fn routes() -> Router<Arc<WebState>> {
    Router::new().route("/sync", get(sync_page)).route("/sync/now", post(sync_now))
}

#[derive(Deserialize)]
struct Empty {}

/// 立即同步: wakes the background sync loop and comes back to the page with a notice.
async fn sync_now(
    State(state): State<Arc<WebState>>,
    session: Session,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, WebError> {
    let enrolled = with_store(&state, |s| Ok(s.hub()?.is_some())).await?;
    let flash = if !enrolled {
        webkit::failed("本采集端尚未注册到中心端，无法同步；请先在命令行运行 caiji-agent enroll 注册")
    } else if state.sync.as_ref().is_some_and(|c| c.sync_now()) {
        tracing::info!(user = %session.user, "网页请求立即同步");
        webkit::ok("立即同步已开始，稍后刷新本页查看结果")
    } else {
        webkit::failed("后台同步没有在运行（可能已被中心端停用），请查看下方的错误，或在命令行运行 caiji-agent sync")
    };
    Ok(SITE.redirect_with("/sync", flash))
}

/// What a waiting record is, in words.
pub fn record_text(r: &Record) -> String {
    match &r.kind {
        RecordKind::Event(e) => match &e.reason {
            Some(why) => format!("{}（{}）：{why}", e.action.label(), e.actor),
            None => format!("{}（{}）", e.action.label(), e.actor),
        },
        RecordKind::Comment(c) => format!("批注（{}）：{}", c.author, c.text),
        RecordKind::Resolve { by, .. } => format!("批注已处理（{by}）"),
    }
}

fn record_time(r: &Record) -> i64 {
    match &r.kind {
        RecordKind::Event(e) => e.at,
        RecordKind::Comment(c) => c.at,
        RecordKind::Resolve { at, .. } => *at,
    }
}

async fn sync_page(State(state): State<Arc<WebState>>, session: Session) -> Result<Response, WebError> {
    with_store(&state, move |s| {
        let hub = s.hub()?;
        let (last_ok, last_error) = s.sync_overview()?;
        let sheets = s.sheet_sync()?;
        let records = s.pending_records()?;
        let title_of = |table: &str| s.table(table).map(|t| t.title()).unwrap_or_else(|_| table.to_string());
        let waiting: Vec<_> = sheets.iter().filter(|x| x.pending).collect();
        let f = frame(s, &session, "/sync", session.flash.clone());
        let body = html! {
            h1 { "同步状态" }
            @match &hub {
                None => p.flash.warn #sync-state { "本采集端尚未连接中心端（未登记）。请在命令行运行 "
                    code { "caiji-agent enroll --hub 地址 --code 登记码 --fingerprint 指纹" } "。数据只保存在本机。" },
                Some(h) => {
                    @if let Some(e) = &last_error {
                        p.flash.err #sync-state { "离线：最近一次同步失败：" (e) }
                    } @else if last_ok.is_some() {
                        p.flash.ok #sync-state { "在线：最近一次同步成功" }
                    } @else {
                        p.flash.warn #sync-state { "尚未同步过" }
                    }
                    dl.facts {
                        dt { "中心端" } dd { (h.school) "（" (h.url) "）" }
                        dt { "最近成功同步" } dd #last-sync { (last_ok.map(local_time).unwrap_or_else(|| "从未".into())) }
                        dt { "等待发送的报表" } dd { (waiting.len()) " 张" }
                        dt { "等待发送的流程记录" } dd { (records.len()) " 条" }
                    }
                    form.inline #sync-now method="post" action="/sync/now" {
                        (webkit::csrf_field(&session.csrf))
                        button.primary type="submit" { "立即同步" }
                    }
                    p.hint { "运行 caiji-agent serve 时，本机的修改会在几秒内自动发送；连不上时会自动重试。
                        点“立即同步”可马上与中心端同步一次。" }
                }
            }
            h2 { "各报表" }
            table.list #sheets {
                thead { tr { th { "报表" } th { "最近成功同步" } th { "状态" } th { "中心端拒收原因" } } }
                tbody {
                    @for x in &sheets {
                        tr {
                            td { a href={ "/tables/" (x.table) } { (title_of(&x.table)) } }
                            td { (x.last_ok.map(local_time).unwrap_or_else(|| "从未".into())) }
                            td { @if x.pending { span.warnings { "有修改等待发送" } } @else { "已同步" } }
                            td { @if let Some(e) = &x.last_error { span.errors { (e) } } }
                        }
                    }
                    @if sheets.is_empty() { tr { td colspan="4" { "还没有填写任何报表。" } } }
                }
            }
            h2 { "等待发送的流程记录" }
            table.list #records {
                thead { tr { th { "报表" } th { "内容" } th { "时间" } } }
                tbody {
                    @for r in &records {
                        tr {
                            td { (r.sheet.parse::<SheetId>().map(|id| title_of(&id.table)).unwrap_or_else(|_| r.sheet.clone())) }
                            td { (record_text(r)) }
                            td { (local_time(record_time(r))) }
                        }
                    }
                    @if records.is_empty() { tr { td colspan="3" { "没有。" } } }
                }
            }
        };
        Ok(webkit::page(&f, "同步状态", body))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use caiji_shared::workflow::{Action, Event, Role};

    #[test]
    fn records_read_as_words() {
        let event = Event {
            action: Action::DeptReturn,
            role: Role::DeptHead,
            actor: "李主任".into(),
            at: 1,
            reason: Some("出生日期有误".into()),
            heads: vec![],
        };
        let r = Record {
            id: "1".into(),
            sheet: "x".into(),
            kind: RecordKind::Event(event),
            seq: None,
            refused: None,
            late: false,
        };
        assert_eq!(record_text(&r), "部门退回（李主任）：出生日期有误");
    }
}
