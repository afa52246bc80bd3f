#!/usr/bin/env bash
# Deploy the Sonoran CAD receiver with gcloud alone: the same resources as
# deploy/terraform (two functions, their build account and image repository,
# topic, dead-letter topic, quarantine topic, push subscription, service
# accounts, secrets), safe to re-run: each step describes the resource and
# creates it only when missing, and `gcloud functions deploy` updates. It works
# in a fresh project: it enables the APIs, creates the Pub/Sub service agent
# before naming it, and builds with its own account.
#
# A re-run keeps every setting nobody asked to change: each real run records
# its settings in deploy/gcloud-settings/PROJECT.PREFIX.env (git-ignored, the
# counterpart of terraform.tfvars) and the next run starts from that record;
# an option given on the command line (or in the environment) changes that one
# setting. Why a record and not the deployed functions read back: half of the
# settings live on no function (monitoring, the alert address, direct
# delivery, the pull subscription), and a record also keeps the region and
# prefix, which name where to look in the first place. A region or prefix that
# differs from the record would build a second receiver beside the first, so
# it is refused unless --new-region or --new-prefix asks for it.
#
# The API key never appears on a command line here. Add it as a secret version
# yourself (the script tells you how when the secret is still empty).

set -euo pipefail

usage() {
  cat <<'EOF'
Usage: deploy/gcloud.sh --project ID [options]

Deploys the Sonoran CAD receiver (event function, worker, Pub/Sub) with gcloud.
Re-running updates what exists and keeps every setting you do not give: each
real run records its settings in deploy/gcloud-settings/PROJECT.PREFIX.env and
the next run starts from them (--dry-run shows what a run would change). Every
option can also come from the environment variable shown; flags win. The
defaults below apply when nothing is recorded yet.

  --project ID                 PROJECT_ID (or CLOUDSDK_CORE_PROJECT); required
  --region REGION              REGION, default us-central1
  --prefix NAME                NAME_PREFIX, default sonorancad
  --new-region                 deploy in a --region other than the recorded one:
                               a second receiver; the first keeps running (and
                               billing) until you delete it
  --new-prefix                 deploy under a --prefix this project has no record
                               of, beside the recorded receiver
  --adopt                      a receiver deployed before this checkout recorded
                               anything: deploy it with exactly the options given
                               (and defaults for the rest) and record them
  --min-instances N            MIN_INSTANCES, default 0 (1 avoids cold starts,
                               about $9.86 a month, docs/before-you-start.md)
  --max-instances N            MAX_INSTANCES, default 5
  --worker-max-instances N     WORKER_MAX_INSTANCES, default 3
  --concurrency N              CONCURRENCY, default 8 (THREADS follows it)
  --cpu 1|2                    CPU, default 1 (below 1 vCPU forces concurrency 1)
  --memory SIZE                MEMORY, default 512Mi (512Mi, 1Gi, 2Gi or 4Gi)
  --event-timeout SECONDS      EVENT_TIMEOUT, default 60 (40-3600): how long the
                               platform lets one request run before answering
                               504 itself
  --routes SPEC                ROUTES, default '*=publish,GET_LOGS=drop'
  --handlers SPEC              HANDLERS, default '*=log'
  --strict-types true|false    STRICT_TYPES, default false
  --dead-letter-attempts N     DEAD_LETTER_ATTEMPTS, default 10 (5-100)
  --with-discord               ENABLE_DISCORD_WEBHOOK=1: secret <prefix>-discord-webhook
                               as DISCORD_WEBHOOK_URL
  --without-discord            ENABLE_DISCORD_WEBHOOK=0
  --forward-url URL            FORWARD_URL: forward handler target; secret
                               <prefix>-forward-secret as FORWARD_SECRET
  --without-forward-url        FORWARD_URL='': no forward handler
  --with-pull-subscription     CREATE_PULL_SUBSCRIPTION=1: <prefix>-events-pull
  --without-pull-subscription  CREATE_PULL_SUBSCRIPTION=0 (deletes nothing)
  --with-direct-delivery       ENABLE_DIRECT_DELIVERY=1: a static IP on plain HTTP
                               port 80 for the CAD panel, about $18.25 a month
                               (docs/direct-delivery.md)
  --without-direct-delivery    ENABLE_DIRECT_DELIVERY=0 (deletes nothing:
                               docs/direct-delivery.md "Turn it off")
  --with-direct-delivery-rate-limit
                               DIRECT_DELIVERY_RATE_LIMIT=1: Cloud Armor answers
                               429 to a client IP above the rate below, on the
                               direct-delivery address only
  --without-direct-delivery-rate-limit
                               DIRECT_DELIVERY_RATE_LIMIT=0
  --direct-delivery-rate-limit-per-minute N
                               DIRECT_DELIVERY_RATE_LIMIT_PER_MINUTE, default 600
  --without-monitoring         ENABLE_MONITORING=0: skip the log-based metrics, alert
                               policies, uptime check and dashboard that are
                               deployed by default, about $9.30 a month
                               (docs/monitoring.md)
  --with-monitoring            ENABLE_MONITORING=1, the default
  --alert-email ADDRESS        ALERT_EMAIL: where the alerts are e-mailed (without
                               it they show in the Cloud console only)
  --without-alert-email        ALERT_EMAIL='': alerts in the console only
  --no-events-alert-hours N    NO_EVENTS_ALERT_HOURS, default 0 (off): alert when no
                               event was accepted for N hours (1-23)
  --build-service-account EMAIL
                               BUILD_SERVICE_ACCOUNT: account Cloud Build builds
                               the functions as; default <prefix>-build, created
                               here; either way it gets the build roles
  --dry-run                    print the settings it would change and every gcloud
                               command instead of running them
  -h, --help                   this text

First run: the script creates the secret <prefix>-api-keys and stops until it
has a version. Add one without putting the key on a command line, exported as
SONORAN_API_KEY for `make verify` (it asks for the key; what you type is not
shown):

  printf 'SONORAN_API_KEY (typing is not shown): ' >&2 && read -rs SONORAN_API_KEY && echo >&2 && export SONORAN_API_KEY && printf %s "$SONORAN_API_KEY" | gcloud secrets versions add sonorancad-api-keys --project=PROJECT_ID --data-file=-

then run the script again: `deploy/gcloud.sh --project PROJECT_ID --region REGION`
is enough, the first run's other options come from its record.

gcloud commands: `gcloud beta services identity create` (beta), and for
monitoring (on by default) `gcloud monitoring policies` and `gcloud monitoring
channels` where this gcloud has them, else their beta or alpha forms (gcloud
528 has policies in alpha only). Cloud Shell has every track. A gcloud installed
with `gcloud components` adds them with `gcloud components install alpha beta`;
one installed with apt or dnf has them already (its component manager is off,
and that command fails there).
EOF
}

die() {
  printf 'gcloud.sh: %s\n' "$1" >&2
  exit 2
}

need_value() {
  [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value (see --help)"
}

SOURCE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# --- settings: the command line, then the environment, then the record, then the defaults

# Every setting a run records. Each has a DEFAULT_<NAME>, and FROM_<NAME> says
# where its value came from: the flag, "environment", "record" or "default".
SETTINGS=(
  REGION NAME_PREFIX MIN_INSTANCES MAX_INSTANCES WORKER_MAX_INSTANCES CONCURRENCY CPU MEMORY
  EVENT_TIMEOUT ROUTES HANDLERS STRICT_TYPES DEAD_LETTER_ATTEMPTS ENABLE_DISCORD_WEBHOOK
  FORWARD_URL CREATE_PULL_SUBSCRIPTION ENABLE_DIRECT_DELIVERY DIRECT_DELIVERY_RATE_LIMIT
  DIRECT_DELIVERY_RATE_LIMIT_PER_MINUTE ENABLE_MONITORING ALERT_EMAIL NO_EVENTS_ALERT_HOURS
  BUILD_SERVICE_ACCOUNT
)
DEFAULT_REGION=us-central1
DEFAULT_NAME_PREFIX=sonorancad
DEFAULT_MIN_INSTANCES=0
DEFAULT_MAX_INSTANCES=5
DEFAULT_WORKER_MAX_INSTANCES=3
DEFAULT_CONCURRENCY=8
DEFAULT_CPU=1
DEFAULT_MEMORY=512Mi
DEFAULT_EVENT_TIMEOUT=60
DEFAULT_ROUTES='*=publish,GET_LOGS=drop'
DEFAULT_HANDLERS='*=log'
DEFAULT_STRICT_TYPES=false
DEFAULT_DEAD_LETTER_ATTEMPTS=10
DEFAULT_ENABLE_DISCORD_WEBHOOK=0
DEFAULT_FORWARD_URL=''
DEFAULT_CREATE_PULL_SUBSCRIPTION=0
DEFAULT_ENABLE_DIRECT_DELIVERY=0
DEFAULT_DIRECT_DELIVERY_RATE_LIMIT=0
DEFAULT_DIRECT_DELIVERY_RATE_LIMIT_PER_MINUTE=600
# On by default: a lost event must reach the user without anyone reading logs.
DEFAULT_ENABLE_MONITORING=1
DEFAULT_ALERT_EMAIL=''
DEFAULT_NO_EVENTS_ALERT_HOURS=0
DEFAULT_BUILD_SERVICE_ACCOUNT=''

for name in "${SETTINGS[@]}"; do
  if [[ -n ${!name+set} ]]; then
    printf -v "FROM_$name" '%s' environment
  else
    printf -v "FROM_$name" '%s' ''
  fi
done

# give NAME VALUE FLAG: the command line sets NAME.
give() {
  printf -v "$1" '%s' "$2"
  printf -v "FROM_$1" '%s' "$3"
}

PROJECT_ID="${PROJECT_ID:-${CLOUDSDK_CORE_PROJECT:-}}"
DRY_RUN=0
NEW_REGION=0
NEW_PREFIX=0
ADOPT=0

while [[ $# -gt 0 ]]; do
  case $1 in
    --project) need_value "$@"; PROJECT_ID=$2; shift 2 ;;
    --region) need_value "$@"; give REGION "$2" "$1"; shift 2 ;;
    --prefix) need_value "$@"; give NAME_PREFIX "$2" "$1"; shift 2 ;;
    --new-region) NEW_REGION=1; shift ;;
    --new-prefix) NEW_PREFIX=1; shift ;;
    --adopt) ADOPT=1; shift ;;
    --min-instances) need_value "$@"; give MIN_INSTANCES "$2" "$1"; shift 2 ;;
    --max-instances) need_value "$@"; give MAX_INSTANCES "$2" "$1"; shift 2 ;;
    --worker-max-instances) need_value "$@"; give WORKER_MAX_INSTANCES "$2" "$1"; shift 2 ;;
    --concurrency) need_value "$@"; give CONCURRENCY "$2" "$1"; shift 2 ;;
    --cpu) need_value "$@"; give CPU "$2" "$1"; shift 2 ;;
    --memory) need_value "$@"; give MEMORY "$2" "$1"; shift 2 ;;
    --event-timeout) need_value "$@"; give EVENT_TIMEOUT "$2" "$1"; shift 2 ;;
    --routes) need_value "$@"; give ROUTES "$2" "$1"; shift 2 ;;
    --handlers) need_value "$@"; give HANDLERS "$2" "$1"; shift 2 ;;
    --strict-types) need_value "$@"; give STRICT_TYPES "$2" "$1"; shift 2 ;;
    --dead-letter-attempts) need_value "$@"; give DEAD_LETTER_ATTEMPTS "$2" "$1"; shift 2 ;;
    --with-discord | --without-discord)
      give ENABLE_DISCORD_WEBHOOK "$([[ $1 == --with-* ]] && echo 1 || echo 0)" "$1"; shift ;;
    --forward-url) need_value "$@"; give FORWARD_URL "$2" "$1"; shift 2 ;;
    --without-forward-url) give FORWARD_URL '' "$1"; shift ;;
    --with-pull-subscription | --without-pull-subscription)
      give CREATE_PULL_SUBSCRIPTION "$([[ $1 == --with-* ]] && echo 1 || echo 0)" "$1"; shift ;;
    --with-direct-delivery | --without-direct-delivery)
      give ENABLE_DIRECT_DELIVERY "$([[ $1 == --with-* ]] && echo 1 || echo 0)" "$1"; shift ;;
    --with-direct-delivery-rate-limit | --without-direct-delivery-rate-limit)
      give DIRECT_DELIVERY_RATE_LIMIT "$([[ $1 == --with-* ]] && echo 1 || echo 0)" "$1"; shift ;;
    --direct-delivery-rate-limit-per-minute) need_value "$@"; give DIRECT_DELIVERY_RATE_LIMIT_PER_MINUTE "$2" "$1"; shift 2 ;;
    --with-monitoring | --without-monitoring)
      give ENABLE_MONITORING "$([[ $1 == --with-* ]] && echo 1 || echo 0)" "$1"; shift ;;
    --alert-email) need_value "$@"; give ALERT_EMAIL "$2" "$1"; shift 2 ;;
    --without-alert-email) give ALERT_EMAIL '' "$1"; shift ;;
    --no-events-alert-hours) need_value "$@"; give NO_EVENTS_ALERT_HOURS "$2" "$1"; shift 2 ;;
    --build-service-account) need_value "$@"; give BUILD_SERVICE_ACCOUNT "$2" "$1"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option: $1 (see --help)" ;;
  esac
done

[[ -n $PROJECT_ID ]] || die "no project: pass --project ID or set PROJECT_ID"
[[ $PROJECT_ID =~ ^[a-z][a-z0-9-]{4,28}[a-z0-9]$ ]] || die "--project must be a project id (not a number or name)"

# The record of each real run: one file per project and prefix. Neither a
# project id nor a prefix can hold a dot, so the name splits back cleanly.
SETTINGS_DIR="${DEPLOY_SETTINGS_DIR:-$SOURCE_DIR/deploy/gcloud-settings}"
shown_path() {
  printf '%s' "${1#"$SOURCE_DIR"/}"
}

RECORDED_PREFIXES=()
for path in "$SETTINGS_DIR/$PROJECT_ID".*.env; do
  [[ -f $path ]] || continue
  recorded=${path##*/}
  recorded=${recorded#"$PROJECT_ID".}
  RECORDED_PREFIXES+=("${recorded%.env}")
done

# given NAME: whether the command line or the environment set it.
given() {
  local from="FROM_$1"
  [[ -n ${!from} ]]
}

# The prefix picks the record, so it is settled first.
if ! given NAME_PREFIX; then
  case ${#RECORDED_PREFIXES[@]} in
    0) ;;
    1) NAME_PREFIX=${RECORDED_PREFIXES[0]}; FROM_NAME_PREFIX=record ;;
    *) die "project $PROJECT_ID has receivers recorded under several prefixes (${RECORDED_PREFIXES[*]}): pass --prefix to say which" ;;
  esac
elif ((${#RECORDED_PREFIXES[@]} > 0)) && [[ ! -f "$SETTINGS_DIR/$PROJECT_ID.$NAME_PREFIX.env" ]] && ((!NEW_PREFIX)); then
  die "project $PROJECT_ID has a receiver recorded under the prefix ${RECORDED_PREFIXES[*]} ($(shown_path "$SETTINGS_DIR")). Prefix $NAME_PREFIX would deploy a second, separate receiver beside it: drop ${FROM_NAME_PREFIX/environment/NAME_PREFIX from your environment} to keep the recorded one, or add --new-prefix to deploy the second one"
fi
[[ ${NAME_PREFIX:-$DEFAULT_NAME_PREFIX} =~ ^[a-z][a-z0-9-]{0,18}[a-z0-9]$ ]] ||
  die "--prefix must be 2-20 lowercase letters, digits or hyphens"
RECORD_FILE="$SETTINGS_DIR/$PROJECT_ID.${NAME_PREFIX:-$DEFAULT_NAME_PREFIX}.env"

# Read as NAME=VALUE lines, never sourced: the file is data, and only the
# names above are taken from it.
RECORDED_AT=""
if [[ -f $RECORD_FILE ]]; then
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line == [A-Z]*=* ]] || continue
    name=${line%%=*}
    if [[ $name == RECORDED_AT ]]; then
      RECORDED_AT=${line#*=}
      continue
    fi
    for known in "${SETTINGS[@]}"; do
      if [[ $name == "$known" ]]; then
        printf -v "RECORDED_$name" '%s' "${line#*=}"
        printf -v "HAS_RECORDED_$name" '%s' 1
      fi
    done
  done <"$RECORD_FILE"
fi

# recorded NAME: whether the record holds NAME.
recorded() {
  local has="HAS_RECORDED_$1"
  [[ -n ${!has:-} ]]
}

for name in "${SETTINGS[@]}"; do
  given "$name" && continue
  if recorded "$name"; then
    value_of="RECORDED_$name"
    printf -v "$name" '%s' "${!value_of}"
    printf -v "FROM_$name" '%s' record
  else
    value_of="DEFAULT_$name"
    printf -v "$name" '%s' "${!value_of}"
    printf -v "FROM_$name" '%s' default
  fi
done

if recorded REGION && [[ $REGION != "$RECORDED_REGION" ]] && ((!NEW_REGION)); then
  die "this receiver was deployed in $RECORDED_REGION ($(shown_path "$RECORD_FILE")). Region $REGION (from ${FROM_REGION/environment/REGION in your environment}) would deploy a second receiver there, and the first would keep running and billing: drop it to keep $RECORDED_REGION, or add --new-region to deploy in $REGION"
fi

# --- settings checked before anything runs (same rules as variables.tf) --------

[[ $REGION =~ ^[a-z]+-[a-z]+[0-9]+$ ]] || die "--region must be a region such as us-central1, not a zone"

whole_in_range() {
  local name=$1 value=$2 low=$3 high=$4
  if ! [[ $value =~ ^[0-9]+$ ]] || ((10#$value < low || 10#$value > high)); then
    die "$name must be a whole number from $low to $high"
  fi
}
whole_in_range --min-instances "$MIN_INSTANCES" 0 10
whole_in_range --max-instances "$MAX_INSTANCES" 1 100
whole_in_range --worker-max-instances "$WORKER_MAX_INSTANCES" 1 100
whole_in_range --concurrency "$CONCURRENCY" 1 80
whole_in_range --dead-letter-attempts "$DEAD_LETTER_ATTEMPTS" 5 100
whole_in_range --event-timeout "$EVENT_TIMEOUT" 1 3600
# The longest the receiver itself may take (docs/guarantees.md); the same floor
# as event_timeout_seconds in variables.tf.
((10#$EVENT_TIMEOUT >= 40)) ||
  die "--event-timeout must be at least 40: a request may need the body deadline (10 s), the Pub/Sub wait (10 s) and its inline handlers (20 s), and a shorter timeout cuts off events still being handled"
[[ $CPU == 1 || $CPU == 2 ]] || die "--cpu must be 1 or 2 (fractional vCPUs force concurrency 1)"
[[ $MEMORY =~ ^(512Mi|1Gi|2Gi|4Gi)$ ]] || die "--memory must be 512Mi, 1Gi, 2Gi or 4Gi"
[[ $STRICT_TYPES == true || $STRICT_TYPES == false ]] || die "--strict-types must be true or false"
[[ $ROUTES =~ ^[A-Z0-9_*]+=[a-z+]+(,[A-Z0-9_*]+=[a-z+]+)*$ ]] || die "--routes must look like '*=publish,GET_LOGS=drop'"
[[ $HANDLERS =~ ^[A-Z0-9_*]+=[a-z_+]+(,[A-Z0-9_*]+=[a-z_+]+)*$ ]] || die "--handlers must look like '*=log,EVENT_911=log+discord'"
[[ -z $FORWARD_URL || $FORWARD_URL =~ ^https://[^[:space:]]+$ ]] || die "--forward-url must be an https:// URL"
[[ -z $BUILD_SERVICE_ACCOUNT || $BUILD_SERVICE_ACCOUNT =~ ^[a-z0-9-]+@[a-z0-9.-]+\.iam\.gserviceaccount\.com$ ]] ||
  die "--build-service-account must be a service account email"
[[ $ENABLE_DISCORD_WEBHOOK == 1 || $HANDLERS != *discord* ]] || die "--handlers name discord: add --with-discord"
[[ -n $FORWARD_URL || $HANDLERS != *forward* ]] || die "--handlers name forward: add --forward-url"
whole_in_range --direct-delivery-rate-limit-per-minute "$DIRECT_DELIVERY_RATE_LIMIT_PER_MINUTE" 60 100000
[[ $ENABLE_DIRECT_DELIVERY == 1 || $DIRECT_DELIVERY_RATE_LIMIT == 0 ]] ||
  die "--with-direct-delivery-rate-limit needs --with-direct-delivery"
# The address is put into a template with sed (gcloud.d/monitoring.sh): the
# pattern also keeps out the characters sed would read (& \ |).
[[ -z $ALERT_EMAIL || $ALERT_EMAIL =~ ^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$ ]] ||
  die "--alert-email must be one e-mail address"
# Cloud Monitoring allows at most 23.5 hours of absence.
whole_in_range --no-events-alert-hours "$NO_EVENTS_ALERT_HOURS" 0 23
for name in ENABLE_DISCORD_WEBHOOK CREATE_PULL_SUBSCRIPTION ENABLE_DIRECT_DELIVERY \
  DIRECT_DELIVERY_RATE_LIMIT ENABLE_MONITORING; do
  [[ ${!name} == 0 || ${!name} == 1 ]] || die "$name must be 0 or 1"
done
[[ $ENABLE_MONITORING == 1 || (-z $ALERT_EMAIL && $NO_EVENTS_ALERT_HOURS == 0) ]] ||
  die "--alert-email and --no-events-alert-hours need monitoring: drop --without-monitoring (ENABLE_MONITORING=0)"

# --- the settings: what changes, the complete command, the record ----------------

quote() {
  if [[ $1 =~ ^[A-Za-z0-9_./:=@,+%-]+$ ]]; then
    printf '%s' "$1"
  else
    printf "'%s'" "${1//\'/\'\\\'\'}"
  fi
}

print_cmd() {
  local first=1 arg
  for arg in "$@"; do
    ((first)) || printf ' '
    first=0
    quote "$arg"
  done
  printf '\n'
}

# setting_flags NAME: the option words that set NAME to its value.
setting_flags() {
  local value=${!1}
  case $1 in
    REGION) printf '%s\n' --region "$value" ;;
    NAME_PREFIX) printf '%s\n' --prefix "$value" ;;
    ENABLE_DISCORD_WEBHOOK) ((value)) && echo --with-discord || echo --without-discord ;;
    CREATE_PULL_SUBSCRIPTION) ((value)) && echo --with-pull-subscription || echo --without-pull-subscription ;;
    ENABLE_DIRECT_DELIVERY) ((value)) && echo --with-direct-delivery || echo --without-direct-delivery ;;
    DIRECT_DELIVERY_RATE_LIMIT)
      ((value)) && echo --with-direct-delivery-rate-limit || echo --without-direct-delivery-rate-limit ;;
    ENABLE_MONITORING) ((value)) && echo --with-monitoring || echo --without-monitoring ;;
    FORWARD_URL) [[ -n $value ]] && printf '%s\n' --forward-url "$value" || echo --without-forward-url ;;
    ALERT_EMAIL) [[ -n $value ]] && printf '%s\n' --alert-email "$value" || echo --without-alert-email ;;
    *)
      local flag
      flag=$(printf '%s' "$1" | tr '[:upper:]_' '[:lower:]-')
      case $1 in
        MIN_INSTANCES | MAX_INSTANCES | WORKER_MAX_INSTANCES | CONCURRENCY | CPU | MEMORY | EVENT_TIMEOUT | ROUTES | HANDLERS | STRICT_TYPES | DEAD_LETTER_ATTEMPTS | DIRECT_DELIVERY_RATE_LIMIT_PER_MINUTE | NO_EVENTS_ALERT_HOURS | BUILD_SERVICE_ACCOUNT)
          printf '%s\n' "--$flag" "$value" ;;
      esac
      ;;
  esac
}

# The whole command for these settings: the project, region and prefix always,
# then every setting that differs from its default.
complete_command() {
  local words=(deploy/gcloud.sh --project "$PROJECT_ID") name default word
  for name in "${SETTINGS[@]}"; do
    default="DEFAULT_$name"
    if [[ $name == REGION || $name == NAME_PREFIX || ${!name} != "${!default}" ]]; then
      while IFS= read -r word; do words+=("$word"); done < <(setting_flags "$name")
    fi
  done
  print_cmd "${words[@]}"
}

# The settings this run changes against the record, one line each.
settings_changes() {
  local name value_of
  for name in "${SETTINGS[@]}"; do
    value_of="RECORDED_$name"
    if ! recorded "$name"; then
      printf '%s: not recorded -> %s (%s)\n' "$name" "$(quote "${!name}")" "$(from_of "$name")"
    elif [[ ${!name} != "${!value_of}" ]]; then
      printf '%s: %s -> %s (%s)\n' "$name" "$(quote "${!value_of}")" "$(quote "${!name}")" "$(from_of "$name")"
    fi
  done
}

from_of() {
  local from="FROM_$1"
  case ${!from} in
    environment) printf '%s in the environment' "$1" ;;
    default) printf 'the default' ;;
    *) printf '%s' "${!from}" ;;
  esac
}

# Every recorded setting kept that is not a default: what the record saves you
# from typing again.
settings_kept() {
  local name default kept=()
  for name in "${SETTINGS[@]}"; do
    default="DEFAULT_$name"
    local from="FROM_$name"
    if [[ ${!from} == record && ${!name} != "${!default}" ]]; then
      kept+=("$name=$(quote "${!name}")")
    fi
  done
  printf '%s' "${kept[*]:-}"
}

# Written after the settings are checked and before anything is changed, so a
# run that stops half-way (the empty key secret, an error) leaves the settings
# it was given for the next run to start from. Written whole, then moved into
# place.
write_record() {
  local name
  mkdir -p "$SETTINGS_DIR"
  {
    printf '# deploy/gcloud.sh settings for project %s, prefix %s: each run starts\n' "$PROJECT_ID" "$NAME_PREFIX"
    printf '# from these. Change one by passing its option (deploy/gcloud.sh --help) or\n'
    printf '# by editing its line. The complete command for them:\n'
    printf '#   %s' "$(complete_command)"
    printf '\n'
    printf 'RECORDED_AT=%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    for name in "${SETTINGS[@]}"; do
      printf '%s=%s\n' "$name" "${!name}"
    done
  } >"$RECORD_FILE.new"
  mv "$RECORD_FILE.new" "$RECORD_FILE"
}

SHOWN_RECORD=$(shown_path "$RECORD_FILE")
if [[ -f $RECORD_FILE ]]; then
  printf '# Settings of %s, prefix %s: starting from %s (recorded %s)\n' \
    "$PROJECT_ID" "$NAME_PREFIX" "$SHOWN_RECORD" "${RECORDED_AT:-at an unknown time}"
  KEPT=$(settings_kept)
  [[ -z $KEPT ]] || printf '#   kept as recorded: %s\n' "$KEPT"
  CHANGES=$(settings_changes)
  if [[ -z $CHANGES ]]; then
    printf '#   changes no setting\n'
  else
    printf '#   %s:\n' "$( ((DRY_RUN)) && echo 'a real run would change' || echo 'changes, and records')"
    while IFS= read -r line; do printf '#     %s\n' "$line"; done <<<"$CHANGES"
  fi
else
  printf '# Settings of %s, prefix %s: no earlier run recorded; %s them in %s\n' \
    "$PROJECT_ID" "$NAME_PREFIX" "$( ((DRY_RUN)) && echo 'a real run records' || echo 'recording')" "$SHOWN_RECORD"
fi
printf '#   the complete command: %s' "$(complete_command)"
printf '\n'

# --- names (the same as deploy/terraform) ---------------------------------------

EVENT_FN="${NAME_PREFIX}-event"
WORKER_FN="${NAME_PREFIX}-worker"
EVENT_SA="${NAME_PREFIX}-event@${PROJECT_ID}.iam.gserviceaccount.com"
WORKER_SA="${NAME_PREFIX}-worker@${PROJECT_ID}.iam.gserviceaccount.com"
PUSH_SA="${NAME_PREFIX}-push@${PROJECT_ID}.iam.gserviceaccount.com"
# The build account: ours unless --build-service-account names another.
BUILD_SA="${BUILD_SERVICE_ACCOUNT:-${NAME_PREFIX}-build@${PROJECT_ID}.iam.gserviceaccount.com}"
AR_REPO="${NAME_PREFIX}-functions"
AR_REPO_PATH="projects/${PROJECT_ID}/locations/${REGION}/repositories/${AR_REPO}"
TOPIC="${NAME_PREFIX}-events"
TOPIC_PATH="projects/${PROJECT_ID}/topics/${TOPIC}"
DLT="${NAME_PREFIX}-events-dead-letter"
DLT_PATH="projects/${PROJECT_ID}/topics/${DLT}"
DLT_SUB="${NAME_PREFIX}-events-dead-letter"
PUSH_SUB="${NAME_PREFIX}-worker-push"
PULL_SUB="${NAME_PREFIX}-events-pull"
QUARANTINE_TOPIC="${NAME_PREFIX}-quarantine"
QUARANTINE_TOPIC_PATH="projects/${PROJECT_ID}/topics/${QUARANTINE_TOPIC}"
QUARANTINE_SUB="${NAME_PREFIX}-quarantine-pull"
API_KEYS_SECRET="${NAME_PREFIX}-api-keys"
DISCORD_SECRET="${NAME_PREFIX}-discord-webhook"
FORWARD_SECRET_NAME="${NAME_PREFIX}-forward-secret"
# A secret volume is read again on access: a new "latest" version rotates the
# key without a redeploy (the receiver re-reads the file when it changes).
API_KEYS_FILE="/etc/sonoran-keys/api-keys"
LABELS="app=sonorancad-receiver,managed-by=gcloud-sh"
P=(--project="$PROJECT_ID")

# What the functions run, and all that is uploaded: the same allow-list as
# deploy/terraform/source.tf (main.py, the packages it imports, requirements.txt
# for the buildpack). A change anywhere else deploys nothing new.
SOURCE_TOP_FILES=(main.py requirements.txt)
SOURCE_PACKAGES=(sonoran_receiver handlers)
# The images Artifact Registry keeps per function (deploy/terraform/build.tf).
IMAGES_KEPT=5

# --- running, or printing -------------------------------------------------------

run() {
  if ((DRY_RUN)); then
    print_cmd "$@"
  else
    printf '+ ' >&2
    print_cmd "$@" >&2
    "$@"
  fi
}

# IAM bindings on a just-created service account can fail for a few seconds
# while the account propagates.
run_retry() {
  if ((DRY_RUN)); then
    print_cmd "$@"
    return
  fi
  local attempt
  for attempt in 1 2 3 4 5; do
    printf '+ ' >&2
    print_cmd "$@" >&2
    if "$@" >/dev/null; then return 0; fi
    ((attempt < 5)) || return 1
    sleep $((attempt * 5))
  done
}

# Describe commands only read. In a dry run they are shown as comments and
# treated as "missing", so the printout shows every create.
exists() {
  if ((DRY_RUN)); then
    printf '# if missing: '
    print_cmd "$@"
    return 1
  fi
  "$@" >/dev/null 2>&1
}

note() {
  printf '# %s\n' "$1"
}

# Temporary directories (the staged source, monitoring's rendered files), all
# removed by the one EXIT trap: a second trap would replace the first.
TEMP_DIRS=()
remove_temp_dirs() {
  ((${#TEMP_DIRS[@]} == 0)) || rm -rf "${TEMP_DIRS[@]}"
}
trap remove_temp_dirs EXIT

if ((!DRY_RUN)); then
  command -v gcloud >/dev/null || die "gcloud is not installed (https://cloud.google.com/sdk/docs/install)"
fi

# --- a receiver deployed before anything was recorded ------------------------------

# Without a record, the settings are the defaults plus what was given: right
# for a first deploy, wrong for a receiver deployed earlier from another
# checkout (or before the script kept records), whose region, handlers and
# secrets a run would reset. So a run without a record looks for the event
# function first, in every region.
if [[ ! -f $RECORD_FILE ]]; then
  FIND_EVENT_FN=(gcloud functions list "${P[@]}" --regions=- --filter="name~/functions/${EVENT_FN}\$"
    --format='value(name)')
  if ((DRY_RUN)); then
    printf '# no record: a real run stops if %s already exists: ' "$EVENT_FN"
    print_cmd "${FIND_EVENT_FN[@]}"
  else
    # A fresh project has the Cloud Functions API off: nothing to find.
    FOUND=$("${FIND_EVENT_FN[@]}" 2>/dev/null | head -n 1 || true)
    if [[ -n $FOUND ]]; then
      FOUND_REGION=${FOUND#*/locations/}
      FOUND_REGION=${FOUND_REGION%%/*}
      if [[ $FOUND_REGION != "$REGION" ]] && ((!NEW_REGION)); then
        die "$EVENT_FN already runs in $FOUND_REGION and nothing here records how it was deployed. This run would deploy a second receiver in $REGION: pass --region $FOUND_REGION with every option it was deployed with, and --adopt (or --new-region to deploy in $REGION anyway)"
      fi
      if ((!ADOPT)); then
        die "$EVENT_FN already runs in $FOUND_REGION and nothing here records how it was deployed ($SHOWN_RECORD is missing), so this run would reset every option you did not pass: its handlers, secrets, monitoring address. See what it runs with:
  gcloud functions describe ${NAME_PREFIX}-worker --project=$PROJECT_ID --region=$FOUND_REGION --format='yaml(serviceConfig.environmentVariables,serviceConfig.secretEnvironmentVariables)'
then run once with every option it was deployed with and --adopt; later runs start from the record that run writes"
      fi
    fi
  fi
fi

if ((!DRY_RUN)); then
  write_record
  note "settings recorded in $SHOWN_RECORD"
fi

# The optional features (their calls are at the end, "optional features").
# shellcheck source=gcloud.d/monitoring.sh
source "${SOURCE_DIR}/deploy/gcloud.d/monitoring.sh"
# shellcheck source=gcloud.d/direct_delivery.sh
source "${SOURCE_DIR}/deploy/gcloud.d/direct_delivery.sh"

# --- APIs -----------------------------------------------------------------------

note "APIs, all of them first (Eventarc is not needed: the worker is fed by our own push subscription)"
run gcloud services enable "${P[@]}" \
  artifactregistry.googleapis.com cloudbuild.googleapis.com cloudfunctions.googleapis.com \
  iam.googleapis.com logging.googleapis.com pubsub.googleapis.com run.googleapis.com \
  secretmanager.googleapis.com storage.googleapis.com

# Google creates the Pub/Sub service agent lazily; in a fresh project the grants
# below that name it fail until it exists. Creating it is idempotent: an
# existing agent is returned as it is.
note "Pub/Sub service agent: created now, before any grant names it"
run gcloud beta services identity create --service=pubsub.googleapis.com "${P[@]}"

if ((DRY_RUN)); then
  PROJECT_NUMBER="PROJECT_NUMBER"
else
  PROJECT_NUMBER="$(gcloud projects describe "$PROJECT_ID" --format='value(projectNumber)')"
fi
PUBSUB_AGENT="serviceAccount:service-${PROJECT_NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com"

# Monitoring's log-based metrics, now: Google allows a new one up to 10
# minutes before an alert policy may name it, and the policies come at the end,
# after the functions' builds (gcloud.d/monitoring.sh).
deploy_monitoring_metrics

# --- service accounts -------------------------------------------------------------

ensure_service_account() {
  local email=$1 display=$2
  if ! exists gcloud iam service-accounts describe "$email" "${P[@]}"; then
    run gcloud iam service-accounts create "${email%%@*}" "${P[@]}" --display-name="$display"
  fi
}

note "Service accounts: one per function, one for the push subscription's token"
ensure_service_account "$EVENT_SA" "Sonoran CAD event function (runtime)"
ensure_service_account "$WORKER_SA" "Sonoran CAD worker function (runtime)"
ensure_service_account "$PUSH_SA" "Sonoran CAD worker push (invoker)"

# Cloud Build builds both functions as this account, not as the Compute Engine
# default account a new project would use, which may lack the roles or not exist
# at all ("Custom Service Account for Cloud Build", docs/deploy.md).
BUILD_SETUP_NEW=0
if [[ -z $BUILD_SERVICE_ACCOUNT ]]; then
  if ! exists gcloud iam service-accounts describe "$BUILD_SA" "${P[@]}"; then
    run gcloud iam service-accounts create "${BUILD_SA%%@*}" "${P[@]}" \
      --display-name="Sonoran CAD functions (build)"
    BUILD_SETUP_NEW=1
  fi
fi

# --- secrets (never their values) -------------------------------------------------

ensure_secret() {
  local name=$1
  if ! exists gcloud secrets describe "$name" "${P[@]}"; then
    run gcloud secrets create "$name" "${P[@]}" --replication-policy=automatic --labels="$LABELS"
  fi
}

grant_secret() {
  run_retry gcloud secrets add-iam-policy-binding "$1" "${P[@]}" \
    --member="serviceAccount:$2" --role=roles/secretmanager.secretAccessor --condition=None
}

# Stops the run while a secret has no version: a function given an empty
# secret fails to start, and the key must not come from this script. The value
# is read into $3 (default VALUE) after a prompt on stderr (a bare `read -rs`
# shows nothing, and the terminal looks frozen); SONORAN_API_KEY is also
# exported, where `make verify` reads the key.
require_version() {
  local name=$1 what=$2 var=${3:-VALUE} keep=""
  [[ $var != SONORAN_API_KEY ]] || keep=" && export SONORAN_API_KEY"
  if ((DRY_RUN)); then
    note "stops here until $name has an enabled version: $what"
    return
  fi
  if [[ -z "$(gcloud secrets versions list "$name" "${P[@]}" --filter=state:ENABLED --limit=1 --format='value(name)')" ]]; then
    cat >&2 <<EOF

The secret $name has no version yet. Add $what without putting it on a
command line, then run this script again:

  printf '$var (typing is not shown): ' >&2 && read -rs $var && echo >&2$keep && printf %s "\$$var" | gcloud secrets versions add $name --project=$PROJECT_ID --data-file=-

EOF
    exit 1
  fi
}

note "Secrets: created empty; their values are versions you add yourself"
ensure_secret "$API_KEYS_SECRET"
grant_secret "$API_KEYS_SECRET" "$EVENT_SA"

# Handlers run in the event function only for inline routes; only then does it
# get the handlers' settings and secrets.
EVENT_RUNS_HANDLERS=0
if [[ $ROUTES == *inline* ]]; then
  EVENT_RUNS_HANDLERS=1
fi

HANDLER_SECRETS=()
if ((ENABLE_DISCORD_WEBHOOK)); then
  ensure_secret "$DISCORD_SECRET"
  grant_secret "$DISCORD_SECRET" "$WORKER_SA"
  if ((EVENT_RUNS_HANDLERS)); then
    grant_secret "$DISCORD_SECRET" "$EVENT_SA"
  fi
  HANDLER_SECRETS+=("DISCORD_WEBHOOK_URL=${DISCORD_SECRET}:latest")
fi
if [[ -n $FORWARD_URL ]]; then
  ensure_secret "$FORWARD_SECRET_NAME"
  grant_secret "$FORWARD_SECRET_NAME" "$WORKER_SA"
  if ((EVENT_RUNS_HANDLERS)); then
    grant_secret "$FORWARD_SECRET_NAME" "$EVENT_SA"
  fi
  HANDLER_SECRETS+=("FORWARD_SECRET=${FORWARD_SECRET_NAME}:latest")
fi

require_version "$API_KEYS_SECRET" "your Sonoran CAD API key (several: one per line)" SONORAN_API_KEY
if ((ENABLE_DISCORD_WEBHOOK)); then
  require_version "$DISCORD_SECRET" "the Discord webhook URL"
fi
if [[ -n $FORWARD_URL ]]; then
  require_version "$FORWARD_SECRET_NAME" "the forward handler's whsec_ secret"
fi

# --- topics -----------------------------------------------------------------------

note "Topic, dead-letter topic and its subscription (a dead-letter topic without one drops messages)"
if exists gcloud pubsub topics describe "$TOPIC" "${P[@]}"; then
  run gcloud pubsub topics update "$TOPIC" "${P[@]}" --message-retention-duration=1d
else
  # One day of retention lets a new subscription or a seek replay recent events.
  run gcloud pubsub topics create "$TOPIC" "${P[@]}" --message-retention-duration=1d --labels="$LABELS"
fi
if ! exists gcloud pubsub topics describe "$DLT" "${P[@]}"; then
  run gcloud pubsub topics create "$DLT" "${P[@]}" --labels="$LABELS"
fi
if ! exists gcloud pubsub subscriptions describe "$DLT_SUB" "${P[@]}"; then
  run gcloud pubsub subscriptions create "$DLT_SUB" "${P[@]}" --topic="$DLT" \
    --ack-deadline=60 --message-retention-duration=7d --expiration-period=never --labels="$LABELS"
fi
run_retry gcloud pubsub topics add-iam-policy-binding "$TOPIC" "${P[@]}" \
  --member="serviceAccount:$EVENT_SA" --role=roles/pubsub.publisher

# Neither sender retries, so an event refused after a good key (400/422) is kept
# here; the replay command reads the pull subscription. The topic keeps
# messages 31 days (the most Pub/Sub allows), so the subscription can be sought
# back past its own 7 days (deploy/terraform/pubsub.tf).
note "Quarantine topic and its pull subscription: events refused after a good key, kept for a replay"
if exists gcloud pubsub topics describe "$QUARANTINE_TOPIC" "${P[@]}"; then
  run gcloud pubsub topics update "$QUARANTINE_TOPIC" "${P[@]}" --message-retention-duration=31d
else
  run gcloud pubsub topics create "$QUARANTINE_TOPIC" "${P[@]}" --message-retention-duration=31d --labels="$LABELS"
fi
if ! exists gcloud pubsub subscriptions describe "$QUARANTINE_SUB" "${P[@]}"; then
  run gcloud pubsub subscriptions create "$QUARANTINE_SUB" "${P[@]}" --topic="$QUARANTINE_TOPIC" \
    --ack-deadline=60 --message-retention-duration=7d --expiration-period=never --labels="$LABELS"
fi
run_retry gcloud pubsub topics add-iam-policy-binding "$QUARANTINE_TOPIC" "${P[@]}" \
  --member="serviceAccount:$EVENT_SA" --role=roles/pubsub.publisher

# --- build: the image repository and the build account's roles ---------------------

# Our own repository, passed to both deploys: Cloud Functions' default
# gcf-artifacts keeps every image forever. A keep policy wins over a delete
# policy (Artifact Registry, "Cleanup policy overview"), so the most recent
# images of each function stay and older ones go after a day.
CLEANUP_POLICIES='[
  {"name": "delete-older-than-a-day", "action": {"type": "Delete"}, "condition": {"tagState": "any", "olderThan": "1d"}},
  {"name": "keep-most-recent", "action": {"type": "Keep"}, "mostRecentVersions": {"keepCount": '"$IMAGES_KEPT"'}}
]'
note "Artifact Registry repository for the functions' images, with cleanup policies"
if ! exists gcloud artifacts repositories describe "$AR_REPO" "${P[@]}" --location="$REGION"; then
  run gcloud artifacts repositories create "$AR_REPO" "${P[@]}" --location="$REGION" \
    --repository-format=docker --description="Images of the Sonoran CAD receiver's functions" \
    --labels="$LABELS"
  BUILD_SETUP_NEW=1
fi
if ((DRY_RUN)); then
  note "the policies, given on stdin (--policy=-):"
  while IFS= read -r line; do note "  $line"; done <<<"$CLEANUP_POLICIES"
fi
run gcloud artifacts repositories set-cleanup-policies "$AR_REPO" "${P[@]}" --location="$REGION" \
  --policy=- --no-dry-run <<<"$CLEANUP_POLICIES"

# The roles Google lists for a custom build account (logging.logWriter,
# artifactregistry.writer, storage.objectViewer), each on the narrowest
# resource: deploy/terraform/build.tf has the evidence for each.
FUNCTION_SOURCES_BUCKET="gcf-v2-sources-${PROJECT_NUMBER}-${REGION}"
note "The build account's roles: image writer on $AR_REPO, log writer, source reader on $FUNCTION_SOURCES_BUCKET only"
run_retry gcloud artifacts repositories add-iam-policy-binding "$AR_REPO" "${P[@]}" --location="$REGION" \
  --member="serviceAccount:$BUILD_SA" --role=roles/artifactregistry.writer
# Log writing can only be granted on the project.
run_retry gcloud projects add-iam-policy-binding "$PROJECT_ID" \
  --member="serviceAccount:$BUILD_SA" --role=roles/logging.logWriter --condition=None
# Cloud Functions copies the source into its own bucket, which does not exist
# before the first deploy: a condition on its name is the narrowest grant.
run_retry gcloud projects add-iam-policy-binding "$PROJECT_ID" \
  --member="serviceAccount:$BUILD_SA" --role=roles/storage.objectViewer \
  --condition="expression=resource.name.startsWith(\"projects/_/buckets/${FUNCTION_SOURCES_BUCKET}\"),title=function-sources-only,description=Only the Cloud Functions source bucket"
if ((BUILD_SETUP_NEW)); then
  # IAM changes take a while to reach Cloud Build; the provider's own example
  # waits as long (deploy/terraform/build.tf).
  note "waiting 60 s for the new build account and its roles to take effect"
  ((DRY_RUN)) || sleep 60
fi

# --- source: only what the functions run ----------------------------------------------

source_files() {
  local package
  {
    printf '%s\n' "${SOURCE_TOP_FILES[@]}"
    for package in "${SOURCE_PACKAGES[@]}"; do
      (cd "$SOURCE_DIR" && find "$package" -type f -name '*.py' -not -path '*/__pycache__/*')
    done
  } | LC_ALL=C sort
}

remove_source_stage() {
  if ((!DRY_RUN)) && [[ -n ${SOURCE_STAGE:-} && -d $SOURCE_STAGE ]]; then
    rm -rf "$SOURCE_STAGE"
  fi
}

# gcloud uploads the directory given to --source (minus what a .gcloudignore
# in it names): a temporary copy of the allow-list, so nothing else in the
# checkout (.env, tests, notes, local_stack/ with the local console) can reach
# the bucket.
note "Source: a temporary directory holding only the files the functions run"
if ((DRY_RUN)); then
  SOURCE_STAGE="STAGED_SOURCE_DIR"
  while IFS= read -r file; do note "staged: $file"; done < <(source_files)
else
  SOURCE_STAGE="$(mktemp -d "${TMPDIR:-/tmp}/sonorancad-source.XXXXXX")"
  TEMP_DIRS+=("$SOURCE_STAGE")
  while IFS= read -r file; do
    mkdir -p "$(dirname "$SOURCE_STAGE/$file")"
    cp "$SOURCE_DIR/$file" "$SOURCE_STAGE/$file"
  done < <(source_files)
  # Without one, gcloud writes a default .gcloudignore into the directory.
  cp "$SOURCE_DIR/.gcloudignore" "$SOURCE_STAGE/.gcloudignore"
fi

# --- functions --------------------------------------------------------------------

# gcloud's ^@^ prefix makes @ the list separator, because route and handler
# specs contain commas.
join_env() {
  local IFS=@
  printf '^@^%s' "$*"
}

COMMON_DEPLOY=(
  "${P[@]}" --region="$REGION" --gen2 --runtime=python312 --source="$SOURCE_STAGE"
  --build-service-account="projects/${PROJECT_ID}/serviceAccounts/${BUILD_SA}"
  --docker-repository="$AR_REPO_PATH"
  --trigger-http --cpu="$CPU" --memory="$MEMORY" --concurrency="$CONCURRENCY"
  --update-labels="$LABELS" --quiet
)

HANDLER_ENV=("SONORAN_HANDLERS=$HANDLERS")
if [[ -n $FORWARD_URL ]]; then
  HANDLER_ENV+=("FORWARD_URL=$FORWARD_URL")
fi

EVENT_ENV=(
  "THREADS=$CONCURRENCY" "WORKERS=1"
  "PUBSUB_TOPIC=$TOPIC_PATH"
  "PUBSUB_QUARANTINE_TOPIC=$QUARANTINE_TOPIC_PATH"
  "SONORAN_API_KEYS_FILE=$API_KEYS_FILE"
  "SONORAN_ROUTES=$ROUTES"
  "SONORAN_STRICT_TYPES=$STRICT_TYPES"
)
EVENT_SECRETS=("${API_KEYS_FILE}=${API_KEYS_SECRET}:latest")
if ((EVENT_RUNS_HANDLERS)); then
  EVENT_ENV+=("${HANDLER_ENV[@]}")
  # ${a[@]+...}: an empty array under `set -u` is an error in bash before 4.4
  # (macOS ships 3.2).
  EVENT_SECRETS+=(${HANDLER_SECRETS[@]+"${HANDLER_SECRETS[@]}"})
fi

# Public: the CAD and the FiveM resource cannot authenticate to Google. The API
# key in the body is the authentication; --allow-unauthenticated grants
# run.invoker to allUsers on this function's Cloud Run service only.
note "Event function: public, the API key in the body is the authentication"
run gcloud functions deploy "$EVENT_FN" "${COMMON_DEPLOY[@]}" \
  --entry-point=sonorancad_event \
  --allow-unauthenticated --ingress-settings=all \
  --service-account="$EVENT_SA" \
  --min-instances="$MIN_INSTANCES" --max-instances="$MAX_INSTANCES" --timeout="${EVENT_TIMEOUT}s" \
  --set-env-vars="$(join_env "${EVENT_ENV[@]}")" \
  --set-secrets="$(
    IFS=,
    printf '%s' "${EVENT_SECRETS[*]}"
  )"

# The worker is a CloudEvent function served over HTTP, fed by our push
# subscription (not an Eventarc trigger, whose subscription cannot be given a
# dead-letter policy): functions-framework turns the push body into a CloudEvent.
WORKER_SECRET_FLAGS=(--clear-secrets)
if ((${#HANDLER_SECRETS[@]})); then
  WORKER_SECRET_FLAGS=(--set-secrets="$(
    IFS=,
    printf '%s' "${HANDLER_SECRETS[*]}"
  )")
fi
# Ingress all, with IAM keeping the worker private. A gen2 function is a Cloud
# Run service, and Cloud Run's ingress page ("Restrict network ingress for
# Cloud Run", https://cloud.google.com/run/docs/securing/ingress) is the
# authority: IAM applies on every ingress path, so only the push account may
# invoke the worker and anyone else gets 403 before the function runs.
# Internal ingress would admit this same-project push too, but a wrong guess
# there refuses every push; deploy/terraform/functions.tf quotes the page.
note "Worker: private, invoked only by the push subscription's account"
run gcloud functions deploy "$WORKER_FN" "${COMMON_DEPLOY[@]}" \
  --entry-point=sonorancad_worker \
  --no-allow-unauthenticated --ingress-settings=all \
  --service-account="$WORKER_SA" \
  --min-instances=0 --max-instances="$WORKER_MAX_INSTANCES" --timeout=60s \
  --set-env-vars="$(join_env "THREADS=$CONCURRENCY" "WORKERS=1" "${HANDLER_ENV[@]}")" \
  "${WORKER_SECRET_FLAGS[@]}"
remove_source_stage

if ((DRY_RUN)); then
  WORKER_URL="https://WORKER_URL"
  EVENT_URL="https://EVENT_URL"
  note "WORKER_URL: gcloud functions describe $WORKER_FN --project=$PROJECT_ID --region=$REGION --format='value(serviceConfig.uri)'"
else
  WORKER_URL="$(gcloud functions describe "$WORKER_FN" "${P[@]}" --region="$REGION" --format='value(serviceConfig.uri)')"
  EVENT_URL="$(gcloud functions describe "$EVENT_FN" "${P[@]}" --region="$REGION" --format='value(serviceConfig.uri)')"
fi

# --- push subscription, its identity, dead-lettering -------------------------------

note "Only the push account may invoke the worker"
run_retry gcloud run services add-iam-policy-binding "$WORKER_FN" "${P[@]}" --region="$REGION" \
  --member="serviceAccount:$PUSH_SA" --role=roles/run.invoker

note "Pub/Sub service agent: mints the push token, publishes dead letters, acknowledges the source"
run_retry gcloud iam service-accounts add-iam-policy-binding "$PUSH_SA" "${P[@]}" \
  --member="$PUBSUB_AGENT" --role=roles/iam.serviceAccountTokenCreator
run_retry gcloud pubsub topics add-iam-policy-binding "$DLT" "${P[@]}" \
  --member="$PUBSUB_AGENT" --role=roles/pubsub.publisher

# The topic path in the endpoint becomes the CloudEvent source; the token's
# audience must be the bare service URL, which Cloud Run checks.
PUSH_FLAGS=(
  --push-endpoint="${WORKER_URL}/${TOPIC_PATH}"
  --push-auth-service-account="$PUSH_SA"
  --push-auth-token-audience="$WORKER_URL"
  --ack-deadline=60
  --message-retention-duration=7d
  --expiration-period=never
  --min-retry-delay=10s
  --max-retry-delay=600s
  --dead-letter-topic="$DLT_PATH"
  --max-delivery-attempts="$DEAD_LETTER_ATTEMPTS"
)
note "Push subscription feeding the worker: OIDC token, retries, dead-lettering"
if exists gcloud pubsub subscriptions describe "$PUSH_SUB" "${P[@]}"; then
  run gcloud pubsub subscriptions update "$PUSH_SUB" "${P[@]}" "${PUSH_FLAGS[@]}"
else
  run gcloud pubsub subscriptions create "$PUSH_SUB" "${P[@]}" --topic="$TOPIC" "${PUSH_FLAGS[@]}" --labels="$LABELS"
fi
run_retry gcloud pubsub subscriptions add-iam-policy-binding "$PUSH_SUB" "${P[@]}" \
  --member="$PUBSUB_AGENT" --role=roles/pubsub.subscriber

if ((CREATE_PULL_SUBSCRIPTION)); then
  note "Pull subscription for your own consumers"
  if ! exists gcloud pubsub subscriptions describe "$PULL_SUB" "${P[@]}"; then
    run gcloud pubsub subscriptions create "$PULL_SUB" "${P[@]}" --topic="$TOPIC" \
      --ack-deadline=60 --message-retention-duration=7d --expiration-period=never --labels="$LABELS"
  fi
fi

# --- what to paste ----------------------------------------------------------------

# The CAD panel takes an IP and a port, never this URL: direct delivery (below,
# docs/direct-delivery.md) gives it one.
if ((DRY_RUN)); then
  RECORD_NOTE="a real run records these options in ${SHOWN_RECORD}"
else
  RECORD_NOTE="these options are recorded in ${SHOWN_RECORD}"
fi
cat <<EOF
# Done.
#   Re-run (${RECORD_NOTE}): deploy/gcloud.sh --project ${PROJECT_ID} --region ${REGION}
#   Event URL (open it in a browser: it answers ok):  ${EVENT_URL}/sonorancad/event
#   FiveM config.json pushEventForwardUrl (server 1):  ${EVENT_URL}/sonorancad/event?server=1
#   Topic: ${TOPIC_PATH}   Dead letters: projects/${PROJECT_ID}/subscriptions/${DLT_SUB}
#   Quarantine (refused after a good key): projects/${PROJECT_ID}/subscriptions/${QUARANTINE_SUB}
#   Built by: ${BUILD_SA}, images in ${AR_REPO_PATH}
EOF

# === optional features =============================================================
# Each lives in deploy/gcloud.d/<feature>.sh, sourced with the others before
# the APIs, and runs here, after everything above exists: one call each. A
# feature's function does nothing unless its option is set (monitoring's is set
# by default). Monitoring alone also runs a first part early (its metrics,
# right after the APIs).

# --- monitoring and alerts, on unless --without-monitoring (ends with the dashboard's URL)
# Before direct delivery: on by default, it would otherwise bury the IP and port
# the user must type into the CAD panel.
deploy_monitoring

# --- optional: direct delivery from the CAD panel (ends with the IP and port to type) ---
deploy_direct_delivery
