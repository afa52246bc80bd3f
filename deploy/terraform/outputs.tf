output "event_url" {
  description = "The full event URL. Open it in a browser to check the deployment (it answers ok); the FiveM resource's pushEventForwardUrl is this plus ?server=N."
  value       = "${google_cloudfunctions2_function.event.service_config[0].uri}/sonorancad/event"
}

output "forward_url_server_1" {
  description = "pushEventForwardUrl for the FiveM resource's config.json on game server 1; use ?server=2 and so on for the others."
  value       = "${google_cloudfunctions2_function.event.service_config[0].uri}/sonorancad/event?server=1"
}

output "topic" {
  description = "Pub/Sub topic every accepted event is published to."
  value       = google_pubsub_topic.events.id
}

output "worker_subscription" {
  description = "Push subscription feeding the worker (retries, then dead-letters)."
  value       = google_pubsub_subscription.worker_push.id
}

output "pull_subscription" {
  description = "Pull subscription for your own consumers, or null when create_pull_subscription is false."
  value       = var.create_pull_subscription ? google_pubsub_subscription.pull[0].id : null
}

output "dead_letter_topic" {
  description = "Where events go after dead_letter_max_attempts failed worker deliveries."
  value       = google_pubsub_topic.dead_letter.id
}

output "dead_letter_subscription" {
  description = "Failed events wait here 7 days. Look without taking them: gcloud pubsub subscriptions pull <this> --limit=10 (no --auto-ack: an acknowledged dead letter is gone, and make replay FROM=dead-letter can no longer send it back; docs/quarantine.md)."
  value       = google_pubsub_subscription.dead_letter.id
}

output "api_key_secret" {
  description = "Secret holding the API key(s), one per line. Add a version: printf %s \"$KEY\" | gcloud secrets versions add <this> --data-file=-"
  value       = google_secret_manager_secret.api_keys.secret_id
}

output "discord_webhook_secret" {
  description = "Secret for DISCORD_WEBHOOK_URL, or null when enable_discord_webhook is false."
  value       = var.enable_discord_webhook ? google_secret_manager_secret.discord_webhook[0].secret_id : null
}

output "forward_secret" {
  description = "Secret for FORWARD_SECRET (whsec_...), or null when forward_url is empty."
  value       = var.forward_url != "" ? google_secret_manager_secret.forward_secret[0].secret_id : null
}

output "quarantine_topic" {
  description = "Where the event function keeps events refused after a good key (400/422): PUBSUB_QUARANTINE_TOPIC."
  value       = google_pubsub_topic.quarantine.id
}

output "quarantine_subscription" {
  description = "Read refused events here, or replay them after a fix: make replay PROJECT=... (docs/quarantine.md). Unread messages are kept 7 days."
  value       = google_pubsub_subscription.quarantine_pull.id
}

output "build_service_account" {
  description = "The account Cloud Build builds both functions as (<prefix>-build unless build_service_account_email names another)."
  value       = local.build_service_account_email
}

output "artifact_repository" {
  description = "Artifact Registry repository holding the functions' images; its cleanup policies keep the most recent few."
  value       = google_artifact_registry_repository.functions.id
}
