# shellcheck shell=bash
# tools/lib.sh - shell helpers shared by tools/test and tools/quickstart.
# Source it from bash; it defines functions and DFS_ROOT, nothing else.

DFS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Debian packages the project needs to build, test and run.
DFS_PACKAGES=(gcc libc6-dev pkg-config meson ninja-build
              libevent-dev libleveldb-dev libssl-dev libxxhash-dev
              libfuse3-dev fuse3 libprotobuf-c-dev protobuf-c-compiler zlib1g-dev
              python3 python3-pytest python3-fsspec python3-pandas
              python3-distributed python3-dask python3-pytest-xdist)

dfs_say() { printf '==> %s\n' "$*" >&2; }

# dfs_install_packages: apt-get install whatever of DFS_PACKAGES is missing
# (apt-get update first, and only then).  Returns non-zero on failure.
dfs_install_packages() {
    local missing=() p
    for p in "${DFS_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$p")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    dfs_say "installing: ${missing[*]}"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            echo "error: missing packages (${missing[*]}) and not root" >&2
            return 1
        fi
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# dfs_build DIR SANITIZE: configure DIR (meson setup when absent,
# meson configure only when the sanitize option differs) and build it.
dfs_build() {
    local dir="$1" sanitize="$2"
    cd "$DFS_ROOT" || return 1
    if [ ! -f "$dir/meson-private/coredata.dat" ]; then
        dfs_say "meson setup $dir (sanitize=$sanitize)"
        meson setup "$dir" -Dsanitize="$sanitize" || return 1
    else
        local cur
        cur="$(meson introspect --buildoptions "$dir" 2>/dev/null |
               /usr/bin/python3 -c 'import json,sys
print(str(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "sanitize")).lower())' 2>/dev/null)"
        if [ "$cur" != "$sanitize" ]; then
            dfs_say "meson configure $dir -Dsanitize=$sanitize (was '$cur')"
            meson configure "$dir" -Dsanitize="$sanitize" || return 1
        fi
    fi
    dfs_say "building $dir"
    ninja -C "$dir"
}
