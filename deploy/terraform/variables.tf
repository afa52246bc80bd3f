variable "project_id" {
  description = "Google Cloud project id to deploy into (not the project number)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project id: 6-30 characters, lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "region" {
  description = "Region for both functions, the source bucket and the Artifact Registry builds, e.g. us-central1."
  type        = string
  default     = "us-central1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a region name such as us-central1 or europe-west1, not a zone."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name (functions, service accounts, topic, secrets). Change it to deploy a second, independent receiver into the same project."
  type        = string
  default     = "sonorancad"

  validation {
    # Service account ids are the tightest limit: 6-30 characters, and the
    # longest suffix used is "-worker".
    condition     = can(regex("^[a-z][a-z0-9-]{0,18}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 2-20 characters of lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "event_timeout_seconds" {
  description = "How long the platform lets one request to the event function run before it answers 504 itself (service_config.timeout_seconds). The receiver bounds its own waits (Pub/Sub, inline handlers, slow clients) well below the default."
  type        = number
  default     = 60

  validation {
    # 3600 s is the ceiling for HTTP functions (Cloud Run functions quotas, "Max function duration").
    # 40 s is the longest the receiver itself may take (docs/guarantees.md); the same
    # floor as deploy/gcloud.sh --event-timeout.
    condition     = var.event_timeout_seconds >= 40 && var.event_timeout_seconds <= 3600 && floor(var.event_timeout_seconds) == var.event_timeout_seconds
    error_message = "event_timeout_seconds must be a whole number from 40 to 3600: a request may need the body deadline (10 s), the Pub/Sub wait (10 s) and its inline handlers (20 s), and a shorter timeout cuts off events still being handled."
  }
}

variable "min_instance_count" {
  description = "Instances of the event function kept warm. 0 costs nothing when idle but the first event after a quiet spell waits for a cold start (a few seconds); 1 removes that wait for about $9.86 a month with the default 1 vCPU and 512Mi (an idle instance's list price, docs/before-you-start.md)."
  type        = number
  default     = 0

  validation {
    condition     = var.min_instance_count >= 0 && var.min_instance_count <= 10 && floor(var.min_instance_count) == var.min_instance_count
    error_message = "min_instance_count must be a whole number from 0 to 10."
  }
}

variable "max_instance_count" {
  description = "Upper bound on event function instances: caps cost and the load a flood of requests can put on Pub/Sub."
  type        = number
  default     = 5

  validation {
    condition     = var.max_instance_count >= 1 && var.max_instance_count <= 100 && floor(var.max_instance_count) == var.max_instance_count
    error_message = "max_instance_count must be a whole number from 1 to 100."
  }
}

variable "worker_max_instance_count" {
  description = "Upper bound on worker instances: caps cost and how hard handlers can hit their targets (Discord rate limits, your forward URL) during a backlog."
  type        = number
  default     = 3

  validation {
    condition     = var.worker_max_instance_count >= 1 && var.worker_max_instance_count <= 100 && floor(var.worker_max_instance_count) == var.worker_max_instance_count
    error_message = "worker_max_instance_count must be a whole number from 1 to 100."
  }
}

variable "concurrency" {
  description = "Requests one instance serves at once (max_instance_request_concurrency); the functions' gunicorn THREADS is set to the same number. Requests mostly wait on Pub/Sub, so a few threads per vCPU are cheap."
  type        = number
  default     = 8

  validation {
    condition     = var.concurrency >= 1 && var.concurrency <= 80 && floor(var.concurrency) == var.concurrency
    error_message = "concurrency must be a whole number from 1 to 80."
  }
}

variable "cpu" {
  description = "vCPUs per instance. Whole vCPUs only: below 1 vCPU Cloud Run forces concurrency 1."
  type        = string
  default     = "1"

  validation {
    condition     = contains(["1", "2"], var.cpu)
    error_message = "cpu must be \"1\" or \"2\" (fractional vCPUs force concurrency 1)."
  }
}

variable "memory" {
  description = "Memory per instance. Every value listed is valid with both cpu choices."
  type        = string
  default     = "512Mi"

  validation {
    condition     = contains(["512Mi", "1Gi", "2Gi", "4Gi"], var.memory)
    error_message = "memory must be one of 512Mi, 1Gi, 2Gi, 4Gi."
  }
}

variable "routes" {
  description = "SONORAN_ROUTES for the event function: comma-separated TYPE=ACTIONS, ACTIONS one of publish, inline, drop, inline+publish. The function checks every name at start."
  type        = string
  default     = "*=publish,GET_LOGS=drop"

  validation {
    condition     = can(regex("^[A-Z0-9_*]+=[a-z+]+(,[A-Z0-9_*]+=[a-z+]+)*$", var.routes))
    error_message = "routes must look like \"*=publish,GET_LOGS=drop\": comma-separated TYPE=ACTIONS with no spaces."
  }
}

variable "handlers" {
  description = "SONORAN_HANDLERS: which handlers run for which type, e.g. \"*=log,EVENT_911=log+discord\". The worker runs them for published events; the event function too when a route says inline."
  type        = string
  default     = "*=log"

  validation {
    condition     = can(regex("^[A-Z0-9_*]+=[a-z_+]+(,[A-Z0-9_*]+=[a-z_+]+)*$", var.handlers))
    error_message = "handlers must look like \"*=log,EVENT_911=log+discord\": comma-separated TYPE=HANDLERS with no spaces."
  }
}

variable "strict_types" {
  description = "SONORAN_STRICT_TYPES: true answers 422 to event types the receiver does not know instead of accepting them as UNKNOWN."
  type        = bool
  default     = false
}

variable "dead_letter_max_attempts" {
  description = "Deliveries to the worker before Pub/Sub moves a message to the dead-letter topic (Pub/Sub allows 5-100)."
  type        = number
  default     = 10

  validation {
    condition     = var.dead_letter_max_attempts >= 5 && var.dead_letter_max_attempts <= 100 && floor(var.dead_letter_max_attempts) == var.dead_letter_max_attempts
    error_message = "dead_letter_max_attempts must be a whole number from 5 to 100."
  }
}

variable "enable_discord_webhook" {
  description = "Create the Secret Manager secret <prefix>-discord-webhook and give it to the functions as DISCORD_WEBHOOK_URL. The webhook URL is a credential, so it never goes in a variable: add it as a secret version (docs/deploy.md)."
  type        = bool
  default     = false
}

variable "forward_url" {
  description = "FORWARD_URL for the forward handler (an https URL; empty disables it). Setting it creates the secret <prefix>-forward-secret for FORWARD_SECRET, whose whsec_ value you add as a secret version."
  type        = string
  default     = ""

  validation {
    condition     = var.forward_url == "" || can(regex("^https://[^\\s]+$", var.forward_url))
    error_message = "forward_url must be empty or an https:// URL."
  }
}

variable "create_pull_subscription" {
  description = "Also create <prefix>-events-pull, a pull subscription on the events topic for your own consumers (BigQuery loaders, bots). Unread messages are kept 7 days."
  type        = bool
  default     = false
}

variable "build_service_account_email" {
  description = "Service account Cloud Build uses to build both functions. null (the default) creates <prefix>-build for it. Either way the account gets the build roles Google documents, each on the narrowest resource: logging.logWriter on the project, artifactregistry.writer on <prefix>-functions, storage.objectViewer on the Cloud Functions source bucket only (build.tf). The identity running Terraform needs iam.serviceAccounts.actAs on it (a project Owner has it)."
  type        = string
  default     = null
  nullable    = true

  validation {
    condition     = var.build_service_account_email == null || can(regex("^[a-z0-9-]+@[a-z0-9.-]+\\.iam\\.gserviceaccount\\.com$", var.build_service_account_email))
    error_message = "build_service_account_email must be null or a service account email ending in .iam.gserviceaccount.com."
  }
}
