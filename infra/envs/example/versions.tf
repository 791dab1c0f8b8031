terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
  }

  # Keep state remote and locked in real use, e.g.:
  # backend "s3" {
  #   bucket       = "my-terraform-state"
  #   key          = "dynamodb-dr/prod.tfstate"
  #   region       = "eu-west-1"
  #   use_lockfile = true
  # }
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = merge(var.tags, {
      Project     = "dynamodb-dr"
      Environment = var.environment
    })
  }
}

# The DR region (var.dr_region). Without one it points at the primary region and nothing uses it.
provider "aws" {
  alias  = "dr"
  region = coalesce(var.dr_region, var.aws_region)

  default_tags {
    tags = merge(var.tags, {
      Project     = "dynamodb-dr"
      Environment = var.environment
    })
  }
}
