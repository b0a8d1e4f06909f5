"""Times auth0-server-python reading the session cookie the Rust bench wrote.

Usage: python scripts/bench_python_read.py COOKIE_FILE SECRET_FILE [RESULT_JSON]
  e.g. python scripts/bench_python_read.py target/bench/session-cookie.txt \
         target/bench/session-cookie.secret target/bench/results/python_cookie_read.json

What is timed is what the Python SDK does on each request with a cookie session: its own
`encryption.decrypt` and validating the result as its pydantic `StateData`. Prints one line,
`python_read_us <median microseconds per read>`, and writes it to RESULT_JSON when given.
"""

import json
import platform
import statistics
import sys
import time

from auth0_server_python.auth_types import StateData
from auth0_server_python.encryption import decrypt


def main() -> int:
    token = open(sys.argv[1], encoding="ascii").read().strip()
    secret = open(sys.argv[2], encoding="utf-8").read().strip()

    def read():
        return StateData.model_validate(decrypt(token, secret, "_a0_session"))

    read()  # warm up, and check it opens
    samples = []
    for _ in range(30):
        n = 200
        start = time.perf_counter()
        for _ in range(n):
            read()
        samples.append((time.perf_counter() - start) / n * 1e6)
    median = statistics.median(samples)
    print(f"python_read_us {median:.1f}")
    if len(sys.argv) > 3:
        import auth0_server_python

        result = {
            "comparison": "python_cookie_read",
            "python_read_us": median,
            "rounds": len(samples),
            "reads_per_round": 200,
            "python": platform.python_version(),
            "sdk": getattr(auth0_server_python, "__version__", None),
        }
        with open(sys.argv[3], "w", encoding="utf-8") as out:
            json.dump(result, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
