//! `caiji-agent serve` imports what is dropped into `<data>/inbox/` once it has finished being
//! written, moves it to `done/` or `failed/` with its report, and holds the data directory so a
//! second process is refused.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Agent, teacher, teacher_workbook};

/// Waits until `cond` holds, up to `limit`.
fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|e| e.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// A running `serve`; killed if the test fails before stopping it.
struct Running(Option<Child>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Starts `serve` and waits until it watches the inbox.
fn serve(a: &Agent) -> Running {
    let mut child = a
        .command()
        .args(["serve", "--web", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("正在监视导入文件夹") || line.contains("改为定时检查") {
                let _ = tx.send(());
            }
        }
    });
    let running = Running(Some(child));
    rx.recv_timeout(Duration::from_secs(20)).expect("serve starts watching the inbox");
    running
}

fn stop(mut running: Running) {
    let mut child = running.0.take().expect("running");
    let _ = std::process::Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            assert!(status.success(), "serve exits cleanly on SIGTERM: {status}");
            return;
        }
        assert!(Instant::now() < deadline, "serve did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn drop_folder_imports_settled_files_once() {
    let a = Agent::new();
    let inbox = a.data().join("inbox");
    let child = serve(&a);

    // While serve runs, another writer is refused, with a message that says why; readers work.
    let (ok, _, err) = a.run(&["add", "A6-1-1", "教工号=X1", "姓名=某"]);
    assert!(!ok && err.contains("另一个 caiji-agent 进程"), "{err}");
    assert!(a.ok(&["tables"]).contains("A6-1-1"));
    assert!(a.ok(&["status"]).contains("尚未注册到中心端"));

    // A CSV copied in two parts with a pause: imported once, whole.
    let mut rows = String::from("序号,教工号,姓名,性别,民族,学历,出生日期,所属系部,是否专业教师\n");
    for i in 0..200 {
        rows.push_str(&format!("{i},T{i:04},教师{i},男,汉族,大学本科,198509,计算机系,是\n"));
    }
    let (first, second) = rows.as_bytes().split_at(rows.len() / 2);
    let path = inbox.join("A6-1-1教师.csv");
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(first).unwrap();
    f.flush().unwrap();
    std::thread::sleep(Duration::from_millis(700));
    f.write_all(second).unwrap();
    drop(f);

    // A workbook, a file that is not a spreadsheet, and an Excel lock file.
    teacher_workbook(&inbox.join("人事.xlsx"), &[teacher("T9001", "张三", "198509")]);
    std::fs::write(inbox.join("坏文件.xlsx"), b"not a spreadsheet").unwrap();
    std::fs::write(inbox.join("~$人事.xlsx"), b"lock").unwrap();

    let done = inbox.join("done");
    let failed = inbox.join("failed");
    assert!(
        wait_for(Duration::from_secs(30), || names(&done).len() == 4 && names(&failed).len() == 2),
        "done: {:?}, failed: {:?}",
        names(&done),
        names(&failed)
    );
    let done_names = names(&done);
    assert_eq!(done_names.iter().filter(|n| n.ends_with("A6-1-1教师.csv")).count(), 1, "{done_names:?}");
    assert!(done_names.iter().any(|n| n.ends_with("A6-1-1教师.导入报告.xlsx")), "{done_names:?}");
    assert!(done_names.iter().any(|n| n.ends_with("人事.xlsx")), "{done_names:?}");
    let failed_names = names(&failed);
    let reason = failed_names.iter().find(|n| n.ends_with(".导入失败.txt")).expect("failure note");
    let text = std::fs::read_to_string(failed.join(reason)).unwrap();
    assert!(text.contains("导入 坏文件.xlsx 失败：文件已损坏"), "{text}");
    assert_eq!(names(&inbox), ["done", "failed", "~$人事.xlsx"]);

    stop(child);
    let rows = a.rows("A6-1-1");
    assert_eq!(rows.len(), 201, "every row of the CSV once, plus the workbook's");
}
