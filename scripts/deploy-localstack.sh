#!/bin/sh
# Deploys the app (target=localstack) to a running LocalStack with cdklocal.
# Start LocalStack and its Postgres first: docker compose -f docker-compose.localstack.yml up -d
#
#   DATABASE_URL   Postgres as LocalStack's Lambda containers reach it
#                  (default: the compose service, postgres://shop:shop@shop-postgres:5432/shop)
#   AWS_ENDPOINT_URL  LocalStack (default http://localhost.localstack.cloud:4566)
#   CONSOLE_ORIGIN    the web console's origin the API allows (CORS; default http://127.0.0.1:3001)
set -eu
: "${DATABASE_URL:=postgres://shop:shop@shop-postgres:5432/shop}"
: "${AWS_ENDPOINT_URL:=http://localhost.localstack.cloud:4566}"
: "${CONSOLE_ORIGIN:=http://127.0.0.1:3001}"
export AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_REGION="${AWS_REGION:-us-east-1}" AWS_DEFAULT_REGION="${AWS_REGION:-us-east-1}"

# The JWT authorizer trusts the same key that `npm run token` signs with.
jwk=$(node local/cli/public-key.ts)

cdklocal bootstrap -c target=localstack
cdklocal deploy --all -c target=localstack --require-approval never \
  --parameters "Shop-dev-Database:DatabaseUrl=$DATABASE_URL" \
  --parameters "Shop-dev-Services:DatabaseUrl=$DATABASE_URL" \
  --parameters "Shop-dev-Services:JwtPublicJwk=$jwk" \
  --parameters "Shop-dev-Services:ConsoleOrigin=$CONSOLE_ORIGIN" "$@"
