use automerge::ActorId;
use automerge::sync::{self, SyncDoc};
use proptest::prelude::*;

use super::*;

fn id() -> SheetId {
    SheetId::new("2016", AcademicYear(2025), "A6-1-1", "jsjx")
}

fn edit(user: &str, time: i64) -> Edit<'_> {
    Edit { user, time }
}

fn rid(n: u8) -> RowId {
    RowId::v7(1_760_000_000_000 + u64::from(n), [n; 10])
}

fn cells(pairs: &[(&str, Value)]) -> Vec<(String, Value)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

/// Golden: a library upgrade that changed the genesis bytes would fork every sheet ever made.
/// If this fails after an upgrade, do not update the hash: keep the old encoding.
#[test]
fn genesis_hash_is_pinned() {
    let hash = Sheet::genesis_hash(&id(), 1);
    assert_eq!(hash.to_string(), "e9c76481e9ec457e9c270cd03bf21a28a20245afb7854ab7ca2a152fc9620ee1");
}

#[test]
fn genesis_is_deterministic_and_depends_on_every_part() {
    let mut a = Sheet::genesis(&id(), 1);
    let mut b = Sheet::genesis(&id(), 1);
    assert_eq!(a.heads(), b.heads());
    assert_eq!(a.heads(), vec![Sheet::genesis_hash(&id(), 1)]);
    assert_ne!(a.actor(), b.actor(), "writers after the genesis use random actors");
    let base = Sheet::genesis_hash(&id(), 1);
    for other in [
        SheetId::new("2024", AcademicYear(2025), "A6-1-1", "jsjx"),
        SheetId::new("2016", AcademicYear(2026), "A6-1-1", "jsjx"),
        SheetId::new("2016", AcademicYear(2025), "A6-1-2-1", "jsjx"),
        SheetId::new("2016", AcademicYear(2025), "A6-1-1", "jwc"),
    ] {
        assert_ne!(Sheet::genesis_hash(&other, 1), base, "{other}");
    }
    assert_ne!(Sheet::genesis_hash(&id(), 2), base);
}

#[test]
fn independently_created_geneses_merge_with_both_sides_rows() {
    let mut hub = Sheet::genesis(&id(), 1);
    let mut agent = Sheet::genesis(&id(), 1);
    hub.add_row(edit("office", 10), &rid(1), &cells(&[("name", text("张三"))])).unwrap();
    agent.add_row(edit("collector", 11), &rid(2), &cells(&[("name", text("李四"))])).unwrap();
    hub.merge(&mut agent).unwrap();
    agent.merge(&mut hub).unwrap();
    let names = |s: &Sheet| s.live_rows().iter().map(|r| r.cells["name"].to_string()).collect::<Vec<_>>();
    assert_eq!(names(&hub).len(), 2);
    assert_eq!(hub.rows(), agent.rows());
    let mut all = names(&hub);
    all.sort();
    assert_eq!(all, ["张三", "李四"]);
}

#[test]
fn load_checks_the_document() {
    let mut s = Sheet::genesis(&id(), 1);
    s.add_row(edit("u", 1), &rid(1), &cells(&[("name", text("张三"))])).unwrap();
    let bytes = s.save();
    let loaded = Sheet::load(&bytes).unwrap();
    assert_eq!(loaded.id(), &id());
    assert_eq!(loaded.schema_version(), 1);
    assert_eq!(loaded.rows(), s.rows());
    let other = SheetId::new("2016", AcademicYear(2025), "A6-1-1", "jwc");
    assert!(matches!(Sheet::load_expecting(&other, &bytes), Err(SheetError::WrongSheet { .. })));
    assert!(matches!(Sheet::load(b"not a document"), Err(SheetError::Corrupt(_))));
    assert!(matches!(Sheet::load(&bytes[..bytes.len() / 2]), Err(SheetError::Corrupt(_))));
    let mut plain = automerge::AutoCommit::new();
    plain.put(automerge::ROOT, "x", 1).unwrap();
    assert!(matches!(Sheet::load(&plain.save()), Err(SheetError::NotASheet("caiji"))));
}

#[test]
fn save_after_then_load_concatenated_chunks() {
    let mut s = Sheet::genesis(&id(), 1);
    let snapshot = s.save();
    let saved = s.heads();
    s.add_row(edit("u", 1), &rid(1), &cells(&[("name", text("张三"))])).unwrap();
    let chunk = s.save_after(&saved);
    let mut all = snapshot.clone();
    all.extend_from_slice(&chunk);
    let loaded = Sheet::load(&all).unwrap();
    assert_eq!(loaded.rows(), s.rows());
}

#[test]
fn cell_edits_delete_restore_and_reads_at_heads() {
    let mut s = Sheet::genesis(&id(), 1);
    s.add_row(edit("u", 1), &rid(1), &cells(&[("name", text("张三")), ("age", Value::Int(30))])).unwrap();
    s.add_row(edit("u", 2), &rid(2), &cells(&[("name", text("李四"))])).unwrap();
    let v1 = s.heads();
    assert!(s.set_cell(edit("u", 3), &rid(1), "age", Some(&Value::Int(31))).unwrap().is_some());
    assert!(
        s.set_cell(edit("u", 4), &rid(1), "age", Some(&Value::Int(31))).unwrap().is_none(),
        "same value: no change"
    );
    s.set_cell(edit("u", 5), &rid(2), "name", None).unwrap();
    s.delete_row(edit("u", 6), &rid(1)).unwrap();
    assert!(s.delete_row(edit("u", 7), &rid(1)).unwrap().is_none());
    assert_eq!(s.live_rows().len(), 1);
    assert_eq!(s.rows().len(), 2);
    let at_v1 = s.live_rows_at(&v1);
    assert_eq!(at_v1.len(), 2);
    assert_eq!(at_v1[0].cells["age"], Value::Int(30));
    assert_eq!(at_v1[0].id, rid(1), "rows keep insertion order");
    s.restore_row(edit("u", 8), &rid(1)).unwrap();
    assert_eq!(s.row(&rid(1)).unwrap().cells["age"], Value::Int(31));
    assert!(!s.row(&rid(2)).unwrap().cells.contains_key("name"));
    assert!(matches!(s.set_cell(edit("u", 9), &rid(9), "x", None), Err(SheetError::NoSuchRow(_))));
    assert!(matches!(s.set_cell(edit("u", 9), &rid(1), "_deleted", None), Err(SheetError::BadField(_))));
    assert!(matches!(s.add_row(edit("u", 9), &rid(1), &[]), Err(SheetError::RowExists(_))));
    // A failed write leaves nothing behind in the open transaction.
    let heads = s.heads();
    s.set_cell(edit("u", 10), &rid(2), "name", Some(&text("王五"))).unwrap();
    let now = s.heads();
    assert_eq!(s.diff(&heads, &now).changed.len(), 1);
}

#[test]
fn commits_carry_user_action_and_time() {
    let mut s = Sheet::genesis(&id(), 1);
    s.add_row(edit("张三", 1_700_000_000), &rid(1), &cells(&[("name", text("a"))])).unwrap();
    s.set_cell(edit("李四", 1_700_000_100), &rid(1), "name", Some(&text("b"))).unwrap();
    let changes = s.changes();
    assert_eq!(changes.len(), 3);
    assert_eq!((changes[0].action, changes[0].time), (Action::Genesis, 0));
    assert_eq!((changes[1].user.as_str(), changes[1].action, changes[1].time), ("张三", Action::AddRow, 1_700_000_000));
    assert_eq!(
        (changes[2].user.as_str(), changes[2].action, changes[2].time),
        ("李四", Action::SetCell, 1_700_000_100)
    );
    assert_eq!(changes[2].actor, s.actor().to_hex_string());
}

#[test]
fn bulk_add_commits_in_batches() {
    let mut s = Sheet::genesis(&id(), 1);
    let rows: Vec<(RowId, Vec<(String, Value)>)> =
        (0..25).map(|i| (rid(i), cells(&[("n", Value::Int(i64::from(i)))]))).collect();
    let hashes = s.add_rows(edit("u", 1), &rows, 10, Some("人事导出.xlsx")).unwrap();
    assert_eq!(hashes.len(), 3);
    let live = s.live_rows();
    assert_eq!(live.len(), 25);
    assert_eq!(live.iter().map(|r| r.cells["n"].as_int().unwrap()).collect::<Vec<_>>(), (0..25).collect::<Vec<_>>());
    assert_eq!(s.changes()[1].note.as_deref(), Some("人事导出.xlsx"));
}

#[test]
fn diff_between_versions() {
    let mut s = Sheet::genesis(&id(), 1);
    s.add_row(edit("u", 1), &rid(1), &cells(&[("name", text("张三")), ("t", text("讲师"))])).unwrap();
    s.add_row(edit("u", 1), &rid(2), &cells(&[("name", text("李四"))])).unwrap();
    let submitted = s.heads();
    s.set_cell(edit("u", 2), &rid(1), "t", Some(&text("副教授"))).unwrap();
    s.set_cell(edit("u", 2), &rid(1), "phone", Some(&text("0632-1234567"))).unwrap();
    s.delete_row(edit("u", 3), &rid(2)).unwrap();
    s.add_row(edit("u", 4), &rid(3), &cells(&[("name", text("王五"))])).unwrap();
    let d = s.diff_since(&submitted);
    assert_eq!(d.added.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), [rid(3)]);
    assert_eq!(d.removed.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), [rid(2)]);
    assert_eq!(d.changed.len(), 1);
    assert_eq!(
        d.changed[0].cells,
        vec![
            CellChange { field: "phone".into(), old: None, new: Some(text("0632-1234567")) },
            CellChange { field: "t".into(), old: Some(text("讲师")), new: Some(text("副教授")) },
        ]
    );
    let now = s.heads();
    assert!(s.diff(&now, &now).is_empty());
    assert_eq!(s.diff(&[], &submitted).added.len(), 2);
}

#[test]
fn cell_history_names_who_when_and_old_new() {
    let mut s = Sheet::genesis(&id(), 1);
    s.add_row(edit("张三", 100), &rid(1), &cells(&[("t", text("讲师"))])).unwrap();
    s.add_row(edit("张三", 101), &rid(2), &cells(&[("t", text("助教"))])).unwrap();
    s.set_cell(edit("李四", 200), &rid(1), "t", Some(&text("副教授"))).unwrap();
    s.set_cell(edit("李四", 250), &rid(2), "t", Some(&text("讲师"))).unwrap();
    s.set_cell(edit("王五", 300), &rid(1), "t", None).unwrap();
    let h = s.cell_history(&rid(1), "t").unwrap();
    let got: Vec<(&str, i64, Option<Value>, Option<Value>)> =
        h.iter().map(|e| (e.change.user.as_str(), e.change.time, e.old.clone(), e.new.clone())).collect();
    assert_eq!(
        got,
        vec![
            ("张三", 100, None, Some(text("讲师"))),
            ("李四", 200, Some(text("讲师")), Some(text("副教授"))),
            ("王五", 300, Some(text("副教授")), None),
        ]
    );
    assert!(matches!(s.cell_history(&rid(7), "t"), Err(SheetError::NoSuchRow(_))));
}

#[test]
fn cell_history_across_replicas() {
    let mut a = Sheet::genesis(&id(), 1);
    a.add_row(edit("甲", 1), &rid(1), &cells(&[("t", text("x"))])).unwrap();
    let mut b = Sheet::load(&a.save()).unwrap();
    b.set_cell(edit("乙", 2), &rid(1), "t", Some(&text("y"))).unwrap();
    a.merge(&mut b).unwrap();
    let users: Vec<String> = a.cell_history(&rid(1), "t").unwrap().into_iter().map(|e| e.change.user).collect();
    assert_eq!(users, ["甲", "乙"]);
}

#[test]
fn fork_at_heads() {
    let mut s = Sheet::genesis(&id(), 1);
    s.add_row(edit("u", 1), &rid(1), &cells(&[("t", text("x"))])).unwrap();
    let v1 = s.heads();
    s.add_row(edit("u", 2), &rid(2), &cells(&[("t", text("y"))])).unwrap();
    let mut old = s.fork_at(&v1).unwrap();
    assert_eq!(old.live_rows().len(), 1);
    assert_ne!(old.actor(), s.actor());
    old.set_cell(edit("u", 3), &rid(1), "t", Some(&text("z"))).unwrap();
    s.merge(&mut old).unwrap();
    assert_eq!(s.live_rows().len(), 2);
    assert_eq!(s.row(&rid(1)).unwrap().cells["t"], text("z"));
}

#[test]
fn edit_concurrent_with_delete_is_kept() {
    let mut a = Sheet::genesis(&id(), 1);
    a.add_row(edit("u", 1), &rid(1), &cells(&[("t", text("x"))])).unwrap();
    let mut b = Sheet::load(&a.save()).unwrap();
    a.delete_row(edit("a", 2), &rid(1)).unwrap();
    b.set_cell(edit("b", 2), &rid(1), "t", Some(&text("edited"))).unwrap();
    a.merge(&mut b).unwrap();
    let row = a.row(&rid(1)).unwrap();
    assert!(row.deleted);
    assert_eq!(row.cells["t"], text("edited"), "the concurrent edit survives in the deleted row");
}

// ---- convergence ---------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Add { replica: usize, row: u8, v: u8 },
    Set { replica: usize, row: u8, field: u8, v: Option<u8> },
    Delete { replica: usize, row: u8 },
    Restore { replica: usize, row: u8 },
    Sync { from: usize, to: usize },
}

const REPLICAS: usize = 3;

fn op() -> impl Strategy<Value = Op> {
    let r = 0..REPLICAS;
    prop_oneof![
        (r.clone(), 0u8..6, any::<u8>()).prop_map(|(replica, row, v)| Op::Add { replica, row, v }),
        (r.clone(), 0u8..6, 0u8..3, proptest::option::of(any::<u8>())).prop_map(|(replica, row, field, v)| Op::Set {
            replica,
            row,
            field,
            v
        }),
        (r.clone(), 0u8..6).prop_map(|(replica, row)| Op::Delete { replica, row }),
        (r.clone(), 0u8..6).prop_map(|(replica, row)| Op::Restore { replica, row }),
        (r.clone(), r).prop_map(|(from, to)| Op::Sync { from, to }),
    ]
}

/// Runs the sync protocol between two replicas until both are quiet.
fn sync_pair(a: &mut Sheet, b: &mut Sheet) {
    let (mut sa, mut sb) = (sync::State::new(), sync::State::new());
    for _ in 0..20 {
        let m1 = a.doc_mut().sync().generate_sync_message(&mut sa);
        if let Some(m) = m1.clone() {
            b.doc_mut().sync().receive_sync_message(&mut sb, m).unwrap();
        }
        let m2 = b.doc_mut().sync().generate_sync_message(&mut sb);
        if let Some(m) = m2.clone() {
            a.doc_mut().sync().receive_sync_message(&mut sa, m).unwrap();
        }
        if m1.is_none() && m2.is_none() {
            return;
        }
    }
    panic!("sync did not settle");
}

fn pair(replicas: &mut [Sheet], i: usize, j: usize) -> (&mut Sheet, &mut Sheet) {
    assert_ne!(i, j);
    if i < j {
        let (l, r) = replicas.split_at_mut(j);
        (&mut l[i], &mut r[0])
    } else {
        let (l, r) = replicas.split_at_mut(i);
        (&mut r[0], &mut l[j])
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Replicas that each start from the genesis, edit concurrently and sync in any order end
    /// with identical rows; every edit concurrent with a soft delete is still in the row.
    #[test]
    fn replicas_converge(ops in proptest::collection::vec(op(), 1..40), order in proptest::collection::vec((0..REPLICAS, 0..REPLICAS), 0..6)) {
        let mut replicas: Vec<Sheet> = (0..REPLICAS).map(|i| {
            let mut s = Sheet::genesis(&id(), 1);
            s.set_actor(ActorId::from([i as u8 + 1; 16]));
            s
        }).collect();
        // Rows created by replica r get ids distinct per replica: UUIDv7 ids never collide.
        let row_id = |replica: usize, row: u8| RowId::v7(1_000 + row as u64, [replica as u8; 10]);
        let mut t = 10;
        for op in &ops {
            t += 1;
            match *op {
                Op::Add { replica, row, v } => {
                    let _ = replicas[replica].add_row(edit("u", t), &row_id(replica, row), &cells(&[("f0", Value::Int(v.into()))]));
                }
                Op::Set { replica, row, field, v } => {
                    let target = replicas[replica].rows().get(row as usize % 6).map(|r| r.id.clone());
                    if let Some(target) = target {
                        let value = v.map(|v| Value::Int(v.into()));
                        replicas[replica].set_cell(edit("u", t), &target, &format!("f{field}"), value.as_ref()).unwrap();
                    }
                }
                Op::Delete { replica, row } | Op::Restore { replica, row } => {
                    let target = replicas[replica].rows().get(row as usize % 6).map(|r| r.id.clone());
                    if let Some(target) = target {
                        if matches!(op, Op::Delete { .. }) {
                            replicas[replica].delete_row(edit("u", t), &target).unwrap();
                        } else {
                            replicas[replica].restore_row(edit("u", t), &target).unwrap();
                        }
                    }
                }
                Op::Sync { from, to } if from != to => {
                    let (a, b) = pair(&mut replicas, from, to);
                    sync_pair(a, b);
                }
                Op::Sync { .. } => {}
            }
        }
        // Any extra partial syncs, then everyone with replica 0 and back.
        for (i, j) in order {
            if i != j {
                let (a, b) = pair(&mut replicas, i, j);
                sync_pair(a, b);
            }
        }
        for i in 1..REPLICAS {
            let (a, b) = pair(&mut replicas, 0, i);
            sync_pair(a, b);
        }
        for i in 1..REPLICAS {
            let (a, b) = pair(&mut replicas, 0, i);
            sync_pair(a, b);
        }
        let first = replicas[0].rows();
        for r in &mut replicas[1..] {
            prop_assert_eq!(&r.rows(), &first);
        }
        // Every row any replica created is present (deleted or not): nothing is lost.
        let mut created = std::collections::BTreeSet::new();
        for op in &ops {
            if let Op::Add { replica, row, .. } = *op {
                created.insert(row_id(replica, row));
            }
        }
        let present: std::collections::BTreeSet<RowId> = first.iter().map(|r| r.id.clone()).collect();
        prop_assert_eq!(created, present);
    }

    /// A cell edit made concurrently with a soft delete of its row is never lost, whatever the
    /// order of the merge.
    #[test]
    fn edit_concurrent_with_delete_survives(v in any::<i64>(), delete_first in any::<bool>()) {
        let mut base = Sheet::genesis(&id(), 1);
        base.add_row(edit("u", 1), &rid(1), &cells(&[("f", Value::Int(0))])).unwrap();
        let mut deleter = Sheet::load(&base.save()).unwrap();
        let mut editor = Sheet::load(&base.save()).unwrap();
        deleter.delete_row(edit("d", 2), &rid(1)).unwrap();
        editor.set_cell(edit("e", 2), &rid(1), "f", Some(&Value::Int(v))).unwrap();
        if delete_first {
            deleter.merge(&mut editor).unwrap();
            let row = deleter.row(&rid(1)).unwrap();
            prop_assert_eq!(row.cells["f"].clone(), Value::Int(v));
        } else {
            editor.merge(&mut deleter).unwrap();
            let row = editor.row(&rid(1)).unwrap();
            prop_assert!(row.deleted);
            prop_assert_eq!(row.cells["f"].clone(), Value::Int(v));
        }
    }
}

#[test]
fn update_rows_in_batches_with_restore() {
    let mut s = Sheet::genesis(&id(), 1);
    s.add_row(edit("u", 1), &rid(1), &cells(&[("t", text("a"))])).unwrap();
    s.add_row(edit("u", 1), &rid(2), &cells(&[("t", text("b"))])).unwrap();
    s.delete_row(edit("u", 2), &rid(2)).unwrap();
    let updates = vec![
        RowUpdate { row: rid(1), cells: vec![("t".into(), Some(text("a2"))), ("u".into(), None)], restore: false },
        RowUpdate {
            row: rid(2),
            cells: vec![("t".into(), Some(text("b"))), ("x".into(), Some(Value::Int(1)))],
            restore: true,
        },
    ];
    let hashes = s.update_rows(edit("u", 3), &updates, 1, Some("f.xlsx")).unwrap();
    assert_eq!(hashes.len(), 2);
    let live = s.live_rows();
    assert_eq!(live.len(), 2);
    assert_eq!(live[0].cells["t"], text("a2"));
    assert_eq!(live[1].cells["x"], Value::Int(1));
    assert!(s.update_rows(edit("u", 4), &updates, 10, None).unwrap().is_empty(), "nothing changes twice");
    let missing = [RowUpdate { row: rid(9), cells: vec![], restore: false }];
    assert!(matches!(s.update_rows(edit("u", 5), &missing, 10, None), Err(SheetError::NoSuchRow(_))));
}

#[test]
fn identity_survives_merges_and_catches_foreign_geneses() {
    let mut hub = Sheet::genesis(&id(), 1);
    let mut agent = Sheet::genesis(&id(), 1);
    agent.add_row(edit("u", 1), &rid(1), &cells(&[("t", text("x"))])).unwrap();
    hub.merge(&mut agent).unwrap();
    hub.verify_identity().unwrap();
    // A document made the naive way (same content, its own actor) is a different history.
    let mut foreign = automerge::AutoCommit::new();
    {
        use automerge::transaction::Transactable;
        foreign.put(automerge::ROOT, "caiji", "sheet").unwrap();
        foreign.put(automerge::ROOT, "edition", "2016").unwrap();
        foreign.put(automerge::ROOT, "year", 2025).unwrap();
        foreign.put(automerge::ROOT, "table", "A6-1-1").unwrap();
        foreign.put(automerge::ROOT, "department", "jsjx").unwrap();
        foreign.put(automerge::ROOT, "schema_version", 1).unwrap();
        foreign.put_object(automerge::ROOT, "rows", automerge::ObjType::Map).unwrap();
    }
    let mut foreign = Sheet::load(&foreign.save()).unwrap();
    foreign.verify_identity().unwrap_err();
    hub.doc_mut().merge(foreign.doc_mut()).unwrap();
    assert!(hub.verify_identity().is_err(), "a merged foreign genesis is detected");
}

#[test]
fn sheet_id_text_round_trip() {
    assert_eq!(id().to_string().parse::<SheetId>().unwrap(), id());
    for bad in ["", "2016/2025/A6-1-1", "2016/x/A6-1-1/jsjx", "2016/2025//jsjx", "a/1/b/c/d"] {
        assert!(bad.parse::<SheetId>().is_err(), "{bad}");
    }
}

#[derive(Debug, Clone)]
/// One write of the property below, on side A (true) or B.
enum CountedWrite {
    Add(bool),
    AddMany(bool, u8),
    Delete(bool, u8),
    Restore(bool, u8),
    Set(bool, u8),
    Reimport(bool, u8),
    CarryOver(bool),
    Merge(bool),
}

fn counted_write() -> impl Strategy<Value = CountedWrite> {
    prop_oneof![
        any::<bool>().prop_map(CountedWrite::Add),
        (any::<bool>(), 1u8..4).prop_map(|(a, n)| CountedWrite::AddMany(a, n)),
        (any::<bool>(), any::<u8>()).prop_map(|(a, n)| CountedWrite::Delete(a, n)),
        (any::<bool>(), any::<u8>()).prop_map(|(a, n)| CountedWrite::Restore(a, n)),
        (any::<bool>(), any::<u8>()).prop_map(|(a, n)| CountedWrite::Set(a, n)),
        (any::<bool>(), any::<u8>()).prop_map(|(a, n)| CountedWrite::Reimport(a, n)),
        any::<bool>().prop_map(CountedWrite::CarryOver),
        any::<bool>().prop_map(CountedWrite::Merge),
    ]
}

proptest! {
    /// The live count and next row order a sheet remembers across its own edits are what
    /// reading every row gives, whatever mix of edits, re-imports and merges came before.
    #[test]
    fn remembered_counts_match_a_fresh_count(ops in proptest::collection::vec(counted_write(), 1..40)) {
        let mut sides = [Sheet::genesis(&id(), 1), Sheet::genesis(&id(), 1)];
        let mut next = 0u64;
        let mut new_id = || { next += 1; RowId::v7(1_760_000_000_000 + next, [(next % 250) as u8; 10]) };
        for op in ops {
            let pick = |s: &Sheet, n: u8| { let r = s.rows(); (!r.is_empty()).then(|| r[n as usize % r.len()].id.clone()) };
            match op {
                CountedWrite::Add(a) => { sides[a as usize].add_row(edit("x", 1), &new_id(), &[]).unwrap(); }
                CountedWrite::AddMany(a, n) => {
                    let rows: Vec<(RowId, Vec<(String, Value)>)> = (0..n).map(|_| (new_id(), vec![])).collect();
                    sides[a as usize].add_rows(edit("x", 1), &rows, 2, None).unwrap();
                }
                CountedWrite::Delete(a, n) => if let Some(r) = pick(&sides[a as usize], n) { sides[a as usize].delete_row(edit("x", 1), &r).unwrap(); },
                CountedWrite::Restore(a, n) => if let Some(r) = pick(&sides[a as usize], n) { sides[a as usize].restore_row(edit("x", 1), &r).unwrap(); },
                CountedWrite::Set(a, n) => if let Some(r) = pick(&sides[a as usize], n) {
                    sides[a as usize].set_cell(edit("x", 1), &r, "name", Some(&text(&n.to_string()))).unwrap();
                },
                CountedWrite::Reimport(a, n) => if let Some(r) = pick(&sides[a as usize], n) {
                    let u = RowUpdate { row: r, cells: vec![("name".into(), None)], restore: true };
                    sides[a as usize].update_rows(edit("x", 1), &[u], 10, None).unwrap();
                },
                CountedWrite::CarryOver(a) => { sides[a as usize].carry_over(edit("x", 1), &[(new_id(), vec![])], "结转").unwrap(); }
                CountedWrite::Merge(a) => {
                    let [x, y] = &mut sides;
                    if a { x.merge(y).unwrap(); } else { y.merge(x).unwrap(); }
                }
            }
            for s in &mut sides {
                let known = s.known();
                prop_assert_eq!(known.live, s.live_count());
                prop_assert_eq!(known.max_order, read::max_order(&s.doc, &s.rows));
                prop_assert_eq!(known.heads, s.heads());
            }
        }
    }
}
