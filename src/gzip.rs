//! A gzip writer that compresses blocks on every core and still writes one standard gzip
//! member (pigz's method): each block is raw deflate primed with the previous 32 KiB,
//! ended by a sync flush, and the writer puts them back in order.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

const BLOCK: usize = 1 << 20;
const WINDOW: usize = 32 * 1024;

struct Job {
    index: u64,
    data: Vec<u8>,
    dict: Vec<u8>,
    last: bool,
}

enum Msg {
    Block(u64, io::Result<Vec<u8>>),
    End { blocks: u64, crc: u32, len: u32 },
}

pub struct ParGzWriter<W: Write + Send + 'static> {
    buf: Vec<u8>,
    index: u64,
    dict: Vec<u8>,
    crc: Crc,
    jobs: Option<SyncSender<Job>>,
    results: Option<SyncSender<Msg>>,
    /// One token per block in flight: bounds memory whatever the input size.
    tokens: Receiver<()>,
    workers: Vec<JoinHandle<()>>,
    writer: Option<JoinHandle<io::Result<(W, u64)>>>,
}

impl<W: Write + Send + 'static> ParGzWriter<W> {
    pub fn new(inner: W, level: u32, threads: usize) -> ParGzWriter<W> {
        let threads = threads.max(1);
        let in_flight = threads * 2 + 2;
        let (job_tx, job_rx) = sync_channel::<Job>(threads);
        let (res_tx, res_rx) = sync_channel::<Msg>(in_flight);
        let (token_tx, token_rx) = sync_channel::<()>(in_flight);
        for _ in 0..in_flight {
            let _ = token_tx.send(());
        }
        let job_rx = Arc::new(Mutex::new(job_rx));
        let workers = (0..threads)
            .map(|_| {
                let job_rx = job_rx.clone();
                let res_tx = res_tx.clone();
                std::thread::spawn(move || {
                    loop {
                        let job = match job_rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        let out = deflate_block(&job, level);
                        if res_tx.send(Msg::Block(job.index, out)).is_err() {
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
            dict: Vec::new(),
            crc: Crc::new(),
            jobs: Some(job_tx),
            results: Some(res_tx),
            tokens: token_rx,
            workers,
            writer: Some(writer),
        }
    }

    fn dispatch(&mut self, last: bool) -> io::Result<()> {
        if self.tokens.recv().is_err() {
            return Err(self.writer_failed());
        }
        let data = std::mem::replace(&mut self.buf, Vec::with_capacity(BLOCK));
        let next_dict = data[data.len().saturating_sub(WINDOW)..].to_vec();
        let dict = std::mem::replace(&mut self.dict, next_dict);
        let job = Job {
            index: self.index,
            data,
            dict,
            last,
        };
        self.index += 1;
        match &self.jobs {
            Some(tx) if tx.send(job).is_ok() => Ok(()),
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

    /// Writes the last block and the trailer; returns the inner writer and the number
    /// of compressed bytes written.
    pub fn finish(mut self) -> io::Result<(W, u64)> {
        self.dispatch(true)?;
        let end = Msg::End {
            blocks: self.index,
            crc: self.crc.sum(),
            len: self.crc.amount(),
        };
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
        self.crc.update(&data[..n]);
        if self.buf.len() == BLOCK {
            self.dispatch(false)?;
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

fn deflate_block(job: &Job, level: u32) -> io::Result<Vec<u8>> {
    let mut c = Compress::new(Compression::new(level), false);
    if !job.dict.is_empty() {
        c.set_dictionary(&job.dict).map_err(io::Error::other)?;
    }
    let flush = if job.last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(job.data.len() / 2 + 1024);
    loop {
        let consumed = c.total_in() as usize;
        let status = c
            .compress_vec(&job.data[consumed..], &mut out, flush)
            .map_err(io::Error::other)?;
        let all_in = c.total_in() as usize == job.data.len();
        let done = if job.last {
            status == Status::StreamEnd
        } else {
            all_in && out.len() < out.capacity()
        };
        if done {
            return Ok(out);
        }
        out.reserve(out.capacity().max(64 * 1024));
    }
}

fn write_in_order<W: Write>(
    mut out: W,
    results: Receiver<Msg>,
    tokens: SyncSender<()>,
) -> io::Result<(W, u64)> {
    // gzip header: magic, deflate, no flags, no mtime, no extra flags, OS unix.
    let header = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    out.write_all(&header)?;
    let mut written = header.len() as u64;
    let mut pending: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    let mut next = 0u64;
    let mut end: Option<(u64, u32, u32)> = None;
    loop {
        while let Some(block) = pending.remove(&next) {
            out.write_all(&block)?;
            written += block.len() as u64;
            next += 1;
            let _ = tokens.send(());
        }
        if let Some((blocks, crc, len)) = end
            && next == blocks
        {
            out.write_all(&crc.to_le_bytes())?;
            out.write_all(&len.to_le_bytes())?;
            out.flush()?;
            return Ok((out, written + 8));
        }
        match results.recv() {
            Ok(Msg::Block(i, Ok(data))) => {
                pending.insert(i, data);
            }
            Ok(Msg::Block(_, Err(e))) => return Err(e),
            Ok(Msg::End { blocks, crc, len }) => end = Some((blocks, crc, len)),
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
        flate2::read::GzDecoder::new(&gz[..])
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
