"""Runs auth0-server-python's own encrypt/decrypt for tests/python_sdk.rs.

Usage: python -I -X utf8 sdk.py encrypt|decrypt|model

Inputs come from the environment and stdin, never from code built by the caller:
  AUTH0_TEST_SECRET  the secret, as AUTH0_SECRET holds it
  AUTH0_TEST_SALT    the salt: the identifier (cookie name), e.g. _a0_session
  stdin              encrypt: the JSON payload; decrypt: the token
Output on stdout:
  encrypt: the token; decrypt: json.dumps of what decrypt returned;
  model: stdin validated as the SDK's pydantic StateData, then model_dump(mode="json")
Exit status:
  0 done; 3 decrypt raised, i.e. the SDK refused the token (the exception is on stderr);
  anything else: this helper failed (bad usage, SDK not installed, ...), which is not a refusal.
"""

import json
import os
import sys

from auth0_server_python.encryption import decrypt, encrypt

REFUSED = 3


def main() -> int:
    command = sys.argv[1] if len(sys.argv) == 2 else ""
    if command == "model":
        from auth0_server_python.auth_types import StateData

        state = StateData.model_validate(json.loads(sys.stdin.buffer.read().decode("utf-8")))
        print(json.dumps(state.model_dump(mode="json")))
        return 0
    if command not in ("encrypt", "decrypt"):
        print(__doc__, file=sys.stderr)
        return 2
    secret = os.environ["AUTH0_TEST_SECRET"]
    salt = os.environ["AUTH0_TEST_SALT"]
    data = sys.stdin.buffer.read().decode("utf-8")
    if command == "encrypt":
        print(encrypt(json.loads(data), secret, salt))
        return 0
    try:
        payload = decrypt(data.strip(), secret, salt)
    except Exception as error:  # noqa: BLE001 - any exception is the SDK refusing the token
        kind = type(error)
        print(f"refused: {kind.__module__}.{kind.__qualname__}: {error}", file=sys.stderr)
        return REFUSED
    print(json.dumps(payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
