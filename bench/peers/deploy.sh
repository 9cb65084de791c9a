#!/usr/bin/env bash
# P2's peer (bench/deploy_metrics.ts): one deployment done by hand, the same git/nix/colmena
# work despacito's pipeline does (src/deploy/flake_step.ts lockArgv, src/deploy/git.ts
# commitLock, src/deploy/colmena.ts colmenaArgv) and nothing else: pin the input, commit
# flake.lock alone, activate.
#
#   deploy.sh FLAKE_DIR INPUT VERSION COLMENA [lock|update]
#
# The last argument follows despacito's choice for the nix it finds: `nix flake lock
# --update-input` before nix 2.19, `nix flake update INPUT` from 2.19 (default: lock).
set -euo pipefail
dir=$1 input=$2 version=$3 colmena=$4 how=${5:-lock}
cd "$dir"
export GIT_AUTHOR_NAME=despacito GIT_AUTHOR_EMAIL=despacito@localhost
export GIT_COMMITTER_NAME=despacito GIT_COMMITTER_EMAIL=despacito@localhost
features=(--extra-experimental-features "nix-command flakes")
if [ "$how" = update ]; then
  nix "${features[@]}" flake update "$input"
else
  nix "${features[@]}" flake lock --update-input "$input"
fi
git commit --no-verify --no-gpg-sign -q -m "deploy $input $version" -- flake.lock
"$colmena" apply switch
