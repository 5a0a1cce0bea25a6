-- A few rows for every pagila table (kronic's own, not pagila's data): enough for the
-- round trip to carry partitions, arrays, tsvectors, bytea and the store/staff cycle.
-- Loaded as a superuser with session_replication_role = replica (the cycle between
-- store and staff has no deferrable key).
SET session_replication_role = replica;
INSERT INTO language (language_id, name) VALUES (1, 'English'), (2, 'Türkçe');
INSERT INTO country (country_id, country) VALUES (1, 'Turkey'), (2, 'Côte d''Ivoire');
INSERT INTO city (city_id, city, country_id) VALUES (1, 'İstanbul', 1), (2, 'Abidjan', 2);
INSERT INTO address (address_id, address, district, city_id, postal_code, phone)
SELECT i, i || ' Main St', 'District ' || i, 1 + i % 2, lpad(i::text, 5, '0'), '555-' || i
FROM generate_series(1, 20) i;
INSERT INTO store (store_id, manager_staff_id, address_id) VALUES (1, 1, 1), (2, 2, 2);
INSERT INTO staff (staff_id, first_name, last_name, address_id, email, store_id, username, password, picture)
VALUES (1, 'Mike', 'Hillyer', 3, 'mike@example.com', 1, 'Mike', md5('x'), '\x89504e470d0a1a0a'),
       (2, 'Jon', 'Stephens', 4, NULL, 2, 'Jon', NULL, NULL);
INSERT INTO category (category_id, name) VALUES (1, 'Action'), (2, 'Comedy'), (3, 'Documentary');
INSERT INTO actor (actor_id, first_name, last_name)
SELECT i, 'First' || i, 'Last' || i FROM generate_series(1, 30) i;
INSERT INTO film (film_id, title, description, release_year, language_id, length, rating, special_features, fulltext)
SELECT i, 'FILM ' || i, 'A story about ' || i || E' things\twith a tab', 2000 + i % 20, 1 + i % 2,
       60 + i, (ARRAY['G','PG','PG-13','R','NC-17']::mpaa_rating[])[1 + i % 5],
       ARRAY['Trailers', 'Deleted Scenes'], to_tsvector('english', 'film ' || i || ' story')
FROM generate_series(1, 50) i;
INSERT INTO film_actor (actor_id, film_id) SELECT 1 + i % 30, i FROM generate_series(1, 50) i;
INSERT INTO film_category (film_id, category_id) SELECT i, 1 + i % 3 FROM generate_series(1, 50) i;
INSERT INTO inventory (inventory_id, film_id, store_id) SELECT i, 1 + i % 50, 1 + i % 2 FROM generate_series(1, 100) i;
INSERT INTO customer (customer_id, store_id, first_name, last_name, email, address_id, active)
SELECT i, 1 + i % 2, 'Cust' || i, 'Omer' || i, 'c' || i || '@example.com', 1 + i % 20, 1
FROM generate_series(1, 40) i;
INSERT INTO rental (rental_id, rental_date, inventory_id, customer_id, return_date, staff_id)
SELECT i, '2022-01-01'::timestamptz + make_interval(days => i), 1 + i % 100, 1 + i % 40,
       '2022-01-05'::timestamptz + make_interval(days => i), 1 + i % 2
FROM generate_series(1, 150) i;
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date)
SELECT i, 1 + i % 40, 1 + i % 2, i, (i % 10) + 0.99, '2022-01-02'::timestamptz + make_interval(days => i)
FROM generate_series(1, 150) i;
SELECT setval('actor_actor_id_seq', 30), setval('film_film_id_seq', 50), setval('payment_payment_id_seq', 150);
RESET session_replication_role;
REFRESH MATERIALIZED VIEW rental_by_category;
