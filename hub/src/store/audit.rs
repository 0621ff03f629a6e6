//! The audit log narrowed by department, table, person and action (the web's 审计日志).

use super::{HubError, HubStore};

/// Which audit entries to show: each part, when given, must be found.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// A department code, found as a word in the detail (sheet ids name their department).
    pub department: Option<String>,
    /// A table id, found in the detail.
    pub table: Option<String>,
    /// Part of the actor ("user:审核员", "agent:…").
    pub person: Option<String>,
    /// The action exactly.
    pub action: Option<String>,
}

impl AuditFilter {
    pub fn matches(&self, actor: &str, action: &str, detail: &str) -> bool {
        let words = |s: &str| -> Vec<String> {
            s.split(|c: char| c.is_whitespace() || matches!(c, '/' | '（' | '）' | '(' | ')' | '，' | ',' | ':' | '：'))
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect()
        };
        let d = words(detail);
        let a = words(actor);
        self.department.as_deref().is_none_or(|x| d.iter().chain(a.iter()).any(|w| w == x))
            && self.table.as_deref().is_none_or(|x| d.iter().any(|w| w.eq_ignore_ascii_case(x)))
            && self.person.as_deref().is_none_or(|x| actor.contains(x))
            && self.action.as_deref().is_none_or(|x| action == x)
    }
}

impl HubStore {
    /// The audit log, newest first, narrowed by [`AuditFilter`] (each given part must match).
    pub fn audit_query(
        &self,
        filter: &AuditFilter,
        limit: usize,
    ) -> Result<Vec<(i64, String, String, String)>, HubError> {
        let mut out = Vec::new();
        for (at, actor, action, detail) in self.audit_log(None, usize::MAX)? {
            if filter.matches(&actor, &action, &detail) {
                out.push((at, actor, action, detail));
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// The distinct actions in the audit log (for a filter's choices).
    pub fn audit_actions(&self) -> Result<Vec<String>, HubError> {
        let mut stmt = self.conn.prepare("SELECT DISTINCT action FROM audit ORDER BY action")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod audit_filter_tests {
    use super::AuditFilter;

    #[test]
    fn audit_filter_matches_whole_codes_and_exact_actions() {
        let detail = "2016/2025/A6-1-1/jsjx 审核通过（审核员）";
        let f = |d: Option<&str>, t: Option<&str>, p: Option<&str>, a: Option<&str>| AuditFilter {
            department: d.map(String::from),
            table: t.map(String::from),
            person: p.map(String::from),
            action: a.map(String::from),
        };
        assert!(f(Some("jsjx"), Some("a6-1-1"), Some("审核"), Some("workflow")).matches(
            "user:审核员",
            "workflow",
            detail
        ));
        assert!(!f(Some("jsj"), None, None, None).matches("user:审核员", "workflow", detail), "whole codes only");
        assert!(!f(None, Some("A6-1"), None, None).matches("user:审核员", "workflow", detail));
        assert!(!f(None, None, None, Some("work")).matches("user:审核员", "workflow", detail));
        assert!(f(Some("szb"), None, None, None).matches("user:admin", "department_added", "szb 思政部"));
        assert!(AuditFilter::default().matches("a", "b", "c"));
    }
}
