//! Test support: one shared PostgreSQL for the run (or `KRONIC_TEST_DATABASE_URL`), a
//! fresh database per test, and the real `kronic` binary pointed at it.

pub mod cluster;
pub mod hostile_s3;
pub mod s3;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

pub use cluster::Cluster;

/// The application role every test connects as. Its password holds every character
/// that breaks naive quoting, so every test proves it connects.
pub const APP_USER: &str = "kronic_app";
pub const APP_PASSWORD: &str = "p@ss w:rd/'\"$x`\\ !";

pub struct Server {
    pub host: String,
    pub port: u16,
    /// Superuser URL (libpq/postgres-crate form) for setting up and inspecting.
    pub admin_url: String,
    /// Our own cluster, when not using KRONIC_TEST_DATABASE_URL.
    pub local: Option<Cluster>,
    /// The client programs (pg_dump, psql) for this server, when kronic must be pointed
    /// at them: a server of another major version than the machine's own.
    pub bindir: Option<PathBuf>,
}

static SERVER: OnceLock<Server> = OnceLock::new();
static SERVER_16: OnceLock<Server> = OnceLock::new();
static SERVER_17: OnceLock<Server> = OnceLock::new();
static SERVER_18: OnceLock<Server> = OnceLock::new();
static TLS_CLUSTER: OnceLock<Cluster> = OnceLock::new();
static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The run's server: the machine's PostgreSQL (15 in CI), or KRONIC_TEST_DATABASE_URL.
pub fn server() -> &'static Server {
    SERVER.get_or_init(|| {
        let server = match std::env::var("KRONIC_TEST_DATABASE_URL")
            .ok()
            .filter(|s| !s.is_empty())
        {
            Some(url) => {
                let cfg: postgres::Config = url
                    .parse()
                    .expect("KRONIC_TEST_DATABASE_URL must be a superuser URL");
                let host = match &cfg.get_hosts()[0] {
                    postgres::config::Host::Tcp(h) => h.clone(),
                    #[allow(unreachable_patterns)]
                    _ => panic!("KRONIC_TEST_DATABASE_URL must use TCP"),
                };
                Server {
                    host,
                    port: cfg.get_ports().first().copied().unwrap_or(5432),
                    admin_url: url,
                    local: None,
                    bindir: None,
                }
            }
            None => local(Cluster::start(), None),
        };
        prepare(server)
    })
}

/// A server of another major version, the run's own: 18 (server and client programs),
/// or 16 or 17 (the server, with 18's client programs, which dump and restore older
/// servers as they would on a real host).
pub fn server_of(major: u32) -> &'static Server {
    let slot = match major {
        16 => &SERVER_16,
        17 => &SERVER_17,
        18 => &SERVER_18,
        _ => panic!("no PostgreSQL {major} for the tests"),
    };
    slot.get_or_init(|| {
        let clients = if major == 18 {
            None
        } else {
            Some(binaries(18))
        };
        let server = binaries(major);
        // These builds are started without TLS (PyPI's has no OpenSSL).
        let cluster = Cluster::start_in(server.clone(), false);
        prepare(local(cluster, Some(clients.unwrap_or(server))))
    })
}

/// `KRONIC_TEST_PG<major>_BINDIR`, else what `scripts/pg-binaries` unpacks (once).
fn binaries(major: u32) -> PathBuf {
    if let Some(dir) =
        std::env::var_os(format!("KRONIC_TEST_PG{major}_BINDIR")).filter(|d| !d.is_empty())
    {
        return PathBuf::from(dir);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pg-binaries");
    let out = std::process::Command::new(script)
        .arg(major.to_string())
        .output()
        .expect("run scripts/pg-binaries");
    assert!(
        out.status.success(),
        "scripts/pg-binaries {major} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

fn local(c: Cluster, bindir: Option<PathBuf>) -> Server {
    Server {
        host: "127.0.0.1".into(),
        port: c.port,
        admin_url: c.superuser_url(),
        local: Some(c),
        bindir,
    }
}

/// The application role every test connects as.
fn prepare(server: Server) -> Server {
    let mut admin = postgres::Client::connect(&server.admin_url, postgres::NoTls)
        .expect("connect as superuser");
    admin
        .batch_execute(&format!(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_USER}') THEN \
             CREATE ROLE {APP_USER} LOGIN CREATEDB; END IF; END $$; \
             ALTER ROLE {APP_USER} PASSWORD {}",
            quote_literal(APP_PASSWORD)
        ))
        .unwrap();
    server
}

impl Server {
    /// A superuser connection to `dbname` on this server.
    pub fn connect(&self, dbname: &str) -> postgres::Client {
        let mut cfg: postgres::Config = self.admin_url.parse().unwrap();
        cfg.dbname(dbname);
        cfg.connect(postgres::NoTls).unwrap()
    }

    /// A PostgreSQL client program of this server's version, as the superuser.
    pub fn tool(&self, tool: &str, dbname: &str) -> std::process::Command {
        let cfg: postgres::Config = self.admin_url.parse().unwrap();
        let bin = self.bindir.clone().unwrap_or_else(cluster::bindir);
        let mut cmd = std::process::Command::new(bin.join(tool));
        cmd.env("PGHOST", &self.host)
            .env("PGPORT", self.port.to_string())
            .env("PGUSER", cfg.get_user().unwrap_or("postgres"))
            .env("PGDATABASE", dbname)
            .env(
                "PGPASSWORD",
                String::from_utf8_lossy(cfg.get_password().unwrap_or_default()).into_owned(),
            );
        cmd
    }
}

/// A cluster with TLS on: ours, or a private one when the tests use an outside server.
pub fn tls_cluster() -> &'static Cluster {
    match &server().local {
        Some(c) => c,
        None => TLS_CLUSTER.get_or_init(Cluster::start),
    }
}

/// Stops what the run started (statics are never dropped).
/// Appends `module::test seconds` to the file `KRONIC_TEST_TIMES` names, when set: where
/// the suite's time goes (CI's budget is 30 minutes on a clean machine).
pub fn record_time(module: &str, test: &str, took: std::time::Duration) {
    let Some(path) = std::env::var_os("KRONIC_TEST_TIMES") else {
        return;
    };
    let module = module.trim_start_matches("cli::");
    let line = format!("{module}::{test} {:.1}\n", took.as_secs_f64());
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open KRONIC_TEST_TIMES");
    std::io::Write::write_all(&mut f, line.as_bytes()).expect("write KRONIC_TEST_TIMES");
}

pub fn shutdown() {
    s3::shutdown();
    let servers = [
        SERVER.get(),
        SERVER_16.get(),
        SERVER_17.get(),
        SERVER_18.get(),
    ];
    for s in servers.into_iter().flatten() {
        if let Some(c) = &s.local {
            c.destroy();
        }
    }
    if let Some(c) = TLS_CLUSTER.get() {
        c.destroy();
    }
}

pub fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A fresh database for one test, owned by the application role; dropped when the
/// test passes, kept for a look when it fails.
pub struct TestDb {
    pub name: String,
    pub dir: tempfile::TempDir,
    pub server: &'static Server,
}

impl TestDb {
    pub fn new() -> TestDb {
        TestDb::on(server())
    }

    /// A fresh database on `server`.
    pub fn on(server: &'static Server) -> TestDb {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("kt_{}_{n}", std::process::id());
        let mut admin = postgres::Client::connect(&server.admin_url, postgres::NoTls).unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {name} OWNER {APP_USER}"))
            .unwrap();
        TestDb {
            name,
            dir: tempfile::Builder::new()
                .prefix("kronic-test")
                .tempdir()
                .unwrap(),
            server,
        }
    }

    /// A database on `server`, migrated and seeded by kronic.
    pub fn seeded_on(server: &'static Server) -> TestDb {
        let db = TestDb::on(server);
        expect(db.kronic().args(["migrate", "up"]), 0);
        expect(
            db.kronic()
                .env("KRONIC_ADMIN_EMAIL", "admin@example.com")
                .env("KRONIC_ADMIN_PASSWORD", "a long admin password")
                .arg("seed"),
            0,
        );
        db
    }

    /// A migrated and seeded database with 2000 users, each with the `user` role.
    pub fn populated() -> TestDb {
        let db = TestDb::seeded_on(server());
        db.client()
            .batch_execute(
                "INSERT INTO users (id, email, password_hash, last_login) \
                 SELECT gen_random_uuid(), 'user' || i || '@example.com', md5(i::text) || md5(random()::text), \
                        CASE WHEN i % 3 = 0 THEN now() END FROM generate_series(1, 2000) i; \
                 INSERT INTO user_roles SELECT u.id, r.id FROM users u, roles r WHERE r.name = 'user'",
            )
            .unwrap();
        db
    }

    /// A shell running `script` with this database's kronic environment.
    pub fn bash(&self, script: &str) -> std::process::Command {
        let kronic = self.kronic_std();
        let mut sh = std::process::Command::new("bash");
        sh.arg("-c").arg(script).current_dir(self.dir.path());
        for (k, v) in kronic.get_envs() {
            match v {
                Some(v) => sh.env(k, v),
                None => sh.env_remove(k),
            };
        }
        sh
    }

    /// `kronic` with a clean KRONIC_* environment pointing at this database.
    pub fn kronic(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::from_std(self.kronic_std());
        cmd.timeout(std::time::Duration::from_secs(120));
        cmd
    }

    /// The same, as a std Command (to spawn several at once or kill one).
    pub fn kronic_std(&self) -> std::process::Command {
        let s = self.server;
        let mut cmd = kronic_bare_std();
        cmd.env("KRONIC_DATABASE_HOST", &s.host)
            .env("KRONIC_DATABASE_PORT", s.port.to_string())
            .env("KRONIC_DATABASE_NAME", &self.name)
            .env("KRONIC_DATABASE_USER", APP_USER)
            .env("KRONIC_DATABASE_PASSWORD", APP_PASSWORD)
            .env("KRONIC_BACKUP_DIR", self.backup_dir());
        if let Some(bin) = &s.bindir {
            cmd.env("KRONIC_PG_BINDIR", bin);
        }
        cmd
    }

    pub fn backup_dir(&self) -> PathBuf {
        self.dir.path().join("backups")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A superuser connection to this database, for looking at what kronic did.
    pub fn client(&self) -> postgres::Client {
        self.server.connect(&self.name)
    }

    /// The application role's URL for this database (password percent-encoded).
    pub fn url(&self) -> String {
        let s = self.server;
        format!(
            "postgresql://{APP_USER}:{}@{}:{}/{}",
            percent_encode(APP_PASSWORD),
            s.host,
            s.port,
            self.name
        )
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "keeping database {} and {} for inspection",
                self.name,
                self.dir.path().display()
            );
            let _ = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap()).keep();
            return;
        }
        if let Ok(mut admin) = postgres::Client::connect(&self.server.admin_url, postgres::NoTls) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

pub fn connect_db(name: &str) -> postgres::Client {
    server().connect(name)
}

/// `kronic` with every KRONIC_* variable of the test environment removed.
pub fn kronic_bare() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::from_std(kronic_bare_std());
    cmd.timeout(std::time::Duration::from_secs(120));
    cmd
}

pub fn kronic_bare_std() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_kronic"));
    for (k, _) in std::env::vars() {
        if k.starts_with("KRONIC_") || k.starts_with("PG") {
            cmd.env_remove(k);
        }
    }
    // Never the machine's /etc/kronic/kronic.env (the package test writes one).
    cmd.env("KRONIC_CONFIG", no_config());
    cmd.env("NO_COLOR", "1");
    cmd
}

/// An empty configuration file, for commands that must read none but their own.
pub fn no_config() -> &'static Path {
    static EMPTY: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &EMPTY
        .get_or_init(|| {
            let d = tempfile::Builder::new()
                .prefix("kronic-no-config")
                .tempdir()
                .unwrap();
            let file = d.path().join("kronic.env");
            std::fs::write(&file, "").unwrap();
            (d, file)
        })
        .1
}

pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// stdout and stderr of a finished command, as text.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

pub fn run(cmd: &mut assert_cmd::Command) -> Output {
    let out = cmd.output().unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs and asserts the exit code, showing the output when it differs.
#[track_caller]
pub fn expect(cmd: &mut assert_cmd::Command, code: i32) -> Output {
    let out = run(cmd);
    assert_eq!(
        out.code, code,
        "exit {} (wanted {code})\nstdout:\n{}\nstderr:\n{}",
        out.code, out.stdout, out.stderr
    );
    out
}

/// Asserts that no output shows the application password.
#[track_caller]
pub fn assert_no_secret(out: &Output) {
    for secret in [APP_PASSWORD, &percent_encode(APP_PASSWORD)] {
        assert!(
            !out.all().contains(secret),
            "password leaked:\n{}",
            out.all()
        );
    }
}

/// A checksum of every row of every user table: equal before and after means unchanged.
pub fn content_checksum(client: &mut postgres::Client) -> String {
    let tables: Vec<String> = client
        .query(
            "SELECT quote_ident(table_name::text) FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut parts = Vec::new();
    for t in tables {
        let row = client
            .query_one(&format!("SELECT count(*)::text || ':' || coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') FROM {t} x"), &[])
            .unwrap();
        parts.push(format!("{t}={}", row.get::<_, String>(0)));
    }
    parts.join(";")
}

pub fn write_file(path: &Path, contents: &str) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).unwrap();
    }
    std::fs::write(path, contents).unwrap();
}

/// A port where something accepts TCP connections and never says a word.
pub fn silent_listener() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    port
}

/// A PostgreSQL client program (pg_dump, psql) connected as the superuser to `dbname`
/// (PGPASSWORD is fine for the tests' own throwaway server).
pub fn pg_tool(tool: &str, dbname: &str) -> std::process::Command {
    server().tool(tool, dbname)
}

/// Asserts that stderr mentions `needle`, showing it when it does not.
#[track_caller]
pub fn assert_stderr(out: &Output, needle: &str) {
    assert!(
        out.stderr.contains(needle),
        "{needle:?} not in:\n{}",
        out.stderr
    );
}

/// Runs a std command to completion and asserts it succeeded, showing its stderr.
#[track_caller]
pub fn run_ok(cmd: &mut std::process::Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `kronic` pointed at 127.0.0.1:`port` with nothing else configured.
pub fn kronic_at(port: u16) -> assert_cmd::Command {
    let mut cmd = kronic_bare();
    cmd.env("KRONIC_DATABASE_HOST", "127.0.0.1")
        .env("KRONIC_DATABASE_PORT", port.to_string());
    cmd
}

impl TestDb {
    /// `kronic migrate --migrations SET up`.
    pub fn migrate_up(&self, set: &Path) -> assert_cmd::Command {
        let mut cmd = self.kronic();
        cmd.args(["migrate", "--migrations"]).arg(set).arg("up");
        cmd
    }

    /// The admin user's password hash, as seeded.
    pub fn admin_hash(&self) -> String {
        self.client()
            .query_one(
                "SELECT password_hash FROM users WHERE email = 'admin@example.com'",
                &[],
            )
            .unwrap()
            .get(0)
    }
}

/// Sends `signal` (`-TERM`, `-KILL`, …) to `child` and returns its output.
pub fn signal_and_wait(child: std::process::Child, signal: &str) -> std::process::Output {
    std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Asserts a finished child exited 130, as kronic does when stopped by a signal.
#[track_caller]
pub fn assert_interrupted(out: &std::process::Output) {
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Restores `file` into `db_name` the way an operator would by hand: `decode` (a shell
/// command reading "$1") piped into psql, stopping at the first error.
pub fn shell_restore(db_name: &str, decode: &str, file: &Path) {
    let psql = pg_tool("psql", db_name);
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c")
        .arg(format!(
            "set -e; {decode} | \"$0\" -X -q -v ON_ERROR_STOP=1 >/dev/null"
        ))
        .arg(psql.get_program())
        .arg(file)
        .envs(psql.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))));
    run_ok(&mut sh);
}

/// The hex SHA-256 of `bytes`, as manifests record it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    kronic::backup::manifest::hex(&sha2::Sha256::digest(bytes))
}

/// The backup a `kronic backup` printed (`Backup completed: NAME`).
pub fn completed(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("Backup completed: "))
        .unwrap_or_else(|| panic!("no backup was completed:\n{stdout}"))
        .to_string()
}

impl TestDb {
    /// `kronic backup ARGS`, which must succeed; the file it wrote.
    pub fn backed_up(&self, args: &[&str]) -> PathBuf {
        let out = expect(self.kronic().arg("backup").args(args), 0);
        self.backup_dir().join(completed(&out.stdout))
    }

    /// A backup of this database made by kronic, and its SQL.
    pub fn backup_sql(&self) -> (PathBuf, String) {
        let gz = self.backed_up(&[]);
        let mut sql = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::MultiGzDecoder::new(std::fs::File::open(&gz).unwrap()),
            &mut sql,
        )
        .unwrap();
        (gz, sql)
    }
}

/// What is in a backup folder but its lock and the manifests, sorted: the backups, and
/// anything a failed run would have left behind.
pub fn backups_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.retain(|n| n != ".kronic_backup.lock" && !n.ends_with(".manifest.json"));
    v.sort();
    v
}

/// Does the database `name` exist on the run's server?
pub fn database_exists(name: &str) -> bool {
    postgres::Client::connect(&server().admin_url, postgres::NoTls)
        .unwrap()
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .unwrap()
        .is_some()
}

/// kronic's built-in migrations copied into `dir` (made if missing), for tests that add
/// their own next to them.
pub fn copy_builtin_migrations(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let builtin = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for e in std::fs::read_dir(builtin).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
    }
}
