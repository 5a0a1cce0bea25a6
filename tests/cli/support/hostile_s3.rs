//! A small hostile "S3" server for the tests: it answers every request the way a test
//! scripts it (an HTML page, a listing that never ends, a body far longer than its
//! Content-Length says, bytes dripped one at a time), on a free port of 127.0.0.1.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// What the server sends back for one request.
pub enum Answer {
    /// A status, headers and a body, at once.
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// A chunked body of `total` bytes of `fill`, whatever Content-Length says.
    Chunked {
        content_length: Option<u64>,
        total: u64,
        fill: u8,
    },
    /// `body` one chunk of `step` bytes per `every`.
    Drip {
        body: Vec<u8>,
        step: usize,
        every: Duration,
    },
    /// `body` after `delay`.
    Late { delay: Duration, body: Vec<u8> },
}

/// The request line, e.g. `GET /bucket?list-type=2&... HTTP/1.1`.
pub type Handler = dyn Fn(&str) -> Answer + Send + Sync;

pub struct HostileS3 {
    pub port: u16,
}

impl HostileS3 {
    pub fn start(handler: impl Fn(&str) -> Answer + Send + Sync + 'static) -> HostileS3 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handler: Arc<Handler> = Arc::new(handler);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let handler = handler.clone();
                std::thread::spawn(move || serve(stream, &*handler));
            }
        });
        HostileS3 { port }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The AWS_* settings for kronic to use it.
    pub fn vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "kronic-hostile".into()),
            ("AWS_SECRET_ACCESS_KEY", "hostile-secret".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ALLOW_HTTP", "true".into()),
        ]
    }
}

fn serve(stream: TcpStream, handler: &Handler) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let request = line.trim_end().to_string();
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if std::io::Read::read_exact(&mut reader, &mut body).is_err() {
            return;
        }
        let mut a = handler(&request);
        // A HEAD answer says the length and sends no body.
        if request.starts_with("HEAD ")
            && let Answer::Full { body, headers, .. } = &mut a
        {
            headers.push(("Content-Length".into(), body.len().to_string()));
            body.clear();
        }
        if answer(&mut out, a).is_err() {
            return;
        }
    }
}

fn answer(out: &mut TcpStream, a: Answer) -> std::io::Result<()> {
    match a {
        Answer::Full {
            status,
            headers,
            body,
        } => {
            let mut head = format!("HTTP/1.1 {status} X\r\n");
            if !headers.iter().any(|(k, _)| k == "Content-Length") {
                head.push_str(&format!("Content-Length: {}\r\n", body.len()));
            }
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            out.write_all(head.as_bytes())?;
            out.write_all(&body)
        }
        Answer::Chunked {
            content_length,
            total,
            fill,
        } => {
            let mut head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n".to_string();
            if let Some(n) = content_length {
                head.push_str(&format!("Content-Length: {n}\r\n"));
            }
            head.push_str("ETag: \"x\"\r\nLast-Modified: Mon, 30 Nov 2026 00:00:00 GMT\r\n\r\n");
            out.write_all(head.as_bytes())?;
            let chunk = vec![fill; 1 << 20];
            let mut left = total;
            while left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                out.write_all(format!("{n:x}\r\n").as_bytes())?;
                out.write_all(&chunk[..n])?;
                out.write_all(b"\r\n")?;
                left -= n as u64;
            }
            out.write_all(b"0\r\n\r\n")
        }
        Answer::Drip { body, step, every } => {
            out.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nETag: \"x\"\r\nLast-Modified: Mon, 30 Nov 2026 00:00:00 GMT\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            )?;
            for part in body.chunks(step) {
                out.write_all(part)?;
                out.flush()?;
                std::thread::sleep(every);
            }
            Ok(())
        }
        Answer::Late { delay, body } => {
            std::thread::sleep(delay);
            answer(
                out,
                Answer::Full {
                    status: 200,
                    headers: vec![("Content-Type".into(), "application/xml".into())],
                    body,
                },
            )
        }
    }
}

/// A ListObjectsV2 page holding `keys`, with the next token when there is one.
pub fn listing(keys: &[String], next: Option<&str>) -> Vec<u8> {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name>",
    );
    for k in keys {
        s.push_str(&format!(
            "<Contents><Key>{k}</Key><Size>10</Size><LastModified>2026-11-30T00:00:00.000Z</LastModified><ETag>\"e\"</ETag></Contents>"
        ));
    }
    match next {
        Some(t) => s.push_str(&format!(
            "<IsTruncated>true</IsTruncated><NextContinuationToken>{t}</NextContinuationToken>"
        )),
        None => s.push_str("<IsTruncated>false</IsTruncated>"),
    }
    s.push_str("</ListBucketResult>");
    s.into_bytes()
}
