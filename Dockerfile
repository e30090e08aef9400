# azemu in a container: a multi-stage build, listening on 0.0.0.0:8443 inside the container,
# state and the local CA in the /data volume (mount it to keep the CA clients trust across
# restarts).
#
#   docker build -t azemu .
#   docker run --rm -p 127.0.0.1:8443:8443 -v azemu-data:/data azemu
#   docker cp <container>:/data/ca.pem ./azemu-ca.pem      # the CA to trust
#
# Publish the port on loopback only (127.0.0.1:8443:8443), never on every interface: the
# control API (/_azemu/: state with cluster keys, faults, resets) and the IMDS-style endpoint
# answer without authentication, and the token service signs tokens for any client.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock rustfmt.toml ./
COPY src ./src
COPY api-specs ./api-specs
RUN cargo build --release --locked && strip target/release/azemu

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/azemu /usr/local/bin/azemu
VOLUME /data
EXPOSE 8443
ENV AZEMU_HOST=0.0.0.0 AZEMU_PORT=8443 AZEMU_DATA_DIR=/data
ENTRYPOINT ["azemu"]
CMD ["serve", "--tls-san", "host.docker.internal"]
