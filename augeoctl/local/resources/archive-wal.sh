#!/bin/sh
# written by augeoctl: archive_command of the sandbox (args: %p %f ARCHIVE_DIR)
# The segment is copied under a temporary name, synced, then linked under its real name,
# so a crash never leaves a half-written segment behind. An existing file with the same
# content is accepted (PostgreSQL retries an archive after a crash); one with different
# content is refused, so PostgreSQL keeps the segment and reports the failure.
# A shell script rather than Python: PostgreSQL runs it as the service user, who need
# not be able to import augeoctl.
set -u
src="$1"; name="$2"; dir="$3"
dest="$dir/$name"
if [ -e "$dest" ]; then
    if cmp -s "$src" "$dest"; then exit 0; fi
    echo "archive-wal: $dest exists with different content; refusing to overwrite" >&2
    exit 1
fi
tmp="$dir/.$name.$$.tmp"
cp "$src" "$tmp" && sync "$tmp" && ln "$tmp" "$dest" && rm -f "$tmp" && sync "$dir" && exit 0
rm -f "$tmp"
exit 1
