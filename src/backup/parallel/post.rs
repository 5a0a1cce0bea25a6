//! The post-data of a parallel restore: what each statement is (a table's key or
//! index, a foreign key, a comment, anything else), which can run before the rest (the
//! leading keys, and the foreign keys right after them), and the rest in dump order
//! with the independent parts side by side on the restore's connections.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use anyhow::Result;
use tokio_postgres::Client;

use crate::backup::dump::{self, Step};
use crate::backup::manifest::Manifest;
use crate::config::DbConfig;
use crate::pg::db;
use crate::report::progress::Phase;

/// Runs `steps` on `client` through the restore's applier.
pub(super) async fn run_steps(client: &Client, steps: Vec<Step>, m: &Manifest) -> Result<()> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(steps.len().max(1));
    for s in steps {
        tx.send(s).await.expect("the channel has room");
    }
    drop(tx);
    dump::apply::apply(client, &mut rx, &Phase::quiet(), &m.extensions)
        .await
        .map(|_| ())
}

pub(super) fn clone_steps(steps: &[Step]) -> Vec<Step> {
    steps
        .iter()
        .filter_map(|s| match s {
            Step::Setting { line, sql, name } => Some(Step::Setting {
                line: *line,
                sql: sql.clone(),
                name: name.clone(),
            }),
            Step::Run { line, sql, phase } => Some(Step::Run {
                line: *line,
                sql: sql.clone(),
                phase: phase.clone(),
            }),
            _ => None,
        })
        .collect()
}

/// What a post-data statement is, for running it beside others.
enum Part {
    /// A key or an index of one table: with other tables' at once.
    Key(String),
    /// A foreign key of one table: with other foreign keys at once, after the keys.
    Foreign(String),
    /// A comment on what the current batch makes: after it.
    Comment,
    /// Anything else, alone, in dump order.
    Other,
}

fn part(sql: &str) -> Part {
    use crate::sql::words::{statement_kind, target_table};
    let upper = sql.to_ascii_uppercase();
    let kind = statement_kind(sql);
    let table = target_table(sql);
    match (kind.as_str(), table) {
        ("CREATE", Some(t)) if upper.contains(" INDEX ") => Part::Key(t),
        ("ALTER", Some(t))
            if upper.contains(" ADD CONSTRAINT ") && upper.contains(" FOREIGN KEY ") =>
        {
            Part::Foreign(t)
        }
        ("ALTER", Some(t))
            if upper.contains(" ADD CONSTRAINT ")
                && [" PRIMARY KEY", " UNIQUE", " EXCLUDE "]
                    .iter()
                    .any(|k| upper.contains(k)) =>
        {
            Part::Key(t)
        }
        ("COMMENT", _) => Part::Comment,
        _ => Part::Other,
    }
}

/// A share of one table's leading keys and indexes, for the loading connections.
pub(super) struct KeyJob {
    pub(super) table: String,
    pub(super) steps: Vec<Step>,
    /// Runs once the table's other jobs (its index builds) are done: it needs the table
    /// to itself.
    pub(super) last: bool,
}

/// One table's leading keys and indexes as jobs: each index build its own (builds
/// share the table's lock and run side by side), a simple primary or unique key built
/// as a unique index among them and attached in the last job, with every statement
/// that locks the table whole, in dump order. `whole` keeps them one job (a table
/// whose rows are not its own members': a partitioned parent).
pub(super) fn key_jobs(table: String, steps: Vec<Step>, whole: bool) -> Vec<KeyJob> {
    if whole {
        return vec![KeyJob {
            table,
            steps,
            last: false,
        }];
    }
    let mut jobs = Vec::new();
    let mut last = Vec::new();
    for step in steps {
        let Step::Run { line, sql, phase } = &step else {
            last.push(step);
            continue;
        };
        let toks = crate::sql::words::tokens(sql);
        let w = |i: usize| crate::sql::words::word(toks.get(i));
        let build = |sql: String, phase: Option<String>| KeyJob {
            table: table.clone(),
            steps: vec![Step::Run {
                line: *line,
                sql,
                phase,
            }],
            last: false,
        };
        if w(0) == "CREATE" && (w(1) == "INDEX" || (w(1) == "UNIQUE" && w(2) == "INDEX")) {
            jobs.push(build(sql.clone(), phase.clone()));
        } else if let Some((index, attach)) = split_key(sql) {
            jobs.push(build(index, phase.clone()));
            last.push(Step::Run {
                line: *line,
                sql: attach,
                phase: None,
            });
        } else {
            last.push(step);
        }
    }
    if !last.is_empty() {
        jobs.push(KeyJob {
            table,
            steps: last,
            last: true,
        });
    }
    jobs
}

/// A primary or unique key in its simplest form (`ALTER TABLE ONLY t ADD CONSTRAINT c
/// PRIMARY KEY (a, b)`) as the two statements that make the same constraint: the
/// unique index build, which other index builds of the table run beside (pg_restore
/// builds every key with the table locked whole), and the attach, a catalog change.
/// None for any other form (INCLUDE, WITH, DEFERRABLE, NULLS NOT DISTINCT, a
/// tablespace): those run as written. kronic writes both from the names of a statement
/// the allow-list passed, every name quoted.
pub(super) fn split_key(sql: &str) -> Option<(String, String)> {
    use crate::sql::words::{Tok, tokens};
    let mut toks = tokens(sql);
    if toks.last() == Some(&Tok::Punct(';')) {
        toks.pop();
    }
    let mut at = 0;
    let keyword = |at: &mut usize, w: &str| {
        let ok = toks.get(*at) == Some(&Tok::Word(w.into()));
        *at += usize::from(ok);
        ok
    };
    if !["ALTER", "TABLE", "ONLY"]
        .iter()
        .all(|w| keyword(&mut at, w))
    {
        return None;
    }
    let ident = |t: Option<&Tok>| match t {
        Some(Tok::Word(w)) => Some(db::quote_ident(&w.to_ascii_lowercase())),
        Some(Tok::Quoted(q)) => Some(db::quote_ident(q)),
        _ => None,
    };
    let mut table = vec![ident(toks.get(at))?];
    at += 1;
    while toks.get(at) == Some(&Tok::Punct('.')) {
        table.push(ident(toks.get(at + 1))?);
        at += 2;
    }
    let table = table.join(".");
    if !["ADD", "CONSTRAINT"].iter().all(|w| keyword(&mut at, w)) {
        return None;
    }
    let name = ident(toks.get(at))?;
    at += 1;
    let kind = match (
        crate::sql::words::word(toks.get(at)),
        crate::sql::words::word(toks.get(at + 1)),
    ) {
        ("PRIMARY", "KEY") => "PRIMARY KEY",
        ("UNIQUE", _) => "UNIQUE",
        _ => return None,
    };
    at += if kind == "UNIQUE" { 1 } else { 2 };
    if toks.get(at) != Some(&Tok::Punct('(')) {
        return None;
    }
    let mut columns = Vec::new();
    loop {
        columns.push(ident(toks.get(at + 1))?);
        at += 2;
        match toks.get(at) {
            Some(Tok::Punct(',')) => {}
            Some(Tok::Punct(')')) if at + 1 == toks.len() => break,
            _ => return None,
        }
    }
    Some((
        format!(
            "CREATE UNIQUE INDEX {name} ON ONLY {table} USING btree ({});",
            columns.join(", ")
        ),
        format!("ALTER TABLE ONLY {table} ADD CONSTRAINT {name} {kind} USING INDEX {name};"),
    ))
}

/// The post-data as it runs: the session settings (on every connection), then each
/// statement in dump order with what it is: a key (`Some(false)`) or foreign key
/// (`Some(true)`) of a table, a comment, or anything else.
pub(super) struct Post {
    pub(super) settings: Vec<Step>,
    pub(super) plan: Vec<(Option<bool>, String, Step)>,
}

impl Post {
    pub(super) fn plan(steps: Vec<Step>) -> Post {
        let mut settings = Vec::new();
        let mut plan: Vec<(Option<bool>, String, Step)> = Vec::new();
        for step in steps {
            match &step {
                Step::Setting { .. } => settings.push(step),
                Step::Run { sql, .. } => match part(sql) {
                    Part::Key(t) => plan.push((Some(false), t, step)),
                    Part::Foreign(t) => plan.push((Some(true), t, step)),
                    Part::Comment => plan.push((None, "comment".into(), step)),
                    Part::Other
                        if sql
                            .to_ascii_uppercase()
                            .starts_with("SELECT PG_CATALOG.SET_CONFIG") =>
                    {
                        settings.push(step)
                    }
                    Part::Other => plan.push((None, String::new(), step)),
                },
                _ => plan.push((None, String::new(), step)),
            }
        }
        Post { settings, plan }
    }

    /// The keys and indexes before the post-data's first other statement, by table,
    /// taken out of the plan: they need nothing but their table's rows (comments on
    /// them stay in the plan, which runs after them).
    pub(super) fn leading_keys(&mut self) -> BTreeMap<String, Vec<Step>> {
        let end = self
            .plan
            .iter()
            .position(|(k, t, _)| *k != Some(false) && t != "comment")
            .unwrap_or(self.plan.len());
        let mut keys: BTreeMap<String, Vec<Step>> = BTreeMap::new();
        let mut kept = Vec::new();
        for (i, (kind, table, step)) in std::mem::take(&mut self.plan).into_iter().enumerate() {
            match kind {
                Some(false) if i < end => keys.entry(table).or_default().push(step),
                _ => kept.push((kind, table, step)),
            }
        }
        self.plan = kept;
        keys
    }

    /// The foreign keys right after the leading keys (comments aside), taken out of the
    /// plan with their table and the one each references, when nothing else comes
    /// between: the keys they need are then all among the leading ones. Run once every
    /// leading key is built (the caller's order) they need nothing else.
    pub(super) fn leading_foreign_keys(&mut self) -> Vec<(String, String, Step)> {
        let first = self
            .plan
            .iter()
            .position(|(k, t, _)| t != "comment" && *k != Some(false));
        let Some(first) = first else {
            return Vec::new();
        };
        if self.plan[..first].iter().any(|(k, _, _)| *k == Some(false)) {
            return Vec::new();
        }
        let end = self.plan[first..]
            .iter()
            .position(|(k, t, _)| *k != Some(true) && t != "comment")
            .map_or(self.plan.len(), |n| first + n);
        let mut foreign = Vec::new();
        let mut kept = Vec::new();
        for (i, (kind, table, step)) in std::mem::take(&mut self.plan).into_iter().enumerate() {
            let to = match &step {
                Step::Run { sql, .. } => referenced(sql),
                _ => None,
            };
            match (kind, to) {
                (Some(true), Some(to)) if i < end => foreign.push((table, to, step)),
                (kind, _) => kept.push((kind, table, step)),
            }
        }
        self.plan = kept;
        foreign
    }
}

/// The rest of the post-data: session settings on every connection; then, in dump
/// order, batches of keys and indexes (one table's on one connection, tables side by
/// side), batches of foreign keys likewise, and every other statement alone between them.
pub(super) async fn post_data(
    db: &DbConfig,
    main: &Client,
    post: Post,
    jobs: usize,
    m: &Manifest,
) -> Result<()> {
    let Post { settings, plan } = post;
    let mut conns = vec![];
    for _ in 0..jobs.saturating_sub(1) {
        conns.push(db::connect(db).await?);
    }
    for c in std::iter::once(main).chain(conns.iter()) {
        run_steps(c, clone_steps(&settings), m).await?;
    }
    let all: Vec<&Client> = std::iter::once(main).chain(conns.iter()).collect();
    let mut batch: BTreeMap<String, Vec<Step>> = BTreeMap::new();
    let mut batch_kind: Option<bool> = None;
    let mut after: Vec<Step> = Vec::new();
    for (kind, table, step) in plan {
        match kind {
            Some(k) => {
                if batch_kind.is_some_and(|b| b != k) {
                    flush(&all, &mut batch, &mut after, m).await?;
                }
                batch_kind = Some(k);
                batch.entry(table).or_default().push(step);
            }
            None if table == "comment" && !batch.is_empty() => after.push(step),
            None => {
                flush(&all, &mut batch, &mut after, m).await?;
                batch_kind = None;
                run_steps(main, vec![step], m).await?;
            }
        }
    }
    flush(&all, &mut batch, &mut after, m).await?;
    for c in &all {
        db::batch(*c, "RESET ALL").await?;
    }
    Ok(())
}

/// A batch's groups, merged so that no two groups touch the same table: a foreign key
/// locks its table and the one it references, and two connections each holding one
/// and wanting the other would deadlock.
fn disjoint(batch: BTreeMap<String, Vec<Step>>) -> Vec<Vec<Step>> {
    let mut groups: Vec<(Vec<String>, Vec<Step>)> = Vec::new();
    for (table, steps) in batch {
        let mut touched = vec![table];
        touched.extend(steps.iter().filter_map(|s| match s {
            Step::Run { sql, .. } => referenced(sql),
            _ => None,
        }));
        // Merge every earlier group that shares a table with this one.
        let (shared, rest): (Vec<_>, Vec<_>) = groups
            .into_iter()
            .partition(|(t, _)| t.iter().any(|x| touched.contains(x)));
        let mut merged = (touched, Vec::new());
        for (t, st) in shared {
            merged.0.extend(t);
            merged.1.extend(st);
        }
        merged.1.extend(steps);
        groups = rest;
        groups.push(merged);
    }
    groups.into_iter().map(|(_, s)| s).collect()
}

/// The table a foreign key references, named as `target_table` names tables (unquoted
/// parts joined by dots), so that the two compare.
fn referenced(sql: &str) -> Option<String> {
    use crate::sql::words::{name_at, tokens, word};
    let toks = tokens(sql);
    let at = toks.iter().position(|t| word(Some(t)) == "REFERENCES")?;
    name_at(&toks, at + 1)
}

/// Runs a batch: each group's statements in order on one connection (groups touch
/// disjoint tables), the groups spread over every connection; then what waited for it.
async fn flush(
    conns: &[&Client],
    batch: &mut BTreeMap<String, Vec<Step>>,
    after: &mut Vec<Step>,
    m: &Manifest,
) -> Result<()> {
    let groups = disjoint(std::mem::take(batch));
    let queue = Arc::new(Mutex::new(VecDeque::from(groups)));
    let runs = conns.iter().map(|c| {
        let queue = queue.clone();
        async move {
            loop {
                let next = queue.lock().expect("the batch queue").pop_front();
                let Some(group) = next else {
                    return Ok::<(), anyhow::Error>(());
                };
                run_steps(c, group, m).await?;
            }
        }
    });
    futures_util::future::try_join_all(runs).await?;
    if !after.is_empty() {
        run_steps(conns[0], std::mem::take(after), m).await?;
    }
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(in crate::backup::parallel) fn fk(table: &str, refs: &str) -> Step {
        Step::Run {
            line: 1,
            sql: format!(
                "ALTER TABLE ONLY {table} ADD CONSTRAINT c FOREIGN KEY (x) REFERENCES {refs}(id)"
            ),
            phase: None,
        }
    }

    pub(in crate::backup::parallel) fn run(sql: &str) -> Step {
        Step::Run {
            line: 1,
            sql: sql.into(),
            phase: None,
        }
    }

    #[test]
    fn foreign_keys_that_share_a_table_run_on_one_connection() {
        let mut batch = BTreeMap::new();
        batch.insert("public.a".to_string(), vec![fk("public.a", "public.b")]);
        batch.insert("public.b".to_string(), vec![fk("public.b", "public.a")]);
        batch.insert("public.c".to_string(), vec![fk("public.c", "public.d")]);
        batch.insert("public.e".to_string(), vec![fk("public.e", "public.d")]);
        batch.insert("public.f".to_string(), vec![fk("public.f", "public.g")]);
        let mut sizes: Vec<usize> = disjoint(batch).iter().map(Vec::len).collect();
        sizes.sort();
        assert_eq!(sizes, vec![1, 2, 2]);
        assert_eq!(
            referenced(&match fk("t", "s.\"Q\"") {
                Step::Run { sql, .. } => sql,
                _ => unreachable!(),
            })
            .as_deref(),
            Some("s.Q")
        );
    }

    /// The simplest primary and unique keys become a unique index and its attach, every
    /// name quoted; any other form is left as written.
    #[test]
    fn simple_keys_split_into_an_index_and_its_attach() {
        let (index, attach) = split_key(
            "ALTER TABLE ONLY public.\"Order Items\" ADD CONSTRAINT \"Order Items_pkey\" PRIMARY KEY (id, \"Line\");",
        )
        .unwrap();
        assert_eq!(
            index,
            "CREATE UNIQUE INDEX \"Order Items_pkey\" ON ONLY \"public\".\"Order Items\" USING btree (\"id\", \"Line\");"
        );
        assert_eq!(
            attach,
            "ALTER TABLE ONLY \"public\".\"Order Items\" ADD CONSTRAINT \"Order Items_pkey\" PRIMARY KEY USING INDEX \"Order Items_pkey\";"
        );
        let (_, attach) =
            split_key("ALTER TABLE ONLY s.t ADD CONSTRAINT t_x_key UNIQUE (x);").unwrap();
        assert!(attach.ends_with("ADD CONSTRAINT \"t_x_key\" UNIQUE USING INDEX \"t_x_key\";"));
        // A crafted name stays one name, whatever it holds.
        let (index, _) = split_key(
            "ALTER TABLE ONLY s.t ADD CONSTRAINT \"k\"\"; DROP TABLE s.t; --\" PRIMARY KEY (U&\"\\0069d\");",
        )
        .unwrap();
        assert_eq!(
            index,
            "CREATE UNIQUE INDEX \"k\"\"; DROP TABLE s.t; --\" ON ONLY \"s\".\"t\" USING btree (\"id\");"
        );
        for kept in [
            "ALTER TABLE ONLY s.t ADD CONSTRAINT k UNIQUE NULLS NOT DISTINCT (x);",
            "ALTER TABLE ONLY s.t ADD CONSTRAINT k PRIMARY KEY (x) INCLUDE (y);",
            "ALTER TABLE ONLY s.t ADD CONSTRAINT k PRIMARY KEY (x) WITH (fillfactor='70');",
            "ALTER TABLE ONLY s.t ADD CONSTRAINT k UNIQUE (x) DEFERRABLE INITIALLY DEFERRED;",
            "ALTER TABLE ONLY s.t ADD CONSTRAINT k PRIMARY KEY (x) USING INDEX TABLESPACE ts;",
            "ALTER TABLE ONLY s.t ADD CONSTRAINT k PRIMARY KEY (x, y WITHOUT OVERLAPS);",
            "ALTER TABLE ONLY s.t ADD CONSTRAINT k EXCLUDE USING gist (r WITH &&);",
            "ALTER TABLE ONLY s.t ADD CONSTRAINT k CHECK (x > 0);",
            "ALTER TABLE s.t ADD CONSTRAINT k PRIMARY KEY (x);",
            "ALTER TABLE ONLY s.t ADD CONSTRAINT k PRIMARY KEY ((x));",
        ] {
            assert_eq!(split_key(kept), None, "{kept}");
        }
    }

    /// Index builds are jobs of their own, a split key's build among them; the
    /// attaches and what locks the table whole are the last job, in dump order.
    #[test]
    fn a_tables_keys_become_builds_and_a_last_job() {
        let jobs = key_jobs(
            "s.t".into(),
            vec![
                run("ALTER TABLE ONLY s.t ADD CONSTRAINT t_pkey PRIMARY KEY (id);"),
                run("ALTER TABLE ONLY s.t ADD CONSTRAINT t_ex EXCLUDE USING gist (r WITH &&);"),
                run("CREATE INDEX t_x ON s.t USING btree (x);"),
            ],
            false,
        );
        let sql = |j: &KeyJob| -> Vec<String> {
            j.steps
                .iter()
                .map(|s| match s {
                    Step::Run { sql, .. } => sql.clone(),
                    _ => unreachable!(),
                })
                .collect()
        };
        assert_eq!(jobs.len(), 3);
        assert!(sql(&jobs[0])[0].starts_with("CREATE UNIQUE INDEX \"t_pkey\""));
        assert_eq!(
            sql(&jobs[1]),
            vec!["CREATE INDEX t_x ON s.t USING btree (x);"]
        );
        assert!(jobs[2].last);
        let last = sql(&jobs[2]);
        assert!(last[0].contains("PRIMARY KEY USING INDEX"));
        assert!(last[1].contains("EXCLUDE"));
        let whole = key_jobs(
            "s.p".into(),
            vec![run(
                "ALTER TABLE ONLY s.p ADD CONSTRAINT p_pkey PRIMARY KEY (id);",
            )],
            true,
        );
        assert_eq!(whole.len(), 1);
        assert!(sql(&whole[0])[0].contains("PRIMARY KEY (id)"));
    }

    /// The keys before the first other statement go early, by table; their comments and
    /// everything from the first other statement on stay, in order.
    #[test]
    fn leading_keys_are_the_keys_before_anything_else() {
        let mut post = Post::plan(vec![
            run("ALTER TABLE ONLY public.a ADD CONSTRAINT a_pkey PRIMARY KEY (id)"),
            run("COMMENT ON INDEX public.a_pkey IS 'x'"),
            run("CREATE INDEX b_x ON public.b USING btree (x)"),
            run("CREATE TRIGGER t AFTER INSERT ON public.a FOR EACH ROW EXECUTE FUNCTION f()"),
            run("CREATE INDEX c_x ON public.c USING btree (x)"),
        ]);
        let early = post.leading_keys();
        assert_eq!(
            early.keys().collect::<Vec<_>>(),
            vec!["public.a", "public.b"]
        );
        let left: Vec<&str> = post.plan.iter().map(|(_, t, _)| t.as_str()).collect();
        assert_eq!(left, vec!["comment", "", "public.c"]);
    }

    /// The foreign keys right after the leading keys go early; not when anything else
    /// (a trigger) comes between.
    #[test]
    fn leading_foreign_keys_follow_the_leading_keys_only() {
        let steps = || {
            vec![
                run("ALTER TABLE ONLY public.a ADD CONSTRAINT a_pkey PRIMARY KEY (id)"),
                fk("public.b", "public.a"),
                run("COMMENT ON CONSTRAINT c ON public.b IS 'x'"),
                fk("public.c", "public.\"A\""),
                run("CREATE POLICY p ON public.a USING (true)"),
                fk("public.d", "public.a"),
            ]
        };
        let mut post = Post::plan(steps());
        post.leading_keys();
        let early = post.leading_foreign_keys();
        let pairs: Vec<(&str, &str)> = early
            .iter()
            .map(|(t, r, _)| (t.as_str(), r.as_str()))
            .collect();
        assert_eq!(
            pairs,
            vec![("public.b", "public.a"), ("public.c", "public.A")]
        );
        assert_eq!(
            post.plan.len(),
            3,
            "the comment, the policy and the last key stay"
        );
        let mut steps = steps();
        steps.insert(
            1,
            run("CREATE TRIGGER t AFTER INSERT ON public.a EXECUTE FUNCTION f()"),
        );
        let mut post = Post::plan(steps);
        post.leading_keys();
        assert!(post.leading_foreign_keys().is_empty());
    }
}
