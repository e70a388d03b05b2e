#!/bin/sh
# Add ColorStudio to the desktop's application menu for the current user (no root needed).
#
#   ./install-linux.sh [PATH/TO/ColorStudio]     install (default: the ColorStudio next to this script,
#                                                or dist/ColorStudio/ColorStudio in a source checkout)
#   ./install-linux.sh --uninstall               remove the menu entry and icon
#
# Writes $XDG_DATA_HOME/applications/colorstudio.desktop and
# $XDG_DATA_HOME/icons/hicolor/256x256/apps/colorstudio.png (XDG_DATA_HOME defaults to
# ~/.local/share). The app folder itself is not copied: move it where you want it first,
# then run this; run it again after moving the folder.
set -eu

data_home=${XDG_DATA_HOME:-$HOME/.local/share}
desktop_dir=$data_home/applications
icon_dir=$data_home/icons/hicolor/256x256/apps
here=$(cd "$(dirname "$0")" && pwd)

refresh() {
    command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$desktop_dir" || true
    command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$data_home/icons/hicolor" || true
}

if [ "${1:-}" = "--uninstall" ]; then
    rm -f "$desktop_dir/colorstudio.desktop" "$icon_dir/colorstudio.png"
    refresh
    echo "ColorStudio removed from the application menu."
    exit 0
fi

if [ $# -ge 1 ]; then
    exe=$1
elif [ -x "$here/ColorStudio" ]; then
    exe=$here/ColorStudio
else
    exe=$here/../dist/ColorStudio/ColorStudio
fi
if [ ! -f "$exe" ] || [ ! -x "$exe" ]; then
    echo "install-linux.sh: error: $exe: no ColorStudio executable there (build it with: python packaging/build.py)" >&2
    exit 1
fi
exe=$(cd "$(dirname "$exe")" && pwd)/$(basename "$exe")
resources=$(dirname "$exe")/_internal/resources
if [ ! -f "$resources/colorstudio.desktop" ]; then
    echo "install-linux.sh: error: $resources/colorstudio.desktop is missing: is $exe a ColorStudio build?" >&2
    exit 1
fi

# Exec= quoting (Desktop Entry spec): inside double quotes, \ " ` $ are escaped with a
# backslash, and the file format doubles every backslash again; % is written %%.
quoted=$(printf '%s' "$exe" | sed -e 's/\\/\\\\\\\\/g' -e 's/"/\\\\"/g' -e 's/`/\\\\`/g' -e 's/\$/\\\\$/g' -e 's/%/%%/g')

mkdir -p "$desktop_dir" "$icon_dir"
cp "$resources/icons/colorstudio.png" "$icon_dir/colorstudio.png"
tmp=$desktop_dir/.colorstudio.desktop.tmp
sed -e "s|^Exec=ColorStudio |Exec=\"$(printf '%s' "$quoted" | sed -e 's/[|&\\]/\\&/g')\" |" \
    -e "s|^Icon=.*|Icon=$icon_dir/colorstudio.png|" \
    "$resources/colorstudio.desktop" > "$tmp"
chmod 644 "$tmp"
mv "$tmp" "$desktop_dir/colorstudio.desktop"
refresh
echo "ColorStudio added to the application menu: $desktop_dir/colorstudio.desktop -> $exe"
