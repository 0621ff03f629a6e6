//! News for agents: a version per department that moves when a sheet of the department
//! changes (by another agent or the office) or the plan changes, so a long-polling agent syncs
//! at once instead of on its timer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use super::AppState;

/// The latest event of each department, and a signal when any moves.
pub struct Events {
    /// department → (version, the agent that caused it, if one did).
    latest: Mutex<HashMap<String, (u64, Option<String>)>>,
    /// Plan changes and office records concern every department: (event version, plan
    /// version, highest office record seq).
    plan: Mutex<(u64, i64, i64)>,
    tick: watch::Sender<u64>,
}

impl Events {
    pub fn new(plan_version: i64) -> Events {
        Events { latest: Mutex::new(HashMap::new()), plan: Mutex::new((0, plan_version, 0)), tick: watch::channel(0).0 }
    }

    fn bump(&self) -> u64 {
        let mut v = 0;
        self.tick.send_modify(|t| {
            *t += 1;
            v = *t;
        });
        v
    }

    /// A sheet of `department` changed, caused by `agent` (or by the office: `None`).
    pub fn sheet_changed(&self, department: &str, agent: Option<&str>) {
        let v = self.bump();
        self.latest.lock().expect("events lock").insert(department.to_string(), (v, agent.map(String::from)));
    }

    fn office_changed(&self, plan_version: i64, office_seq: i64) {
        let v = self.bump();
        *self.plan.lock().expect("events lock") = (v, plan_version, office_seq);
    }

    /// The version of the newest event for `agent` of `department` (not caused by itself).
    fn version_for(&self, department: &str, agent: &str) -> u64 {
        let plan = self.plan.lock().expect("events lock").0;
        let sheet = match self.latest.lock().expect("events lock").get(department) {
            Some((v, cause)) if cause.as_deref() != Some(agent) => *v,
            _ => 0,
        };
        plan.max(sheet)
    }

    /// Waits until there is news newer than `since` for this agent, or `limit` passes.
    /// Returns the current version.
    pub async fn wait(&self, department: &str, agent: &str, since: u64, limit: Duration) -> u64 {
        let mut rx = self.tick.subscribe();
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let v = self.version_for(department, agent);
            if v > since {
                return v;
            }
            if tokio::time::timeout_at(deadline, rx.changed()).await.is_err() {
                return v.max(since);
            }
        }
    }
}

/// Plan changes and office actions are written by `caiji-hub` commands in another process:
/// notice them.
pub async fn watch_plan(state: Arc<AppState>) {
    let mut interval = tokio::time::interval(Duration::from_secs(2));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        interval.tick().await;
        let s = state.clone();
        let versions = tokio::task::spawn_blocking(move || {
            let mut st = s.store.lock().ok()?;
            let plan = st.plan_version().ok()?;
            let office = st.office_seq().ok()?;
            if plan != s.events.plan.lock().expect("events lock").1 {
                // A plan change may come with a new year (rollover).
                let _ = st.refresh();
            }
            Some((plan, office))
        })
        .await
        .ok()
        .flatten();
        if let Some((plan, office)) = versions {
            let (_, known_plan, known_office) = *state.events.plan.lock().expect("events lock");
            if plan != known_plan || office != known_office {
                state.events.office_changed(plan, office);
            }
        }
    }
}
