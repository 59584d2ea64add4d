#!/bin/sh
# Deploys the app (target=localstack) to a running LocalStack Community 4.14.0 with cdklocal, then
# applies the database migrations (custom resources are Pro-only there, so the deploy command invokes
# the migration function itself). No auth token, no manual step.
# Start LocalStack and its Postgres first: docker compose -f docker-compose.localstack.yml up -d
#
#   LOCALSTACK_ENDPOINT  LocalStack's edge URL (default http://127.0.0.1:4566; see localstack-env.sh)
#   DATABASE_URL         Postgres as LocalStack's Lambda containers reach it
#                        (default: the compose service, postgres://shop:shop@shop-postgres:5432/shop)
#   DATABASE_READER_URL  a read replica of it, if you run one (default: empty, reads go to DATABASE_URL)
#   REPLICATION_MODEL    the replica lag model you apply, for the lab's PBS predictions (default: empty, unknown)
#   STAGE                dev (default) or prod
#   CONSOLE_ORIGIN       the web console's origin the API allows (CORS; default http://127.0.0.1:3001)
#   Extra arguments go to `cdklocal deploy`, e.g. -c architecture=arm64.
set -eu
: "${DATABASE_URL:=postgres://shop:shop@shop-postgres:5432/shop}"
: "${STAGE:=dev}"
: "${CONSOLE_ORIGIN:=http://127.0.0.1:3001}"

. "$(dirname "$0")/localstack-env.sh"

# The functions verify tokens with the same key that `npm run token` signs with.
jwk=$(node local/cli/public-key.ts)
prefix="Shop-$STAGE"

cdklocal bootstrap -c target=localstack -c stage="$STAGE"
cdklocal deploy --all -c target=localstack -c stage="$STAGE" --require-approval never \
  --parameters "$prefix-Database:DatabaseUrl=$DATABASE_URL" \
  --parameters "$prefix-Services:DatabaseUrl=$DATABASE_URL" \
  --parameters "$prefix-Services:JwtPublicJwk=$jwk" \
  --parameters "$prefix-Services:ConsoleOrigin=$CONSOLE_ORIGIN" \
  --parameters "$prefix-Services:DatabaseReaderUrl=${DATABASE_READER_URL:-}" \
  --parameters "$prefix-Services:ReplicationModel=${REPLICATION_MODEL:-}" "$@"

# What the Custom::DatabaseMigrations resource does on AWS and in the local cloud.
node scripts/migrate-deployed.ts --stack "$prefix-Database"
