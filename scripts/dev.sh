#!/usr/bin/env bash
# `make dev`: the whole stack on this machine. Starts moto on 127.0.0.1:4566
# (unless AWS_ENDPOINT_URL already points at an endpoint), creates the table
# and topic from template.yaml, and serves every route at its API Gateway
# path on http://127.0.0.1:9000: scripts/api_gateway.py builds API Gateway's
# event (base64 where a body is not UTF-8, as API Gateway does) and invokes
# the functions that cargo lambda watch runs behind it. Ctrl-C stops all.
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
# The sweeper's rhythm, and (when set) one wait for every expected event
# instead of the template's defaults (docs/lifecycles.md).
export SWEEP_INTERVAL_SECONDS="${SWEEP_INTERVAL_SECONDS:-60}"
if [[ -n "${LIFECYCLE_WAIT_SECONDS:-}" ]]; then export LIFECYCLE_WAIT_SECONDS; fi

# cargo lambda watch, behind the API front on $PORT (its own router reads
# every JSON or text body as UTF-8 and answers 500 to a gzip or Latin-1 one).
WATCH_PORT="${DEV_WATCH_PORT:-9001}"

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

# The functions reach it through a proxy that `make load` (or you) can
# switch into a DynamoDB outage (scripts/outage_proxy.py): SQS and SNS stay
# up, so the spillway can be seen at work.
OUTAGE_PORT="${DEV_OUTAGE_PORT:-4567}"
$PY scripts/outage_proxy.py serve --port "$OUTAGE_PORT" --upstream "$AWS_ENDPOINT_URL" &
pids+=($!)
for _ in $(seq 50); do
  (exec 3<>/dev/tcp/127.0.0.1/"$OUTAGE_PORT") 2>/dev/null && break
  sleep 0.2
done
FUNCTIONS_ENDPOINT="http://127.0.0.1:$OUTAGE_PORT"

created=$($PY scripts/local_stack.py create --endpoint "$AWS_ENDPOINT_URL" --table "$TABLE_NAME")
ALERTS_TOPIC_ARN=$($PY -c 'import json,sys; print(json.load(sys.stdin)["topic_arn"])' <<<"$created")
export ALERTS_TOPIC_ARN
SPILLWAY_QUEUE_URL=$($PY -c 'import json,sys; print(json.load(sys.stdin)["spillway_queue_url"])' <<<"$created")
export SPILLWAY_QUEUE_URL
SPILLWAY_DEAD_LETTER_QUEUE_URL=$($PY -c 'import json,sys; print(json.load(sys.stdin)["spillway_dead_letter_queue_url"])' <<<"$created")
export SPILLWAY_DEAD_LETTER_QUEUE_URL
# The key the webhooks sign spilled deliveries with and the spillway
# verifies (the stack makes its own): one per run.
SPILLWAY_SIGNING_KEY=$($PY -c 'import secrets; print(secrets.token_hex(32))')
export SPILLWAY_SIGNING_KEY
# The alerts function's dead-letter queue (failed alerts, whole; docs/alerts.md).
ALERTS_DEAD_LETTER_QUEUE_URL=$($PY -c 'import boto3, os; print(boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=os.environ.get("AWS_REGION", "us-east-1")).create_queue(QueueName="callhooks-local-alerts-dlq")["QueueUrl"])')
export ALERTS_DEAD_LETTER_QUEUE_URL
echo "table $TABLE_NAME and topic $ALERTS_TOPIC_ARN are ready"

# Example configuration, loaded with the callhooks command line the way an
# operator would: Retell number +12137771235 and the contact +12137771234.
cargo run --quiet -p callhooks-cli -- numbers put examples/number.json
cargo run --quiet -p callhooks-cli -- contacts put examples/contact.json

# Closed locally too: each webhook secret from the environment, else a
# random one made for this run. They are printed, and written to
# .local/dev-secrets.env, where `make load` finds them.
mkdir -p .local
secrets_file=.local/dev-secrets.env
: >"$secrets_file"
chmod 600 "$secrets_file"
echo "webhook secrets (every request must carry its provider's):"
for secret in ZONITEL_WEBHOOK_TOKEN SALPRE_WEBHOOK_TOKEN VOXTELESYS_WEBHOOK_TOKEN RETELL_API_KEY TWILIO_AUTH_TOKEN; do
  if [[ -n "${!secret:-}" ]]; then
    origin="from your environment"
  else
    printf -v "$secret" '%s' "$($PY -c 'import secrets; print(secrets.token_hex(16))')"
    origin="made for this run"
  fi
  export "${secret?}"
  echo "$secret=${!secret}" >>"$secrets_file"
  echo "  $secret=${!secret}  ($origin)"
done

# The routes: the route table's (shared/model/src/route_table.rs).
routes=$($PY scripts/api_gateway.py routes --port "$PORT")

cat <<TXT

Routes on http://127.0.0.1:$PORT (functions compile on first use):
$routes
  alerts: fed from $TABLE_NAME's stream (scripts/stream_pump.py); each alert published on the topic prints here
  spillway: deliveries the table could not take, from the spillway queue back into the table
  sweeper: every $SWEEP_INTERVAL_SECONDS s, flags calls and SMS whose expected event never came
    (waits: ${LIFECYCLE_WAIT_SECONDS:-the template's defaults}${LIFECYCLE_WAIT_SECONDS:+ s for every expected event}; LIFECYCLE_WAIT_SECONDS=30 to watch one go incomplete)
  a DynamoDB outage for the functions: curl -X POST 'http://127.0.0.1:$OUTAGE_PORT/__outage?seconds=10'

Try:
  curl -s -X POST "http://127.0.0.1:$PORT/zonitel/calls?token=$ZONITEL_WEBHOOK_TOKEN" -H 'content-type: application/json' \\
    -d '{ "caller_id_name": "John Doe", "caller_id_number": "+14155552671", "destination_number": "+18339664835" }'
  curl -s "http://127.0.0.1:$PORT/voxtelesys/voice?CallSid=CA1&From=%2B14155552671&To=%2B18339664835&Direction=inbound&token=$VOXTELESYS_WEBHOOK_TOKEN"
  curl -s -X POST http://127.0.0.1:$PORT/salpre/events -H "authorization: Bearer $SALPRE_WEBHOOK_TOKEN" -H 'content-type: application/json' \\
    -d '{"event_type":"call_ringing","timestamp_utc":1795449000,"payload":{"from":"+14155552671","to":"+18339664835","direction":"inbound","call_id":1}}'

  body='{"event": "call_inbound", "call_inbound": {"from_number": "+12137771234", "to_number": "+12137771235"}}'
  curl -s -X POST http://127.0.0.1:$PORT/retell/inbound -H 'content-type: application/json' \\
    -H "x-retell-signature: \$(RETELL_API_KEY=$RETELL_API_KEY .venv/bin/python scripts/sign_retell.py --header "\$body")" -d "\$body"
  (the example configuration answers with agent_vip and Jane Roe's variables)

  body='CallSid=CA1&From=%2B14155552671&To=%2B12137771235&CallStatus=ringing&Direction=inbound'
  curl -s -X POST http://127.0.0.1:$PORT/twilio/voice -H 'content-type: application/x-www-form-urlencoded' \
    -H "x-twilio-signature: \$(TWILIO_AUTH_TOKEN=$TWILIO_AUTH_TOKEN .venv/bin/python scripts/sign_twilio.py --header --url http://127.0.0.1:$PORT/twilio/voice "\$body")" -d "\$body"
  (Twilio signs the URL it calls: these are signed for http://127.0.0.1:$PORT)
  Without its credential, every route answers 401 (docs/security.md).

Ctrl-C stops everything.
TXT

AWS_ENDPOINT_URL="$FUNCTIONS_ENDPOINT" .venv/bin/cargo-lambda lambda watch --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" &
pids+=($!)
# API Gateway's HTTP API in front: the routes, and watch's invoke API
# (`cargo lambda invoke --invoke-port $PORT`) passed through.
$PY scripts/api_gateway.py serve --port "$PORT" --watch "http://127.0.0.1:$WATCH_PORT" &
pids+=($!)
# The alerts function's event source mapping, locally: the table's stream
# into the function through watch's invoke API, the topic's messages out.
$PY scripts/stream_pump.py --endpoint "$AWS_ENDPOINT_URL" run --table "$TABLE_NAME" --topic-arn "$ALERTS_TOPIC_ARN" \
  --invoke-url "http://127.0.0.1:$WATCH_PORT/2015-03-31/functions/alerts/invocations" &
pids+=($!)
# The spillway's event source mapping, locally: deliveries the table could
# not take, from the queue into the spillway function.
$PY scripts/stream_pump.py --endpoint "$AWS_ENDPOINT_URL" spillway --queue-url "$SPILLWAY_QUEUE_URL" \
  --invoke-url "http://127.0.0.1:$WATCH_PORT/2015-03-31/functions/spillway/invocations" &
pids+=($!)
# The sweeper's schedule, locally: the sweeper function every
# SWEEP_INTERVAL_SECONDS (it reads LIFECYCLE_WAIT_SECONDS itself).
$PY scripts/stream_pump.py --endpoint "$AWS_ENDPOINT_URL" schedule --interval "$SWEEP_INTERVAL_SECONDS" \
  --invoke-url "http://127.0.0.1:$PORT/2015-03-31/functions/sweeper/invocations" &
pids+=($!)
wait -n "${pids[@]}"
