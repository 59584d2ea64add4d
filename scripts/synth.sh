#!/bin/sh
# Synthesizes every stack for a target (default: aws) into cdk.out/, offline.
# Usage: npm run synth [-- -c target=local -c stage=prod]
set -eu
exec cdk synth --quiet --no-notices --no-version-reporting "$@"
