//! `fleetwright __rewrite` (hidden): the child process in which `run`,
//! `launch`, `advance` and `scan` compute one target's changes, so that a
//! crash in a parser fails that target only (see `engine::isolate`). It
//! reads a request on stdin, writes the answer on stdout, and tells on
//! stderr which files it works on. Not meant to be typed by people.

use std::io::{Read, Write};

use crate::engine::isolate::{self, Request, Response};
use crate::recipe::watch::{self, Phase};

fn tell(rel: &std::path::Path, phase: Phase) {
    // One write per line: lines from several threads never interleave.
    let _ = std::io::stderr().write_all(isolate::watch_line(rel, phase).as_bytes());
}

pub fn run() -> anyhow::Result<u8> {
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input)?;
    let response = match serde_json::from_slice::<Request>(&input) {
        Ok(request) => {
            watch::listen(tell);
            isolate::serve(request)
        }
        Err(e) => Response::Failed(format!("the rewrite request is not readable: {e}")),
    };
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, &response)?;
    out.flush()?;
    Ok(super::exit::SUCCESS)
}
