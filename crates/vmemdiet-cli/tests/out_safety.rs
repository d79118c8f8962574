//! `report --out DIR` is safe to point at a directory that holds other things: it writes only
//! its own files, each whole, refuses a path that is not a directory without touching it, and
//! a run stopped by SIGINT or SIGTERM leaves no temporary or partial file.

use std::path::Path;
use std::process::{Child, Command as Std, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use assert_cmd::Command;

/// Every file `report` writes.
const FILES: [&str; 7] = [
    "report.json",
    "report.md",
    "memmap.svg",
    "bootstrap.svg",
    "gup.svg",
    "mr.svg",
    "device.svg",
];

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Whether the report file `name` in `dir` is whole: JSON that parses, markdown with its last
/// section, an SVG with its closing tag.
fn whole(dir: &Path, name: &str) -> bool {
    let text = std::fs::read_to_string(dir.join(name)).unwrap();
    match name {
        "report.json" => serde_json::from_str::<serde_json::Value>(&text).is_ok(),
        // The last section.
        "report.md" => text.contains("Device memory beyond device-dax"),
        _ => text.trim_end().ends_with("</svg>"),
    }
}

#[test]
fn report_writes_only_its_files_and_leaves_the_users() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    std::fs::create_dir(dir.path().join("old")).unwrap();
    std::fs::write(dir.path().join("old/keep.md"), "also mine").unwrap();
    let out = Command::cargo_bin("vmemdiet")
        .unwrap()
        .args(["report", "--quick", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut expected: Vec<String> = FILES.iter().map(ToString::to_string).collect();
    expected.extend(["notes.txt".into(), "old".into()]);
    expected.sort();
    assert_eq!(names(dir.path()), expected, "only the report's files added");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("notes.txt")).unwrap(),
        "mine"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("old/keep.md")).unwrap(),
        "also mine"
    );
    for f in FILES {
        assert!(whole(dir.path(), f), "{f} is not whole");
    }
    // The report's files are the user's to read like any file they make (the umask's mode),
    // not a temporary file's private 0600.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode(&dir.path().join("report.json")),
            mode(&dir.path().join("notes.txt"))
        );
    }
}

#[test]
fn report_out_that_is_not_a_directory_is_refused_and_untouched() {
    let parent = tempfile::tempdir().unwrap();
    let file = parent.path().join("results");
    std::fs::write(&file, "a user's file").unwrap();
    let out = Command::cargo_bin("vmemdiet")
        .unwrap()
        .args(["report", "--quick", "--out"])
        .arg(&file)
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("not a directory"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "a user's file");
    assert_eq!(names(parent.path()), ["results"], "nothing moved or added");
}

/// Starts `report --quick --out dir` with its output discarded.
fn spawn_report(dir: &Path) -> Child {
    Std::cargo_bin("vmemdiet")
        .unwrap()
        .args(["report", "--quick", "--out"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits until `ready` holds (polling as fast as it can, for the short life of a temporary
/// file), then sends `sig` to `child` and returns its exit code.
#[cfg(unix)]
fn signal_when(child: &mut Child, sig: i32, ready: impl Fn() -> bool) -> Option<i32> {
    let start = Instant::now();
    while !ready() && start.elapsed() < Duration::from_secs(60) {
        std::hint::spin_loop();
    }
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: kill(2) on the pid of a child not yet waited for; it cannot be reused yet.
    unsafe {
        libc::kill(pid, sig);
    }
    child.wait().unwrap().code()
}

#[cfg(unix)]
#[test]
fn a_stopped_report_leaves_no_partial_file() {
    // Stopped while measuring: exit 128 + SIGTERM, the directory as empty as it was made.
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("r");
    let mut child = spawn_report(&dir);
    let made = Instant::now();
    let code = signal_when(&mut child, libc::SIGTERM, || {
        dir.is_dir() && made.elapsed() > Duration::from_millis(300)
    });
    assert_eq!(code, Some(143));
    assert_eq!(names(parent.path()), ["r"], "nothing beside --out");
    assert!(names(&dir).is_empty(), "{:?}", names(&dir));
    // Stopped as the first file appears (its temporary file, most often): exit 128 + SIGINT,
    // or 0 if it finished first; either way only whole report files, no temporary one.
    let dir = parent.path().join("s");
    let mut child = spawn_report(&dir);
    let code = signal_when(&mut child, libc::SIGINT, || {
        std::fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_some())
    });
    assert!(matches!(code, Some(130 | 0)), "{code:?}");
    for name in names(&dir) {
        assert!(FILES.contains(&name.as_str()), "left {name}");
        assert!(whole(&dir, &name), "{name} is not whole");
    }
    assert_eq!(names(parent.path()), ["r", "s"], "nothing beside --out");
}
