//! Throwaway PostgreSQL clusters started from the PostgreSQL binaries on the machine:
//! scram password authentication over TCP on a free port, TLS with a CA made here,
//! stopped and removed when dropped. Works as root (runs the server as `postgres`).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Cluster {
    pub port: u16,
    pub superuser_password: String,
    dir: tempfile::TempDir,
    bindir: PathBuf,
    as_postgres: bool,
    running: std::sync::atomic::AtomicBool,
}

/// The PostgreSQL server binaries: `KRONIC_PG_BINDIR`, else the newest
/// /usr/lib/postgresql/*/bin, else `pg_config --bindir`.
pub fn bindir() -> PathBuf {
    if let Some(d) = std::env::var_os("KRONIC_PG_BINDIR") {
        return PathBuf::from(d);
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    found.sort();
    if let Some((_, bin)) = found.pop() {
        return bin;
    }
    let out = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .expect("no PostgreSQL server binaries found (set KRONIC_PG_BINDIR)");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// A port no listener holds and no other server of this run was given, below the
/// kernel's range for outgoing connections: a port from that range (what binding port 0
/// hands out) can go to some client's connection before the server meant to listen on
/// it starts or restarts, which then fails to bind.
pub fn free_port() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let mut given = GIVEN.lock().unwrap();
    if low > 12000 {
        for _ in 0..10_000 {
            let h = std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish();
            let port = 10000 + (h % u64::from(low - 10000)) as u16;
            if !given.contains(&port) && std::net::TcpListener::bind(("0.0.0.0", port)).is_ok() {
                given.push(port);
                return port;
            }
        }
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    given.push(port);
    port
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

pub fn random_token(n: usize) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut s = String::new();
    while s.len() < n {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(s.len());
        s.push_str(&format!("{:016x}", h.finish()));
    }
    s.truncate(n);
    s
}

/// CA and server certificate (SAN `localhost` only: connecting to 127.0.0.1 with
/// verify-full must fail on the name).
pub struct Certs {
    pub ca_pem: String,
    pub server_pem: String,
    pub server_key: String,
}

pub fn make_certs() -> Certs {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "kronic test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let mut server = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    server
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    let server_cert = server.signed_by(&server_key, &issuer).unwrap();
    Certs {
        ca_pem: ca_cert.pem(),
        server_pem: server_cert.pem(),
        server_key: server_key.serialize_pem(),
    }
}

impl Cluster {
    pub fn start() -> Cluster {
        Cluster::start_in(bindir(), true)
    }

    /// A cluster of the PostgreSQL whose programs are in `bindir`, with TLS or without
    /// (a build without OpenSSL).
    pub fn start_in(bindir: PathBuf, tls: bool) -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("kronic-test-pg")
            .tempdir()
            .unwrap();
        let as_postgres = is_root();
        let cluster = Cluster {
            port: free_port(),
            superuser_password: format!("su-{}", random_token(24)),
            dir,
            bindir,
            as_postgres,
            running: false.into(),
        };
        let root = cluster.dir.path();
        std::fs::write(root.join("pw"), &cluster.superuser_password).unwrap();
        let certs = make_certs();
        std::fs::write(root.join("ca.pem"), &certs.ca_pem).unwrap();
        if as_postgres {
            cluster.chown(root);
        }
        cluster.run_pg(
            "initdb",
            &[
                "-D",
                &cluster.data().display().to_string(),
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                &format!("--pwfile={}", root.join("pw").display()),
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
        );
        std::fs::write(cluster.data().join("server.crt"), &certs.server_pem).unwrap();
        std::fs::write(cluster.data().join("server.key"), &certs.server_key).unwrap();
        set_mode(&cluster.data().join("server.key"), 0o600);
        let conf = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n\
             fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 300\n\
             ssl = {}\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n",
            cluster.port,
            root.display(),
            if tls { "on" } else { "off" }
        );
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(cluster.data().join("postgresql.conf"))
            .unwrap();
        std::io::Write::write_all(&mut f, conf.as_bytes()).unwrap();
        // Roles that prove which side of TLS a connection was on.
        let hba = cluster.data().join("pg_hba.conf");
        let rest = std::fs::read_to_string(&hba).unwrap();
        std::fs::write(
            &hba,
            format!(
                "hostnossl all kronic_tls all reject\nhostssl all kronic_plain all reject\n{rest}"
            ),
        )
        .unwrap();
        if as_postgres {
            cluster.chown(&cluster.data());
        }
        cluster.start_server();
        cluster
    }

    pub fn ca_path(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn chown(&self, path: &Path) {
        let ok = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(path)
            .status()
            .unwrap()
            .success();
        assert!(ok, "chown {} failed", path.display());
    }

    fn run_pg(&self, tool: &str, args: &[&str]) {
        let bin = self.bindir.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&bin);
            c
        } else {
            Command::new(&bin)
        };
        let out = cmd
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{tool} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn start_server(&self) {
        let data = self.data().display().to_string();
        let log = self.dir.path().join("server.log").display().to_string();
        self.run_pg(
            "pg_ctl",
            &["-D", &data, "-l", &log, "-w", "-t", "60", "start"],
        );
        self.running
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn stop_server(&self) {
        let data = self.data().display().to_string();
        self.run_pg("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
        self.running
            .store(false, std::sync::atomic::Ordering::SeqCst);
    }

    /// Stops the server and deletes its files (for clusters held in statics, which are
    /// never dropped).
    pub fn destroy(&self) {
        if self.running.load(std::sync::atomic::Ordering::SeqCst) {
            self.stop_server();
        }
        let _ = std::fs::remove_dir_all(self.dir.path());
    }

    pub fn superuser_url(&self) -> String {
        format!(
            "postgresql://postgres:{}@127.0.0.1:{}/postgres?sslmode=disable",
            self.superuser_password, self.port
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.running.load(std::sync::atomic::Ordering::SeqCst) {
            let data = self.data().display().to_string();
            let bin = self.bindir.join("pg_ctl");
            let mut cmd = if self.as_postgres {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(&bin);
                c
            } else {
                Command::new(&bin)
            };
            let _ = cmd
                .args(["-D", &data, "-m", "immediate", "-w", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}
