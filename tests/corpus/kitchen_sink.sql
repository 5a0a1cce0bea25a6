-- A schema with every kind of object pg_dump writes for an application's owner role,
-- and data that is hard to carry: run as that role (psql -v ON_ERROR_STOP=1), after a
-- superuser created the extensions citext, hstore, pg_trgm and btree_gist. Works on
-- PostgreSQL 15 to 18.

CREATE SCHEMA billing;
CREATE SCHEMA "Mixed Case";
CREATE SCHEMA "ünïcødé";

-- Types: enums, domains with CHECK, composite types.
CREATE TYPE billing.status AS ENUM ('draft', 'open', 'paid', 'void');
CREATE DOMAIN billing.money_cents AS bigint CHECK (VALUE >= 0);
CREATE DOMAIN public.email AS citext CHECK (VALUE ~ '^[^@]+@[^@]+$');
CREATE TYPE public.address AS (street text, city text, zip varchar(10));

-- Identity, serial and generated columns; extensions used by columns and defaults;
-- per-column collations; a sequence OWNED BY a column.
CREATE TABLE public.customers (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email       public.email NOT NULL UNIQUE,
    name        text COLLATE "C" NOT NULL,
    sort_name   text COLLATE "POSIX",
    home        public.address,
    tags        hstore DEFAULT ''::hstore,
    created_at  timestamptz NOT NULL DEFAULT now(),
    name_length int GENERATED ALWAYS AS (length(name)) STORED
);
CREATE TABLE "Mixed Case"."Order Items" (
    "Id"       serial PRIMARY KEY,
    "Customer" bigint NOT NULL REFERENCES public.customers (id) DEFERRABLE INITIALLY DEFERRED,
    "Qty"      int NOT NULL CHECK ("Qty" > 0),
    "Price"    billing.money_cents NOT NULL
);
CREATE SEQUENCE billing.invoice_no START 1000 INCREMENT 7;
CREATE TABLE billing.invoices (
    no        int NOT NULL DEFAULT nextval('billing.invoice_no') PRIMARY KEY,
    customer  bigint NOT NULL REFERENCES public.customers (id),
    status    billing.status NOT NULL DEFAULT 'draft',
    total     billing.money_cents NOT NULL DEFAULT 0,
    during    tstzrange,
    notes     text,
    blob      bytea,
    EXCLUDE USING gist (customer WITH =, during WITH &&)
);
ALTER SEQUENCE billing.invoice_no OWNED BY billing.invoices.no;
CREATE TABLE "ünïcødé"."tæble with spaces" ("ключ" text PRIMARY KEY, "值" int);
CREATE UNLOGGED TABLE public.sessions (token text PRIMARY KEY, seen timestamptz);

-- Keys in every shape (a parallel restore builds the simplest as unique indexes and
-- attaches them): covering, with storage options, deferrable, NULLS NOT DISTINCT,
-- referenced by a foreign key, and on a partitioned table and its partitions.
CREATE TABLE public.key_shapes (
    a int NOT NULL,
    b text NOT NULL,
    c int,
    d int,
    CONSTRAINT key_shapes_pkey PRIMARY KEY (a) INCLUDE (c) WITH (fillfactor = 80),
    CONSTRAINT key_shapes_b_key UNIQUE (b) DEFERRABLE,
    CONSTRAINT key_shapes_c_key UNIQUE NULLS NOT DISTINCT (c),
    CONSTRAINT "Key Shapes cd" UNIQUE (c, d)
);
CREATE TABLE public.key_refs (
    id int PRIMARY KEY,
    c int,
    d int,
    FOREIGN KEY (c, d) REFERENCES public.key_shapes (c, d)
);
CREATE TABLE billing.ledger (
    id     bigint NOT NULL,
    booked date NOT NULL,
    amount int,
    PRIMARY KEY (id, booked)
) PARTITION BY RANGE (booked);
CREATE TABLE billing.ledger_2025 PARTITION OF billing.ledger
    FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE billing.ledger_2026 PARTITION OF billing.ledger
    FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');

-- Partitioned, with a default partition.
CREATE TABLE billing.events (
    at   timestamptz NOT NULL,
    kind text NOT NULL,
    body jsonb
) PARTITION BY RANGE (at);
CREATE TABLE billing.events_2025 PARTITION OF billing.events
    FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE billing.events_2026 PARTITION OF billing.events
    FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE billing.events_other PARTITION OF billing.events DEFAULT;
CREATE INDEX events_kind ON billing.events (kind);

-- Indexes using extensions.
CREATE INDEX customers_name_trgm ON public.customers USING gin (name gin_trgm_ops);
CREATE INDEX customers_lower_name ON public.customers (lower(name));

-- Functions: plpgsql with nested dollar quotes, SQL, SQL-standard bodies.
CREATE FUNCTION billing.touch() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    -- A nested quote: $inner$ ; is not the end $inner$
    NEW.notes := coalesce(NEW.notes, $inner$touched; "quoted" 'too'$inner$);
    RETURN NEW;
END
$fn$;
CREATE FUNCTION public.full_name(c public.customers) RETURNS text
    LANGUAGE sql STABLE AS 'SELECT c.name || '' <'' || c.email || ''>''';
CREATE FUNCTION public.set_tenant(t text) RETURNS text LANGUAGE sql
BEGIN ATOMIC
    SELECT set_config('app.tenant', t, true);
END;
CREATE FUNCTION public.cancel_if(p int, really boolean) RETURNS boolean LANGUAGE sql
BEGIN ATOMIC
    SELECT CASE WHEN really THEN pg_cancel_backend(p) ELSE false END;
END;
CREATE PROCEDURE billing.void_invoice(n int) LANGUAGE sql
BEGIN ATOMIC
    UPDATE billing.invoices SET status = 'void' WHERE no = n;
END;

-- Triggers and rules.
CREATE TRIGGER invoices_touch BEFORE INSERT ON billing.invoices
    FOR EACH ROW EXECUTE FUNCTION billing.touch();
CREATE TABLE public.audit (at timestamptz DEFAULT now(), what text);
CREATE RULE sessions_audit AS ON DELETE TO public.sessions
    DO ALSO INSERT INTO public.audit (what) VALUES ('session ' || OLD.token);

-- Views, a materialized view with data, row security.
CREATE VIEW public.customer_totals AS
    SELECT c.id, c.name, sum(i.total) AS total
    FROM public.customers c LEFT JOIN billing.invoices i ON i.customer = c.id
    GROUP BY c.id, c.name;
CREATE VIEW public.tenant AS SELECT current_setting('app.tenant', true) AS tenant;
ALTER TABLE billing.invoices ENABLE ROW LEVEL SECURITY;
CREATE POLICY invoices_tenant ON billing.invoices
    USING (current_setting('app.tenant', true) IS NULL OR customer::text = current_setting('app.tenant', true));

-- A publication, comments.
CREATE PUBLICATION billing_pub FOR TABLE billing.invoices, public.customers;
COMMENT ON TABLE public.customers IS 'People who buy; ''quoted'' and ünïcødé';
COMMENT ON COLUMN billing.invoices.total IS 'in cents';
COMMENT ON SCHEMA billing IS 'money';

-- Data, with what is hard to carry: tabs, backslashes, newlines, a "\." line, bytes.
INSERT INTO public.customers (email, name, sort_name, home, tags)
SELECT 'user' || i || '@Example.com', 'User ' || i, 'user ' || lpad(i::text, 4, '0'),
       ROW('Street ' || i, 'City', lpad(i::text, 5, '0'))::public.address,
       hstore('i', i::text)
FROM generate_series(1, 200) i;
INSERT INTO public.customers (email, name, sort_name)
VALUES ('odd@example.com', E'tab\there, back\\slash, new\nline, and\n\\.\na dot line', NULL);
INSERT INTO "Mixed Case"."Order Items" ("Customer", "Qty", "Price")
SELECT 1 + i % 200, 1 + i % 5, i * 100 FROM generate_series(1, 500) i;
INSERT INTO billing.invoices (customer, status, total, during, notes, blob)
SELECT 1 + i % 200, (ARRAY['draft', 'open', 'paid']::billing.status[])[1 + i % 3], i * 250,
       tstzrange('2025-01-01'::timestamptz + make_interval(days => i), '2025-01-01'::timestamptz + make_interval(days => i + 1)),
       CASE WHEN i % 7 = 0 THEN E'line one\nline two\t\\x' END,
       decode(md5(i::text), 'hex') || '\x00ff5c2e0a'::bytea
FROM generate_series(1, 300) i;
INSERT INTO "ünïcødé"."tæble with spaces" VALUES ('ключ', 1), ('鍵', 2), ('🔑', 3);
INSERT INTO public.sessions VALUES ('abc', now());
INSERT INTO public.key_shapes SELECT g, 'b' || g, g, g % 3 FROM generate_series(1, 50) g;
INSERT INTO public.key_refs SELECT g, g, g % 3 FROM generate_series(1, 20) g;
INSERT INTO billing.ledger SELECT g, date '2025-06-01' + g * 3, g FROM generate_series(1, 150) g;
INSERT INTO billing.events
SELECT '2024-06-01'::timestamptz + make_interval(days => i * 5), 'kind' || (i % 4),
       jsonb_build_object('i', i, 's', E'a "quote" and \\ back')
FROM generate_series(1, 200) i;

CREATE MATERIALIZED VIEW billing.paid_per_customer AS
    SELECT customer, count(*) AS n, sum(total) AS total
    FROM billing.invoices WHERE status = 'paid' GROUP BY customer
    WITH DATA;
CREATE UNIQUE INDEX paid_per_customer_customer ON billing.paid_per_customer (customer);

-- Large objects.
SELECT lo_from_bytea(0, convert_to('first large object', 'UTF8'));
SELECT lo_from_bytea(0, '\x00010203fffe'::bytea);
