//! A gzip writer that compresses 1 MiB blocks on every core with libdeflate and writes
//! each block as its own gzip member, in order. Concatenated members are one valid gzip
//! file (RFC 1952, section 2.2): gunzip, zcat and every decoder kronic uses read them
//! whole. libdeflate is whole-buffer only, which fits independent blocks, and is about
//! 1.4x faster than zlib at the same level with smaller output.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use libdeflater::{CompressionLvl, Compressor};

const BLOCK: usize = 1 << 20;

enum Msg {
    Block(u64, io::Result<Vec<u8>>),
    End { blocks: u64 },
}

pub struct ParGzWriter<W: Write + Send + 'static> {
    buf: Vec<u8>,
    index: u64,
    jobs: Option<SyncSender<(u64, Vec<u8>)>>,
    results: Option<SyncSender<Msg>>,
    /// One token per block in flight: bounds memory whatever the input size.
    tokens: Receiver<()>,
    workers: Vec<JoinHandle<()>>,
    writer: Option<JoinHandle<io::Result<(W, u64)>>>,
}

impl<W: Write + Send + 'static> ParGzWriter<W> {
    /// `level` is 1 to 9, as for gzip.
    pub fn new(inner: W, level: u32, threads: usize) -> ParGzWriter<W> {
        let threads = threads.max(1);
        let in_flight = threads * 2 + 2;
        let (job_tx, job_rx) = sync_channel::<(u64, Vec<u8>)>(threads);
        let (res_tx, res_rx) = sync_channel::<Msg>(in_flight);
        let (token_tx, token_rx) = sync_channel::<()>(in_flight);
        for _ in 0..in_flight {
            let _ = token_tx.send(());
        }
        let lvl = CompressionLvl::new(level.clamp(1, 9) as i32).unwrap_or_default();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let workers = (0..threads)
            .map(|_| {
                let job_rx = job_rx.clone();
                let res_tx = res_tx.clone();
                std::thread::spawn(move || {
                    let mut compressor = Compressor::new(lvl);
                    loop {
                        let job = match job_rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        let Ok((index, data)) = job else { return };
                        let member = gzip_member(&mut compressor, &data);
                        if res_tx.send(Msg::Block(index, member)).is_err() {
                            return;
                        }
                    }
                })
            })
            .collect();
        let writer = std::thread::spawn(move || write_in_order(inner, res_rx, token_tx));
        ParGzWriter {
            buf: Vec::with_capacity(BLOCK),
            index: 0,
            jobs: Some(job_tx),
            results: Some(res_tx),
            tokens: token_rx,
            workers,
            writer: Some(writer),
        }
    }

    fn dispatch(&mut self) -> io::Result<()> {
        if self.tokens.recv().is_err() {
            return Err(self.writer_failed());
        }
        let data = std::mem::replace(&mut self.buf, Vec::with_capacity(BLOCK));
        let index = self.index;
        self.index += 1;
        match &self.jobs {
            Some(tx) if tx.send((index, data)).is_ok() => Ok(()),
            _ => Err(self.writer_failed()),
        }
    }

    /// The writer thread stopped early: return its error.
    fn writer_failed(&mut self) -> io::Error {
        self.jobs = None;
        self.results = None;
        match self.writer.take().map(|w| w.join()) {
            Some(Ok(Err(e))) => e,
            _ => io::Error::other("gzip writer stopped"),
        }
    }

    /// Writes the last block; returns the inner writer and the number of compressed
    /// bytes written.
    pub fn finish(mut self) -> io::Result<(W, u64)> {
        // An empty input still makes one (empty) member: a valid gzip file.
        if !self.buf.is_empty() || self.index == 0 {
            self.dispatch()?;
        }
        let end = Msg::End { blocks: self.index };
        let sent = self
            .results
            .take()
            .map(|tx| tx.send(end).is_ok())
            .unwrap_or(false);
        self.jobs = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        if !sent {
            return Err(self.writer_failed());
        }
        match self.writer.take().map(|w| w.join()) {
            Some(Ok(r)) => r,
            _ => Err(io::Error::other("gzip writer thread panicked")),
        }
    }
}

impl<W: Write + Send + 'static> Write for ParGzWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(BLOCK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == BLOCK {
            self.dispatch()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write + Send + 'static> Drop for ParGzWriter<W> {
    fn drop(&mut self) {
        // Unblock and stop every thread; an unfinished stream is simply abandoned.
        self.jobs = None;
        self.results = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

fn gzip_member(compressor: &mut Compressor, data: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = vec![0u8; compressor.gzip_compress_bound(data.len())];
    let n = compressor
        .gzip_compress(data, &mut out)
        .map_err(|e| io::Error::other(format!("gzip: {e}")))?;
    out.truncate(n);
    Ok(out)
}

fn write_in_order<W: Write>(
    mut out: W,
    results: Receiver<Msg>,
    tokens: SyncSender<()>,
) -> io::Result<(W, u64)> {
    let mut written = 0u64;
    let mut pending: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    let mut next = 0u64;
    let mut end: Option<u64> = None;
    loop {
        while let Some(member) = pending.remove(&next) {
            out.write_all(&member)?;
            written += member.len() as u64;
            next += 1;
            let _ = tokens.send(());
        }
        if end == Some(next) {
            out.flush()?;
            return Ok((out, written));
        }
        match results.recv() {
            Ok(Msg::Block(i, Ok(member))) => {
                pending.insert(i, member);
            }
            Ok(Msg::Block(_, Err(e))) => return Err(e),
            Ok(Msg::End { blocks }) => end = Some(blocks),
            Err(_) => {
                return Err(io::Error::other(
                    "compression stopped before the end of the stream",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn roundtrip(input: &[u8], threads: usize) {
        let mut w = ParGzWriter::new(Vec::new(), 6, threads);
        // Odd write sizes cross block boundaries.
        for chunk in input.chunks(77_777) {
            w.write_all(chunk).unwrap();
        }
        let (gz, n) = w.finish().unwrap();
        assert_eq!(n as usize, gz.len());
        let mut back = Vec::new();
        flate2::read::MultiGzDecoder::new(&gz[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, input);
    }

    #[test]
    fn empty_small_and_multi_block_streams_decode() {
        roundtrip(b"", 2);
        roundtrip(b"hello", 1);
        let text: Vec<u8> = (0..3_500_000u32)
            .flat_map(|i| format!("row {i} user{}@example.com\n", i % 977).into_bytes())
            .collect();
        roundtrip(&text, 3);
        let noise: Vec<u8> = (0..(BLOCK * 2 + 5) as u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        roundtrip(&noise, 2);
    }

    #[test]
    fn a_failing_output_is_reported() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::from(io::ErrorKind::StorageFull))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut w = ParGzWriter::new(Full, 6, 2);
        let data = vec![7u8; BLOCK * 8];
        let err = w
            .write_all(&data)
            .and_then(|_| w.finish().map(|_| ()))
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
    }
}
