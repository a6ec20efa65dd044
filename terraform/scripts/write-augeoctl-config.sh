#!/usr/bin/env bash
# Write [environments.ENV] of the augeoctl config file from the outputs of envs/ENV
# (output "augeoctl_environment"). Extra arguments go to augeoctl, e.g. --dry-run or
# --config PATH. Needs `terraform init` done in envs/ENV and read access to its state.
set -euo pipefail

usage() {
  echo "usage: $(basename "$0") ENV [augeoctl options, e.g. --dry-run --config PATH]" >&2
  echo "  ENV: one of the folders under terraform/envs (dev, staging, prod)" >&2
  exit 2
}

[[ $# -ge 1 && "$1" != -* ]] || usage
env_name="$1"
shift

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[[ -d "$root/envs/$env_name" ]] || { echo "no environment folder $root/envs/$env_name" >&2; usage; }

terraform -chdir="$root/envs/$env_name" output -json \
  | augeoctl config from-terraform --name "$env_name" --input - "$@"
