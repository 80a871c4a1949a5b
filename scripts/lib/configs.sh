# shellcheck shell=bash
# The demo values (ARCHITECTURE.md section 9) and the cloud-gateway and edge-service
# configurations that use them, for the scripts in scripts/ (sourced, not run).
#
# The write_* functions read the topology from HOST, CLOUD_PORT, EDGE_PORT, SIM_URL and
# CLOUD_URL, and SCRIPT_NAME for the header comment.

# The fixed demo values (ARCHITECTURE.md section 9).
SUITE_KEY=suitedemo0001
SUITE_SECRET=demo-suite-secret
CALLBACK_TOKEN=demotoken
CALLBACK_AES_KEY=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG
TEMPLATE_ID=demo-template
EDGE_ID=demo-edge
EDGE_SECRET=demo-edge-secret

# write_cloud_config FILE SQLITE_FILE: the cloud-gateway configuration (ISV mode against the
# simulator at SIM_URL, one edge allowed to redirect to SIM_URL/portal).
write_cloud_config() {
    cat >"$1" <<EOF
# cloud-gateway, demo configuration (written by scripts/$SCRIPT_NAME)
[server]
bind = "$HOST:$CLOUD_PORT"
public_url = "$CLOUD_URL"

[database]
url = "$2"

[dingtalk]
mode = "isv"
app_key = "$SUITE_KEY"
app_secret = "$SUITE_SECRET"
template_id = "$TEMPLATE_ID"
callback_token = "$CALLBACK_TOKEN"
callback_aes_key = "$CALLBACK_AES_KEY"
api_base = "$SIM_URL"
oapi_base = "$SIM_URL"
login_base = "$SIM_URL"

[oauth]
auth_code_ttl_secs = 300

[[edges]]
id = "$EDGE_ID"
secret = "$EDGE_SECRET"
redirect_prefixes = ["$SIM_URL/portal"]
EOF
}

# write_edge_config FILE DATABASE_URL [SYNC_WAIT_MS [OUTBOX_SETTING...]]: the edge-service
# configuration; messages.sync_wait_ms is SYNC_WAIT_MS (default 2000), and each OUTBOX_SETTING
# ("name = value") is added to [outbox] after max_age_secs = 3600.
write_edge_config() {
    local file=$1 db_url=$2 sync_wait_ms=${3:-2000} outbox="" setting
    shift 2
    if [ "$#" -gt 0 ]; then shift; fi
    for setting in "$@"; do outbox+=$'\n'"$setting"; done
    cat >"$file" <<EOF
# edge-service, demo configuration (written by scripts/$SCRIPT_NAME)
[server]
bind = "$HOST:$EDGE_PORT"

[database]
url = "$db_url"

[cloud]
base_url = "$CLOUD_URL"
edge_id = "$EDGE_ID"
edge_secret = "$EDGE_SECRET"
timeout_secs = 5

[messages]
default_url = "$SIM_URL/portal/"
sync_wait_ms = $sync_wait_ms

[outbox]
max_age_secs = 3600$outbox

[cors]
allowed_origins = ["$SIM_URL"]
EOF
}
