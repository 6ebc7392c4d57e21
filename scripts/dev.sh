#!/usr/bin/env bash
# `make dev`: the whole stack on this machine. Starts moto on 127.0.0.1:4566
# (unless AWS_ENDPOINT_URL already points at an endpoint), creates the table
# and topic from template.yaml, and serves every route at its API Gateway
# path on http://127.0.0.1:9000 with cargo lambda watch. Ctrl-C stops all.
set -euo pipefail
cd "$(dirname "$0")/.."

export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-dummy}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-dummy}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-$AWS_REGION}"
export AWS_EC2_METADATA_DISABLED=true
export TABLE_NAME="${TABLE_NAME:-callhooks-local}"
PY=.venv/bin/python
PORT="${DEV_PORT:-9000}"

pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

if [[ -z "${AWS_ENDPOINT_URL:-}" ]]; then
  export AWS_ENDPOINT_URL=http://127.0.0.1:4566
  if (exec 3<>/dev/tcp/127.0.0.1/4566) 2>/dev/null; then
    echo "port 4566 is taken: stop what runs there, or set AWS_ENDPOINT_URL to use it" >&2
    exit 1
  fi
  $PY scripts/local_stack.py serve --port 4566 &
  pids+=($!)
  for _ in $(seq 50); do
    (exec 3<>/dev/tcp/127.0.0.1/4566) 2>/dev/null && break
    sleep 0.2
  done
fi
echo "local AWS endpoint: $AWS_ENDPOINT_URL"

created=$($PY scripts/local_stack.py create --endpoint "$AWS_ENDPOINT_URL" --table "$TABLE_NAME")
ALERTS_TOPIC_ARN=$($PY -c 'import json,sys; print(json.load(sys.stdin)["topic_arn"])' <<<"$created")
export ALERTS_TOPIC_ARN
echo "table $TABLE_NAME and topic $ALERTS_TOPIC_ARN are ready"

# Example configuration, loaded with the callhooks command line the way an
# operator would: Retell number +12137771235 and the contact +12137771234.
cargo run --quiet -p callhooks -- numbers put examples/number.json
cargo run --quiet -p callhooks -- contacts put examples/contact.json

for secret in ZONITEL_WEBHOOK_TOKEN SALPRE_WEBHOOK_TOKEN VOXTELESYS_WEBHOOK_TOKEN RETELL_API_KEY; do
  if [[ -n "${!secret:-}" ]]; then echo "$secret is set: that provider's requests must carry it"; fi
done

cat <<TXT

Routes on http://127.0.0.1:$PORT (functions compile on first use):
  POST http://127.0.0.1:$PORT/zonitel/calls
  GET|POST http://127.0.0.1:$PORT/voxtelesys/{voice,status,dial,recording}
  POST http://127.0.0.1:$PORT/retell/inbound
  POST http://127.0.0.1:$PORT/retell/events
  alerts: fed from $TABLE_NAME's stream (scripts/stream_pump.py); each alert published on the topic prints here
  POST http://127.0.0.1:$PORT/salpre/events
  POST http://127.0.0.1:$PORT/zonitel/sms

Try:
  curl -s -X POST http://127.0.0.1:$PORT/zonitel/calls -H 'content-type: application/json' \\
    -d '{ "caller_id_name": "John Doe", "caller_id_number": "+14155552671", "destination_number": "+18339664835" }'
  curl -s "http://127.0.0.1:$PORT/voxtelesys/voice?CallSid=CA1&From=%2B14155552671&To=%2B18339664835&Direction=inbound"

  curl -s -X POST http://127.0.0.1:$PORT/retell/inbound -H 'content-type: application/json' \\
    -d '{"event": "call_inbound", "call_inbound": {"from_number": "+12137771234", "to_number": "+12137771235"}}'
  (the example configuration answers with agent_vip and Jane Roe's variables; with
  RETELL_API_KEY set, sign it: docs/providers/retell.md)

Ctrl-C stops everything.
TXT

.venv/bin/cargo-lambda lambda watch --invoke-address 127.0.0.1 --invoke-port "$PORT" &
pids+=($!)
# The alerts function's event source mapping, locally: the table's stream
# into the function through watch's invoke API, the topic's messages out.
$PY scripts/stream_pump.py --endpoint "$AWS_ENDPOINT_URL" run --table "$TABLE_NAME" --topic-arn "$ALERTS_TOPIC_ARN" \
  --invoke-url "http://127.0.0.1:$PORT/2015-03-31/functions/alerts/invocations" &
pids+=($!)
wait -n "${pids[@]}"
