locals {
  # Every API the deploy calls, enabled before anything that needs it
  # (depends_on below and in each file). Eventarc is not here on purpose: the
  # worker is fed by our own push subscription, not by an Eventarc trigger
  # (functions.tf). Compute Engine is not needed either: both functions build
  # and run as our own service accounts, never the Compute Engine default one.
  required_apis = toset([
    "artifactregistry.googleapis.com", # the functions' images (build.tf)
    "cloudbuild.googleapis.com",       # builds the images from the source archive
    "cloudfunctions.googleapis.com",
    "iam.googleapis.com",     # service accounts; a user-specified build account needs it
    "logging.googleapis.com", # build logs and the functions' JSON lines
    "pubsub.googleapis.com",
    "run.googleapis.com", # a gen2 function is a Cloud Run service (invoker grants)
    "secretmanager.googleapis.com",
    "storage.googleapis.com", # the source bucket
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

# The Pub/Sub service agent (service-NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com)
# mints the push subscription's OIDC token and moves dead letters. Google
# creates it lazily, so in a fresh project a grant naming it can fail because
# it does not exist yet; this creates it first, and every grant to it uses this
# resource's member, so Terraform orders them after it.
# https://registry.terraform.io/providers/hashicorp/google/latest/docs/resources/project_service_identity
# (beta only: "These resources are in beta, and should be used with the
# terraform-provider-google-beta provider"; exports email and member.)
resource "google_project_service_identity" "pubsub" {
  provider = google-beta

  project = var.project_id
  service = "pubsub.googleapis.com"

  depends_on = [google_project_service.enabled]
}

# A service agent created a moment ago is not yet known everywhere IAM looks:
# a grant naming it can still be refused with "Service account ... does not
# exist", an error the provider does not retry for a brand-new account. So the
# grants wait, as build.tf waits for the build account's roles. They read the
# member through this resource's triggers (the time provider's "Triggers
# Usage"), so each of them comes after the wait; only the first apply waits.
resource "time_sleep" "pubsub_service_agent" {
  create_duration = "60s"

  triggers = {
    member = google_project_service_identity.pubsub.member
  }
}
