//! `caiji-hub demo`: a hub and three department agents (教务处, 计算机系, 组织人事部) on
//! loopback in a temporary directory, each with sample data of realistic shape, syncing in the
//! background. Prints what runs and how to look at it; stops on Ctrl-C and removes the
//! directory.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;

use caiji_agent::import::{ImportOptions, import_file};
use caiji_agent::serve::Running;
use caiji_agent::store::Store;
use caiji_shared::AcademicYear;
use caiji_shared::catalog::DepartmentKind;

use crate::cli::CliError;
use caiji_shared::workflow::{Action, Role};

use crate::store::{HubInfo, HubStore, OfficeRole};

/// The demo's office account.
pub const ADMIN: (&str, &str) = ("admin", "caiji-demo-2025");
/// The demo's reviewer account.
pub const REVIEWER: (&str, &str) = ("审核员", "caiji-demo-2025");
/// The demo's final approver (院长办公会) and a department head who reads the merged tables.
pub const APPROVER: (&str, &str) = ("院长办公会", "caiji-demo-2025");
pub const DEPT_VIEWER: (&str, &str) = ("计算机系主任", "caiji-demo-2025");
/// The demo agents' collector and head, and their password.
pub const AGENT_USERS: (&str, &str, &str) = ("演示采集员", "演示负责人", "caiji-demo");

const DEPARTMENTS: [(&str, &str, DepartmentKind); 3] = [
    ("jwc", "教务处", DepartmentKind::Office),
    ("jsjx", "计算机系", DepartmentKind::Teaching),
    ("zzrsb", "组织人事部", DepartmentKind::Office),
];

const SURNAMES: &str = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗";
const GIVEN: &str = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华";

fn person(i: usize) -> String {
    let s: Vec<char> = SURNAMES.chars().collect();
    let g: Vec<char> = GIVEN.chars().collect();
    format!("{}{}{}", s[i % s.len()], g[(i * 7) % g.len()], g[(i * 3 + 1) % g.len()])
}

/// Sample files per department: (file name, CSV text).
fn samples(code: &str) -> Vec<(String, String)> {
    match code {
        "jsjx" => {
            let mut teachers = String::from(
                "序号,所属系部,教工号,姓名,民族,职称,学历,学位,性别,出生日期,专业技术职务-等级,是否专业教师,是否为双师素质教师\n",
            );
            for i in 0..36 {
                let (title, level) =
                    [("教授", "正高级"), ("副教授", "副高级"), ("讲师", "中级"), ("助教", "初级")][i % 4];
                let _ = writeln!(
                    teachers,
                    "{},计算机系,JS{:04},{},汉族,{title},{},{},{},{}{:02},{level},是,{}",
                    i + 1,
                    i + 1,
                    person(i),
                    ["博士研究生", "硕士研究生", "大学本科"][i % 3],
                    ["博士", "硕士", "学士"][i % 3],
                    ["男", "女"][i % 2],
                    1965 + i % 30,
                    i % 12 + 1,
                    ["是", "否"][i % 2]
                );
            }
            let mut majors = String::from(
                "所属系部,专业代码,专业名称,专业方向代码,专业方向名称,修业年限,在校生数（人）-总人数,在校生数（人）-一年级,在校生数（人）-二年级,在校生数（人）-三年级\n",
            );
            for (i, (code, name)) in [
                ("510201", "计算机应用技术"),
                ("510202", "计算机网络技术"),
                ("510203", "软件技术"),
                ("510205", "大数据技术"),
            ]
            .iter()
            .enumerate()
            {
                let (a, b, c) = (120 + i * 10, 110 + i * 8, 100 + i * 5);
                let _ = writeln!(majors, "计算机系,{code},{name},{code}01,{name},3,{},{a},{b},{c}", a + b + c);
            }
            vec![("A6-1-1校内专任教师基本情况.csv".into(), teachers), ("A7-1-1开设专业.csv".into(), majors)]
        }
        "jwc" => {
            let a14 = "折合在校生数（人）,全日制学历教育在校生数（人）,全日制普通高职学历教育在校生总数（人）\n9650.5,9500,9420\n".to_string();
            let mut courses =
                String::from("专业代码,专业方向,课程代码,课程名称,教学计划规定课时数（学时）,实践课课时数,学分\n");
            for (i, name) in [
                "高等数学",
                "大学英语",
                "程序设计基础",
                "数据库原理",
                "计算机网络",
                "Web 前端开发",
                "Python 程序设计",
                "数据结构",
            ]
            .iter()
            .enumerate()
            {
                let _ = writeln!(
                    courses,
                    "510201,计算机应用技术,C{:03},{name},{},{},{}",
                    i + 1,
                    48 + i * 8,
                    16 + i * 4,
                    3 + i % 2
                );
            }
            vec![("A1-4当年在校生.csv".into(), a14), ("A7-2课程设置.csv".into(), courses)]
        }
        _ => {
            let mut orgs = String::from("机构代码,机构名称,教职工数-专职,教职工数-兼职\n");
            for (i, name) in
                ["院办", "组织人事部", "教务处", "学生工作处", "招生就业处", "财务处", "计算机系", "机电工程系"]
                    .iter()
                    .enumerate()
            {
                let _ = writeln!(orgs, "{:03},{name},{},{}", i + 1, 8 + i * 3, i % 4);
            }
            vec![("A1-6机构设置.csv".into(), orgs)]
        }
    }
}

fn import_samples(store: &mut Store, dir: &Path, code: &str) -> Result<Vec<String>, CliError> {
    let mut lines = Vec::new();
    for (name, text) in samples(code) {
        let path = dir.join(&name);
        std::fs::write(&path, text).map_err(|e| CliError::Usage(format!("写入示例文件失败：{e}")))?;
        let opts = ImportOptions { table: None, user: store.info().collector.clone(), strict: false };
        let out = import_file(store, &path, &opts, &mut |_| {}).map_err(|e| CliError::Usage(e.to_string()))?;
        lines.push(format!("{name}：新增 {} 行", out.added()));
    }
    Ok(lines)
}

pub fn run(listen: SocketAddr) -> Result<String, CliError> {
    crate::init_logging();
    let tmp = tempfile::Builder::new().prefix("caiji-demo-").tempdir().map_err(|e| CliError::Usage(e.to_string()))?;
    let hub_dir = tmp.path().join("hub");
    let year = AcademicYear::containing(chrono::Local::now().date_naive());
    let info = HubInfo { school: "示例职业技术学院".into(), year, edition: "2016".into() };
    let mut hub = HubStore::init(&hub_dir, &info, ADMIN.0, ADMIN.1)?;
    let fingerprint = crate::tls::generate(&hub_dir, &info.school, &["localhost".into(), "127.0.0.1".into()])?;
    for (code, name, kind) in DEPARTMENTS {
        hub.add_department(code, name, kind)?;
    }
    hub.add_user(DEPT_VIEWER.0, OfficeRole::DeptViewer, Some("jsjx"), DEPT_VIEWER.1)?;
    hub.add_user(REVIEWER.0, OfficeRole::Reviewer, None, REVIEWER.1)?;
    hub.add_user(APPROVER.0, OfficeRole::Approver, None, APPROVER.1)?;
    let reviewer = hub.sign_in(REVIEWER.0, REVIEWER.1)?;
    let rt =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| CliError::Usage(e.to_string()))?;
    let listener = rt
        .block_on(tokio::net::TcpListener::bind(listen))
        .map_err(|e| CliError::Usage(format!("无法监听 {listen}：{e}")))?;
    let addr = listener.local_addr().map_err(|e| CliError::Usage(e.to_string()))?;
    let url = format!("https://{addr}");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let config = crate::server::Config { data: hub_dir.clone(), insecure_http: false };
    let server = rt.spawn(async move {
        let _ = crate::server::run(config, listener, async {
            let _ = stop_rx.await;
        })
        .await;
    });
    let mut report = String::new();
    let _ = writeln!(report, "caiji 演示已启动（数据在临时目录 {}，退出时删除）", tmp.path().display());
    let _ = writeln!(report, "\n中心端网页：{url}/");
    let _ = writeln!(report, "  （演示用自签名证书，浏览器提示“不安全”时选择继续访问；核对下面的指纹）");
    let _ = writeln!(report, "  学校：{}，{}", info.school, info.year);
    let _ = writeln!(report, "  证书指纹：{fingerprint}");
    let _ = writeln!(
        report,
        "  平台管理办公室账号：管理员 {} / {}，审核员 {} / {}",
        ADMIN.0, ADMIN.1, REVIEWER.0, REVIEWER.1
    );
    let _ = writeln!(
        report,
        "  终审账号：{} / {}；部门负责人（只读，计算机系）：{} / {}",
        APPROVER.0, APPROVER.1, DEPT_VIEWER.0, DEPT_VIEWER.1
    );
    let _ = writeln!(report, "  审核：cargo run -p caiji-hub -- --data {} review list", hub_dir.display());
    let _ = writeln!(report, "  查看：cargo run -p caiji-hub -- --data {} agents", hub_dir.display());
    let mut agents = Vec::new();
    for (code, name, _) in DEPARTMENTS {
        let code_text = hub.new_enroll_code(code, 1)?;
        let dir = tmp.path().join(format!("agent-{code}"));
        // Enrollment is blocking work with its own runtime: run it off this runtime's threads.
        let (d, u, c, f) = (dir.clone(), url.clone(), code_text.clone(), fingerprint.clone());
        std::thread::spawn(move || {
            caiji_agent::cmd_sync::enroll(&d, &u, &c, Some(format!("{name}-演示")), Some("演示采集员".into()), Some(f))
        })
        .join()
        .map_err(|_| CliError::Usage("注册演示采集端失败".into()))?
        .map_err(|e| CliError::Usage(e.to_string()))?;
        let mut store = Store::open(&dir).map_err(|e| CliError::Usage(e.to_string()))?;
        let imported = import_samples(&mut store, tmp.path(), code)?;
        // Accounts on the agent, and a first submission so the demo shows the workflow.
        let fail = |e: caiji_agent::cli::CliError| CliError::Usage(e.to_string());
        caiji_agent::cmd_workflow::user_add(&mut store, AGENT_USERS.0, Role::Collector, AGENT_USERS.2).map_err(fail)?;
        caiji_agent::cmd_workflow::user_add(&mut store, AGENT_USERS.1, Role::DeptHead, AGENT_USERS.2).map_err(fail)?;
        let submitted = match code {
            "jsjx" => "A6-1-1",
            "jwc" => "A7-2",
            _ => "A1-6",
        };
        caiji_agent::cmd_workflow::act(
            &mut store,
            AGENT_USERS.1,
            Some(AGENT_USERS.2),
            submitted,
            Action::DeptApprove,
            None,
        )
        .map_err(fail)?;
        let client = caiji_agent::sync::client_for(&store).map_err(|e| CliError::Usage(e.to_string()))?;
        let shared = std::sync::Arc::new(std::sync::Mutex::new(store));
        rt.block_on(caiji_agent::sync::sync_once(&shared, &client)).map_err(|e| CliError::Usage(e.to_string()))?;
        let store = std::sync::Arc::try_unwrap(shared)
            .map_err(|_| CliError::Usage("演示采集端仍被占用".into()))?
            .into_inner()
            .unwrap_or_else(|p| p.into_inner());
        // The office's side: one sheet accepted, one returned with a comment.
        let id = caiji_shared::sheet::SheetId::new(&info.edition, info.year, submitted, code);
        match code {
            "jwc" => {
                hub.office_act(&reviewer, &id, Action::Open, None, &[])?;
                hub.office_act(&reviewer, &id, Action::Accept, None, &[])?;
            }
            "zzrsb" => {
                let comment = (None, None, "请补充各机构的兼职人数".to_string());
                hub.office_act(&reviewer, &id, Action::Return, Some("兼职人数不全"), &[comment])?;
            }
            _ => {}
        }
        let web = SocketAddr::from(([127, 0, 0, 1], 0));
        let running = Running::start(store, rt.handle(), Some(web)).map_err(|e| CliError::Usage(e.to_string()))?;
        let _ = writeln!(report, "\n采集端 {name}（{code}）：{}", dir.display());
        if let Some(addr) = running.web_addr {
            let _ = writeln!(report, "  网页：http://{addr}/");
        }
        for l in imported {
            let _ = writeln!(report, "  已导入示例 {l}");
        }
        let state = hub.sheet_state(&id)?;
        let _ = writeln!(
            report,
            "  {submitted}：{state}（部门账号 {} / {} 密码 {}）",
            AGENT_USERS.0, AGENT_USERS.1, AGENT_USERS.2
        );
        let _ = writeln!(report, "  同步状态：cargo run -p caiji-agent -- --data {} status", dir.display());
        let _ = writeln!(report, "  表和流程：cargo run -p caiji-agent -- --data {} tables", dir.display());
        let _ = writeln!(report, "  自动导入：把 Excel/CSV 文件放入 {}", dir.join("inbox").display());
        agents.push(running);
    }
    let _ = writeln!(report, "\n按 Ctrl-C 结束演示。");
    #[allow(clippy::print_stdout, reason = "the demo tells the newcomer what runs while it runs")]
    {
        print!("{report}");
    }
    drop(hub);
    rt.block_on(crate::shutdown_signal());
    for a in agents {
        rt.block_on(a.stop());
    }
    let _ = stop_tx.send(());
    let _ = rt.block_on(server);
    Ok("演示已结束，临时数据已删除。\n".into())
}
