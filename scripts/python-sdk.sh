#!/usr/bin/env bash
# Makes a Python venv with the real auth0-server-python SDK, for the interoperability tests.
#
#   export AUTH0_PYTHON_SDK="$(scripts/python-sdk.sh | tail -n 1)"   # the venv's python
#
# Idempotent. PYTHON (default: python3.11, else python3) makes the venv.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/target/python-sdk-venv"
py="$venv/bin/python"

if [[ -x "$py" ]] && "$py" -c 'import auth0_server_python.encryption' 2>/dev/null; then
    echo "$py"
    exit 0
fi

base="${PYTHON:-$(command -v python3.11 || command -v python3 || true)}"
if [[ -z "$base" ]]; then
    echo "python-sdk.sh: no python3.11 or python3 found; set PYTHON=/path/to/python3" >&2
    exit 1
fi

echo "python-sdk.sh: creating $venv with $base and installing auth0-server-python" >&2
# --clear: a half-made venv from an interrupted run is started again, not patched.
"$base" -m venv --clear "$venv"
"$py" -m pip install --quiet --disable-pip-version-check --pre auth0-server-python >&2
"$py" -c 'import auth0_server_python.encryption' >&2
echo "$py"
