
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'kronic' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'kronic'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'kronic' {
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Apply, revert and inspect schema migrations')
            [CompletionResult]::new('seed', 'seed', [CompletionResultType]::ParameterValue, 'Create the application''s roles and the admin user (safe to run again)')
            [CompletionResult]::new('backup', 'backup', [CompletionResultType]::ParameterValue, 'Back up the database into a compressed, atomic, pruned file; list, verify, drill and prune backups')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Restore a backup into the database, completely or not at all')
            [CompletionResult]::new('notify', 'notify', [CompletionResultType]::ParameterValue, 'Send the failure notification for a systemd unit that failed (its OnFailure=)')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Show the effective settings and where each comes from (secrets masked)')
            [CompletionResult]::new('health', 'health', [CompletionResultType]::ParameterValue, 'Check the database and print the health JSON (or serve it at /healthz)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kronic;migrate' {
            [CompletionResult]::new('--migrations', '--migrations', [CompletionResultType]::ParameterName, 'Load migrations from this folder instead of the ones built into kronic [env: KRONIC_MIGRATIONS_DIR]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]')
            [CompletionResult]::new('--lock-wait', '--lock-wait', [CompletionResultType]::ParameterName, 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('up', 'up', [CompletionResultType]::ParameterValue, 'Apply pending migrations (all, or up to --target), each in its own transaction')
            [CompletionResult]::new('lint', 'lint', [CompletionResultType]::ParameterValue, 'Lint migrations with squawk''s rules: the pending ones, the named files, or --all')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Measure what each pending statement locks and rewrites, on a scratch database')
            [CompletionResult]::new('down', 'down', [CompletionResultType]::ParameterValue, 'Revert the newest N applied migrations (default 1), or down to --target')
            [CompletionResult]::new('current', 'current', [CompletionResultType]::ParameterValue, 'Show the applied version')
            [CompletionResult]::new('history', 'history', [CompletionResultType]::ParameterValue, 'List every migration: applied, pending, divergent or missing')
            [CompletionResult]::new('new', 'new', [CompletionResultType]::ParameterValue, 'Create the next numbered migration and its down script')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Compare the live schema with what the applied migrations build')
            [CompletionResult]::new('stamp', 'stamp', [CompletionResultType]::ParameterValue, 'Record VERSION (and everything below it) as applied without running anything')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kronic;migrate;up' {
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Stop after this version')
            [CompletionResult]::new('--lint', '--lint', [CompletionResultType]::ParameterName, 'Lint the pending migrations first: deny stops before anything runs when a finding is an error, warn prints them (and asks, on a terminal), off skips linting [default: warn on a terminal, deny otherwise]')
            [CompletionResult]::new('--migrations', '--migrations', [CompletionResultType]::ParameterName, 'Load migrations from this folder instead of the ones built into kronic [env: KRONIC_MIGRATIONS_DIR]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]')
            [CompletionResult]::new('--lock-wait', '--lock-wait', [CompletionResultType]::ParameterName, 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the SQL that would run, in order, and change nothing')
            [CompletionResult]::new('--backup', '--backup', [CompletionResultType]::ParameterName, 'First take a verified backup (the normal one, into the backup folder); if a migration then fails, the error names the command that restores it')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'kronic;migrate;lint' {
            [CompletionResult]::new('--pg-version', '--pg-version', [CompletionResultType]::ParameterName, 'The server''s major version (15, 16, …), instead of asking the server')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'text, json, github (workflow commands: annotations on the pull request) or gitlab (code-quality JSON)')
            [CompletionResult]::new('--migrations', '--migrations', [CompletionResultType]::ParameterName, 'Load migrations from this folder instead of the ones built into kronic [env: KRONIC_MIGRATIONS_DIR]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]')
            [CompletionResult]::new('--lock-wait', '--lock-wait', [CompletionResultType]::ParameterName, 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Lint every migration, applied ones included')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Same as --format json')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'kronic;migrate;plan' {
            [CompletionResult]::new('--max-rewrite', '--max-rewrite', [CompletionResultType]::ParameterName, 'The largest table a statement may rewrite or scan while it blocks writes')
            [CompletionResult]::new('--migrations', '--migrations', [CompletionResultType]::ParameterName, 'Load migrations from this folder instead of the ones built into kronic [env: KRONIC_MIGRATIONS_DIR]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]')
            [CompletionResult]::new('--lock-wait', '--lock-wait', [CompletionResultType]::ParameterName, 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON for CI')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'kronic;migrate;down' {
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Revert every migration above this version (0 reverts all)')
            [CompletionResult]::new('--migrations', '--migrations', [CompletionResultType]::ParameterName, 'Load migrations from this folder instead of the ones built into kronic [env: KRONIC_MIGRATIONS_DIR]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]')
            [CompletionResult]::new('--lock-wait', '--lock-wait', [CompletionResultType]::ParameterName, 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the SQL that would run, in order, and change nothing')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'kronic;migrate;current' {
            [CompletionResult]::new('--migrations', '--migrations', [CompletionResultType]::ParameterName, 'Load migrations from this folder instead of the ones built into kronic [env: KRONIC_MIGRATIONS_DIR]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]')
            [CompletionResult]::new('--lock-wait', '--lock-wait', [CompletionResultType]::ParameterName, 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON for scripts')
            [CompletionResult]::new('--exit-code', '--exit-code', [CompletionResultType]::ParameterName, 'Exit 1 when migrations are pending (for CI gates)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'kronic;migrate;history' {
            [CompletionResult]::new('--migrations', '--migrations', [CompletionResultType]::ParameterName, 'Load migrations from this folder instead of the ones built into kronic [env: KRONIC_MIGRATIONS_DIR]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]')
            [CompletionResult]::new('--lock-wait', '--lock-wait', [CompletionResultType]::ParameterName, 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON for scripts')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'kronic;migrate;new' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Folder to write into')
            [CompletionResult]::new('--migrations', '--migrations', [CompletionResultType]::ParameterName, 'Load migrations from this folder instead of the ones built into kronic [env: KRONIC_MIGRATIONS_DIR]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]')
            [CompletionResult]::new('--lock-wait', '--lock-wait', [CompletionResultType]::ParameterName, 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'kronic;migrate;check' {
            [CompletionResult]::new('--migrations', '--migrations', [CompletionResultType]::ParameterName, 'Load migrations from this folder instead of the ones built into kronic [env: KRONIC_MIGRATIONS_DIR]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]')
            [CompletionResult]::new('--lock-wait', '--lock-wait', [CompletionResultType]::ParameterName, 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON for CI')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'kronic;migrate;stamp' {
            [CompletionResult]::new('--migrations', '--migrations', [CompletionResultType]::ParameterName, 'Load migrations from this folder instead of the ones built into kronic [env: KRONIC_MIGRATIONS_DIR]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]')
            [CompletionResult]::new('--lock-wait', '--lock-wait', [CompletionResultType]::ParameterName, 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'kronic;migrate;help' {
            [CompletionResult]::new('up', 'up', [CompletionResultType]::ParameterValue, 'Apply pending migrations (all, or up to --target), each in its own transaction')
            [CompletionResult]::new('lint', 'lint', [CompletionResultType]::ParameterValue, 'Lint migrations with squawk''s rules: the pending ones, the named files, or --all')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Measure what each pending statement locks and rewrites, on a scratch database')
            [CompletionResult]::new('down', 'down', [CompletionResultType]::ParameterValue, 'Revert the newest N applied migrations (default 1), or down to --target')
            [CompletionResult]::new('current', 'current', [CompletionResultType]::ParameterValue, 'Show the applied version')
            [CompletionResult]::new('history', 'history', [CompletionResultType]::ParameterValue, 'List every migration: applied, pending, divergent or missing')
            [CompletionResult]::new('new', 'new', [CompletionResultType]::ParameterValue, 'Create the next numbered migration and its down script')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Compare the live schema with what the applied migrations build')
            [CompletionResult]::new('stamp', 'stamp', [CompletionResultType]::ParameterValue, 'Record VERSION (and everything below it) as applied without running anything')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kronic;migrate;help;up' {
            break
        }
        'kronic;migrate;help;lint' {
            break
        }
        'kronic;migrate;help;plan' {
            break
        }
        'kronic;migrate;help;down' {
            break
        }
        'kronic;migrate;help;current' {
            break
        }
        'kronic;migrate;help;history' {
            break
        }
        'kronic;migrate;help;new' {
            break
        }
        'kronic;migrate;help;check' {
            break
        }
        'kronic;migrate;help;stamp' {
            break
        }
        'kronic;migrate;help;help' {
            break
        }
        'kronic;seed' {
            [CompletionResult]::new('--admin-email', '--admin-email', [CompletionResultType]::ParameterName, 'The admin user''s email address [env: KRONIC_ADMIN_EMAIL]')
            [CompletionResult]::new('--admin-password', '--admin-password', [CompletionResultType]::ParameterName, 'The admin user''s password (at least 12 characters) [env: KRONIC_ADMIN_PASSWORD]. Prefer the environment or --admin-password-stdin: command lines are visible in `ps`')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]')
            [CompletionResult]::new('--admin-password-stdin', '--admin-password-stdin', [CompletionResultType]::ParameterName, 'Read the admin password from the first line of standard input (beats KRONIC_ADMIN_PASSWORD)')
            [CompletionResult]::new('--reset-admin-password', '--reset-admin-password', [CompletionResultType]::ParameterName, 'Replace an existing admin user''s password with the given one')
            [CompletionResult]::new('--update-roles', '--update-roles', [CompletionResultType]::ParameterName, 'Rewrite roles whose permissions differ from kronic''s definitions')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'kronic;backup' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Backup folder [env: KRONIC_BACKUP_DIR] [default: /var/backups/kronic]')
            [CompletionResult]::new('--notify', '--notify', [CompletionResultType]::ParameterName, 'Ping this healthchecks.io-style URL: URL/start when the run starts, URL/<exit code> with the outcome''s line when it ends (0 is success) [env: KRONIC_NOTIFY_URL]. The URL is the check''s secret: prefer the variable, since command lines are visible to other users in `ps`')
            [CompletionResult]::new('--keep-days', '--keep-days', [CompletionResultType]::ParameterName, 'The same as --keep-within DAYSd; 0 keeps every backup, whatever the other rules say [env: KRONIC_BACKUP_KEEP_DAYS]')
            [CompletionResult]::new('--keep-last', '--keep-last', [CompletionResultType]::ParameterName, 'Keep the N newest backups [env: KRONIC_BACKUP_KEEP_LAST]')
            [CompletionResult]::new('--keep-daily', '--keep-daily', [CompletionResultType]::ParameterName, 'Keep the newest backup of each of the last N days (UTC) [env: KRONIC_BACKUP_KEEP_DAILY]')
            [CompletionResult]::new('--keep-weekly', '--keep-weekly', [CompletionResultType]::ParameterName, 'Keep the newest backup of each of the last N ISO weeks [env: KRONIC_BACKUP_KEEP_WEEKLY]')
            [CompletionResult]::new('--keep-monthly', '--keep-monthly', [CompletionResultType]::ParameterName, 'Keep the newest backup of each of the last N months [env: KRONIC_BACKUP_KEEP_MONTHLY]')
            [CompletionResult]::new('--keep-yearly', '--keep-yearly', [CompletionResultType]::ParameterName, 'Keep the newest backup of each of the last N years [env: KRONIC_BACKUP_KEEP_YEARLY]')
            [CompletionResult]::new('--keep-within', '--keep-within', [CompletionResultType]::ParameterName, 'Keep every backup within DURATION of the newest backup: 30d, 12h, 1y6m (0 is refused: see --keep-days 0) [env: KRONIC_BACKUP_KEEP_WITHIN]')
            [CompletionResult]::new('--metrics-file', '--metrics-file', [CompletionResultType]::ParameterName, 'On success, write Prometheus textfile metrics here (for node_exporter) [env: KRONIC_BACKUP_METRICS_FILE]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]')
            [CompletionResult]::new('--lock-wait', '--lock-wait', [CompletionResultType]::ParameterName, 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]')
            [CompletionResult]::new('--compression', '--compression', [CompletionResultType]::ParameterName, 'gzip (the default; `gunzip -c FILE | psql` reads it) or zstd (multi-threaded, much cheaper per byte; `zstd -dc FILE | psql`) [env: KRONIC_BACKUP_COMPRESSION]')
            [CompletionResult]::new('--compression-level', '--compression-level', [CompletionResultType]::ParameterName, 'Compression level: gzip 1-9 [default: 6], zstd 1-19 [default: 3]')
            [CompletionResult]::new('--recipient', '--recipient', [CompletionResultType]::ParameterName, 'Encrypt to this age recipient (age1..., or an ssh-ed25519/ssh-rsa public key); repeatable. With any --recipient or --recipients-file, KRONIC_BACKUP_RECIPIENTS and KRONIC_BACKUP_RECIPIENTS_FILE are not read')
            [CompletionResult]::new('--recipients-file', '--recipients-file', [CompletionResultType]::ParameterName, 'Encrypt to the recipients in this file (age''s format: one per line, # comments) [env: KRONIC_BACKUP_RECIPIENTS_FILE]')
            [CompletionResult]::new('--remote', '--remote', [CompletionResultType]::ParameterName, 'Also upload every backup, in the same pass, to s3://BUCKET/PREFIX (any S3-compatible service; credentials and endpoint from the AWS_* variables) [env: KRONIC_BACKUP_REMOTE]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Streams: above 1, a parallel backup: one folder (NAME.dir) of per-table streams read from one snapshot on N connections, restored with `restore --jobs`. 1 (the default) keeps the single file that `gunzip -c FILE | psql` reads. Offsite, one object per member under NAME.dir/, the manifest last [env: KRONIC_BACKUP_JOBS]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Streams: above 1, a parallel backup: one folder (NAME.dir) of per-table streams read from one snapshot on N connections, restored with `restore --jobs`. 1 (the default) keeps the single file that `gunzip -c FILE | psql` reads. Offsite, one object per member under NAME.dir/, the manifest last [env: KRONIC_BACKUP_JOBS]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]')
            [CompletionResult]::new('--remote-only', '--remote-only', [CompletionResultType]::ParameterName, 'Upload only, keeping no file in the backup folder (hosts with little disk)')
            [CompletionResult]::new('--allow-empty', '--allow-empty', [CompletionResultType]::ParameterName, 'Back up a database that has no tables (refused otherwise: exit 65, since a green backup of nothing hides a missing `migrate up` or the wrong database)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List backups, newest first')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check that a backup decompresses completely, holds only what a restore allows, and ends like a complete pg_dump')
            [CompletionResult]::new('drill', 'drill', [CompletionResultType]::ParameterValue, 'Prove that a backup restores: into a scratch database, checked against its manifest (rows per table, schema version, indexes and constraints), then dropped')
            [CompletionResult]::new('keygen', 'keygen', [CompletionResultType]::ParameterValue, 'Make a key pair that signs backups (minisign''s format), never over existing files')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Delete backups the retention policy does not keep (never the newest)')
            [CompletionResult]::new('sync', 'sync', [CompletionResultType]::ParameterValue, 'Upload the local backups that the offsite copy lacks (after an outage), oldest first, each checked (a parallel backup member by member, each held to its manifest, the manifest last); then prune the offsite copies by the retention rules')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kronic;backup;list' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Backup folder [env: KRONIC_BACKUP_DIR] [default: /var/backups/kronic]')
            [CompletionResult]::new('--remote', '--remote', [CompletionResultType]::ParameterName, 'Work on the offsite copies instead of the backup folder: in s3://BUCKET/PREFIX when given, else in KRONIC_BACKUP_REMOTE (as `backup --remote URL` uploads)')
            [CompletionResult]::new('--remote-url', '--remote-url', [CompletionResultType]::ParameterName, 'The same as --remote URL (kept for scripts that use it)')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]')
            [CompletionResult]::new('--lock-wait', '--lock-wait', [CompletionResultType]::ParameterName, 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON for scripts')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'kronic;backup;verify' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Backup folder [env: KRONIC_BACKUP_DIR] [default: /var/backups/kronic]')
            [CompletionResult]::new('--from-database', '--from-database', [CompletionResultType]::ParameterName, 'With --latest: the newest may be a backup of this database, not the configured one')
            [CompletionResult]::new('--remote', '--remote', [CompletionResultType]::ParameterName, 'Work on the offsite copies instead of the backup folder: in s3://BUCKET/PREFIX when given, else in KRONIC_BACKUP_REMOTE (as `backup --remote URL` uploads)')
            [CompletionResult]::new('--remote-url', '--remote-url', [CompletionResultType]::ParameterName, 'The same as --remote URL (kept for scripts that use it)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An age identity file (AGE-SECRET-KEY-1... lines) or an unencrypted ssh private key; repeatable [env: KRONIC_BACKUP_IDENTITY_FILE]')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'An age identity file (AGE-SECRET-KEY-1... lines) or an unencrypted ssh private key; repeatable [env: KRONIC_BACKUP_IDENTITY_FILE]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]')
            [CompletionResult]::new('--lock-wait', '--lock-wait', [CompletionResultType]::ParameterName, 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]')
            [CompletionResult]::new('--latest', '--latest', [CompletionResultType]::ParameterName, 'Verify the newest backup in the folder (with --remote: in the bucket)')
            [CompletionResult]::new('--allow-unsigned', '--allow-unsigned', [CompletionResultType]::ParameterName, 'Verify backups that are not signed by a key of KRONIC_BACKUP_TRUSTED_KEYS, with a warning (refused with --latest)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'kronic;backup;drill' {
            [CompletionResult]::new('--notify', '--notify', [CompletionResultType]::ParameterName, 'Ping this healthchecks.io-style URL: URL/start when the run starts, URL/<exit code> with the outcome''s line when it ends (0 is success) [env: KRONIC_NOTIFY_URL]. The URL is the check''s secret: prefer the variable, since command lines are visible to other users in `ps`')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Backup folder [env: KRONIC_BACKUP_DIR] [default: /var/backups/kronic]')
            [CompletionResult]::new('--remote', '--remote', [CompletionResultType]::ParameterName, 'Work on the offsite copies instead of the backup folder: in s3://BUCKET/PREFIX when given, else in KRONIC_BACKUP_REMOTE (as `backup --remote URL` uploads)')
            [CompletionResult]::new('--remote-url', '--remote-url', [CompletionResultType]::ParameterName, 'The same as --remote URL (kept for scripts that use it)')
            [CompletionResult]::new('--scratch-db', '--scratch-db', [CompletionResultType]::ParameterName, 'The scratch database the drill creates and drops [default: <dbname>_drill_scratch]')
            [CompletionResult]::new('--from-database', '--from-database', [CompletionResultType]::ParameterName, 'Drill the newest backup even though it is of this database, not the configured one (the newest must otherwise be the configured database''s)')
            [CompletionResult]::new('--metrics-file', '--metrics-file', [CompletionResultType]::ParameterName, 'Write Prometheus textfile metrics here (for node_exporter) [env: KRONIC_DRILL_METRICS_FILE]')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An age identity file (AGE-SECRET-KEY-1... lines) or an unencrypted ssh private key; repeatable [env: KRONIC_BACKUP_IDENTITY_FILE]')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'An age identity file (AGE-SECRET-KEY-1... lines) or an unencrypted ssh private key; repeatable [env: KRONIC_BACKUP_IDENTITY_FILE]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]')
            [CompletionResult]::new('--lock-wait', '--lock-wait', [CompletionResultType]::ParameterName, 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]')
            [CompletionResult]::new('--allow-unsigned', '--allow-unsigned', [CompletionResultType]::ParameterName, 'Drill a backup that is not signed by a key of KRONIC_BACKUP_TRUSTED_KEYS, with a warning (only one named: never the newest)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Drop and reuse an existing scratch database that kronic did not create')
            [CompletionResult]::new('--allow-empty', '--allow-empty', [CompletionResultType]::ParameterName, 'Pass a backup with no tables (it fails the drill otherwise)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the report as JSON')
            [CompletionResult]::new('--allow-superuser', '--allow-superuser', [CompletionResultType]::ParameterName, 'Restore even when connected as a superuser (or a member of pg_execute_server_program, pg_read_server_files or pg_write_server_files): the backup''s own functions then run with that power. Only for a backup whose history you know [env: KRONIC_ALLOW_SUPERUSER]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'kronic;backup;keygen' {
            [CompletionResult]::new('--secret-key', '--secret-key', [CompletionResultType]::ParameterName, 'Where the secret key goes [default: KRONIC_BACKUP_SIGNING_KEY]')
            [CompletionResult]::new('--public-key', '--public-key', [CompletionResultType]::ParameterName, 'Where the public key goes [default: the secret key''s path with .pub]')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'Protect the secret key with the password in this file (then KRONIC_BACKUP_SIGNING_KEY_PASSWORD_FILE names it for backups)')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]')
            [CompletionResult]::new('--lock-wait', '--lock-wait', [CompletionResultType]::ParameterName, 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'kronic;backup;prune' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Backup folder [env: KRONIC_BACKUP_DIR] [default: /var/backups/kronic]')
            [CompletionResult]::new('--remote', '--remote', [CompletionResultType]::ParameterName, 'Work on the offsite copies instead of the backup folder: in s3://BUCKET/PREFIX when given, else in KRONIC_BACKUP_REMOTE (as `backup --remote URL` uploads)')
            [CompletionResult]::new('--remote-url', '--remote-url', [CompletionResultType]::ParameterName, 'The same as --remote URL (kept for scripts that use it)')
            [CompletionResult]::new('--keep-days', '--keep-days', [CompletionResultType]::ParameterName, 'The same as --keep-within DAYSd; 0 keeps every backup, whatever the other rules say [env: KRONIC_BACKUP_KEEP_DAYS]')
            [CompletionResult]::new('--keep-last', '--keep-last', [CompletionResultType]::ParameterName, 'Keep the N newest backups [env: KRONIC_BACKUP_KEEP_LAST]')
            [CompletionResult]::new('--keep-daily', '--keep-daily', [CompletionResultType]::ParameterName, 'Keep the newest backup of each of the last N days (UTC) [env: KRONIC_BACKUP_KEEP_DAILY]')
            [CompletionResult]::new('--keep-weekly', '--keep-weekly', [CompletionResultType]::ParameterName, 'Keep the newest backup of each of the last N ISO weeks [env: KRONIC_BACKUP_KEEP_WEEKLY]')
            [CompletionResult]::new('--keep-monthly', '--keep-monthly', [CompletionResultType]::ParameterName, 'Keep the newest backup of each of the last N months [env: KRONIC_BACKUP_KEEP_MONTHLY]')
            [CompletionResult]::new('--keep-yearly', '--keep-yearly', [CompletionResultType]::ParameterName, 'Keep the newest backup of each of the last N years [env: KRONIC_BACKUP_KEEP_YEARLY]')
            [CompletionResult]::new('--keep-within', '--keep-within', [CompletionResultType]::ParameterName, 'Keep every backup within DURATION of the newest backup: 30d, 12h, 1y6m (0 is refused: see --keep-days 0) [env: KRONIC_BACKUP_KEEP_WITHIN]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]')
            [CompletionResult]::new('--lock-wait', '--lock-wait', [CompletionResultType]::ParameterName, 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON (name, action, reasons) for scripts')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Only say what would be deleted')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'kronic;backup;sync' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Backup folder [env: KRONIC_BACKUP_DIR] [default: /var/backups/kronic]')
            [CompletionResult]::new('--remote', '--remote', [CompletionResultType]::ParameterName, 'The offsite location, s3://BUCKET/PREFIX [env: KRONIC_BACKUP_REMOTE]')
            [CompletionResult]::new('--keep-days', '--keep-days', [CompletionResultType]::ParameterName, 'The same as --keep-within DAYSd; 0 keeps every backup, whatever the other rules say [env: KRONIC_BACKUP_KEEP_DAYS]')
            [CompletionResult]::new('--keep-last', '--keep-last', [CompletionResultType]::ParameterName, 'Keep the N newest backups [env: KRONIC_BACKUP_KEEP_LAST]')
            [CompletionResult]::new('--keep-daily', '--keep-daily', [CompletionResultType]::ParameterName, 'Keep the newest backup of each of the last N days (UTC) [env: KRONIC_BACKUP_KEEP_DAILY]')
            [CompletionResult]::new('--keep-weekly', '--keep-weekly', [CompletionResultType]::ParameterName, 'Keep the newest backup of each of the last N ISO weeks [env: KRONIC_BACKUP_KEEP_WEEKLY]')
            [CompletionResult]::new('--keep-monthly', '--keep-monthly', [CompletionResultType]::ParameterName, 'Keep the newest backup of each of the last N months [env: KRONIC_BACKUP_KEEP_MONTHLY]')
            [CompletionResult]::new('--keep-yearly', '--keep-yearly', [CompletionResultType]::ParameterName, 'Keep the newest backup of each of the last N years [env: KRONIC_BACKUP_KEEP_YEARLY]')
            [CompletionResult]::new('--keep-within', '--keep-within', [CompletionResultType]::ParameterName, 'Keep every backup within DURATION of the newest backup: 30d, 12h, 1y6m (0 is refused: see --keep-days 0) [env: KRONIC_BACKUP_KEEP_WITHIN]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]')
            [CompletionResult]::new('--lock-wait', '--lock-wait', [CompletionResultType]::ParameterName, 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Only say what would be uploaded')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'kronic;backup;help' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List backups, newest first')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check that a backup decompresses completely, holds only what a restore allows, and ends like a complete pg_dump')
            [CompletionResult]::new('drill', 'drill', [CompletionResultType]::ParameterValue, 'Prove that a backup restores: into a scratch database, checked against its manifest (rows per table, schema version, indexes and constraints), then dropped')
            [CompletionResult]::new('keygen', 'keygen', [CompletionResultType]::ParameterValue, 'Make a key pair that signs backups (minisign''s format), never over existing files')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Delete backups the retention policy does not keep (never the newest)')
            [CompletionResult]::new('sync', 'sync', [CompletionResultType]::ParameterValue, 'Upload the local backups that the offsite copy lacks (after an outage), oldest first, each checked (a parallel backup member by member, each held to its manifest, the manifest last); then prune the offsite copies by the retention rules')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kronic;backup;help;list' {
            break
        }
        'kronic;backup;help;verify' {
            break
        }
        'kronic;backup;help;drill' {
            break
        }
        'kronic;backup;help;keygen' {
            break
        }
        'kronic;backup;help;prune' {
            break
        }
        'kronic;backup;help;sync' {
            break
        }
        'kronic;backup;help;help' {
            break
        }
        'kronic;restore' {
            [CompletionResult]::new('--from-database', '--from-database', [CompletionResultType]::ParameterName, 'With --latest: the newest may be a backup of this database, not the configured one (it is refused otherwise, 65)')
            [CompletionResult]::new('--remote', '--remote', [CompletionResultType]::ParameterName, 'Work on the offsite copies instead of the backup folder: in s3://BUCKET/PREFIX when given, else in KRONIC_BACKUP_REMOTE (as `backup --remote URL` uploads)')
            [CompletionResult]::new('--remote-url', '--remote-url', [CompletionResultType]::ParameterName, 'The same as --remote URL (kept for scripts that use it)')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Backup folder [env: KRONIC_BACKUP_DIR] [default: /var/backups/kronic]')
            [CompletionResult]::new('--target-db', '--target-db', [CompletionResultType]::ParameterName, 'Restore into this database on the same server instead')
            [CompletionResult]::new('--table', '--table', [CompletionResultType]::ParameterName, 'Restore only this table''s rows (repeatable; `schema.table`, or a name the search path finds): the existing table is emptied and loaded in one transaction. From a parallel backup only its members are read. Refused in place when other tables'' foreign keys point at it (restore into --target-db instead)')
            [CompletionResult]::new('--schema', '--schema', [CompletionResultType]::ParameterName, 'Restore only the rows of this schema''s tables (repeatable), as --table does')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Connections a parallel backup (a NAME.dir folder) is loaded on [default: the cores, at most 8; env: KRONIC_BACKUP_JOBS]. It is built in a scratch database, checked, then swapped in under the target''s name. A single-file backup is always one transaction on one connection')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Connections a parallel backup (a NAME.dir folder) is loaded on [default: the cores, at most 8; env: KRONIC_BACKUP_JOBS]. It is built in a scratch database, checked, then swapped in under the target''s name. A single-file backup is always one transaction on one connection')
            [CompletionResult]::new('--keep-old', '--keep-old', [CompletionResultType]::ParameterName, 'After a parallel restore, keep the old database as NAME_kronic_old for `restore --rollback` (true or false)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An age identity file (AGE-SECRET-KEY-1... lines) or an unencrypted ssh private key; repeatable [env: KRONIC_BACKUP_IDENTITY_FILE]')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'An age identity file (AGE-SECRET-KEY-1... lines) or an unencrypted ssh private key; repeatable [env: KRONIC_BACKUP_IDENTITY_FILE]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for table locks on each try; then kronic steps back (letting the application''s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]')
            [CompletionResult]::new('--lock-wait', '--lock-wait', [CompletionResultType]::ParameterName, 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic''s migration; pg_dump''s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]')
            [CompletionResult]::new('--latest', '--latest', [CompletionResultType]::ParameterName, 'Restore the newest backup in the backup folder (with --remote: in the bucket)')
            [CompletionResult]::new('--allow-unsigned', '--allow-unsigned', [CompletionResultType]::ParameterName, 'Restore a backup that is not signed by a key of KRONIC_BACKUP_TRUSTED_KEYS (an old one), with a warning. Refused with --latest')
            [CompletionResult]::new('--drop-extra', '--drop-extra', [CompletionResultType]::ParameterName, 'Drop the tables the backup does not hold (made after it, by a later migration) in the schemas it restores, in the same transaction; without it they stay, with their rows, and the restore says which')
            [CompletionResult]::new('--create', '--create', [CompletionResultType]::ParameterName, 'Create the --target-db database first if it does not exist')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation')
            [CompletionResult]::new('--terminate-sessions', '--terminate-sessions', [CompletionResultType]::ParameterName, 'Before the swap, end the target''s sessions (pg_terminate_backend) instead of waiting up to KRONIC_LOCK_WAIT for them to close')
            [CompletionResult]::new('--rollback', '--rollback', [CompletionResultType]::ParameterName, 'Swap the database a parallel restore replaced (NAME_kronic_old) back in; the restored one becomes NAME_kronic_old, so a second --rollback undoes the first')
            [CompletionResult]::new('--allow-superuser', '--allow-superuser', [CompletionResultType]::ParameterName, 'Restore even when connected as a superuser (or a member of pg_execute_server_program, pg_read_server_files or pg_write_server_files): the backup''s own functions then run with that power. Only for a backup whose history you know [env: KRONIC_ALLOW_SUPERUSER]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'kronic;notify' {
            [CompletionResult]::new('--failed', '--failed', [CompletionResultType]::ParameterName, 'The unit that failed (systemd''s %i)')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'kronic;config' {
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON for scripts')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'kronic;health' {
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds the whole check may take')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Keep checking for up to SECS seconds until the database is healthy')
            [CompletionResult]::new('--serve', '--serve', [CompletionResultType]::ParameterName, 'Serve GET /healthz on ADDR until SIGTERM or Ctrl-C: HOST:PORT (a name or an address; 0.0.0.0:PORT for every interface), or a PORT alone for 127.0.0.1')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More logging: -v debug, -vv also every SQL statement kronic sends')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'kronic;help' {
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Apply, revert and inspect schema migrations')
            [CompletionResult]::new('seed', 'seed', [CompletionResultType]::ParameterValue, 'Create the application''s roles and the admin user (safe to run again)')
            [CompletionResult]::new('backup', 'backup', [CompletionResultType]::ParameterValue, 'Back up the database into a compressed, atomic, pruned file; list, verify, drill and prune backups')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Restore a backup into the database, completely or not at all')
            [CompletionResult]::new('notify', 'notify', [CompletionResultType]::ParameterValue, 'Send the failure notification for a systemd unit that failed (its OnFailure=)')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Show the effective settings and where each comes from (secrets masked)')
            [CompletionResult]::new('health', 'health', [CompletionResultType]::ParameterValue, 'Check the database and print the health JSON (or serve it at /healthz)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kronic;help;migrate' {
            [CompletionResult]::new('up', 'up', [CompletionResultType]::ParameterValue, 'Apply pending migrations (all, or up to --target), each in its own transaction')
            [CompletionResult]::new('lint', 'lint', [CompletionResultType]::ParameterValue, 'Lint migrations with squawk''s rules: the pending ones, the named files, or --all')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Measure what each pending statement locks and rewrites, on a scratch database')
            [CompletionResult]::new('down', 'down', [CompletionResultType]::ParameterValue, 'Revert the newest N applied migrations (default 1), or down to --target')
            [CompletionResult]::new('current', 'current', [CompletionResultType]::ParameterValue, 'Show the applied version')
            [CompletionResult]::new('history', 'history', [CompletionResultType]::ParameterValue, 'List every migration: applied, pending, divergent or missing')
            [CompletionResult]::new('new', 'new', [CompletionResultType]::ParameterValue, 'Create the next numbered migration and its down script')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Compare the live schema with what the applied migrations build')
            [CompletionResult]::new('stamp', 'stamp', [CompletionResultType]::ParameterValue, 'Record VERSION (and everything below it) as applied without running anything')
            break
        }
        'kronic;help;migrate;up' {
            break
        }
        'kronic;help;migrate;lint' {
            break
        }
        'kronic;help;migrate;plan' {
            break
        }
        'kronic;help;migrate;down' {
            break
        }
        'kronic;help;migrate;current' {
            break
        }
        'kronic;help;migrate;history' {
            break
        }
        'kronic;help;migrate;new' {
            break
        }
        'kronic;help;migrate;check' {
            break
        }
        'kronic;help;migrate;stamp' {
            break
        }
        'kronic;help;seed' {
            break
        }
        'kronic;help;backup' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List backups, newest first')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check that a backup decompresses completely, holds only what a restore allows, and ends like a complete pg_dump')
            [CompletionResult]::new('drill', 'drill', [CompletionResultType]::ParameterValue, 'Prove that a backup restores: into a scratch database, checked against its manifest (rows per table, schema version, indexes and constraints), then dropped')
            [CompletionResult]::new('keygen', 'keygen', [CompletionResultType]::ParameterValue, 'Make a key pair that signs backups (minisign''s format), never over existing files')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Delete backups the retention policy does not keep (never the newest)')
            [CompletionResult]::new('sync', 'sync', [CompletionResultType]::ParameterValue, 'Upload the local backups that the offsite copy lacks (after an outage), oldest first, each checked (a parallel backup member by member, each held to its manifest, the manifest last); then prune the offsite copies by the retention rules')
            break
        }
        'kronic;help;backup;list' {
            break
        }
        'kronic;help;backup;verify' {
            break
        }
        'kronic;help;backup;drill' {
            break
        }
        'kronic;help;backup;keygen' {
            break
        }
        'kronic;help;backup;prune' {
            break
        }
        'kronic;help;backup;sync' {
            break
        }
        'kronic;help;restore' {
            break
        }
        'kronic;help;notify' {
            break
        }
        'kronic;help;config' {
            break
        }
        'kronic;help;health' {
            break
        }
        'kronic;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
