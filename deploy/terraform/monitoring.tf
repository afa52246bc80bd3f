# Monitoring (docs/monitoring.md): log-based metrics from the
# receiver's and worker's JSON lines, alert policies whose documentation is the
# runbook, an uptime check of the event URL and a dashboard.
#
# Every definition lives once, in deploy/monitoring/: JSON in the Cloud
# Monitoring and Logging APIs' own shape, plus one Markdown runbook per alert.
# deploy/gcloud.sh passes the same files to gcloud (deploy/gcloud.d/
# monitoring.sh), so the two deploy paths cannot drift. Both render the
# ${name} placeholders first: here templatefile, there sed.
#
# On by default: a user must be told when events are lost without reading
# logs. The alert conditions are billed per month (about $9.30 for the six that
# are on by default, docs/monitoring.md has the table); false turns it all off.

variable "enable_monitoring" {
  description = "Create the log-based metrics, alert policies, uptime check and dashboard defined in deploy/monitoring/ (docs/monitoring.md). On by default; about $9.30 a month, nearly all of it the alert conditions. false creates none of them."
  type        = bool
  default     = true
}

variable "alert_email" {
  description = "E-mail address the alerts are sent to (a notification channel); empty creates the alert policies without notifications, visible in the console only."
  type        = string
  default     = ""

  validation {
    # The value is also substituted into a template; this also keeps out the
    # characters that would need escaping there.
    condition     = var.alert_email == "" || can(regex("^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$", var.alert_email))
    error_message = "alert_email must be empty or one e-mail address."
  }
}

variable "no_events_alert_hours" {
  description = "Alert when no event was accepted for this many hours (forwarding broken, or a quiet community); 0 turns the alert off. Cloud Monitoring allows at most 23.5 hours of absence."
  type        = number
  default     = 0

  validation {
    condition     = var.no_events_alert_hours >= 0 && var.no_events_alert_hours <= 23 && floor(var.no_events_alert_hours) == var.no_events_alert_hours
    error_message = "no_events_alert_hours must be a whole number from 0 (off) to 23."
  }
}

locals {
  monitoring_dir = "${path.module}/../monitoring"

  # The event URL's host is known only after the function exists. Rendering
  # the templates with a stand-in keeps every decoded structure known at plan
  # time (for_each and dynamic blocks need that); the few strings that hold
  # it get the real host in the resources below.
  monitoring_host_stand_in = "event-host.invalid"

  monitoring_template_vars = {
    prefix            = var.name_prefix
    project_id        = var.project_id
    event_host        = local.monitoring_host_stand_in
    alert_email       = var.alert_email
    no_events_hours   = tostring(var.no_events_alert_hours)
    no_events_seconds = tostring(var.no_events_alert_hours * 3600)
  }

  monitoring_metric_files = fileset(local.monitoring_dir, "metric-*.json")
  monitoring_alert_files  = fileset(local.monitoring_dir, "alert-*.json")

  # Definitions in the APIs' camelCase, rendered.
  monitoring_metric_definitions = {
    for file in local.monitoring_metric_files :
    trimsuffix(trimprefix(file, "metric-"), ".json") => jsondecode(templatefile("${local.monitoring_dir}/${file}", local.monitoring_template_vars))
  }
  monitoring_alert_definitions = {
    for file in local.monitoring_alert_files :
    trimsuffix(trimprefix(file, "alert-"), ".json") => jsondecode(templatefile("${local.monitoring_dir}/${file}", local.monitoring_template_vars))
  }

  # The same, in the resources' argument names. try() stands for "absent in
  # this definition"; tests/deploy/test_monitoring.py evaluates these with
  # terraform console and checks that no field of a definition is left out.
  monitoring_metrics = {
    for key, metric in local.monitoring_metric_definitions : key => {
      name         = metric.name
      description  = metric.description
      filter       = metric.filter
      metric_kind  = metric.metricDescriptor.metricKind
      value_type   = metric.metricDescriptor.valueType
      unit         = metric.metricDescriptor.unit
      display_name = metric.metricDescriptor.displayName
      labels = [
        for label in try(metric.metricDescriptor.labels, []) : {
          key         = label.key
          value_type  = label.valueType
          description = label.description
        }
      ]
      label_extractors = try(metric.labelExtractors, null)
      value_extractor  = try(metric.valueExtractor, null)
      exponential_buckets = try({
        num_finite_buckets = metric.bucketOptions.exponentialBuckets.numFiniteBuckets
        growth_factor      = metric.bucketOptions.exponentialBuckets.growthFactor
        scale              = metric.bucketOptions.exponentialBuckets.scale
      }, null)
    }
  }

  monitoring_alerts = {
    for key, policy in local.monitoring_alert_definitions : key => {
      display_name = policy.displayName
      combiner     = policy.combiner
      severity     = policy.severity
      auto_close   = policy.alertStrategy.autoClose
      # The runbook beside the policy: alert-NAME.md for alert-NAME.json.
      documentation = templatefile("${local.monitoring_dir}/alert-${key}.md", local.monitoring_template_vars)
      conditions = [
        for condition in policy.conditions : {
          display_name = condition.displayName
          threshold = try({
            filter                  = condition.conditionThreshold.filter
            comparison              = condition.conditionThreshold.comparison
            threshold_value         = condition.conditionThreshold.thresholdValue
            duration                = condition.conditionThreshold.duration
            trigger_count           = condition.conditionThreshold.trigger.count
            evaluation_missing_data = try(condition.conditionThreshold.evaluationMissingData, null)
            aggregations = [
              for aggregation in condition.conditionThreshold.aggregations : {
                alignment_period     = aggregation.alignmentPeriod
                per_series_aligner   = aggregation.perSeriesAligner
                cross_series_reducer = try(aggregation.crossSeriesReducer, null)
                group_by_fields      = try(aggregation.groupByFields, null)
              }
            ]
          }, null)
          absent = try({
            filter        = condition.conditionAbsent.filter
            duration      = condition.conditionAbsent.duration
            trigger_count = condition.conditionAbsent.trigger.count
            aggregations = [
              for aggregation in condition.conditionAbsent.aggregations : {
                alignment_period     = aggregation.alignmentPeriod
                per_series_aligner   = aggregation.perSeriesAligner
                cross_series_reducer = try(aggregation.crossSeriesReducer, null)
                group_by_fields      = try(aggregation.groupByFields, null)
              }
            ]
          }, null)
        }
      ]
    }
    # "No events for N hours" exists only when N is set.
    if key != "no-events" || var.no_events_alert_hours > 0
  }

  monitoring_uptime_definition = jsondecode(templatefile("${local.monitoring_dir}/uptime-check.json", local.monitoring_template_vars))
  monitoring_uptime = {
    display_name = local.monitoring_uptime_definition.displayName
    type         = local.monitoring_uptime_definition.monitoredResource.type
    labels       = local.monitoring_uptime_definition.monitoredResource.labels
    http_check = {
      request_method = local.monitoring_uptime_definition.httpCheck.requestMethod
      path           = local.monitoring_uptime_definition.httpCheck.path
      port           = local.monitoring_uptime_definition.httpCheck.port
      use_ssl        = local.monitoring_uptime_definition.httpCheck.useSsl
      validate_ssl   = local.monitoring_uptime_definition.httpCheck.validateSsl
      status_classes = [for code in local.monitoring_uptime_definition.httpCheck.acceptedResponseStatusCodes : code.statusClass]
    }
    content_matchers = [
      for matcher in local.monitoring_uptime_definition.contentMatchers : {
        content = matcher.content
        matcher = matcher.matcher
      }
    ]
    period  = local.monitoring_uptime_definition.period
    timeout = local.monitoring_uptime_definition.timeout
  }

  monitoring_channel_definition = jsondecode(templatefile("${local.monitoring_dir}/channel-email.json", local.monitoring_template_vars))
  monitoring_channel = {
    type         = local.monitoring_channel_definition.type
    display_name = local.monitoring_channel_definition.displayName
    description  = local.monitoring_channel_definition.description
    labels       = local.monitoring_channel_definition.labels
  }

  monitoring_dashboard_json = templatefile("${local.monitoring_dir}/dashboard.json", local.monitoring_template_vars)
}

locals {
  monitoring_count = var.enable_monitoring ? 1 : 0

  # The run.app host of the event function: what the FiveM resource posts to.
  monitoring_event_host = trimsuffix(trimprefix(google_cloudfunctions2_function.event.service_config[0].uri, "https://"), "/")
}

# Cloud Monitoring only: logging.googleapis.com is enabled once, with the
# other APIs (apis.tf), since the build logs need it with or without this.
resource "google_project_service" "monitoring" {
  count = local.monitoring_count

  project = var.project_id
  service = "monitoring.googleapis.com"

  # Other workloads in the project use monitoring too.
  disable_on_destroy = false
}

# Counters (and one distribution) computed by Cloud Logging from the JSON lines
# of both functions; their filters are tested against lines the real receiver
# and worker write (tests/deploy/test_monitoring_log_lines.py).
resource "google_logging_metric" "receiver" {
  # A for expression, not a conditional: the definitions differ in shape, and
  # a conditional needs both results of one type.
  for_each = { for key, metric in local.monitoring_metrics : key => metric if var.enable_monitoring }

  project     = var.project_id
  name        = each.value.name
  description = each.value.description
  filter      = each.value.filter

  label_extractors = each.value.label_extractors
  value_extractor  = each.value.value_extractor

  metric_descriptor {
    metric_kind  = each.value.metric_kind
    value_type   = each.value.value_type
    unit         = each.value.unit
    display_name = each.value.display_name

    dynamic "labels" {
      for_each = each.value.labels

      content {
        key         = labels.value.key
        value_type  = labels.value.value_type
        description = labels.value.description
      }
    }
  }

  dynamic "bucket_options" {
    for_each = each.value.exponential_buckets == null ? [] : [each.value.exponential_buckets]

    content {
      exponential_buckets {
        num_finite_buckets = bucket_options.value.num_finite_buckets
        growth_factor      = bucket_options.value.growth_factor
        scale              = bucket_options.value.scale
      }
    }
  }

  # Only the APIs: the metrics come first, minutes before the function builds
  # end, so their wait below mostly overlaps the builds.
  depends_on = [google_project_service.enabled, google_project_service.monitoring]
}

# A log-based metric is not usable at once: an alert policy naming a metric
# created a moment ago is refused with "404 Cannot find metric(s) ... If a
# metric was created recently, it could take up to 10 minutes to become
# available", and the provider retries only concurrent-edit errors on alert
# policies (terraform-provider-google#11102). So the policies wait those 10
# minutes after the metrics. The wait starts when the metrics exist and runs
# while the functions build (the policies need the event function's URL too),
# so a first apply waits about 10 minutes minus the builds; it waits again only
# when the set of metrics changes.
resource "time_sleep" "log_metrics_available" {
  count = local.monitoring_count

  create_duration = "10m"

  triggers = {
    metrics = join(",", sort([for metric in google_logging_metric.receiver : metric.name]))
  }
}

resource "google_monitoring_notification_channel" "email" {
  count = var.enable_monitoring && var.alert_email != "" ? 1 : 0

  project      = var.project_id
  type         = local.monitoring_channel.type
  display_name = local.monitoring_channel.display_name
  description  = local.monitoring_channel.description
  labels       = local.monitoring_channel.labels
  user_labels  = local.labels

  depends_on = [google_project_service.monitoring]
}

resource "google_monitoring_alert_policy" "receiver" {
  for_each = { for key, policy in local.monitoring_alerts : key => policy if var.enable_monitoring }

  project               = var.project_id
  display_name          = each.value.display_name
  combiner              = each.value.combiner
  severity              = each.value.severity
  notification_channels = google_monitoring_notification_channel.email[*].id
  user_labels           = local.labels

  # The runbook travels with every notification and incident.
  documentation {
    content   = replace(each.value.documentation, local.monitoring_host_stand_in, local.monitoring_event_host)
    mime_type = "text/markdown"
  }

  alert_strategy {
    auto_close = each.value.auto_close
  }

  dynamic "conditions" {
    for_each = each.value.conditions

    content {
      display_name = conditions.value.display_name

      dynamic "condition_threshold" {
        for_each = conditions.value.threshold == null ? [] : [conditions.value.threshold]

        content {
          filter                  = replace(condition_threshold.value.filter, local.monitoring_host_stand_in, local.monitoring_event_host)
          comparison              = condition_threshold.value.comparison
          threshold_value         = condition_threshold.value.threshold_value
          duration                = condition_threshold.value.duration
          evaluation_missing_data = condition_threshold.value.evaluation_missing_data

          trigger {
            count = condition_threshold.value.trigger_count
          }

          dynamic "aggregations" {
            for_each = condition_threshold.value.aggregations

            content {
              alignment_period     = aggregations.value.alignment_period
              per_series_aligner   = aggregations.value.per_series_aligner
              cross_series_reducer = aggregations.value.cross_series_reducer
              group_by_fields      = aggregations.value.group_by_fields
            }
          }
        }
      }

      dynamic "condition_absent" {
        for_each = conditions.value.absent == null ? [] : [conditions.value.absent]

        content {
          filter   = condition_absent.value.filter
          duration = condition_absent.value.duration

          trigger {
            count = condition_absent.value.trigger_count
          }

          dynamic "aggregations" {
            for_each = condition_absent.value.aggregations

            content {
              alignment_period     = aggregations.value.alignment_period
              per_series_aligner   = aggregations.value.per_series_aligner
              cross_series_reducer = aggregations.value.cross_series_reducer
              group_by_fields      = aggregations.value.group_by_fields
            }
          }
        }
      }
    }
  }

  # A policy naming a log-based metric that does not exist yet, or is not yet
  # available, is refused: after the metrics and their wait (above).
  depends_on = [
    google_logging_metric.receiver,
    time_sleep.log_metrics_available,
    google_monitoring_uptime_check_config.event_url,
  ]
}

# The GET probe admins open in a browser, from Google's checkers every 5
# minutes; alert-event-url-down.json alerts on it.
resource "google_monitoring_uptime_check_config" "event_url" {
  count = local.monitoring_count

  project      = var.project_id
  display_name = local.monitoring_uptime.display_name
  period       = local.monitoring_uptime.period
  timeout      = local.monitoring_uptime.timeout
  user_labels  = local.labels

  monitored_resource {
    type   = local.monitoring_uptime.type
    labels = merge(local.monitoring_uptime.labels, { host = local.monitoring_event_host })
  }

  http_check {
    request_method = local.monitoring_uptime.http_check.request_method
    path           = local.monitoring_uptime.http_check.path
    port           = local.monitoring_uptime.http_check.port
    use_ssl        = local.monitoring_uptime.http_check.use_ssl
    validate_ssl   = local.monitoring_uptime.http_check.validate_ssl

    dynamic "accepted_response_status_codes" {
      for_each = local.monitoring_uptime.http_check.status_classes

      content {
        status_class = accepted_response_status_codes.value
      }
    }
  }

  dynamic "content_matchers" {
    for_each = local.monitoring_uptime.content_matchers

    content {
      content = content_matchers.value.content
      matcher = content_matchers.value.matcher
    }
  }

  depends_on = [google_project_service.monitoring]
}

resource "google_monitoring_dashboard" "receiver" {
  count = local.monitoring_count

  project        = var.project_id
  dashboard_json = local.monitoring_dashboard_json

  depends_on = [google_logging_metric.receiver]
}

output "dashboard_url" {
  description = "The monitoring dashboard in the Google Cloud console, or null when enable_monitoring is false."
  # The id is projects/PROJECT/dashboards/DASHBOARD_ID.
  value = var.enable_monitoring ? "https://console.cloud.google.com/monitoring/dashboards/builder/${basename(google_monitoring_dashboard.receiver[0].id)}?project=${var.project_id}" : null
}

output "alert_policies" {
  description = "Alert policies by definition file (deploy/monitoring/alert-*.json), empty when enable_monitoring is false."
  value       = { for key, policy in google_monitoring_alert_policy.receiver : key => policy.name }
}
