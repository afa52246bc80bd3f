locals {
  repo_root = abspath("${path.module}/../..")

  # An allow-list of what the functions run, not a list of what to leave out:
  # main.py (both entry points), the two packages it imports, and
  # requirements.txt for the buildpack. Nothing else is read at runtime (the
  # keys come from a Secret Manager volume, the settings from the
  # environment), so a change to the docs, tests or deploy files does not
  # change the archive's hash and rebuilds nothing. deploy/gcloud.sh stages the
  # same files, and .gcloudignore allow-lists them for a hand-run gcloud.
  # local_stack/ (`make stack` and its console) is a local tool: never listed.
  source_top_files = ["main.py", "requirements.txt"]
  source_packages  = ["sonoran_receiver", "handlers"]
  source_files = sort(concat(
    local.source_top_files,
    # Only .py files: __pycache__ holds .pyc files alone, so it stays out.
    flatten([for package in local.source_packages : tolist(fileset(local.repo_root, "${package}/**/*.py"))]),
  ))
}

# The zip holds exactly local.source_files. With source blocks the archive
# provider writes entries sorted by name and without timestamps, so the hash
# (and so the object name below) changes only when one of these files does.
data "archive_file" "source" {
  type        = "zip"
  output_path = "${path.module}/build/source.zip"

  dynamic "source" {
    for_each = toset(local.source_files)

    content {
      content  = file("${local.repo_root}/${source.value}")
      filename = source.value
    }
  }
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
