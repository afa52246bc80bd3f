# Direct delivery (docs/direct-delivery.md): a static IPv4 address
# that answers plain HTTP on port 80 in front of the event function.
#
# The CAD panel takes an IP address and a game port, never a URL, and posts to
# http://IP:PORT/sonorancad/event itself. A Cloud Run URL (HTTPS, a host name)
# cannot be typed there, so without this a FiveM community loses every event
# the CAD sends while its game server is down. The function keeps its own URL
# for the FiveM resource's forwarding: its ingress is ALLOW_ALL
# (functions.tf), which admits both the internet and this load balancer.
#
# Off by default: the forwarding rule alone is billed every hour it exists
# (about $18 a month, docs/direct-delivery.md has the table).

variable "enable_direct_delivery" {
  description = "Create a global static IPv4 address and a global external Application Load Balancer on plain HTTP port 80 that sends /sonorancad/event to the event function (and answers 404 to every other path), so the CAD panel can post to the receiver directly: type the direct_delivery_ip output as IP and 80 as Game Port. About $18 a month (docs/direct-delivery.md)."
  type        = bool
  default     = false
}

variable "direct_delivery_rate_limit" {
  description = "With enable_direct_delivery: attach a Cloud Armor policy that answers 429 to a client IP sending more than direct_delivery_rate_limit_per_minute requests a minute. About $7 a month plus $0.75 per million requests (docs/direct-delivery.md)."
  type        = bool
  default     = false
}

variable "direct_delivery_rate_limit_per_minute" {
  description = "Requests one client IP may send to the direct-delivery address in a minute before Cloud Armor answers 429. The CAD never retries, so a throttled event is lost: the default leaves a busy community's CAD far below it."
  type        = number
  default     = 600

  validation {
    condition     = var.direct_delivery_rate_limit_per_minute >= 60 && var.direct_delivery_rate_limit_per_minute <= 100000 && floor(var.direct_delivery_rate_limit_per_minute) == var.direct_delivery_rate_limit_per_minute
    error_message = "direct_delivery_rate_limit_per_minute must be a whole number from 60 to 100000."
  }
}

locals {
  direct_delivery_count    = var.enable_direct_delivery ? 1 : 0
  direct_delivery_throttle = var.enable_direct_delivery && var.direct_delivery_rate_limit ? 1 : 0

  # The CAD builds http://IP:PORT/sonorancad/event; an HTTP load balancer
  # listens on 80, which admins type as the panel's Game Port.
  direct_delivery_port = 80

  # The CAD always posts to this path, whatever SONORAN_EVENT_PATH says; the
  # receiver accepts it with a trailing slash too. Path rules match the path
  # without its query string, so ?server= passes through to the function.
  direct_delivery_paths = ["/sonorancad/event", "/sonorancad/event/"]
}

# A load balancer is a Compute Engine resource. Enabling this API also creates
# the Compute Engine default service account (PROJECT_NUMBER-compute@...),
# which nothing here uses; docs/direct-delivery.md tells admins about it.
resource "google_project_service" "compute" {
  count = local.direct_delivery_count

  project = var.project_id
  service = "compute.googleapis.com"

  # Other workloads in the project may use Compute Engine.
  disable_on_destroy = false
}

resource "google_compute_global_address" "direct_delivery" {
  count = local.direct_delivery_count

  project      = var.project_id
  name         = "${var.name_prefix}-direct-ip"
  description  = "The IP address typed into the Sonoran CAD panel for direct delivery."
  address_type = "EXTERNAL"
  ip_version   = "IPV4"

  depends_on = [google_project_service.compute]
}

# A serverless NEG of the Cloud Run kind: "Cloud Run: supports Cloud Run and
# Cloud Run functions (2nd gen)"; the cloud_function kind is for 1st gen only
# (https://cloud.google.com/load-balancing/docs/negs/serverless-neg-concepts).
# A gen2 function's Cloud Run service has the function's name (iam.tf grants
# run.invoker on it the same way). The NEG must be in the function's region.
resource "google_compute_region_network_endpoint_group" "direct_delivery" {
  count = local.direct_delivery_count

  project               = var.project_id
  name                  = "${var.name_prefix}-event-neg"
  region                = google_cloudfunctions2_function.event.location
  network_endpoint_type = "SERVERLESS"

  cloud_run {
    service = google_cloudfunctions2_function.event.name
  }

  depends_on = [google_project_service.compute]
}

# Per-client-IP throttle at Google's edge: above the rate, 429 without
# reaching (or billing) the function. It guards this address only: the
# function's own run.app URL stays public for the FiveM resource's forwarding,
# and nothing throttles it there. It cannot tell the CAD from anyone else by
# anything but its address, and a spread-out flood gets one budget per
# address: max_instance_count stays the cost cap on both paths.
resource "google_compute_security_policy" "direct_delivery" {
  count = local.direct_delivery_throttle

  project     = var.project_id
  name        = "${var.name_prefix}-direct-rate-limit"
  description = "Throttles each client IP on the Sonoran CAD direct-delivery address."
  type        = "CLOUD_ARMOR"

  rule {
    description = "429 above the per-IP rate"
    action      = "throttle"
    priority    = 1000

    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }

    rate_limit_options {
      conform_action = "allow"
      exceed_action  = "deny(429)"
      enforce_on_key = "IP"

      rate_limit_threshold {
        count        = var.direct_delivery_rate_limit_per_minute
        interval_sec = 60
      }
    }
  }

  # Every policy must have this rule (priority 2147483647, match *).
  rule {
    description = "default rule"
    action      = "allow"
    priority    = 2147483647

    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
  }

  depends_on = [google_project_service.compute]
}

# No health check, timeout, port name or balancing mode: a backend service
# with a serverless NEG takes none of them (serverless-neg-concepts,
# "Limitations with backend services"). EXTERNAL_MANAGED is the global
# external Application Load Balancer, the mode whose URL map can abort with a
# status (below).
resource "google_compute_backend_service" "direct_delivery" {
  count = local.direct_delivery_count

  project               = var.project_id
  name                  = "${var.name_prefix}-event-backend"
  description           = "The Sonoran CAD event function behind the direct-delivery address."
  load_balancing_scheme = "EXTERNAL_MANAGED"
  security_policy       = one(google_compute_security_policy.direct_delivery[*].id)

  backend {
    group = google_compute_region_network_endpoint_group.direct_delivery[0].id
  }

  # One entry per request (status, client IP, path and query, never the
  # body): how an admin sees the CAD's posts, 429s and scanners.
  log_config {
    enable      = true
    sample_rate = 1.0
  }
}

# Only the event path reaches the function; every other path gets 404 from
# the load balancer itself. A redirect cannot answer 404, so the defaults use
# a fault-injection abort of 100% with status 404. The API reference rules
# out only the classic load balancer ("Fault injection is not supported with
# the classic Application Load Balancer", HttpRouteAction.faultInjectionPolicy
# in https://cloud.google.com/compute/docs/reference/rest/v1/urlMaps); this one
# is EXTERNAL_MANAGED.
resource "google_compute_url_map" "direct_delivery" {
  count = local.direct_delivery_count

  project         = var.project_id
  name            = "${var.name_prefix}-direct"
  description     = "Sends only the Sonoran CAD event path to the event function; 404 for everything else."
  default_service = google_compute_backend_service.direct_delivery[0].id

  default_route_action {
    fault_injection_policy {
      abort {
        http_status = 404
        percentage  = 100
      }
    }
  }

  # The CAD sends the bare IP as Host: match every host.
  host_rule {
    hosts        = ["*"]
    path_matcher = "event"
  }

  path_matcher {
    name            = "event"
    default_service = google_compute_backend_service.direct_delivery[0].id

    default_route_action {
      fault_injection_policy {
        abort {
          http_status = 404
          percentage  = 100
        }
      }
    }

    path_rule {
      paths   = local.direct_delivery_paths
      service = google_compute_backend_service.direct_delivery[0].id
    }
  }

  # Checked by the API on every update: the event path reaches the function.
  # 192.0.2.1 is a documentation address (RFC 5737) standing in for the IP.
  test {
    description = "The CAD's post reaches the event function"
    host        = "192.0.2.1"
    path        = "/sonorancad/event"
    service     = google_compute_backend_service.direct_delivery[0].id
  }
}

resource "google_compute_target_http_proxy" "direct_delivery" {
  count = local.direct_delivery_count

  project     = var.project_id
  name        = "${var.name_prefix}-direct-proxy"
  description = "Plain HTTP, as the CAD posts: it builds http://IP:PORT itself."
  url_map     = google_compute_url_map.direct_delivery[0].id
}

# Plain HTTP on purpose: the CAD builds the http:// URL itself and has no TLS
# option, so the key crosses the internet unencrypted on this leg (what that
# means, and how rotation limits it: docs/direct-delivery.md). checkov's
# CKV2_GCP_38 (no HTTP proxy on an EXTERNAL rule) passes only because this
# rule is EXTERNAL_MANAGED; the HTTP is deliberate all the same.
resource "google_compute_global_forwarding_rule" "direct_delivery" {
  count = local.direct_delivery_count

  project               = var.project_id
  name                  = "${var.name_prefix}-direct-http"
  description           = "Port 80 of the direct-delivery address."
  load_balancing_scheme = "EXTERNAL_MANAGED"
  ip_protocol           = "TCP"
  ip_address            = google_compute_global_address.direct_delivery[0].id
  port_range            = tostring(local.direct_delivery_port)
  target                = google_compute_target_http_proxy.direct_delivery[0].id
}

output "direct_delivery_ip" {
  description = "Direct delivery: type this in the CAD panel (Admin > Advanced > In-Game Integration > Server Events and Integrated Live Map) as IP, with direct_delivery_game_port as Game Port. Null when enable_direct_delivery is false."
  value       = one(google_compute_global_address.direct_delivery[*].address)
}

output "direct_delivery_game_port" {
  description = "Direct delivery: the Game Port to type in the CAD panel beside direct_delivery_ip. Null when enable_direct_delivery is false."
  value       = var.enable_direct_delivery ? local.direct_delivery_port : null
}

output "direct_delivery_check_url" {
  description = "Open this in a browser after a deploy: the receiver answers ok through the load balancer (the first minutes after creation may still fail while Google provisions it)."
  value       = var.enable_direct_delivery ? "http://${google_compute_global_address.direct_delivery[0].address}/sonorancad/event" : null
}
