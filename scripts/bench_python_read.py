"""Times auth0-server-python reading the session cookie the Rust bench wrote.

Usage: python scripts/bench_python_read.py target/bench/session-cookie.txt target/bench/session-cookie.secret

What is timed is what the Python SDK does on each request with a cookie session: its own
`encryption.decrypt` and validating the result as its pydantic `StateData`. Prints one line:
`python_read_us <median microseconds per read>`.
"""

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
    print(f"python_read_us {statistics.median(samples):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
