locals {
  # The worker's timeout and the push subscription's ack deadline move
  # together: Pub/Sub redelivers anything not answered within the deadline.
  worker_timeout_seconds = 60
  ack_deadline_seconds   = local.worker_timeout_seconds

  # serviceAccount:service-NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com, read
  # through the wait after the resource that creates it (apis.tf), so every
  # grant naming it comes after both.
  pubsub_service_agent = time_sleep.pubsub_service_agent.triggers["member"]
}

resource "google_pubsub_topic" "events" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption at rest applies; a customer-managed key would add a KMS key ring and its rotation to every community's project.
  project = var.project_id
  name    = "${var.name_prefix}-events"

  # One day of retained messages lets a new subscription, or a seek after a
  # broken handler release, replay what the CAD sent meanwhile: the CAD never
  # sends an event twice.
  message_retention_duration = "86400s"

  labels = local.labels

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_topic" "dead_letter" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption at rest applies; a customer-managed key would add a KMS key ring and its rotation to every community's project.
  project = var.project_id
  name    = "${var.name_prefix}-events-dead-letter"
  labels  = local.labels

  depends_on = [google_project_service.enabled]
}

# A dead-letter topic without a subscription drops what it receives: this one
# keeps failed events a week for inspection and replay.
resource "google_pubsub_subscription" "dead_letter" {
  project = var.project_id
  name    = "${var.name_prefix}-events-dead-letter"
  topic   = google_pubsub_topic.dead_letter.id

  message_retention_duration = "604800s"
  ack_deadline_seconds       = 60

  # Subscriptions expire after 31 days without activity by default; this one
  # is idle whenever nothing fails, which is the normal case.
  expiration_policy {
    ttl = ""
  }

  labels = local.labels
}

# Feeds the worker. Retries and dead-lettering live here, not in an Eventarc
# trigger (functions.tf says why).
resource "google_pubsub_subscription" "worker_push" {
  project = var.project_id
  name    = "${var.name_prefix}-worker-push"
  topic   = google_pubsub_topic.events.id

  ack_deadline_seconds       = local.ack_deadline_seconds
  message_retention_duration = "604800s"

  push_config {
    # The topic path in the URL becomes the CloudEvent source
    # (//pubsub.googleapis.com/projects/P/topics/T) when functions-framework
    # converts the push body; any path reaches the function.
    push_endpoint = "${google_cloudfunctions2_function.worker.service_config[0].uri}/${google_pubsub_topic.events.id}"

    oidc_token {
      service_account_email = google_service_account.push.email
      # Cloud Run checks the token's audience against the service URL, so it
      # must not carry the path above.
      audience = google_cloudfunctions2_function.worker.service_config[0].uri
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.dead_letter_max_attempts
  }

  expiration_policy {
    ttl = ""
  }

  labels = local.labels

  depends_on = [
    google_cloud_run_v2_service_iam_member.worker_invoker,
    google_service_account_iam_member.pubsub_push_token_creator,
    google_pubsub_topic_iam_member.dead_letter_publisher,
  ]
}

# For your own consumers (a BigQuery loader, a bot): every event, kept 7 days
# until acknowledged.
resource "google_pubsub_subscription" "pull" {
  count = var.create_pull_subscription ? 1 : 0

  project = var.project_id
  name    = "${var.name_prefix}-events-pull"
  topic   = google_pubsub_topic.events.id

  ack_deadline_seconds       = 60
  message_retention_duration = "604800s"

  expiration_policy {
    ttl = ""
  }

  labels = local.labels
}

# Quarantine (docs/reference/contract.md "Quarantine"): an
# event refused after a good key (400/422) is published here before the
# answer, since neither sender retries. The replay command (docs/quarantine.md)
# pulls it from the subscription below and republishes what now passes.
resource "google_pubsub_topic" "quarantine" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption at rest applies; a customer-managed key would add a KMS key ring and its rotation to every community's project.
  project = var.project_id
  name    = "${var.name_prefix}-quarantine"

  # The topic keeps every message 31 days, the most Pub/Sub allows: the
  # subscription's own backlog ends at 7 days, and a fix to the models can
  # come later than that. Topic retention "allows any attached subscription to
  # seek to a timestamp that is up to messageRetentionDuration in the past"
  # ("Cannot be more than 31 days", google_pubsub_topic docs), so a seek
  # brings back even acknowledged or expired messages (docs/deploy.md).
  # Quarantined events are few, so this costs little.
  message_retention_duration = "2678400s"

  labels = local.labels

  depends_on = [google_project_service.enabled]
}

# Read by the replay command (as whoever runs it, docs/deploy.md): unread
# messages are kept 7 days, and the subscription never expires, since it is
# idle whenever nothing is refused, which is the normal case.
resource "google_pubsub_subscription" "quarantine_pull" {
  project = var.project_id
  name    = "${var.name_prefix}-quarantine-pull"
  topic   = google_pubsub_topic.quarantine.id

  ack_deadline_seconds       = 60
  message_retention_duration = "604800s"

  expiration_policy {
    ttl = ""
  }

  labels = local.labels
}
