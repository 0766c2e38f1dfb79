//! The HTML report in a real browser (headless Chromium): its script runs
//! without a console message, the chart and tables are in the DOM after it
//! ran, and a screenshot is kept as a test artifact.
//!
//! Chromium is required: without it these tests fail with the command that
//! installs it (`scripts/install-test-deps.sh` does it too); they never
//! skip.

use std::io::Read as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::report::settled_campaign;
use crate::util::CAMPAIGN;

/// Where Debian's `chromium` package puts the browser.
const CHROMIUM: &str = "/usr/bin/chromium";

/// The longest a browser run may take before it is killed.
const TIMEOUT: Duration = Duration::from_secs(60);

/// What a browser run gave.
struct Browser {
    stdout: String,
    stderr: String,
}

impl Browser {
    /// The lines the page wrote to the console, as Chromium logs them with
    /// `--enable-logging=stderr --v=1` (`…:INFO:CONSOLE:12] "message",
    /// source: file:///… (12)`). Chromium logs every console level at INFO,
    /// so `console.error` cannot be told from `console.log` here; the
    /// report's script never logs, so any console line is a failure, and
    /// uncaught exceptions show up as `"Uncaught …"` lines.
    fn console_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
            .collect()
    }
}

/// The Chromium binary, or a failure saying how to install it.
fn chromium() -> PathBuf {
    let path = PathBuf::from(CHROMIUM);
    assert!(
        path.is_file(),
        "the browser tests need Chromium at {CHROMIUM}, and it is not there.\n\
         Install it with: sudo apt-get install -y chromium\n\
         (or run scripts/install-test-deps.sh)"
    );
    path
}

/// Run headless Chromium on `page` with `args`, in a fresh profile, killed
/// (with every process it started) after [`TIMEOUT`].
fn run_browser(page: &Path, args: &[String]) -> Browser {
    let profile = tempfile::tempdir().expect("a temp profile dir");
    let mut command = Command::new(chromium());
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=1",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so a timeout kills the renderers too.
        .process_group(0);
    let mut child = command.spawn().expect("start chromium");
    let pid = child.id() as i32;
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let stdout = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break Some(status);
        }
        if started.elapsed() > TIMEOUT {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // Whatever is left of the group goes (its helpers hold the pipes open).
    // SAFETY: kill(2) on our own child's process group; no memory involved.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
    let _ = child.wait();
    let browser = Browser {
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    };
    match status {
        None => panic!(
            "chromium did not finish in {TIMEOUT:?} and was killed\n--- stderr (end)\n{}",
            tail(&browser.stderr)
        ),
        Some(s) if !s.success() => panic!(
            "chromium failed ({s})\n--- stderr (end)\n{}",
            tail(&browser.stderr)
        ),
        Some(_) => browser,
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// The DOM of `page` after its scripts ran, and the console lines.
fn dump_dom(page: &Path) -> Browser {
    run_browser(page, &["--dump-dom".to_string()])
}

/// Where test artifacts go: `target/test-artifacts` (under
/// `CARGO_TARGET_DIR` when it is set).
fn artifacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("create the test artifacts dir");
    dir
}

#[test]
fn console_errors_and_uncaught_exceptions_are_detected() {
    // The detector first: a page that is broken on purpose must be caught,
    // and a quiet page must not be.
    let tmp = tempfile::tempdir().unwrap();
    let broken = tmp.path().join("broken.html");
    std::fs::write(
        &broken,
        r#"<!doctype html><html><body><p>broken on purpose</p>
<script>console.error("deliberate console error");</script>
<script>throw new Error("deliberate uncaught exception");</script>
</body></html>"#,
    )
    .unwrap();
    let run = dump_dom(&broken);
    let console = run.console_lines();
    assert!(
        console
            .iter()
            .any(|l| l.contains("deliberate console error")),
        "console.error was not detected in:\n{}",
        tail(&run.stderr)
    );
    assert!(
        console
            .iter()
            .any(|l| l.contains("Uncaught Error: deliberate uncaught exception")),
        "the uncaught exception was not detected in:\n{}",
        tail(&run.stderr)
    );

    let quiet = tmp.path().join("quiet.html");
    std::fs::write(
        &quiet,
        r#"<!doctype html><html><body><p id="p">quiet</p><script>document.getElementById("p").textContent = "ran";</script></body></html>"#,
    )
    .unwrap();
    let run = dump_dom(&quiet);
    assert!(run.console_lines().is_empty(), "{:?}", run.console_lines());
    assert!(
        run.stdout.contains(r#"<p id="p">ran</p>"#),
        "{}",
        run.stdout
    );
}

#[test]
fn the_html_report_renders_in_chromium_without_console_errors() {
    let sb = settled_campaign();
    let page = sb.file("report.html");
    sb.run(&[
        "report",
        CAMPAIGN,
        "--format",
        "html",
        "--out",
        page.to_str().unwrap(),
    ])
    .code(0);

    let run = dump_dom(&page);
    assert!(
        run.console_lines().is_empty(),
        "the report wrote to the console:\n{}",
        run.console_lines().join("\n")
    );
    let dom = &run.stdout;
    assert!(dom.contains(r#"<svg id="burndown""#), "no chart in the DOM");
    for id in ["tranches", "teams", "targets", "days"] {
        assert!(
            dom.contains(&format!(r#"<table id="{id}""#)),
            "no table {id}"
        );
    }
    assert_eq!(dom.matches(r#"<tr class="target""#).count(), 5);
    // The script ran: the filter box is shown and the headers sort.
    assert!(
        dom.contains(r#"<div class="filter">"#),
        "the filter is still hidden"
    );
    assert!(
        dom.contains(r#"class="sort""#),
        "the headers were not made sortable"
    );

    let shot = artifacts().join("report.png");
    let _ = std::fs::remove_file(&shot);
    run_browser(
        &page,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,2000".to_string(),
        ],
    );
    let png =
        std::fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot {}: {e}", shot.display()));
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    // IHDR: width and height, big-endian, after the signature and header.
    let size = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    assert_eq!((size(16), size(20)), (1280, 2000));
    // A blank page of that size compresses to a few kilobytes.
    assert!(
        png.len() > 40_000,
        "the screenshot is {} bytes: is the page blank? {}",
        png.len(),
        shot.display()
    );
}

/// A campaign of `n` targets written straight into a state at `db` (no
/// git: see `fleetwright::sim::report_fleet`).
fn fleet_state(db: &Path, n: usize) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let state = fleetwright::state::State::open(db).await.unwrap();
        fleetwright::sim::report_fleet::build(&state, n).await;
        state.close().await;
    });
}

#[test]
fn a_report_of_10000_repositories_is_one_small_page_that_opens_and_pages() {
    use fleetwright::sim::report_fleet::CAMPAIGN;
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("fleetwright.db");
    fleet_state(&db, 10_000);
    let page = tmp.path().join("report.html");
    crate::util::run_in(
        tmp.path(),
        &db,
        &["report", CAMPAIGN, "--out", page.to_str().unwrap()],
    )
    .code(0);
    let size = std::fs::metadata(&page).unwrap().len();
    assert!(size < 2_000_000, "the page is {size} bytes");

    let run = dump_dom(&page);
    assert!(
        run.console_lines().is_empty(),
        "the report wrote to the console:\n{}",
        run.console_lines().join("\n")
    );
    let dom = &run.stdout;
    // One page of rows drawn, and the pager says how many there are.
    assert_eq!(dom.matches(r#"<tr class="target""#).count(), 100);
    assert!(
        dom.contains(r#"<span class="info">Rows 1–100 of 10,000</span>"#),
        "no pager info"
    );
    assert!(
        dom.contains(r#"<div class="filter">"#),
        "the filter is hidden"
    );
    // Every team is a row of the teams table (97 fit on its first page).
    assert_eq!(dom.matches(r#"<tr class="team">"#).count(), 97);

    // Split by team: an index and a page per team, linked both ways, each
    // opening without a console line.
    let dir = tmp.path().join("split");
    crate::util::run_in(
        tmp.path(),
        &db,
        &[
            "report",
            CAMPAIGN,
            "--split-by",
            "team",
            "--out",
            dir.to_str().unwrap(),
        ],
    )
    .code(0);
    let pages: Vec<_> = std::fs::read_dir(dir.join("teams"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(pages.len(), 97);
    let index = dump_dom(&dir.join("index.html"));
    assert!(
        index.console_lines().is_empty(),
        "{:?}",
        index.console_lines()
    );
    assert!(
        index.stdout.contains(r#"<a href="teams/team-00.html">"#),
        "the index does not link team-00's page"
    );
    let team = dump_dom(&dir.join("teams/team-00.html"));
    assert!(
        team.console_lines().is_empty(),
        "{:?}",
        team.console_lines()
    );
    assert!(team.stdout.contains(r#"<a href="../index.html">"#));
    assert!(
        team.stdout
            .contains("team <span title=\"group:default/team-00\">team-00</span>")
    );
    // Its rows are the team's alone.
    let rows = team.stdout.matches(r#"<tr class="target""#).count();
    assert!(rows > 0 && rows <= 100, "{rows}");
    assert_eq!(
        team.stdout
            .matches(r#"<td class="nowrap" title="group:default/team-00">"#)
            .count(),
        rows
    );
}
