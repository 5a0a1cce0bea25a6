# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_kronic_global_optspecs
    string join \n database-url= config= v/verbose q/quiet h/help V/version
end

function __fish_kronic_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_kronic_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_kronic_using_subcommand
    set -l cmd (__fish_kronic_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c kronic -n "__fish_kronic_needs_command" -l database-url -d 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts' -r
complete -c kronic -n "__fish_kronic_needs_command" -l config -d 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]' -r -F
complete -c kronic -n "__fish_kronic_needs_command" -s v -l verbose -d 'More logging: -v debug, -vv also every SQL statement kronic sends'
complete -c kronic -n "__fish_kronic_needs_command" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c kronic -n "__fish_kronic_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kronic -n "__fish_kronic_needs_command" -s V -l version -d 'Print version'
complete -c kronic -n "__fish_kronic_needs_command" -f -a "migrate" -d 'Apply, revert and inspect schema migrations'
complete -c kronic -n "__fish_kronic_needs_command" -f -a "seed" -d 'Create the application\'s roles and the admin user (safe to run again)'
complete -c kronic -n "__fish_kronic_needs_command" -f -a "backup" -d 'Back up the database into a compressed, atomic, pruned file; list, verify, drill and prune backups'
complete -c kronic -n "__fish_kronic_needs_command" -f -a "restore" -d 'Restore a backup into the database, completely or not at all'
complete -c kronic -n "__fish_kronic_needs_command" -f -a "notify" -d 'Send the failure notification for a systemd unit that failed (its OnFailure=)'
complete -c kronic -n "__fish_kronic_needs_command" -f -a "config" -d 'Show the effective settings and where each comes from (secrets masked)'
complete -c kronic -n "__fish_kronic_needs_command" -f -a "health" -d 'Check the database and print the health JSON (or serve it at /healthz)'
complete -c kronic -n "__fish_kronic_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and not __fish_seen_subcommand_from up lint plan down current history new check stamp help" -l migrations -d 'Load migrations from this folder instead of the ones built into kronic [env: KRONIC_MIGRATIONS_DIR]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and not __fish_seen_subcommand_from up lint plan down current history new check stamp help" -l lock-timeout -d 'Seconds to wait for table locks on each try; then kronic steps back (letting the application\'s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and not __fish_seen_subcommand_from up lint plan down current history new check stamp help" -l lock-wait -d 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic\'s migration; pg_dump\'s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and not __fish_seen_subcommand_from up lint plan down current history new check stamp help" -l wait -d 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and not __fish_seen_subcommand_from up lint plan down current history new check stamp help" -l database-url -d 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and not __fish_seen_subcommand_from up lint plan down current history new check stamp help" -l config -d 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and not __fish_seen_subcommand_from up lint plan down current history new check stamp help" -s v -l verbose -d 'More logging: -v debug, -vv also every SQL statement kronic sends'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and not __fish_seen_subcommand_from up lint plan down current history new check stamp help" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and not __fish_seen_subcommand_from up lint plan down current history new check stamp help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and not __fish_seen_subcommand_from up lint plan down current history new check stamp help" -f -a "up" -d 'Apply pending migrations (all, or up to --target), each in its own transaction'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and not __fish_seen_subcommand_from up lint plan down current history new check stamp help" -f -a "lint" -d 'Lint migrations with squawk\'s rules: the pending ones, the named files, or --all'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and not __fish_seen_subcommand_from up lint plan down current history new check stamp help" -f -a "plan" -d 'Measure what each pending statement locks and rewrites, on a scratch database'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and not __fish_seen_subcommand_from up lint plan down current history new check stamp help" -f -a "down" -d 'Revert the newest N applied migrations (default 1), or down to --target'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and not __fish_seen_subcommand_from up lint plan down current history new check stamp help" -f -a "current" -d 'Show the applied version'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and not __fish_seen_subcommand_from up lint plan down current history new check stamp help" -f -a "history" -d 'List every migration: applied, pending, divergent or missing'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and not __fish_seen_subcommand_from up lint plan down current history new check stamp help" -f -a "new" -d 'Create the next numbered migration and its down script'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and not __fish_seen_subcommand_from up lint plan down current history new check stamp help" -f -a "check" -d 'Compare the live schema with what the applied migrations build'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and not __fish_seen_subcommand_from up lint plan down current history new check stamp help" -f -a "stamp" -d 'Record VERSION (and everything below it) as applied without running anything'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and not __fish_seen_subcommand_from up lint plan down current history new check stamp help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from up" -l target -d 'Stop after this version' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from up" -l lint -d 'Lint the pending migrations first: deny stops before anything runs when a finding is an error, warn prints them (and asks, on a terminal), off skips linting [default: warn on a terminal, deny otherwise]' -r -f -a "deny\t''
warn\t''
off\t''"
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from up" -l migrations -d 'Load migrations from this folder instead of the ones built into kronic [env: KRONIC_MIGRATIONS_DIR]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from up" -l lock-timeout -d 'Seconds to wait for table locks on each try; then kronic steps back (letting the application\'s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from up" -l lock-wait -d 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic\'s migration; pg_dump\'s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from up" -l wait -d 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from up" -l database-url -d 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from up" -l config -d 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from up" -l dry-run -d 'Print the SQL that would run, in order, and change nothing'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from up" -l backup -d 'First take a verified backup (the normal one, into the backup folder); if a migration then fails, the error names the command that restores it'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from up" -s v -l verbose -d 'More logging: -v debug, -vv also every SQL statement kronic sends'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from up" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from up" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from lint" -l pg-version -d 'The server\'s major version (15, 16, …), instead of asking the server' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from lint" -l format -d 'text, json, github (workflow commands: annotations on the pull request) or gitlab (code-quality JSON)' -r -f -a "text\t''
json\t''
github\t''
gitlab\t''"
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from lint" -l migrations -d 'Load migrations from this folder instead of the ones built into kronic [env: KRONIC_MIGRATIONS_DIR]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from lint" -l lock-timeout -d 'Seconds to wait for table locks on each try; then kronic steps back (letting the application\'s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from lint" -l lock-wait -d 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic\'s migration; pg_dump\'s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from lint" -l wait -d 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from lint" -l database-url -d 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from lint" -l config -d 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from lint" -l all -d 'Lint every migration, applied ones included'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from lint" -l json -d 'Same as --format json'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from lint" -s v -l verbose -d 'More logging: -v debug, -vv also every SQL statement kronic sends'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from lint" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from lint" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from plan" -l max-rewrite -d 'The largest table a statement may rewrite or scan while it blocks writes' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from plan" -l migrations -d 'Load migrations from this folder instead of the ones built into kronic [env: KRONIC_MIGRATIONS_DIR]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from plan" -l lock-timeout -d 'Seconds to wait for table locks on each try; then kronic steps back (letting the application\'s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from plan" -l lock-wait -d 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic\'s migration; pg_dump\'s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from plan" -l wait -d 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from plan" -l database-url -d 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from plan" -l config -d 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from plan" -l json -d 'Print JSON for CI'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from plan" -s v -l verbose -d 'More logging: -v debug, -vv also every SQL statement kronic sends'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from plan" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from plan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from down" -l target -d 'Revert every migration above this version (0 reverts all)' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from down" -l migrations -d 'Load migrations from this folder instead of the ones built into kronic [env: KRONIC_MIGRATIONS_DIR]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from down" -l lock-timeout -d 'Seconds to wait for table locks on each try; then kronic steps back (letting the application\'s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from down" -l lock-wait -d 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic\'s migration; pg_dump\'s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from down" -l wait -d 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from down" -l database-url -d 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from down" -l config -d 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from down" -l dry-run -d 'Print the SQL that would run, in order, and change nothing'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from down" -s y -l yes -d 'Do not ask for confirmation'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from down" -s v -l verbose -d 'More logging: -v debug, -vv also every SQL statement kronic sends'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from down" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from down" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from current" -l migrations -d 'Load migrations from this folder instead of the ones built into kronic [env: KRONIC_MIGRATIONS_DIR]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from current" -l lock-timeout -d 'Seconds to wait for table locks on each try; then kronic steps back (letting the application\'s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from current" -l lock-wait -d 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic\'s migration; pg_dump\'s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from current" -l wait -d 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from current" -l database-url -d 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from current" -l config -d 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from current" -l json -d 'Print JSON for scripts'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from current" -l exit-code -d 'Exit 1 when migrations are pending (for CI gates)'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from current" -s v -l verbose -d 'More logging: -v debug, -vv also every SQL statement kronic sends'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from current" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from current" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from history" -l migrations -d 'Load migrations from this folder instead of the ones built into kronic [env: KRONIC_MIGRATIONS_DIR]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from history" -l lock-timeout -d 'Seconds to wait for table locks on each try; then kronic steps back (letting the application\'s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from history" -l lock-wait -d 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic\'s migration; pg_dump\'s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from history" -l wait -d 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from history" -l database-url -d 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from history" -l config -d 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from history" -l json -d 'Print JSON for scripts'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from history" -s v -l verbose -d 'More logging: -v debug, -vv also every SQL statement kronic sends'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from history" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from history" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from new" -l dir -d 'Folder to write into' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from new" -l migrations -d 'Load migrations from this folder instead of the ones built into kronic [env: KRONIC_MIGRATIONS_DIR]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from new" -l lock-timeout -d 'Seconds to wait for table locks on each try; then kronic steps back (letting the application\'s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from new" -l lock-wait -d 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic\'s migration; pg_dump\'s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from new" -l wait -d 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from new" -l database-url -d 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from new" -l config -d 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from new" -s v -l verbose -d 'More logging: -v debug, -vv also every SQL statement kronic sends'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from new" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from new" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from check" -l migrations -d 'Load migrations from this folder instead of the ones built into kronic [env: KRONIC_MIGRATIONS_DIR]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from check" -l lock-timeout -d 'Seconds to wait for table locks on each try; then kronic steps back (letting the application\'s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from check" -l lock-wait -d 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic\'s migration; pg_dump\'s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from check" -l wait -d 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from check" -l database-url -d 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from check" -l config -d 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from check" -l json -d 'Print JSON for CI'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from check" -s v -l verbose -d 'More logging: -v debug, -vv also every SQL statement kronic sends'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from check" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from stamp" -l migrations -d 'Load migrations from this folder instead of the ones built into kronic [env: KRONIC_MIGRATIONS_DIR]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from stamp" -l lock-timeout -d 'Seconds to wait for table locks on each try; then kronic steps back (letting the application\'s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from stamp" -l lock-wait -d 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic\'s migration; pg_dump\'s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from stamp" -l wait -d 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from stamp" -l database-url -d 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts' -r
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from stamp" -l config -d 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from stamp" -s v -l verbose -d 'More logging: -v debug, -vv also every SQL statement kronic sends'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from stamp" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from stamp" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from help" -f -a "up" -d 'Apply pending migrations (all, or up to --target), each in its own transaction'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from help" -f -a "lint" -d 'Lint migrations with squawk\'s rules: the pending ones, the named files, or --all'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from help" -f -a "plan" -d 'Measure what each pending statement locks and rewrites, on a scratch database'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from help" -f -a "down" -d 'Revert the newest N applied migrations (default 1), or down to --target'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from help" -f -a "current" -d 'Show the applied version'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from help" -f -a "history" -d 'List every migration: applied, pending, divergent or missing'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from help" -f -a "new" -d 'Create the next numbered migration and its down script'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from help" -f -a "check" -d 'Compare the live schema with what the applied migrations build'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from help" -f -a "stamp" -d 'Record VERSION (and everything below it) as applied without running anything'
complete -c kronic -n "__fish_kronic_using_subcommand migrate; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kronic -n "__fish_kronic_using_subcommand seed" -l admin-email -d 'The admin user\'s email address [env: KRONIC_ADMIN_EMAIL]' -r
complete -c kronic -n "__fish_kronic_using_subcommand seed" -l admin-password -d 'The admin user\'s password (at least 12 characters) [env: KRONIC_ADMIN_PASSWORD]. Prefer the environment or --admin-password-stdin: command lines are visible in `ps`' -r
complete -c kronic -n "__fish_kronic_using_subcommand seed" -l wait -d 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once' -r
complete -c kronic -n "__fish_kronic_using_subcommand seed" -l database-url -d 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts' -r
complete -c kronic -n "__fish_kronic_using_subcommand seed" -l config -d 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand seed" -l admin-password-stdin -d 'Read the admin password from the first line of standard input (beats KRONIC_ADMIN_PASSWORD)'
complete -c kronic -n "__fish_kronic_using_subcommand seed" -l reset-admin-password -d 'Replace an existing admin user\'s password with the given one'
complete -c kronic -n "__fish_kronic_using_subcommand seed" -l update-roles -d 'Rewrite roles whose permissions differ from kronic\'s definitions'
complete -c kronic -n "__fish_kronic_using_subcommand seed" -s v -l verbose -d 'More logging: -v debug, -vv also every SQL statement kronic sends'
complete -c kronic -n "__fish_kronic_using_subcommand seed" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c kronic -n "__fish_kronic_using_subcommand seed" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and not __fish_seen_subcommand_from list verify drill prune sync help" -l dir -d 'Backup folder [env: KRONIC_BACKUP_DIR] [default: /var/backups/kronic]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand backup; and not __fish_seen_subcommand_from list verify drill prune sync help" -l notify -d 'Ping this healthchecks.io-style URL: URL/start when the run starts, URL/<exit code> with the outcome\'s line when it ends (0 is success) [env: KRONIC_NOTIFY_URL]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and not __fish_seen_subcommand_from list verify drill prune sync help" -l keep-days -d 'The same as --keep-within DAYSd; 0 keeps every backup, whatever the other rules say [env: KRONIC_BACKUP_KEEP_DAYS]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and not __fish_seen_subcommand_from list verify drill prune sync help" -l keep-last -d 'Keep the N newest backups [env: KRONIC_BACKUP_KEEP_LAST]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and not __fish_seen_subcommand_from list verify drill prune sync help" -l keep-daily -d 'Keep the newest backup of each of the last N days (UTC) [env: KRONIC_BACKUP_KEEP_DAILY]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and not __fish_seen_subcommand_from list verify drill prune sync help" -l keep-weekly -d 'Keep the newest backup of each of the last N ISO weeks [env: KRONIC_BACKUP_KEEP_WEEKLY]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and not __fish_seen_subcommand_from list verify drill prune sync help" -l keep-monthly -d 'Keep the newest backup of each of the last N months [env: KRONIC_BACKUP_KEEP_MONTHLY]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and not __fish_seen_subcommand_from list verify drill prune sync help" -l keep-yearly -d 'Keep the newest backup of each of the last N years [env: KRONIC_BACKUP_KEEP_YEARLY]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and not __fish_seen_subcommand_from list verify drill prune sync help" -l keep-within -d 'Keep every backup within DURATION of the newest backup: 30d, 12h, 1y6m (0 is refused: see --keep-days 0) [env: KRONIC_BACKUP_KEEP_WITHIN]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and not __fish_seen_subcommand_from list verify drill prune sync help" -l metrics-file -d 'On success, write Prometheus textfile metrics here (for node_exporter) [env: KRONIC_BACKUP_METRICS_FILE]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand backup; and not __fish_seen_subcommand_from list verify drill prune sync help" -l lock-timeout -d 'Seconds to wait for table locks on each try; then kronic steps back (letting the application\'s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and not __fish_seen_subcommand_from list verify drill prune sync help" -l lock-wait -d 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic\'s migration; pg_dump\'s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and not __fish_seen_subcommand_from list verify drill prune sync help" -l compression -d 'gzip (the default; `gunzip -c FILE | psql` reads it) or zstd (multi-threaded, much cheaper per byte; `zstd -dc FILE | psql`) [env: KRONIC_BACKUP_COMPRESSION]' -r -f -a "gzip\t''
zstd\t''
gz\t''
zst\t''"
complete -c kronic -n "__fish_kronic_using_subcommand backup; and not __fish_seen_subcommand_from list verify drill prune sync help" -l compression-level -d 'Compression level: gzip 1-9 [default: 6], zstd 1-19 [default: 3]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and not __fish_seen_subcommand_from list verify drill prune sync help" -l recipient -d 'Encrypt to this age recipient (age1..., or an ssh-ed25519/ssh-rsa public key); repeatable. With any --recipient or --recipients-file, KRONIC_BACKUP_RECIPIENTS and KRONIC_BACKUP_RECIPIENTS_FILE are not read' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and not __fish_seen_subcommand_from list verify drill prune sync help" -l recipients-file -d 'Encrypt to the recipients in this file (age\'s format: one per line, # comments) [env: KRONIC_BACKUP_RECIPIENTS_FILE]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand backup; and not __fish_seen_subcommand_from list verify drill prune sync help" -l remote -d 'Also upload every backup, in the same pass, to s3://BUCKET/PREFIX (any S3-compatible service; credentials and endpoint from the AWS_* variables) [env: KRONIC_BACKUP_REMOTE]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and not __fish_seen_subcommand_from list verify drill prune sync help" -l wait -d 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and not __fish_seen_subcommand_from list verify drill prune sync help" -l database-url -d 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and not __fish_seen_subcommand_from list verify drill prune sync help" -l config -d 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand backup; and not __fish_seen_subcommand_from list verify drill prune sync help" -l remote-only -d 'Upload only, keeping no file in the backup folder (hosts with little disk)'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and not __fish_seen_subcommand_from list verify drill prune sync help" -l allow-empty -d 'Back up a database that has no tables (refused otherwise: exit 65, since a green backup of nothing hides a missing `migrate up` or the wrong database)'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and not __fish_seen_subcommand_from list verify drill prune sync help" -s v -l verbose -d 'More logging: -v debug, -vv also every SQL statement kronic sends'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and not __fish_seen_subcommand_from list verify drill prune sync help" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and not __fish_seen_subcommand_from list verify drill prune sync help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and not __fish_seen_subcommand_from list verify drill prune sync help" -f -a "list" -d 'List backups, newest first'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and not __fish_seen_subcommand_from list verify drill prune sync help" -f -a "verify" -d 'Check that a backup decompresses completely, holds only what a restore allows, and ends like a complete pg_dump'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and not __fish_seen_subcommand_from list verify drill prune sync help" -f -a "drill" -d 'Prove that a backup restores: into a scratch database, checked against its manifest (rows per table, schema version, indexes and constraints), then dropped'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and not __fish_seen_subcommand_from list verify drill prune sync help" -f -a "prune" -d 'Delete backups the retention policy does not keep (never the newest)'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and not __fish_seen_subcommand_from list verify drill prune sync help" -f -a "sync" -d 'Upload the local backups that the offsite copy lacks (after an outage), oldest first, each checked; then prune the offsite copies by the retention rules'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and not __fish_seen_subcommand_from list verify drill prune sync help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from list" -l dir -d 'Backup folder [env: KRONIC_BACKUP_DIR] [default: /var/backups/kronic]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from list" -l remote -d 'Work on the offsite copies instead of the backup folder: in s3://BUCKET/PREFIX when given, else in KRONIC_BACKUP_REMOTE (as `backup --remote URL` uploads)' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from list" -l remote-url -d 'The same as --remote URL (kept for scripts that use it)' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from list" -l lock-timeout -d 'Seconds to wait for table locks on each try; then kronic steps back (letting the application\'s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from list" -l lock-wait -d 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic\'s migration; pg_dump\'s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from list" -l wait -d 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from list" -l database-url -d 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from list" -l config -d 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from list" -l json -d 'Print JSON for scripts'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More logging: -v debug, -vv also every SQL statement kronic sends'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from verify" -l dir -d 'Backup folder [env: KRONIC_BACKUP_DIR] [default: /var/backups/kronic]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from verify" -l remote -d 'Work on the offsite copies instead of the backup folder: in s3://BUCKET/PREFIX when given, else in KRONIC_BACKUP_REMOTE (as `backup --remote URL` uploads)' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from verify" -l remote-url -d 'The same as --remote URL (kept for scripts that use it)' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from verify" -s i -l identity -d 'An age identity file (AGE-SECRET-KEY-1... lines) or an unencrypted ssh private key; repeatable [env: KRONIC_BACKUP_IDENTITY_FILE]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from verify" -l lock-timeout -d 'Seconds to wait for table locks on each try; then kronic steps back (letting the application\'s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from verify" -l lock-wait -d 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic\'s migration; pg_dump\'s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from verify" -l wait -d 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from verify" -l database-url -d 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from verify" -l config -d 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from verify" -l latest -d 'Verify the newest backup in the folder (with --remote: in the bucket)'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from verify" -s v -l verbose -d 'More logging: -v debug, -vv also every SQL statement kronic sends'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from verify" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from drill" -l notify -d 'Ping this healthchecks.io-style URL: URL/start when the run starts, URL/<exit code> with the outcome\'s line when it ends (0 is success) [env: KRONIC_NOTIFY_URL]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from drill" -l dir -d 'Backup folder [env: KRONIC_BACKUP_DIR] [default: /var/backups/kronic]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from drill" -l remote -d 'Work on the offsite copies instead of the backup folder: in s3://BUCKET/PREFIX when given, else in KRONIC_BACKUP_REMOTE (as `backup --remote URL` uploads)' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from drill" -l remote-url -d 'The same as --remote URL (kept for scripts that use it)' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from drill" -l scratch-db -d 'The scratch database the drill creates and drops [default: <dbname>_drill]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from drill" -l metrics-file -d 'Write Prometheus textfile metrics here (for node_exporter) [env: KRONIC_DRILL_METRICS_FILE]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from drill" -s i -l identity -d 'An age identity file (AGE-SECRET-KEY-1... lines) or an unencrypted ssh private key; repeatable [env: KRONIC_BACKUP_IDENTITY_FILE]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from drill" -l lock-timeout -d 'Seconds to wait for table locks on each try; then kronic steps back (letting the application\'s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from drill" -l lock-wait -d 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic\'s migration; pg_dump\'s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from drill" -l wait -d 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from drill" -l database-url -d 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from drill" -l config -d 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from drill" -l force -d 'Drop and reuse an existing scratch database that kronic did not create'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from drill" -l allow-empty -d 'Pass a backup with no tables (it fails the drill otherwise)'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from drill" -l json -d 'Print the report as JSON'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from drill" -l allow-superuser -d 'Restore even when connected as a superuser (or a member of pg_execute_server_program, pg_read_server_files or pg_write_server_files): the backup\'s own functions then run with that power. Only for a backup whose history you know [env: KRONIC_ALLOW_SUPERUSER]'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from drill" -s v -l verbose -d 'More logging: -v debug, -vv also every SQL statement kronic sends'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from drill" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from drill" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from prune" -l dir -d 'Backup folder [env: KRONIC_BACKUP_DIR] [default: /var/backups/kronic]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from prune" -l remote -d 'Work on the offsite copies instead of the backup folder: in s3://BUCKET/PREFIX when given, else in KRONIC_BACKUP_REMOTE (as `backup --remote URL` uploads)' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from prune" -l remote-url -d 'The same as --remote URL (kept for scripts that use it)' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from prune" -l keep-days -d 'The same as --keep-within DAYSd; 0 keeps every backup, whatever the other rules say [env: KRONIC_BACKUP_KEEP_DAYS]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from prune" -l keep-last -d 'Keep the N newest backups [env: KRONIC_BACKUP_KEEP_LAST]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from prune" -l keep-daily -d 'Keep the newest backup of each of the last N days (UTC) [env: KRONIC_BACKUP_KEEP_DAILY]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from prune" -l keep-weekly -d 'Keep the newest backup of each of the last N ISO weeks [env: KRONIC_BACKUP_KEEP_WEEKLY]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from prune" -l keep-monthly -d 'Keep the newest backup of each of the last N months [env: KRONIC_BACKUP_KEEP_MONTHLY]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from prune" -l keep-yearly -d 'Keep the newest backup of each of the last N years [env: KRONIC_BACKUP_KEEP_YEARLY]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from prune" -l keep-within -d 'Keep every backup within DURATION of the newest backup: 30d, 12h, 1y6m (0 is refused: see --keep-days 0) [env: KRONIC_BACKUP_KEEP_WITHIN]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from prune" -l lock-timeout -d 'Seconds to wait for table locks on each try; then kronic steps back (letting the application\'s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from prune" -l lock-wait -d 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic\'s migration; pg_dump\'s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from prune" -l wait -d 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from prune" -l database-url -d 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from prune" -l config -d 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from prune" -l json -d 'Print JSON (name, action, reasons) for scripts'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from prune" -l dry-run -d 'Only say what would be deleted'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from prune" -s v -l verbose -d 'More logging: -v debug, -vv also every SQL statement kronic sends'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from prune" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from prune" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from sync" -l dir -d 'Backup folder [env: KRONIC_BACKUP_DIR] [default: /var/backups/kronic]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from sync" -l remote -d 'The offsite location, s3://BUCKET/PREFIX [env: KRONIC_BACKUP_REMOTE]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from sync" -l keep-days -d 'The same as --keep-within DAYSd; 0 keeps every backup, whatever the other rules say [env: KRONIC_BACKUP_KEEP_DAYS]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from sync" -l keep-last -d 'Keep the N newest backups [env: KRONIC_BACKUP_KEEP_LAST]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from sync" -l keep-daily -d 'Keep the newest backup of each of the last N days (UTC) [env: KRONIC_BACKUP_KEEP_DAILY]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from sync" -l keep-weekly -d 'Keep the newest backup of each of the last N ISO weeks [env: KRONIC_BACKUP_KEEP_WEEKLY]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from sync" -l keep-monthly -d 'Keep the newest backup of each of the last N months [env: KRONIC_BACKUP_KEEP_MONTHLY]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from sync" -l keep-yearly -d 'Keep the newest backup of each of the last N years [env: KRONIC_BACKUP_KEEP_YEARLY]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from sync" -l keep-within -d 'Keep every backup within DURATION of the newest backup: 30d, 12h, 1y6m (0 is refused: see --keep-days 0) [env: KRONIC_BACKUP_KEEP_WITHIN]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from sync" -l lock-timeout -d 'Seconds to wait for table locks on each try; then kronic steps back (letting the application\'s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from sync" -l lock-wait -d 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic\'s migration; pg_dump\'s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from sync" -l wait -d 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from sync" -l database-url -d 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts' -r
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from sync" -l config -d 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from sync" -l dry-run -d 'Only say what would be uploaded'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from sync" -s v -l verbose -d 'More logging: -v debug, -vv also every SQL statement kronic sends'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from sync" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from sync" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "list" -d 'List backups, newest first'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Check that a backup decompresses completely, holds only what a restore allows, and ends like a complete pg_dump'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "drill" -d 'Prove that a backup restores: into a scratch database, checked against its manifest (rows per table, schema version, indexes and constraints), then dropped'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "prune" -d 'Delete backups the retention policy does not keep (never the newest)'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "sync" -d 'Upload the local backups that the offsite copy lacks (after an outage), oldest first, each checked; then prune the offsite copies by the retention rules'
complete -c kronic -n "__fish_kronic_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kronic -n "__fish_kronic_using_subcommand restore" -l remote -d 'Work on the offsite copies instead of the backup folder: in s3://BUCKET/PREFIX when given, else in KRONIC_BACKUP_REMOTE (as `backup --remote URL` uploads)' -r
complete -c kronic -n "__fish_kronic_using_subcommand restore" -l remote-url -d 'The same as --remote URL (kept for scripts that use it)' -r
complete -c kronic -n "__fish_kronic_using_subcommand restore" -l dir -d 'Backup folder [env: KRONIC_BACKUP_DIR] [default: /var/backups/kronic]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand restore" -l target-db -d 'Restore into this database on the same server instead' -r
complete -c kronic -n "__fish_kronic_using_subcommand restore" -s i -l identity -d 'An age identity file (AGE-SECRET-KEY-1... lines) or an unencrypted ssh private key; repeatable [env: KRONIC_BACKUP_IDENTITY_FILE]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand restore" -l lock-timeout -d 'Seconds to wait for table locks on each try; then kronic steps back (letting the application\'s queries through) and tries again [env: KRONIC_LOCK_TIMEOUT] [default: 1]' -r
complete -c kronic -n "__fish_kronic_using_subcommand restore" -l lock-wait -d 'Seconds kronic may spend waiting for locks in all (table locks, retried; another kronic\'s migration; pg_dump\'s --lock-wait-timeout), then exit 75 with nothing changed [env: KRONIC_LOCK_WAIT] [default: 60]' -r
complete -c kronic -n "__fish_kronic_using_subcommand restore" -l wait -d 'Keep retrying the connection for up to SECS seconds while the server is down or starting (refused, reset, starting up); authentication errors fail at once' -r
complete -c kronic -n "__fish_kronic_using_subcommand restore" -l database-url -d 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts' -r
complete -c kronic -n "__fish_kronic_using_subcommand restore" -l config -d 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand restore" -l latest -d 'Restore the newest backup in the backup folder (with --remote: in the bucket)'
complete -c kronic -n "__fish_kronic_using_subcommand restore" -l create -d 'Create the --target-db database first if it does not exist'
complete -c kronic -n "__fish_kronic_using_subcommand restore" -s y -l yes -d 'Do not ask for confirmation'
complete -c kronic -n "__fish_kronic_using_subcommand restore" -l allow-superuser -d 'Restore even when connected as a superuser (or a member of pg_execute_server_program, pg_read_server_files or pg_write_server_files): the backup\'s own functions then run with that power. Only for a backup whose history you know [env: KRONIC_ALLOW_SUPERUSER]'
complete -c kronic -n "__fish_kronic_using_subcommand restore" -s v -l verbose -d 'More logging: -v debug, -vv also every SQL statement kronic sends'
complete -c kronic -n "__fish_kronic_using_subcommand restore" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c kronic -n "__fish_kronic_using_subcommand restore" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kronic -n "__fish_kronic_using_subcommand notify" -l failed -d 'The unit that failed (systemd\'s %i)' -r
complete -c kronic -n "__fish_kronic_using_subcommand notify" -l database-url -d 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts' -r
complete -c kronic -n "__fish_kronic_using_subcommand notify" -l config -d 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand notify" -s v -l verbose -d 'More logging: -v debug, -vv also every SQL statement kronic sends'
complete -c kronic -n "__fish_kronic_using_subcommand notify" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c kronic -n "__fish_kronic_using_subcommand notify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kronic -n "__fish_kronic_using_subcommand config" -l database-url -d 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts' -r
complete -c kronic -n "__fish_kronic_using_subcommand config" -l config -d 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand config" -l json -d 'Print JSON for scripts'
complete -c kronic -n "__fish_kronic_using_subcommand config" -s v -l verbose -d 'More logging: -v debug, -vv also every SQL statement kronic sends'
complete -c kronic -n "__fish_kronic_using_subcommand config" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c kronic -n "__fish_kronic_using_subcommand config" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kronic -n "__fish_kronic_using_subcommand health" -l timeout -d 'Seconds the whole check may take' -r
complete -c kronic -n "__fish_kronic_using_subcommand health" -l wait -d 'Keep checking for up to SECS seconds until the database is healthy' -r
complete -c kronic -n "__fish_kronic_using_subcommand health" -l serve -d 'Serve GET /healthz on ADDR until SIGTERM or Ctrl-C: HOST:PORT (a name or an address; 0.0.0.0:PORT for every interface), or a PORT alone for 127.0.0.1' -r
complete -c kronic -n "__fish_kronic_using_subcommand health" -l database-url -d 'Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts' -r
complete -c kronic -n "__fish_kronic_using_subcommand health" -l config -d 'The configuration file (VARIABLE=value lines) every command reads; the environment beats it, flags beat both [env: KRONIC_CONFIG] [default: /etc/kronic/kronic.env, when it exists]' -r -F
complete -c kronic -n "__fish_kronic_using_subcommand health" -s v -l verbose -d 'More logging: -v debug, -vv also every SQL statement kronic sends'
complete -c kronic -n "__fish_kronic_using_subcommand health" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c kronic -n "__fish_kronic_using_subcommand health" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kronic -n "__fish_kronic_using_subcommand help; and not __fish_seen_subcommand_from migrate seed backup restore notify config health help" -f -a "migrate" -d 'Apply, revert and inspect schema migrations'
complete -c kronic -n "__fish_kronic_using_subcommand help; and not __fish_seen_subcommand_from migrate seed backup restore notify config health help" -f -a "seed" -d 'Create the application\'s roles and the admin user (safe to run again)'
complete -c kronic -n "__fish_kronic_using_subcommand help; and not __fish_seen_subcommand_from migrate seed backup restore notify config health help" -f -a "backup" -d 'Back up the database into a compressed, atomic, pruned file; list, verify, drill and prune backups'
complete -c kronic -n "__fish_kronic_using_subcommand help; and not __fish_seen_subcommand_from migrate seed backup restore notify config health help" -f -a "restore" -d 'Restore a backup into the database, completely or not at all'
complete -c kronic -n "__fish_kronic_using_subcommand help; and not __fish_seen_subcommand_from migrate seed backup restore notify config health help" -f -a "notify" -d 'Send the failure notification for a systemd unit that failed (its OnFailure=)'
complete -c kronic -n "__fish_kronic_using_subcommand help; and not __fish_seen_subcommand_from migrate seed backup restore notify config health help" -f -a "config" -d 'Show the effective settings and where each comes from (secrets masked)'
complete -c kronic -n "__fish_kronic_using_subcommand help; and not __fish_seen_subcommand_from migrate seed backup restore notify config health help" -f -a "health" -d 'Check the database and print the health JSON (or serve it at /healthz)'
complete -c kronic -n "__fish_kronic_using_subcommand help; and not __fish_seen_subcommand_from migrate seed backup restore notify config health help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kronic -n "__fish_kronic_using_subcommand help; and __fish_seen_subcommand_from migrate" -f -a "up" -d 'Apply pending migrations (all, or up to --target), each in its own transaction'
complete -c kronic -n "__fish_kronic_using_subcommand help; and __fish_seen_subcommand_from migrate" -f -a "lint" -d 'Lint migrations with squawk\'s rules: the pending ones, the named files, or --all'
complete -c kronic -n "__fish_kronic_using_subcommand help; and __fish_seen_subcommand_from migrate" -f -a "plan" -d 'Measure what each pending statement locks and rewrites, on a scratch database'
complete -c kronic -n "__fish_kronic_using_subcommand help; and __fish_seen_subcommand_from migrate" -f -a "down" -d 'Revert the newest N applied migrations (default 1), or down to --target'
complete -c kronic -n "__fish_kronic_using_subcommand help; and __fish_seen_subcommand_from migrate" -f -a "current" -d 'Show the applied version'
complete -c kronic -n "__fish_kronic_using_subcommand help; and __fish_seen_subcommand_from migrate" -f -a "history" -d 'List every migration: applied, pending, divergent or missing'
complete -c kronic -n "__fish_kronic_using_subcommand help; and __fish_seen_subcommand_from migrate" -f -a "new" -d 'Create the next numbered migration and its down script'
complete -c kronic -n "__fish_kronic_using_subcommand help; and __fish_seen_subcommand_from migrate" -f -a "check" -d 'Compare the live schema with what the applied migrations build'
complete -c kronic -n "__fish_kronic_using_subcommand help; and __fish_seen_subcommand_from migrate" -f -a "stamp" -d 'Record VERSION (and everything below it) as applied without running anything'
complete -c kronic -n "__fish_kronic_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "list" -d 'List backups, newest first'
complete -c kronic -n "__fish_kronic_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "verify" -d 'Check that a backup decompresses completely, holds only what a restore allows, and ends like a complete pg_dump'
complete -c kronic -n "__fish_kronic_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "drill" -d 'Prove that a backup restores: into a scratch database, checked against its manifest (rows per table, schema version, indexes and constraints), then dropped'
complete -c kronic -n "__fish_kronic_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "prune" -d 'Delete backups the retention policy does not keep (never the newest)'
complete -c kronic -n "__fish_kronic_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "sync" -d 'Upload the local backups that the offsite copy lacks (after an outage), oldest first, each checked; then prune the offsite copies by the retention rules'
