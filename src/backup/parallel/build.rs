//! Loading a parallel backup into an empty database on N connections: the schema
//! (pre-data) first; then the table members side by side, each table's leading keys
//! and indexes as soon as its rows are in and the foreign keys after them once both
//! their tables are keyed (a board the loading connections share); then the other
//! data and the rest of the post-data (`post`). Every SQL member goes through the
//! restore's reader and allow-list; COPY data goes into a COPY kronic writes itself
//! from the manifest's names, so it can only ever be rows. Each member is held to its
//! size, digest and rows. Nothing here is atomic: the caller builds into a scratch
//! database and swaps it in only once everything is loaded and checked.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::Read;
use std::sync::Mutex;

use anyhow::{Context, Result};
use bytes::Bytes;
use futures_util::SinkExt;
use tokio_postgres::Client;

use super::post::{KeyJob, Post, clone_steps, key_jobs, post_data, run_steps};
use super::{Kind, Member};
use crate::backup::dump::Step;
use crate::backup::manifest::Manifest;
use crate::backup::source::members::Members;
use crate::config::DbConfig;
use crate::pg::db;
use crate::report::exit::{Code, classify, fail};
use crate::report::progress::Phase;

/// What was loaded.
pub struct Loaded {
    pub rows: u64,
    pub tables: usize,
}

/// Loads the backup whose members `members` reads into `db` (empty, just created) on
/// `jobs` connections.
pub async fn build(
    db: &DbConfig,
    members: &Members,
    m: &Manifest,
    jobs: usize,
    phase: &Phase,
) -> Result<Loaded> {
    members.check(m).await?;
    let main = db::connect(db).await?;
    let section = |kind| m.members.iter().find(|x| x.kind == kind).expect("checked");
    // A statement's error names its member: its line numbers are that file's.
    let within = |kind| format!("member {}", section(kind).file);

    phase.set("schema");
    let pre = read_sql(members, section(Kind::PreData)).await?;
    apply_in_transaction(&main, pre, m)
        .await
        .with_context(|| within(Kind::PreData))?;

    // The post-data is read now: its leading keys and indexes are built on the loading
    // connections as soon as their table's rows are all in, while other tables load,
    // and the foreign keys that follow them as soon as both their tables are keyed.
    let mut post = Post::plan(read_sql(members, section(Kind::PostData)).await?);
    let early = post.leading_keys();
    let data: VecDeque<Member> = m
        .members
        .iter()
        .filter(|x| x.kind == Kind::Data)
        .cloned()
        .collect();
    // Only between tables whose rows are all table members: a table filled by the other
    // data (an extension's configuration table) gets its rows after this phase.
    let tables: HashSet<String> = data.iter().map(table_of).collect();
    // A loaded table's index builds run side by side (`key_jobs`).
    let early = early
        .into_iter()
        .flat_map(|(t, steps)| {
            let whole = !tables.contains(&t);
            key_jobs(t, steps, whole)
        })
        .collect();
    let (foreign, later): (Vec<_>, Vec<_>) = post
        .leading_foreign_keys()
        .into_iter()
        .partition(|(t, r, _)| tables.contains(t) && tables.contains(r));
    post.plan.splice(
        0..0,
        later.into_iter().map(|(t, _, step)| (Some(true), t, step)),
    );

    phase.set("table data (and each table's keys once it is loaded)");
    let board = Mutex::new(Board::new(data, early, foreign));
    let wake = tokio::sync::Notify::new();
    let post_member = within(Kind::PostData);
    let mut workers = Vec::new();
    for _ in 0..jobs {
        workers.push(load_worker(
            db,
            members,
            &board,
            &wake,
            &post.settings,
            &post_member,
            m,
        ));
    }
    let rows: u64 = futures_util::future::try_join_all(workers)
        .await?
        .into_iter()
        .sum();

    phase.set("sequences and other data");
    let other = read_sql(members, section(Kind::OtherData)).await?;
    apply_in_transaction(&main, other, m)
        .await
        .with_context(|| within(Kind::OtherData))?;

    phase.set("indexes and constraints");
    post_data(db, &main, post, jobs, m)
        .await
        .with_context(|| within(Kind::PostData))?;
    Ok(Loaded {
        rows,
        tables: m.tables.len(),
    })
}

/// A SQL member's steps, read through the reader and allow-list, held to its digest.
async fn read_sql(members: &Members, member: &Member) -> Result<Vec<Step>> {
    let opened = members.open(member).await?;
    tokio::task::spawn_blocking(move || -> Result<Vec<Step>> {
        let mut steps = opened.statements()?;
        let mut out = Vec::new();
        while let Some(step) = steps.next_step()? {
            out.push(step);
        }
        Ok(out)
    })
    .await
    .context("the reading task failed")?
}

/// Runs `steps` in one transaction on `client`.
async fn apply_in_transaction(client: &Client, steps: Vec<Step>, m: &Manifest) -> Result<()> {
    db::batch(client, "BEGIN").await?;
    run_steps(client, steps, m).await?;
    db::batch(client, "COMMIT").await?;
    db::batch(client, "RESET ALL").await?;
    Ok(())
}

/// What the loading connections share: the data members left to load, how many of each
/// table's are not loaded yet, the key jobs waiting for their table, and the foreign
/// keys waiting for both of theirs (loaded, keys built, and no other foreign key on
/// either running: adding one locks both tables against each other).
struct Board {
    data: VecDeque<Member>,
    /// Data members queued or loading, by table (`schema.table`, unquoted).
    unloaded: HashMap<String, usize>,
    keys: Vec<KeyJob>,
    /// Key jobs queued or running, by table.
    keying: HashMap<String, usize>,
    /// Key jobs queued or running that a table's last job waits for, by table.
    building: HashMap<String, usize>,
    /// Foreign keys: the table, the one it references, the statement.
    foreign: Vec<(String, String, Step)>,
    /// Tables a running foreign key holds.
    held: HashSet<String>,
    /// Tables a connection is loading a member of now.
    loading: HashMap<String, usize>,
}

/// What a loading connection does next.
enum Job {
    Load(Member),
    Keys(KeyJob),
    Foreign(String, String, Step),
    /// Work is left whose tables are still loading or keyed elsewhere.
    Wait,
    Done,
}

impl Board {
    fn new(
        data: VecDeque<Member>,
        keys: Vec<KeyJob>,
        foreign: Vec<(String, String, Step)>,
    ) -> Board {
        let mut unloaded = HashMap::new();
        for member in &data {
            *unloaded.entry(table_of(member)).or_default() += 1;
        }
        let (mut keying, mut building) = (HashMap::new(), HashMap::new());
        for job in &keys {
            *keying.entry(job.table.clone()).or_default() += 1;
            if !job.last {
                *building.entry(job.table.clone()).or_default() += 1;
            }
        }
        Board {
            data,
            unloaded,
            keys,
            keying,
            building,
            foreign,
            held: HashSet::new(),
            loading: HashMap::new(),
        }
    }

    /// Every row of `table` is in. A table with no member of its own (a partitioned
    /// parent, or a name this reading does not match) waits for every member.
    fn loaded_table(&self, table: &str) -> bool {
        match self.unloaded.get(table) {
            Some(n) => *n == 0,
            None => self.unloaded.values().all(|n| *n == 0),
        }
    }

    /// `table`'s keys are built (and its rows in). A table without key jobs waits for
    /// every key job when it has no member either.
    fn keyed(&self, table: &str) -> bool {
        self.loaded_table(table)
            && match self.keying.get(table) {
                Some(n) => *n == 0,
                None if self.unloaded.contains_key(table) => true,
                None => self.keying.values().all(|n| *n == 0),
            }
    }

    /// Rows first (they keep every connection busy), of a table nobody else is filling;
    /// then a key job whose table is loaded (a last one once the table's builds are
    /// done); then any rows; then a foreign key whose two tables are keyed and free.
    fn next(&mut self) -> Job {
        // Two connections filling one table contend for its extension lock: another
        // table's rows first, then ready keys, and only then a second hand on a table
        // being filled (a huge table still gets every connection in the end).
        let elsewhere = self
            .data
            .iter()
            .position(|m| self.loading.get(&table_of(m)).is_none_or(|n| *n == 0));
        if let Some(member) = elsewhere.and_then(|i| self.data.remove(i)) {
            return self.load(member);
        }
        let ready = self.keys.iter().position(|job| {
            self.loaded_table(&job.table)
                && (!job.last || self.building.get(&job.table).is_none_or(|n| *n == 0))
        });
        if let Some(i) = ready {
            return Job::Keys(self.keys.remove(i));
        }
        if let Some(member) = self.data.pop_front() {
            return self.load(member);
        }
        let ready = self.foreign.iter().position(|(t, r, _)| {
            self.keyed(t) && self.keyed(r) && !self.held.contains(t) && !self.held.contains(r)
        });
        if let Some(i) = ready {
            let (t, r, step) = self.foreign.remove(i);
            self.held.insert(t.clone());
            self.held.insert(r.clone());
            return Job::Foreign(t, r, step);
        }
        match self.keys.is_empty() && self.foreign.is_empty() {
            true => Job::Done,
            false => Job::Wait,
        }
    }

    fn load(&mut self, member: Member) -> Job {
        *self.loading.entry(table_of(&member)).or_default() += 1;
        Job::Load(member)
    }

    fn loaded(&mut self, member: &Member) {
        let table = table_of(member);
        if let Some(n) = self.unloaded.get_mut(&table) {
            *n -= 1;
        }
        if let Some(n) = self.loading.get_mut(&table) {
            *n -= 1;
        }
    }

    fn keys_built(&mut self, job: &KeyJob) {
        if let Some(n) = self.keying.get_mut(&job.table) {
            *n -= 1;
        }
        if let (false, Some(n)) = (job.last, self.building.get_mut(&job.table)) {
            *n -= 1;
        }
    }

    fn foreign_added(&mut self, table: &str, referenced: &str) {
        self.held.remove(table);
        self.held.remove(referenced);
    }
}

/// A data member's table as `target_table` names a post-data statement's.
fn table_of(member: &Member) -> String {
    format!(
        "{}.{}",
        member.schema.as_deref().unwrap_or_default(),
        member.table.as_deref().unwrap_or_default()
    )
}

/// One loading connection: takes data members until none are left, then the key groups
/// of loaded tables and the foreign keys of keyed ones (after the post-data's session
/// settings). The rows it loaded.
async fn load_worker(
    db: &DbConfig,
    members: &Members,
    board: &Mutex<Board>,
    wake: &tokio::sync::Notify,
    settings: &[Step],
    post_member: &str,
    m: &Manifest,
) -> Result<u64> {
    let client = db::connect(db).await?;
    // The scratch database is made durable by the swap's own commit (its WAL flush
    // covers every earlier record).
    db::batch(&client, "SET synchronous_commit = off").await?;
    let mut rows = 0;
    let mut set = false;
    loop {
        // Made before looking, so that a member loaded meanwhile still wakes it.
        let woken = wake.notified();
        let job = board.lock().expect("the loading board").next();
        match job {
            Job::Load(member) => {
                rows += load_member(&client, members, &member).await?;
                board.lock().expect("the loading board").loaded(&member);
            }
            Job::Keys(mut job) => {
                let steps = std::mem::take(&mut job.steps);
                run_post(&client, &mut set, settings, steps, m)
                    .await
                    .context(post_member.to_string())?;
                board.lock().expect("the loading board").keys_built(&job);
            }
            Job::Foreign(table, referenced, step) => {
                run_post(&client, &mut set, settings, vec![step], m)
                    .await
                    .context(post_member.to_string())?;
                let mut board = board.lock().expect("the loading board");
                board.foreign_added(&table, &referenced);
            }
            Job::Wait => {
                woken.await;
                continue;
            }
            Job::Done => return Ok(rows),
        }
        wake.notify_waiters();
    }
}

/// Post-data `steps` on a loading connection, after the post-data's session settings
/// (once per connection: `set`).
async fn run_post(
    client: &Client,
    set: &mut bool,
    settings: &[Step],
    steps: Vec<Step>,
    m: &Manifest,
) -> Result<()> {
    if !*set {
        run_steps(client, clone_steps(settings), m).await?;
        *set = true;
    }
    run_steps(client, steps, m).await
}

/// COPY of one data member, into the table its manifest names, with the columns it
/// names: kronic writes this statement, the member gives only rows.
pub(crate) async fn load_member(
    client: &Client,
    members: &Members,
    member: &Member,
) -> Result<u64> {
    let table = member.qualified().expect("checked");
    let columns = match member.columns.is_empty() {
        true => String::new(),
        false => format!(
            " ({})",
            member
                .columns
                .iter()
                .map(|c| db::quote_ident(c))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let sql = format!("COPY {table}{columns} FROM STDIN");
    let opened = members.open(member).await?;
    let path = members.label(member);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(8);
    let reader = tokio::task::spawn_blocking(move || -> Result<()> {
        let (mut input, held) = opened.data()?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = input
                .read(&mut buf)
                .map_err(|e| crate::fsutil::read_error(&path, e))?;
            if n == 0 {
                break;
            }
            if tx.blocking_send(Bytes::copy_from_slice(&buf[..n])).is_err() {
                return Ok(());
            }
        }
        // Only a member read whole and matching its digest lets the COPY finish.
        held.check()
    });
    db::log_sql(&sql);
    let sink = client
        .copy_in::<_, Bytes>(sql.as_str())
        .await
        .map_err(|e| load_error(member, e))?;
    let mut sink = std::pin::pin!(sink);
    while let Some(chunk) = rx.recv().await {
        sink.send(chunk).await.map_err(|e| load_error(member, e))?;
    }
    reader.await.context("the reading task failed")??;
    let rows = sink
        .as_mut()
        .finish()
        .await
        .map_err(|e| load_error(member, e))?;
    if rows != member.rows {
        return Err(fail(
            Code::DataErr,
            format!(
                "{}: {rows} rows loaded into {table}, its manifest says {}",
                members.label(member).display(),
                member.rows
            ),
        ));
    }
    Ok(rows)
}

fn load_error(member: &Member, e: tokio_postgres::Error) -> anyhow::Error {
    let e = anyhow::Error::new(e);
    fail(
        classify(&e),
        format!("loading member {}: {e:#}", member.file),
    )
}

/// Checks a built database against the manifest, as a drill does: the schema version,
/// every index valid, every index and constraint the dump made present.
pub async fn check(client: &Client, m: &Manifest, label: &str) -> Result<()> {
    let bad = |why: String| {
        fail(
            Code::DataErr,
            format!("{label}: the restored database {why}"),
        )
    };
    let version = crate::schema::migrations::schema_version(client).await?;
    if version != m.schema_version {
        return Err(bad(format!(
            "is at schema version {version:?}, the manifest says {:?}",
            m.schema_version
        )));
    }
    let invalid: Vec<String> = db::texts(
        client,
        "SELECT c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
         JOIN pg_class t ON t.oid = i.indrelid WHERE NOT i.indisvalid AND t.relkind <> 'p'",
    )
    .await?;
    if !invalid.is_empty() {
        return Err(bad(format!("has invalid indexes: {}", invalid.join(", "))));
    }
    let names: std::collections::HashSet<String> = db::texts(
        client,
        "SELECT quote_ident(relname) FROM pg_class WHERE relkind IN ('i', 'I') \
         UNION ALL SELECT quote_ident(conname) FROM pg_constraint",
    )
    .await?
    .into_iter()
    .collect();
    let missing: Vec<&String> = m
        .indexes
        .iter()
        .chain(&m.constraints)
        .filter(|n| !names.contains(*n) && !names.contains(&db::quote_ident(n)))
        .collect();
    if !missing.is_empty() {
        return Err(bad(format!(
            "lacks indexes or constraints the backup made: {}",
            missing
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(())
}

/// Each data member's table's rows as the built database holds them, under the
/// manifest's names for them (for a drill's row check).
pub async fn count_rows(client: &Client, m: &Manifest) -> Result<Vec<(String, u64)>> {
    // The manifest's `tables` keys are pg_dump's names; the members name the same
    // tables part by part, which kronic quotes itself.
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for member in m.members.iter().filter(|x| x.kind == Kind::Data) {
        let Some(table) = member.qualified() else {
            continue;
        };
        if !seen.insert(table.clone()) {
            continue;
        }
        let n: i64 =
            db::query(client, &format!("SELECT count(*) FROM ONLY {table}"), &[]).await?[0].get(0);
        let key: String = db::query(
            client,
            "SELECT format('%I.%I', $1::text, $2::text)",
            &[&member.schema, &member.table],
        )
        .await?[0]
            .get(0);
        out.push((key, n as u64));
    }
    Ok(out)
}

/// A drill's restore of a parallel backup into `scratch`: built on the cores, then each
/// table's rows as the scratch database holds them.
pub async fn for_drill(
    scratch: &DbConfig,
    client: &Client,
    src: &crate::backup::source::Source,
) -> Result<crate::backup::restore::Restored> {
    let m = src.parallel_manifest()?;
    let jobs = crate::backup::settings::default_restore_jobs();
    build(scratch, &src.members(), m, jobs, &Phase::quiet()).await?;
    Ok(crate::backup::restore::Restored {
        sql_bytes: m.sql_bytes,
        tables: count_rows(client, m).await?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::parallel::post::tests::{fk, run};

    fn data(table: &str) -> Member {
        Member {
            file: format!("{table}.copy"),
            kind: Kind::Data,
            schema: Some("public".into()),
            table: Some(table.into()),
            columns: vec![],
            pages: None,
            rows: 0,
            bytes: 0,
            sha256: String::new(),
        }
    }

    fn index(table: &str, last: bool) -> KeyJob {
        KeyJob {
            table: table.into(),
            steps: vec![run("CREATE INDEX i ON t (x)")],
            last,
        }
    }

    /// A table's index builds go to every connection at once; its last job (the
    /// attaches, whatever locks the table whole) only once they are all built, and the
    /// table counts as keyed only after it.
    #[test]
    fn the_board_gives_a_tables_last_key_job_after_its_builds() {
        let keys = vec![
            index("public.a", false),
            index("public.a", false),
            index("public.a", true),
        ];
        let foreign = vec![(
            "public.b".to_string(),
            "public.a".to_string(),
            fk("public.b", "public.a"),
        )];
        let members = vec![data("a"), data("b")];
        let mut board = Board::new(VecDeque::from(members.clone()), keys, foreign);
        for m in &members {
            assert!(matches!(board.next(), Job::Load(_)));
            board.loaded(m);
        }
        let (Job::Keys(one), Job::Keys(two)) = (board.next(), board.next()) else {
            panic!("both builds at once")
        };
        assert!(!one.last && !two.last);
        assert!(matches!(board.next(), Job::Wait), "a build is running");
        board.keys_built(&one);
        assert!(matches!(board.next(), Job::Wait), "a build is running");
        board.keys_built(&two);
        let Job::Keys(last) = board.next() else {
            panic!("the last job once both are built")
        };
        assert!(last.last);
        assert!(matches!(board.next(), Job::Wait), "a is not keyed yet");
        board.keys_built(&last);
        assert!(matches!(board.next(), Job::Foreign(..)));
    }

    /// Rows first; then a table's keys once its members are loaded; a table without
    /// members of its own waits for every member; then done.
    #[test]
    fn the_board_gives_keys_only_for_loaded_tables() {
        let keys = ["public.a", "public.b", "public.parent"]
            .iter()
            .map(|t| index(t, false))
            .collect();
        let mut board = Board::new(
            VecDeque::from(vec![data("a"), data("b"), data("b")]),
            keys,
            Vec::new(),
        );
        let mut loading = Vec::new();
        for _ in 0..3 {
            match board.next() {
                Job::Load(m) => loading.push(m),
                _ => panic!("rows come first"),
            }
        }
        assert!(matches!(board.next(), Job::Wait));
        board.loaded(&loading[1]);
        assert!(matches!(board.next(), Job::Wait), "b has a member loading");
        board.loaded(&loading[0]);
        assert!(matches!(board.next(), Job::Keys(..)), "a is loaded");
        assert!(matches!(board.next(), Job::Wait));
        board.loaded(&loading[2]);
        assert!(matches!(board.next(), Job::Keys(..)));
        assert!(
            matches!(board.next(), Job::Keys(..)),
            "every member is loaded"
        );
        assert!(matches!(board.next(), Job::Done));
    }

    /// A foreign key waits until both its tables are loaded and keyed, and runs alone
    /// on them.
    #[test]
    fn the_board_gives_a_foreign_key_once_both_tables_are_keyed() {
        let keys = vec![index("public.a", false)];
        let foreign = vec![
            (
                "public.b".to_string(),
                "public.a".to_string(),
                fk("public.b", "public.a"),
            ),
            (
                "public.c".to_string(),
                "public.a".to_string(),
                fk("public.c", "public.a"),
            ),
        ];
        let members = vec![data("a"), data("b"), data("c")];
        let mut board = Board::new(VecDeque::from(members.clone()), keys, foreign);
        for _ in 0..3 {
            assert!(matches!(board.next(), Job::Load(_)));
        }
        for m in &members[1..] {
            board.loaded(m);
        }
        assert!(matches!(board.next(), Job::Wait), "a is still loading");
        board.loaded(&members[0]);
        let Job::Keys(job) = board.next() else {
            panic!("a's keys come next")
        };
        assert!(
            matches!(board.next(), Job::Wait),
            "a's keys are being built"
        );
        board.keys_built(&job);
        let Job::Foreign(t, r, _) = board.next() else {
            panic!("a foreign key comes next")
        };
        assert!(matches!(board.next(), Job::Wait), "a is held by the first");
        board.foreign_added(&t, &r);
        assert!(matches!(board.next(), Job::Foreign(..)));
        assert!(matches!(board.next(), Job::Done));
    }

    /// A second connection takes another table's rows before a second range of the
    /// table the first is filling.
    #[test]
    fn the_board_spreads_connections_over_tables() {
        let members = VecDeque::from(vec![data("big"), data("big"), data("small")]);
        let mut board = Board::new(members, Vec::new(), Vec::new());
        let mut tables = Vec::new();
        for _ in 0..3 {
            let Job::Load(m) = board.next() else {
                panic!("rows")
            };
            tables.push(m.table.unwrap());
        }
        assert_eq!(tables, vec!["big", "small", "big"]);
    }
}
