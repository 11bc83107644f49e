#!/usr/bin/env bash
# One step of the release flow — login, build, push, sign, scan, attest, promote — driven by
# DOCKYARD_* environment variables. The GitHub Action (action.yml) and the GitLab CI template
# (ci/gitlab/dockyard.gitlab-ci.yml) both run it, so the two behave the same.
#
#   dockyard-ci.sh STEP          STEP: login | build | push | sign | scan | attest | promote
#
# Outputs (imageid, digest, image, metadata, sarif) are written as name=value lines to
# $GITHUB_OUTPUT when it is set (GitHub's step outputs) and to $DOCKYARD_OUTPUT_ENV when it is
# set (a dotenv file: GitLab's `artifacts: reports: dotenv`, or the next step's input). Later
# steps read what earlier ones wrote from DOCKYARD_IMAGE (a pinned repo@digest reference), or
# act on DOCKYARD_GIVEN_IMAGE, an image pushed earlier.
#
# Lists follow docker/build-push-action: DOCKYARD_TAGS and DOCKYARD_PLATFORMS are separated by
# newlines or commas; DOCKYARD_BUILD_ARGS and DOCKYARD_LABELS by newlines only (values may hold
# commas).
set -euo pipefail

DOCKYARD=${DOCKYARD:-dockyard}

die() {
    printf 'dockyard-ci: %s\n' "$*" >&2
    exit 1
}

# Items of a list input, one per line, blanks and surrounding spaces dropped.
# $1: the value; $2: "comma" to split on commas as well as newlines.
items() {
    local value=$1
    if [ "${2:-}" = comma ]; then
        value=${value//,/$'\n'}
    fi
    while IFS= read -r line; do
        line="${line#"${line%%[![:space:]]*}"}"
        line="${line%"${line##*[![:space:]]}"}"
        [ -n "$line" ] && printf '%s\n' "$line"
    done <<<"$value"
}

output() {
    local name=$1 value=$2
    case $value in *$'\n'*) die "output $name has a newline: not supported" ;; esac
    if [ -n "${GITHUB_OUTPUT:-}" ]; then
        printf '%s=%s\n' "$name" "$value" >>"$GITHUB_OUTPUT"
    fi
    if [ -n "${DOCKYARD_OUTPUT_ENV:-}" ]; then
        printf 'DOCKYARD_%s=%s\n' "$(printf '%s' "$name" | tr '[:lower:]-' '[:upper:]_')" \
            "$value" >>"$DOCKYARD_OUTPUT_ENV"
    fi
    printf '%s=%s\n' "$name" "$value"
}

truthy() {
    case ${1:-} in true | True | TRUE | 1 | yes) return 0 ;; *) return 1 ;; esac
}

first_tag() {
    local tag
    tag=$(items "${DOCKYARD_TAGS:-}" comma | head -n 1)
    [ -n "$tag" ] || die "no tags: set the tags input (e.g. registry.example/team/app:1.2.3)"
    printf '%s\n' "$tag"
}

# The repository of a reference: everything before its @digest or its last :tag.
repository_of() {
    local ref=${1%%@*} last
    last=${ref##*/}
    case $last in *:*) ref=${ref%:*} ;; esac
    printf '%s\n' "$ref"
}

# The image later steps act on: the one the push step pushed, else the one given.
pinned_image() {
    local image=${DOCKYARD_IMAGE:-${DOCKYARD_GIVEN_IMAGE:-}}
    [ -n "$image" ] ||
        die "no pushed image: push first, or give the image input (repo@sha256:…)"
    case $image in *@sha256:*) ;; *) die "image $image is not pinned by digest (repo@sha256:…)" ;; esac
    printf '%s\n' "$image"
}

step_login() {
    [ -n "${DOCKYARD_REGISTRY:-}" ] || die "login: set the registry input"
    [ -n "${DOCKYARD_USERNAME:-}" ] || die "login: set the username input"
    [ -n "${DOCKYARD_PASSWORD:-}" ] || die "login: set the password input (a secret)"
    local args=(login --username "$DOCKYARD_USERNAME" --password-stdin)
    truthy "${DOCKYARD_INSECURE:-}" && args+=(--insecure)
    printf '%s' "$DOCKYARD_PASSWORD" | "$DOCKYARD" "${args[@]}" "$DOCKYARD_REGISTRY"
}

step_build() {
    local context=${DOCKYARD_CONTEXT:-.} iidfile args=(build --progress plain)
    iidfile=$(mktemp)
    trap 'rm -f "$iidfile"' RETURN
    [ -n "${DOCKYARD_FILE:-}" ] && args+=(--file "$DOCKYARD_FILE")
    while IFS= read -r tag; do args+=(--tag "$tag"); done < <(items "${DOCKYARD_TAGS:-}" comma)
    while IFS= read -r arg; do args+=(--build-arg "$arg"); done < <(items "${DOCKYARD_BUILD_ARGS:-}")
    while IFS= read -r label; do args+=(--label "$label"); done < <(items "${DOCKYARD_LABELS:-}")
    while IFS= read -r platform; do
        args+=(--platform "$platform")
    done < <(items "${DOCKYARD_PLATFORMS:-}" comma)
    [ -n "${DOCKYARD_TARGET:-}" ] && args+=(--target "$DOCKYARD_TARGET")
    "$DOCKYARD" "${args[@]}" --iidfile "$iidfile" "$context"
    output imageid "$(cat "$iidfile")"
}

step_push() {
    local tag digest="" pushed names=()
    while IFS= read -r tag; do
        pushed=$("$DOCKYARD" push --quiet "$tag")
        [ -z "$digest" ] && digest=$pushed
        [ "$pushed" = "$digest" ] ||
            die "push: $tag was pushed as $pushed but the first tag as $digest"
        names+=("$tag")
    done < <(items "${DOCKYARD_TAGS:-}" comma)
    [ -n "$digest" ] || die "push: no tags to push: set the tags input"
    local first image name_list
    first=${names[0]}
    image="$(repository_of "$first")@$digest"
    name_list=$(IFS=,; printf '%s' "${names[*]}")
    output digest "$digest"
    output image "$image"
    output metadata "$(printf '{"containerimage.digest":"%s","image.name":"%s"}' \
        "$digest" "$name_list")"
}

step_sign() {
    [ -n "${DOCKYARD_SIGN_KEY:-}" ] || die "sign: set the sign-key input (a cosign key file)"
    "$DOCKYARD" sign --key "$DOCKYARD_SIGN_KEY" "$(pinned_image)"
}

step_scan() {
    local sarif=${DOCKYARD_SARIF:-dockyard-scan.sarif} target args
    target=${DOCKYARD_IMAGE:-${DOCKYARD_GIVEN_IMAGE:-$(first_tag)}}
    args=(scan --format sarif --output "$sarif")
    [ -n "${DOCKYARD_SCAN_SEVERITY:-}" ] && args+=(--severity "$DOCKYARD_SCAN_SEVERITY")
    [ -n "${DOCKYARD_SCAN_EXIT_CODE:-}" ] && args+=(--exit-code "$DOCKYARD_SCAN_EXIT_CODE")
    "$DOCKYARD" "${args[@]}" "$target"
    output sarif "$sarif"
}

step_attest() {
    [ -n "${DOCKYARD_ATTEST_PREDICATE:-}" ] || die "attest: set the attest-predicate input"
    [ -n "${DOCKYARD_ATTEST_TYPE:-}" ] || die "attest: set the attest-type input"
    [ -n "${DOCKYARD_SIGN_KEY:-}" ] || die "attest: set the sign-key input"
    "$DOCKYARD" attest --predicate "$DOCKYARD_ATTEST_PREDICATE" --type "$DOCKYARD_ATTEST_TYPE" \
        --key "$DOCKYARD_SIGN_KEY" "$(pinned_image)"
}

step_promote() {
    [ -n "${DOCKYARD_PROMOTE_TAG:-}" ] || die "promote: set the promote-tag input (e.g. prod)"
    local args=(promote) key
    while IFS= read -r key; do
        args+=(--require-signature "$key")
    done < <(items "${DOCKYARD_REQUIRE_SIGNATURE:-}")
    [ -n "${DOCKYARD_REQUIRE_SCAN:-}" ] && args+=(--require-scan "$DOCKYARD_REQUIRE_SCAN")
    [ -n "${DOCKYARD_REQUIRE_ATTESTATION:-}" ] &&
        args+=(--require-attestation "$DOCKYARD_REQUIRE_ATTESTATION")
    "$DOCKYARD" "${args[@]}" "$(pinned_image)" "$DOCKYARD_PROMOTE_TAG"
}

case ${1:-} in
login | build | push | sign | scan | attest | promote) "step_$1" ;;
*) die "usage: dockyard-ci.sh login|build|push|sign|scan|attest|promote" ;;
esac
