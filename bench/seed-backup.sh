#!/bin/bash
# backup-kronic-db.sh exactly as the seed documentation gives it, except that BACKUP_DIR
# may be set from outside (the benchmark writes into its own folder).

DB_HOST="${KRONIC_DATABASE_HOST:-localhost}"
DB_PORT="${KRONIC_DATABASE_PORT:-5432}"
DB_NAME="${KRONIC_DATABASE_NAME:-kronic}"
DB_USER="${KRONIC_DATABASE_USER:-kronic}"
BACKUP_DIR="${BACKUP_DIR:-/var/backups/kronic}"
DATE=$(date +%Y%m%d_%H%M%S)

# Create backup directory
mkdir -p $BACKUP_DIR

# Create backup
pg_dump -h $DB_HOST -p $DB_PORT -U $DB_USER -d $DB_NAME \
  --verbose --clean --no-owner --no-privileges \
  --file=$BACKUP_DIR/kronic_backup_$DATE.sql

# Compress backup
gzip $BACKUP_DIR/kronic_backup_$DATE.sql

# Remove backups older than 30 days
find $BACKUP_DIR -name "kronic_backup_*.sql.gz" -mtime +30 -delete

echo "Backup completed: kronic_backup_$DATE.sql.gz"
