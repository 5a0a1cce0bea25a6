
use builtin;
use str;

set edit:completion:arg-completer[kronic] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'kronic'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'kronic'= {
            cand --database-url 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts'
            cand --config 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]'
            cand -v 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand --verbose 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand -q 'Only warnings and errors on stderr'
            cand --quiet 'Only warnings and errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand migrate 'Apply, revert and inspect schema migrations'
            cand seed 'Create the application''s roles and the admin user (safe to run again)'
            cand backup 'Back up the database into a compressed, atomic, pruned file; list, verify, drill and prune backups'
            cand restore 'Restore a backup into the database, completely or not at all'
            cand notify 'Send the failure notification for a systemd unit that failed (its OnFailure=)'
            cand config 'Show the effective settings and where each comes from (secrets masked)'
            cand health 'Check the database and print the health JSON (or serve it at /healthz)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'kronic;migrate'= {
            cand --migrations 'Load migrations from this folder instead of the ones built into kronic [env: KRONIC_MIGRATIONS_DIR]'
            cand --lock-timeout 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]'
            cand --lock-wait 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]'
            cand --wait 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once'
            cand --database-url 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts'
            cand --config 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]'
            cand -v 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand --verbose 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand -q 'Only warnings and errors on stderr'
            cand --quiet 'Only warnings and errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand up 'Apply pending migrations (all, or up to --target), each in its own transaction'
            cand lint 'Lint migrations with squawk''s rules: the pending ones, the named files, or --all'
            cand plan 'Measure what each pending statement locks and rewrites, on a scratch database'
            cand down 'Revert the newest N applied migrations (default 1), or down to --target'
            cand current 'Show the applied version'
            cand history 'List every migration: applied, pending, divergent or missing'
            cand new 'Create the next numbered migration and its down script'
            cand check 'Compare the live schema with what the applied migrations build'
            cand stamp 'Record VERSION (and everything below it) as applied without running anything'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'kronic;migrate;up'= {
            cand --target 'Stop after this version'
            cand --lint 'Lint the pending migrations first: deny stops before anything runs when a finding is an error, warn prints them (and asks, on a terminal), off skips linting [default: warn on a terminal, deny otherwise]'
            cand --migrations 'Load migrations from this folder instead of the ones built into kronic [env: KRONIC_MIGRATIONS_DIR]'
            cand --lock-timeout 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]'
            cand --lock-wait 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]'
            cand --wait 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once'
            cand --database-url 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts'
            cand --config 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]'
            cand --dry-run 'Print the SQL that would run, in order, and change nothing'
            cand --backup 'First take a verified backup (the normal one, into the backup folder); if a migration then fails, the error names the command that restores it'
            cand -v 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand --verbose 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand -q 'Only warnings and errors on stderr'
            cand --quiet 'Only warnings and errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'kronic;migrate;lint'= {
            cand --pg-version 'The server''s major version (15, 16, …), instead of asking the server'
            cand --format 'text, json, github (workflow commands: annotations on the pull request) or gitlab (code-quality JSON)'
            cand --migrations 'Load migrations from this folder instead of the ones built into kronic [env: KRONIC_MIGRATIONS_DIR]'
            cand --lock-timeout 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]'
            cand --lock-wait 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]'
            cand --wait 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once'
            cand --database-url 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts'
            cand --config 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]'
            cand --all 'Lint every migration, applied ones included'
            cand --json 'Same as --format json'
            cand -v 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand --verbose 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand -q 'Only warnings and errors on stderr'
            cand --quiet 'Only warnings and errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'kronic;migrate;plan'= {
            cand --max-rewrite 'The largest table a statement may rewrite or scan while it blocks writes'
            cand --migrations 'Load migrations from this folder instead of the ones built into kronic [env: KRONIC_MIGRATIONS_DIR]'
            cand --lock-timeout 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]'
            cand --lock-wait 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]'
            cand --wait 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once'
            cand --database-url 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts'
            cand --config 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]'
            cand --json 'Print JSON for CI'
            cand -v 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand --verbose 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand -q 'Only warnings and errors on stderr'
            cand --quiet 'Only warnings and errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'kronic;migrate;down'= {
            cand --target 'Revert every migration above this version (0 reverts all)'
            cand --migrations 'Load migrations from this folder instead of the ones built into kronic [env: KRONIC_MIGRATIONS_DIR]'
            cand --lock-timeout 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]'
            cand --lock-wait 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]'
            cand --wait 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once'
            cand --database-url 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts'
            cand --config 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]'
            cand --dry-run 'Print the SQL that would run, in order, and change nothing'
            cand -y 'Do not ask for confirmation'
            cand --yes 'Do not ask for confirmation'
            cand -v 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand --verbose 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand -q 'Only warnings and errors on stderr'
            cand --quiet 'Only warnings and errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'kronic;migrate;current'= {
            cand --migrations 'Load migrations from this folder instead of the ones built into kronic [env: KRONIC_MIGRATIONS_DIR]'
            cand --lock-timeout 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]'
            cand --lock-wait 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]'
            cand --wait 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once'
            cand --database-url 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts'
            cand --config 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]'
            cand --json 'Print JSON for scripts'
            cand --exit-code 'Exit 1 when migrations are pending (for CI gates)'
            cand -v 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand --verbose 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand -q 'Only warnings and errors on stderr'
            cand --quiet 'Only warnings and errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'kronic;migrate;history'= {
            cand --migrations 'Load migrations from this folder instead of the ones built into kronic [env: KRONIC_MIGRATIONS_DIR]'
            cand --lock-timeout 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]'
            cand --lock-wait 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]'
            cand --wait 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once'
            cand --database-url 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts'
            cand --config 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]'
            cand --json 'Print JSON for scripts'
            cand -v 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand --verbose 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand -q 'Only warnings and errors on stderr'
            cand --quiet 'Only warnings and errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'kronic;migrate;new'= {
            cand --dir 'Folder to write into'
            cand --migrations 'Load migrations from this folder instead of the ones built into kronic [env: KRONIC_MIGRATIONS_DIR]'
            cand --lock-timeout 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]'
            cand --lock-wait 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]'
            cand --wait 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once'
            cand --database-url 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts'
            cand --config 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]'
            cand -v 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand --verbose 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand -q 'Only warnings and errors on stderr'
            cand --quiet 'Only warnings and errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'kronic;migrate;check'= {
            cand --migrations 'Load migrations from this folder instead of the ones built into kronic [env: KRONIC_MIGRATIONS_DIR]'
            cand --lock-timeout 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]'
            cand --lock-wait 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]'
            cand --wait 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once'
            cand --database-url 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts'
            cand --config 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]'
            cand --json 'Print JSON for CI'
            cand -v 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand --verbose 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand -q 'Only warnings and errors on stderr'
            cand --quiet 'Only warnings and errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'kronic;migrate;stamp'= {
            cand --migrations 'Load migrations from this folder instead of the ones built into kronic [env: KRONIC_MIGRATIONS_DIR]'
            cand --lock-timeout 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]'
            cand --lock-wait 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]'
            cand --wait 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once'
            cand --database-url 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts'
            cand --config 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]'
            cand -v 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand --verbose 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand -q 'Only warnings and errors on stderr'
            cand --quiet 'Only warnings and errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'kronic;migrate;help'= {
            cand up 'Apply pending migrations (all, or up to --target), each in its own transaction'
            cand lint 'Lint migrations with squawk''s rules: the pending ones, the named files, or --all'
            cand plan 'Measure what each pending statement locks and rewrites, on a scratch database'
            cand down 'Revert the newest N applied migrations (default 1), or down to --target'
            cand current 'Show the applied version'
            cand history 'List every migration: applied, pending, divergent or missing'
            cand new 'Create the next numbered migration and its down script'
            cand check 'Compare the live schema with what the applied migrations build'
            cand stamp 'Record VERSION (and everything below it) as applied without running anything'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'kronic;migrate;help;up'= {
        }
        &'kronic;migrate;help;lint'= {
        }
        &'kronic;migrate;help;plan'= {
        }
        &'kronic;migrate;help;down'= {
        }
        &'kronic;migrate;help;current'= {
        }
        &'kronic;migrate;help;history'= {
        }
        &'kronic;migrate;help;new'= {
        }
        &'kronic;migrate;help;check'= {
        }
        &'kronic;migrate;help;stamp'= {
        }
        &'kronic;migrate;help;help'= {
        }
        &'kronic;seed'= {
            cand --admin-email 'The admin user''s email address [env: KRONIC_ADMIN_EMAIL]'
            cand --admin-password 'The admin user''s password (at least 12 characters) [env: KRONIC_ADMIN_PASSWORD]. Prefer the environment or --admin-password-stdin: command lines are visible in `ps`'
            cand --wait 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once'
            cand --database-url 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts'
            cand --config 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]'
            cand --admin-password-stdin 'Read the admin password from the first line of standard input (beats KRONIC_ADMIN_PASSWORD)'
            cand --reset-admin-password 'Replace an existing admin user''s password with the given one'
            cand --update-roles 'Rewrite roles whose permissions differ from kronic''s definitions'
            cand -v 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand --verbose 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand -q 'Only warnings and errors on stderr'
            cand --quiet 'Only warnings and errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'kronic;backup'= {
            cand --dir 'Backup folder [env: KRONIC_BACKUP_DIR] [default: /var/backups/kronic]'
            cand --notify 'Ping this healthchecks.io-style URL: URL/start when the run starts, URL/<exit code> with the outcome''s line when it ends (0 is success) [env: KRONIC_NOTIFY_URL]. The URL is the check''s secret: prefer the variable, since command lines are visible to other users in `ps`'
            cand --keep-days 'The same as --keep-within DAYSd; 0 keeps every backup, whatever the other rules say [env: KRONIC_BACKUP_KEEP_DAYS]'
            cand --keep-last 'Keep the N newest backups [env: KRONIC_BACKUP_KEEP_LAST]'
            cand --keep-daily 'Keep the newest backup of each of the last N days (UTC) [env: KRONIC_BACKUP_KEEP_DAILY]'
            cand --keep-weekly 'Keep the newest backup of each of the last N ISO weeks [env: KRONIC_BACKUP_KEEP_WEEKLY]'
            cand --keep-monthly 'Keep the newest backup of each of the last N months [env: KRONIC_BACKUP_KEEP_MONTHLY]'
            cand --keep-yearly 'Keep the newest backup of each of the last N years [env: KRONIC_BACKUP_KEEP_YEARLY]'
            cand --keep-within 'Keep every backup within DURATION of the newest backup: 30d, 12h, 1y6m (0 is refused: see --keep-days 0) [env: KRONIC_BACKUP_KEEP_WITHIN]'
            cand --metrics-file 'On success, write Prometheus textfile metrics here (for node_exporter) [env: KRONIC_BACKUP_METRICS_FILE]'
            cand --lock-timeout 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]'
            cand --lock-wait 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]'
            cand --compression 'gzip (the default; `gunzip -c FILE | psql` reads it) or zstd (multi-threaded, much cheaper per byte; `zstd -dc FILE | psql`) [env: KRONIC_BACKUP_COMPRESSION]'
            cand --compression-level 'Compression level: gzip 1-9 [default: 6], zstd 1-19 [default: 3]'
            cand --recipient 'Encrypt to this age recipient (age1..., or an ssh-ed25519/ssh-rsa public key); repeatable. With any --recipient or --recipients-file, KRONIC_BACKUP_RECIPIENTS and KRONIC_BACKUP_RECIPIENTS_FILE are not read'
            cand --recipients-file 'Encrypt to the recipients in this file (age''s format: one per line, # comments) [env: KRONIC_BACKUP_RECIPIENTS_FILE]'
            cand --remote 'Also upload every backup, in the same pass, to s3://BUCKET/PREFIX (any S3-compatible service; credentials and endpoint from the AWS_* variables) [env: KRONIC_BACKUP_REMOTE]'
            cand -j 'Streams: above 1, a parallel backup: one folder (NAME.dir) of per-table streams read from one snapshot on N connections, restored with `restore --jobs`. 1 (the default) keeps the single file that `gunzip -c FILE | psql` reads. Offsite, one object per member under NAME.dir/, the manifest last [env: KRONIC_BACKUP_JOBS]'
            cand --jobs 'Streams: above 1, a parallel backup: one folder (NAME.dir) of per-table streams read from one snapshot on N connections, restored with `restore --jobs`. 1 (the default) keeps the single file that `gunzip -c FILE | psql` reads. Offsite, one object per member under NAME.dir/, the manifest last [env: KRONIC_BACKUP_JOBS]'
            cand --wait 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once'
            cand --database-url 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts'
            cand --config 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]'
            cand --remote-only 'Upload only, keeping no file in the backup folder (hosts with little disk)'
            cand --allow-empty 'Back up a database that has no tables (refused otherwise: exit 65, since a green backup of nothing hides a missing `migrate up` or the wrong database)'
            cand -v 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand --verbose 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand -q 'Only warnings and errors on stderr'
            cand --quiet 'Only warnings and errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand list 'List backups, newest first'
            cand verify 'Check that a backup decompresses completely, holds only what a restore allows, and ends like a complete pg_dump'
            cand drill 'Prove that a backup restores: into a scratch database, checked against its manifest (rows per table, schema version, indexes and constraints), then dropped'
            cand keygen 'Make a key pair that signs backups (minisign''s format), never over existing files'
            cand prune 'Delete backups the retention policy does not keep (never the newest)'
            cand sync 'Upload the local backups that the offsite copy lacks (after an outage), oldest first, each checked (a parallel backup member by member, each held to its manifest, the manifest last); then prune the offsite copies by the retention rules'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'kronic;backup;list'= {
            cand --dir 'Backup folder [env: KRONIC_BACKUP_DIR] [default: /var/backups/kronic]'
            cand --remote 'Work on the offsite copies instead of the backup folder: in s3://BUCKET/PREFIX when given, else in KRONIC_BACKUP_REMOTE (as `backup --remote URL` uploads)'
            cand --remote-url 'The same as --remote URL (kept for scripts that use it)'
            cand --lock-timeout 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]'
            cand --lock-wait 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]'
            cand --wait 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once'
            cand --database-url 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts'
            cand --config 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]'
            cand --json 'Print JSON for scripts'
            cand -v 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand --verbose 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand -q 'Only warnings and errors on stderr'
            cand --quiet 'Only warnings and errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'kronic;backup;verify'= {
            cand --dir 'Backup folder [env: KRONIC_BACKUP_DIR] [default: /var/backups/kronic]'
            cand --from-database 'With --latest: the newest may be a backup of this database, not the configured one'
            cand --remote 'Work on the offsite copies instead of the backup folder: in s3://BUCKET/PREFIX when given, else in KRONIC_BACKUP_REMOTE (as `backup --remote URL` uploads)'
            cand --remote-url 'The same as --remote URL (kept for scripts that use it)'
            cand -i 'An age identity file (AGE-SECRET-KEY-1... lines) or an unencrypted ssh private key; repeatable [env: KRONIC_BACKUP_IDENTITY_FILE]'
            cand --identity 'An age identity file (AGE-SECRET-KEY-1... lines) or an unencrypted ssh private key; repeatable [env: KRONIC_BACKUP_IDENTITY_FILE]'
            cand --lock-timeout 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]'
            cand --lock-wait 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]'
            cand --wait 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once'
            cand --database-url 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts'
            cand --config 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]'
            cand --latest 'Verify the newest backup in the folder (with --remote: in the bucket)'
            cand --allow-unsigned 'Verify backups that are not signed by a key of KRONIC_BACKUP_TRUSTED_KEYS, with a warning (refused with --latest)'
            cand -v 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand --verbose 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand -q 'Only warnings and errors on stderr'
            cand --quiet 'Only warnings and errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'kronic;backup;drill'= {
            cand --notify 'Ping this healthchecks.io-style URL: URL/start when the run starts, URL/<exit code> with the outcome''s line when it ends (0 is success) [env: KRONIC_NOTIFY_URL]. The URL is the check''s secret: prefer the variable, since command lines are visible to other users in `ps`'
            cand --dir 'Backup folder [env: KRONIC_BACKUP_DIR] [default: /var/backups/kronic]'
            cand --remote 'Work on the offsite copies instead of the backup folder: in s3://BUCKET/PREFIX when given, else in KRONIC_BACKUP_REMOTE (as `backup --remote URL` uploads)'
            cand --remote-url 'The same as --remote URL (kept for scripts that use it)'
            cand --scratch-db 'The scratch database the drill creates and drops [default: <dbname>_drill_scratch]'
            cand --from-database 'Drill the newest backup even though it is of this database, not the configured one (the newest must otherwise be the configured database''s)'
            cand --metrics-file 'Write Prometheus textfile metrics here (for node_exporter) [env: KRONIC_DRILL_METRICS_FILE]'
            cand -i 'An age identity file (AGE-SECRET-KEY-1... lines) or an unencrypted ssh private key; repeatable [env: KRONIC_BACKUP_IDENTITY_FILE]'
            cand --identity 'An age identity file (AGE-SECRET-KEY-1... lines) or an unencrypted ssh private key; repeatable [env: KRONIC_BACKUP_IDENTITY_FILE]'
            cand --lock-timeout 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]'
            cand --lock-wait 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]'
            cand --wait 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once'
            cand --database-url 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts'
            cand --config 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]'
            cand --allow-unsigned 'Drill a backup that is not signed by a key of KRONIC_BACKUP_TRUSTED_KEYS, with a warning (only one named: never the newest)'
            cand --force 'Drop and reuse an existing scratch database that kronic did not create'
            cand --allow-empty 'Pass a backup with no tables (it fails the drill otherwise)'
            cand --json 'Print the report as JSON'
            cand --allow-superuser 'Restore even when connected as a superuser (or a member of pg_execute_server_program, pg_read_server_files or pg_write_server_files): the backup''s own functions then run with that power. Only for a backup whose history you know [env: KRONIC_ALLOW_SUPERUSER]'
            cand -v 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand --verbose 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand -q 'Only warnings and errors on stderr'
            cand --quiet 'Only warnings and errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'kronic;backup;keygen'= {
            cand --secret-key 'Where the secret key goes [default: KRONIC_BACKUP_SIGNING_KEY]'
            cand --public-key 'Where the public key goes [default: the secret key''s path with .pub]'
            cand --password-file 'Protect the secret key with the password in this file (then KRONIC_BACKUP_SIGNING_KEY_PASSWORD_FILE names it for backups)'
            cand --lock-timeout 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]'
            cand --lock-wait 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]'
            cand --wait 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once'
            cand --database-url 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts'
            cand --config 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]'
            cand -v 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand --verbose 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand -q 'Only warnings and errors on stderr'
            cand --quiet 'Only warnings and errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'kronic;backup;prune'= {
            cand --dir 'Backup folder [env: KRONIC_BACKUP_DIR] [default: /var/backups/kronic]'
            cand --remote 'Work on the offsite copies instead of the backup folder: in s3://BUCKET/PREFIX when given, else in KRONIC_BACKUP_REMOTE (as `backup --remote URL` uploads)'
            cand --remote-url 'The same as --remote URL (kept for scripts that use it)'
            cand --keep-days 'The same as --keep-within DAYSd; 0 keeps every backup, whatever the other rules say [env: KRONIC_BACKUP_KEEP_DAYS]'
            cand --keep-last 'Keep the N newest backups [env: KRONIC_BACKUP_KEEP_LAST]'
            cand --keep-daily 'Keep the newest backup of each of the last N days (UTC) [env: KRONIC_BACKUP_KEEP_DAILY]'
            cand --keep-weekly 'Keep the newest backup of each of the last N ISO weeks [env: KRONIC_BACKUP_KEEP_WEEKLY]'
            cand --keep-monthly 'Keep the newest backup of each of the last N months [env: KRONIC_BACKUP_KEEP_MONTHLY]'
            cand --keep-yearly 'Keep the newest backup of each of the last N years [env: KRONIC_BACKUP_KEEP_YEARLY]'
            cand --keep-within 'Keep every backup within DURATION of the newest backup: 30d, 12h, 1y6m (0 is refused: see --keep-days 0) [env: KRONIC_BACKUP_KEEP_WITHIN]'
            cand --lock-timeout 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]'
            cand --lock-wait 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]'
            cand --wait 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once'
            cand --database-url 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts'
            cand --config 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]'
            cand --json 'Print JSON (name, action, reasons) for scripts'
            cand --dry-run 'Only say what would be deleted'
            cand -v 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand --verbose 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand -q 'Only warnings and errors on stderr'
            cand --quiet 'Only warnings and errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'kronic;backup;sync'= {
            cand --dir 'Backup folder [env: KRONIC_BACKUP_DIR] [default: /var/backups/kronic]'
            cand --remote 'The offsite location, s3://BUCKET/PREFIX [env: KRONIC_BACKUP_REMOTE]'
            cand --keep-days 'The same as --keep-within DAYSd; 0 keeps every backup, whatever the other rules say [env: KRONIC_BACKUP_KEEP_DAYS]'
            cand --keep-last 'Keep the N newest backups [env: KRONIC_BACKUP_KEEP_LAST]'
            cand --keep-daily 'Keep the newest backup of each of the last N days (UTC) [env: KRONIC_BACKUP_KEEP_DAILY]'
            cand --keep-weekly 'Keep the newest backup of each of the last N ISO weeks [env: KRONIC_BACKUP_KEEP_WEEKLY]'
            cand --keep-monthly 'Keep the newest backup of each of the last N months [env: KRONIC_BACKUP_KEEP_MONTHLY]'
            cand --keep-yearly 'Keep the newest backup of each of the last N years [env: KRONIC_BACKUP_KEEP_YEARLY]'
            cand --keep-within 'Keep every backup within DURATION of the newest backup: 30d, 12h, 1y6m (0 is refused: see --keep-days 0) [env: KRONIC_BACKUP_KEEP_WITHIN]'
            cand --lock-timeout 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]'
            cand --lock-wait 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]'
            cand --wait 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once'
            cand --database-url 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts'
            cand --config 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]'
            cand --dry-run 'Only say what would be uploaded'
            cand -v 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand --verbose 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand -q 'Only warnings and errors on stderr'
            cand --quiet 'Only warnings and errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'kronic;backup;help'= {
            cand list 'List backups, newest first'
            cand verify 'Check that a backup decompresses completely, holds only what a restore allows, and ends like a complete pg_dump'
            cand drill 'Prove that a backup restores: into a scratch database, checked against its manifest (rows per table, schema version, indexes and constraints), then dropped'
            cand keygen 'Make a key pair that signs backups (minisign''s format), never over existing files'
            cand prune 'Delete backups the retention policy does not keep (never the newest)'
            cand sync 'Upload the local backups that the offsite copy lacks (after an outage), oldest first, each checked (a parallel backup member by member, each held to its manifest, the manifest last); then prune the offsite copies by the retention rules'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'kronic;backup;help;list'= {
        }
        &'kronic;backup;help;verify'= {
        }
        &'kronic;backup;help;drill'= {
        }
        &'kronic;backup;help;keygen'= {
        }
        &'kronic;backup;help;prune'= {
        }
        &'kronic;backup;help;sync'= {
        }
        &'kronic;backup;help;help'= {
        }
        &'kronic;restore'= {
            cand --from-database 'With --latest: the newest may be a backup of this database, not the configured one (it is refused otherwise, 65)'
            cand --remote 'Work on the offsite copies instead of the backup folder: in s3://BUCKET/PREFIX when given, else in KRONIC_BACKUP_REMOTE (as `backup --remote URL` uploads)'
            cand --remote-url 'The same as --remote URL (kept for scripts that use it)'
            cand --dir 'Backup folder [env: KRONIC_BACKUP_DIR] [default: /var/backups/kronic]'
            cand --target-db 'Restore into this database on the same server instead'
            cand --table 'Restore only this table''s rows (repeatable; `schema.table`, or a name the search path finds): the existing table is emptied and loaded in one transaction. From a parallel backup only its members are read. Refused in place when other tables'' foreign keys point at it (restore into --target-db instead)'
            cand --schema 'Restore only the rows of this schema''s tables (repeatable), as --table does'
            cand -j 'Connections a parallel backup (a NAME.dir folder) is loaded on [default: the cores, at most 8; env: KRONIC_BACKUP_JOBS]. It is built in a scratch database, checked, then swapped in under the target''s name. A single-file backup is always one transaction on one connection'
            cand --jobs 'Connections a parallel backup (a NAME.dir folder) is loaded on [default: the cores, at most 8; env: KRONIC_BACKUP_JOBS]. It is built in a scratch database, checked, then swapped in under the target''s name. A single-file backup is always one transaction on one connection'
            cand --keep-old 'After a parallel restore, keep the old database as NAME_kronic_old for `restore --rollback` (true or false)'
            cand -i 'An age identity file (AGE-SECRET-KEY-1... lines) or an unencrypted ssh private key; repeatable [env: KRONIC_BACKUP_IDENTITY_FILE]'
            cand --identity 'An age identity file (AGE-SECRET-KEY-1... lines) or an unencrypted ssh private key; repeatable [env: KRONIC_BACKUP_IDENTITY_FILE]'
            cand --lock-timeout 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]'
            cand --lock-wait 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]'
            cand --wait 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once'
            cand --database-url 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts'
            cand --config 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]'
            cand --latest 'Restore the newest backup in the backup folder (with --remote: in the bucket)'
            cand --allow-unsigned 'Restore a backup that is not signed by a key of KRONIC_BACKUP_TRUSTED_KEYS (an old one), with a warning. Refused with --latest'
            cand --drop-extra 'Drop the tables the backup does not hold (made after it, by a later migration) in the schemas it restores, in the same transaction; without it they stay, with their rows, and the restore says which'
            cand --create 'Create the --target-db database first if it does not exist'
            cand -y 'Do not ask for confirmation'
            cand --yes 'Do not ask for confirmation'
            cand --terminate-sessions 'Before the swap, end the target''s sessions (pg_terminate_backend) instead of waiting up to KRONIC_LOCK_WAIT for them to close'
            cand --rollback 'Swap the database a parallel restore replaced (NAME_kronic_old) back in; the restored one becomes NAME_kronic_old, so a second --rollback undoes the first'
            cand --allow-superuser 'Restore even when connected as a superuser (or a member of pg_execute_server_program, pg_read_server_files or pg_write_server_files): the backup''s own functions then run with that power. Only for a backup whose history you know [env: KRONIC_ALLOW_SUPERUSER]'
            cand -v 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand --verbose 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand -q 'Only warnings and errors on stderr'
            cand --quiet 'Only warnings and errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'kronic;notify'= {
            cand --failed 'The unit that failed (systemd''s %i)'
            cand --database-url 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts'
            cand --config 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]'
            cand -v 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand --verbose 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand -q 'Only warnings and errors on stderr'
            cand --quiet 'Only warnings and errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'kronic;config'= {
            cand --database-url 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts'
            cand --config 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]'
            cand --json 'Print JSON for scripts'
            cand -v 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand --verbose 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand -q 'Only warnings and errors on stderr'
            cand --quiet 'Only warnings and errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'kronic;health'= {
            cand --timeout 'Seconds the whole check may take'
            cand --wait 'Keep checking for up to SECS seconds until the database is healthy'
            cand --serve 'Serve GET /healthz on ADDR until SIGTERM or Ctrl-C: HOST:PORT (a name or an address; 0.0.0.0:PORT for every interface), or a PORT alone for 127.0.0.1'
            cand --database-url 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts'
            cand --config 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]'
            cand -v 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand --verbose 'More logging: -v debug, -vv also every SQL statement kronic sends'
            cand -q 'Only warnings and errors on stderr'
            cand --quiet 'Only warnings and errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'kronic;help'= {
            cand migrate 'Apply, revert and inspect schema migrations'
            cand seed 'Create the application''s roles and the admin user (safe to run again)'
            cand backup 'Back up the database into a compressed, atomic, pruned file; list, verify, drill and prune backups'
            cand restore 'Restore a backup into the database, completely or not at all'
            cand notify 'Send the failure notification for a systemd unit that failed (its OnFailure=)'
            cand config 'Show the effective settings and where each comes from (secrets masked)'
            cand health 'Check the database and print the health JSON (or serve it at /healthz)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'kronic;help;migrate'= {
            cand up 'Apply pending migrations (all, or up to --target), each in its own transaction'
            cand lint 'Lint migrations with squawk''s rules: the pending ones, the named files, or --all'
            cand plan 'Measure what each pending statement locks and rewrites, on a scratch database'
            cand down 'Revert the newest N applied migrations (default 1), or down to --target'
            cand current 'Show the applied version'
            cand history 'List every migration: applied, pending, divergent or missing'
            cand new 'Create the next numbered migration and its down script'
            cand check 'Compare the live schema with what the applied migrations build'
            cand stamp 'Record VERSION (and everything below it) as applied without running anything'
        }
        &'kronic;help;migrate;up'= {
        }
        &'kronic;help;migrate;lint'= {
        }
        &'kronic;help;migrate;plan'= {
        }
        &'kronic;help;migrate;down'= {
        }
        &'kronic;help;migrate;current'= {
        }
        &'kronic;help;migrate;history'= {
        }
        &'kronic;help;migrate;new'= {
        }
        &'kronic;help;migrate;check'= {
        }
        &'kronic;help;migrate;stamp'= {
        }
        &'kronic;help;seed'= {
        }
        &'kronic;help;backup'= {
            cand list 'List backups, newest first'
            cand verify 'Check that a backup decompresses completely, holds only what a restore allows, and ends like a complete pg_dump'
            cand drill 'Prove that a backup restores: into a scratch database, checked against its manifest (rows per table, schema version, indexes and constraints), then dropped'
            cand keygen 'Make a key pair that signs backups (minisign''s format), never over existing files'
            cand prune 'Delete backups the retention policy does not keep (never the newest)'
            cand sync 'Upload the local backups that the offsite copy lacks (after an outage), oldest first, each checked (a parallel backup member by member, each held to its manifest, the manifest last); then prune the offsite copies by the retention rules'
        }
        &'kronic;help;backup;list'= {
        }
        &'kronic;help;backup;verify'= {
        }
        &'kronic;help;backup;drill'= {
        }
        &'kronic;help;backup;keygen'= {
        }
        &'kronic;help;backup;prune'= {
        }
        &'kronic;help;backup;sync'= {
        }
        &'kronic;help;restore'= {
        }
        &'kronic;help;notify'= {
        }
        &'kronic;help;config'= {
        }
        &'kronic;help;health'= {
        }
        &'kronic;help;help'= {
        }
    ]
    $completions[$command]
}
