locals {
  labels = {
    app        = "sonorancad-receiver"
    managed-by = "terraform"
  }

  # Where the event function finds its API keys: a Secret Manager volume is
  # read again on every access, so a new secret version ("latest") is picked
  # up without a redeploy; the receiver re-reads the file when it changes.
  api_keys_mount_path = "/etc/sonoran-keys"
  api_keys_file_name  = "api-keys"

  # Handlers run in the event function only for `inline` routes. Without one,
  # it gets neither SONORAN_HANDLERS nor the handlers' secrets (default *=log).
  event_runs_handlers = strcontains(var.routes, "inline")

  # The fully qualified name build_config.service_account takes.
  build_service_account = "projects/${var.project_id}/serviceAccounts/${local.build_service_account_email}"

  handler_env = {
    SONORAN_HANDLERS = var.handlers
  }

  forward_env = var.forward_url == "" ? {} : {
    FORWARD_URL = var.forward_url
  }

  # Secret env vars are resolved when an instance starts: a new version of
  # these reaches new instances (or all of them after a redeploy).
  handler_secret_env = merge(
    var.enable_discord_webhook ? {
      DISCORD_WEBHOOK_URL = google_secret_manager_secret.discord_webhook[0].secret_id
    } : {},
    var.forward_url != "" ? {
      FORWARD_SECRET = google_secret_manager_secret.forward_secret[0].secret_id
    } : {},
  )
}

# The HTTP function the CAD (or the FiveM resource) posts to.
resource "google_cloudfunctions2_function" "event" {
  #checkov:skip=CKV_GCP_124:The CAD and the FiveM resource post from the internet; ALLOW_ALL is the only ingress they can reach, and the API key in the body is the authentication.
  project     = var.project_id
  name        = "${var.name_prefix}-event"
  location    = var.region
  description = "Receives Sonoran CAD push events, checks the API key, publishes them to Pub/Sub."
  labels      = local.labels

  build_config {
    runtime           = "python312"
    entry_point       = "sonorancad_event"
    service_account   = local.build_service_account
    docker_repository = google_artifact_registry_repository.functions.id

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_cpu    = var.cpu
    available_memory = var.memory
    # What the platform allows a request before it answers 504 itself.
    timeout_seconds = var.event_timeout_seconds

    min_instance_count               = var.min_instance_count
    max_instance_count               = var.max_instance_count
    max_instance_request_concurrency = var.concurrency

    # The CAD and the FiveM resource post from the internet and cannot
    # authenticate to Google: the API key in the body is the authentication.
    ingress_settings               = "ALLOW_ALL"
    all_traffic_on_latest_revision = true
    service_account_email          = google_service_account.event.email

    environment_variables = merge(
      {
        # functions-framework sizes gunicorn from these; one thread per
        # concurrent request, one process so the Pub/Sub client is shared.
        THREADS = tostring(var.concurrency)
        WORKERS = "1"

        PUBSUB_TOPIC            = google_pubsub_topic.events.id
        PUBSUB_QUARANTINE_TOPIC = google_pubsub_topic.quarantine.id
        SONORAN_API_KEYS_FILE   = "${local.api_keys_mount_path}/${local.api_keys_file_name}"
        SONORAN_ROUTES          = var.routes
        SONORAN_STRICT_TYPES    = tostring(var.strict_types)
      },
      local.event_runs_handlers ? merge(local.handler_env, local.forward_env) : {},
    )

    secret_volumes {
      mount_path = local.api_keys_mount_path
      # The API reports the project number; an id here would show a diff on
      # every plan.
      project_id = data.google_project.this.number
      secret     = google_secret_manager_secret.api_keys.secret_id

      versions {
        version = "latest"
        path    = local.api_keys_file_name
      }
    }

    dynamic "secret_environment_variables" {
      for_each = local.event_runs_handlers ? local.handler_secret_env : {}

      content {
        key        = secret_environment_variables.key
        project_id = data.google_project.this.number
        secret     = secret_environment_variables.value
        version    = "latest"
      }
    }
  }

  lifecycle {
    precondition {
      condition     = !strcontains(var.handlers, "discord") || var.enable_discord_webhook
      error_message = "handlers name the discord handler: set enable_discord_webhook = true (and add the webhook URL as a secret version)."
    }
    precondition {
      condition     = !strcontains(var.handlers, "forward") || var.forward_url != ""
      error_message = "handlers name the forward handler: set forward_url (and add its whsec_ secret as a secret version)."
    }
  }

  depends_on = [
    google_secret_manager_secret_iam_member.event_api_keys,
    google_secret_manager_secret_iam_member.event_handler_secrets,
    google_pubsub_topic_iam_member.event_publisher,
    google_pubsub_topic_iam_member.event_quarantine_publisher,
    time_sleep.iam_propagation,
  ]
}

# The Pub/Sub-fed worker. It is a CloudEvent function (@cloud_event in
# main.py) deployed WITHOUT event_trigger, i.e. as an HTTP-served function:
# - with event_trigger, Eventarc creates and owns the Pub/Sub subscription, and
#   Terraform cannot give that subscription a dead-letter policy
#   (terraform-provider-google#25069);
# - functions-framework serves a decorated CloudEvent function as such whatever
#   the trigger type (the decorator wins over FUNCTION_SIGNATURE_TYPE), and
#   turns a Pub/Sub push body ({"message": ..., "subscription": ...}) into a
#   google.cloud.pubsub.topic.v1.messagePublished CloudEvent.
# So google_pubsub_subscription.worker_push below owns retries and
# dead-lettering, and pushes with an OIDC token the worker's Cloud Run service
# checks; nobody else may invoke it.
resource "google_cloudfunctions2_function" "worker" {
  #checkov:skip=CKV_GCP_124:IAM keeps the worker private (only the push account holds run.invoker; everyone else gets 403 before the function runs); ingress_settings below says why it is not also internal-only.
  project     = var.project_id
  name        = "${var.name_prefix}-worker"
  location    = var.region
  description = "Runs the handlers for Sonoran CAD events published to Pub/Sub; private, fed by a push subscription."
  labels      = local.labels

  build_config {
    runtime           = "python312"
    entry_point       = "sonorancad_worker"
    service_account   = local.build_service_account
    docker_repository = google_artifact_registry_repository.functions.id

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_cpu    = var.cpu
    available_memory = var.memory
    # Pub/Sub waits at most ack_deadline_seconds for the answer; the worker
    # must give up before that or a slow success becomes a redelivery.
    timeout_seconds = local.worker_timeout_seconds

    min_instance_count               = 0
    max_instance_count               = var.worker_max_instance_count
    max_instance_request_concurrency = var.concurrency

    # ALLOW_ALL, with IAM keeping the worker private. A gen2 function is a
    # Cloud Run service, so Cloud Run's page is the authority on its ingress
    # ("Restrict network ingress for Cloud Run",
    # https://cloud.google.com/run/docs/securing/ingress):
    # - "IAM authentication still applies to requests reaching the service
    #   endpoints from any of the preceding network ingress paths": Cloud Run
    #   checks the caller before the request reaches the function, and only
    #   the push subscription's account holds roles/run.invoker on the worker
    #   (iam.tf), so any other caller gets 403.
    # - Internal would also admit our push: it lists Pub/Sub among the Google
    #   Cloud products allowed "if they're in the same project or VPC Service
    #   Controls perimeter as your Cloud Run service and if they're using the
    #   default run.app URL", which push_endpoint is (pubsub.tf).
    # It stays ALLOW_ALL because a wrong ingress answers every push with 404
    # and dead-letters every event, while the IAM check already refuses
    # everyone but the push account: a second lock on the same door, with a
    # way to lose every event if the push ever stops counting as internal
    # (a topic in another project, a custom domain in front of the worker).
    ingress_settings               = "ALLOW_ALL"
    all_traffic_on_latest_revision = true
    service_account_email          = google_service_account.worker.email

    environment_variables = merge(
      {
        THREADS = tostring(var.concurrency)
        WORKERS = "1"
      },
      local.handler_env,
      local.forward_env,
    )

    dynamic "secret_environment_variables" {
      for_each = local.handler_secret_env

      content {
        key        = secret_environment_variables.key
        project_id = data.google_project.this.number
        secret     = secret_environment_variables.value
        version    = "latest"
      }
    }
  }

  lifecycle {
    precondition {
      condition     = !strcontains(var.handlers, "discord") || var.enable_discord_webhook
      error_message = "handlers name the discord handler: set enable_discord_webhook = true (and add the webhook URL as a secret version)."
    }
    precondition {
      condition     = !strcontains(var.handlers, "forward") || var.forward_url != ""
      error_message = "handlers name the forward handler: set forward_url (and add its whsec_ secret as a secret version)."
    }
  }

  depends_on = [
    google_secret_manager_secret_iam_member.worker_handler_secrets,
    time_sleep.iam_propagation,
  ]
}
