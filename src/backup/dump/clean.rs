//! Dumps made with `--clean` but without `--if-exists` (the seed's backup script) fail
//! on an empty database: their clean section's `DROP`s get `IF EXISTS`, and its
//! `lo_unlink`s pg_dump's `--if-exists` form.

/// Object kinds pg_dump drops, longest first so "DROP MATERIALIZED VIEW" wins over "VIEW".
const DROP_KINDS: &[&str] = &[
    "TEXT SEARCH CONFIGURATION",
    "TEXT SEARCH DICTIONARY",
    "FOREIGN DATA WRAPPER",
    "TEXT SEARCH TEMPLATE",
    "TEXT SEARCH PARSER",
    "MATERIALIZED VIEW",
    "OPERATOR FAMILY",
    "OPERATOR CLASS",
    "EVENT TRIGGER",
    "FOREIGN TABLE",
    "ACCESS METHOD",
    "SUBSCRIPTION",
    "PUBLICATION",
    "CONVERSION",
    "STATISTICS",
    "AGGREGATE",
    "COLLATION",
    "EXTENSION",
    "PROCEDURE",
    "TRANSFORM",
    "FUNCTION",
    "LANGUAGE",
    "OPERATOR",
    "SEQUENCE",
    "TRIGGER",
    "DOMAIN",
    "POLICY",
    "SCHEMA",
    "SERVER",
    "INDEX",
    "TABLE",
    "CAST",
    "RULE",
    "TYPE",
    "VIEW",
];

/// `DROP TABLE public.x;` → `DROP TABLE IF EXISTS public.x;`, and
/// `ALTER TABLE ONLY t DROP CONSTRAINT c;` → `ALTER TABLE IF EXISTS ONLY t DROP CONSTRAINT IF EXISTS c;`.
pub fn if_exists(line: &str) -> Option<String> {
    if line.contains(" IF EXISTS ") {
        return None;
    }
    // A large object's drop: pg_dump's --if-exists form unlinks only one that exists.
    if let Some(oid) = line
        .strip_prefix("SELECT pg_catalog.lo_unlink('")
        .and_then(|r| r.strip_suffix("');"))
        .filter(|o| !o.is_empty() && o.bytes().all(|b| b.is_ascii_digit()))
    {
        return Some(format!(
            "SELECT pg_catalog.lo_unlink(oid) FROM pg_catalog.pg_largeobject_metadata WHERE oid = '{oid}';"
        ));
    }
    if let Some(rest) = line.strip_prefix("DROP ") {
        let kind = DROP_KINDS
            .iter()
            .find(|k| rest.starts_with(&format!("{k} ")))?;
        return Some(format!("DROP {kind} IF EXISTS {}", &rest[kind.len() + 1..]));
    }
    if let Some(rest) = line.strip_prefix("ALTER TABLE ") {
        if !rest.contains(" DROP ") {
            return None;
        }
        let rest = rest.replacen(" DROP CONSTRAINT ", " DROP CONSTRAINT IF EXISTS ", 1);
        return Some(format!("ALTER TABLE IF EXISTS {rest}"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_get_if_exists() {
        for (given, want) in [
            (
                "ALTER TABLE ONLY public.user_roles DROP CONSTRAINT user_roles_pkey;",
                Some(
                    "ALTER TABLE IF EXISTS ONLY public.user_roles DROP CONSTRAINT IF EXISTS user_roles_pkey;",
                ),
            ),
            (
                "ALTER TABLE public.roles ALTER COLUMN id DROP DEFAULT;",
                Some("ALTER TABLE IF EXISTS public.roles ALTER COLUMN id DROP DEFAULT;"),
            ),
            (
                "DROP INDEX public.user_roles_role_id_idx;",
                Some("DROP INDEX IF EXISTS public.user_roles_role_id_idx;"),
            ),
            (
                "DROP MATERIALIZED VIEW public.mv;",
                Some("DROP MATERIALIZED VIEW IF EXISTS public.mv;"),
            ),
            ("DROP TABLE IF EXISTS public.already;", None),
            (
                "SELECT pg_catalog.lo_unlink('16385');",
                Some(
                    "SELECT pg_catalog.lo_unlink(oid) FROM pg_catalog.pg_largeobject_metadata WHERE oid = '16385';",
                ),
            ),
            ("SELECT pg_catalog.lo_unlink('1; DROP');", None),
            ("SET x = 1;", None),
        ] {
            assert_eq!(if_exists(given).as_deref(), want, "{given}");
        }
    }
}
