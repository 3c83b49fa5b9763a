# One image with the three binaries: `migrate` (run once per release, before the rest), `api`
# and `worker`. Builds without a database: queries are checked against the committed .sqlx/
# data, and migrations/ is embedded into the binaries.
#
# The base images are build arguments, so that a registry mirror (or images built where no
# registry answers, as `cargo xtask compose-test` does) takes their place without an edit:
#   docker build --build-arg RUST_IMAGE=mirror.example.com/rust:1.95-slim-bookworm \
#                --build-arg RUNTIME_IMAGE=mirror.example.com/debian:bookworm-slim \
#                --build-arg GIT_COMMIT="$(git rev-parse HEAD)" .
ARG RUST_IMAGE=rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUST_IMAGE} AS build
WORKDIR /src
ENV SQLX_OFFLINE=true
# The commit the audit trail records with every run (.git stays out of the build context).
ARG GIT_COMMIT=unknown
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --package app --bins \
    && mkdir /out && cp target/release/migrate target/release/api target/release/worker /out/

FROM ${RUNTIME_IMAGE}
# A fixed, numeric user: Kubernetes' runAsNonRoot can check it.
RUN useradd --system --uid 10001 --no-create-home app
COPY --from=build /out/ /usr/local/bin/
USER 10001
EXPOSE 8080 8081
# The binaries handle SIGTERM themselves, also as PID 1: `docker stop` stops them at once.
CMD ["api", "--listen", "0.0.0.0:8080"]
