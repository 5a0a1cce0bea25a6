//! Tests of `policy`.

use super::*;

fn verdict(sql: &str) -> Verdict {
    Policy::default().statement(sql)
}

fn refused(sql: &str) -> bool {
    matches!(verdict(sql), Verdict::Refuse(_))
}

#[test]
fn what_pg_dump_writes_runs() {
    for sql in [
        "SET statement_timeout = 0;",
        "SET client_encoding = 'UTF8';",
        "SET standard_conforming_strings = on;",
        "SELECT pg_catalog.set_config('search_path', '', false);",
        "CREATE TABLE public.t (a text);",
        "ALTER TABLE ONLY public.t ADD CONSTRAINT t_pkey PRIMARY KEY (a);",
        "COMMENT ON TABLE public.t IS 'x';",
        "SELECT pg_catalog.setval('public.s', 1, false);",
        "GRANT SELECT ON TABLE public.t TO app;",
        "CREATE USER MAPPING FOR app SERVER s;",
        "SELECT pg_catalog.lo_create('16385');",
    ] {
        assert!(
            matches!(verdict(sql), Verdict::Run { .. } | Verdict::Setting { .. }),
            "{sql}"
        );
    }
}

#[test]
fn escapes_and_privilege_changes_are_refused() {
    for sql in [
        "COMMIT;",
        "END;",
        "ROLLBACK;",
        "START TRANSACTION;",
        "SAVEPOINT a;",
        "RELEASE a;",
        "PREPARE TRANSACTION 'x';",
        "COMMIT PREPARED 'x';",
        "BEGIN ISOLATION LEVEL SERIALIZABLE;",
        "COPY t TO '/tmp/x';",
        "COPY t FROM '/etc/passwd';",
        "COPY t FROM PROGRAM 'id';",
        "COPY (SELECT 1) TO STDOUT;",
        "COPY t FROM stdin WITH (FORMAT binary);",
        "ALTER SYSTEM SET x = 1;",
        "CREATE ROLE evil SUPERUSER;",
        "ALTER USER app PASSWORD 'x';",
        "DROP DATABASE kronic;",
        "CREATE TABLESPACE t LOCATION '/tmp';",
        "CREATE SUBSCRIPTION s CONNECTION 'x' PUBLICATION p;",
        "LOAD 'evil.so';",
        "SET ROLE postgres;",
        "SET SESSION ROLE postgres;",
        "SET LOCAL ROLE postgres;",
        "SET SESSION AUTHORIZATION postgres;",
        "SET standard_conforming_strings = off;",
        "SET client_encoding = 'LATIN1';",
        "SELECT pg_catalog.set_config('role', 'postgres', false);",
        "SELECT lo_export(16385, '/tmp/x');",
        "SELECT pg_read_file('/etc/shadow');",
        "GRANT postgres TO app;",
        "DO $$ BEGIN PERFORM 1; END $$;",
        "CALL p();",
        "VACUUM;",
    ] {
        assert!(refused(sql), "{sql} must be refused");
    }
}

#[test]
fn large_objects_between_pg_dumps_begin_and_commit() {
    let mut p = Policy::default();
    assert_eq!(p.statement("BEGIN;"), Verdict::Skip);
    assert!(matches!(
        p.statement("SELECT pg_catalog.lo_open('16385', 131072);"),
        Verdict::Run { .. }
    ));
    assert!(matches!(
        p.statement("SELECT pg_catalog.lowrite(0, '\\x68656c6c6f');"),
        Verdict::Run { .. }
    ));
    assert!(p.finish().is_err(), "an open section is an error");
    assert_eq!(p.statement("COMMIT;"), Verdict::Skip);
    assert!(p.finish().is_ok());
    // Anything else inside the section is refused.
    let mut p = Policy::default();
    p.statement("BEGIN;");
    assert!(matches!(p.statement("DROP TABLE t;"), Verdict::Refuse(_)));
}

#[test]
fn copy_names_its_table() {
    assert_eq!(
        verdict("COPY public.\"we\"\"ird\" (a, \"to\") FROM stdin;"),
        Verdict::Copy {
            sql: "COPY public.\"we\"\"ird\" (a, \"to\") FROM stdin;".into(),
            table: "public.we\"ird".into()
        }
    );
}

#[test]
fn restrict_pair_only() {
    let mut p = Policy::default();
    assert!(p.meta("\\restrict abc", false).is_ok());
    assert!(p.meta("\\restrict abc", false).is_err(), "twice");
    assert!(p.meta("\\unrestrict xyz", false).is_err(), "other key");
    assert!(p.meta("\\unrestrict abc", false).is_ok());
    for m in [
        "\\! id",
        "\\connect postgres",
        "\\set ON_ERROR_STOP off",
        "\\o /tmp/x",
        "\\copy t to '/tmp/x'",
        "\\g",
    ] {
        assert!(Policy::default().meta(m, false).is_err(), "{m}");
    }
    assert!(Policy::default().meta("\\restrict abc", true).is_err());
}

#[test]
fn clean_section_drops_get_if_exists_until_the_first_create() {
    let mut p = Policy::default();
    assert_eq!(
        p.statement("DROP TABLE public.t;"),
        Verdict::Run {
            sql: "DROP TABLE IF EXISTS public.t;".into(),
            phase: None
        }
    );
    p.statement("CREATE TABLE public.t (a int);");
    assert_eq!(
        p.statement("DROP TABLE public.u;"),
        Verdict::Run {
            sql: "DROP TABLE public.u;".into(),
            phase: None
        }
    );
}

#[test]
fn phases_name_indexes_and_constraints() {
    let run = |sql| match verdict(sql) {
        Verdict::Run { phase, .. } => phase,
        v => panic!("{v:?}"),
    };
    assert_eq!(
        run("CREATE UNIQUE INDEX users_email_idx ON public.users USING btree (email);"),
        Some("index users_email_idx".into())
    );
    assert_eq!(
        run("ALTER TABLE ONLY public.users ADD CONSTRAINT users_pkey PRIMARY KEY (id);"),
        Some("constraint users_pkey".into())
    );
    assert_eq!(run("CREATE TABLE t (a int);"), None);
}

#[test]
fn session_settings_are_told_apart_for_the_server_to_judge() {
    for (sql, name) in [
        ("SET transaction_timeout = 0;", "transaction_timeout"),
        ("SET statement_timeout TO 0;", "statement_timeout"),
        (
            "SET default_table_access_method = heap;",
            "default_table_access_method",
        ),
    ] {
        assert_eq!(
            verdict(sql),
            Verdict::Setting {
                sql: sql.into(),
                name: name.into()
            }
        );
    }
    // Role switches stay refused; pg_dump's lock_timeout is kronic's; SET LOCAL runs.
    assert!(matches!(verdict("SET ROLE postgres;"), Verdict::Refuse(_)));
    assert!(matches!(
        verdict("SET SESSION AUTHORIZATION postgres;"),
        Verdict::Refuse(_)
    ));
    assert_eq!(verdict("SET lock_timeout = 0;"), Verdict::Skip);
    for sql in [
        "SET TIME ZONE 'UTC';",
        "SET SCHEMA 'public';",
        "SET CONSTRAINTS ALL DEFERRED;",
    ] {
        assert!(matches!(verdict(sql), Verdict::Run { .. }), "{sql}");
    }
    assert!(matches!(
        verdict("SET LOCAL work_mem = '1MB';"),
        Verdict::Setting { .. }
    ));
    // kronic's lock timeout stays, however the dump spells the setting.
    for sql in [
        "SET SESSION lock_timeout = 0;",
        "SET LOCAL lock_timeout = 0;",
        "SET \"lock_timeout\" = 0;",
        "SET lock_timeout TO DEFAULT;",
    ] {
        assert_eq!(verdict(sql), Verdict::Skip, "{sql}");
    }
    for sql in [
        "SELECT set_config('lock_timeout', '0', false);",
        "SELECT \"set_config\"('lock_timeout', '0', false);",
        "SELECT \"set_config\"('standard_conforming_strings', 'off', false);",
        "SET SESSION standard_conforming_strings = off;",
        "SET \"standard_conforming_strings\" TO off;",
        "SET backslash_quote = on;",
    ] {
        assert!(refused(sql), "{sql}");
    }
}

#[test]
fn calls_are_judged_by_name_unquoted_in_every_statement_that_evaluates() {
    for sql in [
        "SELECT \"pg_terminate_backend\"(pid) FROM pg_stat_activity;",
        "SELECT U&\"\\0070g_terminate_backend\"(pid) FROM pg_stat_activity;",
        "SELECT pg_catalog.\"pg_cancel_backend\"(1);",
        "CREATE TABLE t AS SELECT pg_terminate_backend(pid) FROM pg_stat_activity;",
        "CREATE MATERIALIZED VIEW v AS SELECT pg_terminate_backend(pid) FROM pg_stat_activity;",
        "CREATE INDEX i ON t ((pg_terminate_backend(a)));",
        "CREATE TABLE t (a int CHECK (pg_cancel_backend(a)));",
        "UPDATE t SET a = pg_terminate_backend(a);",
    ] {
        assert!(refused(sql), "{sql}");
    }
    // Stored, not run: a function body or a view that names one.
    for sql in [
        "CREATE FUNCTION f() RETURNS bool LANGUAGE sql AS $$ SELECT pg_terminate_backend(1) $$;",
        "CREATE VIEW v AS SELECT pg_cancel_backend(pid) FROM pg_stat_activity;",
        "COMMENT ON TABLE t IS 'calls pg_terminate_backend(1)';",
    ] {
        assert!(!refused(sql), "{sql}");
    }
}
