terraform {
  # 1.5 for strcontains() in the preconditions and for check blocks.
  required_version = ">= 1.5.0"

  required_providers {
    google = {
      source = "hashicorp/google"
      # 6.x: build_config.service_account and the run.app uri are stable here;
      # 7.0 may rename arguments, so it is an explicit upgrade.
      version = ">= 6.0.0, < 7.0.0"
    }
    archive = {
      source = "hashicorp/archive"
      # 2.5 added glob patterns to archive_file.excludes (source.tf relies on them).
      version = ">= 2.5.0, < 3.0.0"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}
