# One AWS GPU host running the whole stack behind nginx: gateway + native engine (systemd
# llm-api.service), Postgres, Redis. Model weights live on a separate EBS volume at /models so
# the instance can be replaced without downloading them again.

data "aws_availability_zones" "available" {
  state = "available"
}

# Ubuntu 22.04 LTS (Canonical); user data installs the NVIDIA driver.
data "aws_ami" "ubuntu" {
  most_recent = true
  owners      = ["099720109477"]

  filter {
    name   = "name"
    values = ["ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"]
  }

  filter {
    name   = "virtualization-type"
    values = ["hvm"]
  }
}

locals {
  az = var.availability_zone != "" ? var.availability_zone : data.aws_availability_zones.available.names[0]
}

# ---------------------------------------------------------------- network

resource "aws_vpc" "main" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = { Name = "${var.name}-vpc" }
}

resource "aws_internet_gateway" "main" {
  vpc_id = aws_vpc.main.id

  tags = { Name = "${var.name}-igw" }
}

resource "aws_subnet" "public" {
  vpc_id                  = aws_vpc.main.id
  cidr_block              = var.public_subnet_cidr
  availability_zone       = local.az
  map_public_ip_on_launch = true

  tags = { Name = "${var.name}-public" }
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.main.id

  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.main.id
  }

  tags = { Name = "${var.name}-public" }
}

resource "aws_route_table_association" "public" {
  subnet_id      = aws_subnet.public.id
  route_table_id = aws_route_table.public.id
}

resource "aws_security_group" "api" {
  name        = "${var.name}-api"
  description = "llm-inference: HTTP(S) via nginx, optional SSH and direct metrics scraping"
  vpc_id      = aws_vpc.main.id

  tags = { Name = "${var.name}-api" }
}

resource "aws_vpc_security_group_ingress_rule" "http" {
  for_each = toset(var.http_allowed_cidrs)

  security_group_id = aws_security_group.api.id
  description       = "HTTP (nginx)"
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
}

resource "aws_vpc_security_group_ingress_rule" "https" {
  for_each = toset(var.http_allowed_cidrs)

  security_group_id = aws_security_group.api.id
  description       = "HTTPS (nginx)"
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_ingress_rule" "ssh" {
  for_each = toset(var.ssh_allowed_cidrs)

  security_group_id = aws_security_group.api.id
  description       = "SSH"
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
}

resource "aws_vpc_security_group_ingress_rule" "metrics" {
  for_each = toset(var.metrics_allowed_cidrs)

  security_group_id = aws_security_group.api.id
  description       = "Prometheus scraping /metrics on the gateway port"
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 8000
  to_port           = 8000
}

resource "aws_vpc_security_group_egress_rule" "all" {
  security_group_id = aws_security_group.api.id
  description       = "Outbound (packages, model downloads, S3)"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "-1"
}

# ---------------------------------------------------------------- IAM

data "aws_iam_policy_document" "ec2_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "instance" {
  name               = "${var.name}-instance"
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json
}

# Session Manager shell (no SSH needed) and CloudWatch agent.
resource "aws_iam_role_policy_attachment" "ssm" {
  role       = aws_iam_role.instance.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_role_policy_attachment" "cloudwatch" {
  role       = aws_iam_role.instance.name
  policy_arn = "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"
}

data "aws_iam_policy_document" "models_read" {
  count = var.models_s3_bucket != "" ? 1 : 0

  statement {
    actions   = ["s3:ListBucket"]
    resources = ["arn:aws:s3:::${var.models_s3_bucket}"]
  }

  statement {
    actions   = ["s3:GetObject"]
    resources = ["arn:aws:s3:::${var.models_s3_bucket}/*"]
  }
}

resource "aws_iam_role_policy" "models_read" {
  count = var.models_s3_bucket != "" ? 1 : 0

  name   = "${var.name}-models-read"
  role   = aws_iam_role.instance.id
  policy = data.aws_iam_policy_document.models_read[0].json
}

resource "aws_iam_instance_profile" "instance" {
  name = "${var.name}-instance"
  role = aws_iam_role.instance.name
}

# ---------------------------------------------------------------- storage for models

resource "aws_ebs_volume" "models" {
  availability_zone = local.az
  size              = var.models_volume_size_gb
  type              = "gp3"
  iops              = var.models_volume_iops
  throughput        = var.models_volume_throughput
  encrypted         = true

  tags = { Name = "${var.name}-models" }
}

resource "aws_volume_attachment" "models" {
  device_name = "/dev/sdf"
  volume_id   = aws_ebs_volume.models.id
  instance_id = aws_instance.gpu.id
}

# ---------------------------------------------------------------- the GPU host

resource "aws_instance" "gpu" {
  ami                    = data.aws_ami.ubuntu.id
  instance_type          = var.instance_type
  subnet_id              = aws_subnet.public.id
  vpc_security_group_ids = [aws_security_group.api.id]
  iam_instance_profile   = aws_iam_instance_profile.instance.name
  key_name               = var.ssh_key_name != "" ? var.ssh_key_name : null

  user_data = templatefile("${path.module}/user_data.sh.tftpl", {
    models_volume_id       = aws_ebs_volume.models.id
    nvidia_driver_version  = var.nvidia_driver_version
    node_major_version     = var.node_major_version
    app_repo_url           = var.app_repo_url
    app_git_ref            = var.app_git_ref
    model_dir_name         = var.model_dir_name
    gpu_memory_utilization = var.gpu_memory_utilization
    max_model_length       = var.max_model_length
    max_num_seqs           = var.max_num_seqs
  })
  user_data_replace_on_change = false

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_size           = var.root_volume_size_gb
    volume_type           = "gp3"
    encrypted             = true
    delete_on_termination = true
  }

  tags = { Name = "${var.name}-gpu" }

  lifecycle {
    ignore_changes = [ami]
  }
}
