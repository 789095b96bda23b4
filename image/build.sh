#!/bin/sh
# make image: the gateway's Debian bookworm root filesystem, in two cached layers.
#
#   base  mmdebstrap of image/packages.txt (minutes; rebuilt only when the
#         package list, the mirror or BASE_RECIPE changes)
#   app   the base plus Edgeward in a venv installed from a wheelhouse built
#         here, the files/ overlay, users, modes and enabled units (about a
#         minute; rebuilt when the recipe or any wheel changes)
#
# Both are kept under $EDGEWARD_IMAGE_CACHE (default /var/cache/edgeward-image),
# keyed by a hash of what went into them. The last line printed is
#   rootfs: <dir> <size>
# and <cache>/last names the rootfs directory too. Needs root (chroot, mounts).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
CACHE=${EDGEWARD_IMAGE_CACHE:-/var/cache/edgeward-image}
SUITE=bookworm
MIRROR=${EDGEWARD_IMAGE_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${EDGEWARD_IMAGE_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
PYTHON=${PYTHON:-python3}
# Bump when the mmdebstrap options below change (the package list is hashed itself).
BASE_RECIPE=1
# The base layer's timestamps: fixed, so the same packages give the same bytes.
BASE_EPOCH=1747699200 # 2025-05-20, the snapshot date of the default mirror

die() {
    echo "image: $*" >&2
    exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root (mmdebstrap --mode=root, chroot); run: sudo make image"
command -v mmdebstrap >/dev/null || die "mmdebstrap is missing; install it with: apt-get install mmdebstrap"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' ||
    die "$PYTHON is not Python 3.11, the version of bookworm's python3 the wheels are built for"

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(git -C "$repo" log -1 --format=%ct 2>/dev/null || echo "$BASE_EPOCH")
fi
export SOURCE_DATE_EPOCH
mkdir -p "$CACHE"
# One build at a time per cache (a developer's `make image` beside the tests').
exec 9>"$CACHE/.lock"
flock 9
work=$(mktemp -d "$CACHE/.build.XXXXXX")
rootfs_mounted=""
cleanup() {
    if [ -n "$rootfs_mounted" ]; then umount "$rootfs_mounted/proc" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

packages=$(grep -v '^[[:space:]]*#' "$here/packages.txt" | grep -v '^[[:space:]]*$' | paste -sd, -)
base_key=$(printf '%s\n' "$BASE_RECIPE" "$SUITE" "$MIRROR" "$SECURITY_MIRROR" "$packages" |
    sha256sum | cut -c1-16)
base="$CACHE/base-$base_key.tar"

if [ -f "$base" ]; then
    echo "image: base layer $base_key from the cache"
else
    echo "image: building the base layer $base_key with mmdebstrap ($SUITE from $MIRROR)"
    SOURCE_DATE_EPOCH=$BASE_EPOCH mmdebstrap --mode=root --variant=apt \
        --aptopt='Apt::Install-Recommends "false"' \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --include="$packages" \
        "$SUITE" "$work/base.tar" \
        "deb $MIRROR $SUITE main" \
        "deb $MIRROR $SUITE-updates main" \
        "deb $SECURITY_MIRROR $SUITE-security main"
    mv "$work/base.tar" "$base"
    find "$CACHE" -maxdepth 1 -name 'base-*.tar' ! -path "$base" -delete
fi

# The wheelhouse: this repository's tracked and new files (never a stale build/),
# built into wheels with the dependencies of the base install: the gateway role,
# no extras (the cloud's libraries never reach a gateway).
mkdir -p "$work/src" "$work/wheelhouse"
git -C "$repo" ls-files -co --exclude-standard -z |
    tar -C "$repo" --null --no-recursion --ignore-failed-read -T - -cf - | tar -xf - -C "$work/src"
"$PYTHON" -m pip wheel -qq --wheel-dir "$work/wheelhouse" "$work/src"
version=$(cd "$work/src" && "$PYTHON" -c \
    'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')

app_key=$(
    {
        echo "$base_key"
        (cd "$work/wheelhouse" && sha256sum ./*.whl)
        cd "$here" && find build.sh customize.sh edgeward_update.py README.md files -type f | LC_ALL=C sort |
            xargs sha256sum
    } | sha256sum | cut -c1-16
)
app="$CACHE/app-$app_key"

if [ -f "$app/done" ]; then
    echo "image: edgeward $version rootfs $app_key from the cache"
else
    echo "image: installing edgeward $version into the rootfs ($app_key)"
    rootfs="$work/rootfs"
    mkdir "$rootfs"
    tar --numeric-owner -xpf "$base" -C "$rootfs"
    cp -r "$here/files/." "$rootfs/"
    install -m 0755 "$here/edgeward_update.py" "$rootfs/usr/local/sbin/edgeward-update"
    install -D -m 0644 "$here/README.md" "$rootfs/usr/share/doc/edgeward/image.md"
    cp -r "$work/wheelhouse" "$rootfs/tmp/wheelhouse"
    install -m 0755 "$here/customize.sh" "$rootfs/tmp/customize.sh"
    mount -t proc proc "$rootfs/proc"
    rootfs_mounted=$rootfs
    chroot "$rootfs" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        SOURCE_DATE_EPOCH="$SOURCE_DATE_EPOCH" /bin/sh /tmp/customize.sh "$version"
    umount "$rootfs/proc"
    rootfs_mounted=""
    rm -rf "$rootfs/tmp/wheelhouse" "$rootfs/tmp/customize.sh"
    # The shipped artefact: a tarball that is the same bytes for the same inputs.
    tar --sort=name --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" --clamp-mtime \
        --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
        -C "$rootfs" -cf "$work/rootfs.tar" .
    mkdir -p "$work/app"
    mv "$rootfs" "$work/rootfs.tar" "$work/app/"
    echo "$version" >"$work/app/version"
    touch "$work/app/done"
    rm -rf "$app"
    mv "$work/app" "$app"
    # Keep this build and the one before it; older ones only take disk.
    find "$CACHE" -maxdepth 1 -name 'app-*' -type d ! -path "$app" -printf '%T@ %p\n' |
        sort -rn | tail -n +2 | cut -d' ' -f2- | xargs -r rm -rf
fi

echo "$app/rootfs" >"$CACHE/last"
size=$(du -sh --apparent-size "$app/rootfs" | cut -f1)
tar_size=$(du -sh --apparent-size "$app/rootfs.tar" | cut -f1)
echo "image: $app/rootfs.tar ($tar_size), sha256 $(sha256sum "$app/rootfs.tar" | cut -c1-16)"
echo "rootfs: $app/rootfs $size"
