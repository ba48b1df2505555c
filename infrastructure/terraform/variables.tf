variable "name" {
  description = "Name prefix for every resource."
  type        = string
  default     = "llm-inference"
}

variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "availability_zone" {
  description = "Availability zone for the subnet, the instance and the model volume (they must match). Empty: the region's first zone."
  type        = string
  default     = ""
}

variable "instance_type" {
  description = "GPU instance type: g5 (A10G 24 GB, default), g6/g6e (L4/L40S), p4d (A100) or p5/p5e/p5en (H100/H200)."
  type        = string
  default     = "g5.xlarge"

  validation {
    condition     = can(regex("^(g5|g6|g6e|p4d|p4de|p5|p5e|p5en)\\.[0-9]*x?large$", var.instance_type))
    error_message = "instance_type must be a GPU type of the g5, g6, g6e, p4d, p4de, p5, p5e or p5en families (e.g. g5.xlarge, p5.48xlarge)."
  }
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC."
  type        = string
  default     = "10.42.0.0/16"
}

variable "public_subnet_cidr" {
  description = "CIDR block of the public subnet (inside vpc_cidr)."
  type        = string
  default     = "10.42.1.0/24"
}

variable "ssh_key_name" {
  description = "Existing EC2 key pair for SSH. Empty: no key (use SSM Session Manager)."
  type        = string
  default     = ""
}

variable "ssh_allowed_cidrs" {
  description = "CIDRs allowed to reach SSH (22). Empty: SSH closed."
  type        = list(string)
  default     = []
}

variable "http_allowed_cidrs" {
  description = "CIDRs allowed to reach the API through nginx (80/443)."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "metrics_allowed_cidrs" {
  description = "CIDRs of Prometheus servers allowed to scrape the gateway directly on 8000."
  type        = list(string)
  default     = []
}

variable "root_volume_size_gb" {
  description = "Root volume size (OS, driver, Node, the service)."
  type        = number
  default     = 100
}

variable "models_volume_size_gb" {
  description = "Size of the separate EBS volume for model weights, mounted at /models."
  type        = number
  default     = 200

  validation {
    condition     = var.models_volume_size_gb >= 20
    error_message = "models_volume_size_gb must be at least 20."
  }
}

variable "models_volume_iops" {
  description = "gp3 IOPS of the models volume (3000..16000); loading weights is read-heavy."
  type        = number
  default     = 6000
}

variable "models_volume_throughput" {
  description = "gp3 throughput of the models volume in MiB/s (125..1000)."
  type        = number
  default     = 500
}

variable "models_s3_bucket" {
  description = "Optional S3 bucket holding model directories; the instance role may read it. Empty: no S3 access."
  type        = string
  default     = ""
}

variable "nvidia_driver_version" {
  description = "Ubuntu NVIDIA server driver branch installed by user data (nvidia-driver-<N>-server)."
  type        = string
  default     = "550"
}

variable "node_major_version" {
  description = "Node.js major version installed by user data."
  type        = number
  default     = 20
}

variable "app_repo_url" {
  description = "Git URL of this repository, cloned to /opt/llm-inference by user data."
  type        = string
}

variable "app_git_ref" {
  description = "Branch, tag or commit of the repository to deploy."
  type        = string
  default     = "main"
}

variable "model_dir_name" {
  description = "Directory under /models that MODEL_PATH points to."
  type        = string
  default     = "llama-3.2-3b-instruct"
}

variable "gpu_memory_utilization" {
  description = "Fraction of GPU memory the engine may use (GPU_MEMORY_UTILIZATION)."
  type        = number
  default     = 0.9
}

variable "max_model_length" {
  description = "Maximum sequence length (MAX_MODEL_LENGTH)."
  type        = number
  default     = 4096
}

variable "max_num_seqs" {
  description = "Maximum concurrent sequences in the engine (MAX_NUM_SEQS)."
  type        = number
  default     = 128
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}
