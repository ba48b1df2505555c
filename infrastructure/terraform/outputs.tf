output "instance_id" {
  description = "EC2 instance id (aws ssm start-session --target <id>)."
  value       = aws_instance.gpu.id
}

output "public_ip" {
  description = "Public IP of the GPU host."
  value       = aws_instance.gpu.public_ip
}

output "public_dns" {
  description = "Public DNS name of the GPU host."
  value       = aws_instance.gpu.public_dns
}

output "api_url" {
  description = "Base URL of the OpenAI-compatible API (through nginx)."
  value       = "http://${aws_instance.gpu.public_dns}/v1"
}

output "ssh_command" {
  description = "SSH command (only when ssh_key_name and ssh_allowed_cidrs are set)."
  value       = var.ssh_key_name != "" ? "ssh -i ${var.ssh_key_name}.pem ubuntu@${aws_instance.gpu.public_ip}" : "aws ssm start-session --target ${aws_instance.gpu.id}"
}

output "models_volume_id" {
  description = "EBS volume holding /models (survives instance replacement)."
  value       = aws_ebs_volume.models.id
}

output "security_group_id" {
  description = "Security group of the GPU host."
  value       = aws_security_group.api.id
}

output "vpc_id" {
  description = "VPC id."
  value       = aws_vpc.main.id
}
