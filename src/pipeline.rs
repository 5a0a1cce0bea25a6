//! Byte streams as stages: pg_dump's output → compression (gzip or zstd, on every core)
//! → [age encryption] → a sink. A new format or destination is one more stage here, not
//! a branch in every command.

use std::io::{self, BufWriter, Read, Write};

use gzp::deflate::Mgzip;
use gzp::par::compress::{Compression as GzpLevel, ParCompress, ParCompressBuilder};
use gzp::{GzpError, ZWriter};

use crate::manifest::HashingFile;
use crate::progress::Progress;

/// How a backup is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// The default: `gunzip -c FILE | psql` keeps working.
    Gzip,
    /// Multi-threaded zstd: much cheaper per byte, `zstd -dc FILE | psql` to read.
    Zstd,
}

impl Compression {
    pub fn parse(s: &str) -> Option<Compression> {
        match s {
            "gzip" | "gz" => Some(Compression::Gzip),
            "zstd" | "zst" => Some(Compression::Zstd),
            _ => None,
        }
    }

    /// `.sql.gz` or `.sql.zst`.
    pub fn suffix(self) -> &'static str {
        match self {
            Compression::Gzip => ".sql.gz",
            Compression::Zstd => ".sql.zst",
        }
    }

    pub fn default_level(self) -> u32 {
        match self {
            Compression::Gzip => 6,
            Compression::Zstd => 3,
        }
    }

    /// The levels each format accepts.
    pub fn levels(self) -> std::ops::RangeInclusive<u32> {
        match self {
            Compression::Gzip => 1..=9,
            Compression::Zstd => 1..=19,
        }
    }
}

/// Where compressed bytes end: the backup file (hashing what it is given), through age
/// when encrypting.
pub enum Output {
    Plain(HashingFile),
    Encrypted(age::stream::StreamWriter<HashingFile>),
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Output::Plain(f) => f.write(buf),
            Output::Encrypted(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Plain(f) => f.flush(),
            Output::Encrypted(w) => w.flush(),
        }
    }
}

impl Output {
    /// Ends the stream (age's last chunk), makes the file durable; its size and SHA-256.
    pub fn finish(self) -> io::Result<(u64, String)> {
        let hashing = match self {
            Output::Plain(f) => f,
            Output::Encrypted(w) => w.finish()?,
        };
        let (file, sha256) = hashing.finish();
        file.sync_all()?;
        Ok((file.metadata()?.len(), sha256))
    }
}

/// Which side failed: the input (pg_dump's pipe) or the output (the backup file).
#[derive(Debug)]
pub enum Failure {
    Read(io::Error),
    Write(io::Error),
}

/// What went through.
pub struct Flowed {
    pub sql_bytes: u64,
    pub out_bytes: u64,
    /// The file's SHA-256, as written.
    pub sha256: String,
    /// The SQL ended with pg_dump's closing line.
    pub complete: bool,
}

/// A compressor writing into the output.
trait Stage: Write {
    /// Writes the end of the stream and hands the output back.
    fn end(self) -> io::Result<Output>;
    /// Stops after a failure (gzp must be finished before it is dropped).
    fn abort(self);
}

impl Stage for ParCompress<'static, Mgzip, BufWriter<Output>> {
    fn end(mut self) -> io::Result<Output> {
        let out = self.finish().map_err(gzp_io)?;
        out.into_inner().map_err(|e| e.into_error())
    }

    fn abort(mut self) {
        let _ = self.finish();
    }
}

impl Stage for zstd::Encoder<'static, BufWriter<Output>> {
    fn end(self) -> io::Result<Output> {
        self.finish()?.into_inner().map_err(|e| e.into_error())
    }

    fn abort(self) {}
}

/// Compresses `input` into `output` on every core, then finishes the output. gzip is
/// gzp's Mgzip (each 1 MiB block its own gzip member, compressed by libdeflate;
/// concatenated members are one standard gzip file); zstd is libzstd's own workers.
pub fn compress(
    input: impl Read,
    output: Output,
    compression: Compression,
    level: u32,
    progress: &mut Progress,
) -> Result<Flowed, Failure> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let sink = BufWriter::with_capacity(1 << 20, output);
    match compression {
        Compression::Gzip => {
            let build = ParCompressBuilder::<Mgzip>::new()
                .num_threads(threads)
                .and_then(|b| b.buffer_size(1 << 20))
                .map_err(|e| Failure::Write(gzp_io(e)))?;
            let gz = build
                .compression_level(GzpLevel::new(level))
                .from_writer(sink);
            pump(input, gz, progress)
        }
        Compression::Zstd => {
            let mut z = zstd::Encoder::new(sink, level as i32).map_err(Failure::Write)?;
            z.multithread(threads as u32).map_err(Failure::Write)?;
            // Without the frame checksum a flipped bit can decode silently to other data.
            z.include_checksum(true).map_err(Failure::Write)?;
            pump(input, z, progress)
        }
    }
}

fn pump(
    mut input: impl Read,
    mut stage: impl Stage,
    progress: &mut Progress,
) -> Result<Flowed, Failure> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut tail: Vec<u8> = Vec::new();
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                stage.abort();
                return Err(Failure::Read(e));
            }
        };
        progress.add(n as u64);
        // A failed write shuts gzp down and returns the writer's own error.
        stage.write_all(&buf[..n]).map_err(Failure::Write)?;
        tail.extend_from_slice(&buf[n.saturating_sub(256)..n]);
        tail.drain(..tail.len().saturating_sub(256));
    }
    let (out_bytes, sha256) = stage
        .end()
        .and_then(Output::finish)
        .map_err(Failure::Write)?;
    Ok(Flowed {
        sql_bytes: progress.done(),
        out_bytes,
        sha256,
        complete: crate::dump::ends_complete(&tail),
    })
}

fn gzp_io(e: GzpError) -> io::Error {
    match e {
        GzpError::Io(e) => e,
        e => io::Error::other(e),
    }
}
