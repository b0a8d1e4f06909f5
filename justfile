# The commands a contributor types. `just --list` shows them.
# `just` is not packaged in Debian 12: `pip install rust-just` or `cargo install --locked just`.
# Nothing here is needed to test the project: ./scripts/test does it all without `just`.

# List the recipes.
default:
    @just --list --unsorted

# Run the quickstart on http://localhost:5000 (a local dev tenant unless AUTH0_DOMAIN is set).
run:
    cargo run -p quickstart

# Run the tests (with Docker, the Redis and PostgreSQL tests use docker-compose.yml's services).
test:
    cargo test --workspace

# Run everything CI runs: format check, clippy, the Python SDK venv and all tests.
ci:
    ./scripts/test

# Run the Redis and PostgreSQL conformance suites on docker-compose.yml's services, as CI's last stage does.
test-containers:
    ./scripts/test containers

# Format the code.
fmt:
    cargo fmt --all

# Lint every target; warnings are errors, as in CI.
lint:
    cargo clippy --workspace --all-targets -- -D warnings

# Fuzz every target (or those named) for a bounded time each, e.g. `just fuzz 300 id_token`.
fuzz seconds="60" *targets="":
    ./scripts/fuzz run {{seconds}} {{targets}}

# Run the benchmarks and print the numbers docs/benchmarks.md reports.
bench:
    ./scripts/bench

# Start Redis and PostgreSQL in Docker (docker-compose.yml); the store tests then use them.
services-up:
    docker compose up -d --wait

# Stop the Docker services.
services-down:
    docker compose down

# Print a new random secret for AUTH0_SECRET.
secret:
    cargo run -q -p auth0-server-cli -- secret
