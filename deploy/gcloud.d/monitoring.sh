# shellcheck shell=bash
# Monitoring (docs/monitoring.md): log-based metrics, alert policies
# whose documentation is the runbook, an uptime check of the event URL and a
# dashboard, from the definition files in deploy/monitoring/ that
# deploy/terraform/monitoring.tf reads too.
#
# Sourced by deploy/gcloud.sh, which checks the settings with its others. It
# calls deploy_monitoring_metrics right after the APIs, so the metrics exist
# minutes before the policies that name them (a new log-based metric can take
# up to 10 minutes to be usable), and deploy_monitoring at its end (it needs
# the event URL). It uses that script's settings (PROJECT_ID, NAME_PREFIX,
# EVENT_URL, LABELS, SOURCE_DIR, DRY_RUN, P, ENABLE_MONITORING, ALERT_EMAIL,
# NO_EVENTS_ALERT_HOURS, TEMP_DIRS) and helpers (run, exists, note, print_cmd,
# die).
#
# The files are templates: ${prefix}, ${project_id}, ${event_host},
# ${alert_email}, ${no_events_hours} and ${no_events_seconds} are replaced with
# sed, giving the same text as Terraform's templatefile (a test compares the
# two). The copies go to MONITORING_RENDER_DIR if set, else to a temporary
# directory removed at exit; gcloud reads them from there.

# monitoring_render NAME: renders deploy/monitoring/NAME (once) and sets
# MONITORING_FILE to the copy.
monitoring_render() {
  local name=$1 host=${EVENT_URL:-}
  host=${host#https://}
  host=${host%%/*}
  MONITORING_FILE="${MONITORING_RENDERED}/${name}"
  [[ ! -f $MONITORING_FILE ]] || return 0
  if [[ -z $host ]] && grep -q '${event_host}' "${SOURCE_DIR}/deploy/monitoring/${name}"; then
    die "deploy/monitoring/${name} needs the event URL, which does not exist yet"
  fi
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

# monitoring_track GROUP: sets MONITORING_GCLOUD to the gcloud words for
# `monitoring GROUP` on this gcloud: GA where it has them (current releases
# document GA `gcloud monitoring policies` and `channels`), else beta, else
# alpha (gcloud 528 has policies in alpha only, channels in alpha and beta).
# A dry run runs no gcloud at all, so it shows the GA form.
monitoring_track() {
  local group=$1 track
  MONITORING_GCLOUD=(gcloud monitoring "$group")
  ((DRY_RUN)) && return 0
  for track in "" beta alpha; do
    if gcloud ${track:+"$track"} monitoring "$group" --help >/dev/null 2>&1; then
      MONITORING_GCLOUD=(gcloud ${track:+"$track"} monitoring "$group")
      return 0
    fi
  done
  die "this gcloud has no 'monitoring $group' command in any release track: update it (gcloud components update, or your package manager), or deploy with --without-monitoring"
}

# How long a policy refused for a metric "not available yet" is retried, and
# how often. Google gives up to 10 minutes for a new log-based metric to
# become available; the window starts at the first such refusal and is shared
# by all the policies, so six of them wait no longer than one.
MONITORING_POLICY_RETRY_SECONDS="${MONITORING_POLICY_RETRY_SECONDS:-600}"
MONITORING_POLICY_RETRY_EVERY="${MONITORING_POLICY_RETRY_EVERY:-30}"
MONITORING_RETRY_UNTIL=""

# monitoring_create_policy CREATE-COMMAND...: runs it; a refusal for a metric
# not available yet ("404 Cannot find metric(s) ... If a metric was created
# recently, it could take up to 10 minutes to become available") is retried
# within the window, any other failure stops the script at once with gcloud's
# message.
monitoring_create_policy() {
  if ((DRY_RUN)); then
    print_cmd "$@"
    return 0
  fi
  local errors
  errors=$(mktemp)
  TEMP_DIRS+=("$errors")
  while true; do
    printf '+ ' >&2
    print_cmd "$@" >&2
    if "$@" 2>"$errors" >/dev/null; then
      return 0
    fi
    if ! grep -q -e 'Cannot find metric' -e 'could take up to 10 minutes' "$errors"; then
      cat "$errors" >&2
      return 1
    fi
    [[ -n $MONITORING_RETRY_UNTIL ]] || MONITORING_RETRY_UNTIL=$((SECONDS + MONITORING_POLICY_RETRY_SECONDS))
    if ((SECONDS >= MONITORING_RETRY_UNTIL)); then
      cat "$errors" >&2
      die "an alert policy's metric was still not available $((MONITORING_POLICY_RETRY_SECONDS / 60)) minutes after the first refusal: run the script again later (it creates only what is missing)"
    fi
    note "a log-based metric is not available to alert policies yet (Google allows up to 10 minutes): retrying in ${MONITORING_POLICY_RETRY_EVERY} s, until $((MONITORING_RETRY_UNTIL - SECONDS)) s from now"
    sleep "$MONITORING_POLICY_RETRY_EVERY"
  done
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
  monitoring_track channels
  local channels=("${MONITORING_GCLOUD[@]}")
  monitoring_find "notification channel \"${display}\"" \
    "${channels[@]}" list "${P[@]}" --filter="displayName=\"${display}\""
  if [[ -n $MONITORING_FOUND ]]; then
    run "${channels[@]}" update "$MONITORING_FOUND" "${P[@]}" \
      --channel-content-from-file="$MONITORING_FILE"
    MONITORING_CHANNEL=$MONITORING_FOUND
  else
    monitoring_create "projects/${PROJECT_ID}/notificationChannels/CHANNEL_ID" \
      "${channels[@]}" create "${P[@]}" \
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
  monitoring_track policies
  local policies=("${MONITORING_GCLOUD[@]}")
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
      "${policies[@]}" list "${P[@]}" --filter="displayName=\"${display}\""
    # The runbook beside the policy becomes its documentation. The file
    # replaces the whole policy on update, notification channels included.
    local policy_flags=(--policy-from-file="$policy" --documentation-from-file="$runbook"
      --documentation-format=text/markdown)
    if [[ -n $MONITORING_FOUND ]]; then
      channel_flags=()
      [[ -z $MONITORING_CHANNEL ]] || channel_flags=(--set-notification-channels="$MONITORING_CHANNEL")
      run "${policies[@]}" update "$MONITORING_FOUND" "${P[@]}" "${policy_flags[@]}" \
        ${channel_flags[@]+"${channel_flags[@]}"} --update-user-labels="$LABELS"
    else
      channel_flags=()
      [[ -z $MONITORING_CHANNEL ]] || channel_flags=(--notification-channels="$MONITORING_CHANNEL")
      # The metrics were created minutes ago, before the functions' builds;
      # one still unknown to Cloud Monitoring is waited for.
      monitoring_create_policy "${policies[@]}" create "${P[@]}" "${policy_flags[@]}" \
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

# The first part, right after the APIs: the metrics, minutes before the
# policies that name them. logging.googleapis.com is enabled with the other
# APIs, once.
deploy_monitoring_metrics() {
  ((ENABLE_MONITORING)) || return 0
  if [[ -n ${MONITORING_RENDER_DIR:-} ]]; then
    MONITORING_RENDERED=$MONITORING_RENDER_DIR
    mkdir -p "$MONITORING_RENDERED"
  else
    MONITORING_RENDERED=$(mktemp -d)
    TEMP_DIRS+=("$MONITORING_RENDERED")
  fi

  note "Monitoring: log-based metrics from the functions' JSON lines (deploy/monitoring/metric-*.json), first: a new one can take up to 10 minutes to be usable in an alert policy, and the functions' builds take minutes"
  run gcloud services enable "${P[@]}" monitoring.googleapis.com
  monitoring_metrics
}

# The rest, at the end: it needs the event URL.
deploy_monitoring() {
  ((ENABLE_MONITORING)) || return 0

  MONITORING_CHANNEL=""
  if [[ -n $ALERT_EMAIL ]]; then
    note "Monitoring: the e-mail address alerts go to (deploy/monitoring/channel-email.json)"
    monitoring_email_channel
  else
    note "Monitoring: no --alert-email, so alerts show in the Cloud console only; add one to be e-mailed"
  fi

  note "Monitoring: the event URL's uptime check (deploy/monitoring/uptime-check.json)"
  monitoring_uptime_check

  note "Monitoring: alert policies and their runbooks (deploy/monitoring/alert-*.json and .md), with gcloud monitoring policies where this gcloud has it, else its beta or alpha form; a create refused because a metric is not available yet is retried every ${MONITORING_POLICY_RETRY_EVERY} s for up to $((MONITORING_POLICY_RETRY_SECONDS / 60)) minutes"
  monitoring_alert_policies

  note "Monitoring: the dashboard (deploy/monitoring/dashboard.json)"
  monitoring_dashboard
  # The script's last line (docs/monitoring.md).
  printf '# Dashboard: https://console.cloud.google.com/monitoring/dashboards/builder/%s?project=%s\n' \
    "${MONITORING_DASHBOARD##*/}" "$PROJECT_ID"
}
