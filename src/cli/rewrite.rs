//! `fleetwright __rewrite` (hidden): a worker process in which `run`,
//! `launch`, `advance` and `scan` compute targets' changes, so that a crash
//! in a parser fails one target only (see `engine::isolate`). It reads one
//! request per line on stdin and writes one answer per line on stdout until
//! stdin closes, and tells on stderr which files it works on. Not meant to
//! be typed by people.

use std::io::{BufRead, Write};

use crate::engine::isolate::{self, Request, Response, Server};
use crate::recipe::watch::{self, Phase};

fn tell(rel: &std::path::Path, phase: Phase) {
    // One write per line: lines from several threads never interleave.
    let _ = std::io::stderr().write_all(isolate::watch_line(rel, phase).as_bytes());
}

pub fn run() -> anyhow::Result<u8> {
    watch::listen(tell);
    let mut server = Server::default();
    let stdin = std::io::stdin();
    for line in stdin.lock().split(b'\n') {
        let line = line?;
        if line.is_empty() {
            continue;
        }
        let response = match serde_json::from_slice::<Request>(&line) {
            Ok(request) => server.serve(request),
            Err(e) => Response::Failed(format!("the rewrite request is not readable: {e}")),
        };
        // Compact JSON holds no raw newline: one answer, one line.
        let mut out = std::io::stdout().lock();
        serde_json::to_writer(&mut out, &response)?;
        out.write_all(b"\n")?;
        out.flush()?;
    }
    Ok(super::exit::SUCCESS)
}
