use super::*;

pub(crate) fn info() -> HubInfo {
    HubInfo { school: "枣庄科技职业学院".into(), year: AcademicYear(2025), edition: "2016".into() }
}

#[test]
fn departments_plan_and_enrollment() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = HubStore::init(dir.path(), &info(), "admin", "管理员密码123").unwrap();
    assert!(matches!(HubStore::init(dir.path(), &info(), "a", "12345678"), Err(HubError::AlreadyInitialised(_))));
    assert_eq!(s.verify_user("admin", "管理员密码123").unwrap().as_deref(), Some("admin"));
    assert_eq!(s.verify_user("admin", "wrong").unwrap(), None);
    let n = s.add_department("jsjx", "计算机系", DepartmentKind::Teaching).unwrap();
    assert!(n > 10);
    let v1 = s.plan_version().unwrap();
    s.set_assignment("A6-1-1", "jsjx", true, Some("2026-10-15")).unwrap();
    assert!(s.plan_version().unwrap() > v1);
    let plan = s.plan_for("jsjx").unwrap();
    assert_eq!(plan.department_name, "计算机系");
    assert!(plan.tables.iter().any(|t| t.table == "A6-1-1" && t.deadline.as_deref() == Some("2026-10-15")));
    assert!(matches!(s.set_assignment("A6-1-1", "jsjx", true, Some("10/15")), Err(HubError::Invalid(_))));
    assert!(matches!(s.plan_for("nope"), Err(HubError::NoDepartment(_))));

    let code = s.new_enroll_code("jsjx", 24).unwrap();
    let (agent, token) = s.enroll(&code.to_lowercase(), "计算机系-电脑1").unwrap();
    assert_eq!(agent.department, "jsjx");
    assert!(matches!(s.enroll(&code, "again"), Err(HubError::BadEnrollCode)), "one-time");
    assert_eq!(s.agent_by_token(&token).unwrap().unwrap().id, agent.id);
    assert!(s.agent_by_token("not-a-token").unwrap().is_none());
    assert!(s.revoke(&agent.id).unwrap());
    assert!(s.agent_by_token(&token).unwrap().unwrap().revoked);
    let expired = s.new_enroll_code("jsjx", -1).unwrap();
    assert!(matches!(s.enroll(&expired, "x"), Err(HubError::BadEnrollCode)));
    // Secrets are stored hashed, never in the clear.
    let stored: String = s.conn().query_row("SELECT token_hash FROM agents", [], |r| r.get(0)).unwrap();
    assert_ne!(stored, token);
}
