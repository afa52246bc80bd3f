# Every grant below is on one resource (a topic, a secret, a subscription, a
# Cloud Run service, a service account). None is project-wide: Cloud Run ships
# stdout to Cloud Logging without the runtime account holding logging roles.
# The build account's grants, two of them project-level by necessity, are in
# build.tf.

resource "google_service_account" "event" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-event"
  display_name = "Sonoran CAD event function (runtime)"
  description  = "Publishes to ${var.name_prefix}-events and ${var.name_prefix}-quarantine and reads the API key secret; nothing else."

  depends_on = [google_project_service.enabled]
}

resource "google_service_account" "worker" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-worker"
  display_name = "Sonoran CAD worker function (runtime)"
  description  = "Runs handlers for published events; reads only the handlers' secrets."

  depends_on = [google_project_service.enabled]
}

resource "google_service_account" "push" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-push"
  display_name = "Sonoran CAD worker push (invoker)"
  description  = "Identity in the OIDC token of the worker push subscription; may only invoke the worker."

  depends_on = [google_project_service.enabled]
}

# --- event function -----------------------------------------------------------

resource "google_pubsub_topic_iam_member" "event_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.events.name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_service_account.event.email}"
}

# Events refused after a good key are kept there (pubsub.tf); the event
# function may publish to it and to no other new topic.
resource "google_pubsub_topic_iam_member" "event_quarantine_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.quarantine.name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_service_account.event.email}"
}

resource "google_secret_manager_secret_iam_member" "event_api_keys" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.api_keys.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.event.email}"
}

resource "google_secret_manager_secret_iam_member" "event_handler_secrets" {
  for_each = local.event_runs_handlers ? local.handler_secret_env : {}

  project   = var.project_id
  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.event.email}"
}

# Public invoke, on the event function's Cloud Run service only. The CAD and
# the FiveM resource cannot present a Google identity, so Cloud Run must let
# every caller through; the receiver then answers 401 to any body without a
# valid API key. A gen2 function's invoker role is Cloud Run's run.invoker on
# the service of the same name (google_cloudfunctions2_function_iam_* cannot
# grant it). An organization policy restricting allowed member domains blocks
# allUsers; docs/deploy.md explains the way around it.
resource "google_cloud_run_v2_service_iam_member" "event_public" {
  project  = var.project_id
  location = google_cloudfunctions2_function.event.location
  name     = google_cloudfunctions2_function.event.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# --- worker -------------------------------------------------------------------

resource "google_secret_manager_secret_iam_member" "worker_handler_secrets" {
  for_each = local.handler_secret_env

  project   = var.project_id
  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.worker.email}"
}

# Only the push subscription's identity may invoke the worker.
resource "google_cloud_run_v2_service_iam_member" "worker_invoker" {
  project  = var.project_id
  location = google_cloudfunctions2_function.worker.location
  name     = google_cloudfunctions2_function.worker.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.push.email}"
}

# --- Pub/Sub service agent ----------------------------------------------------
# local.pubsub_service_agent is the member of google_project_service_identity
# .pubsub (apis.tf): the agent exists before these grants name it.

# Pub/Sub mints the push OIDC token as the push account. Projects whose Pub/Sub
# service agent dates from before 2021-04-08 need this grant; newer ones do not
# mind it. It is scoped to that one account.
resource "google_service_account_iam_member" "pubsub_push_token_creator" {
  service_account_id = google_service_account.push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_service_agent
}

# Dead-lettering is done by the Pub/Sub service agent: it must publish to the
# dead-letter topic and acknowledge (subscribe to) the source subscription,
# otherwise failed messages are retried forever instead of moved.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  project      = var.project_id
  subscription = google_pubsub_subscription.worker_push.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}
