# shellcheck shell=bash
# Monitoring (issue 13, docs/monitoring.md): log-based metrics, alert policies
# whose documentation is the runbook, an uptime check of the event URL and a
# dashboard, from the definition files in deploy/monitoring/ that
# deploy/terraform/monitoring.tf reads too.
#
# Sourced by deploy/gcloud.sh, which checks the settings with its others and
# calls deploy_monitoring at its end (it needs the event URL). It uses that
# script's settings (PROJECT_ID, NAME_PREFIX, EVENT_URL, LABELS, SOURCE_DIR,
# DRY_RUN, P, ENABLE_MONITORING, ALERT_EMAIL, NO_EVENTS_ALERT_HOURS, TEMP_DIRS)
# and helpers (run, run_retry, exists, note, print_cmd, die).
#
# The files are templates: ${prefix}, ${project_id}, ${event_host},
# ${alert_email}, ${no_events_hours} and ${no_events_seconds} are replaced with
# sed, giving the same text as Terraform's templatefile (a test compares the
# two). The copies go to MONITORING_RENDER_DIR if set, else to a temporary
# directory removed at exit; gcloud reads them from there.

# monitoring_render NAME: renders deploy/monitoring/NAME (once) and sets
# MONITORING_FILE to the copy.
monitoring_render() {
  local name=$1 host=${EVENT_URL#https://}
  host=${host%%/*}
  MONITORING_FILE="${MONITORING_RENDERED}/${name}"
  [[ ! -f $MONITORING_FILE ]] || return 0
  # Every value is checked before it gets here (gcloud.sh's settings checks,
  # gcloud's URL): none holds a character sed reads in a replacement (& \ |).
  sed -e 's|${prefix}|'"$NAME_PREFIX"'|g' \
    -e 's|${project_id}|'"$PROJECT_ID"'|g' \
    -e 's|${event_host}|'"$host"'|g' \
    -e 's|${alert_email}|'"$ALERT_EMAIL"'|g' \
    -e 's|${no_events_hours}|'"$NO_EVENTS_ALERT_HOURS"'|g' \
    -e 's|${no_events_seconds}|'"$((10#$NO_EVENTS_ALERT_HOURS * 3600))"'|g' \
    "${SOURCE_DIR}/deploy/monitoring/${name}" >"$MONITORING_FILE"
  if grep -q '\${' "$MONITORING_FILE"; then
    die "deploy/monitoring/${name} holds a \${...} placeholder this script does not fill"
  fi
}

# monitoring_field FILE KEY: the first "KEY": value of a rendered definition
# (written one key a line); tests/deploy/test_monitoring.py checks every value
# read this way against the JSON.
monitoring_field() {
  # A string value, or a bare one (number, true, false).
  sed -n -e 's/^ *"'"$2"'": "\([^"\\]*\)",\{0,1\}$/\1/p' \
    -e 's/^ *"'"$2"'": \([^",]*\),\{0,1\}$/\1/p' "$1" | head -n 1
}

monitoring_lower() {
  printf '%s' "$1" | tr '[:upper:]_' '[:lower:]-'
}

# monitoring_find WHAT LIST-COMMAND...: sets MONITORING_FOUND to the name of
# the resource the list command finds, or to nothing. A dry run shows the
# command and finds nothing, so the printout shows every create.
monitoring_find() {
  local what=$1
  shift
  MONITORING_FOUND=""
  if ((DRY_RUN)); then
    printf '# if there is no %s yet: ' "$what"
    print_cmd "$@" --format='value(name)'
    return 0
  fi
  MONITORING_FOUND=$("$@" --format='value(name)' --limit=1 2>/dev/null || true)
}

# monitoring_create PLACEHOLDER CREATE-COMMAND...: runs it and sets
# MONITORING_CREATED to the new resource's name (PLACEHOLDER in a dry run).
monitoring_create() {
  MONITORING_CREATED=$1
  shift
  if ((DRY_RUN)); then
    print_cmd "$@"
    return 0
  fi
  printf '+ ' >&2
  print_cmd "$@" >&2
  MONITORING_CREATED=$("$@" --format='value(name)')
}

monitoring_metrics() {
  local path metric
  for path in "${SOURCE_DIR}"/deploy/monitoring/metric-*.json; do
    monitoring_render "$(basename "$path")"
    metric=$(monitoring_field "$MONITORING_FILE" name)
    if exists gcloud logging metrics describe "$metric" "${P[@]}"; then
      run gcloud logging metrics update "$metric" "${P[@]}" --config-from-file="$MONITORING_FILE"
    else
      run gcloud logging metrics create "$metric" "${P[@]}" --config-from-file="$MONITORING_FILE"
    fi
  done
}

# Sets MONITORING_CHANNEL to the e-mail channel's name.
monitoring_email_channel() {
  local display
  monitoring_render channel-email.json
  display=$(monitoring_field "$MONITORING_FILE" displayName)
  monitoring_find "notification channel \"${display}\"" \
    gcloud beta monitoring channels list "${P[@]}" --filter="displayName=\"${display}\""
  if [[ -n $MONITORING_FOUND ]]; then
    run gcloud beta monitoring channels update "$MONITORING_FOUND" "${P[@]}" \
      --channel-content-from-file="$MONITORING_FILE"
    MONITORING_CHANNEL=$MONITORING_FOUND
  else
    monitoring_create "projects/${PROJECT_ID}/notificationChannels/CHANNEL_ID" \
      gcloud beta monitoring channels create "${P[@]}" \
      --channel-content-from-file="$MONITORING_FILE" --user-labels="$LABELS"
    MONITORING_CHANNEL=$MONITORING_CREATED
  fi
}

# gcloud has no --config-from-file for uptime checks: the flags come from the
# definition's fields, one by one.
monitoring_uptime_check() {
  local file display status period timeout protocol=http
  monitoring_render uptime-check.json
  file=$MONITORING_FILE
  display=$(monitoring_field "$file" displayName)
  # API values to gcloud's: STATUS_CLASS_2XX -> 2xx, 300s -> 5 (minutes),
  # 10s -> 10, GET -> get, CONTAINS_STRING -> contains-string.
  status=$(monitoring_lower "$(monitoring_field "$file" statusClass)")
  period=$(monitoring_field "$file" period)
  timeout=$(monitoring_field "$file" timeout)
  local flags=(
    --path="$(monitoring_field "$file" path)"
    --port="$(monitoring_field "$file" port)"
    --request-method="$(monitoring_lower "$(monitoring_field "$file" requestMethod)")"
    --validate-ssl="$(monitoring_field "$file" validateSsl)"
    --matcher-content="$(monitoring_field "$file" content)"
    --matcher-type="$(monitoring_lower "$(monitoring_field "$file" matcher)")"
    --period="$((${period%s} / 60))"
    --timeout="${timeout%s}"
  )
  monitoring_find "uptime check \"${display}\"" \
    gcloud monitoring uptime list-configs "${P[@]}" --filter="displayName=\"${display}\""
  if [[ -n $MONITORING_FOUND ]]; then
    run gcloud monitoring uptime update "$MONITORING_FOUND" "${P[@]}" "${flags[@]}" \
      --set-status-classes="${status#status-class-}"
  else
    [[ $(monitoring_field "$file" useSsl) != true ]] || protocol=https
    run gcloud monitoring uptime create "$display" "${P[@]}" \
      --resource-type="$(monitoring_lower "$(monitoring_field "$file" type)")" \
      --resource-labels="host=$(monitoring_field "$file" host),project_id=$(monitoring_field "$file" project_id)" \
      --protocol="$protocol" "${flags[@]}" \
      --status-classes="${status#status-class-}" --user-labels="$LABELS"
  fi
}

monitoring_alert_policies() {
  local path key policy runbook display
  local channel_flags=()
  for path in "${SOURCE_DIR}"/deploy/monitoring/alert-*.json; do
    key=$(basename "$path" .json)
    # "No events for N hours" exists only when N is set.
    if [[ $key == alert-no-events ]] && ((10#$NO_EVENTS_ALERT_HOURS == 0)); then
      continue
    fi
    monitoring_render "${key}.md"
    runbook=$MONITORING_FILE
    monitoring_render "${key}.json"
    policy=$MONITORING_FILE
    display=$(monitoring_field "$policy" displayName)
    monitoring_find "alert policy \"${display}\"" \
      gcloud alpha monitoring policies list "${P[@]}" --filter="displayName=\"${display}\""
    # The runbook beside the policy becomes its documentation. The file
    # replaces the whole policy on update, notification channels included.
    local policy_flags=(--policy-from-file="$policy" --documentation-from-file="$runbook"
      --documentation-format=text/markdown)
    if [[ -n $MONITORING_FOUND ]]; then
      channel_flags=()
      [[ -z $MONITORING_CHANNEL ]] || channel_flags=(--set-notification-channels="$MONITORING_CHANNEL")
      run gcloud alpha monitoring policies update "$MONITORING_FOUND" "${P[@]}" "${policy_flags[@]}" \
        ${channel_flags[@]+"${channel_flags[@]}"} --update-user-labels="$LABELS"
    else
      channel_flags=()
      [[ -z $MONITORING_CHANNEL ]] || channel_flags=(--notification-channels="$MONITORING_CHANNEL")
      # A log-based metric made a moment ago can take a little while to be
      # known to Cloud Monitoring: retried.
      run_retry gcloud alpha monitoring policies create "${P[@]}" "${policy_flags[@]}" \
        ${channel_flags[@]+"${channel_flags[@]}"} --user-labels="$LABELS"
    fi
  done
}

# Sets MONITORING_DASHBOARD to the dashboard's name.
monitoring_dashboard() {
  local display
  monitoring_render dashboard.json
  display=$(monitoring_field "$MONITORING_FILE" displayName)
  monitoring_find "dashboard \"${display}\"" \
    gcloud monitoring dashboards list "${P[@]}" --filter="displayName=\"${display}\""
  if [[ -n $MONITORING_FOUND ]]; then
    run gcloud monitoring dashboards update "$MONITORING_FOUND" "${P[@]}" \
      --config-from-file="$MONITORING_FILE"
    MONITORING_DASHBOARD=$MONITORING_FOUND
  else
    monitoring_create "projects/${PROJECT_ID}/dashboards/DASHBOARD_ID" \
      gcloud monitoring dashboards create "${P[@]}" --config-from-file="$MONITORING_FILE"
    MONITORING_DASHBOARD=$MONITORING_CREATED
  fi
}

deploy_monitoring() {
  ((ENABLE_MONITORING)) || return 0
  if [[ -n ${MONITORING_RENDER_DIR:-} ]]; then
    MONITORING_RENDERED=$MONITORING_RENDER_DIR
    mkdir -p "$MONITORING_RENDERED"
  else
    MONITORING_RENDERED=$(mktemp -d)
    TEMP_DIRS+=("$MONITORING_RENDERED")
  fi

  note "Monitoring: log-based metrics from the functions' JSON lines (deploy/monitoring/metric-*.json)"
  run gcloud services enable "${P[@]}" logging.googleapis.com monitoring.googleapis.com
  monitoring_metrics

  MONITORING_CHANNEL=""
  if [[ -n $ALERT_EMAIL ]]; then
    note "Monitoring: the e-mail address alerts go to (deploy/monitoring/channel-email.json)"
    monitoring_email_channel
  else
    note "Monitoring: no --alert-email, so alerts show in the Cloud console only; add one to be e-mailed"
  fi

  note "Monitoring: the event URL's uptime check (deploy/monitoring/uptime-check.json)"
  monitoring_uptime_check

  note "Monitoring: alert policies and their runbooks (deploy/monitoring/alert-*.json and .md)"
  monitoring_alert_policies

  note "Monitoring: the dashboard (deploy/monitoring/dashboard.json)"
  monitoring_dashboard
  # The script's last line (docs/monitoring.md).
  printf '# Dashboard: https://console.cloud.google.com/monitoring/dashboards/builder/%s?project=%s\n' \
    "${MONITORING_DASHBOARD##*/}" "$PROJECT_ID"
}
