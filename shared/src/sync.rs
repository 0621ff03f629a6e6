//! The wire types of agent ↔ hub sync (DESIGN decision 8), encoded with postcard in binary
//! request and response bodies.
//!
//! A sync is a few rounds of one request each:
//! 1. the agent sends the heads of every sheet it has ([`SyncRequest::summary`]); the hub
//!    answers which sheets differ ([`SyncResponse::changed`]) — an idle sync costs one round of
//!    about 40 bytes per sheet and never loads a document;
//! 2. for those sheets, Automerge sync messages go back and forth ([`SyncRequest::messages`],
//!    [`SyncResponse::messages`]), many sheets per request, until both sides are quiet.

use serde::{Deserialize, Serialize};

/// Refuse request and response bodies larger than this.
pub const MAX_BODY: usize = 64 * 1024 * 1024;
/// Refuse requests carrying more sheets than this.
pub const MAX_SHEETS: usize = 5_000;
/// Rounds after which a sync gives up (a correct exchange needs a handful).
pub const MAX_ROUNDS: usize = 30;

/// The heads of one sheet, as raw 32-byte hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SheetHeads {
    /// `SheetId` text: edition/year/table/department.
    pub sheet: String,
    pub heads: Vec<[u8; 32]>,
}

/// One Automerge sync message for one sheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SheetMessage {
    pub sheet: String,
    /// `automerge::sync::Message::encode()`.
    pub message: Vec<u8>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// Round 1: the heads of every sheet the agent has.
    pub summary: Option<Vec<SheetHeads>>,
    pub messages: Vec<SheetMessage>,
    /// The department's workflow records the hub has not acknowledged yet.
    pub records: Vec<crate::workflow::Record>,
    /// The highest record `seq` the agent has from the hub (round 1).
    pub records_since: Option<i64>,
}

/// A sheet the hub refused, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SheetRefusal {
    pub sheet: String,
    /// Stable code, e.g. `not_your_department`.
    pub code: String,
    /// Chinese, for the agent's status.
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// Sheets whose heads differ from the summary, including sheets the agent does not have.
    pub changed: Vec<String>,
    pub messages: Vec<SheetMessage>,
    pub refused: Vec<SheetRefusal>,
    /// The version of the office's collection plan; the agent fetches it when it changed.
    pub plan_version: i64,
    /// The department's records after `records_since`, in the hub's order (the agent's own
    /// ones included, with the hub's verdict).
    pub records: Vec<crate::workflow::Record>,
    /// Whether this request added records (other agents of the department are told).
    pub changed_records: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("同步数据格式错误：{0}")]
pub struct WireError(String);

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).expect("sync types serialise")
}

pub fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, WireError> {
    if bytes.len() > MAX_BODY {
        return Err(WireError(format!("数据过大（{} 字节）", bytes.len())));
    }
    postcard::from_bytes(bytes).map_err(|e| WireError(e.to_string()))
}

/// The collection plan as the hub sends it to a department's agent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentPlan {
    pub version: i64,
    pub edition: String,
    pub year: i32,
    pub department: String,
    pub department_name: String,
    /// The tables this department fills this year, with deadlines (YYYY-MM-DD).
    pub tables: Vec<PlannedTable>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedTable {
    pub table: String,
    pub deadline: Option<String>,
}

/// Every HTTP error of the hub: a stable code and a Chinese message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

/// `POST /api/enroll`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollRequest {
    pub code: String,
    /// A name for the machine, e.g. 计算机系-办公室电脑.
    pub agent_name: String,
}

/// The hub's answer to an enrollment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolled {
    pub agent_id: String,
    /// The long-lived token; shown once, kept by the hub only as a hash.
    pub token: String,
    pub school: String,
    pub department: String,
    pub department_name: String,
    pub teaching: bool,
    pub year: i32,
    pub edition: String,
}

/// `GET /api/agent/events`: the newest event version for this agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventVersion {
    pub version: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusal_of_garbage() {
        let req = SyncRequest {
            summary: Some(vec![SheetHeads { sheet: "2016/2025/A6-1-1/jsjx".into(), heads: vec![[7; 32]] }]),
            messages: vec![SheetMessage { sheet: "x".into(), message: vec![1, 2, 3] }],
            ..SyncRequest::default()
        };
        let bytes = encode(&req);
        assert_eq!(decode::<SyncRequest>(&bytes).unwrap(), req);
        assert!(decode::<SyncRequest>(&bytes[..bytes.len() - 2]).is_err(), "truncated");
        assert!(decode::<SyncRequest>(&[0xFF; 16]).is_err(), "garbage");
    }
}
