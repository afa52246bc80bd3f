# Terraform creates the secrets but never their versions: a secret_data value
# would be stored in plain text in the Terraform state. Add each version out of
# band with `gcloud secrets versions add` (docs/deploy.md).

resource "google_secret_manager_secret" "api_keys" {
  project   = var.project_id
  secret_id = "${var.name_prefix}-api-keys"

  replication {
    auto {}
  }

  labels = local.labels

  depends_on = [google_project_service.enabled]
}

resource "google_secret_manager_secret" "discord_webhook" {
  count = var.enable_discord_webhook ? 1 : 0

  project   = var.project_id
  secret_id = "${var.name_prefix}-discord-webhook"

  replication {
    auto {}
  }

  labels = local.labels

  depends_on = [google_project_service.enabled]
}

resource "google_secret_manager_secret" "forward_secret" {
  count = var.forward_url != "" ? 1 : 0

  project   = var.project_id
  secret_id = "${var.name_prefix}-forward-secret"

  replication {
    auto {}
  }

  labels = local.labels

  depends_on = [google_project_service.enabled]
}
