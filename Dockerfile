# The podsec webhook image: a static-enough binary on a distroless, non-root base.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN rustup target add wasm32-unknown-unknown && cargo build --release -p podsec

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/podsec /usr/local/bin/podsec
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/podsec"]
CMD ["serve", "--tls-cert=/tls/tls.crt", "--tls-key=/tls/tls.key"]
