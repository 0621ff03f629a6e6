//! The agent's side of sync: a summary round that finds the sheets that differ, then rounds
//! of Automerge sync messages for just those sheets, many per request, until both sides are
//! quiet. Every round's changes and sync states are stored in one transaction before the next
//! request, so an exchange broken at any point resumes cleanly.
//!
//! The store is shared with the drop folder (and later the web screens), so it is locked only
//! around local work, never while waiting for the network.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use automerge::sync::{self, SyncDoc};
use caiji_shared::sheet::SheetId;
use caiji_shared::sync::{MAX_ROUNDS, SheetMessage, SyncRequest};

use crate::hub_client::{HubClient, HubClientError};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Hub(#[from] HubClientError),
    #[error(transparent)]
    Store(Box<StoreError>),
    #[error("本采集端尚未注册到中心端；请先运行 `caiji-agent enroll`")]
    NotEnrolled,
    #[error("同步未能在 {0} 轮内完成，将稍后重试")]
    TooManyRounds(usize),
}

impl From<StoreError> for SyncError {
    fn from(e: StoreError) -> Self {
        SyncError::Store(Box::new(e))
    }
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub rounds: usize,
    pub bytes_sent: usize,
    pub bytes_received: usize,
    /// Sheets that needed an exchange.
    pub sheets: usize,
    pub plan_updated: bool,
    /// (sheet, the hub's reason) for sheets the hub refused.
    pub refused: Vec<(String, String)>,
}

fn lock(store: &Mutex<Store>) -> std::sync::MutexGuard<'_, Store> {
    // A panic elsewhere while holding the lock leaves the store usable (it reloads from disk).
    store.lock().unwrap_or_else(|p| p.into_inner())
}

/// A client for the hub this store is enrolled with.
pub fn client_for(store: &Store) -> Result<HubClient, SyncError> {
    let link = store.hub()?.ok_or(SyncError::NotEnrolled)?;
    Ok(HubClient::new(&link.url, Some(&link.fingerprint), Some(&link.token))?)
}

/// Brings this agent's sheets and the hub's to the same state.
pub async fn sync_once(store: &Arc<Mutex<Store>>, client: &HubClient) -> Result<SyncReport, SyncError> {
    let result = exchange(store, client).await;
    if let Err(e) = &result {
        let _ = lock(store).record_sync_error(&e.to_string());
    }
    result
}

/// Pushes local changes of `sheets` without the summary round: after a local edit the agent
/// knows what changed, so the hub receives just those changes.
pub async fn push(store: &Arc<Mutex<Store>>, client: &HubClient, sheets: &[SheetId]) -> Result<SyncReport, SyncError> {
    let mut report = SyncReport { sheets: sheets.len(), ..SyncReport::default() };
    let result = rounds(store, client, sheets, BTreeMap::new(), &mut report, false).await;
    if let Err(e) = &result {
        let _ = lock(store).record_sync_error(&e.to_string());
    }
    result.map(|()| report)
}

async fn exchange(store: &Arc<Mutex<Store>>, client: &HubClient) -> Result<SyncReport, SyncError> {
    let mut report = SyncReport::default();
    let (summary, records, since) = {
        let s = lock(store);
        (s.summary()?, s.pending_records()?, s.records_since()?)
    };
    let req = SyncRequest { summary: Some(summary), messages: vec![], records, records_since: Some(since) };
    let (resp, sent, received) = client.sync(&req).await?;
    lock(store).store_hub_records(&resp.records)?;
    report.rounds = 1;
    report.bytes_sent += sent;
    report.bytes_received += received;
    if resp.plan_version != lock(store).plan_version()? {
        let plan = client.plan().await?;
        let mut s = lock(store);
        s.set_plan(&plan)?;
        if plan.year != s.info().year.0 {
            // The office started a new academic year.
            s.switch_year(caiji_shared::AcademicYear(plan.year))?;
        }
        report.plan_updated = true;
    }
    let refused: BTreeMap<String, String> = resp.refused.into_iter().map(|r| (r.sheet, r.message)).collect();
    let sheets: Vec<SheetId> = resp.changed.iter().filter_map(|k| k.parse().ok()).collect();
    report.sheets = sheets.len();
    rounds(store, client, &sheets, refused, &mut report, true).await?;
    Ok(report)
}

/// Exchanges Automerge sync messages for `sheets` until both sides are quiet, then records
/// the result. With `whole`, sheets not exchanged are recorded as equal to the hub (the
/// summary round showed them equal).
async fn rounds(
    store: &Arc<Mutex<Store>>,
    client: &HubClient,
    sheets: &[SheetId],
    mut refused: BTreeMap<String, String>,
    report: &mut SyncReport,
    whole: bool,
) -> Result<(), SyncError> {
    // Each sheet's sync state lives for this exchange, started from what was stored.
    let mut states: BTreeMap<String, sync::State> = BTreeMap::new();
    let mut outgoing = {
        let mut s = lock(store);
        let mut out = Vec::new();
        for id in sheets {
            let key = id.to_string();
            let mut state = s.sync_state(&key)?.and_then(|b| sync::State::decode(&b).ok()).unwrap_or_default();
            let Some(sheet) = s.sheet_for_sync(id)? else {
                refused.insert(key, "不是本部门本学年的表，已跳过".into());
                continue;
            };
            if let Some(m) = sheet.doc_mut().sync().generate_sync_message(&mut state) {
                out.push(SheetMessage { sheet: key.clone(), message: m.encode() });
            }
            states.insert(key, state);
        }
        out
    };
    // Workflow records written here since the last sync go with the first request (a push
    // after a submission carries it at once).
    let mut records = if whole { Vec::new() } else { lock(store).pending_records()? };
    let since = lock(store).records_since()?;
    while !outgoing.is_empty() || !records.is_empty() {
        if report.rounds >= MAX_ROUNDS {
            return Err(SyncError::TooManyRounds(MAX_ROUNDS));
        }
        let req = SyncRequest {
            summary: None,
            messages: outgoing,
            records: std::mem::take(&mut records),
            records_since: (!whole).then_some(since),
        };
        let (resp, sent, received) = client.sync(&req).await?;
        lock(store).store_hub_records(&resp.records)?;
        report.rounds += 1;
        report.bytes_sent += sent;
        report.bytes_received += received;
        for r in resp.refused {
            states.remove(&r.sheet);
            refused.insert(r.sheet, r.message);
        }
        let mut s = lock(store);
        let mut touched = Vec::new();
        let mut next = Vec::new();
        let mut replied = BTreeSet::new();
        for m in resp.messages {
            let Ok(id) = m.sheet.parse::<SheetId>() else { continue };
            let Some(state) = states.get_mut(&m.sheet) else { continue };
            let Ok(msg) = sync::Message::decode(&m.message) else {
                refused.insert(m.sheet.clone(), "中心端的同步消息无法识别".into());
                continue;
            };
            let Some(sheet) = s.sheet_for_sync(&id)? else { continue };
            if let Err(e) = sheet.doc_mut().sync().receive_sync_message(state, msg) {
                refused.insert(m.sheet.clone(), format!("中心端的同步数据无法应用：{e}"));
                continue;
            }
            if let Err(e) = sheet.verify_identity() {
                refused.insert(m.sheet.clone(), format!("中心端的数据不属于这张表：{e}"));
                touched.push(id.clone());
                continue;
            }
            replied.insert(m.sheet.clone());
            if let Some(out) = sheet.doc_mut().sync().generate_sync_message(state) {
                next.push(SheetMessage { sheet: m.sheet.clone(), message: out.encode() });
            }
            touched.push(id);
        }
        // A sheet the hub did not answer may still have something to send (e.g. changes it
        // was waiting to be asked for).
        for (key, state) in states.iter_mut().filter(|(k, _)| !replied.contains(*k)) {
            let Ok(id) = key.parse::<SheetId>() else { continue };
            let Some(sheet) = s.sheet_for_sync(&id)? else { continue };
            if let Some(out) = sheet.doc_mut().sync().generate_sync_message(state) {
                next.push(SheetMessage { sheet: key.clone(), message: out.encode() });
            }
        }
        let encoded: Vec<(String, Vec<u8>)> = states.iter().map(|(k, st)| (k.clone(), st.encode())).collect();
        s.commit_sync(&touched, &encoded)?;
        outgoing = next;
    }
    // Everything exchanged: each sheet now matches the hub.
    let mut s = lock(store);
    let mut synced = Vec::new();
    for key in states.keys() {
        let Ok(id) = key.parse::<SheetId>() else { continue };
        if let Some(sheet) = s.sheet_for_sync(&id)? {
            synced.push((key.clone(), sheet.heads()));
        }
    }
    // Sheets that were already equal count as synced too.
    if whole {
        for h in s.summary()? {
            if !states.contains_key(&h.sheet) && !refused.contains_key(&h.sheet) {
                synced.push((h.sheet.clone(), h.heads.iter().map(|b| automerge::ChangeHash(*b)).collect()));
            }
        }
    }
    let refused: Vec<(String, String)> = refused.into_iter().collect();
    s.record_sync(&synced, &refused)?;
    report.refused = refused;
    Ok(())
}
