# Sourced by deploy-localstack.sh and `npm run destroy:localstack`: what cdklocal (aws-cdk-local 3.x)
# and the AWS SDK need to reach LocalStack.
#
#   LOCALSTACK_ENDPOINT  LocalStack's edge URL (default http://127.0.0.1:4566: works offline, where
#                        cdklocal's default localhost.localstack.cloud does not resolve)
: "${LOCALSTACK_ENDPOINT:=http://127.0.0.1:4566}"
# aws-cdk-local 3.x refuses AWS_ENDPOINT_URL without AWS_ENDPOINT_URL_S3, and by default uses
# virtual-hosted S3 on s3.localhost.localstack.cloud: give it both, with path-style S3 on the same host.
export AWS_ENDPOINT_URL="$LOCALSTACK_ENDPOINT" AWS_ENDPOINT_URL_S3="$LOCALSTACK_ENDPOINT"
export AWS_S3_FORCE_PATH_STYLE=true
# cdklocal drops every other AWS_* variable unless this list names it.
export AWS_ENVAR_ALLOWLIST="AWS_REGION,AWS_DEFAULT_REGION,AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY,AWS_S3_FORCE_PATH_STYLE"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_DEFAULT_REGION="$AWS_REGION"
