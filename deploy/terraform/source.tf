locals {
  repo_root = abspath("${path.module}/../..")
}

# The zip holds what the functions import at runtime plus requirements.txt for
# the buildpack; everything else only slows the build or leaks dev files.
data "archive_file" "source" {
  type        = "zip"
  source_dir  = local.repo_root
  output_path = "${path.module}/build/source.zip"

  # Fixed modes keep the hash (and so the object name) identical across
  # machines and umasks: only a real code change redeploys.
  output_file_mode = "0644"

  excludes = [
    ".git",
    ".github",
    ".ci",
    ".venv",
    ".venv-*",
    ".env",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    "**/__pycache__",
    "**/*.pyc",
    "bench",
    "deploy",
    "tests",
    "local-sink.jsonl",
    "requirements-dev.txt",
    "requirements-checkov.txt",
  ]
}

resource "google_storage_bucket" "source" {
  #checkov:skip=CKV_GCP_62:The bucket only holds build inputs written by Terraform; access logging needs a second bucket, and Cloud Audit Logs already record admin access.
  project  = var.project_id
  name     = "${var.project_id}-${var.name_prefix}-source"
  location = var.region

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  # Only build inputs live here; `terraform destroy` may remove them.
  force_destroy = true

  # Versioning keeps the archive a running function was built from for a while
  # after a redeploy replaces it, so a rollback can rebuild it.
  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 30
    }
    action {
      type = "Delete"
    }
  }

  labels = local.labels

  depends_on = [google_project_service.enabled]
}

# The object name carries the archive's hash: a changed zip under an unchanged
# name would not redeploy the functions (terraform-provider-google#1938).
resource "google_storage_bucket_object" "source" {
  name   = "source/${data.archive_file.source.output_sha256}.zip"
  bucket = google_storage_bucket.source.name
  source = data.archive_file.source.output_path
}
