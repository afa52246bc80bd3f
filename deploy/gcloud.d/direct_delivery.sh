# shellcheck shell=bash
# Direct delivery (docs/direct-delivery.md): a static IPv4 address
# answering plain HTTP on port 80 in front of the event function, for the CAD
# panel, which takes an IP and a game port and never a URL. The same resources,
# with the same names, as deploy/terraform/direct_delivery.tf.
#
# Sourced by deploy/gcloud.sh, which calls deploy_direct_delivery at its end.
# It uses that script's settings (PROJECT_ID, REGION, NAME_PREFIX, EVENT_FN,
# DRY_RUN, P, ENABLE_DIRECT_DELIVERY, DIRECT_DELIVERY_RATE_LIMIT,
# DIRECT_DELIVERY_RATE_LIMIT_PER_MINUTE) and helpers (run, exists, note,
# print_cmd).

# The CAD builds http://IP:PORT/sonorancad/event; an HTTP load balancer listens
# on 80, which admins type as the panel's Game Port.
DIRECT_DELIVERY_PORT=80
# The CAD always posts here, whatever SONORAN_EVENT_PATH says.
DIRECT_DELIVERY_EVENT_PATH=/sonorancad/event

direct_delivery_url_map_yaml() {
  local backend="projects/${PROJECT_ID}/global/backendServices/${DIRECT_BACKEND}"
  # Only the event path (and with a trailing slash, which the receiver
  # accepts) reaches the function; path rules ignore the query string, so
  # ?server= passes. Everything else is aborted with 404 by the load balancer
  # itself: fault injection, which only the classic Application Load Balancer
  # lacks (HttpRouteAction.faultInjectionPolicy in
  # https://cloud.google.com/compute/docs/reference/rest/v1/urlMaps).
  cat <<EOF
name: ${DIRECT_URL_MAP}
description: Sends only the Sonoran CAD event path to the event function; 404 for everything else.
defaultService: ${backend}
defaultRouteAction:
  faultInjectionPolicy:
    abort:
      httpStatus: 404
      percentage: 100
hostRules:
- hosts:
  - '*'
  pathMatcher: event
pathMatchers:
- name: event
  defaultService: ${backend}
  defaultRouteAction:
    faultInjectionPolicy:
      abort:
        httpStatus: 404
        percentage: 100
  pathRules:
  - paths:
    - ${DIRECT_DELIVERY_EVENT_PATH}
    - ${DIRECT_DELIVERY_EVENT_PATH}/
    service: ${backend}
tests:
- description: The CAD's post reaches the event function
  host: 192.0.2.1
  path: ${DIRECT_DELIVERY_EVENT_PATH}
  service: ${backend}
EOF
}

# add-backend fails when the NEG is already there, so a re-run looks first.
direct_delivery_neg_attached() {
  local describe=(gcloud compute backend-services describe "$DIRECT_BACKEND" "${P[@]}" --global
    --format='value(backends[].group)')
  if ((DRY_RUN)); then
    printf '# if the NEG is not attached yet: '
    print_cmd "${describe[@]}"
    return 1
  fi
  [[ "$("${describe[@]}" 2>/dev/null)" == *"/networkEndpointGroups/${DIRECT_NEG}"* ]]
}

direct_delivery_rate_limit() {
  local rule_flags=(
    --security-policy="$DIRECT_POLICY" "${P[@]}"
    --src-ip-ranges='*' --action=throttle
    --rate-limit-threshold-count="$DIRECT_DELIVERY_RATE_LIMIT_PER_MINUTE"
    --rate-limit-threshold-interval-sec=60
    --conform-action=allow --exceed-action=deny-429 --enforce-on-key=IP
    --description='429 above the per-IP rate'
  )
  # On this address only: the function's run.app URL stays public for the
  # FiveM resource, unthrottled, with max-instances as its only cap.
  note "Cloud Armor: 429 to a client IP above ${DIRECT_DELIVERY_RATE_LIMIT_PER_MINUTE} requests a minute, on the direct-delivery address only"
  if ! exists gcloud compute security-policies describe "$DIRECT_POLICY" "${P[@]}"; then
    # Created with the mandatory default rule (priority 2147483647, allow *).
    run gcloud compute security-policies create "$DIRECT_POLICY" "${P[@]}" \
      --description='Throttles each client IP on the Sonoran CAD direct-delivery address.'
  fi
  if exists gcloud compute security-policies rules describe 1000 --security-policy="$DIRECT_POLICY" "${P[@]}"; then
    run gcloud compute security-policies rules update 1000 "${rule_flags[@]}"
  else
    run gcloud compute security-policies rules create 1000 "${rule_flags[@]}"
  fi
}

deploy_direct_delivery() {
  ((ENABLE_DIRECT_DELIVERY)) || return 0

  DIRECT_ADDRESS="${NAME_PREFIX}-direct-ip"
  DIRECT_NEG="${NAME_PREFIX}-event-neg"
  DIRECT_POLICY="${NAME_PREFIX}-direct-rate-limit"
  DIRECT_BACKEND="${NAME_PREFIX}-event-backend"
  DIRECT_URL_MAP="${NAME_PREFIX}-direct"
  DIRECT_PROXY="${NAME_PREFIX}-direct-proxy"
  DIRECT_RULE="${NAME_PREFIX}-direct-http"

  # Enabling Compute Engine also creates its default service account, which
  # nothing here uses (docs/direct-delivery.md).
  note "Direct delivery: a static IP on plain HTTP port 80 in front of $EVENT_FN (about \$18.25 a month)"
  run gcloud services enable compute.googleapis.com "${P[@]}"

  if ! exists gcloud compute addresses describe "$DIRECT_ADDRESS" "${P[@]}" --global; then
    run gcloud compute addresses create "$DIRECT_ADDRESS" "${P[@]}" --global \
      --ip-version=IPV4 --network-tier=PREMIUM
  fi

  # A Cloud Run NEG also serves Cloud Run functions (2nd gen); a gen2
  # function's Cloud Run service has the function's name
  # (https://cloud.google.com/load-balancing/docs/negs/serverless-neg-concepts).
  if ! exists gcloud compute network-endpoint-groups describe "$DIRECT_NEG" "${P[@]}" --region="$REGION"; then
    run gcloud compute network-endpoint-groups create "$DIRECT_NEG" "${P[@]}" --region="$REGION" \
      --network-endpoint-type=serverless --cloud-run-service="$EVENT_FN"
  fi

  # No health check, timeout or port name: a serverless NEG backend takes none.
  # Logging gives one entry per request (never the body).
  if ! exists gcloud compute backend-services describe "$DIRECT_BACKEND" "${P[@]}" --global; then
    run gcloud compute backend-services create "$DIRECT_BACKEND" "${P[@]}" --global \
      --load-balancing-scheme=EXTERNAL_MANAGED --enable-logging --logging-sample-rate=1
  fi
  if ! direct_delivery_neg_attached; then
    run gcloud compute backend-services add-backend "$DIRECT_BACKEND" "${P[@]}" --global \
      --network-endpoint-group="$DIRECT_NEG" --network-endpoint-group-region="$REGION"
  fi

  if ((DIRECT_DELIVERY_RATE_LIMIT)); then
    direct_delivery_rate_limit
    run gcloud compute backend-services update "$DIRECT_BACKEND" "${P[@]}" --global \
      --security-policy="$DIRECT_POLICY"
  fi

  # import creates the URL map or replaces it, so a re-run applies changes.
  local yaml
  yaml="$(direct_delivery_url_map_yaml)"
  note "URL map: only ${DIRECT_DELIVERY_EVENT_PATH} reaches the function, 404 for the rest (read from standard input):"
  if ((DRY_RUN)); then
    print_cmd gcloud compute url-maps import "$DIRECT_URL_MAP" "${P[@]}" --global --quiet
    printf '#   %s\n' "${yaml//$'\n'/$'\n'#   }"
  else
    printf '%s\n' "$yaml" | run gcloud compute url-maps import "$DIRECT_URL_MAP" "${P[@]}" --global --quiet
  fi

  if ! exists gcloud compute target-http-proxies describe "$DIRECT_PROXY" "${P[@]}" --global; then
    run gcloud compute target-http-proxies create "$DIRECT_PROXY" "${P[@]}" --global \
      --url-map="$DIRECT_URL_MAP"
  fi

  # Plain HTTP on purpose: the CAD builds the http:// URL and has no TLS
  # option (docs/direct-delivery.md says what that means for the key).
  if ! exists gcloud compute forwarding-rules describe "$DIRECT_RULE" "${P[@]}" --global; then
    run gcloud compute forwarding-rules create "$DIRECT_RULE" "${P[@]}" --global \
      --load-balancing-scheme=EXTERNAL_MANAGED --network-tier=PREMIUM \
      --address="$DIRECT_ADDRESS" --target-http-proxy="$DIRECT_PROXY" --ports="$DIRECT_DELIVERY_PORT"
  fi

  local ip
  if ((DRY_RUN)); then
    ip="DIRECT_DELIVERY_IP"
    note "DIRECT_DELIVERY_IP: gcloud compute addresses describe $DIRECT_ADDRESS --project=$PROJECT_ID --global --format='value(address)'"
  else
    ip="$(gcloud compute addresses describe "$DIRECT_ADDRESS" "${P[@]}" --global --format='value(address)')"
  fi

  cat <<EOF
# Direct delivery. In the CAD (Admin > Advanced > In-Game Integration >
# Server Events and Integrated Live Map) type:
#   IP:        ${ip}
#   Game Port: ${DIRECT_DELIVERY_PORT}
#   Check (open in a browser, it answers ok; allow a few minutes after the first run):
#     http://${ip}${DIRECT_DELIVERY_EVENT_PATH}
EOF
}
