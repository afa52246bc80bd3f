terraform {
  # 1.5 for strcontains() in the preconditions and for check blocks.
  required_version = ">= 1.5.0"

  required_providers {
    google = {
      source = "hashicorp/google"
      # 6.x: build_config.service_account and docker_repository, the run.app
      # uri and Artifact Registry cleanup policies are all in 6.0; 7.0 may
      # rename arguments, so it is an explicit upgrade.
      version = ">= 6.0.0, < 7.0.0"
    }
    google-beta = {
      source = "hashicorp/google-beta"
      # Only for google_project_service_identity (apis.tf), a beta-only
      # resource; kept on the same major version as google.
      version = ">= 6.0.0, < 7.0.0"
    }
    archive = {
      source = "hashicorp/archive"
      # 2.x writes source blocks sorted by name, without timestamps
      # (internal/provider/zip_archiver.go, ArchiveMultiple): the zip's hash
      # depends on file names and contents only (source.tf relies on it).
      version = ">= 2.5.0, < 3.0.0"
    }
    time = {
      source = "hashicorp/time"
      # time_sleep: IAM grants take a while to reach the build (build.tf), a
      # new service agent to be known to IAM (apis.tf), a new log-based metric
      # to be usable in an alert policy (monitoring.tf).
      version = ">= 0.9.0, < 1.0.0"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}

provider "google-beta" {
  project = var.project_id
  region  = var.region
}
