# GoTrue on Bun as one self-contained binary (`bun run build`: migrations, mail templates and the Swagger UI
# files are embedded) in a small runtime image. See README.md, "Single binary and Docker".
#   docker build -t gotrue-bun .
#   docker run -p 8081:8081 -v gotrue-data:/data -e GOTRUE_SITE_URL=https://example.com gotrue-bun

# --- build: dependencies from the lockfile, then `bun build --compile` for this platform ---
FROM oven/bun:1.4.5 AS build
WORKDIR /src
COPY package.json bun.lock bunfig.toml ./
RUN bun install --frozen-lockfile --production
COPY . .
RUN bun run build && mkdir -p /out/data

# --- runtime: glibc, CA certificates and tzdata, no shell, no package manager; runs as uid 65532 ---
FROM gcr.io/distroless/base-debian12:nonroot
COPY --from=build /src/dist/gotrue /gotrue
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
WORKDIR /data
# SQLite on the volume; the JWT secret is generated into /data/jwt-secret on first start unless
# GOTRUE_JWT_SECRET is set; without GOTRUE_SMTP_HOST mails are written to /data/outbox.
# Migrations are applied on start (idempotent, recorded in schema_migrations); with several MySQL replicas set
# GOTRUE_DB_AUTOMIGRATE=false and run `docker run --rm … migrate` once per release instead.
ENV GOTRUE_DB_DRIVER=sqlite \
    DATABASE_URL=/data/gotrue.db \
    GOTRUE_SMTP_OUTBOX_DIR=/data/outbox \
    GOTRUE_DB_AUTOMIGRATE=true
VOLUME ["/data"]
EXPOSE 8081
# The image has no shell or curl: the binary probes its own GET /health/ready (database up, migrations applied).
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 CMD ["/gotrue", "healthcheck"]
ENTRYPOINT ["/gotrue"]
CMD ["serve"]
