locals {
  # Eventarc is not here on purpose: the worker is fed by our own push
  # subscription, not by an Eventarc trigger (see functions.tf).
  required_apis = toset([
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "iam.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ])
}

resource "google_project_service" "enabled" {
  for_each = local.required_apis

  project = var.project_id
  service = each.value

  # Other workloads in the project may use these APIs; destroying the receiver
  # must not switch them off.
  disable_on_destroy = false
}

data "google_project" "this" {
  project_id = var.project_id
}
