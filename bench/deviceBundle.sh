#!/usr/bin/env bash
# Packs what `npm run bench:gpu` needs on a lent GPU machine (no network, no Node) into two git-ignored
# folders, .gpu/ and .gl/ (at most 64 MiB together); bench/DEVICE.md has the one call that runs it there.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .gpu .gl
mkdir -p .gpu/node_modules/webgpu/dist/linux-x64 .gl
npx esbuild bench/gpu.ts --bundle --platform=node --format=esm --target=node20 --external:webgpu \
  --outfile=.gpu/bench-gpu.mjs --log-level=warning
xz -9 -c "$(command -v node)" > .gpu/node.xz
cp node_modules/webgpu/index.js node_modules/webgpu/package.json .gpu/node_modules/webgpu/
xz -9 -c node_modules/webgpu/dist/linux-x64/dawn.node > .gpu/dawn.node.xz
# the Vulkan loader and the GL libraries the NVIDIA driver links, as Debian packages for amd64;
# apt-get download can leave a package out without failing (seen for libvulkan1), so each one is checked
packages=(libvulkan1 libglvnd0 libegl1 libgl1 libgles2 libglx0 libopengl0)
(cd .gl && apt-get download "${packages[@]}" >/dev/null) || {
  apt-get update >/dev/null && (cd .gl && apt-get download "${packages[@]}" >/dev/null)
}
for package in "${packages[@]}"; do
  ls .gl/"${package}"_*.deb >/dev/null 2>&1 || (cd .gl && apt-get download "$package" >/dev/null)
  ls .gl/"${package}"_*.deb >/dev/null 2>&1 || { echo "deviceBundle: no .deb for $package in .gl/" >&2; exit 1; }
done
du -sh .gpu .gl
