# One image with the three binaries: `migrate` (run once per release, before the rest), `api`
# and `worker`. Builds without a database: queries are checked against the committed .sqlx/
# data, and migrations/ is embedded into the binaries.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
ENV SQLX_OFFLINE=true
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --package app --bins \
    && mkdir /out && cp target/release/migrate target/release/api target/release/worker /out/

FROM debian:bookworm-slim
RUN useradd --system --no-create-home app
COPY --from=build /out/ /usr/local/bin/
USER app
EXPOSE 8080
CMD ["api", "--listen", "0.0.0.0:8080"]
