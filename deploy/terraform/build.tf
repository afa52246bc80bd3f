# How the functions are built: our own build service account, our own Artifact
# Registry repository, and the roles the build needs, each on the narrowest
# resource Google lets us name.
#
# Projects created since mid-2024 build functions with the Compute Engine
# default service account, which may lack these roles or not exist at all
# (Compute Engine API off): "new projects deploying functions for the first
# time may be using a default Cloud Build service account with insufficient
# permissions for building a function" (Cloud Run functions, "Custom Service
# Account for Cloud Build",
# https://cloud.google.com/functions/docs/securing/build-custom-sa). A
# dedicated account removes that dependency.

locals {
  # Cleanup keeps this many images per function (the running one and a few
  # to roll back to) and deletes older ones after a day.
  images_kept = 5

  build_service_account_email = (
    var.build_service_account_email != null
    ? var.build_service_account_email
    : google_service_account.build[0].email
  )
  build_service_account_member = "serviceAccount:${local.build_service_account_email}"

  # Cloud Functions copies the source archive into its own bucket
  # gcf-v2-sources-PROJECT_NUMBER-REGION and the build fetches it from there
  # ("Build failed ... failed to download archive
  # gs://gcf-v2-sources-NUMBER-us-central1/...: Access to bucket
  # gcf-v2-sources-NUMBER-us-central1 denied. You must grant Storage Object
  # Viewer permission to <build account>", terraform-provider-google#20571;
  # the provider's own comment: "GET Response format:
  # gcf-v2-sources-{Project-number}-{location}", magic-modules
  # cloudfunctions2_function_source_bucket.go.tmpl).
  function_sources_bucket = "gcf-v2-sources-${data.google_project.this.number}-${var.region}"
}

resource "google_service_account" "build" {
  count = var.build_service_account_email == null ? 1 : 0

  project      = var.project_id
  account_id   = "${var.name_prefix}-build"
  display_name = "Sonoran CAD functions (build)"
  description  = "Cloud Build runs the functions' builds as this account: writes their images and build logs, reads their source; nothing else."

  depends_on = [google_project_service.enabled]
}

# The functions' images. Without build_config.docker_repository, Cloud
# Functions creates gcf-artifacts itself and keeps every image forever; here
# a cleanup policy bounds the storage. The repository must be DOCKER, in the
# function's project and region ("Cross-project repositories are not
# supported. Cross-location repositories are not supported. Repository format
# must be 'DOCKER'", Cloud Functions v2 API, BuildConfig.docker_repository).
resource "google_artifact_registry_repository" "functions" {
  #checkov:skip=CKV_GCP_84:Google-managed encryption at rest applies; the images are built from this public repository's code, and a customer-managed key would add a KMS key ring and its rotation to every community's project.
  project       = var.project_id
  location      = var.region
  repository_id = "${var.name_prefix}-functions"
  description   = "Images of the Sonoran CAD receiver's functions; older ones are deleted by the cleanup policies."
  format        = "DOCKER"
  labels        = local.labels

  # Explicit: in dry-run mode the policies only report what they would
  # delete and delete nothing.
  cleanup_policy_dry_run = false

  # "If an artifact version matches criteria in both a delete policy and a
  # keep policy, Artifact Registry applies the keep policy" (Artifact Registry,
  # "Cleanup policy overview"): everything older than a day is deleted except
  # the most recent images of each function. The day keeps an image being
  # pushed by a running build out of reach.
  cleanup_policies {
    id     = "delete-older-than-a-day"
    action = "DELETE"
    condition {
      tag_state  = "ANY"
      older_than = "86400s"
    }
  }

  cleanup_policies {
    id     = "keep-most-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = local.images_kept
    }
  }

  depends_on = [google_project_service.enabled]
}

# --- the build account's roles, as Google lists them for a custom build account --
# (roles/logging.logWriter, roles/artifactregistry.writer,
# roles/storage.objectViewer: "Custom Service Account for Cloud Build"; the
# same three in GoogleCloudPlatform/terraform-google-cloud-functions, README,
# "At a minimum, the following IAM roles are required for the build service
# account").

# Build logs go to Cloud Logging. Log writing can only be granted on the
# project (or above): no narrower resource takes roles/logging.logWriter.
resource "google_project_iam_member" "build_log_writer" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = local.build_service_account_member
}

# Push the images: on our repository only, not the project.
resource "google_artifact_registry_repository_iam_member" "build_image_writer" {
  project    = google_artifact_registry_repository.functions.project
  location   = google_artifact_registry_repository.functions.location
  repository = google_artifact_registry_repository.functions.name
  role       = "roles/artifactregistry.writer"
  member     = local.build_service_account_member
}

# Read the source copy in gcf-v2-sources-NUMBER-REGION (see the local above).
# That bucket belongs to Cloud Functions and does not exist before the first
# deploy, so no bucket-level grant can be made: a project-level grant with an
# IAM condition on the bucket's resource name is the narrowest one possible.
# Cloud Storage names buckets projects/_/buckets/BUCKET and objects
# projects/_/buckets/BUCKET/objects/OBJECT in conditions ("Resource attributes
# for IAM Conditions", https://cloud.google.com/iam/docs/conditions-resource-attributes).
resource "google_project_iam_member" "build_source_reader" {
  project = var.project_id
  role    = "roles/storage.objectViewer"
  member  = local.build_service_account_member

  condition {
    title       = "function-sources-only"
    description = "Only the bucket where Cloud Functions keeps the functions' source archives."
    expression  = "resource.name.startsWith(\"projects/_/buckets/${local.function_sources_bucket}\")"
  }
}

# IAM changes take a while to reach the services that check them; a build
# started at once can still be refused. The provider's own example waits the
# same 60 s ("builder permissions need to stablize before it can pull the
# source zip", cloudfunctions2_basic_builder, terraform-provider-google
# #20571). Only the first apply waits, and whenever the build account changes.
resource "time_sleep" "iam_propagation" {
  create_duration = "60s"

  triggers = {
    build_service_account = local.build_service_account_email
  }

  depends_on = [
    google_project_iam_member.build_log_writer,
    google_artifact_registry_repository_iam_member.build_image_writer,
    google_project_iam_member.build_source_reader,
    google_secret_manager_secret_iam_member.event_api_keys,
  ]
}
