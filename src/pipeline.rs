//! Byte streams as stages: pg_dump's output → gzip (on every core) → a sink. A new
//! format or destination (encryption, an object store) is one more stage here, not a
//! branch in every command.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};

use gzp::deflate::Mgzip;
use gzp::par::compress::{Compression, ParCompressBuilder};
use gzp::{GzpError, ZWriter};

use crate::progress::Progress;

/// Where compressed bytes end: written, then made durable and measured by `finish`.
pub trait Sink: Write + Send + 'static {
    /// Flushes and makes the bytes durable; returns how many were written.
    fn finish(self) -> io::Result<u64>;
}

impl Sink for File {
    fn finish(self) -> io::Result<u64> {
        self.sync_all()?;
        Ok(self.metadata()?.len())
    }
}

/// Which side failed: the input (pg_dump's pipe) or the sink (the backup file).
#[derive(Debug)]
pub enum Failure {
    Read(io::Error),
    Write(io::Error),
}

/// What went through.
pub struct Flowed {
    pub sql_bytes: u64,
    pub out_bytes: u64,
    /// The SQL ended with pg_dump's closing line.
    pub complete: bool,
}

/// gzips `input` into `sink` on every core (gzp's Mgzip: each 1 MiB block is its own
/// gzip member, compressed by libdeflate; concatenated members are one standard gzip
/// file), then finishes the sink.
pub fn gzip(
    mut input: impl Read,
    sink: impl Sink,
    level: u32,
    progress: &mut Progress,
) -> Result<Flowed, Failure> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let build = ParCompressBuilder::<Mgzip>::new()
        .num_threads(threads)
        .and_then(|b| b.buffer_size(1 << 20))
        .map_err(|e| Failure::Write(gzp_io(e)))?;
    let mut gz = build
        .compression_level(Compression::new(level))
        .from_writer(BufWriter::with_capacity(1 << 20, sink));
    let mut buf = vec![0u8; 256 * 1024];
    let mut tail: Vec<u8> = Vec::new();
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                // gzp must be finished before it is dropped; the output is discarded anyway.
                let _ = gz.finish();
                return Err(Failure::Read(e));
            }
        };
        progress.add(n as u64);
        // A failed write shuts gzp down and returns the writer's own error.
        gz.write_all(&buf[..n]).map_err(Failure::Write)?;
        tail.extend_from_slice(&buf[n.saturating_sub(256)..n]);
        tail.drain(..tail.len().saturating_sub(256));
    }
    let out_bytes = gz
        .finish()
        .map_err(gzp_io)
        .and_then(|out| out.into_inner().map_err(|e| e.into_error()))
        .and_then(Sink::finish)
        .map_err(Failure::Write)?;
    Ok(Flowed {
        sql_bytes: progress.done(),
        out_bytes,
        complete: crate::dump::ends_complete(&tail),
    })
}

fn gzp_io(e: GzpError) -> io::Error {
    match e {
        GzpError::Io(e) => e,
        e => io::Error::other(e),
    }
}
