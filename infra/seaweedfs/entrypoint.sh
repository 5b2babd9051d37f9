#!/bin/sh
# Starts SeaweedFS (master, volume, filer and the S3 gateway) with one S3 identity for LogoForge.
# The identities file has to hold the keys, and keys never live in the repository: s3.template.json
# beside this script is rendered from the environment into a file only this container can read.
set -eu

: "${S3_ACCESS_KEY:?S3_ACCESS_KEY is required}"
: "${S3_SECRET_KEY:?S3_SECRET_KEY is required}"
# The keys are pasted into JSON strings: refuse the two characters that would need escaping.
case "$S3_ACCESS_KEY$S3_SECRET_KEY" in
  *'"'* | *'\'*) echo 'S3_ACCESS_KEY and S3_SECRET_KEY must not contain " or \' >&2; exit 64 ;;
esac

here=$(dirname "$0")
config=${S3_CONFIG_PATH:-/tmp/s3.json}
umask 077
# Literal replacement (no regex, no sed delimiters) so any other character in a key is safe.
awk '
  function replace(line, token, value,   out, at) {
    out = ""
    while ((at = index(line, token)) > 0) {
      out = out substr(line, 1, at - 1) value
      line = substr(line, at + length(token))
    }
    return out line
  }
  {
    line = replace($0, "${S3_ACCESS_KEY}", ENVIRON["S3_ACCESS_KEY"])
    print replace(line, "${S3_SECRET_KEY}", ENVIRON["S3_SECRET_KEY"])
  }
' "$here/s3.template.json" > "$config"

exec weed server -dir="${SEAWEEDFS_DIR:-/data}" -ip.bind=0.0.0.0 \
  -s3 -s3.port=8333 -s3.config="$config" "$@"
