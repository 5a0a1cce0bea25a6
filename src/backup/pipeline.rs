//! Byte streams as stages: pg_dump's output → compression (gzip or zstd, on every core)
//! → [age encryption] → a sink. A new format or destination is one more stage here, not
//! a branch in every command.

use std::io::{self, BufWriter, Read, Write};

use gzp::deflate::Mgzip;
use gzp::par::compress::{Compression as GzpLevel, ParCompress, ParCompressBuilder};
use gzp::{GzpError, ZWriter};

use sha2::{Digest, Sha256};

use crate::backup::remote::upload::Feed;
use crate::report::progress::Progress;

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

    /// `gzip` or `zstd`, as the flag and the manifest spell it.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
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

/// The last stage: the backup file, the offsite upload, or both at once (the same
/// bytes, read once), hashed as they pass.
pub struct Sink {
    file: Option<std::fs::File>,
    feed: Option<Feed>,
    hasher: Sha256,
    bytes: u64,
}

impl Sink {
    /// Into `file`, and into `feed` as well when uploading. Without a file the upload is
    /// the backup: its failure fails the write.
    pub fn new(file: Option<std::fs::File>, mut feed: Option<Feed>) -> Sink {
        if let (None, Some(f)) = (&file, &mut feed) {
            f.set_required();
        }
        Sink {
            file,
            feed,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = match &mut self.file {
            Some(f) => f.write(buf)?,
            None => buf.len(),
        };
        if let Some(feed) = &mut self.feed {
            feed.write_all(&buf[..n])?;
        }
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

/// Where compressed bytes end: the sink, through age when encrypting.
pub enum Output {
    Plain(Sink),
    Encrypted(age::stream::StreamWriter<Sink>),
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

/// What reached the sink.
pub struct Written {
    pub bytes: u64,
    pub sha256: String,
}

impl Output {
    /// Into `sink`, through age when `recipients` are set: ciphertext only ever reaches
    /// the sink.
    pub fn new(
        sink: Sink,
        recipients: Option<&crate::backup::crypt::Recipients>,
    ) -> anyhow::Result<Output> {
        Ok(match recipients {
            Some(r) => Output::Encrypted(r.encryptor()?.wrap_output(sink).map_err(|e| {
                crate::report::exit::fail(
                    crate::report::exit::io_code(&e),
                    format!("cannot write the backup: {e}; no backup was pruned"),
                )
            })?),
            None => Output::Plain(sink),
        })
    }

    /// Ends the stream (age's last chunk) and makes the file durable.
    pub fn finish(self) -> io::Result<Written> {
        let mut sink = match self {
            Output::Plain(f) => f,
            Output::Encrypted(w) => w.finish()?,
        };
        // The last part goes out while the file is synced; the object still appears
        // only when the caller completes the upload.
        if let Some(feed) = sink.feed.take() {
            feed.finish()?;
        }
        if let Some(file) = &sink.file {
            file.sync_all()?;
        }
        Ok(Written {
            bytes: sink.bytes,
            sha256: crate::backup::manifest::hex(&sink.hasher.finalize()),
        })
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

/// zstd on one core (each of a parallel backup's streams): every 2 MiB run of input is
/// compressed whole, as a frame of its own. libzstd's streaming mode keeps its window in
/// a ring and spends about a fifth more CPU per byte on it (its `extDict` path, measured
/// in docs/performance.md); a run compressed whole takes the contiguous path. Frames one
/// after another are one zstd stream (RFC 8878, `zstd -dc` reads it), and up to level
/// [`FRAMED_UP_TO`] a run is the level's whole window, so the output is no larger.
struct Frames {
    z: zstd::bulk::Compressor<'static>,
    run: Vec<u8>,
    frame: Vec<u8>,
    sink: BufWriter<Output>,
    /// No frame yet: an empty input still ends as one (empty) frame.
    none: bool,
}

const RUN: usize = 2 << 20;

/// The highest level whose window (libzstd's tables: 2 MiB up to level 8) fits in a
/// run; above it the stream keeps its larger window.
const FRAMED_UP_TO: u32 = 8;

impl Frames {
    fn new(sink: BufWriter<Output>, level: u32) -> io::Result<Frames> {
        let mut z = zstd::bulk::Compressor::new(level as i32)?;
        // Without the frame checksum a flipped bit can decode silently to other data.
        z.include_checksum(true)?;
        Ok(Frames {
            z,
            run: Vec::with_capacity(RUN),
            frame: Vec::with_capacity(zstd::zstd_safe::compress_bound(RUN)),
            sink,
            none: true,
        })
    }

    fn compress_run(&mut self) -> io::Result<()> {
        self.frame.clear();
        self.z.compress_to_buffer(&self.run, &mut self.frame)?;
        self.run.clear();
        self.none = false;
        self.sink.write_all(&self.frame)
    }
}

impl Write for Frames {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(RUN - self.run.len());
        self.run.extend_from_slice(&buf[..n]);
        if self.run.len() == RUN {
            self.compress_run()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Stage for Frames {
    fn end(mut self) -> io::Result<Output> {
        if !self.run.is_empty() || self.none {
            self.compress_run()?;
        }
        self.sink.into_inner().map_err(|e| e.into_error())
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
    compress_on(input, output, compression, level, threads, progress)
}

/// `compress` on `threads` cores (1 for each of a parallel backup's streams: the streams
/// are what runs side by side).
pub fn compress_on(
    input: impl Read,
    output: Output,
    compression: Compression,
    level: u32,
    threads: usize,
    progress: &mut Progress,
) -> Result<Flowed, Failure> {
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
        Compression::Zstd if threads == 1 && level <= FRAMED_UP_TO => pump(
            input,
            Frames::new(sink, level).map_err(Failure::Write)?,
            progress,
        ),
        Compression::Zstd => {
            let mut z = zstd::Encoder::new(sink, level as i32).map_err(Failure::Write)?;
            if threads > 1 {
                z.multithread(threads as u32).map_err(Failure::Write)?;
            }
            // Without the frame checksum a flipped bit can decode silently to other data.
            z.include_checksum(true).map_err(Failure::Write)?;
            // 2 MiB jobs (libzstd's default at level 3 is 8 MiB): half the memory, and
            // on two cores the workers start sooner and finish together; measured
            // faster than the default and than `zstd -3 -T0`, output no larger.
            z.set_parameter(zstd::stream::raw::CParameter::JobSize(2 << 20))
                .map_err(Failure::Write)?;
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
    let written = stage
        .end()
        .and_then(Output::finish)
        .map_err(Failure::Write)?;
    Ok(Flowed {
        sql_bytes: progress.done(),
        out_bytes: written.bytes,
        sha256: written.sha256,
        complete: crate::sql::ends_complete(&tail),
    })
}

fn gzp_io(e: GzpError) -> io::Error {
    match e {
        GzpError::Io(e) => e,
        e => io::Error::other(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Seek;

    /// `input` through one core's zstd, in pieces of `piece` bytes: the stored bytes.
    fn one_core(input: &[u8], piece: usize, level: u32) -> Vec<u8> {
        let file = tempfile::tempfile().unwrap();
        let output = Output::Plain(Sink::new(Some(file.try_clone().unwrap()), None));
        let mut progress = Progress::hidden();
        let reader = Pieces(input, piece);
        let flowed =
            compress_on(reader, output, Compression::Zstd, level, 1, &mut progress).unwrap();
        let mut stored = Vec::new();
        let mut file = file;
        file.rewind().unwrap();
        file.read_to_end(&mut stored).unwrap();
        assert_eq!(flowed.out_bytes, stored.len() as u64);
        assert_eq!(flowed.sql_bytes, input.len() as u64);
        stored
    }

    struct Pieces<'a>(&'a [u8], usize);

    impl Read for Pieces<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(self.1).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn frames(mut stored: &[u8]) -> usize {
        let mut n = 0;
        while !stored.is_empty() {
            let size = zstd::zstd_safe::find_frame_compressed_size(stored).unwrap();
            stored = &stored[size..];
            n += 1;
        }
        n
    }

    #[test]
    fn one_cores_zstd_is_a_frame_per_run_and_reads_back_whole() {
        let rows: Vec<u8> = (0..250_000u32)
            .flat_map(|i| format!("{i}\trow {}\t{}\n", i * 7, i % 13).into_bytes())
            .collect();
        assert!(rows.len() > 2 * RUN && rows.len() < 3 * RUN);
        for piece in [1000, 256 << 10, RUN + 1] {
            let stored = one_core(&rows, piece, 3);
            assert_eq!(frames(&stored), 3, "pieces of {piece}");
            assert_eq!(zstd::decode_all(stored.as_slice()).unwrap(), rows);
        }
        // Nothing in: still one (empty) frame, as `zstd -dc` expects a zstd file to be.
        let stored = one_core(b"", 10, 3);
        assert_eq!(frames(&stored), 1);
        assert!(zstd::decode_all(stored.as_slice()).unwrap().is_empty());
        // Above level 8 the window is larger than a run: one stream, as before.
        let stored = one_core(&rows, 256 << 10, 9);
        assert_eq!(frames(&stored), 1);
        assert_eq!(zstd::decode_all(stored.as_slice()).unwrap(), rows);
        // A flipped bit is caught by a frame's checksum.
        let mut stored = one_core(&rows, 4096, 3);
        let at = stored.len() / 2;
        stored[at] ^= 1;
        assert!(zstd::decode_all(stored.as_slice()).is_err());
    }
}
