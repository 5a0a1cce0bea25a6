//! A real S3 server for the tests: SeaweedFS's `weed mini` on free ports, checking
//! SigV4 signatures, with a bucket; the `aws` CLI to look at what landed. Both come from
//! `scripts/s3-tools` (installed once under the cache folder).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::cluster::{free_port, make_certs, random_token};

/// The credentials' key id; the secret is distinctive, so a leak is easy to find.
pub const ACCESS_KEY: &str = "kronic-test-access";

pub struct S3 {
    pub bucket: String,
    pub secret: String,
    ports: Vec<u16>,
    dir: tempfile::TempDir,
    child: Mutex<Option<Child>>,
}

static SHARED: OnceLock<S3> = OnceLock::new();

/// The folder with `weed` and `aws`.
fn tools() -> &'static Path {
    static TOOLS: OnceLock<PathBuf> = OnceLock::new();
    TOOLS.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/s3-tools");
        let out = Command::new(&script)
            .stderr(Stdio::inherit())
            .output()
            .expect("run scripts/s3-tools");
        assert!(out.status.success(), "scripts/s3-tools failed");
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
}

/// The server the remote tests share (a prefix per test).
pub fn shared() -> &'static S3 {
    SHARED.get_or_init(|| S3::start("kronic-tests"))
}

pub fn shutdown() {
    if let Some(s) = SHARED.get() {
        s.stop();
    }
}

impl S3 {
    /// A server of its own (for tests that kill it), with `bucket`.
    pub fn start(bucket: &str) -> S3 {
        let s = S3 {
            bucket: bucket.into(),
            secret: format!("S3cret-DoNotLeak-{}", random_token(20)),
            ports: (0..11).map(|_| free_port()).collect(),
            dir: tempfile::Builder::new()
                .prefix("kronic-s3")
                .tempdir()
                .unwrap(),
            child: Mutex::new(None),
        };
        s.run();
        s
    }

    /// Starts `weed mini` on this server's ports and data folder; waits until it serves.
    pub fn run(&self) {
        let p = &self.ports;
        let log = self.dir.path().join("weed.log");
        let _ = std::fs::remove_file(&log);
        let data = self.dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        // HTTPS too, with a certificate for `localhost` from a CA of the test's own.
        let certs = self.dir.path().join("ca.pem");
        if !certs.exists() {
            let c = make_certs();
            std::fs::write(self.dir.path().join("server.pem"), c.server_pem).unwrap();
            std::fs::write(self.dir.path().join("server.key"), c.server_key).unwrap();
            std::fs::write(&certs, c.ca_pem).unwrap();
        }
        let child = Command::new(tools().join("weed"))
            .arg("mini")
            .arg(format!("-dir={}", data.display()))
            .args([
                "-ip=127.0.0.1",
                "-webdav=false",
                "-admin.ui=false",
                "-s3.port.iceberg=0",
                // Its Lance listener would take fixed port 9101 on every interface:
                // another run holding it would stop this one.
                "-s3.port.lance=0",
                "-master.telemetry=false",
            ])
            .arg(format!("-s3.port={}", p[0]))
            .arg(format!("-s3.port.grpc={}", p[1]))
            .arg(format!("-master.port={}", p[2]))
            .arg(format!("-master.port.grpc={}", p[3]))
            .arg(format!("-volume.port={}", p[4]))
            .arg(format!("-volume.port.grpc={}", p[5]))
            .arg(format!("-filer.port={}", p[6]))
            .arg(format!("-filer.port.grpc={}", p[7]))
            .arg(format!("-admin.port={}", p[8]))
            .arg(format!("-admin.port.grpc={}", p[9]))
            .arg(format!("-s3.port.https={}", p[10]))
            .arg(format!(
                "-s3.cert.file={}",
                self.dir.path().join("server.pem").display()
            ))
            .arg(format!(
                "-s3.key.file={}",
                self.dir.path().join("server.key").display()
            ))
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret)
            .env("S3_BUCKET", &self.bucket)
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::from(
                std::fs::File::options().append(true).open(&log).unwrap(),
            ))
            .spawn()
            .expect("start weed");
        *self.child.lock().unwrap() = Some(child);
        // The S3 port answers before the bucket exists: wait for this line.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("All enabled components are running") {
                break;
            }
            assert!(Instant::now() < deadline, "weed did not start:\n{text}");
            std::thread::sleep(Duration::from_millis(100));
        }
        // Restarted over its old data, it answers 500 to reads for a few seconds more
        // (the volume server finding its master again): wait until an object reads.
        let Some(first) = self.any_key() else {
            return;
        };
        loop {
            let read = self
                .aws_cmd(&["s3", "cp", &format!("s3://{}/{first}", self.bucket), "-"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap();
            if read.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "weed serves no object after a restart"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Some key in the bucket, if it holds any.
    fn any_key(&self) -> Option<String> {
        let out = self
            .aws_cmd(&[
                "s3api",
                "list-objects-v2",
                "--bucket",
                &self.bucket,
                "--max-items",
                "1",
                "--output",
                "json",
            ])
            .output()
            .ok()?;
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        v["Contents"][0]["Key"].as_str().map(str::to_string)
    }

    /// SIGKILL: the server vanishes mid-request.
    pub fn kill(&self) {
        if let Some(mut c) = self.child.lock().unwrap().take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn stop(&self) {
        if let Some(mut c) = self.child.lock().unwrap().take() {
            let _ = Command::new("kill").arg(c.id().to_string()).status();
            let _ = c.wait();
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports[0])
    }

    pub fn port(&self) -> u16 {
        self.ports[0]
    }

    /// The same server over TLS, named as its certificate names it.
    pub fn https_endpoint(&self) -> String {
        format!("https://localhost:{}", self.ports[10])
    }

    /// The CA that signed the TLS certificate (a PEM file).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// `s3://bucket/prefix`.
    pub fn url(&self, prefix: &str) -> String {
        format!("s3://{}/{prefix}", self.bucket)
    }

    /// Sets the AWS_* variables kronic reads (and nothing else from the test's env).
    pub fn env<'a>(&self, cmd: &'a mut assert_cmd::Command) -> &'a mut assert_cmd::Command {
        for (k, v) in self.vars() {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_string()),
            ("AWS_SECRET_ACCESS_KEY", self.secret.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ALLOW_HTTP", "true".into()),
        ]
    }

    /// The `aws` CLI against this server; stdout (panics on failure).
    pub fn aws(&self, args: &[&str]) -> String {
        let out = self.aws_cmd(args).output().unwrap();
        assert!(
            out.status.success(),
            "aws {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn aws_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(tools().join("aws"));
        cmd.arg("--endpoint-url").arg(self.endpoint()).args(args);
        for (k, v) in self.vars() {
            cmd.env(k, v);
        }
        cmd.env("AWS_EC2_METADATA_DISABLED", "true");
        cmd
    }

    /// Keys under `prefix/` with their sizes, sorted.
    pub fn objects(&self, prefix: &str) -> Vec<(String, u64)> {
        let out = self.aws(&[
            "s3api",
            "list-objects-v2",
            "--bucket",
            &self.bucket,
            "--prefix",
            &format!("{prefix}/"),
            "--output",
            "json",
        ]);
        let v: serde_json::Value =
            serde_json::from_str(if out.trim().is_empty() { "{}" } else { &out }).unwrap();
        let mut keys: Vec<(String, u64)> = v["Contents"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|o| {
                        let key = o["Key"].as_str().unwrap();
                        (
                            key.strip_prefix(&format!("{prefix}/")).unwrap().to_string(),
                            o["Size"].as_u64().unwrap(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        keys.sort();
        keys
    }

    /// The multipart uploads in progress in the bucket.
    pub fn uploads(&self) -> Vec<String> {
        let out = self.aws(&[
            "s3api",
            "list-multipart-uploads",
            "--bucket",
            &self.bucket,
            "--output",
            "json",
        ]);
        let v: serde_json::Value =
            serde_json::from_str(if out.trim().is_empty() { "{}" } else { &out }).unwrap();
        v["Uploads"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|u| u["Key"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// An object's bytes.
    pub fn get(&self, key: &str) -> Vec<u8> {
        let file = self.dir.path().join(format!("get-{}", random_token(8)));
        self.aws(&[
            "s3",
            "cp",
            &format!("s3://{}/{key}", self.bucket),
            file.to_str().unwrap(),
        ]);
        let bytes = std::fs::read(&file).unwrap();
        std::fs::remove_file(&file).unwrap();
        bytes
    }

    /// Puts `bytes` at `key`.
    pub fn put(&self, key: &str, bytes: &[u8]) {
        let file = self.dir.path().join(format!("put-{}", random_token(8)));
        std::fs::write(&file, bytes).unwrap();
        self.aws(&[
            "s3",
            "cp",
            file.to_str().unwrap(),
            &format!("s3://{}/{key}", self.bucket),
        ]);
        std::fs::remove_file(&file).unwrap();
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A TCP proxy in front of an S3 port that holds back, for `delay`, each chunk a client
/// sends that `held` picks (a request's head), and counts them: a signal can then be
/// sent while a given request is in flight.
pub struct DelayProxy {
    pub port: u16,
    seen: Arc<AtomicUsize>,
}

impl DelayProxy {
    pub fn start(target: u16, held: fn(&[u8]) -> bool, delay: Duration) -> DelayProxy {
        DelayProxy::run(target, held, delay, false)
    }

    /// The same, holding back the server's answer to the picked request instead (the
    /// server acts on it at once; the client hears of it late).
    pub fn answering_late(target: u16, held: fn(&[u8]) -> bool, delay: Duration) -> DelayProxy {
        DelayProxy::run(target, held, delay, true)
    }

    fn run(target: u16, held: fn(&[u8]) -> bool, delay: Duration, answer_late: bool) -> DelayProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(AtomicUsize::new(0));
        let counter = seen.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                let (mut from, mut to) = (server.try_clone().unwrap(), client.try_clone().unwrap());
                let late = Arc::new(AtomicUsize::new(0));
                let answer = late.clone();
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = match from.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if answer.swap(0, Ordering::SeqCst) > 0 {
                            std::thread::sleep(delay);
                        }
                        if to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = to.shutdown(Shutdown::Write);
                });
                let counter = counter.clone();
                std::thread::spawn(move || {
                    let (mut client, mut server) = (client, server);
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = match client.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if held(&buf[..n]) {
                            counter.fetch_add(1, Ordering::SeqCst);
                            if answer_late {
                                late.store(1, Ordering::SeqCst);
                            } else {
                                std::thread::sleep(delay);
                            }
                        }
                        if server.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = server.shutdown(Shutdown::Write);
                });
            }
        });
        DelayProxy { port, seen }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Waits until a request was held back (panics after 30 s).
    pub fn wait_held(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.seen.load(Ordering::SeqCst) == 0 {
            assert!(Instant::now() < deadline, "no request was held back");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Whether `haystack` holds `needle`.
pub fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
