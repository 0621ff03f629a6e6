use caiji_shared::Value;
use caiji_shared::sheet::{Edit, RowId};

use super::*;

pub(crate) fn info() -> AgentInfo {
    AgentInfo {
        department: "jsjx".into(),
        department_name: "计算机系".into(),
        department_kind: DepartmentKind::Teaching,
        year: AcademicYear(2025),
        edition: "2016".into(),
        collector: "张三".into(),
    }
}

fn rid(n: u64) -> RowId {
    RowId::v7(1_760_000_000_000 + n, [n as u8; 10])
}

fn add(store: &mut Store, n: u64) {
    store
        .write("张三", |w| {
            let s = w.sheet("A6-1-1")?;
            s.add_row(Edit { user: "张三", time: 1 }, &rid(n), &[("emp_no".into(), Value::Text(format!("T{n}")))])
                .map_err(StoreError::sheet("A6-1-1"))?;
            Ok(())
        })
        .unwrap();
}

#[test]
fn init_open_and_reopen_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::init(dir.path(), &info()).unwrap();
    assert!(matches!(Store::init(dir.path(), &info()), Err(StoreError::AlreadyInitialised(_))));
    add(&mut store, 1);
    drop(store);
    let mut store = Store::open(dir.path()).unwrap();
    assert_eq!(store.info(), &info());
    assert_eq!(store.sheet("A6-1-1").unwrap().live_rows().len(), 1);
    assert!(store.integrity_check().unwrap());
    assert!(dir.path().join("inbox/done").is_dir());
    assert_eq!(store.stored_tables().unwrap().into_iter().collect::<Vec<_>>(), ["A6-1-1"]);
}

#[test]
fn a_second_opener_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(dir.path(), &info()).unwrap();
    let err = Store::open(dir.path()).err().expect("refused");
    assert!(matches!(err, StoreError::Locked(_)));
    assert!(err.to_string().contains("另一个 caiji-agent 进程"), "{err}");
    drop(store);
    Store::open(dir.path()).unwrap();
}

#[test]
fn uninitialised_and_bad_department() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(Store::open(dir.path()), Err(StoreError::NotInitialised(_))));
    let bad = AgentInfo { department: "计算机".into(), ..info() };
    assert!(matches!(Store::init(dir.path(), &bad), Err(StoreError::BadDepartment(_))));
}

#[test]
fn a_failed_write_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::init(dir.path(), &info()).unwrap();
    add(&mut store, 1);
    let r: Result<(), _> = store.write("张三", |w| {
        let s = w.sheet("A6-1-1")?;
        s.add_row(Edit { user: "张三", time: 2 }, &rid(2), &[]).unwrap();
        Err(StoreError::NoTable("x".into()))
    });
    assert!(r.is_err());
    assert_eq!(store.sheet("A6-1-1").unwrap().live_rows().len(), 1, "memory re-read from disk");
    drop(store);
    let mut store = Store::open(dir.path()).unwrap();
    assert_eq!(store.sheet("A6-1-1").unwrap().live_rows().len(), 1);
}

#[test]
fn compaction_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::init(dir.path(), &info()).unwrap();
    for n in 0..(crate::docstore::COMPACT_CHUNKS as u64 + 5) {
        add(&mut store, n);
    }
    assert!(store.chunk_count("A6-1-1").unwrap() <= crate::docstore::COMPACT_CHUNKS);
    drop(store);
    let mut store = Store::open(dir.path()).unwrap();
    assert_eq!(store.sheet("A6-1-1").unwrap().live_rows().len(), crate::docstore::COMPACT_CHUNKS + 5);
}

#[test]
fn actors_map_to_people() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::init(dir.path(), &info()).unwrap();
    add(&mut store, 1);
    let actor = store.sheet("A6-1-1").unwrap().changes()[1].actor.clone();
    assert_eq!(store.user_of_actor(&actor).unwrap().as_deref(), Some("张三"));
}

#[test]
fn planned_tables_follow_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(dir.path(), &info()).unwrap();
    let planned: Vec<&str> = store.planned_tables().iter().map(|t| t.id.as_str()).collect();
    assert!(planned.contains(&"A6-1-1"), "a teaching department fills its own teachers: {planned:?}");
    assert!(!planned.contains(&"A5-1"), "{planned:?}");
}
