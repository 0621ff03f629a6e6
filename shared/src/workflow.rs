//! The review workflow of one sheet (year, table, department), as a pure state machine
//! (DESIGN decision 5 and the workflow diagram). Workflow state is not in the CRDT: it is an
//! append-only log of [`Event`]s — the department's steps written on the agent, the office's on
//! the hub — and the state of a sheet is the fold of its log through [`State::apply`], which
//! also checks who may do what.
//!
//! ```text
//!  draft ──submit──▶ dept_review ──approve──▶ submitted ──open──▶ office_review
//!    ▲                  │ return(head)                               │ return / accept
//!    └──────────────────┘◀──────────────── returned ◀────────────────┤
//!                                                                    ▼
//!                    reopened ◀─exception─ locked ◀─lock─ merged ◀─merge─ accepted
//!                       │ (fix, resubmit,    │ approve(final)
//!                       └─ accept) ─lock──▶  ▼
//!                                         approved ──report──▶ reported
//! ```
//!
//! These types travel in postcard (sync bodies): no field may be skipped when serialising.
//!
//! This module is the first piece of the workflow issue: the rules only. Storing and syncing
//! the logs, comments, merge, exports and the screens build on it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Who acts (DESIGN.md, roles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 数据采集人, on the agent.
    Collector,
    /// 部门负责人, on the agent.
    DeptHead,
    /// 平台管理办公室审核员, on the hub.
    OfficeReviewer,
    /// 平台管理办公室管理员, on the hub.
    OfficeAdmin,
    /// 院长办公会, on the hub.
    FinalApprover,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::Collector => "数据采集人",
            Role::DeptHead => "部门负责人",
            Role::OfficeReviewer => "平台管理办公室审核员",
            Role::OfficeAdmin => "平台管理办公室管理员",
            Role::FinalApprover => "院长办公会审定人",
        }
    }

    fn is_office(self) -> bool {
        matches!(self, Role::OfficeReviewer | Role::OfficeAdmin)
    }
}

/// The state of one sheet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// 填报中.
    #[default]
    Draft,
    /// 部门审核中: the collector submitted it to the department head.
    DeptReview,
    /// 已报送: the head approved it and submitted it to the office.
    Submitted,
    /// 平台审核中.
    OfficeReview,
    /// 已退回: the office returned it with comments.
    Returned,
    /// 已通过.
    Accepted,
    /// 已汇总 into the school-wide table.
    Merged,
    /// 已锁定: the year's locked heads include this sheet.
    Locked,
    /// 例外开放: reopened after the lock by an exception (reason required).
    Reopened,
    /// 已审定 by the president's office meeting.
    Approved,
    /// 已上报 to the provincial education department.
    Reported,
}

impl State {
    pub fn label(self) -> &'static str {
        match self {
            State::Draft => "填报中",
            State::DeptReview => "部门审核中",
            State::Submitted => "已报送",
            State::OfficeReview => "平台审核中",
            State::Returned => "已退回",
            State::Accepted => "已通过",
            State::Merged => "已汇总",
            State::Locked => "已锁定",
            State::Reopened => "例外开放",
            State::Approved => "已审定",
            State::Reported => "已上报",
        }
    }

    /// Whether the department may still change the sheet's data in this state.
    pub fn editable(self) -> bool {
        matches!(self, State::Draft | State::Returned | State::Reopened)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The collector submits to the department head.
    Submit,
    /// The head returns to the collector (reason required).
    DeptReturn,
    /// The head approves and submits to the office (pins the heads).
    DeptApprove,
    /// The office opens the submission for review.
    Open,
    /// The office returns it with comments (reason required).
    Return,
    Accept,
    Merge,
    /// Locks the sheet at its current heads (also re-locks after an exception).
    Lock,
    /// Reopens one locked sheet (reason required, audited).
    Exception,
    /// The final approval of the locked submission.
    Approve,
    /// The export for the province.
    Report,
}

impl Action {
    pub fn label(self) -> &'static str {
        match self {
            Action::Submit => "提交部门审核",
            Action::DeptReturn => "部门退回",
            Action::DeptApprove => "部门审核通过并报送",
            Action::Open => "开始审核",
            Action::Return => "退回修改",
            Action::Accept => "审核通过",
            Action::Merge => "汇总",
            Action::Lock => "锁定",
            Action::Exception => "例外开放",
            Action::Approve => "院长办公会审定",
            Action::Report => "上报",
        }
    }

    /// Whether the action needs a reason.
    pub fn needs_reason(self) -> bool {
        matches!(self, Action::DeptReturn | Action::Return | Action::Exception)
    }

    fn allowed(self, role: Role) -> bool {
        match self {
            Action::Submit => matches!(role, Role::Collector | Role::DeptHead),
            Action::DeptReturn | Action::DeptApprove => role == Role::DeptHead,
            Action::Open | Action::Return | Action::Accept => role.is_office(),
            Action::Merge | Action::Lock | Action::Exception | Action::Report => role == Role::OfficeAdmin,
            Action::Approve => role == Role::FinalApprover,
        }
    }
}

/// One entry of a sheet's workflow log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub action: Action,
    pub role: Role,
    /// The person.
    pub actor: String,
    /// Unix seconds.
    pub at: i64,
    #[serde(default)]
    pub reason: Option<String>,
    /// The sheet's heads (hex) the event refers to: a submission is "this version", a lock
    /// records the locked version.
    #[serde(default)]
    pub heads: Vec<String>,
}

/// A comment on a sheet, a row or a cell (left by the office with a return, or by a head).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    /// Row id, for a comment on a row or a cell.
    #[serde(default)]
    pub row: Option<String>,
    /// Field id, for a comment on a cell.
    #[serde(default)]
    pub field: Option<String>,
    pub text: String,
    pub author: String,
    pub at: i64,
}

/// What a workflow record says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Event(Event),
    Comment(Comment),
    /// A comment was dealt with.
    Resolve {
        comment: String,
        by: String,
        at: i64,
    },
}

/// One entry of a sheet's workflow log as it travels between agent and hub. Each side writes
/// only its own records; the hub numbers every record it receives or writes (`seq`) and says
/// whether it applied (`refused`), and that order is the log's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Unique (a UUIDv7), so a record sent twice is stored once.
    pub id: String,
    /// `SheetId` text.
    pub sheet: String,
    pub kind: RecordKind,
    /// Set by the hub.
    #[serde(default)]
    pub seq: Option<i64>,
    /// Set by the hub when the record did not apply (e.g. a submission that arrived after the
    /// lock), with why.
    #[serde(default)]
    pub refused: Option<String>,
    /// Set by the hub on a submission that came after the plan's deadline.
    #[serde(default)]
    pub late: bool,
}

/// The state of a sheet from its records in log order (refused ones skipped).
pub fn state_of<'r>(records: impl IntoIterator<Item = &'r Record>) -> State {
    let events = records.into_iter().filter(|r| r.refused.is_none()).filter_map(|r| match &r.kind {
        RecordKind::Event(e) => Some(e),
        _ => None,
    });
    State::replay(events).0
}

/// Why an action is refused; the message says so in Chinese.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    #[error("{role}不能执行「{action}」")]
    NotAllowed { role: &'static str, action: &'static str },
    #[error("当前状态为「{state}」，不能执行「{action}」")]
    WrongState { state: &'static str, action: &'static str },
    #[error("「{0}」必须填写原因")]
    ReasonRequired(&'static str),
    #[error("有 {0} 处错误，须修正后才能提交（警告不影响提交）")]
    HasErrors(usize),
}

impl State {
    /// The state after `event`, or why it may not happen.
    pub fn apply(self, event: &Event) -> Result<State, WorkflowError> {
        let action = event.action;
        if !action.allowed(event.role) {
            return Err(WorkflowError::NotAllowed { role: event.role.label(), action: action.label() });
        }
        if action.needs_reason() && event.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
            return Err(WorkflowError::ReasonRequired(action.label()));
        }
        use State::*;
        let next = match (self, action) {
            (Draft | Returned | Reopened, Action::Submit) => DeptReview,
            (DeptReview, Action::DeptReturn) => Draft,
            // A head may approve directly what they filled themselves.
            (DeptReview | Draft | Returned | Reopened, Action::DeptApprove) => Submitted,
            (Submitted, Action::Open) => OfficeReview,
            // A merge can show a problem (a duplicate with another department): the office
            // returns the sheet that must change.
            (Submitted | OfficeReview | Accepted | Merged, Action::Return) => Returned,
            (Submitted | OfficeReview, Action::Accept) => Accepted,
            (Accepted, Action::Merge) => Merged,
            // After an exception the sheet is resubmitted, accepted again and re-locked at its
            // new heads, without a new merge.
            (Merged | Accepted, Action::Lock) => Locked,
            (Locked, Action::Exception) => Reopened,
            (Locked, Action::Approve) => Approved,
            (Approved, Action::Report) => Reported,
            _ => return Err(WorkflowError::WrongState { state: self.label(), action: action.label() }),
        };
        Ok(next)
    }

    /// Folds a log from the start; stops at the first event that does not apply and returns
    /// it with the state before it (the hub records such an event as refused, not obeyed).
    pub fn replay<'e>(events: impl IntoIterator<Item = &'e Event>) -> (State, Option<(&'e Event, WorkflowError)>) {
        let mut state = State::Draft;
        for e in events {
            match state.apply(e) {
                Ok(s) => state = s,
                Err(err) => return (state, Some((e, err))),
            }
        }
        (state, None)
    }
}

/// Validation errors block a submission; warnings do not.
pub fn check_submittable(errors: usize) -> Result<(), WorkflowError> {
    if errors > 0 { Err(WorkflowError::HasErrors(errors)) } else { Ok(()) }
}

/// Whether an event at `at` (unix seconds) is after a deadline (`YYYY-MM-DD`, the whole day
/// counts, China Standard Time). Lateness is recorded, never enforced.
pub fn is_late(deadline: Option<&str>, at: i64) -> bool {
    let Some(d) = deadline.and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()) else { return false };
    let end_of_day = d.and_hms_opt(23, 59, 59).expect("valid time").and_utc().timestamp() - 8 * 3600;
    at > end_of_day
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(action: Action, role: Role, reason: Option<&str>) -> Event {
        Event { action, role, actor: "某人".into(), at: 1, reason: reason.map(String::from), heads: vec![] }
    }

    #[test]
    fn a_whole_year() {
        use Action::*;
        use Role::*;
        let log = [
            ev(Submit, Collector, None),
            ev(DeptReturn, DeptHead, Some("出生日期有误")),
            ev(Submit, Collector, None),
            ev(DeptApprove, DeptHead, None),
            ev(Open, OfficeReviewer, None),
            ev(Return, OfficeReviewer, Some("第3行职称与证书不符")),
            ev(Submit, Collector, None),
            ev(DeptApprove, DeptHead, None),
            ev(Accept, OfficeReviewer, None),
            ev(Merge, OfficeAdmin, None),
            ev(Lock, OfficeAdmin, None),
            ev(Exception, OfficeAdmin, Some("人事处补报一名新进教师")),
            ev(DeptApprove, DeptHead, None),
            ev(Accept, OfficeReviewer, None),
            ev(Lock, OfficeAdmin, None),
            ev(Approve, FinalApprover, None),
            ev(Report, OfficeAdmin, None),
        ];
        let mut state = State::Draft;
        let mut seen = vec![state];
        for e in &log {
            state = state.apply(e).unwrap_or_else(|err| panic!("{:?} in {state:?}: {err}", e.action));
            seen.push(state);
        }
        assert_eq!(state, State::Reported);
        assert!(seen.contains(&State::Reopened) && seen.contains(&State::Returned));
        assert_eq!(State::replay(&log), (State::Reported, None));
    }

    #[test]
    fn refusals_name_role_state_and_reason() {
        use Action::*;
        use Role::*;
        for (state, event, want) in [
            (State::DeptReview, ev(DeptApprove, Collector, None), "数据采集人不能执行「部门审核通过并报送」"),
            (State::Submitted, ev(Accept, DeptHead, None), "部门负责人不能执行「审核通过」"),
            (State::Locked, ev(Submit, Collector, None), "当前状态为「已锁定」，不能执行「提交部门审核」"),
            (State::OfficeReview, ev(Return, OfficeReviewer, Some("  ")), "「退回修改」必须填写原因"),
            (State::Locked, ev(Exception, OfficeAdmin, None), "「例外开放」必须填写原因"),
            (State::Accepted, ev(Approve, FinalApprover, None), "当前状态为「已通过」，不能执行「院长办公会审定」"),
            (State::Merged, ev(Lock, OfficeReviewer, None), "平台管理办公室审核员不能执行「锁定」"),
            (State::Draft, ev(Lock, OfficeAdmin, None), "当前状态为「填报中」，不能执行「锁定」"),
        ] {
            assert_eq!(state.apply(&event).unwrap_err().to_string(), want);
        }
        let log = [ev(Submit, Collector, None), ev(Accept, OfficeReviewer, None)];
        let (state, refused) = State::replay(&log);
        assert_eq!(state, State::DeptReview);
        assert_eq!(refused.map(|(e, _)| e.action), Some(Accept));
    }

    #[test]
    fn editing_submission_and_lateness() {
        assert!(State::Draft.editable() && State::Returned.editable() && State::Reopened.editable());
        assert!(!State::Submitted.editable() && !State::Locked.editable());
        assert_eq!(check_submittable(0), Ok(()));
        assert_eq!(check_submittable(2).unwrap_err().to_string(), "有 2 处错误，须修正后才能提交（警告不影响提交）");
        // 2026-10-15 23:59:59 in Beijing is 15:59:59 UTC.
        let edge = chrono::NaiveDate::from_ymd_opt(2026, 10, 15)
            .unwrap()
            .and_hms_opt(15, 59, 59)
            .unwrap()
            .and_utc()
            .timestamp();
        assert!(!is_late(Some("2026-10-15"), edge));
        assert!(is_late(Some("2026-10-15"), edge + 1));
        assert!(!is_late(None, edge + 1_000_000));
    }
}
