//! What a terminal that cannot show them never gets: box-drawing borders outside a UTF-8
//! locale (LC_ALL, then LC_CTYPE, then LANG; none is the C locale), and progress-bar escape
//! codes on `TERM=dumb`, which gets a line per step instead.

use assert_cmd::Command;

/// `vmemdiet args` with the locale variables `env` (the others removed); its stdout.
fn run_in(env: &[(&str, &str)], args: &[&str]) -> String {
    let mut c = Command::cargo_bin("vmemdiet").unwrap();
    for k in ["LC_ALL", "LC_CTYPE", "LANG", "COLUMNS"] {
        c.env_remove(k);
    }
    c.envs(env.iter().copied()).args(args);
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const TABLES: [&[&str]; 4] = [
    &["plan"],
    &["arches"],
    &["plan", "--size", "1T", "--arch", "all", "--wide"],
    &[
        "bench",
        "bootstrap",
        "--size",
        "64M",
        "--align",
        "2M",
        "--runs",
        "1",
    ],
];

#[test]
fn outside_a_utf8_locale_tables_are_ascii() {
    for env in [
        &[("LANG", "C")][..],
        &[("LANG", "POSIX")],
        &[],
        // LC_ALL outranks a UTF-8 LANG, LC_CTYPE a UTF-8 LANG too.
        &[("LC_ALL", "C"), ("LANG", "en_US.UTF-8")],
        &[("LC_CTYPE", "C"), ("LANG", "en_US.UTF-8")],
        &[("LANG", "en_US.ISO-8859-1")],
    ] {
        for args in TABLES {
            let text = run_in(env, args);
            assert!(text.is_ascii(), "{env:?} {args:?}:\n{text}");
            assert!(
                text.lines()
                    .any(|l| l.starts_with("+--") || l.starts_with("| ")),
                "{env:?} {args:?}: an ASCII table\n{text}"
            );
        }
    }
}

#[test]
fn in_a_utf8_locale_tables_have_box_borders() {
    for env in [
        &[("LANG", "C.UTF-8")][..],
        &[("LANG", "en_US.utf8")],
        &[("LC_ALL", "de_DE.UTF-8"), ("LANG", "C")],
        // An empty LC_ALL does not count: LC_CTYPE decides.
        &[("LC_ALL", ""), ("LC_CTYPE", "C.UTF-8"), ("LANG", "C")],
    ] {
        let text = run_in(env, &["plan"]);
        assert!(text.contains('│') && text.contains('┆'), "{env:?}:\n{text}");
    }
}

/// Everything `args` writes to stderr when stderr is a terminal (a pseudo-terminal, 80x24)
/// whose TERM is `term`.
#[cfg(target_os = "linux")]
fn stderr_on_a_terminal(term: &str, args: &[&str]) -> Vec<u8> {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::fs::OpenOptionsExt;
    use std::process::Stdio;

    // SAFETY: the master side is opened, granted and unlocked as posix_openpt(3) prescribes;
    // ptsname_r writes at most the buffer's length; the fd is owned once, by `master`.
    let (master, slave_path) = unsafe {
        let fd = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(fd >= 0, "posix_openpt");
        assert_eq!(libc::grantpt(fd), 0);
        assert_eq!(libc::unlockpt(fd), 0);
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(fd, name.as_mut_ptr(), name.len()), 0);
        let ws = libc::winsize {
            ws_row: 24,
            ws_col: 80,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        libc::ioctl(fd, libc::TIOCSWINSZ, &ws);
        let path = std::ffi::CStr::from_ptr(name.as_ptr())
            .to_str()
            .unwrap()
            .to_string();
        (std::fs::File::from(OwnedFd::from_raw_fd(fd)), path)
    };
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(slave_path)
        .unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("vmemdiet"))
        .args(args)
        .env("TERM", term)
        .stdout(Stdio::null())
        .stderr(slave)
        .spawn()
        .unwrap();
    // Read while the child writes (a pty buffers little); EIO once the child has closed it.
    let mut master = master;
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = master.read_to_end(&mut buf);
        buf
    });
    assert!(child.wait().unwrap().success());
    reader.join().unwrap()
}

#[cfg(target_os = "linux")]
#[test]
fn term_dumb_gets_step_lines_not_progress_escapes() {
    let args = [
        "bench",
        "gup",
        "--size",
        "1G",
        "--runs",
        "2",
        "--profile",
        "v7.3",
    ];
    // A terminal that can move its cursor gets the bar, escape codes and all.
    let xterm = stderr_on_a_terminal("xterm", &args);
    assert!(xterm.contains(&0x1b), "{}", String::from_utf8_lossy(&xterm));
    let dumb = stderr_on_a_terminal("dumb", &args);
    let text = String::from_utf8_lossy(&dumb);
    assert!(!dumb.contains(&0x1b), "{text}");
    assert!(text.contains("[1/") && text.contains("s left"), "{text}");
}
