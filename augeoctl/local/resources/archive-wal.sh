#!/bin/sh
# written by augeoctl: archive_command of the sandbox (args: %p %f ARCHIVE_DIR [PG_WALDUMP])
# The segment is copied under a temporary name, synced, then linked under its real name,
# so a crash never leaves a half-written segment behind. An existing file with the same
# content is accepted (PostgreSQL retries an archive after a crash); one with different
# content is refused, so PostgreSQL keeps the segment and reports the failure.
# A shell script rather than Python: PostgreSQL runs it as the service user, who need
# not be able to import augeoctl.
#
# With PG_WALDUMP given, the archived segment is then indexed in the background (the
# archiver does not wait): pg_waldump reads it together with the segment before it, so
# a record crossing into it is read whole, and the index entry ARCHIVE_DIR/.index/NAME
# keeps the segment's size and mtime, pg_waldump's exit code and last error line, and
# the first and last transaction end of every 1 MiB of WAL. augeoctl uses an entry only
# while the segment's size and mtime still match, and reads a segment itself when its
# entry is missing, stale or reports an error; so a lost or late entry costs time only.
set -u
src="$1"; name="$2"; dir="$3"; waldump="${4:-}"
dest="$dir/$name"
if [ -e "$dest" ]; then
    if cmp -s "$src" "$dest"; then exit 0; fi
    echo "archive-wal: $dest exists with different content; refusing to overwrite" >&2
    exit 1
fi
tmp="$dir/.$name.$$.tmp"
if ! { cp "$src" "$tmp" && sync "$tmp" && ln "$tmp" "$dest" && rm -f "$tmp" && sync "$dir"; }; then
    rm -f "$tmp"
    exit 1
fi

index_segment() {
    tli=$(echo "$name" | cut -c1-8); log=$(echo "$name" | cut -c9-16); seg=$(echo "$name" | cut -c17-24)
    if [ "$((0x$seg))" -gt 0 ]; then
        prev="$tli$log$(printf '%08X' $((0x$seg - 1)))"
    elif [ "$((0x$log))" -gt 0 ]; then
        # the first segment of a 4 GiB log id: its predecessor is the last of the one before
        size=$(stat -c %s "$dest") || return 0
        prev="$tli$(printf '%08X' $((0x$log - 1)))$(printf '%08X' $((4294967296 / size - 1)))"
    else
        prev=""
    fi
    first="$name"
    [ -n "$prev" ] && [ -e "$dir/$prev" ] && first="$prev"
    mkdir -p "$dir/.index" || return 0
    out="$dir/.index/.$name.$$"
    stat=$(stat -c '%s %.9Y' "$dest") || return 0
    TZ=UTC PGTZ=UTC "$waldump" --rmgr=Transaction -p "$dir" "$first" "$name" 2>"$out.err" \
        | awk '/desc: (COMMIT|ABORT)/ && match($0, /lsn: [0-9A-F]+\/[0-9A-F]+/) {
                   split(substr($0, RSTART + 5, RLENGTH - 5), p, "/")
                   key = p[1] "/" substr(p[2], 1, length(p[2]) - 5)
                   if (key != cur) { if (last != "" && last != head) print last; print; head = $0; cur = key }
                   last = $0
               }
               END { if (last != "" && last != head) print last }' >"$out.lines"
    rc=$?
    # $? is awk's, and a pipe in sh keeps no other: pg_waldump's failure shows as a line
    # on its stderr (a clean read prints none there)
    err=$(grep -v '^\s*$' "$out.err" | tail -n 1)
    [ -n "$err" ] && rc=1
    { echo "augeo-wal-index 1 $stat $rc"; echo "$err"; cat "$out.lines"; } >"$out" \
        && mv "$out" "$dir/.index/$name"
    rm -f "$out" "$out.err" "$out.lines"
}

if [ -n "$waldump" ] && echo "$name" | grep -qE '^[0-9A-F]{24}$'; then
    index_segment </dev/null >/dev/null 2>&1 &
fi
exit 0
